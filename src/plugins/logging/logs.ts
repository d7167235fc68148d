// Network logs (logging): which security group events of which ports to log. A log names a
// security group (resource_id), a port (target_id), both (the port must be in the group) or
// neither (every port of its project); its event is ACCEPT, DROP or ALL. The checks are Neutron's
// sg_validate, in its order. The agents hear of a log enabled, disabled or deleted (a push on
// LOG_PUSH_TOPIC) and ask again which logs bind their ports (rpc.ts).
import type { RequestContext } from '../../core/context.js';
import type { Rec } from '../../core/resource.js';
import type { Db } from '../../db/connection.js';
import type { LogTable } from '../../db/schema.js';
import { b2i, forUpdate, i2b, inTransaction, nowIso, type Reader, type Tx } from '../../db/tx.js';
import { logDef, SECURITY_GROUP_LOG } from '../../definitions/logging.js';
import { VIF_TYPE_BINDING_FAILED, VIF_TYPE_BRIDGE, VIF_TYPE_UNBOUND } from '../../core/wire.js';
import { checkRevision } from '../common/standard.js';
import { TableResource } from '../common/table-resource.js';
import {
  invalidLogResourceType,
  invalidResourceConstraint,
  loggingTypeNotSupported,
  logNotFound,
  resourceNotFound,
  targetResourceNotFound,
} from './errors.js';

/** The logging types the loaded drivers support: the Linux-bridge driver's. */
export const SUPPORTED_LOGGING_TYPES: readonly string[] = [SECURITY_GROUP_LOG];
/** The Linux-bridge log driver's port kinds (Neutron's driver declares vif and vnic types). */
const DRIVER_VIF_TYPES = new Set([VIF_TYPE_BRIDGE]);
const DRIVER_VNIC_TYPES = new Set(['normal']);

export function logDict(r: LogTable): Rec {
  return {
    id: r.id,
    tenant_id: r.project_id,
    project_id: r.project_id,
    name: r.name,
    resource_type: r.resource_type,
    resource_id: r.resource_id,
    event: r.event,
    target_id: r.target_id,
    enabled: i2b(r.enabled),
    description: r.description,
    created_at: r.created_at,
    updated_at: r.updated_at,
    revision_number: Number(r.revision_number),
  };
}

/** What the handler tells the agents after a commit. */
export interface LogNotifier {
  changed(ctx: RequestContext, logs: Rec[], event: 'created' | 'updated' | 'deleted'): void;
}

export class LogHandler extends TableResource<'logs'> {
  constructor(
    db: Db,
    private readonly notifier: LogNotifier,
  ) {
    super({ def: logDef, db, notFound: logNotFound });
  }

  protected async dictsOf(_ctx: RequestContext, _db: Reader, rows: LogTable[]): Promise<Rec[]> {
    return rows.map(logDict);
  }

  /** Neutron's validate_request for security group logs. */
  private async check(tx: Tx, b: Rec): Promise<void> {
    if (!SUPPORTED_LOGGING_TYPES.includes(b.resource_type as string)) throw invalidLogResourceType(b.resource_type);
    const sgId = b.resource_id as string | null;
    const portId = b.target_id as string | null;
    if (sgId && !(await tx.selectFrom('security_groups').select('id').where('id', '=', sgId).executeTakeFirst())) throw resourceNotFound(sgId);
    if (portId) {
      const port = await tx.selectFrom('ports').select(['id', 'binding_vif_type', 'binding_vnic_type']).where('id', '=', portId).executeTakeFirst();
      if (!port) throw targetResourceNotFound(portId);
      // A bound port by its vif type, an unbound one by its vnic type (validate_log_type_for_port).
      const unbound = !port.binding_vif_type || port.binding_vif_type === VIF_TYPE_UNBOUND || port.binding_vif_type === VIF_TYPE_BINDING_FAILED;
      const ok = unbound ? DRIVER_VNIC_TYPES.has(port.binding_vnic_type || 'normal') : DRIVER_VIF_TYPES.has(port.binding_vif_type);
      if (!ok) throw loggingTypeNotSupported(SECURITY_GROUP_LOG, portId);
    }
    if (sgId && portId) {
      const bound = await tx
        .selectFrom('security_group_port_bindings')
        .select('port_id')
        .where('port_id', '=', portId)
        .where('security_group_id', '=', sgId)
        .executeTakeFirst();
      if (!bound) throw invalidResourceConstraint(sgId, portId);
    }
  }

  async create(ctx: RequestContext, bodies: Rec[]): Promise<Rec[]> {
    const rows = await inTransaction(this.db, async (tx) => {
      const out: LogTable[] = [];
      for (const b of bodies) {
        await this.check(tx, b);
        const now = nowIso();
        const row: LogTable = {
          id: b.id as string,
          project_id: b.project_id as string,
          name: b.name as string,
          resource_type: b.resource_type as string,
          resource_id: (b.resource_id as string | null) ?? null,
          event: b.event as string,
          target_id: (b.target_id as string | null) ?? null,
          enabled: b2i(b.enabled === true),
          description: b.description as string,
          revision_number: 0,
          created_at: now,
          updated_at: now,
        };
        await tx.insertInto('logs').values(row).execute();
        out.push(row);
      }
      return out;
    });
    const dicts = rows.map(logDict);
    const enabled = dicts.filter((d) => d.enabled === true);
    if (enabled.length) this.notifier.changed(ctx, enabled, 'created');
    return dicts;
  }

  async update(ctx: RequestContext, id: string, body: Rec, expectRevision?: number): Promise<Rec> {
    const out = await inTransaction(this.db, async (tx) => {
      const row = await forUpdate(this.db, tx.selectFrom('logs').selectAll().where('id', '=', id)).executeTakeFirst();
      if (!row) throw logNotFound(id);
      checkRevision(row.revision_number, expectRevision);
      const set: Partial<LogTable> = {};
      if ('name' in body) set.name = body.name as string;
      if ('description' in body) set.description = body.description as string;
      if ('enabled' in body) set.enabled = b2i(body.enabled === true);
      await tx
        .updateTable('logs')
        .set({ ...set, updated_at: nowIso() })
        .set((eb) => ({ revision_number: eb('revision_number', '+', 1) }))
        .where('id', '=', id)
        .execute();
      return logDict((await tx.selectFrom('logs').selectAll().where('id', '=', id).executeTakeFirst())!);
    });
    // As Neutron: the agents hear of an update that gives `enabled`, whatever its value.
    if ('enabled' in body) this.notifier.changed(ctx, [out], 'updated');
    return out;
  }

  async delete(ctx: RequestContext, id: string, expectRevision?: number): Promise<void> {
    const row = await inTransaction(this.db, async (tx) => {
      const r = await forUpdate(this.db, tx.selectFrom('logs').selectAll().where('id', '=', id)).executeTakeFirst();
      if (!r) throw logNotFound(id);
      checkRevision(r.revision_number, expectRevision);
      await tx.deleteFrom('logs').where('id', '=', id).execute();
      return r;
    });
    this.notifier.changed(ctx, [logDict(row)], 'deleted');
  }

  /**
   * Logs that name a deleted security group (resource_id) or port (target_id) go with it, as
   * Neutron's plugin deletes them after the delete; returns them, for the agents.
   */
  async deleteNaming(column: 'resource_id' | 'target_id', id: string): Promise<Rec[]> {
    return inTransaction(this.db, async (tx) => {
      const rows = await tx.selectFrom('logs').selectAll().where(column, '=', id).execute();
      if (rows.length) await tx.deleteFrom('logs').where(column, '=', id).execute();
      return rows.map(logDict);
    });
  }
}

// Several bindings per port (binding-extended, Neutron's ML2 create_port_binding, activate and
// delete_port_binding), as Nova's live migration uses them: an INACTIVE binding is made for the
// destination host while the instance still runs on the source, activated when it moves (the
// source binding becomes INACTIVE), and the source binding is deleted at the end.
//
// Storage (migration 012): the ACTIVE binding is the port's binding_* columns, which every other
// reader of a port uses; the INACTIVE ones are rows of port_inactive_bindings. Each write runs in
// one transaction that first locks the port row (SELECT ... FOR UPDATE; SQLite runs one
// transaction at a time), so the writes of one port are serialized: of two concurrent creates for
// a host the second sees the first's row (the primary key backs this up), and activations swap
// the columns and rows one after the other, which leaves exactly one ACTIVE binding.
//
// Bindings are decided by the Linux-bridge mechanism driver exactly as the active one is
// (binding.ts), and a binding that fails is not stored (Neutron's PortBindingError).
import { Events } from '../../core/callbacks.js';
import { adminContext, type RequestContext } from '../../core/context.js';
import type { Rec } from '../../core/resource.js';
import { VIF_TYPE_BINDING_FAILED, VIF_TYPE_UNBOUND } from '../../core/wire.js';
import { isDuplicateKey } from '../../db/connection.js';
import type { PortInactiveBindingTable, PortTable } from '../../db/schema.js';
import { forUpdate, inTransaction, nowIso, type Tx } from '../../db/tx.js';
import { decideBinding, linuxbridgeAgents, networkSegments, type BindingOptions } from './binding.js';
import type { Ml2Context } from './context.js';
import {
  notMultipleBindingsPort,
  portBindingAlreadyActive,
  portBindingAlreadyExists,
  portBindingError,
  portBindingNotFound,
  portNotFound,
} from './errors.js';
import type { PortHandler } from './ports.js';

export type BindingStatus = 'ACTIVE' | 'INACTIVE';

/** A binding as the API shows it (Neutron's _make_port_binding_dict). */
export interface PortBinding {
  host: string;
  vif_type: string;
  vif_details: Rec;
  vnic_type: string;
  profile: Rec;
  status: BindingStatus;
}

export interface NewBinding {
  host: string;
  vnic_type: string;
  profile: Rec;
}

/** Neutron's device_owner prefixes of instance and Manila share-server ports. */
const MULTIPLE_BINDING_OWNERS = ['compute:', 'manila:'];

type PortRow = Pick<
  PortTable,
  | 'id'
  | 'network_id'
  | 'project_id'
  | 'device_owner'
  | 'binding_host_id'
  | 'binding_vnic_type'
  | 'binding_profile'
  | 'binding_vif_type'
  | 'binding_vif_details'
>;
const PORT_COLUMNS = [
  'id',
  'network_id',
  'project_id',
  'device_owner',
  'binding_host_id',
  'binding_vnic_type',
  'binding_profile',
  'binding_vif_type',
  'binding_vif_details',
] as const;

/** The admin view of ports, for the events agents are told from. */
const SYSTEM: RequestContext = adminContext('req-port-bindings');

export class PortBindings {
  constructor(
    private readonly m: Ml2Context,
    private readonly ports: PortHandler,
    private readonly o: BindingOptions,
  ) {}

  /** The port's bindings, the active one first, and the port's project (for policy targets). */
  async list(portId: string): Promise<{ projectId: string; bindings: PortBinding[] }> {
    // One statement, so one snapshot: read apart, a concurrent activation could move a host from
    // the inactive rows to the port between the two reads (on READ COMMITTED), and the host would
    // be in neither (a 404 for a binding that exists).
    const joined = await this.m.db.kysely
      .selectFrom('ports')
      .leftJoin('port_inactive_bindings as b', 'b.port_id', 'ports.id')
      .select(PORT_COLUMNS.map((c) => `ports.${c}` as const))
      .select([
        'b.host as b_host',
        'b.vnic_type as b_vnic_type',
        'b.profile as b_profile',
        'b.vif_type as b_vif_type',
        'b.vif_details as b_vif_details',
      ])
      .where('ports.id', '=', portId)
      .orderBy('b.host')
      .execute();
    const port = checked(portId, joined[0]);
    const rows: StoredBinding[] = joined
      .filter((r) => r.b_host !== null)
      .map((r) => ({ host: r.b_host!, vnic_type: r.b_vnic_type!, profile: r.b_profile!, vif_type: r.b_vif_type!, vif_details: r.b_vif_details! }));
    // A row for the active host (left by a host change through PUT /ports) is shadowed by the active binding.
    const inactive = rows.filter((r) => r.host !== port.binding_host_id).map((r) => bindingOf(r, 'INACTIVE'));
    return { projectId: port.project_id, bindings: [bindingOf(activeRow(port), 'ACTIVE'), ...inactive] };
  }

  async get(portId: string, host: string): Promise<{ projectId: string; binding: PortBinding }> {
    const { projectId, bindings } = await this.list(portId);
    const binding = host ? bindings.find((b) => b.host === host) : undefined;
    if (!binding) throw portBindingNotFound(portId, host);
    return { projectId, binding };
  }

  /** An INACTIVE binding for a host the port has no binding for; PortBindingError if it cannot be bound there. */
  async create(portId: string, b: NewBinding): Promise<PortBinding> {
    try {
      return await inTransaction(this.m.db, async (tx) => {
        const port = await this.lockPort(tx, portId);
        const taken = await tx
          .selectFrom('port_inactive_bindings')
          .select('host')
          .where('port_id', '=', portId)
          .where('host', '=', b.host)
          .executeTakeFirst();
        if (port.binding_host_id === b.host || taken) throw portBindingAlreadyExists(portId, b.host);
        const r = decideBinding(b.host, b.vnic_type, await linuxbridgeAgents(tx, b.host, this.o), await networkSegments(tx, port.network_id));
        if (r.vif_type === VIF_TYPE_BINDING_FAILED) throw portBindingError(portId, b.host);
        await tx
          .insertInto('port_inactive_bindings')
          .values({
            port_id: portId,
            host: b.host,
            vnic_type: b.vnic_type,
            profile: JSON.stringify(b.profile),
            vif_type: r.vif_type,
            vif_details: JSON.stringify(r.vif_details),
          })
          .execute();
        return { host: b.host, vif_type: r.vif_type, vif_details: r.vif_details, vnic_type: b.vnic_type, profile: b.profile, status: 'INACTIVE' };
      });
    } catch (err) {
      // Only if the lock could not serialize the two (it always does; the key is the last word).
      if (isDuplicateKey(err)) throw portBindingAlreadyExists(portId, b.host);
      throw err;
    }
  }

  /**
   * Makes the host's INACTIVE binding the active one and the active one INACTIVE (an unbound
   * active binding, with no host, is dropped). The port goes DOWN until the new host's agent
   * reports it up; agents are told as on a host change, through the port's after_update event.
   */
  async activate(ctx: RequestContext, portId: string, host: string): Promise<PortBinding> {
    const { before, after, binding } = await inTransaction(this.m.db, async (tx) => {
      const port = await this.lockPort(tx, portId);
      if (port.binding_host_id === host) throw portBindingAlreadyActive(portId, host);
      const next = await tx
        .selectFrom('port_inactive_bindings')
        .selectAll()
        .where('port_id', '=', portId)
        .where('host', '=', host)
        .executeTakeFirst();
      if (!next) throw portBindingNotFound(portId, host);
      const before = await this.ports.get(SYSTEM, portId, tx);
      const old = port.binding_host_id;
      await tx
        .deleteFrom('port_inactive_bindings')
        .where('port_id', '=', portId)
        .where('host', 'in', old ? [host, old] : [host])
        .execute();
      if (old) {
        await tx
          .insertInto('port_inactive_bindings')
          .values({ port_id: portId, ...activeRow(port) })
          .execute();
      }
      await this.setActive(tx, portId, {
        binding_host_id: host,
        binding_vnic_type: next.vnic_type,
        binding_profile: next.profile,
        binding_vif_type: next.vif_type,
        binding_vif_details: next.vif_details,
      });
      const after = await this.ports.get(SYSTEM, portId, tx);
      return { before, after, binding: bindingOf(next, 'ACTIVE') };
    });
    await this.published(ctx, before, after);
    return binding;
  }

  /**
   * Deletes the host's binding. Deleting the ACTIVE one leaves the port without a binding, as in
   * Neutron (here: unbound, no host), and tells the agents.
   */
  async delete(ctx: RequestContext, portId: string, host: string): Promise<void> {
    const changed = await inTransaction(this.m.db, async (tx) => {
      const port = await this.lockPort(tx, portId);
      const gone = await tx.deleteFrom('port_inactive_bindings').where('port_id', '=', portId).where('host', '=', host).executeTakeFirst();
      if (!host || port.binding_host_id !== host) {
        if (Number(gone.numDeletedRows) === 0) throw portBindingNotFound(portId, host);
        return null;
      }
      const before = await this.ports.get(SYSTEM, portId, tx);
      await this.setActive(tx, portId, { binding_host_id: '', binding_profile: '{}', binding_vif_type: VIF_TYPE_UNBOUND, binding_vif_details: '{}' });
      return { before, after: await this.ports.get(SYSTEM, portId, tx) };
    });
    if (changed) await this.published(ctx, changed.before, changed.after);
  }

  private async setActive(tx: Tx, portId: string, set: Partial<PortRow>): Promise<void> {
    await tx
      .updateTable('ports')
      .set((eb) => ({ ...set, status: 'DOWN', revision_number: eb('revision_number', '+', 1), updated_at: nowIso() }))
      .where('id', '=', portId)
      .execute();
  }

  private async published(ctx: RequestContext, before: Rec | null, after: Rec | null): Promise<void> {
    if (!before || !after) return;
    await this.m.callbacks.publish('port', Events.AFTER_UPDATE, { context: ctx, resourceId: after.id as string, before, after });
  }

  private async lockPort(tx: Tx, portId: string): Promise<PortRow> {
    return checked(portId, await forUpdate(this.m.db, tx.selectFrom('ports').select(PORT_COLUMNS).where('id', '=', portId)).executeTakeFirst());
  }
}

function checked(portId: string, row: PortRow | undefined): PortRow {
  if (!row) throw portNotFound(portId);
  if (!MULTIPLE_BINDING_OWNERS.some((p) => row.device_owner.startsWith(p))) throw notMultipleBindingsPort(portId);
  return row;
}

type StoredBinding = Omit<PortInactiveBindingTable, 'port_id'>;

/** The port's active binding as a binding row stores it (it becomes one when another host's is activated). */
function activeRow(port: PortRow): StoredBinding {
  return {
    host: port.binding_host_id,
    vnic_type: port.binding_vnic_type,
    profile: port.binding_profile,
    vif_type: port.binding_vif_type,
    vif_details: port.binding_vif_details,
  };
}

function bindingOf(r: StoredBinding, status: BindingStatus): PortBinding {
  return {
    host: r.host,
    vif_type: r.vif_type,
    vif_details: parseObject(r.vif_details),
    vnic_type: r.vnic_type,
    profile: parseObject(r.profile),
    status,
  };
}

function parseObject(text: string): Rec {
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Rec) : {};
  } catch {
    return {};
  }
}

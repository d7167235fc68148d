// /v2.0/qos/policies (qos, qos-default): policies with their rules embedded. Sharing is an RBAC
// entry (object_type qos_policy), so a policy that other projects' networks or ports use cannot
// stop being shared; a project has one default policy at most (the database's primary key); a
// policy that a port, network or floating IP uses cannot be deleted (QosPolicyInUse).
import { sql, type SqlBool } from 'kysely';
import type { RequestContext } from '../../core/context.js';
import { qosPolicyDef } from '../../definitions/qos.js';
import type { Rec } from '../../core/resource.js';
import { isDuplicateKey, type Db } from '../../db/connection.js';
import type { QosPolicyTable } from '../../db/schema.js';
import { forUpdate, inTransaction, nowIso, type Reader, type Tx } from '../../db/tx.js';
import { loadTags } from '../common/list-sql.js';
import { checkRevision, standardFields } from '../common/standard.js';
import { TableResource, whereFlag, type TableQuery } from '../common/table-resource.js';
import type { RbacKind } from '../rbac/kinds.js';
import { ACCESS_SHARED, addEntry, removeAll, sharedWith, WILDCARD } from '../rbac/store.js';
import { qosPolicyDefaultAlreadyExists, qosPolicyInUse, qosPolicyNotFound } from './errors.js';
import { loadRules, QOS_POLICY } from './store.js';

export class QosPolicyHandler extends TableResource<'qos_policies'> {
  /** `rbac`: the qos_policy RBAC kind, whose bound-project check guards unsharing. */
  constructor(
    db: Db,
    private readonly rbac: RbacKind,
  ) {
    // A non-admin sees its own policies and those shared with it.
    super({ def: qosPolicyDef, db, notFound: qosPolicyNotFound, visibility: { rbac: QOS_POLICY } });
  }

  // ---- reads ---------------------------------------------------------------------------------

  protected override filterRest(ctx: RequestContext, qb: TableQuery<'qos_policies'>, rest: Record<string, unknown[]>) {
    qb = super.filterRest(ctx, qb, rest);
    return whereFlag(qb, rest.is_default, sql<SqlBool>`qos_policies.id in (select d.qos_policy_id from qos_policies_default d)`);
  }

  protected async dictsOf(ctx: RequestContext, db: Reader, rows: QosPolicyTable[]): Promise<Rec[]> {
    const ids = rows.map((r) => r.id);
    const shared = await sharedWith(db, QOS_POLICY, ids, ctx.projectId);
    const rules = await loadRules(db, this.db, ids);
    const tags = await loadTags(db, ids, this.db);
    const defaults = new Set<string>();
    if (ids.length) {
      for (const d of await db.selectFrom('qos_policies_default').select('qos_policy_id').where('qos_policy_id', 'in', ids).execute()) {
        defaults.add(d.qos_policy_id);
      }
    }
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      shared: shared.has(r.id),
      rules: rules.get(r.id) ?? [],
      is_default: defaults.has(r.id),
      ...standardFields(r, tags.get(r.id)),
    }));
  }

  // ---- writes --------------------------------------------------------------------------------

  /** set_default / unset_default: the project's one default policy. */
  private async setDefault(tx: Tx, policy: { id: string; project_id: string }, isDefault: boolean): Promise<void> {
    const current = await tx
      .selectFrom('qos_policies_default')
      .select('qos_policy_id')
      .where('project_id', '=', policy.project_id)
      .executeTakeFirst();
    if (!isDefault) {
      if (current?.qos_policy_id === policy.id) await tx.deleteFrom('qos_policies_default').where('project_id', '=', policy.project_id).execute();
      return;
    }
    if (current) {
      if (current.qos_policy_id !== policy.id) throw qosPolicyDefaultAlreadyExists(policy.project_id);
      return;
    }
    try {
      await tx.insertInto('qos_policies_default').values({ project_id: policy.project_id, qos_policy_id: policy.id }).execute();
    } catch (err) {
      // A concurrent request made another policy the project's default first.
      if (isDuplicateKey(err)) throw qosPolicyDefaultAlreadyExists(policy.project_id);
      throw err;
    }
  }

  async create(ctx: RequestContext, bodies: Rec[]): Promise<Rec[]> {
    return inTransaction(this.db, async (tx) => {
      const rows: QosPolicyTable[] = [];
      for (const b of bodies) {
        const now = nowIso();
        const row: QosPolicyTable = {
          id: b.id as string,
          project_id: b.project_id as string,
          name: b.name as string,
          description: (b.description as string | undefined) ?? '',
          revision_number: 0,
          created_at: now,
          updated_at: now,
        };
        await tx.insertInto('qos_policies').values(row).execute();
        if (b.shared === true) {
          await addEntry(this.db, tx, {
            object_type: QOS_POLICY,
            object_id: row.id,
            project_id: row.project_id,
            target_project: WILDCARD,
            action: ACCESS_SHARED,
          });
        }
        if (b.is_default === true) await this.setDefault(tx, row, true);
        rows.push(row);
      }
      return this.dictsOf(ctx, tx, rows);
    });
  }

  private async lock(tx: Tx, id: string): Promise<QosPolicyTable> {
    const row = await forUpdate(this.db, tx.selectFrom('qos_policies').selectAll().where('id', '=', id)).executeTakeFirst();
    if (!row) throw this.notFound(id);
    return row;
  }

  async update(ctx: RequestContext, id: string, body: Rec, expectRevision?: number): Promise<Rec> {
    return inTransaction(this.db, async (tx) => {
      const row = await this.lock(tx, id);
      checkRevision(row.revision_number, expectRevision);
      if ('shared' in body) {
        const wildcard = await tx
          .selectFrom('rbac_entries')
          .selectAll()
          .where('object_type', '=', QOS_POLICY)
          .where('object_id', '=', id)
          .where('action', '=', ACCESS_SHARED)
          .where('target_project', '=', WILDCARD)
          .executeTakeFirst();
        if (body.shared === true && !wildcard) {
          await addEntry(this.db, tx, {
            object_type: QOS_POLICY,
            object_id: id,
            project_id: row.project_id,
            target_project: WILDCARD,
            action: ACCESS_SHARED,
          });
        } else if (body.shared === false && wildcard) {
          // Unsharing is removing the wildcard entry: projects that use the policy keep it.
          await this.rbac.checkRemoval(this.db, tx, wildcard, row.project_id);
          await tx.deleteFrom('rbac_entries').where('id', '=', wildcard.id).execute();
        }
      }
      if ('is_default' in body) await this.setDefault(tx, row, body.is_default === true);
      const set: Partial<QosPolicyTable> = { revision_number: Number(row.revision_number) + 1, updated_at: nowIso() };
      if ('name' in body) set.name = body.name as string;
      if ('description' in body) set.description = body.description as string;
      await tx.updateTable('qos_policies').set(set).where('id', '=', id).execute();
      const updated = await tx.selectFrom('qos_policies').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      return (await this.dictsOf(ctx, tx, [updated]))[0]!;
    });
  }

  async delete(_ctx: RequestContext, id: string, expectRevision?: number): Promise<void> {
    await inTransaction(this.db, async (tx) => {
      const row = await this.lock(tx, id);
      checkRevision(row.revision_number, expectRevision);
      // What uses the policy, in the order Neutron looks (QosPolicy.binding_models).
      const port = await tx.selectFrom('qos_port_policy_bindings').select('port_id').where('policy_id', '=', id).limit(1).executeTakeFirst();
      if (port) throw qosPolicyInUse(id, 'port', port.port_id);
      const net = await tx.selectFrom('qos_network_policy_bindings').select('network_id').where('policy_id', '=', id).limit(1).executeTakeFirst();
      if (net) throw qosPolicyInUse(id, 'network', net.network_id);
      const fip = await tx.selectFrom('qos_fip_policy_bindings').select('fip_id').where('policy_id', '=', id).limit(1).executeTakeFirst();
      if (fip) throw qosPolicyInUse(id, 'fip', fip.fip_id);
      const router = await tx.selectFrom('qos_router_gw_policy_bindings').select('router_id').where('policy_id', '=', id).limit(1).executeTakeFirst();
      if (router) throw qosPolicyInUse(id, 'router', router.router_id);
      for (const t of ['qos_bandwidth_limit_rules', 'qos_dscp_marking_rules', 'qos_minimum_bandwidth_rules'] as const) {
        await tx.deleteFrom(t).where('qos_policy_id', '=', id).execute();
      }
      await tx.deleteFrom('qos_policies_default').where('qos_policy_id', '=', id).execute();
      await removeAll(tx, QOS_POLICY, id);
      await tx.deleteFrom('tags').where('resource_id', '=', id).execute();
      await tx.deleteFrom('qos_policies').where('id', '=', id).execute();
    });
  }
}

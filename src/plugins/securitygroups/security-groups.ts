// /v2.0/security-groups: groups with their rules embedded. A project's `default` group appears on
// its first use (listing groups or rules, creating a group or a port); it cannot be renamed, and
// only an admin may delete it. A group that ports use cannot be deleted, nor its statefulness
// changed.
import type { RequestContext } from '../../core/context.js';
import { securityGroupDef } from '../../definitions/security-group.js';
import type { ListQuery } from '../../core/list-query.js';
import type { Rec } from '../../core/resource.js';
import { b2i, forUpdate, i2b, inTransaction, nowIso, type Reader } from '../../db/tx.js';
import type { SecurityGroupTable } from '../../db/schema.js';
import { checkRevision } from '../common/standard.js';
import { TableResource } from '../common/table-resource.js';
import { securityGroupCannotRemoveDefault, securityGroupCannotUpdateDefault, securityGroupInUse, securityGroupNotFound } from './errors.js';
import { DEFAULT_SG_NAME, RBAC_TYPE, type SecurityGroupStore } from './store.js';
import { Events } from '../../core/callbacks.js';

/** The project whose default group a list request makes sure of: the filtered one, else the caller's. */
export function listProject(ctx: RequestContext, q: ListQuery): string | null {
  const f = q.filters.project_id ?? q.filters.tenant_id;
  return f && f.length ? String(f[0]) : ctx.projectId;
}

export class SecurityGroupHandler extends TableResource<'security_groups'> {
  constructor(private readonly s: SecurityGroupStore) {
    // A non-admin sees its own groups and those shared with it.
    super({ def: securityGroupDef, db: s.db, notFound: securityGroupNotFound, visibility: { rbac: RBAC_TYPE } });
  }

  protected dictsOf(ctx: RequestContext, db: Reader, rows: SecurityGroupTable[], fields: string[]): Promise<Rec[]> {
    return this.s.groupDicts(ctx, db, rows, fields);
  }

  /** Listing makes sure of the project's default group first (Neutron: _ensure_default_security_group). */
  override async list(ctx: RequestContext, q: ListQuery): Promise<Rec[]> {
    if (ctx.projectId || ctx.isAdmin) await this.s.ensureDefault(ctx, listProject(ctx, q));
    return super.list(ctx, q);
  }

  async create(ctx: RequestContext, bodies: Rec[]): Promise<Rec[]> {
    // Each project's default group comes first (Neutron: _ensure_default_security_group).
    for (const p of new Set(bodies.map((b) => b.project_id as string))) await this.s.ensureDefault(ctx, p);
    return inTransaction(this.s.db, async (tx) => {
      const ids: string[] = [];
      for (const body of bodies) {
        const projectId = body.project_id as string;
        const id = body.id as string;
        const rules = await this.s.newGroupRules(tx, id, projectId);
        await this.s.quota.enforce(tx, projectId, { security_group: 1, security_group_rule: rules.length });
        await this.s.insertGroup(tx, {
          id,
          project_id: projectId,
          name: body.name as string,
          description: body.description as string,
          stateful: body.stateful !== false,
        });
        await this.s.insertRules(tx, rules);
        ids.push(id);
      }
      const rows = await tx.selectFrom('security_groups').selectAll().where('id', 'in', ids).execute();
      const byId = new Map(rows.map((r) => [r.id, r]));
      return this.s.groupDicts(
        ctx,
        tx,
        ids.map((id) => byId.get(id)!),
      );
    });
  }

  async update(ctx: RequestContext, id: string, body: Rec, expectRevision?: number): Promise<Rec> {
    return inTransaction(this.s.db, async (tx) => {
      const row = await forUpdate(this.s.db, tx.selectFrom('security_groups').selectAll().where('id', '=', id)).executeTakeFirst();
      if (!row) throw this.notFound(id);
      checkRevision(row.revision_number, expectRevision);
      if ('stateful' in body && body.stateful !== i2b(row.stateful) && (await this.inUse(tx, id))) throw securityGroupInUse(id);
      if (row.name === DEFAULT_SG_NAME && 'name' in body) {
        throw securityGroupCannotUpdateDefault();
      }
      const set: Partial<SecurityGroupTable> = {};
      if ('name' in body) set.name = body.name as string;
      if ('description' in body) set.description = body.description as string;
      if ('stateful' in body) set.stateful = b2i(body.stateful as boolean);
      await tx
        .updateTable('security_groups')
        .set({ ...set, revision_number: Number(row.revision_number) + 1, updated_at: nowIso() })
        .where('id', '=', id)
        .execute();
      return (await this.get(ctx, id, tx))!;
    });
  }

  private async inUse(db: Reader, id: string): Promise<boolean> {
    const r = await db.selectFrom('security_group_port_bindings').select('port_id').where('security_group_id', '=', id).limit(1).executeTakeFirst();
    return r !== undefined;
  }

  async delete(ctx: RequestContext, id: string, expectRevision?: number): Promise<void> {
    const { row, referring } = await inTransaction(this.s.db, async (tx) => {
      // The row lock orders this delete against port writes binding the group: a port that got
      // the group first is seen below; one that comes later fails its binding (404).
      const row = await forUpdate(this.s.db, tx.selectFrom('security_groups').selectAll().where('id', '=', id)).executeTakeFirst();
      if (!row) throw this.notFound(id);
      checkRevision(row.revision_number, expectRevision);
      if (await this.inUse(tx, id)) throw securityGroupInUse(id);
      if (row.name === DEFAULT_SG_NAME && !ctx.isAdmin) {
        throw securityGroupCannotRemoveDefault();
      }
      // Rules of other groups that name this one as their remote go with it (Neutron's cascade).
      const referring = await tx
        .selectFrom('security_group_rules')
        .select('security_group_id')
        .distinct()
        .where('remote_group_id', '=', id)
        .where('security_group_id', '!=', id)
        .execute();
      await tx.deleteFrom('security_group_rules').where('remote_group_id', '=', id).execute();
      await tx.deleteFrom('security_group_rules').where('security_group_id', '=', id).execute();
      await this.s.bumpGroup(
        tx,
        referring.map((r) => r.security_group_id),
      );
      await tx.deleteFrom('default_security_groups').where('security_group_id', '=', id).execute();
      await tx.deleteFrom('rbac_entries').where('object_type', '=', RBAC_TYPE).where('object_id', '=', id).execute();
      await tx.deleteFrom('tags').where('resource_id', '=', id).execute();
      await tx.deleteFrom('security_groups').where('id', '=', id).execute();
      if (row.name === DEFAULT_SG_NAME) this.s.forgetDefault(row.project_id);
      return { row, referring };
    });
    // The groups whose rules named this one as their remote lost rules.
    const metadata = { referringGroups: referring.map((r) => r.security_group_id) };
    await this.s.callbacks.publish('security_group', Events.AFTER_DELETE, { context: ctx, resourceId: id, before: row, after: null, metadata });
  }
}

// /v2.0/rbac-policies (rbac-policies and the rbac-<type> extensions): the RBAC entries themselves.
// A policy lets target_tenant (or '*') use an object: access_as_shared for networks, subnet pools,
// address scopes and security groups, access_as_external for networks. The same rows make the
// objects' `shared` (and networks' router:external), so the two views always agree. Only the
// object's owner (or an admin) may share it; a policy whose target still depends on it cannot be
// removed (kinds.ts). Non-admins see the policies they own.
import type { RequestContext } from '../../core/context.js';
import { rbacPolicyDef } from '../../definitions/rbac-policy.js';
import type { ResourceDef } from '../../definitions/types.js';
import { NeutronError, conflict } from '../../core/errors.js';
import type { ListQuery } from '../../core/list-query.js';
import type { Rec, ResourceHandler } from '../../core/resource.js';
import { isDuplicateKey, type Db } from '../../db/connection.js';
import { forUpdate, inTransaction, type Reader, type Tx } from '../../db/tx.js';
import type { RbacTable } from '../../db/schema.js';
import { invalidInput } from '../../ipam/errors.js';
import type { QuotaEngine } from '../../quota/quota.js';
import { applyColumnFilters, applySortAndPage, type ColumnMap } from '../common/list-sql.js';
import type { RbacKind } from './kinds.js';
import { addEntry, type RbacEntry } from './store.js';

const COLUMNS: ColumnMap = {
  id: { column: 'id' }, object_type: { column: 'object_type' }, object_id: { column: 'object_id' },
  target_tenant: { column: 'target_project' }, tenant_id: { column: 'project_id' }, project_id: { column: 'project_id' },
  action: { column: 'action' },
};

const duplicateRbacPolicy = () => conflict('DuplicateRbacPolicy', 'An RBAC policy already exists with those values.');

/** Python's repr of a tuple of strings, as InvalidActionForType prints the valid actions. */
const pyTuple = (l: readonly string[]) => (l.length === 1 ? `('${l[0]}',)` : `(${l.map((x) => `'${x}'`).join(', ')})`);

export class RbacPolicyHandler implements ResourceHandler {
  readonly def: ResourceDef;
  private readonly kinds: Map<string, RbacKind>;

  constructor(private readonly db: Db, private readonly quota: QuotaEngine, kinds: RbacKind[]) {
    this.kinds = new Map(kinds.map((k) => [k.type, k]));
    this.def = rbacPolicyDef([...this.kinds.keys()]);
  }

  notFound(id: string): Error {
    return new NeutronError(404, 'RbacPolicyNotFound', `RBAC policy of type unknown with ID ${id} not found`);
  }

  private scoped(ctx: RequestContext, db: Reader) {
    let qb = db.selectFrom('rbac_entries').selectAll('rbac_entries').where('rbac_entries.object_type', 'in', [...this.kinds.keys()]);
    if (!ctx.isAdmin) qb = qb.where('rbac_entries.project_id', '=', ctx.projectId ?? '');
    return qb;
  }

  private toDict(r: RbacTable): Rec {
    return {
      id: r.id, object_type: r.object_type, object_id: r.object_id, target_tenant: r.target_project,
      tenant_id: r.project_id, project_id: r.project_id, action: r.action,
    };
  }

  async get(ctx: RequestContext, id: string): Promise<Rec | null> {
    const row = await this.scoped(ctx, this.db.kysely).where('rbac_entries.id', '=', id).executeTakeFirst();
    return row ? this.toDict(row) : null;
  }

  async list(ctx: RequestContext, q: ListQuery): Promise<Rec[]> {
    const db = this.db.kysely;
    let { qb } = applyColumnFilters(this.scoped(ctx, db), 'rbac_entries', COLUMNS, q.filters);
    qb = await applySortAndPage(db, qb, 'rbac_entries', COLUMNS, q, 'RbacPolicyNotFound');
    const rows = await qb.execute();
    if (q.pageReverse) rows.reverse();
    return rows.map((r) => this.toDict(r));
  }

  /** The object's kind, the action checked against it (InvalidActionForType). */
  private kindFor(objectType: string, action: string): RbacKind {
    const kind = this.kinds.get(objectType);
    if (!kind) throw invalidInput(`'${objectType}' is not a valid RBAC object type`);
    if (!kind.actions.includes(action)) {
      throw new NeutronError(400, 'InvalidActionForType',
        `Invalid action '${action}' for object type '${objectType}'. Valid actions: ${pyTuple(kind.actions)}`);
    }
    return kind;
  }

  /**
   * The object's owner, after the checks every create and update makes: the object exists and
   * the caller sees it, and only its owner or an admin manipulates its policies.
   */
  private async ownerFor(tx: Tx, ctx: RequestContext, kind: RbacKind, objectId: string): Promise<string> {
    const owner = await kind.lockOwner(this.db, tx, objectId);
    if (owner === null || !(await kind.visible(this.db, tx, ctx, objectId))) throw invalidInput(kind.notFoundMessage(objectId));
    if (!ctx.isAdmin && owner !== ctx.projectId) {
      const what = kind.type === 'network' ? 'networks' : 'objects';
      throw invalidInput(`Only admins can manipulate policies on ${what} they do not own`);
    }
    return owner;
  }

  async create(ctx: RequestContext, bodies: Rec[]): Promise<Rec[]> {
    return inTransaction(this.db, async (tx) => {
      const out: Rec[] = [];
      for (const b of bodies) {
        const e: RbacEntry = {
          id: b.id as string, object_type: b.object_type as string, object_id: b.object_id as string,
          project_id: b.project_id as string, target_project: b.target_tenant as string, action: b.action as string,
        };
        const kind = this.kindFor(e.object_type, e.action);
        // The object's row first, then the project's quota lock: the order subnet creates take.
        const owner = await this.ownerFor(tx, ctx, kind, e.object_id);
        await this.quota.enforce(tx, e.project_id, { rbac_policy: 1 });
        await kind.beforeCreate?.(this.db, tx, ctx, e, owner);
        let added: boolean;
        try {
          added = await addEntry(this.db, tx, e);
        } catch (err) {
          if (isDuplicateKey(err)) throw duplicateRbacPolicy();
          throw err;
        }
        if (!added) throw duplicateRbacPolicy();
        await kind.afterCreate?.(this.db, tx, e);
        out.push(this.toDict(e));
      }
      return out;
    });
  }

  private async lockEntry(tx: Tx, id: string): Promise<RbacTable> {
    const row = await forUpdate(this.db, tx.selectFrom('rbac_entries').selectAll().where('id', '=', id)
      .where('object_type', 'in', [...this.kinds.keys()])).executeTakeFirst();
    if (!row) throw this.notFound(id);
    return row;
  }

  async update(ctx: RequestContext, id: string, body: Rec): Promise<Rec> {
    return inTransaction(this.db, async (tx) => {
      const e = await this.lockEntry(tx, id);
      const kind = this.kindFor(e.object_type, e.action);
      const target = 'target_tenant' in body ? (body.target_tenant as string) : e.target_project;
      if (target === e.target_project) return this.toDict(e);
      const owner = await this.ownerFor(tx, ctx, kind, e.object_id);
      await kind.checkRemoval(this.db, tx, e, owner, target);
      const clash = await tx.selectFrom('rbac_entries').select('id').where('object_type', '=', e.object_type)
        .where('object_id', '=', e.object_id).where('action', '=', e.action).where('target_project', '=', target).executeTakeFirst();
      if (clash) throw duplicateRbacPolicy();
      try {
        await tx.updateTable('rbac_entries').set({ target_project: target }).where('id', '=', id).execute();
      } catch (err) {
        if (isDuplicateKey(err)) throw duplicateRbacPolicy();
        throw err;
      }
      const updated = { ...e, target_project: target };
      await kind.afterCreate?.(this.db, tx, updated);
      return this.toDict(updated);
    });
  }

  async delete(_ctx: RequestContext, id: string): Promise<void> {
    await inTransaction(this.db, async (tx) => {
      const e = await this.lockEntry(tx, id);
      const kind = this.kinds.get(e.object_type)!;
      const owner = await kind.lockOwner(this.db, tx, e.object_id);
      if (owner !== null) await kind.checkRemoval(this.db, tx, e, owner);
      await tx.deleteFrom('rbac_entries').where('id', '=', id).execute();
      if (owner !== null) await kind.afterDelete?.(this.db, tx, e);
    });
  }
}

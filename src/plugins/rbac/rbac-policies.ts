// /v2.0/rbac-policies (rbac-policies and the rbac-<type> extensions): the RBAC entries themselves.
// A policy lets target_tenant (or '*') use an object: access_as_shared for networks, subnet pools,
// address scopes and security groups, access_as_external for networks. The same rows make the
// objects' `shared` (and networks' router:external), so the two views always agree. Only the
// object's owner (or an admin) may share it; a policy whose target still depends on it cannot be
// removed (kinds.ts). Non-admins see the policies they own.
import { sql, type SqlBool } from 'kysely';
import type { RequestContext } from '../../core/context.js';
import { rbacPolicyDef } from '../../definitions/rbac-policy.js';
import type { Rec } from '../../core/resource.js';
import { isDuplicateKey, type Db } from '../../db/connection.js';
import { forUpdate, inTransaction, type Reader, type Tx } from '../../db/tx.js';
import type { RbacTable } from '../../db/schema.js';
import { invalidInput } from '../../core/errors.js';
import type { QuotaEngine } from '../../quota/quota.js';
import { ownProject, TableResource, type RowCondition } from '../common/table-resource.js';
import { duplicateRbacPolicy, invalidActionForType, rbacPolicyNotFound } from './errors.js';
import type { RbacKind } from './kinds.js';
import { addEntry, type RbacEntry } from './store.js';

export class RbacPolicyHandler extends TableResource<'rbac_entries'> {
  private readonly kinds: Map<string, RbacKind>;

  constructor(
    db: Db,
    private readonly quota: QuotaEngine,
    kinds: RbacKind[],
  ) {
    const byType = new Map(kinds.map((k) => [k.type, k]));
    super({ def: rbacPolicyDef([...byType.keys()]), db, notFound: rbacPolicyNotFound });
    this.kinds = byType;
  }

  /** Entries of the object types whose extension is on; a non-admin sees the ones it owns. */
  protected override scope(ctx: RequestContext): RowCondition {
    const known = sql<SqlBool>`rbac_entries.object_type in (${sql.join([...this.kinds.keys()])})`;
    return ctx.isAdmin ? known : sql<SqlBool>`${known} and ${ownProject(ctx, this.table)}`;
  }

  private toDict(r: RbacTable): Rec {
    return {
      id: r.id,
      object_type: r.object_type,
      object_id: r.object_id,
      target_tenant: r.target_project,
      tenant_id: r.project_id,
      project_id: r.project_id,
      action: r.action,
    };
  }

  protected async dictsOf(_ctx: RequestContext, _db: Reader, rows: RbacTable[]): Promise<Rec[]> {
    return rows.map((r) => this.toDict(r));
  }

  /** The object's kind, the action checked against it (InvalidActionForType). */
  private kindFor(objectType: string, action: string): RbacKind {
    const kind = this.kinds.get(objectType);
    if (!kind) throw invalidInput(`'${objectType}' is not a valid RBAC object type`);
    if (!kind.actions.includes(action)) {
      throw invalidActionForType(action, objectType, kind.actions);
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
          id: b.id as string,
          object_type: b.object_type as string,
          object_id: b.object_id as string,
          project_id: b.project_id as string,
          target_project: b.target_tenant as string,
          action: b.action as string,
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
    const row = await forUpdate(
      this.db,
      tx
        .selectFrom('rbac_entries')
        .selectAll()
        .where('id', '=', id)
        .where('object_type', 'in', [...this.kinds.keys()]),
    ).executeTakeFirst();
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
      const clash = await tx
        .selectFrom('rbac_entries')
        .select('id')
        .where('object_type', '=', e.object_type)
        .where('object_id', '=', e.object_id)
        .where('action', '=', e.action)
        .where('target_project', '=', target)
        .executeTakeFirst();
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

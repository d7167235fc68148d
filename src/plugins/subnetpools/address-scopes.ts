// Address scopes (address-scope): named spaces of addresses that subnet pools join; pools of one
// scope never overlap, and a network's subnets of one family share a scope (allocation.ts). A
// shared scope cannot be unshared; a scope with pools cannot be deleted. Sharing is an RBAC entry.
import type { RequestContext } from '../../core/context.js';
import { addressScopeDef } from '../../definitions/address-scope.js';
import type { Rec } from '../../core/resource.js';
import type { Db } from '../../db/connection.js';
import type { AddressScopeTable } from '../../db/schema.js';
import { forUpdate, inTransaction, type Reader } from '../../db/tx.js';
import { TableResource } from '../common/table-resource.js';
import { ACCESS_SHARED, addEntry, removeAll, sharedWith, WILDCARD } from '../rbac/store.js';
import { addressScopeInUse, addressScopeNotFound, addressScopeUpdateError } from './errors.js';

export class AddressScopeHandler extends TableResource<'address_scopes'> {
  constructor(db: Db) {
    // A non-admin sees its own scopes and those shared with it.
    super({ def: addressScopeDef, db, notFound: addressScopeNotFound, visibility: { rbac: 'address_scope' } });
  }

  protected async dictsOf(ctx: RequestContext, db: Reader, rows: AddressScopeTable[]): Promise<Rec[]> {
    const shared = await sharedWith(
      db,
      'address_scope',
      rows.map((r) => r.id),
      ctx.projectId,
    );
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      tenant_id: r.project_id,
      project_id: r.project_id,
      shared: shared.has(r.id),
      ip_version: Number(r.ip_version),
    }));
  }

  async create(ctx: RequestContext, bodies: Rec[]): Promise<Rec[]> {
    return inTransaction(this.db, async (tx) => {
      const rows: AddressScopeTable[] = [];
      for (const b of bodies) {
        const row = { id: b.id as string, project_id: b.project_id as string, name: b.name as string, ip_version: b.ip_version as number };
        await tx.insertInto('address_scopes').values(row).execute();
        if (b.shared === true) {
          await addEntry(this.db, tx, {
            object_type: 'address_scope',
            object_id: row.id,
            project_id: row.project_id,
            target_project: WILDCARD,
            action: ACCESS_SHARED,
          });
        }
        rows.push(row);
      }
      return this.dictsOf(ctx, tx, rows);
    });
  }

  async update(ctx: RequestContext, id: string, body: Rec): Promise<Rec> {
    return inTransaction(this.db, async (tx) => {
      const row = await forUpdate(this.db, tx.selectFrom('address_scopes').selectAll().where('id', '=', id)).executeTakeFirst();
      if (!row) throw this.notFound(id);
      const shared = (await sharedWith(tx, 'address_scope', [id], ctx.projectId)).has(id);
      if ('shared' in body) {
        if (shared && body.shared === false) throw addressScopeUpdateError(id, "Shared address scope can't be unshared");
        if (body.shared === true) {
          await addEntry(this.db, tx, {
            object_type: 'address_scope',
            object_id: id,
            project_id: row.project_id,
            target_project: WILDCARD,
            action: ACCESS_SHARED,
          });
        }
      }
      if ('name' in body)
        await tx
          .updateTable('address_scopes')
          .set({ name: body.name as string })
          .where('id', '=', id)
          .execute();
      return (await this.get(ctx, id, tx)) ?? (await this.dictsOf(ctx, tx, [{ ...row, name: (body.name as string | undefined) ?? row.name }]))[0]!;
    });
  }

  async delete(_ctx: RequestContext, id: string): Promise<void> {
    await inTransaction(this.db, async (tx) => {
      const row = await forUpdate(this.db, tx.selectFrom('address_scopes').select('id').where('id', '=', id)).executeTakeFirst();
      if (!row) throw this.notFound(id);
      const pool = await tx.selectFrom('subnetpools').select('id').where('address_scope_id', '=', id).limit(1).executeTakeFirst();
      if (pool) throw addressScopeInUse(id);
      await removeAll(tx, 'address_scope', id);
      await tx.deleteFrom('address_scopes').where('id', '=', id).execute();
    });
  }
}

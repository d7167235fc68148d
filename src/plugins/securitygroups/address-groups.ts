// /v2.0/address-groups (address-group, rbac-address-group): a project's named lists of CIDRs,
// shared by RBAC access_as_shared entries, that security group rules name as their remote.
// Addresses are stored normalized ("network/len"); add_addresses and remove_addresses change
// them under the group's row lock (the primary key keeps each address once per group), and the
// L2 agents hear of the change through the groups whose rules name the address group.
import type { RequestContext } from '../../core/context.js';
import { Events } from '../../core/callbacks.js';
import { badRequest } from '../../core/errors.js';
import type { Rec } from '../../core/resource.js';
import { actionAddresses, addressGroupDef } from '../../definitions/address-group.js';
import type { Db } from '../../db/connection.js';
import type { AddressGroupTable } from '../../db/schema.js';
import { forUpdate, inTransaction, nowIso, type Reader, type Tx } from '../../db/tx.js';
import { idChunks, whereIdIn } from '../common/list-sql.js';
import { checkRevision } from '../common/standard.js';
import { TableResource } from '../common/table-resource.js';
import { removeAll, sharedWith } from '../rbac/store.js';
import { addressesAlreadyExist, addressesNotFound, addressGroupInUse, addressGroupNotFound } from './errors.js';
import type { SecurityGroupStore } from './store.js';

export const ADDRESS_GROUP_RBAC = 'address_group';

export class AddressGroupHandler extends TableResource<'address_groups'> {
  constructor(private readonly s: SecurityGroupStore) {
    super({ def: addressGroupDef, db: s.db, notFound: addressGroupNotFound, visibility: { rbac: ADDRESS_GROUP_RBAC } });
  }

  protected async dictsOf(ctx: RequestContext, db: Reader, rows: AddressGroupTable[]): Promise<Rec[]> {
    const ids = rows.map((r) => r.id);
    const addresses = await addressesOf(this.db, db, ids);
    const shared = await sharedWith(db, ADDRESS_GROUP_RBAC, ids, ctx.projectId);
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      description: r.description,
      tenant_id: r.project_id,
      project_id: r.project_id,
      addresses: addresses.get(r.id) ?? [],
      // Not shown (Neutron's is_visible False); the policy's shared_address_groups reads it.
      shared: shared.has(r.id),
      created_at: r.created_at,
      updated_at: r.updated_at,
      revision_number: Number(r.revision_number),
    }));
  }

  async create(ctx: RequestContext, bodies: Rec[]): Promise<Rec[]> {
    const out = await inTransaction(this.db, async (tx) => {
      const now = nowIso();
      for (const b of bodies) {
        await tx
          .insertInto('address_groups')
          .values({
            id: b.id as string,
            project_id: b.project_id as string,
            name: b.name as string,
            description: b.description as string,
            revision_number: 0,
            created_at: now,
            updated_at: now,
          })
          .execute();
        const addrs = (b.addresses as string[] | undefined) ?? [];
        if (addrs.length)
          await tx
            .insertInto('address_associations')
            .values(addrs.map((address) => ({ address_group_id: b.id as string, address })))
            .execute();
      }
      return this.dictsById(
        ctx,
        tx,
        bodies.map((b) => b.id as string),
      );
    });
    for (const g of out)
      await this.s.callbacks.publish('address_group', Events.AFTER_CREATE, { context: ctx, resourceId: g.id as string, before: null, after: g });
    return out;
  }

  private async dictsById(ctx: RequestContext, db: Reader, ids: string[]): Promise<Rec[]> {
    const rows = await db.selectFrom('address_groups').selectAll().where('id', 'in', ids).execute();
    const byId = new Map(rows.map((r) => [r.id, r]));
    return this.dictsOf(
      ctx,
      db,
      ids.map((id) => byId.get(id)!),
    );
  }

  /** The group's row, locked for the transaction; its revision bumped by the change. */
  private async lock(tx: Tx, id: string, expectRevision?: number): Promise<AddressGroupTable> {
    const row = await forUpdate(this.db, tx.selectFrom('address_groups').selectAll().where('id', '=', id)).executeTakeFirst();
    if (!row) throw this.notFound(id);
    checkRevision(row.revision_number, expectRevision);
    return row;
  }

  private async touch(tx: Tx, row: AddressGroupTable, set: Partial<AddressGroupTable> = {}): Promise<void> {
    await tx
      .updateTable('address_groups')
      .set({ ...set, revision_number: Number(row.revision_number) + 1, updated_at: nowIso() })
      .where('id', '=', row.id)
      .execute();
  }

  async update(ctx: RequestContext, id: string, body: Rec, expectRevision?: number): Promise<Rec> {
    const { before, after } = await inTransaction(this.db, async (tx) => {
      const row = await this.lock(tx, id, expectRevision);
      const before = (await this.dictsOf(ctx, tx, [row]))[0]!;
      const set: Partial<AddressGroupTable> = {};
      if ('name' in body) set.name = body.name as string;
      if ('description' in body) set.description = body.description as string;
      await this.touch(tx, row, set);
      return { before, after: (await this.dictsById(ctx, tx, [id]))[0]! };
    });
    await this.s.callbacks.publish('address_group', Events.AFTER_UPDATE, { context: ctx, resourceId: id, before, after });
    return after;
  }

  async delete(ctx: RequestContext, id: string, expectRevision?: number): Promise<void> {
    const before = await inTransaction(this.db, async (tx) => {
      const row = await this.lock(tx, id, expectRevision);
      // Rules of any project count (Neutron looks with an elevated context).
      const used = await tx.selectFrom('security_group_rules').select('id').where('remote_address_group_id', '=', id).limit(1).executeTakeFirst();
      if (used) throw addressGroupInUse(id);
      await tx.deleteFrom('address_associations').where('address_group_id', '=', id).execute();
      await removeAll(tx, ADDRESS_GROUP_RBAC, id);
      await tx.deleteFrom('address_groups').where('id', '=', id).execute();
      return row;
    });
    await this.s.callbacks.publish('address_group', Events.AFTER_DELETE, { context: ctx, resourceId: id, before, after: null });
  }

  /** The member actions addressGroupDef declares: {"addresses": [...]} in, {"address_group": {...}} out. */
  async action(ctx: RequestContext, id: string, name: string, body: unknown): Promise<unknown> {
    const raw = body && typeof body === 'object' && !Array.isArray(body) ? (body as Rec).addresses : undefined;
    if (!Array.isArray(raw)) throw badRequest('Request body contains invalid data');
    const requested = actionAddresses(raw, 'addresses');
    const adding = name === 'add_addresses';
    if (!adding && name !== 'remove_addresses') throw new Error(`address group action ${name} is not declared`);
    const { before, after } = await inTransaction(this.db, async (tx) => {
      const row = await this.lock(tx, id);
      const before = (await this.dictsOf(ctx, tx, [row]))[0]!;
      const have = new Set(before.addresses as string[]);
      if (adding) {
        const present = requested.filter((a) => have.has(a));
        if (present.length) throw addressesAlreadyExist(present, id);
        if (requested.length)
          await tx
            .insertInto('address_associations')
            .values(requested.map((address) => ({ address_group_id: id, address })))
            .execute();
      } else {
        const missing = requested.filter((a) => !have.has(a));
        if (missing.length) throw addressesNotFound(missing, id);
        if (requested.length)
          await tx.deleteFrom('address_associations').where('address_group_id', '=', id).where('address', 'in', requested).execute();
      }
      await this.touch(tx, row);
      return { before, after: (await this.dictsById(ctx, tx, [id]))[0]! };
    });
    await this.s.callbacks.publish('address_group', Events.AFTER_UPDATE, { context: ctx, resourceId: id, before, after });
    return { address_group: after };
  }
}

/** Each group's addresses, sorted. */
export async function addressesOf(db: Db, r: Reader, ids: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const part of idChunks(db, ids)) {
    const q = whereIdIn(db, r.selectFrom('address_associations').select(['address_group_id', 'address']), 'address_group_id', part);
    for (const row of await q.execute()) {
      const l = out.get(row.address_group_id);
      if (l) l.push(row.address);
      else out.set(row.address_group_id, [row.address]);
    }
  }
  for (const l of out.values()) l.sort();
  return out;
}

// Subnet pools (subnet_allocation, default-subnetpools, subnetpool-prefix-ops, subnet_onboard):
// CRUD with Neutron's validation (SubnetPoolReader), one default pool per IP version, address
// scope association rules, and the prefix operations. Sharing is an RBAC entry; allocation of
// subnets from a pool lives in allocation.ts.
import type { RequestContext } from '../../core/context.js';
import { subnetpoolDef } from '../../definitions/subnetpool.js';
import { NOT_SPECIFIED } from '../../definitions/common.js';
import { actionNotAuthorized, badRequest, invalidInput } from '../../core/errors.js';
import { networkNotFound } from '../ml2/errors.js';
import type { Rec } from '../../core/resource.js';
import type { Db } from '../../db/connection.js';
import type { SubnetPoolTable } from '../../db/schema.js';
import { b2i, forUpdate, i2b, inTransaction, nowIso, type Reader, type Tx } from '../../db/tx.js';
import type { IpVersion } from '../../ipam/address.js';
import { parseCidr } from '../../ipam/cidr.js';
import { cidrTexts, difference, intersects, isSubset, prefixSet, type PrefixSet } from '../../ipam/prefix-set.js';
import type { QuotaEngine } from '../../quota/quota.js';
import { chunks, loadTags } from '../common/list-sql.js';
import { TableResource } from '../common/table-resource.js';
import { checkRevision } from '../common/standard.js';
import { rbacVisible } from '../common/visibility.js';
import { ACCESS_SHARED, addEntry, removeAll, sharedWith, WILDCARD } from '../rbac/store.js';
import {
  addressScopeNotFound,
  addressScopePrefixConflict,
  illegalSubnetPoolAssociationToAddressScope,
  illegalSubnetPoolIpVersionAssociationToAddressScope,
  illegalSubnetPoolPrefixUpdate,
  illegalSubnetPoolUpdate,
  networkAddressScopeAffinityError,
  subnetPoolDeleteError,
  subnetPoolNotFound,
} from './errors.js';
import { readPool, readPrefixes, type PoolInput, type PoolSettings } from './reader.js';

export interface SubnetPoolDeps {
  db: Db;
  quota: QuotaEngine;
}

/** A stored pool with its prefixes, as allocation and validation read it. */
export interface StoredPool extends SubnetPoolTable {
  set: PrefixSet;
}

export async function loadPrefixes(db: Reader, poolIds: readonly string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const part of chunks([...poolIds])) {
    if (!part.length) continue;
    for (const r of await db.selectFrom('subnetpool_prefixes').selectAll().where('subnetpool_id', 'in', part).execute()) {
      const l = out.get(r.subnetpool_id);
      if (l) l.push(r.cidr);
      else out.set(r.subnetpool_id, [r.cidr]);
    }
  }
  return out;
}

/** The columns a pool's validated settings write, on create and on update. */
function settingColumns(s: PoolSettings, isDefault: boolean, scopeId: string | null) {
  return {
    ip_version: s.ipVersion,
    default_prefixlen: s.defaultPrefixlen,
    min_prefixlen: s.minPrefixlen,
    max_prefixlen: s.maxPrefixlen,
    default_quota: s.defaultQuota,
    is_default: b2i(isDefault),
    address_scope_id: scopeId,
  };
}

export function poolSet(row: SubnetPoolTable, prefixes: readonly string[]): PrefixSet {
  return prefixSet(
    Number(row.ip_version) as IpVersion,
    prefixes.map((p) => parseCidr(p)),
  );
}

/** A pool in the caller's scope (admin: any), locked for the transaction when `lock`. */
export async function findPool(db: Db, tx: Reader, ctx: RequestContext | null, id: string, lock = false): Promise<StoredPool | null> {
  let q = tx.selectFrom('subnetpools').selectAll('subnetpools').where('subnetpools.id', '=', id);
  if (ctx && !ctx.isAdmin) q = q.where(rbacVisible(ctx, 'subnetpool', 'subnetpools.project_id', 'subnetpools.id'));
  const row = await (lock ? forUpdate(db, q) : q).executeTakeFirst();
  if (!row) return null;
  const prefixes = (await loadPrefixes(tx, [id])).get(id) ?? [];
  return { ...row, set: poolSet(row, prefixes) };
}

/** The default pool of an IP version that the caller can use (get_default_subnetpool). */
export async function defaultPool(db: Db, tx: Reader, ctx: RequestContext, ipVersion: number): Promise<StoredPool | null> {
  let q = tx.selectFrom('subnetpools').select('subnetpools.id').where('is_default', '=', 1).where('ip_version', '=', ipVersion);
  if (!ctx.isAdmin) q = q.where(rbacVisible(ctx, 'subnetpool', 'subnetpools.project_id', 'subnetpools.id'));
  const r = await q.orderBy('created_at').executeTakeFirst();
  return r ? findPool(db, tx, null, r.id) : null;
}

export class SubnetPoolHandler extends TableResource<'subnetpools'> {
  constructor(private readonly m: SubnetPoolDeps) {
    // A non-admin sees its own pools and those shared with it.
    super({ def: subnetpoolDef, db: m.db, notFound: subnetPoolNotFound, visibility: { rbac: 'subnetpool' } });
  }

  // ---- reads ---------------------------------------------------------------------------------

  protected dictsOf(ctx: RequestContext, db: Reader, rows: SubnetPoolTable[]): Promise<Rec[]> {
    return this.toDicts(ctx, db, rows);
  }

  /**
   * API dicts. Like Neutron's _make_subnetpool_dict, create/show/list give the prefix lengths as
   * strings; an update answers with integers (Neutron builds that reply from the request).
   */
  async toDicts(ctx: RequestContext, db: Reader, rows: SubnetPoolTable[], intBounds = false): Promise<Rec[]> {
    const ids = rows.map((r) => r.id);
    const prefixes = await loadPrefixes(db, ids);
    const shared = await sharedWith(db, 'subnetpool', ids, ctx.projectId);
    const tags = await loadTags(db, ids);
    const bound = (n: number) => (intBounds ? Number(n) : String(n));
    return rows.map((row) => ({
      id: row.id,
      name: row.name,
      tenant_id: row.project_id,
      project_id: row.project_id,
      prefixes: cidrTexts(poolSet(row, prefixes.get(row.id) ?? [])),
      default_quota: row.default_quota === null ? null : Number(row.default_quota),
      ip_version: Number(row.ip_version),
      default_prefixlen: bound(row.default_prefixlen),
      min_prefixlen: bound(row.min_prefixlen),
      max_prefixlen: bound(row.max_prefixlen),
      is_default: i2b(row.is_default),
      shared: shared.has(row.id),
      address_scope_id: row.address_scope_id,
      description: row.description,
      created_at: row.created_at,
      updated_at: row.updated_at,
      revision_number: Number(row.revision_number),
      tags: tags.get(row.id) ?? [],
    }));
  }

  // ---- validation shared by create, update and the prefix operations ---------------------------

  /** Only one default pool per IP version (InvalidInput, as _check_default_subnetpool_exists). */
  private async checkDefaultFree(tx: Tx, ipVersion: number, exceptId: string): Promise<void> {
    const other = await tx
      .selectFrom('subnetpools')
      .select('id')
      .where('is_default', '=', 1)
      .where('ip_version', '=', ipVersion)
      .where('id', '!=', exceptId)
      .executeTakeFirst();
    if (other) {
      throw invalidInput('A default subnetpool for this IP family has already been set. Only one default may exist per IP family');
    }
  }

  /** _validate_address_scope_id: the pool may join the scope (locked against concurrent joins). */
  async validateAddressScope(tx: Tx, ctx: RequestContext, scopeId: string, poolId: string, set: PrefixSet): Promise<void> {
    let q = tx.selectFrom('address_scopes').selectAll('address_scopes').where('address_scopes.id', '=', scopeId);
    if (!ctx.isAdmin) q = q.where(rbacVisible(ctx, 'address_scope', 'address_scopes.project_id', 'address_scopes.id'));
    const scope = await forUpdate(this.m.db, q).executeTakeFirst();
    if (!scope) throw addressScopeNotFound(scopeId);
    if (!ctx.isAdmin && scope.project_id !== ctx.projectId && !(await sharedWith(tx, 'address_scope', [scopeId], ctx.projectId)).has(scopeId)) {
      throw illegalSubnetPoolAssociationToAddressScope(poolId, scopeId);
    }
    if (Number(scope.ip_version) !== set.version) {
      throw illegalSubnetPoolIpVersionAssociationToAddressScope(poolId, scopeId, Number(scope.ip_version));
    }
    await this.checkNetworkAffinity(tx, poolId, set.version);
    const others = await tx.selectFrom('subnetpools').selectAll().where('address_scope_id', '=', scopeId).where('id', '!=', poolId).execute();
    const prefixes = await loadPrefixes(
      tx,
      others.map((o) => o.id),
    );
    for (const o of others) {
      if (intersects(poolSet(o, prefixes.get(o.id) ?? []), set)) throw addressScopePrefixConflict();
    }
  }

  /**
   * Re-scoping a pool must not leave a network with subnets of one family in two scopes: every
   * subnet of that family on the networks of the pool's subnets must come from this pool.
   */
  private async checkNetworkAffinity(tx: Tx, poolId: string, ipVersion: number): Promise<void> {
    const own = await tx.selectFrom('subnets').select(['id', 'network_id']).where('subnetpool_id', '=', poolId).execute();
    if (own.length === 0) return;
    const nets = [...new Set(own.map((s) => s.network_id))];
    const mine = new Set(own.map((s) => s.id));
    for (const part of chunks(nets)) {
      const all = await tx.selectFrom('subnets').select('id').where('network_id', 'in', part).where('ip_version', '=', ipVersion).execute();
      if (all.some((s) => !mine.has(s.id))) throw networkAddressScopeAffinityError();
    }
  }

  /** A pool in a scope the caller does not own cannot be changed (_check_subnetpool_update_allowed). */
  private async checkUpdateAllowed(tx: Tx, ctx: RequestContext, poolId: string, scopeId: string): Promise<void> {
    let q = tx.selectFrom('address_scopes').select(['address_scopes.id', 'address_scopes.project_id']).where('address_scopes.id', '=', scopeId);
    if (!ctx.isAdmin) q = q.where(rbacVisible(ctx, 'address_scope', 'address_scopes.project_id', 'address_scopes.id'));
    const scope = await q.executeTakeFirst();
    if (!scope) throw addressScopeNotFound(scopeId);
    if (!ctx.isAdmin && scope.project_id !== ctx.projectId) {
      throw illegalSubnetPoolUpdate(`subnetpool ${poolId} cannot be updated when associated with shared address scope ${scopeId}`);
    }
  }

  private async writePrefixes(tx: Tx, id: string, prefixes: readonly string[]): Promise<void> {
    await tx.deleteFrom('subnetpool_prefixes').where('subnetpool_id', '=', id).execute();
    if (prefixes.length)
      await tx
        .insertInto('subnetpool_prefixes')
        .values(prefixes.map((cidr) => ({ subnetpool_id: id, cidr })))
        .execute();
  }

  // ---- writes --------------------------------------------------------------------------------

  async create(ctx: RequestContext, bodies: Rec[]): Promise<Rec[]> {
    return inTransaction(this.m.db, async (tx) => {
      const ids: string[] = [];
      for (const body of bodies) ids.push(await this.createOne(tx, ctx, body));
      const rows = [];
      for (const part of chunks(ids)) rows.push(...(await tx.selectFrom('subnetpools').selectAll().where('id', 'in', part).execute()));
      const byId = new Map(rows.map((r) => [r.id, r]));
      return this.toDicts(
        ctx,
        tx,
        ids.map((id) => byId.get(id)!),
      );
    });
  }

  private async createOne(tx: Tx, ctx: RequestContext, body: Rec): Promise<string> {
    const s = readPool(body as unknown as PoolInput);
    const id = body.id as string;
    const projectId = body.project_id as string;
    const isDefault = body.is_default === true;
    if (isDefault) await this.checkDefaultFree(tx, s.ipVersion, id);
    const scopeId = body.address_scope_id === NOT_SPECIFIED || body.address_scope_id === undefined ? null : (body.address_scope_id as string | null);
    if (scopeId) await this.validateAddressScope(tx, ctx, scopeId, id, s.set);
    await this.m.quota.enforce(tx, projectId, { subnetpool: 1 });
    const now = nowIso();
    await tx
      .insertInto('subnetpools')
      .values({
        id,
        project_id: projectId,
        name: body.name as string,
        ...settingColumns(s, isDefault, scopeId),
        description: (body.description as string | undefined) ?? '',
        revision_number: 0,
        created_at: now,
        updated_at: now,
      })
      .execute();
    await this.writePrefixes(tx, id, s.prefixes);
    if (body.shared === true) {
      await addEntry(this.m.db, tx, {
        object_type: 'subnetpool',
        object_id: id,
        project_id: projectId,
        target_project: WILDCARD,
        action: ACCESS_SHARED,
      });
    }
    return id;
  }

  async update(ctx: RequestContext, id: string, body: Rec, expectRevision?: number): Promise<Rec> {
    return inTransaction(this.m.db, async (tx) => {
      const row = await this.change(tx, ctx, id, body, expectRevision);
      return (await this.toDicts(ctx, tx, [row], true))[0]!;
    });
  }

  /** update_subnetpool: merges the changes into the stored pool, validates the result, writes it. */
  private async change(tx: Tx, ctx: RequestContext, id: string, body: Rec, expectRevision?: number): Promise<SubnetPoolTable> {
    const pool = await findPool(this.m.db, tx, null, id, true);
    if (!pool) throw this.notFound(id);
    checkRevision(pool.revision_number, expectRevision);
    let prefixes: unknown = cidrTexts(pool.set);
    if ('prefixes' in body) {
      const wanted = readPrefixes(body.prefixes);
      if (!isSubset(pool.set, wanted)) throw illegalSubnetPoolPrefixUpdate('Existing prefixes must be a subset of the new prefixes');
      prefixes = cidrTexts(wanted);
    }
    const pick = (k: keyof SubnetPoolTable) => (k in body ? body[k] : pool[k]);
    const s: PoolSettings = readPool({
      prefixes,
      default_prefixlen: Number(pick('default_prefixlen')),
      min_prefixlen: Number(pick('min_prefixlen')),
      max_prefixlen: Number(pick('max_prefixlen')),
      default_quota: pick('default_quota'),
    });
    const isDefault = 'is_default' in body ? body.is_default === true : i2b(pool.is_default);
    if (isDefault && !i2b(pool.is_default)) await this.checkDefaultFree(tx, s.ipVersion, id);
    if (pool.address_scope_id) await this.checkUpdateAllowed(tx, ctx, id, pool.address_scope_id);
    const scopeId = ('address_scope_id' in body ? body.address_scope_id : pool.address_scope_id) as string | null;
    if (scopeId) await this.validateAddressScope(tx, ctx, scopeId, id, s.set);
    const set: Partial<SubnetPoolTable> = {
      ...settingColumns(s, isDefault, scopeId),
      revision_number: Number(pool.revision_number) + 1,
      updated_at: nowIso(),
    };
    if ('name' in body) set.name = body.name as string;
    if ('description' in body) set.description = body.description as string;
    await tx.updateTable('subnetpools').set(set).where('id', '=', id).execute();
    if (s.prefixes.join(',') !== cidrTexts(pool.set).join(',')) await this.writePrefixes(tx, id, s.prefixes);
    return await tx.selectFrom('subnetpools').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  }

  async delete(_ctx: RequestContext, id: string, expectRevision?: number): Promise<void> {
    await inTransaction(this.m.db, async (tx) => {
      const row = await forUpdate(this.m.db, tx.selectFrom('subnetpools').selectAll().where('id', '=', id)).executeTakeFirst();
      if (!row) throw this.notFound(id);
      checkRevision(row.revision_number, expectRevision);
      const used = await tx.selectFrom('subnets').select('id').where('subnetpool_id', '=', id).limit(1).executeTakeFirst();
      if (used) throw subnetPoolDeleteError('Subnet pool has existing allocations');
      await tx.deleteFrom('subnetpool_prefixes').where('subnetpool_id', '=', id).execute();
      await removeAll(tx, 'subnetpool', id);
      await tx.deleteFrom('tags').where('resource_id', '=', id).execute();
      await tx.deleteFrom('subnetpools').where('id', '=', id).execute();
    });
  }

  // ---- subnetpool-prefix-ops and subnet_onboard ------------------------------------------------

  /** get_operation_request_body: {"prefixes": [non-empty list]}. */
  private operationPrefixes(body: unknown): PrefixSet | null {
    const prefixes = body && typeof body === 'object' && !Array.isArray(body) ? (body as Rec).prefixes : undefined;
    if (!Array.isArray(prefixes) || prefixes.length === 0) throw badRequest('Request body contains invalid data');
    const cidrs = prefixes.map((p) => parseCidr(p, 'prefixes'));
    return prefixSet(cidrs[0]!.version, cidrs);
  }

  /** The member actions subnetpoolDef declares. */
  action(ctx: RequestContext, id: string, name: string, body: unknown): Promise<unknown> {
    switch (name) {
      case 'add_prefixes':
        return this.addPrefixes(ctx, id, body);
      case 'remove_prefixes':
        return this.removePrefixes(ctx, id, body);
      case 'onboard_network_subnets':
        return this.onboardNetworkSubnets(ctx, id, body);
      default:
        throw new Error(`subnet pool action ${name} is not declared`);
    }
  }

  async addPrefixes(ctx: RequestContext, id: string, body: unknown): Promise<Rec> {
    const prefixes = body && typeof body === 'object' ? (body as Rec).prefixes : undefined;
    this.operationPrefixes(body);
    return inTransaction(this.m.db, async (tx) => {
      const pool = await findPool(this.m.db, tx, null, id, true);
      if (!pool) throw this.notFound(id);
      const row = await this.change(tx, ctx, id, { prefixes: [...cidrTexts(pool.set), ...(prefixes as string[])] });
      const dict = (await this.toDicts(ctx, tx, [row]))[0]!;
      return { prefixes: dict.prefixes };
    });
  }

  async removePrefixes(_ctx: RequestContext, id: string, body: unknown): Promise<Rec> {
    const removal = this.operationPrefixes(body)!;
    return inTransaction(this.m.db, async (tx) => {
      const pool = await findPool(this.m.db, tx, null, id, true);
      if (!pool) throw this.notFound(id);
      if (!intersects(pool.set, removal)) return { prefixes: cidrTexts(pool.set) };
      const subnets = await tx.selectFrom('subnets').select('cidr').where('subnetpool_id', '=', id).execute();
      const allocated = prefixSet(
        pool.set.version,
        subnets.map((s) => parseCidr(s.cidr)),
      );
      if (intersects(allocated, removal)) throw illegalSubnetPoolPrefixUpdate('One or more the prefixes to be removed is in use by a subnet');
      const left = cidrTexts(difference(pool.set, removal));
      await this.writePrefixes(tx, id, left);
      await tx
        .updateTable('subnetpools')
        .set({ revision_number: Number(pool.revision_number) + 1, updated_at: nowIso() })
        .where('id', '=', id)
        .execute();
      return { prefixes: left };
    });
  }

  /** onboard_network_subnets: adopts a network's subnets of the pool's family into the pool. */
  async onboardNetworkSubnets(ctx: RequestContext, id: string, body: unknown): Promise<Array<{ id: string; cidr: string }>> {
    const networkId = body && typeof body === 'object' ? (body as Rec).network_id : undefined;
    if (typeof networkId !== 'string' || networkId === '') throw invalidInput('network_id must be specified');
    return inTransaction(this.m.db, async (tx) => {
      const net = await tx.selectFrom('networks').select(['id', 'project_id']).where('id', '=', networkId).executeTakeFirst();
      if (!net) throw networkNotFound(networkId);
      if (!ctx.isAdmin && net.project_id !== ctx.projectId) throw actionNotAuthorized();
      const pool = await findPool(this.m.db, tx, null, id, true);
      if (!pool) throw this.notFound(id);
      const subnets = await tx
        .selectFrom('subnets')
        .select(['id', 'cidr'])
        .where('network_id', '=', networkId)
        .where('ip_version', '=', pool.set.version)
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      const allocatedRows = await tx.selectFrom('subnets').select('cidr').where('subnetpool_id', '=', id).execute();
      const allocated = prefixSet(
        pool.set.version,
        allocatedRows.map((s) => parseCidr(s.cidr)),
      );
      for (const s of subnets) {
        if (intersects(prefixSet(pool.set.version, [parseCidr(s.cidr)]), allocated)) {
          throw illegalSubnetPoolUpdate(`Onboarding subnet ${s.id}: ${s.cidr} conflicts with allocated prefixes in subnet pool ${id}`);
        }
      }
      await this.change(tx, ctx, id, { prefixes: [...cidrTexts(pool.set), ...subnets.map((s) => s.cidr)] });
      if (subnets.length) {
        await tx
          .updateTable('subnets')
          .set((eb) => ({ subnetpool_id: id, revision_number: eb('revision_number', '+', 1), updated_at: nowIso() }))
          .where(
            'id',
            'in',
            subnets.map((s) => s.id),
          )
          .execute();
      }
      return subnets.map((s) => ({ id: s.id, cidr: s.cidr }));
    });
  }
}

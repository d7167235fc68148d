// Where a new subnet's CIDR comes from (Neutron's _create_subnet_precommit, _get_subnetpool_id,
// SubnetRequestFactory and SubnetAllocator): the request's own cidr, or a subnet pool — given by
// id or as the default pool of the IP version — that hands out a prefix of the requested length
// (best fit: the smallest free block that can hold it) or checks that the requested cidr is free
// in it. The pool's row is locked for the rest of the transaction, so concurrent allocations from
// one pool are serialised and never get overlapping prefixes. Also the network/pool/scope
// affinity every subnet create must respect.
import type { RequestContext } from '../../core/context.js';
import { NOT_SPECIFIED } from '../../definitions/common.js';
import type { Rec } from '../../core/resource.js';
import type { Db } from '../../db/connection.js';
import type { Reader, Tx } from '../../db/tx.js';
import { ADDRESS_BITS, formatIp, parseIp, type IpVersion } from '../../ipam/address.js';
import { formatCidr, makeCidr, parseCidr } from '../../ipam/cidr.js';
import { invalidInput } from '../../core/errors.js';
import { allocateAny, containsRange, difference, prefixSet } from '../../ipam/prefix-set.js';
import { chunks } from '../common/list-sql.js';
import {
  badResourceRequest,
  maxPrefixSubnetAllocationError,
  minPrefixSubnetAllocationError,
  networkAddressScopeAffinityError,
  networkSubnetPoolAffinityError,
  subnetAllocationError,
  subnetPoolNotFound,
  subnetPoolQuotaExceeded,
} from './errors.js';
import { quotaUnits } from './reader.js';
import { defaultPool, findPool, type StoredPool } from './subnetpools.js';

export interface SubnetSource {
  /** The pool the subnet is allocated from, or null. */
  subnetpoolId: string | null;
  /** The subnet's cidr: the request's, or the prefix allocated from the pool. */
  cidr: string;
  /** gateway_ip for the rest of subnet creation (NOT_SPECIFIED: the usual default). */
  gatewayIp: unknown;
}

const isSet = (v: unknown) => v !== NOT_SPECIFIED && v !== undefined && v !== null;

/**
 * Resolves the pool and the cidr of a subnet create (inside its transaction, after the network is
 * locked). Throws Neutron's 400s for inconsistent requests, SubnetPoolNotFound for a pool the
 * caller cannot see, and the allocation errors.
 */
export async function subnetSource(db: Db, tx: Tx, ctx: RequestContext, body: Rec): Promise<SubnetSource> {
  const cidrGiven = isSet(body.cidr);
  const prefixlenGiven = isSet(body.prefixlen);
  if (cidrGiven && prefixlenGiven) throw badResourceRequest('subnets', 'cidr and prefixlen must not be supplied together');
  const ipVersion = body.ip_version as IpVersion;
  const networkId = body.network_id as string;

  const useDefault = body.use_default_subnetpool === true;
  const givenPool = isSet(body.subnetpool_id) ? (body.subnetpool_id as string) : null;
  if (useDefault && givenPool) throw badResourceRequest('subnets', 'subnetpool_id and use_default_subnetpool cannot both be specified');
  let pool: StoredPool | null = null;
  if (givenPool) {
    pool = await findPool(db, tx, ctx, givenPool, true);
    if (!pool) throw subnetPoolNotFound(givenPool);
  } else if (useDefault) {
    const version = cidrGiven ? parseCidr(body.cidr).version : ipVersion;
    const found = await defaultPool(db, tx, ctx, version);
    if (!found) throw badResourceRequest('subnets', `No default subnetpool found for IPv${version}`);
    pool = await findPool(db, tx, null, found.id, true);
  }
  if (!pool && !cidrGiven) throw badResourceRequest('subnets', 'a subnetpool must be specified in the absence of a cidr');

  if (!pool) {
    await checkNetworkPools(tx, networkId, ipVersion, null);
    return { subnetpoolId: null, cidr: body.cidr as string, gatewayIp: body.gateway_ip };
  }

  if (!cidrGiven && isSet(body.allocation_pools)) {
    throw badResourceRequest('subnets', 'allocation_pools allowed only for specific subnet requests');
  }
  const poolVersion = Number(pool.ip_version) as IpVersion;
  if (ipVersion !== poolVersion) {
    throw badResourceRequest('subnets', `Cannot allocate IPv${ipVersion} subnet from IPv${poolVersion} subnet pool`);
  }
  await checkNetworkPools(tx, networkId, ipVersion, pool);

  const gatewayGiven = isSet(body.gateway_ip);
  const wantedLen = prefixlenGiven ? (body.prefixlen as number) : Number(pool.default_prefixlen);
  let requested = cidrGiven ? parseCidr(body.cidr) : null;
  if (!requested) {
    if (wantedLen < 0 || wantedLen > ADDRESS_BITS[poolVersion]) {
      throw invalidInput(`Invalid prefix length ${wantedLen} for an IPv${poolVersion} subnet`);
    }
    // A gateway without a cidr asks for the prefix around it (SubnetRequestFactory).
    if (gatewayGiven) {
      const gw = parseIp(body.gateway_ip, 'gateway_ip');
      if (gw.version !== poolVersion) throw invalidInput(`gateway_ip '${String(body.gateway_ip)}' does not match the ip_version '${poolVersion}'`);
      requested = makeCidr(poolVersion, gw.value, wantedLen);
    }
  }
  const prefixlen = requested ? requested.prefixlen : wantedLen;
  if (prefixlen > Number(pool.max_prefixlen)) throw maxPrefixSubnetAllocationError(prefixlen, Number(pool.max_prefixlen));
  if (prefixlen < Number(pool.min_prefixlen)) throw minPrefixSubnetAllocationError(prefixlen, Number(pool.min_prefixlen));

  const allocated = await tx.selectFrom('subnets').select(['cidr', 'project_id']).where('subnetpool_id', '=', pool.id).execute();
  // default_quota: the requesting project's share of the pool, in /32 (IPv4) or /64 (IPv6) units.
  const quota = pool.default_quota === null ? 0 : Number(pool.default_quota);
  if (quota) {
    const projectId = body.project_id as string;
    let used = 0;
    for (const a of allocated) if (a.project_id === projectId) used += quotaUnits(poolVersion, parseCidr(a.cidr).prefixlen);
    if (used + quotaUnits(poolVersion, prefixlen) > quota) throw subnetPoolQuotaExceeded();
  }
  const free = difference(
    pool.set,
    prefixSet(
      poolVersion,
      allocated.map((a) => parseCidr(a.cidr)),
    ),
  );

  if (requested) {
    const net = makeCidr(poolVersion, requested.network, requested.prefixlen);
    if (!containsRange(free, net)) throw subnetAllocationError('Cannot allocate requested subnet from the available set of prefixes');
    return { subnetpoolId: pool.id, cidr: cidrGiven ? (body.cidr as string) : formatCidr(net), gatewayIp: body.gateway_ip };
  }
  const got = allocateAny(free, prefixlen);
  if (!got) throw subnetAllocationError(`Insufficient prefix space to allocate subnet size /${prefixlen}`);
  // Neutron gives an allocated subnet the first address after the network as gateway (both
  // families); an explicit gateway_ip: null keeps it without one.
  const gatewayIp = body.gateway_ip === null ? null : formatIp(got.network + 1n, poolVersion);
  return { subnetpoolId: pool.id, cidr: formatCidr(got), gatewayIp };
}

/**
 * _validate_network_subnetpools: a network's subnets of one IP version come from one pool (or all
 * from none), unless an address scope ties them together, in which case every subnet of that
 * version must come from a pool of that scope.
 */
export async function checkNetworkPools(tx: Tx, networkId: string, ipVersion: number, pool: StoredPool | null): Promise<void> {
  const subnets = await tx
    .selectFrom('subnets')
    .leftJoin('subnetpools', 'subnetpools.id', 'subnets.subnetpool_id')
    .select(['subnets.ip_version', 'subnets.subnetpool_id', 'subnetpools.address_scope_id'])
    .where('subnets.network_id', '=', networkId)
    .execute();
  if (subnets.length === 0) return;
  const scope = subnets.find((s) => Number(s.ip_version) === ipVersion && s.address_scope_id)?.address_scope_id ?? null;
  if (scope && (!pool || pool.address_scope_id !== scope)) throw networkAddressScopeAffinityError();
  for (const s of subnets) {
    if (Number(s.ip_version) !== ipVersion) continue;
    if (pool ? s.subnetpool_id !== pool.id && !scope : s.subnetpool_id) throw networkSubnetPoolAffinityError();
  }
}

/**
 * Address scopes of networks (ipv4_address_scope / ipv6_address_scope): the scope of the pools
 * their subnets come from. Networks without any are absent from the map.
 */
export async function networkAddressScopes(db: Reader, networkIds: readonly string[]): Promise<Map<string, { 4: string | null; 6: string | null }>> {
  const out = new Map<string, { 4: string | null; 6: string | null }>();
  for (const part of chunks([...networkIds])) {
    if (!part.length) continue;
    const rows = await db
      .selectFrom('subnets')
      .innerJoin('subnetpools', 'subnetpools.id', 'subnets.subnetpool_id')
      .select(['subnets.network_id', 'subnetpools.ip_version', 'subnetpools.address_scope_id'])
      .where('subnets.network_id', 'in', part)
      .where('subnetpools.address_scope_id', 'is not', null)
      .execute();
    for (const r of rows) {
      const e = out.get(r.network_id) ?? { 4: null, 6: null };
      e[Number(r.ip_version) as 4 | 6] = r.address_scope_id;
      out.set(r.network_id, e);
    }
  }
  return out;
}

/**
 * The address scope of each subnet (through its pool; null when none), for the L3 plugin: a
 * router forwards between interfaces of one scope, and NATs across scopes (Neutron's
 * _get_subnets_by_network_list / address_scopes of router ports).
 */
export async function subnetAddressScopes(db: Reader, subnetIds: readonly string[]): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>();
  for (const part of chunks([...subnetIds])) {
    if (!part.length) continue;
    const rows = await db
      .selectFrom('subnets')
      .leftJoin('subnetpools', 'subnetpools.id', 'subnets.subnetpool_id')
      .select(['subnets.id', 'subnetpools.address_scope_id'])
      .where('subnets.id', 'in', part)
      .execute();
    for (const r of rows) out.set(r.id, r.address_scope_id ?? null);
  }
  return out;
}

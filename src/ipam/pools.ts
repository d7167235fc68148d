// Allocation pools: generation around the gateway and validation of user-given pools.
// Sources: neutron/ipam/utils.py generate_pools, neutron/db/ipam_backend_mixin.py
// (pools_to_ip_range, validate_allocation_pools, validate_gw_out_of_pools) and
// neutron_lib/api/validators validate_ip_pools.
import { formatIp, type IpAddr, parseIp, tryParseIp, validateIpAddress } from './address.js';
import { type Cidr, formatRange, type IpRange, ipInRange, rangesOverlap, toCidr } from './cidr.js';
import { invalidAttribute } from '../core/errors.js';
import {
  gatewayConflictWithAllocationPools,
  invalidAllocationPool,
  outOfBoundsAllocationPool,
  overlappingAllocationPools,
  pyRepr,
  pyStr,
} from './errors.js';

/** A pool as the API carries it. */
export interface PoolSpec {
  start: string;
  end: string;
}

/**
 * The part of a subnet pools may cover: IPv4 loses the network and broadcast addresses unless
 * the prefix is /31 or /32 (RFC 3021 point-to-point; Neutron since 2021); IPv6 loses only the
 * network address, the subnet-router anycast that Neutron uses as default gateway.
 */
export function usableRange(c: Cidr): IpRange {
  if (c.version === 4) {
    return c.prefixlen <= 30 ? { version: 4, first: c.first + 1n, last: c.last - 1n } : c;
  }
  return { version: 6, first: c.first + 1n, last: c.last };
}

/** Removes one address from a range: zero, one or two ranges remain. */
function carve(r: IpRange, ip: bigint): IpRange[] {
  if (ip < r.first || ip > r.last) return [r];
  const out: IpRange[] = [];
  if (ip > r.first) out.push({ version: r.version, first: r.first, last: ip - 1n });
  if (ip < r.last) out.push({ version: r.version, first: ip + 1n, last: r.last });
  return out;
}

/**
 * generate_pools: the pools Neutron creates when none are given — the usable range minus the
 * gateway (splitting the range when the gateway sits in the middle; a gateway outside the
 * subnet removes nothing). A single-address subnet (/32, /128) gets that address as its pool
 * whatever the gateway, as in Neutron. An IPv6 /127 keeps only its second address.
 */
export function defaultAllocationPools(cidr: string | Cidr, gatewayIp: string | IpAddr | null): IpRange[] {
  const c = toCidr(cidr);
  if (c.size === 1n) return [{ version: c.version, first: c.first, last: c.last }];
  const r = usableRange(c);
  const base: IpRange = { version: r.version, first: r.first, last: r.last };
  if (gatewayIp === null || gatewayIp === '') return [base];
  const gw = typeof gatewayIp === 'string' ? parseIp(gatewayIp, 'gateway_ip') : gatewayIp;
  return gw.version === c.version ? carve(base, gw.value) : [base];
}

const POOL_KEYS = ['start', 'end'];

/** _verify_dict_keys(strict) wording, with Python's dict/set rendering. */
export function verifyDictKeys(expected: string[], target: unknown): string | null {
  if (typeof target !== 'object' || target === null || Array.isArray(target)) {
    return `Invalid input. '${pyStr(target)}' must be a dictionary with keys: ${pyRepr(expected)}`;
  }
  const provided = Object.keys(target);
  const same = provided.length === expected.length && expected.every((k) => provided.includes(k));
  if (same) return null;
  return (
    `Validation of dictionary's keys failed. Expected keys: ${pyRepr(new Set([...expected].sort()))} ` +
    `Provided keys: ${pyRepr(new Set([...provided].sort()))}`
  );
}

/**
 * The API's validate_ip_pools plus pools_to_ip_range: a list of {start, end} with valid
 * addresses, each start ≤ end and of one version. Throws 400 (HTTPBadRequest for shape and
 * address syntax, InvalidAllocationPool for reversed or mixed-version pools).
 */
export function parseAllocationPools(pools: unknown): IpRange[] {
  if (!Array.isArray(pools)) {
    throw invalidAttribute('allocation_pools', `Invalid data format for IP pool: '${pyStr(pools)}'`);
  }
  for (const p of pools) {
    const msg = verifyDictKeys(POOL_KEYS, p);
    if (msg !== null) throw invalidAttribute('allocation_pools', msg);
    for (const k of POOL_KEYS) {
      const bad = validateIpAddress((p as Record<string, unknown>)[k]);
      if (bad !== null) throw invalidAttribute('allocation_pools', bad);
    }
  }
  return pools.map((p: PoolSpec) => {
    const s = tryParseIp(p.start)!;
    const e = tryParseIp(p.end)!;
    if (s.version !== e.version || s.value > e.value) throw invalidAllocationPool(pyRepr(p));
    return { version: s.version, first: s.value, last: e.value };
  });
}

/**
 * validate_gw_out_of_pools: the gateway may not be handed out, so it may not sit in a pool
 * (GatewayConflictWithAllocationPools, 409). Neutron runs this on create and whenever an update
 * changes the gateway or the pools.
 */
export function validateGatewayOutOfPools(gatewayIp: string | IpAddr, pools: readonly IpRange[]): void {
  const gw = typeof gatewayIp === 'string' ? parseIp(gatewayIp, 'gateway_ip') : gatewayIp;
  for (const p of pools) {
    if (ipInRange(gw, p)) throw gatewayConflictWithAllocationPools(formatIp(gw.value, gw.version), formatRange(p));
  }
}

/**
 * Validates user-given pools for a subnet (validate_allocation_pools, then the gateway check)
 * and returns them as ranges sorted by address, as Neutron's SubnetRequest stores them.
 * Errors: InvalidAllocationPool 400 (other IP version), OutOfBoundsAllocationPool 400 (outside
 * the usable range: includes the v4 network/broadcast and the v6 network address),
 * OverlappingAllocationPools 409, GatewayConflictWithAllocationPools 409.
 */
export function validateAllocationPools(cidr: string | Cidr, pools: unknown, gatewayIp: string | IpAddr | null): IpRange[] {
  const c = toCidr(cidr);
  const cidrText = `${formatIp(c.network, c.version)}/${c.prefixlen}`;
  const ranges = parseAllocationPools(pools);
  const usable = usableRange(c);
  for (const r of ranges) {
    if (r.version !== c.version) throw invalidAllocationPool(formatRange(r));
    if (r.first < usable.first || r.last > usable.last) throw outOfBoundsAllocationPool(formatRange(r), cidrText);
  }
  const sorted = [...ranges].sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
  const anyOverlap = sorted.some((r, i) => i > 0 && r.first <= sorted[i - 1]!.last);
  if (anyOverlap) {
    // Report the same pair Neutron does: first by request order, compared pairwise.
    for (let i = 0; i < ranges.length; i++) {
      for (let j = i + 1; j < ranges.length; j++) {
        if (rangesOverlap(ranges[i]!, ranges[j]!)) {
          throw overlappingAllocationPools(formatRange(ranges[i]!), formatRange(ranges[j]!), cidrText);
        }
      }
    }
  }
  if (gatewayIp !== null && gatewayIp !== '') validateGatewayOutOfPools(gatewayIp, ranges);
  return sorted;
}

export function ipInPools(ip: string | IpAddr, pools: readonly IpRange[]): boolean {
  const a = typeof ip === 'string' ? parseIp(ip) : ip;
  return pools.some((p) => ipInRange(a, p));
}

/** Total number of addresses in the pools (BigInt: an IPv6 /64 pool holds 2^64). */
export function countPoolAddresses(pools: readonly IpRange[]): bigint {
  return pools.reduce((n, p) => n + (p.last - p.first + 1n), 0n);
}

/** Pools as the API shows them: [{start, end}] in canonical text. */
export function formatPools(pools: readonly IpRange[]): PoolSpec[] {
  return pools.map((p) => ({ start: formatIp(p.first, p.version), end: formatIp(p.last, p.version) }));
}

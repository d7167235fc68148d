// What a subnet pool is once its create or update request is read (Neutron's SubnetPoolReader and
// SubnetPoolHelper): the IP version from the prefixes, the compacted prefix list, the prefix length
// bounds with their defaults, all validated. Pure.
import { NOT_SPECIFIED } from '../../definitions/common.js';
import { ADDRESS_BITS, type IpVersion } from '../../ipam/address.js';
import { parseCidr } from '../../ipam/cidr.js';
import { cidrTexts, prefixSet, type PrefixSet } from '../../ipam/prefix-set.js';
import { emptySubnetPoolPrefixList, illegalSubnetPoolPrefixBounds, prefixVersionMismatch, unsupportedMinSubnetPoolPrefix } from './errors.js';

/** IPv4 pools allocate /8 and longer by default, IPv6 /64 and longer (and quotas count in those units). */
export const DEFAULT_MIN_PREFIXLEN: Readonly<Record<IpVersion, number>> = { 4: 8, 6: 64 };
export const QUOTA_UNIT_PREFIXLEN: Readonly<Record<IpVersion, number>> = { 4: 32, 6: 64 };

export interface PoolInput {
  prefixes: unknown;
  default_prefixlen?: unknown;
  min_prefixlen?: unknown;
  max_prefixlen?: unknown;
  default_quota?: unknown;
}

export interface PoolSettings {
  ipVersion: IpVersion;
  /** The prefixes, overlapping ones merged, as CIDR texts in address order. */
  prefixes: string[];
  set: PrefixSet;
  minPrefixlen: number;
  maxPrefixlen: number;
  defaultPrefixlen: number;
  defaultQuota: number | null;
}

const given = (v: unknown): v is number => v !== undefined && v !== NOT_SPECIFIED && v !== null;

/** Reads prefixes into a set of one IP version (EmptySubnetPoolPrefixList, PrefixVersionMismatch). */
export function readPrefixes(prefixes: unknown): PrefixSet {
  const list = Array.isArray(prefixes) ? prefixes : [];
  if (list.length === 0) throw emptySubnetPoolPrefixList();
  const cidrs = list.map((p) => parseCidr(p, 'prefixes'));
  const version = cidrs[0]!.version;
  if (cidrs.some((c) => c.version !== version)) throw prefixVersionMismatch();
  return prefixSet(version, cidrs);
}

export function readPool(input: PoolInput): PoolSettings {
  const set = readPrefixes(input.prefixes);
  const v = set.version;
  const min = given(input.min_prefixlen) ? input.min_prefixlen : DEFAULT_MIN_PREFIXLEN[v];
  const max = given(input.max_prefixlen) ? input.max_prefixlen : ADDRESS_BITS[v];
  const dflt = given(input.default_prefixlen) ? input.default_prefixlen : min;
  if (min < 0) throw unsupportedMinSubnetPoolPrefix(min, 4);
  if (min > max) throw illegalSubnetPoolPrefixBounds('min_prefixlen', min, 'max_prefixlen', max);
  if (max > ADDRESS_BITS[v]) throw illegalSubnetPoolPrefixBounds('max_prefixlen', max, 'ip_version_max', ADDRESS_BITS[v]);
  if (dflt < min) throw illegalSubnetPoolPrefixBounds('default_prefixlen', dflt, 'min_prefixlen', min);
  if (dflt > max) throw illegalSubnetPoolPrefixBounds('default_prefixlen', dflt, 'max_prefixlen', max);
  return {
    ipVersion: v,
    prefixes: cidrTexts(set),
    set,
    minPrefixlen: min,
    maxPrefixlen: max,
    defaultPrefixlen: dflt,
    defaultQuota: given(input.default_quota) ? input.default_quota : null,
  };
}

/** How many quota units (v4: addresses, v6: /64s) a subnet of this prefix length takes. */
export function quotaUnits(ipVersion: IpVersion, prefixlen: number): number {
  return 2 ** (QUOTA_UNIT_PREFIXLEN[ipVersion] - prefixlen);
}

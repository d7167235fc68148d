// Sets of addresses as sorted, disjoint, non-adjacent ranges of one IP version (netaddr's IPSet,
// which Neutron's subnet pools use): compaction of a pool's prefixes, what a pool has left after
// its subnets, and the choice of the prefix a subnet allocation gets (neutron/ipam/subnet_alloc.py).
// Pure functions, no I/O.
import { ADDRESS_BITS, type IpVersion } from './address.js';
import { type Cidr, formatCidr, makeCidr, type IpRange } from './cidr.js';

export interface PrefixSet {
  readonly version: IpVersion;
  /** Sorted by address; no two overlap or touch. */
  readonly ranges: readonly IpRange[];
}

/** The ranges of one version, sorted; those that overlap (or, with `touching`, are adjacent) merged. */
function mergeRanges(version: IpVersion, items: Iterable<IpRange>, touching: boolean): IpRange[] {
  const sorted = [...items].filter((r) => r.version === version).sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
  const gap = touching ? 1n : 0n;
  const out: IpRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.first <= last.last + gap) {
      if (r.last > last.last) out[out.length - 1] = { version, first: last.first, last: r.last };
    } else {
      out.push({ version, first: r.first, last: r.last });
    }
  }
  return out;
}

/** Merges ranges of one version into a set. */
export function prefixSet(version: IpVersion, items: Iterable<IpRange>): PrefixSet {
  return { version, ranges: mergeRanges(version, items, true) };
}

/**
 * Ranges of one version, sorted, the overlapping ones merged and the adjacent ones kept apart:
 * the elements of an nftables interval set (it refuses overlaps; neighbours stay separate
 * elements, so one member leaving changes one element).
 */
export function mergeOverlapping(version: IpVersion, items: Iterable<IpRange>): IpRange[] {
  return mergeRanges(version, items, false);
}

/** a minus b. */
export function difference(a: PrefixSet, b: PrefixSet): PrefixSet {
  const out: IpRange[] = [];
  let j = 0;
  for (const r of a.ranges) {
    let first = r.first;
    const last = r.last;
    while (j < b.ranges.length && b.ranges[j]!.last < first) j++;
    let k = j;
    while (first <= last && k < b.ranges.length && b.ranges[k]!.first <= last) {
      const cut = b.ranges[k]!;
      if (cut.first > first) out.push({ version: a.version, first, last: cut.first - 1n });
      first = cut.last + 1n;
      k++;
    }
    if (first <= last) out.push({ version: a.version, first, last });
  }
  return { version: a.version, ranges: out };
}

export function intersects(a: PrefixSet, b: PrefixSet): boolean {
  if (a.version !== b.version) return false;
  let i = 0;
  let j = 0;
  while (i < a.ranges.length && j < b.ranges.length) {
    const x = a.ranges[i]!;
    const y = b.ranges[j]!;
    if (x.first <= y.last && y.first <= x.last) return true;
    if (x.last < y.last) i++;
    else j++;
  }
  return false;
}

/** Every address of `a` is in `b`. */
export function isSubset(a: PrefixSet, b: PrefixSet): boolean {
  if (a.ranges.length === 0) return true;
  if (a.version !== b.version) return false;
  return difference(a, b).ranges.length === 0;
}

/** Whether the whole range lies in the set. */
export function containsRange(s: PrefixSet, r: IpRange): boolean {
  return r.version === s.version && s.ranges.some((x) => x.first <= r.first && r.last <= x.last);
}

/** The fewest CIDRs covering exactly the set, in address order (netaddr's iter_cidrs). */
export function toCidrs(s: PrefixSet): Cidr[] {
  const bits = ADDRESS_BITS[s.version];
  const out: Cidr[] = [];
  for (const r of s.ranges) {
    let first = r.first;
    while (first <= r.last) {
      // The largest aligned block starting at `first` that stays inside the range.
      let len = bits;
      while (len > 0) {
        const size = 1n << BigInt(bits - len + 1);
        if (first % size !== 0n || first + size - 1n > r.last) break;
        len--;
      }
      const c = makeCidr(s.version, first, len);
      out.push(c);
      first = c.last + 1n;
    }
  }
  return out;
}

/** Texts of the set's CIDRs, e.g. a pool's compacted prefix list. */
export const cidrTexts = (s: PrefixSet): string[] => toCidrs(s).map(formatCidr);

/**
 * The subnet an "any subnet" request of `prefixlen` gets (SubnetAllocator._allocate_any_subnet):
 * the free blocks are tried smallest first (longest prefix; address order among equals), and the
 * first one that can hold the length gives its first subnet of that length. Null when none can.
 */
export function allocateAny(free: PrefixSet, prefixlen: number): Cidr | null {
  const blocks = toCidrs(free);
  // A stable sort, as Python's sorted(key=prefixlen, reverse=True).
  const ordered = blocks.map((c, i) => [c, i] as const).sort((a, b) => b[0].prefixlen - a[0].prefixlen || a[1] - b[1]);
  for (const [block] of ordered) {
    if (prefixlen >= block.prefixlen) return makeCidr(free.version, block.network, prefixlen);
  }
  return null;
}

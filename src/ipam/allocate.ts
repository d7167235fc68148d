// Choosing a free address from a subnet's pools.
//
// Neutron's DB driver (neutron/ipam/drivers/neutrondb_ipam/driver.py _generate_ips) builds the
// set of free addresses of the first non-full pool, takes its first 1000 and picks one at
// random: random so that concurrent requests rarely collide on the same address (the loser
// retries), and a window so the choice stays cheap. DHCP and distributed ports
// (PreferNextAddressRequest) get the first free address instead.
//
// We keep the point (random, collision-averse) without listing free addresses: probe random
// addresses across all pools, weighted by pool size, then fall back to a scan that returns the
// first free address. The scan is linear in the number of taken addresses it walks past, so a
// nearly full small pool costs at most its size and a sparse IPv6 /64 costs a few probes.
import type { IpRange } from './cidr.js';

export type RandomFn = () => number;

export interface PickOptions {
  /** Random probes before the sequential scan (default 16). */
  maxProbes?: number;
}

/** A uniformly random bigint in [0, n), built from 32-bit draws of `rand` (bias < 2^-32). */
export function randomBelow(n: bigint, rand: RandomFn = Math.random): bigint {
  if (n <= 0n) throw new RangeError('randomBelow needs a positive bound');
  const words = Math.ceil(n.toString(2).length / 32) + 1;
  let r = 0n;
  for (let i = 0; i < words; i++) r = (r << 32n) | BigInt(Math.floor(rand() * 0x1_0000_0000) >>> 0);
  return r % n;
}

/** The first address, in pool order, that is not taken; null when every pool is full. */
export function firstFreeIp(pools: readonly IpRange[], isTaken: (ip: bigint) => boolean): bigint | null {
  for (const p of pools) {
    for (let ip = p.first; ip <= p.last; ip++) {
      if (!isTaken(ip)) return ip;
    }
  }
  return null;
}

/**
 * A free address from the pools, chosen at random when one is found within `maxProbes`
 * probes, else the first free one; null when the pools are full (the caller then answers
 * IpAddressGenerationFailure, 409).
 */
export function pickIp(
  pools: readonly IpRange[],
  isTaken: (ip: bigint) => boolean,
  rand: RandomFn = Math.random,
  opts: PickOptions = {},
): bigint | null {
  const sizes = pools.map((p) => (p.last >= p.first ? p.last - p.first + 1n : 0n));
  const total = sizes.reduce((a, b) => a + b, 0n);
  if (total === 0n) return null;
  const probes = opts.maxProbes ?? 16;
  for (let i = 0; i < probes; i++) {
    // Weighting by size makes every address equally likely, whichever pool it is in.
    let k = randomBelow(total, rand);
    for (let j = 0; j < pools.length; j++) {
      if (k < sizes[j]!) {
        const ip = pools[j]!.first + k;
        if (!isTaken(ip)) return ip;
        break;
      }
      k -= sizes[j]!;
    }
  }
  return firstFreeIp(pools, isTaken);
}

/**
 * One of the first `window` free addresses, in pool order, chosen at random; null when every
 * pool is full. Neutron's DB driver chooses the same way (from the first 1000 free), so that
 * concurrent requests on a nearly full pool rarely want the same address.
 */
export function randomFreeIp(
  pools: readonly IpRange[],
  isTaken: (ip: bigint) => boolean,
  rand: RandomFn = Math.random,
  window = 1000,
): bigint | null {
  const free: bigint[] = [];
  for (const p of pools) {
    for (let ip = p.first; ip <= p.last && free.length < window; ip++) {
      if (!isTaken(ip)) free.push(ip);
    }
  }
  return free.length ? free[Math.floor(rand() * free.length)]! : null;
}

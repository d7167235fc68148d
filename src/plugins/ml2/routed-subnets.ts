// Routed networks (Neutron's IPAM with segments, Subnet.find_candidate_subnets): on a network
// whose subnets belong to segments, a port takes addresses only from the subnets of the segment
// its host reaches. Without a host the allocation is deferred until the port is bound, unless
// fixed IPs are asked for, which must then all be on one segment. A host reaching no segment of
// the network, or several, is refused. Which segments a host reaches is what port binding uses:
// the physnets of its Linux-bridge agents (segmentReachable).
import type { Reader } from '../../db/tx.js';
import { ipInCidr } from '../../ipam/index.js';
import { NOT_SPECIFIED } from '../../definitions/common.js';
import { linuxbridgeAgents, networkSegments, segmentReachable } from './binding.js';
import { fixedIpsSubnetsNotOnSameSegment, hostConnectedToMultipleSegments, hostNotConnectedToAnySegment } from './errors.js';
import { serviceSubnets } from './ip-allocator.js';
import type { SubnetInfo } from './subnets.js';

export type IpAllocation = 'immediate' | 'deferred' | 'none';

export const isRouted = (subnets: readonly SubnetInfo[]) => subnets.some((s) => s.segment_id !== null);

/** The network's segments that `host`'s agents reach (alive or not: a mapping, not a liveness check). */
export async function hostSegments(db: Reader, networkId: string, host: string): Promise<Set<string>> {
  const agents = await linuxbridgeAgents(db, host, { agentDownTime: 0 });
  const segments = await networkSegments(db, networkId);
  return new Set(segments.filter((s) => agents.some((a) => segmentReachable(s, a))).map((s) => s.id));
}

/** The subnets on the one segment the host reaches (HostConnectedToMultipleSegments, HostNotConnectedToAnySegment). */
export function subnetsForHost(networkId: string, subnets: readonly SubnetInfo[], host: string, reachable: ReadonlySet<string>): SubnetInfo[] {
  const fit = subnets.filter((s) => s.segment_id !== null && reachable.has(s.segment_id));
  const segments = new Set(fit.map((s) => s.segment_id));
  if (segments.size > 1) throw hostConnectedToMultipleSegments(host, networkId);
  if (!fit.length) throw hostNotConnectedToAnySegment(host, networkId);
  return fit;
}

/** _query_filter_by_fixed_ips_segment: the requested addresses' subnets share one segment. */
export function subnetsForFixedIps(
  subnets: readonly SubnetInfo[],
  fixedIps: ReadonlyArray<{ subnet_id?: unknown; ip_address?: unknown }>,
): SubnetInfo[] {
  const segments: Array<string | null> = [];
  for (const f of fixedIps) {
    const subnet =
      typeof f.subnet_id === 'string'
        ? subnets.find((s) => s.id === f.subnet_id)
        : typeof f.ip_address === 'string'
          ? subnets.find((s) => ipInCidr(f.ip_address as string, s.cidr))
          : undefined;
    // An unknown subnet or address: every subnet, for the allocator to refuse it.
    if (!subnet) return [...subnets];
    if (!segments.includes(subnet.segment_id)) segments.push(subnet.segment_id);
    if (segments.length > 1) throw fixedIpsSubnetsNotOnSameSegment();
  }
  return subnets.filter((s) => s.segment_id === (segments[0] ?? null));
}

export interface Candidates {
  subnets: SubnetInfo[];
  allocation: IpAllocation;
}

/** The subnets a port may take addresses from, and whether its allocation waits for a host. */
export async function candidateSubnets(
  db: Reader,
  networkId: string,
  subnets: SubnetInfo[],
  host: string,
  requested: unknown,
  owner: string,
): Promise<Candidates> {
  const explicit = requested !== NOT_SPECIFIED && requested !== undefined;
  const allocation: IpAllocation = explicit && Array.isArray(requested) && requested.length === 0 ? 'none' : 'immediate';
  if (!isRouted(subnets)) return { subnets, allocation };
  if (host) return { subnets: subnetsForHost(networkId, subnets, host, await hostSegments(db, networkId, host)), allocation };
  if (explicit) return { subnets: subnetsForFixedIps(subnets, requested as Array<Record<string, unknown>>), allocation };
  // No host and nothing asked for: wait for the binding, if some subnet would serve this owner.
  serviceSubnets(networkId, subnets, owner);
  return { subnets: [], allocation: 'deferred' };
}

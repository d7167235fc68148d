// port-resource-request(-groups): what a port asks placement for, computed from the minimum
// bandwidth and minimum packet rate rules of its policy (its own, else its network's), as
// Neutron's QoS plugin computes it: one request group per kind of rule, each with a stable id
// (a UUIDv5 of the port and the rules), the vnic_type trait, and for bandwidth the physnet trait
// of the network's first segment (a network without a physnet asks no bandwidth). No minimum
// rule: null. The Linux-bridge QoS driver takes no minimum rule, so with it ports show null.
import { createHash } from 'node:crypto';
import type { Db } from '../../db/connection.js';
import type { Reader } from '../../db/tx.js';
import { idChunks, whereIdIn } from '../common/list-sql.js';
import { RULE_TYPE_MINIMUM_BANDWIDTH, RULE_TYPE_MINIMUM_PACKET_RATE } from '../../definitions/qos.js';
import { loadRules, type StoredRule } from './store.js';

export interface RequestGroup {
  id: string;
  required: string[];
  resources: Record<string, number>;
}

export interface ResourceRequest {
  request_groups: RequestGroup[];
  same_subtree: string[];
}

const BW_CLASS: Record<string, string> = { ingress: 'NET_BW_IGR_KILOBIT_PER_SEC', egress: 'NET_BW_EGR_KILOBIT_PER_SEC' };
const PPS_CLASS: Record<string, string> = {
  ingress: 'NET_PACKET_RATE_IGR_KILOPACKET_PER_SEC',
  egress: 'NET_PACKET_RATE_EGR_KILOPACKET_PER_SEC',
  any: 'NET_PACKET_RATE_KILOPACKET_PER_SEC',
};

/** os_traits.normalize_name: upper case, runs of other characters as '_', CUSTOM_ prefixed. */
export function customTrait(prefix: string, name: string): string {
  const n = `${prefix}${name}`.toUpperCase().replace(/[^A-Z0-9_]+/g, '_');
  return n.startsWith('CUSTOM_') ? n : `CUSTOM_${n}`;
}

/** RFC 4122 version 5 UUID (SHA-1 of namespace and name); node:crypto has only v4. */
export function uuid5(namespace: string, name: string): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  const h = createHash('sha1').update(ns).update(name, 'utf8').digest().subarray(0, 16);
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

function group(portId: string, rules: readonly StoredRule[], classes: Record<string, string>, field: string, traits: string[]): RequestGroup | null {
  if (!rules.length || !traits.length) return null;
  const resources: Record<string, number> = {};
  for (const r of rules) resources[classes[r.direction as string]!] = Number(r[field]);
  return { id: uuid5(portId, rules.map((r) => r.id).join(':')), required: traits, resources };
}

/** The resource request of one port, given its policy's rules and its network's first physnet. */
export function resourceRequest(
  port: { id: string; vnicType: string },
  rules: readonly StoredRule[],
  firstPhysnet: string | null,
): ResourceRequest | null {
  const vnic = customTrait('CUSTOM_VNIC_TYPE_', port.vnicType);
  const bw = rules.filter((r) => r.type === RULE_TYPE_MINIMUM_BANDWIDTH);
  const pps = rules.filter((r) => r.type === RULE_TYPE_MINIMUM_PACKET_RATE);
  const groups = [
    group(port.id, bw, BW_CLASS, 'min_kbps', firstPhysnet ? [customTrait('CUSTOM_PHYSNET_', firstPhysnet), vnic] : []),
    group(port.id, pps, PPS_CLASS, 'min_kpps', [vnic]),
  ].filter((g): g is RequestGroup => g !== null);
  return groups.length ? { request_groups: groups, same_subtree: groups.map((g) => g.id) } : null;
}

export interface PortForRequest {
  id: string;
  networkId: string;
  vnicType: string;
  policyId: string | null;
}

/** Resource requests of many ports: their policies' rules and networks' first segments read once. */
export async function resourceRequests(db: Reader, dbInfo: Db, ports: readonly PortForRequest[]): Promise<Map<string, ResourceRequest | null>> {
  const out = new Map<string, ResourceRequest | null>();
  const policyIds = [...new Set(ports.map((p) => p.policyId).filter((p): p is string => p !== null))];
  if (!policyIds.length) {
    for (const p of ports) out.set(p.id, null);
    return out;
  }
  const rules = await loadRules(db, dbInfo, policyIds);
  const netIds = [...new Set(ports.filter((p) => p.policyId && rules.has(p.policyId)).map((p) => p.networkId))];
  const physnets = new Map<string, string | null>();
  for (const part of idChunks(dbInfo, netIds)) {
    const q = whereIdIn(dbInfo, db.selectFrom('network_segments').select(['network_id', 'physical_network', 'segment_index']), 'network_id', part)
      .orderBy('network_id')
      .orderBy('segment_index');
    for (const s of await q.execute()) if (!physnets.has(s.network_id)) physnets.set(s.network_id, s.physical_network);
  }
  for (const p of ports) {
    const r = p.policyId ? rules.get(p.policyId) : undefined;
    out.set(p.id, r ? resourceRequest(p, r, physnets.get(p.networkId) ?? null) : null);
  }
  return out;
}

// Port forwardings and conntrack helpers of one router, added to its NAT table (pure).
//
// sync_routers carries both as the API shows them: each floating IP's `port_forwardings`
// (expose-port-forwarding-in-fip, with ids and port ranges) and the router's `conntrack_helpers`
// (expose-l3-conntrack-helper). Neutron's L3 agent extensions pull the same objects from the
// resource cache instead; reading them from the router's own data keeps one source and one pass.
//
// Port forwardings are one map, `pf_dnat`: floating address . protocol . external port →
// internal address . internal port, a range unrolled port by port (N external ports to N
// internal ones, or to one), as Neutron's agent unrolls them. Its chain never changes, so a
// forwarding added or removed is a map element change in the router's one transaction. It runs
// just before the floating IP DNAT (a forwarding floating IP has no fixed IP of its own).
// Conntrack helpers are `ct helper` objects, one per helper and protocol, set by one rule per
// protocol and port in a prerouting filter chain (Neutron's raw-table CT --helper rules). Both
// chains exist only while there is something in them, so routers without either are unchanged.
import { canonicalMapElement, type ActualTable, type NftChain, type NftCtHelper, type NftMap, type NftTable } from '../../dataplane/index.js';

export interface SyncPortForwarding {
  id?: string;
  protocol: string;
  internal_ip_address: string;
  internal_port?: number | null;
  external_port?: number | null;
  internal_port_range?: string | null;
  external_port_range?: string | null;
}

export interface SyncConntrackHelper {
  protocol: string;
  port: number;
  helper: string;
}

/** The parts of sync_routers this module reads. */
export interface ForwardingRouter {
  id: string;
  conntrack_helpers?: SyncConntrackHelper[];
  _floatingips?: Array<{
    id: string;
    floating_ip_address: string;
    router_id: string | null;
    fixed_ip_address: string | null;
    port_forwardings?: SyncPortForwarding[] | null;
  }>;
}

const PROTOCOLS = new Set(['tcp', 'udp']);

/** [first, last] of a range 'A:B' (or 'A'), or of a single port. */
function bounds(range: string | null | undefined, port: number | null | undefined): [number, number] | null {
  if (range) {
    const [a, b = a] = String(range).split(':').map(Number);
    return Number.isInteger(a) && Number.isInteger(b) ? [a!, b!] : null;
  }
  return typeof port === 'number' ? [port, port] : null;
}

/** The map elements of one forwarding, its range unrolled. */
export function forwardingElements(fip: string, pf: SyncPortForwarding): string[] {
  if (!PROTOCOLS.has(pf.protocol) || !pf.internal_ip_address) return [];
  const ext = bounds(pf.external_port_range, pf.external_port);
  const int = bounds(pf.internal_port_range, pf.internal_port);
  if (!ext || !int) return [];
  const spread = int[1] > int[0];
  const out: string[] = [];
  for (let p = ext[0], i = 0; p <= ext[1]; p++, i++) {
    out.push(`${fip} . ${pf.protocol} . ${p} : ${pf.internal_ip_address} . ${spread ? int[0] + i : int[0]}`);
  }
  return out;
}

/** The floating IPs of this router that port forwardings use (they have no fixed IP). */
export function forwardedFloatingIps(r: ForwardingRouter): Array<{ id: string; address: string }> {
  return (r._floatingips ?? [])
    .filter((f) => f.router_id === r.id && !f.fixed_ip_address && (f.port_forwardings?.length ?? 0) > 0 && !f.floating_ip_address.includes(':'))
    .map((f) => ({ id: f.id, address: f.floating_ip_address }));
}

/** The helper object's name: one per helper and protocol ('ftp_tcp'). */
export const ctHelperName = (helper: string, protocol: string) => `${helper.replace(/[^A-Za-z0-9-]/g, '-')}_${protocol}`;

/**
 * Adds the router's port forwardings and conntrack helpers to its NAT table (a copy): with a
 * gateway only for forwardings, as floating IPs.
 */
export function withForwardings(nat: NftTable, r: ForwardingRouter, hasGateway: boolean): NftTable {
  const elements = new Set<string>();
  if (hasGateway) {
    for (const f of r._floatingips ?? []) {
      if (f.router_id !== r.id || f.fixed_ip_address) continue;
      for (const pf of f.port_forwardings ?? []) for (const e of forwardingElements(f.floating_ip_address, pf)) elements.add(e);
    }
  }
  const maps: NftMap[] = [...(nat.maps ?? [])];
  const chains: NftChain[] = [...nat.chains];
  if (elements.size) {
    maps.push({ name: 'pf_dnat', type: 'ipv4_addr . inet_proto . inet_service', map: 'ipv4_addr . inet_service', elements: [...elements].sort() });
    const rule = 'dnat ip to ip daddr . meta l4proto . th dport map @pf_dnat';
    chains.push({ name: 'pf_prerouting', base: { type: 'nat', hook: 'prerouting', priority: -101 }, rules: [rule] });
    chains.push({ name: 'pf_output', base: { type: 'nat', hook: 'output', priority: -101 }, rules: [rule] });
  }
  const helpers = new Map<string, NftCtHelper>();
  const rules = new Set<string>();
  for (const h of r.conntrack_helpers ?? []) {
    if (!PROTOCOLS.has(h.protocol) || !/^[a-z0-9][a-z0-9_-]{0,31}$/.test(h.helper) || !Number.isInteger(h.port)) continue;
    const name = ctHelperName(h.helper, h.protocol);
    helpers.set(name, { name, type: h.helper, protocol: h.protocol as 'tcp' | 'udp' });
    rules.add(`meta l4proto ${h.protocol} th dport ${h.port} ct helper set "${name}"`);
  }
  const ctHelpers = [...helpers.values()].sort((a, b) => a.name.localeCompare(b.name));
  if (rules.size) chains.push({ name: 'ct_helpers', base: { type: 'filter', hook: 'prerouting', priority: 0 }, rules: [...rules].sort() });
  return { ...nat, maps, chains, ...(ctHelpers.length ? { ctHelpers } : {}) };
}

/**
 * The forwarded sockets (floating address, protocol, external port) whose target changed or went
 * between the table the kernel had and the one just applied: their connections are forgotten
 * (conntrack -D), as Neutron's agent deletes a removed forwarding's conntrack state.
 */
export function goneForwardings(actual: ActualTable | null, desired: NftTable): Array<{ ip: string; protocol: string; port: string }> {
  const had = actual?.maps?.get('pf_dnat')?.elements ?? [];
  if (!had.length) return [];
  const want = new Set((desired.maps?.find((m) => m.name === 'pf_dnat')?.elements ?? []).map(canonicalMapElement));
  return had
    .filter((e) => !want.has(e))
    .map((e) => {
      const [ip = '', protocol = '', port = ''] = e.slice(0, e.indexOf(' : ')).split(' . ');
      return { ip, protocol, port };
    });
}

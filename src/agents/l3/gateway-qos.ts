// Gateway IP and floating IP QoS (qos-gateway-ip, qos-fip) in a router's namespace: Neutron's L3
// agent extensions police the traffic of each such IPv4 address on the qg- device with the
// bandwidth_limit rules of its policy, ingress (to the address) and egress (from it), dropping
// what exceeds the rate. Neutron uses tc u32 filters with a police action; here the policer is an
// nftables `limit rate over … drop` rule in the router's own table (the kernels this runs on may
// have neither act_police nor a classifier but u32, and the table is already applied in one
// transaction per pass). Ingress is matched before DNAT (prerouting at mangle priority, so a
// floating IP's destination is still the floating address), egress after SNAT (postrouting past
// srcnat, so the source is already the gateway or floating address). The chains exist only while
// they police something, so routers without QoS are unchanged. nft's byte limit lets one second
// of the rate plus the burst through at first (tc's bucket is the burst alone); the steady rate
// is the same.
import type { NftChain, NftTable } from '../../dataplane/index.js';

/** A bandwidth_limit rule as the routers' sync data gives it (`_qos_policies`). */
export interface SyncBandwidthLimit {
  direction: string;
  max_kbps: number;
  max_burst_kbps: number;
}

export interface QosRouter {
  external_gateway_info?: { qos_policy_id?: string | null } | null;
  _floatingips?: Array<{ floating_ip_address: string; fixed_ip_address: string | null; router_id: string | null; qos_policy_id?: string | null }>;
  /** Policy id → its bandwidth limit rules. */
  _qos_policies?: Record<string, SyncBandwidthLimit[]>;
}

export const QOS_INGRESS_CHAIN = 'qos_ingress';
export const QOS_EGRESS_CHAIN = 'qos_egress';
/** neutron_lib qos_consts.DEFAULT_BURST_RATE: a burst of 0 is 80% of the rate. */
const DEFAULT_BURST_RATE = 0.8;

export interface Policer {
  /** Bytes per second (the rule's kbps are tc's kbit: 1000 bits). */
  rate: number;
  /** Bytes. */
  burst: number;
}

/** The policer of a bandwidth limit (null: no limit, as a rate of 0 is in Neutron's agents). */
export function policerOf(rule: SyncBandwidthLimit): Policer | null {
  if (!(rule.max_kbps > 0)) return null;
  const burstKbit = rule.max_burst_kbps > 0 ? rule.max_burst_kbps : rule.max_kbps * DEFAULT_BURST_RATE;
  return { rate: Math.round((rule.max_kbps * 1000) / 8), burst: Math.max(1, Math.round((burstKbit * 1000) / 8)) };
}

/** get_policy_rates: per direction, the policy's first bandwidth limit. */
export function policyPolicers(rules: readonly SyncBandwidthLimit[]): { ingress: Policer | null; egress: Policer | null } {
  const first = (d: string) => rules.find((r) => r.direction === d);
  const ingress = first('ingress');
  const egress = first('egress');
  return { ingress: ingress ? policerOf(ingress) : null, egress: egress ? policerOf(egress) : null };
}

const isV4 = (ip: string) => !ip.includes(':');
const limit = (p: Policer) => `limit rate over ${p.rate} bytes/second burst ${p.burst} bytes drop`;

/** The addresses to police on the gateway and the policy of each. */
function policedAddresses(r: QosRouter, gwIp: string | null, floating: ReadonlySet<string>): Array<{ ip: string; policy: string }> {
  const out: Array<{ ip: string; policy: string }> = [];
  const gwPolicy = r.external_gateway_info?.qos_policy_id;
  if (gwIp && isV4(gwIp) && gwPolicy) out.push({ ip: gwIp, policy: gwPolicy });
  for (const f of r._floatingips ?? []) {
    if (f.qos_policy_id && floating.has(f.floating_ip_address)) out.push({ ip: f.floating_ip_address, policy: f.qos_policy_id });
  }
  return out;
}

/**
 * The router's table with its QoS chains: `gwDev`/`gwIp` its gateway, `floating` the floating
 * addresses the router serves on it.
 */
export function withQos(nat: NftTable, r: QosRouter, gwDev: string | null, gwIp: string | null, floating: readonly string[]): NftTable {
  if (!gwDev) return nat;
  const ingress: string[] = [];
  const egress: string[] = [];
  for (const { ip, policy } of policedAddresses(r, gwIp, new Set(floating))) {
    const p = policyPolicers(r._qos_policies?.[policy] ?? []);
    if (p.ingress) ingress.push(`iifname "${gwDev}" ip daddr ${ip} ${limit(p.ingress)}`);
    if (p.egress) egress.push(`oifname "${gwDev}" ip saddr ${ip} ${limit(p.egress)}`);
  }
  const chains: NftChain[] = [...nat.chains];
  if (ingress.length) chains.push({ name: QOS_INGRESS_CHAIN, base: { type: 'filter', hook: 'prerouting', priority: -150 }, rules: ingress });
  if (egress.length) chains.push({ name: QOS_EGRESS_CHAIN, base: { type: 'filter', hook: 'postrouting', priority: 300 }, rules: egress });
  return { ...nat, chains };
}

// The L3 agent's pure core: one router as the server's sync_routers gives it → what the kernel
// should hold for it (Neutron's legacy router with the Linux-bridge interface driver):
//   - the namespace qrouter-<router id>;
//   - per port a veth: tap<port id[:11]> on the host, in the network's bridge brq<net id[:11]>
//     (the L2 agent sees the tap and reports the port ACTIVE), and qr-<port id[:11]> (an
//     interface on a tenant subnet) or qg-<port id[:11]> (the gateway) in the namespace, with the
//     port's MAC, MTU and fixed IPs; the floating IPs are /32 addresses on qg- (so the kernel
//     answers ARP for them, as Neutron does);
//   - with several gateways (external-gateway-multihoming: `_extra_gw_ports` besides gw_port),
//     one qg- per gateway port; a floating IP's address goes on the gateway of its network;
//   - static routes: the default route via the first gateway's subnet gateway (or, with
//     enable_default_route_ecmp, one multipath route over every gateway's, as Neutron's OVN
//     driver adds one default route per gateway then), the extra routes;
//   - one nftables table `ip neutrino_l3` in the namespace: floating IPs as two maps (DNAT of
//     the floating address to the fixed one, SNAT of the fixed one to the floating one) and, with
//     enable_snat, SNAT of everything else leaving through a qg- to that gateway's address. The
//     chains never change with floating IPs: an association is a map element change. With QoS
//     on the gateway or floating IPs, its policers (gateway-qos.ts) are chains of that table too.
// IPv4 NAT and routes; the metadata proxy and IPv6 router advertisements are services.ts.
import type { DesiredLink, NftTable, Route } from '../../dataplane/index.js';
import { forwardedFloatingIps, withForwardings, type ForwardingRouter } from './port-forwarding.js';
import { withQos, type QosRouter } from './gateway-qos.js';

export const ROUTER_NS_PREFIX = 'qrouter-';
export const NAT_TABLE = 'neutrino_l3';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const routerNamespace = (routerId: string) => `${ROUTER_NS_PREFIX}${routerId}`;
export const bridgeOf = (networkId: string) => `brq${networkId.slice(0, 11)}`;
export const tapOf = (portId: string) => `tap${portId.slice(0, 11)}`;
export const internalDevOf = (portId: string) => `qr-${portId.slice(0, 11)}`;
export const gatewayDevOf = (portId: string) => `qg-${portId.slice(0, 11)}`;

/** The router id of a qrouter-<uuid> namespace name, or null. */
export function routerIdOfNamespace(ns: string): string | null {
  const id = ns.startsWith(ROUTER_NS_PREFIX) ? ns.slice(ROUTER_NS_PREFIX.length) : '';
  return UUID.test(id) ? id : null;
}

export interface SyncFixedIp {
  subnet_id: string;
  ip_address: string;
  prefixlen?: number;
}

export interface SyncSubnet {
  id: string;
  cidr: string;
  gateway_ip: string | null;
}

/** A gateway or interface port as sync_routers gives it. */
export interface SyncPort {
  id: string;
  network_id: string;
  mac_address: string;
  admin_state_up?: boolean;
  fixed_ips: SyncFixedIp[];
  subnets?: SyncSubnet[];
  mtu?: number;
}

export interface SyncFloatingIp {
  id: string;
  floating_ip_address: string;
  fixed_ip_address: string | null;
  router_id: string | null;
  status: string;
  floating_network_id?: string;
  /** qos-fip: its policy (policed on the gateway, gateway-qos.ts). */
  qos_policy_id?: string | null;
}

/** One router of sync_routers (Neutron's get_sync_data). */
export interface SyncRouter {
  id: string;
  admin_state_up: boolean;
  status?: string;
  gw_port?: SyncPort;
  /** external-gateway-multihoming: the gateway ports besides gw_port. */
  _extra_gw_ports?: SyncPort[];
  enable_default_route_ecmp?: boolean;
  enable_snat?: boolean;
  routes?: Array<{ destination: string; nexthop: string }>;
  _interfaces?: SyncPort[];
  _floatingips?: SyncFloatingIp[];
  conntrack_helpers?: ForwardingRouter['conntrack_helpers'];
  /** qos-gateway-ip: the gateway's policy; the bandwidth limits of the policies used here. */
  external_gateway_info?: QosRouter['external_gateway_info'];
  _qos_policies?: QosRouter['_qos_policies'];
}

export interface RouterPlan {
  id: string;
  namespace: string;
  /** In the host's namespace (where the L2 agent's bridges are). */
  hostLinks: DesiredLink[];
  /** In the router's namespace. */
  routerLinks: DesiredLink[];
  routes: Route[];
  nat: NftTable;
  /** Floating IP id → the status it has once this plan is applied. */
  fipStatuses: Record<string, string>;
  /** Floating IP addresses on the gateway device. */
  floatingAddresses: string[];
  gatewayDev: string | null;
  /** The gateway's IPv4 address (SNAT source), if any. */
  gatewayIp: string | null;
  /** Every gateway device, the first gateway's first. */
  gatewayDevs: string[];
}

const isV4 = (ip: string) => !ip.includes(':');

function prefixOf(port: SyncPort, f: SyncFixedIp): number {
  if (f.prefixlen !== undefined) return f.prefixlen;
  const s = port.subnets?.find((x) => x.id === f.subnet_id);
  return s ? Number(s.cidr.split('/')[1]) : isV4(f.ip_address) ? 32 : 128;
}

function portLinks(port: SyncPort, dev: string, ns: string, extra: string[] = []): { host: DesiredLink[]; router: DesiredLink } {
  const mtu = port.mtu && port.mtu > 0 ? port.mtu : undefined;
  const tap = tapOf(port.id);
  const bridge = bridgeOf(port.network_id);
  return {
    host: [
      // The L2 agent's bridge, made here if the router is the network's first port on the host.
      { kind: 'bridge', name: bridge, up: true },
      { kind: 'veth', name: tap, peer: dev, peerNetns: ns, master: bridge, up: true, ...(mtu ? { mtu } : {}) },
    ],
    router: {
      kind: 'external',
      name: dev,
      address: port.mac_address,
      up: true,
      addresses: [...port.fixed_ips.map((f) => `${f.ip_address}/${prefixOf(port, f)}`), ...extra],
      ...(mtu ? { mtu } : {}),
    },
  };
}

/** The desired kernel state of one router. */
export function planRouter(r: SyncRouter, ns = routerNamespace(r.id)): RouterPlan {
  const hostLinks = new Map<string, DesiredLink>();
  const routerLinks: DesiredLink[] = [];
  const routes: Route[] = [];
  const fipStatuses: Record<string, string> = {};
  const gw = r.gw_port;
  const gwDev = gw ? gatewayDevOf(gw.id) : null;
  const gwIp = gw?.fixed_ips.find((f) => isV4(f.ip_address))?.ip_address ?? null;

  const fips = (r._floatingips ?? []).filter((f) => f.router_id === r.id && f.fixed_ip_address && isV4(f.floating_ip_address));
  const forwarded = forwardedFloatingIps(r);
  const floating = gw ? [...new Set([...fips.map((f) => f.floating_ip_address), ...forwarded.map((f) => f.address)])].sort() : [];
  for (const f of [...fips, ...forwarded]) fipStatuses[f.id] = gw ? 'ACTIVE' : 'ERROR';

  for (const p of r._interfaces ?? []) {
    const l = portLinks(p, internalDevOf(p.id), ns);
    for (const h of l.host) hostLinks.set(h.name, h);
    routerLinks.push(l.router);
  }
  const gateways = gw ? [gw, ...(r._extra_gw_ports ?? [])] : [];
  // Each floating address on the first gateway of its network (the first gateway if none is).
  const fipNetwork = new Map<string, string | undefined>();
  for (const f of fips) fipNetwork.set(f.floating_ip_address, f.floating_network_id);
  const homeOf = (address: string) => gateways.find((g) => g.network_id === fipNetwork.get(address)) ?? gw;
  const defaultHops: Array<{ via: string; dev: string }> = [];
  for (const g of gateways) {
    const dev = gatewayDevOf(g.id);
    const l = portLinks(
      g,
      dev,
      ns,
      floating.filter((a) => homeOf(a) === g).map((a) => `${a}/32`),
    );
    for (const h of l.host) hostLinks.set(h.name, h);
    routerLinks.push(l.router);
    const subnet = g.subnets?.find((s) => s.gateway_ip && isV4(s.gateway_ip) && g.fixed_ips.some((f) => f.subnet_id === s.id));
    if (subnet?.gateway_ip) defaultHops.push({ via: subnet.gateway_ip, dev });
  }
  // The first gateway's route alone, unless ECMP is asked for and it has several to share.
  const first = defaultHops[0];
  if (first && gw && first.dev === gwDev) {
    if (r.enable_default_route_ecmp && defaultHops.length > 1) routes.push({ dst: 'default', nexthops: defaultHops });
    else routes.push({ dst: 'default', via: first.via, dev: first.dev });
  }
  for (const x of r.routes ?? []) if (isV4(x.destination)) routes.push({ dst: x.destination, via: x.nexthop });

  const dnat = fips.map((f) => `${f.floating_ip_address} : ${f.fixed_ip_address}`);
  const snat = fips.map((f) => `${f.fixed_ip_address} : ${f.floating_ip_address}`);
  const post: string[] = [];
  for (const g of gateways) {
    const dev = gatewayDevOf(g.id);
    const ip = g.fixed_ips.find((f) => isV4(f.ip_address))?.ip_address;
    post.push(`oifname "${dev}" snat to ip saddr map @fip_snat`);
    if (r.enable_snat !== false && ip) post.push(`oifname "${dev}" snat to ${ip}`);
  }
  const nat: NftTable = {
    family: 'ip',
    name: NAT_TABLE,
    maps: [
      { name: 'fip_dnat', type: 'ipv4_addr', map: 'ipv4_addr', elements: gw ? dnat : [] },
      { name: 'fip_snat', type: 'ipv4_addr', map: 'ipv4_addr', elements: gw ? snat : [] },
    ],
    chains: [
      { name: 'prerouting', base: { type: 'nat', hook: 'prerouting', priority: -100 }, rules: ['dnat to ip daddr map @fip_dnat'] },
      { name: 'output', base: { type: 'nat', hook: 'output', priority: -100 }, rules: ['dnat to ip daddr map @fip_dnat'] },
      { name: 'postrouting', base: { type: 'nat', hook: 'postrouting', priority: 100 }, rules: post },
    ],
  };
  return {
    id: r.id,
    namespace: ns,
    hostLinks: [...hostLinks.values()],
    routerLinks,
    routes,
    nat: withQos(withForwardings(nat, r, !!gw), r, gwDev, gwIp, floating),
    fipStatuses,
    floatingAddresses: floating,
    gatewayDev: gwDev,
    gatewayIp: gwIp,
    gatewayDevs: gateways.map((g) => gatewayDevOf(g.id)),
  };
}

/**
 * The statuses to report (Neutron's agent reports only changes): those that differ from what the
 * server says, and DOWN for floating IPs it reported before that this router no longer has.
 */
export function fipStatusChanges(r: SyncRouter, plan: RouterPlan, reportedBefore: ReadonlySet<string>): Record<string, string> {
  const out: Record<string, string> = {};
  const known = new Map((r._floatingips ?? []).map((f) => [f.id, f.status]));
  for (const [id, status] of Object.entries(plan.fipStatuses)) if (known.get(id) !== status) out[id] = status;
  for (const id of reportedBefore) if (!(id in plan.fipStatuses)) out[id] = 'DOWN';
  return out;
}

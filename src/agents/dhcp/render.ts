// Pure: what the DHCP agent wants for one network, from the server's get_network_info dict.
// Names (namespace, interfaces), the DHCP port's addresses, and dnsmasq's hosts file, opts file
// and arguments in the formats of Neutron's dnsmasq driver (neutron/agent/linux/dhcp.py):
//   hosts:  <mac>,host-<ip>.<domain>,<ip>[,set:port-<id>]          ([<ipv6>] in brackets)
//   opts:   tag:subnet-<id>,option:dns-server,…  / classless-static-route (121) and 249 /
//           router (empty = none) / mtu (26);  tag:port-<id>,option:<extra_dhcp_opt>,<value>
//   args:   --dhcp-range=set:subnet-<id>,<net>,static,<netmask|prefixlen>,<lease>
// Differences from Neutron: the MTU goes in the opts file (a change is a SIGHUP, not a restart),
// dnsmasq is --dhcp-authoritative (a client asking for a stale address is NAKed at once). The
// metadata host route is the caller's (dhcp/metadata.ts), given to renderOpts per subnet.
import { formatIp, parseCidr, tryParseIp } from '../../ipam/index.js';

export interface FixedIp {
  subnet_id: string;
  ip_address: string;
}
export interface DhcpOptRec {
  opt_name: string;
  opt_value: string;
  ip_version: number;
}
export interface PortInfo {
  id: string;
  network_id: string;
  mac_address: string;
  device_id: string;
  device_owner: string;
  admin_state_up?: boolean;
  fixed_ips: FixedIp[];
  extra_dhcp_opts?: DhcpOptRec[];
  /** dns-integration: the server's host name and FQDN per address. */
  dns_assignment?: Array<{ ip_address: string; hostname: string; fqdn: string }>;
  /** Bumped by each write of the port: the newer of two copies. */
  revision_number?: number;
}
export interface SubnetInfo {
  id: string;
  network_id: string;
  ip_version: number;
  cidr: string;
  gateway_ip: string | null;
  enable_dhcp: boolean;
  dns_nameservers?: string[];
  host_routes?: Array<{ destination: string; nexthop: string }>;
  ipv6_address_mode?: string | null;
  ipv6_ra_mode?: string | null;
  segment_id?: string | null;
}
export interface NetworkInfo {
  id: string;
  project_id?: string;
  admin_state_up?: boolean;
  mtu?: number;
  subnets: SubnetInfo[];
  ports: PortInfo[];
}

export interface RenderOptions {
  /** [DEFAULT] dns_domain; '' for none. */
  dnsDomain: string;
  /** [DEFAULT] dhcp_lease_duration, seconds; -1 infinite. */
  leaseDuration: number;
  leaseMax: number;
  /** [DEFAULT] dnsmasq_dns_servers: upstream servers dnsmasq forwards to. */
  dnsServers: string[];
}

export const NS_PREFIX = 'qdhcp-';

export const namespaceOf = (networkId: string) => `${NS_PREFIX}${networkId}`;
export const bridgeOf = (networkId: string) => `brq${networkId.slice(0, 11)}`;
/** The veth of the DHCP port: host end `tap…` (in the bridge), namespace end `ns-…`. */
export const tapOf = (portId: string) => `tap${portId.slice(0, 11)}`;
export const nsIfOf = (portId: string) => `ns-${portId.slice(0, 11)}`;

const SLAAC = 'slaac';
const STATEFUL = 'dhcpv6-stateful';
const STATELESS = 'dhcpv6-stateless';

/** Subnets dnsmasq serves: DHCP enabled, and for IPv6 not SLAAC-only, prefix ≥ /64 for ranges. */
export function dhcpSubnets(n: NetworkInfo): SubnetInfo[] {
  return n.subnets.filter((s) => s.enable_dhcp && !(s.ip_version === 6 && s.ipv6_address_mode === SLAAC));
}

/** Whether dnsmasq hands out addresses on the subnet (v4, DHCPv6 stateful, or v6 without modes). */
function assignsAddresses(s: SubnetInfo): boolean {
  if (s.ip_version === 4) return true;
  const a = s.ipv6_address_mode ?? null;
  return a === STATEFUL || (a === null && !s.ipv6_ra_mode);
}

function dhcpRangeMode(s: SubnetInfo): string | null {
  if (s.ip_version === 4) return 'static';
  const a = s.ipv6_address_mode ?? null;
  return a === STATEFUL || a === STATELESS || (a === null && !s.ipv6_ra_mode) ? 'static' : null;
}

const ipv6 = (ip: string) => ip.includes(':');
const literal = (ip: string) => (ipv6(ip) ? `[${ip}]` : ip);

export function hostnameOf(ip: string, domain: string): string {
  const h = `host-${ip.replace(/[.:]/g, '-')}`;
  return domain ? `${h}.${domain.replace(/\.$/, '')}` : h;
}

const CLIENT_ID = new Set(['client-id', '61']);

function hasOpts(p: PortInfo): boolean {
  return (p.extra_dhcp_opts ?? []).some((o) => !CLIENT_ID.has(o.opt_name));
}

/**
 * The --dhcp-hostsfile: one line per fixed IP on a subnet dnsmasq assigns addresses on. `memo`:
 * the lines of each port object rendered before, for this network's same `subnets` array and the
 * same options (the agent's cache replaces a port that changed, so a pass renders only those).
 */
export function renderHosts(n: NetworkInfo, o: RenderOptions, memo?: WeakMap<PortInfo, string[]>): string {
  const subnets = new Map(dhcpSubnets(n).map((s) => [s.id, s]));
  const lines: string[] = [];
  for (const p of sortedPorts(n)) {
    let mine = memo?.get(p);
    if (!mine) {
      mine = hostLines(p, subnets, o);
      memo?.set(p, mine);
    }
    for (const l of mine) lines.push(l);
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

function hostLines(p: PortInfo, subnets: Map<string, SubnetInfo>, o: RenderOptions): string[] {
  const lines: string[] = [];
  const tag = hasOpts(p) ? `,set:port-${p.id}` : '';
  const clientId = (p.extra_dhcp_opts ?? []).find((x) => CLIENT_ID.has(x.opt_name))?.opt_value;
  let optsOnly = false;
  for (const f of p.fixed_ips) {
    const s = subnets.get(f.subnet_id);
    if (!s) continue;
    if (!assignsAddresses(s)) {
      optsOnly = true; // DHCPv6 stateless: options only, matched by MAC
      continue;
    }
    const id = clientId ? `id:${clientId},` : '';
    // The server's name for the address (the port's dns_name) when it gives one, as Neutron's agent.
    const named = p.dns_assignment?.find((d) => d.ip_address === f.ip_address)?.fqdn.replace(/\.$/, '');
    lines.push(`${p.mac_address},${id}${named || hostnameOf(f.ip_address, o.dnsDomain)},${literal(f.ip_address)}${tag}`);
  }
  if (optsOnly && tag && !lines.length) lines.push(`${p.mac_address}${tag}`);
  return lines;
}

const byId = (a: PortInfo, b: PortInfo) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

function sortedPorts(n: NetworkInfo): PortInfo[] {
  return [...n.ports].sort(byId);
}

/** Neutron's _format_option: option:NAME for names, bare numbers for v4 codes, option6: for v6. */
function formatOption(version: number, tag: string, option: string, ...values: string[]): string {
  let opt = option.split('\n', 1)[0]!;
  let extra: string | null = null;
  const m = /^tag:(.*?),(.*)$/.exec(opt);
  if (m) {
    extra = `tag:${m[1]}`;
    opt = m[2]!;
  }
  if (version === 6) opt = `option6:${opt}`;
  else if (!/^\d+$/.test(opt)) opt = `option:${opt}`;
  return [`tag:${tag}`, ...(extra ? [extra] : []), opt, ...values.map((v) => v.split('\n', 1)[0]!)].join(',');
}

const isAny = (ips: string[], v: number) => ips.length === 1 && ips[0] === (v === 4 ? '0.0.0.0' : '::');

/** The --dhcp-optsfile: per-subnet options, then per-port extra_dhcp_opts. `extraRoutes`: a "dest,nexthop" host route per subnet id. */
export function renderOpts(n: NetworkInfo, extraRoutes: ReadonlyMap<string, string> = new Map()): string {
  const lines: string[] = [];
  const all = n.subnets;
  for (const s of [...dhcpSubnets(n)].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    const tag = `subnet-${s.id}`;
    const dns = s.dns_nameservers ?? [];
    if (dns.length) {
      lines.push(
        isAny(dns, s.ip_version)
          ? formatOption(s.ip_version, tag, 'dns-server')
          : formatOption(s.ip_version, tag, 'dns-server', dns.map(literal).join(',')),
      );
    }
    if (s.ip_version !== 4) continue;
    let gateway = s.gateway_ip;
    const routes: string[] = [];
    for (const r of s.host_routes ?? []) {
      if (r.destination === '0.0.0.0/0') gateway ||= r.nexthop;
      else routes.push(`${r.destination},${r.nexthop}`);
    }
    const extra = extraRoutes.get(s.id);
    if (extra) routes.push(extra);
    // Other IPv4 subnets of the network (same segment) are on-link.
    for (const o of all) {
      if (o.ip_version === 4 && o.cidr !== s.cidr && (o.segment_id ?? null) === (s.segment_id ?? null)) routes.unshift(`${o.cidr},0.0.0.0`);
    }
    if (routes.length) {
      // RFC 3442: a client that gets option 121 ignores option 3, so the default route goes in too.
      if (gateway) routes.push(`0.0.0.0/0,${gateway}`);
      lines.push(formatOption(4, tag, 'classless-static-route', routes.join(',')));
      lines.push(formatOption(4, tag, '249', routes.join(',')));
    }
    lines.push(gateway ? formatOption(4, tag, 'router', gateway) : formatOption(4, tag, 'router'));
    if (n.mtu && n.mtu > 0) lines.push(formatOption(4, tag, 'mtu', String(n.mtu)));
  }
  // Sorted after the filter: most ports have no options.
  for (const p of n.ports.filter(hasOpts).sort(byId)) {
    const versions = new Set(p.fixed_ips.map((f) => (ipv6(f.ip_address) ? 6 : 4)));
    for (const opt of p.extra_dhcp_opts ?? []) {
      if (CLIENT_ID.has(opt.opt_name) || !versions.has(Number(opt.ip_version) as 4 | 6)) continue;
      lines.push(formatOption(Number(opt.ip_version), `port-${p.id}`, opt.opt_name, opt.opt_value));
    }
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** dnsmasq's further arguments: a --dhcp-range per served subnet, lease limits, domain, servers. */
export function renderArgs(n: NetworkInfo, o: RenderOptions): string[] {
  const args: string[] = [];
  const lease = o.leaseDuration === -1 ? 'infinite' : `${o.leaseDuration}s`;
  let possible = 0n;
  for (const s of [...dhcpSubnets(n)].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    const mode = dhcpRangeMode(s);
    if (!mode) continue;
    const c = parseCidr(s.cidr);
    const net = formatIp(c.network, c.version);
    if (s.ip_version === 4) {
      const mask = formatIp(((1n << 32n) - 1n) ^ ((1n << BigInt(32 - c.prefixlen)) - 1n), 4);
      args.push(`--dhcp-range=set:subnet-${s.id},${net},${mode},${mask},${lease}`);
      possible += 1n << BigInt(32 - c.prefixlen);
    } else {
      if (c.prefixlen < 64) continue;
      args.push(`--dhcp-range=set:subnet-${s.id},${net},${mode},${c.prefixlen},${lease}`);
      possible += 1n << BigInt(128 - c.prefixlen);
    }
  }
  const max = possible < BigInt(o.leaseMax) ? Number(possible) : o.leaseMax;
  args.push(`--dhcp-lease-max=${max}`, '--dhcp-authoritative', '--local-service');
  if (o.dnsDomain) args.push(`--domain=${o.dnsDomain.replace(/\.$/, '')}`);
  for (const srv of o.dnsServers) args.push(`--server=${srv}`);
  return args;
}

/** The DHCP port's interface addresses: "ip/prefixlen" for each of its fixed IPs on a served subnet. */
export function portAddresses(n: NetworkInfo, port: PortInfo): string[] {
  const subnets = new Map(n.subnets.map((s) => [s.id, s]));
  const out: string[] = [];
  for (const f of port.fixed_ips) {
    const s = subnets.get(f.subnet_id);
    if (!s || !tryParseIp(f.ip_address)) continue;
    out.push(`${f.ip_address}/${parseCidr(s.cidr).prefixlen}`);
  }
  return out;
}

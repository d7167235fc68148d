// Security groups as nftables, the pure core: from what the server says about this host's ports
// (security_group_info_for_devices) to two tables, applied together in one transaction.
//
// Why two tables and two families. The `bridge` family sees bridged frames with the real port
// (tap) names, so MAC/IP anti-spoofing, ARP checks and the drops of DHCP servers and router
// advertisements from VMs live there and work whether or not br_netfilter is loaded. But
// stateful filtering needs connection tracking, and the bridge family only has it with
// nf_conntrack_bridge (CONFIG_NF_CONNTRACK_BRIDGE): without it nft refuses `ct` expressions in a
// bridge table ("Protocol error"), as on the kernels this was built on. What every Linux-bridge
// host does have is br_netfilter (bridge-nf-call-ip{,6}tables=1, what Neutron's iptables driver
// needs too): it runs bridged IP packets through the ip/ip6 hooks, with conntrack. There the
// packet's in/out device is the bridge, not the port, so the bridge table tells the `inet` table
// which ports a packet comes from and goes to through the packet mark: bridge prerouting sets
// it to the source port's id (a frame just in from a VM's veth carries no one else's mark),
// bridge forward, which runs before br_netfilter's FORWARD, adds the destination port's id in
// the high 16 bits. The inet forward chain jumps on them to the per-port stateful chains and
// then clears the mark. Marks are set only on IP frames from or to filtered ports, and cleared
// only on our own bridges (the `bridges` set): other bridges' marks (a container bridge's, say)
// are never touched. Connections are tracked
// in one conntrack zone per bridge, i.e. per network (set in the inet prerouting hook, where
// the packet's input device is the bridge): networks with the same addresses never share an
// entry, as with Neutron's zones.
//
//   table bridge neutrino_sg                      table inet neutrino_sg
//                                                   prerouting (raw): ct zone set iifname map @bridge-zones
//     prerouting: iifname @ports jump from-port     forward: iifname != @bridges return
//     forward:    oifname vmap @to-ports                     mark & 0xffff vmap @egress-ports
//     from-port: MAC, IP/ARP anti-spoofing,                  mark & 0xffff0000 vmap @ingress-ports
//                DHCP/RA server drops,                       mark set 0
//                mark set iifname map @port-ids     input: the same for egress only
//     to-TAP:    mark id << 16                      egress-TAP / ingress-TAP: conntrack, rules
//     sets port-macs, port-addr4/6: TAP . MAC (. IP) sets sg4-GROUP, sg6-GROUP (remote group members)
//
// The bridge table's sets are shared by all ports (keyed by the tap name): nft reads a table
// with one netlink dump per set, so per-port sets would make every read slower with each port.
//
// Remote groups are named sets per group and ethertype, and a port's addresses and allowed
// address pairs are sets too: a membership or address change touches set elements only, never
// a chain. Each port's chains change only when its rules do. Ports without port security and
// Neutron's own ports (device_owner network:*) are not filtered at all (no map entry).
import { isWholeSpace, linkLocalAddress, rangeText, tryParseRange, type IpRange, type IpVersion } from '../../ipam/index.js';
import { mergeOverlapping } from '../../ipam/prefix-set.js';
import type { NftChain, NftRule, NftSet, NftTable, ActualTable } from '../../dataplane/index.js';
import { IP_PROTOCOLS, isNetworkOwned } from '../../core/wire.js';

export const FW_TABLE = 'neutrino_sg';
/** Bridge priorities: before br_netfilter (0 in prerouting, -1 in forward). */
const BRIDGE_PRIORITY = -200;
const MAX_ID = 0xffff;

/** A rule as the server gives it (Neutron's rule dicts in security_group_info_for_devices). */
export interface SgRule {
  direction: 'ingress' | 'egress' | string;
  ethertype: 'IPv4' | 'IPv6' | string;
  protocol?: string | null;
  port_range_min?: number | null;
  port_range_max?: number | null;
  source_port_range_min?: number | null;
  source_port_range_max?: number | null;
  source_ip_prefix?: string | null;
  dest_ip_prefix?: string | null;
  remote_group_id?: string | null;
  remote_address_group_id?: string | null;
  stateful?: boolean;
}

/** The remote group or remote address group whose members' set the rule matches, if any. */
export function remoteOf(r: SgRule): string | null {
  return r.remote_group_id || r.remote_address_group_id || null;
}

/** One port, as security_group_info_for_devices' `devices` describes it. */
export interface FirewallPort {
  /** The tap name. */
  device: string;
  id?: string;
  mac_address: string;
  /** Fixed IPs: plain addresses (Neutron's RPC form) or {ip_address} dicts. */
  fixed_ips: Array<string | { ip_address: string }>;
  allowed_address_pairs?: Array<{ ip_address: string; mac_address?: string | null }>;
  port_security_enabled?: boolean;
  security_groups?: string[];
  /** Rules of the port itself: the DHCP and router advertisement replies the server allows in. */
  security_group_rules?: SgRule[];
  device_owner?: string;
}

export type MemberIps = Partial<Record<'IPv4' | 'IPv6', Array<[string, string | null] | string>>>;

export interface FirewallModel {
  ports: Iterable<FirewallPort>;
  /** Security group → its rules. */
  groups: ReadonlyMap<string, readonly SgRule[]>;
  /** Remote group → its members' addresses per ethertype. */
  members: ReadonlyMap<string, MemberIps>;
  /** Device → its id (1..65535) in packet marks; see allocateIds. */
  ids: ReadonlyMap<string, number>;
  /** The bridges the filtered ports are in (their packet marks are ours) → their conntrack zone. */
  bridges: ReadonlyMap<string, number>;
  /** Network logs: device → which of its security group events to log (absent: none). */
  logs?: ReadonlyMap<string, PortLogEvents>;
  /** How logged events reach the kernel log (needed with `logs`). */
  logging?: LogSettings;
}

/** Which events of a port's security groups are logged. */
export interface PortLogEvents {
  /** New connections a rule allows. */
  accept: boolean;
  /** Packets no rule allows (the final drop). */
  drop: boolean;
}

export interface LogSettings {
  /** Starts every log prefix: tells this agent's lines from others' in the kernel log. */
  tag: string;
  /** [network_log] rate_limit (packets per second) and burst_limit, per port and event. */
  rate: number;
  burst: number;
}

/** The kernel log prefix of a port's events: `<tag> A <tap> ` (accept) or `<tag> D <tap> ` (drop). */
export const logPrefix = (tag: string, action: 'A' | 'D', device: string) => `${tag} ${action} ${device} `;

function logRule(l: LogSettings, action: 'A' | 'D', device: string): string {
  return `limit rate ${l.rate}/second burst ${l.burst} packets log prefix "${logPrefix(l.tag, action, device)}" level info`;
}

/** Neutron's is_port_trusted: its own ports (DHCP, routers, …) are never filtered. */
export function isTrusted(p: { device_owner?: string }): boolean {
  return isNetworkOwned(p.device_owner);
}

export function isFiltered(p: FirewallPort): boolean {
  return p.port_security_enabled !== false && !isTrusted(p);
}

// ---- addresses ------------------------------------------------------------------------------
// The arithmetic is ipam's; what is here is the agent's caching and nft's element text.

/** Parses once per distinct string (an agent renders the same addresses pass after pass). */
function cached<T>(fn: (s: string) => T): (s: string) => T {
  const cache = new Map<string, T>();
  return (s) => {
    if (cache.has(s)) return cache.get(s)!;
    const v = fn(s);
    if (cache.size >= 100_000) cache.clear();
    cache.set(s, v);
    return v;
  };
}

/** An address or CIDR (host bits ignored, as ipset does) as a range; null if not an address. */
export const addressRange: (s: string) => Readonly<IpRange> | null = cached(tryParseRange);

/** Set elements for addresses of one family (overlaps merged, canonical). */
export function addressElements(addrs: Iterable<string>, v: IpVersion): string[] {
  const list: IpRange[] = [];
  for (const a of addrs) {
    const r = addressRange(a);
    if (r && r.version === v) list.push(r);
  }
  return mergeOverlapping(v, list).map(rangeText);
}

/** The EUI-64 link-local address of a MAC (what a VM configures from it). */
export const linkLocal = cached(linkLocalAddress);

const ipOf = (f: string | { ip_address: string }) => (typeof f === 'string' ? f : f.ip_address);

/** MAC . address pairs a port may send from, per family, as set elements. */
export function portPairs(p: FirewallPort): { macs: string[]; v4: string[]; v6: string[] } {
  const mac = p.mac_address.toLowerCase();
  const byMac = new Map<string, string[]>();
  const add = (m: string, a: string) => (byMac.get(m) ?? byMac.set(m, []).get(m)!).push(a);
  const fixed = p.fixed_ips.map(ipOf);
  for (const a of fixed) add(mac, a);
  for (const pair of p.allowed_address_pairs ?? []) add((pair.mac_address || mac).toLowerCase(), pair.ip_address);
  // No fixed IP: any address from the port's own MAC (Neutron's "mac, None" pair).
  if (!fixed.length) {
    add(mac, '0.0.0.0/0');
    add(mac, '::/0');
  }
  // Every allowed MAC may also use its EUI-64 link-local address (ND, RS, MLD).
  for (const m of byMac.keys()) add(m, linkLocal(m));
  const macs = [...byMac.keys()].sort();
  const pairs = (v: 4 | 6) => macs.flatMap((m) => addressElements(byMac.get(m)!, v).map((a) => `${m} . ${a}`));
  return { macs, v4: pairs(4), v6: pairs(6) };
}

// ---- rules --------------------------------------------------------------------------------

const PORT_PROTOCOLS = new Set([6, 17, 33, 132, 136]);

/** A protocol name or number as its number; null for "any" (none, 'ip', 0); undefined if unknown. */
export function protocolNumber(p: string | null | undefined): number | null | undefined {
  if (p === null || p === undefined || p === '') return null;
  const n = /^\d+$/.test(p) ? Number(p) : IP_PROTOCOLS[p.toLowerCase()];
  if (n === undefined || n > 255) return undefined;
  return n === 0 ? null : n;
}

const range = (min: number | null | undefined, max: number | null | undefined) =>
  min === null || min === undefined ? null : max === null || max === undefined || max === min ? `${min}` : `${min}-${max}`;

function prefixMatch(kw: 'ip' | 'ip6', dir: 'saddr' | 'daddr', prefix: string | null | undefined, v: 4 | 6): string | null | false {
  if (!prefix) return null;
  const r = addressRange(prefix);
  if (!r || r.version !== v) return false; // a prefix of the other family never matches: no rule
  if (isWholeSpace(r)) return null;
  return `${kw} ${dir} ${rangeText(r)}`;
}

export const groupSetName = (groupId: string, v: 4 | 6) => `sg${v}-${groupId}`;

/**
 * A security group rule as the match part of an nft rule (the caller adds `return`); null when
 * the rule can never match (unknown protocol, prefix of the other family).
 */
export function ruleMatch(r: SgRule): string | null {
  const v = r.ethertype === 'IPv6' ? 6 : r.ethertype === 'IPv4' ? 4 : null;
  if (!v) return null;
  const kw = v === 4 ? 'ip' : 'ip6';
  const parts = [`meta nfproto ipv${v}`];
  for (const [prefix, dir] of [
    [r.source_ip_prefix, 'saddr'],
    [r.dest_ip_prefix, 'daddr'],
  ] as const) {
    const m = prefixMatch(kw, dir, prefix, v);
    if (m === false) return null;
    if (m) parts.push(m);
  }
  // A remote address group is a set like a remote group's: the server sends its CIDRs in
  // sg_member_ips under its id (ids are UUIDs, so the two kinds never share a set name).
  const remote = remoteOf(r);
  if (remote) parts.push(`${kw} ${r.direction === 'egress' ? 'daddr' : 'saddr'} @${groupSetName(remote, v)}`);
  const proto = protocolNumber(r.protocol);
  if (proto === undefined) return null;
  if (proto !== null) {
    parts.push(`meta l4proto ${proto}`);
    if (PORT_PROTOCOLS.has(proto)) {
      const sport = range(r.source_port_range_min, r.source_port_range_max);
      const dport = range(r.port_range_min, r.port_range_max);
      if (sport) parts.push(`th sport ${sport}`);
      if (dport) parts.push(`th dport ${dport}`);
    } else if ((proto === 1 && v === 4) || (proto === 58 && v === 6)) {
      // ICMP: port_range_min is the type, port_range_max the code (the server's provider
      // rules put the type in source_port_range_min).
      const kwi = proto === 1 ? 'icmp' : 'icmpv6';
      const type = r.port_range_min ?? r.source_port_range_min;
      if (type !== null && type !== undefined) {
        parts.push(`${kwi} type ${type}`);
        if (r.port_range_max !== null && r.port_range_max !== undefined) parts.push(`${kwi} code ${r.port_range_max}`);
      }
    }
  }
  return parts.join(' ');
}

// ---- ids ----------------------------------------------------------------------------------

/**
 * Ids for the devices (or zones for the bridges): those already in `existing` (read back from
 * the kernel, so that a restarted agent renders the same marks) keep theirs, new ones get the
 * lowest free ids.
 */
export function allocateIds(devices: Iterable<string>, existing: ReadonlyMap<string, number>): Map<string, number> {
  const want = [...new Set(devices)].sort();
  const out = new Map<string, number>();
  const used = new Set<number>();
  for (const d of want) {
    const id = existing.get(d);
    if (id !== undefined && id >= 1 && id <= MAX_ID && !used.has(id)) {
      out.set(d, id);
      used.add(id);
    }
  }
  let next = 1;
  for (const d of want) {
    if (out.has(d)) continue;
    while (used.has(next)) next++;
    if (next > MAX_ID) throw new Error(`more than ${MAX_ID} filtered ports on one host`);
    out.set(d, next);
    used.add(next);
  }
  return out;
}

/** The ids in a table as read back from the kernel (the inet table's egress-ports map). */
export function idsFromTable(inet: ActualTable | null): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of inet?.maps?.get('egress-ports')?.elements ?? []) {
    const m = /^(\d+) : jump egress-(\S+)$/.exec(e);
    if (m) out.set(m[2]!, Number(m[1]));
  }
  return out;
}

/** The bridges' conntrack zones as read back from the kernel. */
export function zonesFromTable(inet: ActualTable | null): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of inet?.maps?.get('bridge-zones')?.elements ?? []) {
    const m = /^(\S+) : (\d+)$/.exec(e);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

// ---- tables -------------------------------------------------------------------------------

const r = (rule: string, comment?: string): NftRule => (comment ? { rule, comment } : { rule });

/**
 * The bridge chain every frame from a filtered port goes through: L2 and address
 * anti-spoofing (the shared sets are keyed by the port's tap), then the port's id in the mark.
 */
const FROM_PORT: NftChain = {
  name: 'from-port',
  rules: [
    r('iifname . ether saddr != @port-macs drop', 'MAC spoofing'),
    r('ether type arp iifname . arp saddr ether . arp saddr ip != @port-addr4 drop', 'ARP spoofing'),
    r(
      'ether type ip ip saddr 0.0.0.0 ip daddr 255.255.255.255 meta l4proto 17 th sport 68 th dport 67 meta mark set iifname map @port-ids return',
      'DHCP discovery',
    ),
    r('ether type ip iifname . ether saddr . ip saddr != @port-addr4 drop', 'IPv4 spoofing'),
    r('ether type ip meta l4proto 17 th sport 67 th dport 68 drop', 'DHCP server'),
    r(
      'ether type ip6 ip6 saddr :: ip6 daddr ff02::/16 meta l4proto 58 icmpv6 type { 131, 135, 143 } meta mark set iifname map @port-ids return',
      'DAD and MLD',
    ),
    r('ether type ip6 iifname . ether saddr . ip6 saddr != @port-addr6 drop', 'IPv6 spoofing'),
    r('ether type ip6 meta l4proto 58 icmpv6 type 134 drop', 'router advertisement'),
    r('ether type ip6 meta l4proto 17 th sport 547 th dport 546 drop', 'DHCPv6 server'),
    // A frame from a VM's veth carries no mark of anyone else's (it was scrubbed crossing namespaces).
    r('meta protocol { ip, ip6 } meta mark set iifname map @port-ids'),
  ],
};

function toChain(p: FirewallPort, id: number): NftChain {
  return { name: `to-${p.device}`, rules: [r(`meta protocol { ip, ip6 } meta mark set meta mark and 0xffff or ${id * 0x10000}`)] };
}

/**
 * The port's own rules and its groups' rules in one direction, each once, plus the sets they
 * need. Every one of them allows (`return`), so their order does not matter: they are sorted,
 * and a port that joins a group whose rules it already has, or whose groups list their rules
 * in another order, keeps the same chain.
 */
function groupRules(p: FirewallPort, m: FirewallModel, direction: string, needSets: Set<string>): string[] {
  // A logged accept leaves through the port's log chain, which returns to the caller as `return` would.
  const allow = m.logs?.get(p.device)?.accept && m.logging ? `goto log-accept-${p.device}` : 'return';
  const out = new Set<string>();
  const rules = [...(p.security_group_rules ?? []), ...(p.security_groups ?? []).flatMap((g) => m.groups.get(g) ?? [])];
  for (const rule of rules) {
    if (rule.direction !== direction) continue;
    const match = ruleMatch(rule);
    if (!match) continue;
    const remote = remoteOf(rule);
    if (remote) needSets.add(`${remote}|${rule.ethertype === 'IPv6' ? 6 : 4}`);
    out.add(`${match} ${allow}`);
  }
  return [...out].sort();
}

/** A port is stateless when its groups are (the API keeps a port's groups all one or the other). */
function stateful(p: FirewallPort, m: FirewallModel): boolean {
  return !(p.security_groups ?? []).some((g) => (m.groups.get(g) ?? []).some((rule) => rule.stateful === false));
}

/** The logged drop: a rule before the final drop (over the rate it does not match, and the drop still comes). */
function logDrop(p: FirewallPort, m: FirewallModel): NftRule[] {
  return m.logs?.get(p.device)?.drop && m.logging ? [r(logRule(m.logging, 'D', p.device), 'log drop')] : [];
}

/** The chain a logged port's allowed new connections go through. */
function logAcceptChain(p: FirewallPort, m: FirewallModel): NftChain[] {
  return m.logs?.get(p.device)?.accept && m.logging
    ? [{ name: `log-accept-${p.device}`, rules: [r(logRule(m.logging, 'A', p.device), 'log accept')] }]
    : [];
}

function egressChain(p: FirewallPort, m: FirewallModel, needSets: Set<string>): NftChain {
  const st = stateful(p, m);
  return {
    name: `egress-${p.device}`,
    rules: [
      r('meta nfproto ipv4 meta l4proto 17 th sport 68 th dport 67 return', 'DHCP client'),
      r('meta nfproto ipv6 meta l4proto 58 return', 'ICMPv6'),
      r('meta nfproto ipv6 meta l4proto 17 th sport 546 th dport 547 return', 'DHCPv6 client'),
      ...(st ? [r('ct state established,related return')] : []),
      ...groupRules(p, m, 'egress', needSets),
      ...(st ? [r('ct state invalid drop')] : []),
      ...logDrop(p, m),
      r('drop', 'no rule allows it'),
    ],
  };
}

function ingressChain(p: FirewallPort, m: FirewallModel, needSets: Set<string>): NftChain {
  const st = stateful(p, m);
  return {
    name: `ingress-${p.device}`,
    rules: [
      r('meta nfproto ipv6 meta l4proto 58 icmpv6 type { 130, 135, 136 } return', 'MLD query and ND'),
      ...(st ? [r('ct state established,related return')] : []),
      ...groupRules(p, m, 'ingress', needSets),
      ...(st ? [r('ct state invalid drop')] : []),
      ...logDrop(p, m),
      r('drop', 'no rule allows it'),
    ],
  };
}

interface RenderedPort {
  id: number;
  /** The rule lists the port was rendered from (its groups', by identity). */
  rules: ReadonlyArray<readonly SgRule[] | undefined>;
  /** Its log events and settings, as text. */
  logKey: string;
  /** Its elements of the bridge table's port-macs, port-addr4 and port-addr6 sets. */
  macs: string[];
  v4: string[];
  v6: string[];
  toChain: NftChain;
  inetChains: NftChain[];
  needSets: string[];
}

/**
 * What one port renders to, kept by the identity of its inputs: a port object and its groups'
 * rule lists are replaced, never changed, when the server says something new, so a pass over
 * hundreds of unchanged ports reuses their text (and nft's rule hashes) instead of making it
 * again. Callers must not modify a port or a rule list after rendering it.
 */
const renderedPorts = new WeakMap<FirewallPort, RenderedPort>();

function renderPort(p: FirewallPort, id: number, m: FirewallModel): RenderedPort {
  const rules = (p.security_groups ?? []).map((g) => m.groups.get(g));
  const events = m.logs?.get(p.device);
  const logKey = events && m.logging && (events.accept || events.drop) ? JSON.stringify([events.accept, events.drop, m.logging]) : '';
  const hit = renderedPorts.get(p);
  if (hit && hit.id === id && hit.logKey === logKey && hit.rules.length === rules.length && hit.rules.every((r, i) => r === rules[i])) return hit;
  const pairs = portPairs(p);
  const need = new Set<string>();
  const key = `"${p.device}" . `;
  const out: RenderedPort = {
    id,
    rules,
    logKey,
    macs: pairs.macs.map((x) => key + x),
    v4: pairs.v4.map((x) => key + x),
    v6: pairs.v6.map((x) => key + x),
    toChain: toChain(p, id),
    inetChains: [egressChain(p, m, need), ingressChain(p, m, need), ...logAcceptChain(p, m)],
    needSets: [...need],
  };
  renderedPorts.set(p, out);
  return out;
}

const byDevice = (a: FirewallPort, b: FirewallPort) => (a.device < b.device ? -1 : a.device > b.device ? 1 : 0);

/** Members of a group of one family, as set elements. */
function memberElements(members: MemberIps | undefined, v: 4 | 6): string[] {
  const list = members?.[v === 4 ? 'IPv4' : 'IPv6'] ?? [];
  return addressElements(
    list.map((x) => (Array.isArray(x) ? x[0] : x)),
    v,
  );
}

/**
 * The two tables for the filtered ports of `m` (unfiltered ones are left out). Deterministic:
 * the same model renders the same text, so an unchanged model plans no change at all.
 */
export function renderFirewall(m: FirewallModel): { bridge: NftTable; inet: NftTable } {
  const ports = [...m.ports].filter(isFiltered).sort(byDevice);
  const idOf = (p: FirewallPort) => {
    const id = m.ids.get(p.device);
    if (id === undefined || id < 1 || id > MAX_ID) throw new Error(`no firewall id for ${p.device}`);
    return id;
  };
  const macs: string[] = [];
  const v4: string[] = [];
  const v6: string[] = [];
  const toChains: NftChain[] = [];
  const inetChains: NftChain[] = [];
  const needSets = new Set<string>();
  for (const p of ports) {
    const r = renderPort(p, idOf(p), m);
    macs.push(...r.macs);
    v4.push(...r.v4);
    v6.push(...r.v6);
    toChains.push(r.toChain);
    inetChains.push(...r.inetChains);
    for (const k of r.needSets) needSets.add(k);
  }
  const bridge: NftTable = {
    family: 'bridge',
    name: FW_TABLE,
    sets: [
      { name: 'ports', type: 'ifname', elements: ports.map((p) => `"${p.device}"`) },
      { name: 'port-macs', type: 'ifname . ether_addr', elements: macs },
      { name: 'port-addr4', type: 'ifname . ether_addr . ipv4_addr', flags: ['interval'], elements: v4 },
      { name: 'port-addr6', type: 'ifname . ether_addr . ipv6_addr', flags: ['interval'], elements: v6 },
    ],
    maps: [
      { name: 'port-ids', type: 'ifname', map: 'mark', elements: ports.map((p) => `"${p.device}" : ${idOf(p)}`) },
      { name: 'to-ports', type: 'ifname', map: 'verdict', elements: ports.map((p) => `"${p.device}" : jump to-${p.device}`) },
    ],
    chains: [
      {
        name: 'prerouting',
        base: { type: 'filter', hook: 'prerouting', priority: BRIDGE_PRIORITY, policy: 'accept' },
        rules: ['iifname @ports jump from-port'],
      },
      { name: 'forward', base: { type: 'filter', hook: 'forward', priority: BRIDGE_PRIORITY, policy: 'accept' }, rules: ['oifname vmap @to-ports'] },
      FROM_PORT,
      ...toChains,
    ],
  };
  const groupSets: NftSet[] = [...needSets].sort().map((k) => {
    const [g, v] = k.split('|') as [string, string];
    const fam = Number(v) as 4 | 6;
    return {
      name: groupSetName(g, fam),
      type: fam === 4 ? 'ipv4_addr' : 'ipv6_addr',
      flags: ['interval'],
      elements: memberElements(m.members.get(g), fam),
    };
  });
  const bridges = [...m.bridges.keys()].sort();
  const inet: NftTable = {
    family: 'inet',
    name: FW_TABLE,
    sets: [{ name: 'bridges', type: 'ifname', elements: bridges.map((b) => `"${b}"`) }, ...groupSets],
    maps: [
      {
        name: 'bridge-zones',
        type: 'ifname',
        map: 'integer',
        typeof: 'iifname : ct zone',
        elements: bridges.map((b) => `"${b}" : ${m.bridges.get(b)}`),
      },
      { name: 'egress-ports', type: 'mark', map: 'verdict', elements: ports.map((p) => `${idOf(p)} : jump egress-${p.device}`) },
      { name: 'ingress-ports', type: 'mark', map: 'verdict', elements: ports.map((p) => `${idOf(p) * 0x10000} : jump ingress-${p.device}`) },
    ],
    chains: [
      // Before conntrack (-200): the connection is looked up in its network's zone.
      {
        name: 'prerouting',
        base: { type: 'filter', hook: 'prerouting', priority: -300, policy: 'accept' },
        rules: ['ct zone set iifname map @bridge-zones'],
      },
      {
        name: 'forward',
        base: { type: 'filter', hook: 'forward', priority: 0, policy: 'accept' },
        rules: [
          'iifname != @bridges return',
          'meta mark and 0xffff vmap @egress-ports',
          'meta mark and 0xffff0000 vmap @ingress-ports',
          'meta mark set 0',
        ],
      },
      {
        name: 'input',
        base: { type: 'filter', hook: 'input', priority: 0, policy: 'accept' },
        rules: ['iifname != @bridges return', 'meta mark and 0xffff vmap @egress-ports', 'meta mark set 0'],
      },
      ...inetChains,
    ],
  };
  return { bridge, inet };
}

/** A port's own rules and chains, and its elements in the shared sets (for reports). */
export function portFootprint(t: { bridge: NftTable; inet: NftTable }, device: string): { rules: number; chains: number; setElements: number } {
  const chains = [...t.bridge.chains, ...t.inet.chains].filter((c) => c.name.endsWith(`-${device}`));
  const setElements = (t.bridge.sets ?? []).reduce((n, s) => n + (s.elements ?? []).filter((e) => e.startsWith(`"${device}"`)).length, 0);
  return { rules: chains.reduce((n, c) => n + c.rules.length, 0), chains: chains.length, setElements };
}

// ---- connections a change no longer allows --------------------------------------------------

/** What the firewall was rendered from: filtered ports, their groups' rules, remote group members. */
export interface FirewallState {
  ports: ReadonlyMap<string, FirewallPort>;
  groups: ReadonlyMap<string, readonly SgRule[]>;
  members: ReadonlyMap<string, MemberIps>;
  /** Device → the conntrack zone of its bridge. */
  zones?: ReadonlyMap<string, number>;
}

/** Conntrack entries to delete: `conntrack -D -f ipvV [-p PROTO] [-s SRC] [-d DST] [-w ZONE]`. */
export interface StaleFlows {
  v: 4 | 6;
  proto?: number;
  src?: string;
  dst?: string;
  zone?: number;
}

const fixedOf = (p: FirewallPort, v: 4 | 6) => p.fixed_ips.map(ipOf).filter((ip) => addressRange(ip)?.version === v);
/** A host route (an address group's "a/32" or "a/128") as its address; other CIDRs as they are. */
const hostOf = (ip: string) => ip.replace(/\/(32|128)$/, '');
const memberSet = (m: MemberIps | undefined, v: 4 | 6) =>
  new Set((m?.[v === 4 ? 'IPv4' : 'IPv6'] ?? []).map((x) => hostOf(Array.isArray(x) ? x[0] : x)));
const ruleKey = (r: SgRule) => `${r.direction} ${ruleMatch(r)}`;

/**
 * Established connections (conntrack entries) that the new rules would no longer let start, as
 * Neutron's iptables driver removes them: for a deleted rule, the entries of its protocol to
 * (ingress) or from (egress) the addresses of the group's ports; for a port that left a group
 * or is gone, all of its entries; for members gone from a remote group, the entries between
 * them and the ports whose rules name the group. The first pass after a start has no `prev`.
 */
export function staleFlows(prev: FirewallState, next: FirewallState): StaleFlows[] {
  const out = new Map<string, StaleFlows>();
  /** A flow of one of our devices: in the zone of its bridge. */
  const add = (device: string, f: StaleFlows) => {
    const zone = next.zones?.get(device) ?? prev.zones?.get(device);
    const g = zone === undefined ? f : { ...f, zone };
    out.set(JSON.stringify(g), g);
  };
  const inGroup = (g: string) => [...next.ports.values()].filter((p) => (p.security_groups ?? []).includes(g));
  for (const [g, before] of prev.groups) {
    const now = next.groups.get(g);
    if (!now) continue;
    const kept = new Set(now.map(ruleKey));
    for (const r of before) {
      if (kept.has(ruleKey(r)) || !ruleMatch(r)) continue;
      const v = r.ethertype === 'IPv6' ? 6 : 4;
      const proto = protocolNumber(r.protocol) ?? undefined;
      for (const p of inGroup(g)) {
        for (const ip of fixedOf(p, v)) add(p.device, { v, ...(proto ? { proto } : {}), ...(r.direction === 'egress' ? { src: ip } : { dst: ip }) });
      }
    }
  }
  for (const [d, q] of prev.ports) {
    const p = next.ports.get(d);
    const left = !p || (q.security_groups ?? []).some((g) => !(p.security_groups ?? []).includes(g));
    if (!left) continue;
    for (const v of [4, 6] as const) {
      for (const ip of fixedOf(p ?? q, v)) {
        add(d, { v, dst: ip });
        add(d, { v, src: ip });
      }
    }
  }
  for (const [g, before] of prev.members) {
    const now = next.members.get(g);
    if (!now) continue;
    const naming = [...next.ports.values()].filter((p) =>
      (p.security_groups ?? []).some((sg) => (next.groups.get(sg) ?? []).some((r) => remoteOf(r) === g)),
    );
    for (const v of [4, 6] as const) {
      const still = memberSet(now, v);
      const gone = [...memberSet(before, v)].filter((ip) => !still.has(ip) && !ip.includes('/'));
      for (const p of naming) {
        for (const ip of fixedOf(p, v)) {
          for (const r of gone) {
            add(p.device, { v, src: r, dst: ip });
            add(p.device, { v, src: ip, dst: r });
          }
        }
      }
    }
  }
  return [...out.values()];
}

export function conntrackArgv(f: StaleFlows): string[] {
  return [
    'conntrack',
    '-D',
    '-f',
    `ipv${f.v}`,
    ...(f.proto ? ['-p', String(f.proto)] : []),
    ...(f.src ? ['-s', f.src] : []),
    ...(f.dst ? ['-d', f.dst] : []),
    ...(f.zone !== undefined ? ['-w', String(f.zone)] : []),
  ];
}

// IPv6 router advertisements of a router, as Neutron's L3 agent gives them (radvd, one instance
// per router): per qr- interface on IPv6 subnets whose ipv6_ra_mode is set (a subnet without it
// is advertised by a router outside OpenStack), one `interface` block:
//   - slaac and dhcpv6-stateless prefixes are autonomous (instances make their EUI-64 address);
//     dhcpv6-stateful prefixes are on-link only, with the managed flag (addresses from DHCPv6);
//     dhcpv6-stateless sets the other-config flag (DNS and the rest from DHCPv6);
//   - the network's MTU (when at least IPv6's 1280) and, for SLAAC subnets, their DNS servers as
//     RDNSS (at most 3, radvd's limit).
// Pure: the agent writes the text and radvd (dataplane/radvd.ts) serves it.
import { internalDevOf, type SyncPort, type SyncRouter, type SyncSubnet } from './model.js';

export const IPV6_SLAAC = 'slaac';
export const DHCPV6_STATEFUL = 'dhcpv6-stateful';
export const DHCPV6_STATELESS = 'dhcpv6-stateless';
const IPV6_MIN_MTU = 1280;
const MAX_RDNSS = 3;

/** A subnet of a router port with what the advertisements need (sync_routers gives it). */
export type RaSubnet = SyncSubnet & { ipv6_ra_mode?: string | null; dns_nameservers?: string[] };

export interface RaOptions {
  /** [DEFAULT] min_rtr_adv_interval, max_rtr_adv_interval (seconds; Neutron's 30 and 100). */
  minInterval: number;
  maxInterval: number;
}

export const DEFAULT_RA_OPTIONS: RaOptions = { minInterval: 30, maxInterval: 100 };

const isV6 = (cidr: string) => cidr.includes(':');

/** The port's IPv6 subnets that the router advertises. */
export function advertisedSubnets(port: SyncPort): RaSubnet[] {
  return ((port.subnets ?? []) as RaSubnet[]).filter((s) => isV6(s.cidr) && !!s.ipv6_ra_mode);
}

function interfaceBlock(port: SyncPort, o: RaOptions): string[] {
  const subnets = advertisedSubnets(port);
  const modes = new Set(subnets.map((s) => s.ipv6_ra_mode));
  const auto = subnets.filter((s) => s.ipv6_ra_mode === IPV6_SLAAC || s.ipv6_ra_mode === DHCPV6_STATELESS).map((s) => s.cidr);
  const stateful = subnets.filter((s) => s.ipv6_ra_mode === DHCPV6_STATEFUL).map((s) => s.cidr);
  const dns = subnets
    .filter((s) => s.ipv6_ra_mode === IPV6_SLAAC)
    .flatMap((s) => s.dns_nameservers ?? [])
    .filter(isV6)
    .slice(0, MAX_RDNSS);
  const mtu = port.mtu ?? 0;
  return [
    `interface ${internalDevOf(port.id)}`,
    '{',
    '   AdvSendAdvert on;',
    `   MinRtrAdvInterval ${o.minInterval};`,
    `   MaxRtrAdvInterval ${o.maxInterval};`,
    ...(mtu >= IPV6_MIN_MTU ? [`   AdvLinkMTU ${mtu};`] : []),
    ...(modes.has(DHCPV6_STATELESS) ? ['   AdvOtherConfigFlag on;'] : []),
    ...(modes.has(DHCPV6_STATEFUL) ? ['   AdvManagedFlag on;'] : []),
    ...(dns.length ? [`   RDNSS ${dns.join(' ')} {};`] : []),
    ...auto.flatMap((p) => [`   prefix ${p}`, '   {', '        AdvOnLink on;', '        AdvAutonomous on;', '   };']),
    ...stateful.flatMap((p) => [`   prefix ${p}`, '   {', '        AdvOnLink on;', '        AdvAutonomous off;', '   };']),
    '};',
  ];
}

/** radvd.conf for the router, or null when no interface is advertised (then no radvd runs). */
export function radvdConfig(r: SyncRouter, o: RaOptions = DEFAULT_RA_OPTIONS): string | null {
  const ports = (r._interfaces ?? []).filter((p) => advertisedSubnets(p).length > 0).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (!ports.length) return null;
  return `${ports.flatMap((p) => interfaceBlock(p, o)).join('\n')}\n`;
}

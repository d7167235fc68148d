// A subnet's host_routes and dns_nameservers. Each check runs in Neutron's order: the API
// validator first (neutron_lib validate_hostroutes / validate_nameservers: shape, syntax,
// duplicates → HTTPBadRequest), then the plugin's _validate_subnet (count limit →
// *Exhausted, then IP version → InvalidInput).
import { formatIp, type IpVersion, tryParseIp, validateIpAddress } from './address.js';
import { formatCidr, tryParseCidr, validateRouteCidr } from './cidr.js';
import { invalidAttribute } from '../core/errors.js';
import { dnsNameServersExhausted, hostRoutesExhausted, pyRepr, pyStr } from './errors.js';
import { verifyDictKeys } from './pools.js';
import { checkIpVersion } from './subnet.js';

export interface HostRoute {
  destination: string;
  nexthop: string;
}

/** Both limits and the version are numbers: catch a swapped call instead of validating wrongly. */
function assertIpVersion(v: unknown): asserts v is IpVersion {
  if (v !== 4 && v !== 6) throw new TypeError(`ip_version must be 4 or 6, got ${String(v)}`);
}

/** Neutron's own placeholder subnet id in limit messages when the subnet does not exist yet. */
const NEW_SUBNET = 'new subnet';

/**
 * Validates host_routes for a subnet and returns them in canonical text. `maxRoutes` is
 * max_subnet_host_routes (Neutron default 20). Duplicates are compared after canonicalising,
 * so "2001:DB8::/64" and "2001:db8::/64" count as the same route.
 */
export function validateHostRoutes(
  routes: unknown,
  maxRoutes: number,
  ipVersion: IpVersion,
  subnetId: string = NEW_SUBNET,
): HostRoute[] {
  assertIpVersion(ipVersion);
  if (!Array.isArray(routes)) {
    throw invalidAttribute('host_routes', `Invalid data format for hostroute: '${pyStr(routes)}'`);
  }
  const out: { route: HostRoute; destVersion: IpVersion; hopVersion: IpVersion }[] = [];
  const seen = new Set<string>();
  for (const r of routes) {
    const keys = verifyDictKeys(['destination', 'nexthop'], r);
    if (keys !== null) throw invalidAttribute('host_routes', keys);
    const { destination, nexthop } = r as Record<string, unknown>;
    const badDest = validateRouteCidr(destination);
    if (badDest !== null) throw invalidAttribute('host_routes', badDest);
    const badHop = validateIpAddress(nexthop);
    if (badHop !== null) throw invalidAttribute('host_routes', badHop);
    const dest = tryParseCidr(destination)!;
    const hop = tryParseIp(nexthop)!;
    const route = { destination: formatCidr(dest), nexthop: formatIp(hop.value, hop.version) };
    const key = `${route.destination}_${route.nexthop}`;
    if (seen.has(key)) throw invalidAttribute('host_routes', `Duplicate hostroute '${pyRepr(r)}'`);
    seen.add(key);
    out.push({ route, destVersion: dest.version, hopVersion: hop.version });
  }
  if (out.length > maxRoutes) throw hostRoutesExhausted(subnetId, maxRoutes);
  for (const { route, destVersion, hopVersion } of out) {
    checkIpVersion(ipVersion, hopVersion, 'nexthop', route.nexthop);
    checkIpVersion(ipVersion, destVersion, 'destination', route.destination);
  }
  return out.map((e) => e.route);
}

/**
 * Validates dns_nameservers for a subnet and returns them in canonical text, order kept (it is
 * the order DHCP hands them out). `maxServers` is max_dns_nameservers (Neutron default 5).
 */
export function validateDnsNameservers(
  servers: unknown,
  maxServers: number,
  ipVersion: IpVersion,
  subnetId: string = NEW_SUBNET,
): string[] {
  assertIpVersion(ipVersion);
  if (!Array.isArray(servers)) {
    throw invalidAttribute('dns_nameservers', `Invalid data format for nameserver: '${pyStr(servers)}'`);
  }
  const out: { text: string; version: IpVersion }[] = [];
  const seen = new Set<string>();
  for (const host of servers) {
    const bad = validateIpAddress(host);
    if (bad !== null) throw invalidAttribute('dns_nameservers', `'${pyStr(host)}' is not a valid nameserver. ${bad}`);
    const ip = tryParseIp(host)!;
    const text = formatIp(ip.value, ip.version);
    if (seen.has(text)) throw invalidAttribute('dns_nameservers', `Duplicate nameserver '${pyStr(host)}'`);
    seen.add(text);
    out.push({ text, version: ip.version });
  }
  if (out.length > maxServers) throw dnsNameServersExhausted(subnetId, maxServers);
  for (const s of out) checkIpVersion(ipVersion, s.version, 'dns_nameserver', s.text);
  return out.map((s) => s.text);
}

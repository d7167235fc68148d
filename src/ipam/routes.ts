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

/** One entry of a subnet's list, valid and canonical. */
interface Entry<T> {
  value: T;
  /** What two entries that are the same share. */
  key: string;
  /** The entry's addresses, checked against the subnet's ip_version: [version, name, text]. */
  versions: Array<[IpVersion, string, string]>;
}

interface SubnetList<T> {
  /** The attribute, as errors name it. */
  attr: 'host_routes' | 'dns_nameservers';
  /** "Invalid data format for <noun>". */
  noun: string;
  /** The API validator of one entry: throws InvalidAttribute (HTTPBadRequest). */
  entry(item: unknown): Entry<T>;
  duplicate(item: unknown): string;
  exhausted(subnetId: string, max: number): Error;
}

/** The checks of a subnet's list, in Neutron's order (see the top of this file). */
function validateList<T>(list: SubnetList<T>, items: unknown, max: number, ipVersion: IpVersion, subnetId: string): T[] {
  assertIpVersion(ipVersion);
  if (!Array.isArray(items)) {
    throw invalidAttribute(list.attr, `Invalid data format for ${list.noun}: '${pyStr(items)}'`);
  }
  const out: Entry<T>[] = [];
  const seen = new Set<string>();
  for (const item of items) {
    const e = list.entry(item);
    if (seen.has(e.key)) throw invalidAttribute(list.attr, list.duplicate(item));
    seen.add(e.key);
    out.push(e);
  }
  if (out.length > max) throw list.exhausted(subnetId, max);
  for (const e of out) for (const [version, name, text] of e.versions) checkIpVersion(ipVersion, version, name, text);
  return out.map((e) => e.value);
}

const HOST_ROUTES: SubnetList<HostRoute> = {
  attr: 'host_routes',
  noun: 'hostroute',
  entry(r) {
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
    return {
      value: route,
      key: `${route.destination}_${route.nexthop}`,
      versions: [
        [hop.version, 'nexthop', route.nexthop],
        [dest.version, 'destination', route.destination],
      ],
    };
  },
  duplicate: (r) => `Duplicate hostroute '${pyRepr(r)}'`,
  exhausted: hostRoutesExhausted,
};

const DNS_NAMESERVERS: SubnetList<string> = {
  attr: 'dns_nameservers',
  noun: 'nameserver',
  entry(host) {
    const bad = validateIpAddress(host);
    if (bad !== null) throw invalidAttribute('dns_nameservers', `'${pyStr(host)}' is not a valid nameserver. ${bad}`);
    const ip = tryParseIp(host)!;
    const text = formatIp(ip.value, ip.version);
    return { value: text, key: text, versions: [[ip.version, 'dns_nameserver', text]] };
  },
  duplicate: (host) => `Duplicate nameserver '${pyStr(host)}'`,
  exhausted: dnsNameServersExhausted,
};

/**
 * Validates host_routes for a subnet and returns them in canonical text. `maxRoutes` is
 * max_subnet_host_routes (Neutron default 20). Duplicates are compared after canonicalising,
 * so "2001:DB8::/64" and "2001:db8::/64" count as the same route.
 */
export function validateHostRoutes(routes: unknown, maxRoutes: number, ipVersion: IpVersion, subnetId: string = NEW_SUBNET): HostRoute[] {
  return validateList(HOST_ROUTES, routes, maxRoutes, ipVersion, subnetId);
}

/**
 * Validates dns_nameservers for a subnet and returns them in canonical text, order kept (it is
 * the order DHCP hands them out). `maxServers` is max_dns_nameservers (Neutron default 5).
 */
export function validateDnsNameservers(servers: unknown, maxServers: number, ipVersion: IpVersion, subnetId: string = NEW_SUBNET): string[] {
  return validateList(DNS_NAMESERVERS, servers, maxServers, ipVersion, subnetId);
}

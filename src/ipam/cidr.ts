// CIDRs and address ranges. A CIDR keeps the address as written (`ip`) next to its network
// address, because Neutron treats host bits differently per field: a subnet's cidr
// "10.0.0.1/24" is accepted and stored as 10.0.0.0/24 (test_create_subnet_nonzero_cidr), while
// a host route destination with host bits set is refused (validate_route_cidr).
import { ADDRESS_BITS, formatIp, type IpAddr, type IpVersion, MAX_ADDRESS, parseIp, tryParseIp } from './address.js';
import { invalidAttribute } from '../core/errors.js';
import { pyStr } from './errors.js';

/** An inclusive address range (Neutron's netaddr.IPRange; allocation pools are these). */
export interface IpRange {
  readonly version: IpVersion;
  readonly first: bigint;
  readonly last: bigint;
}

export interface Cidr extends IpRange {
  /** Network address (host bits cleared); equals `first`. */
  readonly network: bigint;
  readonly prefixlen: number;
  /** Number of addresses, last - first + 1. */
  readonly size: bigint;
  /** The address exactly as given, host bits included. */
  readonly ip: bigint;
}

export function makeCidr(version: IpVersion, ip: bigint, prefixlen: number): Cidr {
  const bits = ADDRESS_BITS[version];
  if (!Number.isInteger(prefixlen) || prefixlen < 0 || prefixlen > bits) {
    throw new RangeError(`invalid IPv${version} prefix length ${prefixlen}`);
  }
  const hostBits = BigInt(bits - prefixlen);
  const hostMask = (1n << hostBits) - 1n;
  const network = ip & (MAX_ADDRESS[version] ^ hostMask);
  return { version, ip, network, prefixlen, first: network, last: network | hostMask, size: hostMask + 1n };
}

type CidrParse = { ok: Cidr; canonical: boolean } | { recommend: string } | null;

/** Reads "addr/len"; `canonical` is false when an IPv4 address or prefix carries leading zeros. */
function parseCidrText(s: unknown): CidrParse {
  if (typeof s !== 'string') return null;
  const slash = s.indexOf('/');
  if (slash < 0) {
    // A bare address is a recognisable host route; tell the user the /32 or /128 spelling.
    const ip = tryParseIp(s);
    return ip === null ? null : { recommend: `${formatIp(ip.value, ip.version)}/${ADDRESS_BITS[ip.version]}` };
  }
  const addrText = s.slice(0, slash);
  const lenText = s.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(lenText)) return null;
  const prefixlen = Number(lenText);
  let ip: IpAddr | null = tryParseIp(addrText);
  let canonical = true;
  if (ip === null && !addrText.includes(':')) {
    // Leading-zero octets: say which spelling to use rather than only "invalid".
    const loose = /^[0-9]+(\.[0-9]+){3}$/.test(addrText) ? addrText.split('.').map((o) => Number(o)) : null;
    if (loose === null || loose.some((o) => o > 255)) return null;
    ip = { version: 4, value: loose.reduce((acc, o) => (acc << 8n) | BigInt(o), 0n) };
    canonical = false;
  }
  if (ip === null || prefixlen > ADDRESS_BITS[ip.version]) return null;
  if (ip.version === 4 && lenText !== String(prefixlen)) canonical = false;
  return { ok: makeCidr(ip.version, ip.value, prefixlen), canonical };
}

/** Parses "addr/len" strictly (no leading zeros, '/' required); null when it is not a CIDR. */
export function tryParseCidr(s: unknown): Cidr | null {
  const r = parseCidrText(s);
  return r !== null && 'ok' in r && r.canonical ? r.ok : null;
}

export const formatCidr = (c: Cidr): string => `${formatIp(c.network, c.version)}/${c.prefixlen}`;

/**
 * neutron_lib validate_subnet, for a subnet's cidr: host bits are fine (create_subnet clears
 * them), but "/len" is required and IPv4 must be written canonically. Returns null or the reason.
 */
export function validateSubnetText(data: unknown): string | null {
  const r = parseCidrText(data);
  if (r === null) return `'${pyStr(data)}' is not a valid IP subnet`;
  if ('recommend' in r) return `'${pyStr(data)}' isn't a recognized IP subnet cidr, '${r.recommend}' is recommended`;
  if (!r.canonical) return `'${pyStr(data)}' isn't a recognized IP subnet cidr, '${formatCidr(r.ok)}' is recommended`;
  return null;
}

/**
 * Parses a subnet CIDR, throwing 400 worded as the API layer does ("Invalid input for cidr.
 * Reason: ..."). The result keeps `ip` as given; `network`/`first` are host-bits-cleared.
 */
export function parseCidr(s: unknown, attr = 'cidr'): Cidr {
  const reason = validateSubnetText(s);
  if (reason !== null) throw invalidAttribute(attr, reason);
  return (parseCidrText(s) as { ok: Cidr }).ok;
}

/** v4 inside 127.0.0.0/8, or v6 ::1/128 (netaddr's is_loopback). */
export function isLoopbackCidr(c: Cidr): boolean {
  if (c.version === 4) return c.prefixlen >= 8 && c.network >> 24n === 127n;
  return c.prefixlen === 128 && c.network === 1n;
}

/** Wholly inside 224.0.0.0/4 or ff00::/8 (netaddr's is_multicast on a network). */
export function isMulticastCidr(c: Cidr): boolean {
  if (c.version === 4) return c.prefixlen >= 4 && c.network >> 28n === 0xen;
  return c.prefixlen >= 8 && c.network >> 120n === 0xffn;
}

/**
 * neutron_lib validate_route_cidr, for host route destinations: '/len' required, no host bits,
 * not loopback. Returns null or the reason (0.0.0.0/0 and ::/0 are fine).
 */
export function validateRouteCidr(data: unknown): string | null {
  const r = parseCidrText(data);
  if (r === null) return `'${pyStr(data)}' is not a valid CIDR`;
  if ('recommend' in r) return `'${pyStr(data)}' is not a recognized CIDR, '${r.recommend}' is recommended`;
  if (!r.canonical || r.ok.ip !== r.ok.network) {
    return `'${pyStr(data)}' is not a recognized CIDR, '${formatCidr(r.ok)}' is recommended`;
  }
  if (isLoopbackCidr(r.ok)) return `'${pyStr(data)}' is not a routable CIDR`;
  return null;
}

/** Accepts either text (parsed as a subnet cidr, throwing 400) or an already parsed CIDR. */
export const toCidr = (x: string | Cidr): Cidr => (typeof x === 'string' ? parseCidr(x) : x);

export function ipInRange(ip: IpAddr, r: IpRange): boolean {
  return ip.version === r.version && ip.value >= r.first && ip.value <= r.last;
}

export function ipInCidr(ip: string | IpAddr, cidr: string | Cidr): boolean {
  return ipInRange(typeof ip === 'string' ? parseIp(ip) : ip, toCidr(cidr));
}

export function rangesOverlap(a: IpRange, b: IpRange): boolean {
  return a.version === b.version && a.first <= b.last && b.first <= a.last;
}

/** True when the two networks share any address (different versions never do). */
export function cidrsOverlap(a: string | Cidr, b: string | Cidr): boolean {
  return rangesOverlap(toCidr(a), toCidr(b));
}

/** "first-last", as netaddr prints an IPRange in Neutron's pool messages. */
export const formatRange = (r: IpRange): string => `${formatIp(r.first, r.version)}-${formatIp(r.last, r.version)}`;

/**
 * An address or "addr/len" as the range it covers, host bits ignored (as ipset and nftables
 * read a prefix); null when it is neither. Agents use it on addresses the server sent.
 */
export function tryParseRange(s: unknown): IpRange | null {
  if (typeof s === 'string' && s.includes('/')) {
    const c = tryParseCidr(s);
    return c === null ? null : { version: c.version, first: c.first, last: c.last };
  }
  const ip = tryParseIp(s);
  return ip === null ? null : { version: ip.version, first: ip.value, last: ip.value };
}

/** Every address of its version (0.0.0.0/0, ::/0). */
export const isWholeSpace = (r: IpRange): boolean => r.first === 0n && r.last === MAX_ADDRESS[r.version];

/**
 * The shortest text of a range as nftables writes set elements: an address, a prefix when the
 * range is exactly one, else "first-last".
 */
export function rangeText(r: IpRange): string {
  if (r.first === r.last) return formatIp(r.first, r.version);
  const size = r.last - r.first + 1n;
  if ((size & (size - 1n)) === 0n && r.first % size === 0n) {
    return formatCidr(makeCidr(r.version, r.first, ADDRESS_BITS[r.version] - (size.toString(2).length - 1)));
  }
  return formatRange(r);
}

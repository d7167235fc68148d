// IP prefixes of metering label rules. Neutron's metering plugin accepts whatever Python's
// ipaddress.ip_interface accepts (an address, address/len or address/netmask, host bits allowed)
// and stores it as netaddr prints it: the address as given, canonically written, and its length.
import { ADDRESS_BITS, formatIp, makeCidr, rangesOverlap, tryParseIp, type Cidr } from '../../ipam/index.js';
import { invalidRule } from './errors.js';

export const PREFIX_FIELDS = ['remote_ip_prefix', 'source_ip_prefix', 'destination_ip_prefix'] as const;
export type PrefixField = (typeof PREFIX_FIELDS)[number];

/** Length of a contiguous IPv4 netmask (255.255.255.0 -> 24), or null. */
function netmaskLength(text: string): number | null {
  const ip = tryParseIp(text);
  if (!ip || ip.version !== 4) return null;
  const inverted = ~ip.value & 0xffffffffn;
  if ((inverted & (inverted + 1n)) !== 0n) return null;
  return 32 - inverted.toString(2).replace(/^0+/, '').length;
}

function parse(text: string): Cidr | null {
  const slash = text.indexOf('/');
  const ip = tryParseIp(slash < 0 ? text : text.slice(0, slash));
  if (!ip) return null;
  if (slash < 0) return makeCidr(ip.version, ip.value, ADDRESS_BITS[ip.version]);
  const lenText = text.slice(slash + 1);
  let len: number | null = /^\d{1,3}$/.test(lenText) ? Number(lenText) : null;
  if (len === null && ip.version === 4) len = netmaskLength(lenText);
  if (len === null || len > ADDRESS_BITS[ip.version]) return null;
  return makeCidr(ip.version, ip.value, len);
}

/** The prefix as stored and shown, or a 400 naming the field. */
export function normalizePrefix(field: PrefixField, value: unknown): string {
  const c = typeof value === 'string' ? parse(value.trim()) : null;
  if (!c) {
    const shown = typeof value === 'string' ? value : JSON.stringify(value);
    throw invalidRule(`${field}: ${shown} is invalid ['${shown}' does not appear to be an IPv4 or IPv6 interface].`);
  }
  return `${formatIp(c.ip, c.version)}/${c.prefixlen}`;
}

/** Whether two stored prefixes share an address (their networks, host bits cleared). */
export function prefixesOverlap(a: string, b: string): boolean {
  const x = parse(a);
  const y = parse(b);
  return !!x && !!y && rangesOverlap(x, y);
}

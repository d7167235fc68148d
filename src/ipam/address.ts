// IP addresses as BigInt plus an explicit version: the integer alone cannot tell ::1 from
// 0.0.0.1, and every Neutron check that matters (network/broadcast, pools) is per version.
import { invalidAttribute, invalidInput } from '../core/errors.js';
import { pyStr } from './errors.js';

export type IpVersion = 4 | 6;

export interface IpAddr {
  readonly version: IpVersion;
  readonly value: bigint;
}

export const ADDRESS_BITS: Readonly<Record<IpVersion, number>> = { 4: 32, 6: 128 };
export const MAX_ADDRESS: Readonly<Record<IpVersion, bigint>> = { 4: (1n << 32n) - 1n, 6: (1n << 128n) - 1n };

const DEC_RE = /^[0-9]+$/;
const HEX_GROUP_RE = /^[0-9a-fA-F]{1,4}$/;

/**
 * Dotted quad → integer. `zerofill` mirrors netaddr's ZEROFILL flag that Neutron's
 * validate_ip_address passes: octets with leading zeros are read as decimal, so the caller can
 * tell the user which canonical address to send instead of guessing at octal.
 */
function parseV4(s: string, zerofill: boolean): bigint | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let v = 0n;
  for (const p of parts) {
    if (!DEC_RE.test(p)) return null;
    if (!zerofill && p.length > 1 && p[0] === '0') return null;
    if (!zerofill && p.length > 3) return null;
    const n = Number(p);
    if (n > 255) return null;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

/** RFC 4291 text forms, as glibc inet_pton (which netaddr uses) accepts them; no zone ids. */
function parseV6(s: string): bigint | null {
  if (s.length === 0 || s.length > 45 || !/^[0-9a-fA-F:.]+$/.test(s)) return null;
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const toGroups = (part: string, isLast: boolean): number[] | null => {
    if (part === '') return [];
    const out: number[] = [];
    const items = part.split(':');
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      if (isLast && i === items.length - 1 && it.includes('.')) {
        // Embedded IPv4 tail (::ffff:1.2.3.4); inet_pton4 refuses leading zeros here.
        const v4 = parseV4(it, false);
        if (v4 === null) return null;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
        continue;
      }
      if (!HEX_GROUP_RE.test(it)) return null;
      out.push(parseInt(it, 16));
    }
    return out;
  };
  let groups: number[];
  if (halves.length === 2) {
    const head = toGroups(halves[0]!, false);
    const tail = toGroups(halves[1]!, true);
    if (head === null || tail === null) return null;
    // "::" stands for at least one zero group.
    if (head.length + tail.length > 7) return null;
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    const all = toGroups(s, true);
    if (all === null || all.length !== 8) return null;
    groups = all;
  }
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(g);
  return v;
}

/** Parses a strictly written address (IPv4 without leading zeros); null when it is not one. */
export function tryParseIp(s: unknown): IpAddr | null {
  if (typeof s !== 'string') return null;
  if (s.includes(':')) {
    const v = parseV6(s);
    return v === null ? null : { version: 6, value: v };
  }
  const v = parseV4(s, false);
  return v === null ? null : { version: 4, value: v };
}

/**
 * neutron_lib validate_ip_address: null when valid, else Neutron's reason text. IPv4 with
 * leading zeros is refused with the canonical address recommended (octal vs decimal is
 * ambiguous, so Neutron refuses to guess).
 */
export function validateIpAddress(data: unknown): string | null {
  if (tryParseIp(data) !== null) return null;
  if (typeof data === 'string' && !data.includes(':')) {
    const loose = parseV4(data, true);
    if (loose !== null) return `'${data}' is not an accepted IP address, '${formatIp(loose, 4)}' is recommended`;
  }
  return `'${pyStr(data)}' is not a valid IP address`;
}

/**
 * Parses an address or throws 400. With `attr` the error is worded as the API layer's
 * attribute validation ("Invalid input for gateway_ip. Reason: ..."), otherwise as InvalidInput.
 */
export function parseIp(s: unknown, attr?: string): IpAddr {
  const ip = tryParseIp(s);
  if (ip !== null) return ip;
  const reason = validateIpAddress(s) ?? `'${pyStr(s)}' is not a valid IP address`;
  throw attr === undefined ? invalidInput(reason) : invalidAttribute(attr, reason);
}

export const isValidIp = (s: unknown): boolean => tryParseIp(s) !== null;

export const ipVersionOf = (s: unknown): IpVersion | null => tryParseIp(s)?.version ?? null;

function formatV4(n: bigint): string {
  return [24n, 16n, 8n, 0n].map((sh) => String(Number((n >> sh) & 0xffn))).join('.');
}

/**
 * Canonical text, as Neutron returns addresses: netaddr's ipv6_compact (inet_ntop) form —
 * lowercase, leftmost longest run of two or more zero groups compressed, and IPv4-mapped
 * (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d, value above 0xffff) tails dotted.
 */
export function formatIp(n: bigint, version: IpVersion): string {
  if (n < 0n || n > MAX_ADDRESS[version]) throw new RangeError(`${n} is not an IPv${version} address`);
  if (version === 4) return formatV4(n);
  const words: string[] = [];
  for (let i = 7; i >= 0; i--) words.push(((n >> BigInt(i * 16)) & 0xffffn).toString(16));
  let tokens = words;
  if (n >> 32n === 0xffffn || (n > 0xffffn && n <= 0xffffffffn)) {
    tokens = [...words.slice(0, 6), formatV4(n & 0xffffffffn)];
  }
  let bestStart = -1;
  let bestLen = 1; // a single zero group is never compressed
  for (let i = 0; i < tokens.length; ) {
    if (tokens[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < tokens.length && tokens[j] === '0') j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return tokens.join(':');
  const head = tokens.slice(0, bestStart).join(':');
  const tail = tokens.slice(bestStart + bestLen).join(':');
  return `${head}::${tail}`;
}

/** Re-renders an address in canonical form; throws 400 as parseIp does. */
export function canonicalIp(s: string, attr?: string): string {
  const ip = parseIp(s, attr);
  return formatIp(ip.value, ip.version);
}

export const ipToString = (ip: IpAddr): string => formatIp(ip.value, ip.version);

/** Accepts either text or an already parsed address (throws InvalidInput on bad text). */
export const toIp = (x: string | IpAddr): IpAddr => (typeof x === 'string' ? parseIp(x) : x);

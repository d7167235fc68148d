// MAC addresses: validation and normalisation as a port's mac_address attribute gets them
// (neutron_lib validate_mac_address + convert_to_sanitized_mac_address), and random MACs
// under the configured base_mac (neutron_lib.utils.net.get_random_mac).
import { invalidAttribute } from '../core/errors.js';
import { pyStr } from './errors.js';
import type { RandomFn } from './allocate.js';

// The spellings netaddr.valid_mac accepts: six 1–2 digit groups with ':' or '-', three 1–4
// digit groups with ':', '-' or '.', two 5–6 digit groups with ':' or '-', or 12 bare digits.
const MAC_FORMATS: readonly RegExp[] = [
  /^([0-9a-f]{1,2})[:]([0-9a-f]{1,2})[:]([0-9a-f]{1,2})[:]([0-9a-f]{1,2})[:]([0-9a-f]{1,2})[:]([0-9a-f]{1,2})$/i,
  /^([0-9a-f]{1,2})-([0-9a-f]{1,2})-([0-9a-f]{1,2})-([0-9a-f]{1,2})-([0-9a-f]{1,2})-([0-9a-f]{1,2})$/i,
  /^([0-9a-f]{1,4})[:]([0-9a-f]{1,4})[:]([0-9a-f]{1,4})$/i,
  /^([0-9a-f]{1,4})-([0-9a-f]{1,4})-([0-9a-f]{1,4})$/i,
  /^([0-9a-f]{1,4})\.([0-9a-f]{1,4})\.([0-9a-f]{1,4})$/i,
  /^([0-9a-f]{5,6})[:]([0-9a-f]{5,6})$/i,
  /^([0-9a-f]{5,6})-([0-9a-f]{5,6})$/i,
  /^([0-9a-f]{12})$/i,
];

const BROADCAST_MAC = 0xffff_ffff_ffffn;

/** The 48-bit value of a MAC in any spelling netaddr accepts; null when it is not one. */
export function parseMac(s: unknown): bigint | null {
  if (typeof s !== 'string') return null;
  for (const re of MAC_FORMATS) {
    const m = re.exec(s);
    if (m === null) continue;
    const groups = m.slice(1);
    const width = BigInt(48 / groups.length);
    return groups.reduce((acc, g) => (acc << width) | BigInt(parseInt(g, 16)), 0n);
  }
  return null;
}

/** Lowercase colon form, the way Neutron stores and returns mac_address. */
export function formatMac(n: bigint): string {
  const out: string[] = [];
  for (let i = 5; i >= 0; i--)
    out.push(
      Number((n >> BigInt(i * 8)) & 0xffn)
        .toString(16)
        .padStart(2, '0'),
    );
  return out.join(':');
}

/**
 * validate_mac_address: null or Neutron's reason. The all-zero and broadcast MACs are refused
 * (constants.INVALID_MAC_ADDRESSES); multicast MACs are accepted on ports — Neutron refuses them
 * only in allowed address pairs (see validateMacNotMulticast).
 */
export function validateMacAddress(data: unknown): string | null {
  const v = parseMac(data);
  if (v === null || v === 0n || v === BROADCAST_MAC) return `'${pyStr(data)}' is not a valid MAC address`;
  return null;
}

export const isValidMac = (s: unknown): boolean => validateMacAddress(s) === null;

/** Normalises a port's mac_address, or throws 400 "Invalid input for mac_address. Reason: ...". */
export function normalizeMac(s: unknown, attr = 'mac_address'): string {
  const bad = validateMacAddress(s);
  if (bad !== null) throw invalidAttribute(attr, bad);
  return formatMac(parseMac(s)!);
}

/** The I/G bit: least significant bit of the first octet. */
export function isMulticastMac(s: string | bigint): boolean {
  const v = typeof s === 'bigint' ? s : parseMac(s);
  return v !== null && ((v >> 40n) & 1n) === 1n;
}

/** validate_mac_address_not_multicast (allowed address pairs): null or the reason. */
export function validateMacNotMulticast(mac: string): string | null {
  return isMulticastMac(mac) ? `MAC address ${mac} is a multicast address, which is not supported.` : null;
}

export interface BaseMac {
  /** The six octets of base_mac. */
  readonly octets: readonly number[];
  /** How many leading octets generated MACs keep: 3, or 4 when base_mac's 4th octet is not 00. */
  readonly fixed: 3 | 4;
}

/**
 * Parses the base_mac option. Neutron checks it at start-up against validators.MAC_PATTERN
 * (colon form, two digits per octet, unicast first octet) and refuses to start otherwise; this
 * is configuration, not an API request, so it throws a plain Error.
 */
export function parseBaseMac(s: string): BaseMac {
  if (!/^[0-9a-f][02468ace](:[0-9a-f]{2}){5}$/i.test(s)) throw new Error(`Base MAC: '${s}' is not a valid input`);
  const octets = s.split(':').map((o) => parseInt(o, 16));
  return { octets, fixed: octets[3] !== 0 ? 4 : 3 };
}

/**
 * get_random_mac: the first 3 octets of base_mac, its 4th too when it is not 00, the rest
 * random. Collisions are the caller's to detect (MacAddressInUse) and retry.
 */
export function randomMac(base: BaseMac | string, rand: RandomFn = Math.random): string {
  const b = typeof base === 'string' ? parseBaseMac(base) : base;
  let v = 0n;
  for (let i = 0; i < 6; i++) {
    const octet = i < b.fixed ? b.octets[i]! : Math.floor(rand() * 256) & 0xff;
    v = (v << 8n) | BigInt(octet);
  }
  return formatMac(v);
}

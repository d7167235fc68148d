// IPv6 address modes and SLAAC (EUI-64) addresses. Sources: neutron/db/db_base_plugin_v2.py
// (_validate_subnet's v4 branch, _validate_ipv6_attributes, _validate_ipv6_dhcp,
// _validate_ipv6_combination, _validate_eui64_applicable, _validate_ipv6_update_dhcp),
// neutron/common/ipv6_utils.py and oslo_utils.netutils.get_ipv6_addr_by_EUI64.
import { invalidAttribute, invalidInput } from '../core/errors.js';
import { formatIp, type IpAddr, type IpVersion, MAX_ADDRESS, parseIp } from './address.js';
import { type Cidr, formatCidr, toCidr } from './cidr.js';
import { addressCalculationFailure, pyRepr, pyStr } from './errors.js';
import { parseMac } from './mac.js';

export const DHCPV6_STATEFUL = 'dhcpv6-stateful';
export const DHCPV6_STATELESS = 'dhcpv6-stateless';
export const IPV6_SLAAC = 'slaac';
export const IPV6_MODES = [DHCPV6_STATEFUL, DHCPV6_STATELESS, IPV6_SLAAC] as const;
export type Ipv6Mode = (typeof IPV6_MODES)[number];

export interface Ipv6ModeFields {
  ipv6_ra_mode?: string | null;
  ipv6_address_mode?: string | null;
}

const isSet = (v: unknown): boolean => v !== null && v !== undefined;

/**
 * is_auto_address_subnet: addresses come from SLAAC or DHCPv6-stateless (EUI-64 from the MAC)
 * when either mode says so — ports then get an address on the subnet without asking for it.
 */
export function isAutoAddressSubnet(s: Ipv6ModeFields): boolean {
  const auto = (m: string | null | undefined) => m === IPV6_SLAAC || m === DHCPV6_STATELESS;
  return auto(s.ipv6_address_mode) || auto(s.ipv6_ra_mode);
}

/**
 * The API's 'type:values' check of ipv6_ra_mode / ipv6_address_mode. Neutron's text is
 * "<v> is not in valid_values"; we name the valid values so the user knows what to send.
 */
export function validateIpv6ModeValue(value: unknown, attr: 'ipv6_ra_mode' | 'ipv6_address_mode'): void {
  if (!isSet(value)) return;
  if (!(IPV6_MODES as readonly unknown[]).includes(value)) {
    throw invalidAttribute(attr, `${pyStr(value)} is not in ${pyRepr([...IPV6_MODES])}`);
  }
}

export interface SubnetIpv6Spec extends Ipv6ModeFields {
  ip_version: IpVersion;
  cidr: string | Cidr;
  enable_dhcp: boolean;
}

/**
 * Subnet create: which ipv6_ra_mode / ipv6_address_mode combinations Neutron allows.
 * IPv4: neither may be set. IPv6: either may be set alone (any mode), both only when equal;
 * setting any requires enable_dhcp; an auto-address subnet (slaac/dhcpv6-stateless in either)
 * must be a /64 because addresses are EUI-64. Throws 400 (InvalidInput).
 */
export function validateIpv6Attributes(spec: SubnetIpv6Spec): void {
  validateIpv6ModeValue(spec.ipv6_ra_mode, 'ipv6_ra_mode');
  validateIpv6ModeValue(spec.ipv6_address_mode, 'ipv6_address_mode');
  const raSet = isSet(spec.ipv6_ra_mode);
  const addrSet = isSet(spec.ipv6_address_mode);
  if (spec.ip_version === 4) {
    if (raSet) throw invalidInput('ipv6_ra_mode is not valid when ip_version is 4');
    if (addrSet) throw invalidInput('ipv6_address_mode is not valid when ip_version is 4');
    return;
  }
  if ((raSet || addrSet) && !spec.enable_dhcp) {
    throw invalidInput('ipv6_ra_mode or ipv6_address_mode cannot be set when enable_dhcp is set to False');
  }
  if (raSet && addrSet && spec.ipv6_ra_mode !== spec.ipv6_address_mode) {
    throw invalidInput(
      `ipv6_ra_mode set to '${spec.ipv6_ra_mode}' with ipv6_address_mode set to '${spec.ipv6_address_mode}' ` +
        'is not valid. If both attributes are set, they must be the same value',
    );
  }
  if ((raSet || addrSet) && isAutoAddressSubnet(spec)) {
    const c = toCidr(spec.cidr);
    if (c.prefixlen !== 64) {
      throw invalidInput(
        `Invalid CIDR ${formatCidr(c)} for IPv6 address mode. OpenStack uses the EUI-64 address format, ` + 'which requires the prefix to be /64',
      );
    }
  }
}

/**
 * Positional form of validateIpv6Attributes for subnet create. Pass `enableDhcp`: without it
 * the "modes need enable_dhcp" rule cannot be checked and is skipped.
 */
export function validateIpv6Modes(
  ipVersion: IpVersion,
  cidr: string | Cidr,
  raMode: string | null | undefined,
  addressMode: string | null | undefined,
  enableDhcp?: boolean,
): void {
  validateIpv6Attributes({
    ip_version: ipVersion,
    cidr,
    enable_dhcp: enableDhcp ?? true,
    ipv6_ra_mode: raMode,
    ipv6_address_mode: addressMode,
  });
}

/**
 * Subnet update (the modes themselves cannot change): enable_dhcp may not be switched off
 * while either mode is set, in the request or on the subnet.
 */
export function validateIpv6EnableDhcpUpdate(update: { enable_dhcp?: boolean } & Ipv6ModeFields, current: Ipv6ModeFields): void {
  if (update.enable_dhcp !== false) return;
  if (isSet(update.ipv6_ra_mode) || isSet(update.ipv6_address_mode) || isSet(current.ipv6_ra_mode) || isSet(current.ipv6_address_mode)) {
    throw invalidInput('Cannot disable enable_dhcp with ipv6 attributes set');
  }
}

/**
 * The SLAAC address of a MAC on a prefix, as netutils.get_ipv6_addr_by_EUI64 computes it:
 * EUI-64 interface id (ff:fe inserted in the middle, universal/local bit flipped) added to the
 * prefix's network address. Neutron surfaces a failure here as a 500; so do we.
 */
export function eui64Address(prefixCidr: string | Cidr, mac: string): string {
  const c = toCidr(prefixCidr);
  const m = parseMac(mac);
  if (c.version !== 6 || m === null) {
    throw addressCalculationFailure(`Bad prefix or mac format for generating IPv6 address by EUI-64: ${pyStr(prefixCidr)}, ${mac}`);
  }
  const eui64 = ((m >> 24n) << 40n) | (0xfffen << 24n) | (m & 0xffffffn);
  // Python evaluates `first + eui64 ^ (1 << 57)` as `(first + eui64) ^ (1 << 57)`.
  const v = (c.network + eui64) ^ (1n << 57n);
  if (v > MAX_ADDRESS[6]) {
    throw addressCalculationFailure(`prefix ${pyStr(prefixCidr)} is too high`);
  }
  return formatIp(v, 6);
}

/** ipv6_utils.is_eui64_address: a v6 address whose interface id has ff:fe in its middle. */
export function isEui64Address(ip: string | IpAddr): boolean {
  const a = typeof ip === 'string' ? parseIp(ip) : ip;
  return a.version === 6 && (a.value & 0xffff000000n) === 0xfffe000000n;
}

/** The EUI-64 link-local address of a MAC (fe80::/64), what a host configures from it. */
export const linkLocalAddress = (mac: string): string => eui64Address('fe80::/64', mac);

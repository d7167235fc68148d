// Subnet-level address rules: the cidr itself, the gateway, which addresses a port may ask
// for, and overlap between a network's subnets. Sources: neutron/db/db_base_plugin_v2.py
// (_create_subnet_precommit, _validate_subnet, _validate_ip_version), neutron/db/
// ipam_backend_mixin.py (_gateway_ip_str, _validate_subnet_cidr) and neutron/ipam/utils.py.
import { formatIp, type IpAddr, type IpVersion, MAX_ADDRESS, parseIp } from './address.js';
import { type Cidr, formatCidr, isLoopbackCidr, isMulticastCidr, makeCidr, parseCidr, rangesOverlap, toCidr } from './cidr.js';
import { invalidInput } from '../core/errors.js';
import { ROUTER_PORT_OWNERS } from '../core/wire.js';

/** neutron_lib.constants.PROVISIONAL_IPV6_PD_PREFIX: placeholder cidr of a prefix-delegation subnet. */
export const PROVISIONAL_IPV6_PD_PREFIX = '::/64';

/** _validate_ip_version: "<name> '<addr>' does not match the ip_version '<v>'" (InvalidInput). */
export function checkIpVersion(expected: IpVersion, actual: IpVersion, name: string, addr: string): void {
  if (actual !== expected) throw invalidInput(`${name} '${addr}' does not match the ip_version '${expected}'`);
}

export interface SubnetCidrOptions {
  /**
   * DHCP is being turned on (create with enable_dhcp, or update from disabled to enabled):
   * Neutron then refuses prefixes dnsmasq cannot serve and multicast/loopback/0.x networks.
   */
  enableDhcp?: boolean;
}

/**
 * Validates a subnet create's cidr against its ip_version and returns it normalised to the
 * network address (Neutron accepts "10.0.0.1/24" and stores "10.0.0.0/24"). Throws 400:
 * HTTPBadRequest for unparseable text, InvalidInput for the plugin-level rules.
 */
export function validateSubnetCidr(cidr: string, ipVersion: IpVersion, opts: SubnetCidrOptions = {}): Cidr {
  const given = parseCidr(cidr, 'cidr');
  const net = makeCidr(given.version, given.network, given.prefixlen);
  const text = formatCidr(net);
  checkIpVersion(ipVersion, net.version, 'cidr', text);
  if (opts.enableDhcp) {
    // dnsmasq needs a network, broadcast (v4) and at least one lease address.
    if ((net.version === 4 && net.prefixlen > 30) || (net.version === 6 && net.prefixlen > 126)) {
      throw invalidInput('Subnet has a prefix length that is incompatible with DHCP service enabled');
    }
    if (isMulticastCidr(net)) throw invalidInput('Multicast IP subnet is not supported if enable_dhcp is True');
    if (isLoopbackCidr(net)) throw invalidInput('Loopback IP subnet is not supported if enable_dhcp is True');
    if (net.version === 4 && net.first === 0n) {
      throw invalidInput("First IP '0.0.0.0' of network is not supported if enable_dhcp is True");
    }
  }
  // _validate_subnet_cidr: a /0 breaks dnsmasq (Neutron bug 1362651), for either version.
  if (net.prefixlen === 0) throw invalidInput('0 is not allowed as CIDR prefix length');
  return net;
}

/**
 * The gateway Neutron picks when gateway_ip is not given (_gateway_ip_str): IPv4 network + 1,
 * IPv6 the network address itself (the subnet-router anycast; Neutron since 2019,
 * test_create_subnet_ipv6_gw_values). For an IPv4 /32 that lands outside the subnet, exactly as
 * in Neutron; null only when network + 1 does not exist (255.255.255.255/32).
 */
export function defaultGateway(cidr: string | Cidr): string | null {
  const c = toCidr(cidr);
  const gw = c.version === 6 ? c.network : c.network + 1n;
  return gw > MAX_ADDRESS[c.version] ? null : formatIp(gw, c.version);
}

/**
 * check_gateway_invalid_in_subnet: inside an IPv4 subnet the gateway may not be the first or
 * last address (for /31 and /32 too); IPv6 allows the network address. A gateway outside the
 * cidr is accepted: force_gateway_on_subnet was removed, Neutron cannot know the gateway's
 * own network (test_create_subnet_gw_outside_cidr_returns_201).
 */
export function isGatewayInvalidInSubnet(cidr: Cidr, gw: IpAddr): boolean {
  if (gw.version !== cidr.version || gw.value < cidr.first || gw.value > cidr.last) return false;
  return cidr.version === 4 && (gw.value === cidr.first || gw.value === cidr.last);
}

/**
 * Validates a requested gateway_ip for a subnet and returns it in canonical form. Throws 400
 * (HTTPBadRequest for unparseable text, InvalidInput for version mismatch or a network/broadcast
 * gateway).
 */
export function validateGatewayIp(cidr: string | Cidr, gatewayIp: string, ipVersion: IpVersion): string {
  const gw = parseIp(gatewayIp, 'gateway_ip');
  const text = formatIp(gw.value, gw.version);
  checkIpVersion(ipVersion, gw.version, 'gateway_ip', text);
  if (isGatewayInvalidInSubnet(toCidr(cidr), gw)) throw invalidInput('Gateway is not valid on subnet');
  return text;
}

/**
 * check_subnet_ip: may a port request this fixed IP on this subnet? IPv4 refuses the network
 * and broadcast addresses; IPv6 refuses the network (subnet-router anycast) address unless the
 * port is a router port (or the owner is unknown, '').
 *
 * IPv4 /31 and /32 follow Neutron to the letter: netaddr has no broadcast for them, so only the
 * network address is refused — on a /31 the second address may be requested, on a /32 nothing.
 */
export function isValidIpForSubnet(cidr: string | Cidr, ip: string | IpAddr, deviceOwner = ''): boolean {
  const c = toCidr(cidr);
  const a = typeof ip === 'string' ? parseIp(ip) : ip;
  if (a.version !== c.version || a.value < c.first || a.value > c.last) return false;
  if (c.version === 4) {
    const hasBroadcast = c.prefixlen <= 30;
    return a.value !== c.network && !(hasBroadcast && a.value === c.last);
  }
  return deviceOwner === '' || ROUTER_PORT_OWNERS.includes(deviceOwner) || a.value !== c.network;
}

/**
 * _validate_subnet_cidr's overlap rule: a new subnet may not share addresses with another
 * subnet of the same network (the provisional PD prefix ::/64 is exempt). Throws InvalidInput
 * without naming the other subnet, as Neutron does.
 */
export function validateSubnetOverlap(newCidr: string | Cidr, existingCidrs: Iterable<string | Cidr>, networkId: string): void {
  const c = toCidr(newCidr);
  for (const e of existingCidrs) {
    const other = toCidr(e);
    if (formatCidr(other) === PROVISIONAL_IPV6_PD_PREFIX) continue;
    if (rangesOverlap(c, other)) {
      throw invalidInput(`Requested subnet with cidr: ${formatCidr(c)} for network: ${networkId} overlaps with another subnet`);
    }
  }
}

// IPAM's error constructors, named and worded as Neutron's exception classes
// (neutron_lib/exceptions/__init__.py, neutron/ipam/exceptions.py). The body's "type" is
// the Python class name, because Neutron serialises `e.__class__.__name__`
// (neutron/api/api_common.py get_exception_data); the status follows FAULT_MAP
// (BadRequest → 400, Conflict/InUse → 409).
import { NeutronError } from '../core/errors.js';

/** neutron_lib InvalidCIDR: a prefix (e.g. a rule's remote_ip_prefix) that is no CIDR. */
export const invalidCidr = (input: string) => new NeutronError(400, 'InvalidCIDR', `Invalid CIDR ${input} given as IP prefix.`);

export const invalidAllocationPool = (pool: string) => new NeutronError(400, 'InvalidAllocationPool', `The allocation pool ${pool} is not valid.`);

export const outOfBoundsAllocationPool = (pool: string, subnetCidr: string) =>
  new NeutronError(400, 'OutOfBoundsAllocationPool', `The allocation pool ${pool} spans beyond the subnet cidr ${subnetCidr}.`);

export const overlappingAllocationPools = (pool1: string, pool2: string, subnetCidr: string) =>
  new NeutronError(409, 'OverlappingAllocationPools', `Found overlapping allocation pools: ${pool1} ${pool2} for subnet ${subnetCidr}.`);

export const gatewayConflictWithAllocationPools = (ip: string, pool: string) =>
  new NeutronError(409, 'GatewayConflictWithAllocationPools', `Gateway ip ${ip} conflicts with allocation pool ${pool}.`);

export const dnsNameServersExhausted = (subnetId: string, quota: number) =>
  new NeutronError(
    400,
    'DNSNameServersExhausted',
    `Unable to complete operation for ${subnetId}. The number of DNS nameservers exceeds the limit ${quota}.`,
  );

export const hostRoutesExhausted = (subnetId: string, quota: number) =>
  new NeutronError(400, 'HostRoutesExhausted', `Unable to complete operation for ${subnetId}. The number of host routes exceeds the limit ${quota}.`);

/** neutron.ipam.exceptions.IpAddressGenerationFailure — what a full subnet answers (409). */
export const ipAddressGenerationFailure = (subnetId: string) =>
  new NeutronError(409, 'IpAddressGenerationFailure', `No more IP addresses available for subnet ${subnetId}.`);

/** neutron_lib's network-wide variant, used when no subnet of the network has room. */
export const ipAddressGenerationFailureNetwork = (networkId: string) =>
  new NeutronError(409, 'IpAddressGenerationFailure', `No more IP addresses available on network ${networkId}.`);

export const ipAddressGenerationFailureNoMatchingSubnet = (networkId: string, serviceType: string) =>
  new NeutronError(
    409,
    'IpAddressGenerationFailureNoMatchingSubnet',
    `No valid service subnet for the given device owner, network ${networkId}, service type ${serviceType}.`,
  );

export const ipAddressAlreadyAllocated = (ip: string, subnetId: string) =>
  new NeutronError(409, 'IpAddressAlreadyAllocated', `IP address ${ip} already allocated in subnet ${subnetId}`);

export const invalidIpForSubnet = (ip: string) =>
  new NeutronError(400, 'InvalidIpForSubnet', `IP address ${ip} is not a valid IP for the specified subnet.`);

export const invalidIpForNetwork = (ip: string) =>
  new NeutronError(400, 'InvalidIpForNetwork', `IP address ${ip} is not a valid IP for any of the subnets on the specified network.`);

export const allocationOnAutoAddressSubnet = (ip: string, subnetId: string) =>
  new NeutronError(
    400,
    'AllocationOnAutoAddressSubnet',
    `IPv6 address ${ip} cannot be directly assigned to a port on subnet ${subnetId} as the subnet is configured for automatic addresses`,
  );

/** neutron.ipam.exceptions.AddressCalculationFailure: a 500, as Neutron surfaces it. */
export const addressCalculationFailure = (reason: string) =>
  new NeutronError(500, 'AddressCalculationFailure', `Unable to calculate eui-64 address because of:${reason}`);

/**
 * Python's repr() of the JSON values Neutron puts in messages (e.g. the pool dict in
 * InvalidAllocationPool, the route in "Duplicate hostroute"), so our text matches theirs.
 */
export function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'string') return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  if (v instanceof Set) return v.size === 0 ? 'set()' : `{${[...v].map(pyRepr).join(', ')}}`;
  if (typeof v === 'object') {
    return `{${Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`)
      .join(', ')}}`;
  }
  return String(v);
}

/** Python's "%s" of a value: strings bare, everything else as repr. */
export const pyStr = (v: unknown): string => (typeof v === 'string' ? v : pyRepr(v));

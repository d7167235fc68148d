// The exceptions of subnet pools and address scopes, named and worded as Neutron's
// (neutron_lib/exceptions/__init__.py, neutron_lib/exceptions/address_scope.py); the body's type
// is the class name, the status follows FAULT_MAP (BadRequest 400, NotFound 404, Conflict/InUse 409).
import { NeutronError } from '../../core/errors.js';

const bad = (type: string, message: string) => new NeutronError(400, type, message);

export const subnetPoolNotFound = (id: string) => new NeutronError(404, 'SubnetPoolNotFound', `Subnet pool ${id} could not be found.`);
export const addressScopeNotFound = (id: string) => new NeutronError(404, 'AddressScopeNotFound', `Address scope ${id} could not be found.`);

export const emptySubnetPoolPrefixList = () => bad('EmptySubnetPoolPrefixList', 'Empty subnet pool prefix list.');
export const prefixVersionMismatch = () => bad('PrefixVersionMismatch', 'Cannot mix IPv4 and IPv6 prefixes in a subnet pool.');
export const unsupportedMinSubnetPoolPrefix = (prefix: number, version: number) =>
  bad('UnsupportedMinSubnetPoolPrefix', `Prefix '${prefix}' not supported in IPv${version} pool.`);
export const illegalSubnetPoolPrefixBounds = (prefixType: string, prefixlen: number, baseType: string, baseLen: number) =>
  bad('IllegalSubnetPoolPrefixBounds', `Illegal prefix bounds: ${prefixType}=${prefixlen}, ${baseType}=${baseLen}.`);
export const illegalSubnetPoolPrefixUpdate = (msg: string) => bad('IllegalSubnetPoolPrefixUpdate', `Illegal update to prefixes: ${msg}.`);
export const illegalSubnetPoolUpdate = (reason: string) => bad('IllegalSubnetPoolUpdate', `Illegal subnetpool update : ${reason}.`);
export const subnetPoolDeleteError = (reason: string) => bad('SubnetPoolDeleteError', `Unable to delete subnet pool: ${reason}.`);
export const minPrefixSubnetAllocationError = (prefixlen: number, min: number) =>
  bad('MinPrefixSubnetAllocationError', `Unable to allocate subnet with prefix length ${prefixlen}, minimum allowed prefix is ${min}.`);
export const maxPrefixSubnetAllocationError = (prefixlen: number, max: number) =>
  bad('MaxPrefixSubnetAllocationError', `Unable to allocate subnet with prefix length ${prefixlen}, maximum allowed prefix is ${max}.`);
/**
 * SubnetAllocationError: Neutron lets this one out as a 500 (it derives from no HTTP class);
 * running out of prefix space is the caller's conflict with the pool's state, so 409 here.
 */
export const subnetAllocationError = (reason: string) => new NeutronError(409, 'SubnetAllocationError', `Failed to allocate subnet: ${reason}.`);
export const subnetPoolQuotaExceeded = () => new NeutronError(409, 'SubnetPoolQuotaExceeded', 'Per-tenant subnet pool prefix quota exceeded.');
export const networkSubnetPoolAffinityError = () =>
  bad('NetworkSubnetPoolAffinityError', 'Subnets hosted on the same network must be allocated from the same subnet pool.');
export const networkAddressScopeAffinityError = () =>
  bad(
    'NetworkAddressScopeAffinityError',
    'Subnets of the same address family hosted on the same network must all participate in the same address scope.',
  );

export const addressScopePrefixConflict = () =>
  new NeutronError(
    409,
    'AddressScopePrefixConflict',
    'Failed to associate address scope: subnetpools within an address scope must have unique prefixes.',
  );
export const illegalSubnetPoolAssociationToAddressScope = (poolId: string, scopeId: string) =>
  bad(
    'IllegalSubnetPoolAssociationToAddressScope',
    `Illegal subnetpool association: subnetpool ${poolId} cannot be associated with address scope ${scopeId}.`,
  );
export const illegalSubnetPoolIpVersionAssociationToAddressScope = (poolId: string, scopeId: string, ipVersion: number) =>
  bad(
    'IllegalSubnetPoolIpVersionAssociationToAddressScope',
    `Illegal subnetpool association: subnetpool ${poolId} cannot associate with address scope ${scopeId} because subnetpool ip_version is not ${ipVersion}.`,
  );
export const addressScopeInUse = (id: string) =>
  new NeutronError(
    409,
    'AddressScopeInUse',
    `Unable to complete operation on address scope ${id}. There are one or more subnet pools in use on the address scope.`,
  );
export const addressScopeUpdateError = (id: string, reason: string) =>
  bad('AddressScopeUpdateError', `Unable to update address scope ${id} : ${reason}.`);

/** neutron_lib.exceptions.BadRequest: "Bad <resource> request: <msg>." */
export const badResourceRequest = (resource: string, msg: string) => bad('BadRequest', `Bad ${resource} request: ${msg}.`);

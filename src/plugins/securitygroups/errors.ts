// The security group exceptions, named and worded as Neutron's (neutron/extensions/securitygroup.py,
// neutron_lib/exceptions and the port security and address group extensions); the body's type is
// the class name, the status follows FAULT_MAP (BadRequest 400, NotFound 404, Conflict/InUse 409).
import { NeutronError, conflict, notFound } from '../../core/errors.js';

const bad = (type: string, message: string) => new NeutronError(400, type, message);

export const securityGroupNotFound = (id: string) => notFound('SecurityGroupNotFound', `Security group ${id} does not exist`);
export const securityGroupRuleNotFound = (id: string) => notFound('SecurityGroupRuleNotFound', `Security group rule ${id} does not exist`);
export const addressGroupNotFound = (id: string) => notFound('AddressGroupNotFound', `Address group ${id} could not be found.`);
export const securityGroupInUse = (id: string) => conflict('SecurityGroupInUse', `Security Group ${id} in use.`);
export const securityGroupCannotUpdateDefault = () => conflict('SecurityGroupCannotUpdateDefault', 'Updating default security group not allowed.');
export const securityGroupCannotRemoveDefault = () =>
  conflict('SecurityGroupCannotRemoveDefault', 'Insufficient rights for removing default security group.');
export const duplicateSecurityGroupRuleInPost = () => conflict('DuplicateSecurityGroupRuleInPost', 'Duplicate Security Group Rule in POST.');
export const securityGroupRuleExists = (ruleId: string) =>
  conflict('SecurityGroupRuleExists', `Security group rule already exists. Rule id is ${ruleId}.`);
export const securityGroupConflict = (reason: string) => conflict('SecurityGroupConflict', `Error ${reason} while attempting the operation.`);
export const portSecurityPortHasSecurityGroup = () =>
  conflict(
    'PortSecurityPortHasSecurityGroup',
    'Port has security group associated. Cannot disable port security or IP address until security group is removed.',
  );
export const portSecurityAndIPRequiredForSecurityGroups = () =>
  bad(
    'PortSecurityAndIPRequiredForSecurityGroups',
    'Port security must be enabled and port must have an IP address in order to use security groups.',
  );

export const securityGroupNotSingleGroupRules = () =>
  bad('SecurityGroupNotSingleGroupRules', 'Only allowed to update rules for one security profile at a time');
export const securityGroupRulesNotSingleTenant = () =>
  bad('SecurityGroupRulesNotSingleTenant', 'Multiple tenant_ids in bulk security group rule create not allowed');
export const securityGroupProtocolRequiredWithPorts = () =>
  bad('SecurityGroupProtocolRequiredWithPorts', 'Must also specify protocol if port range is given.');
export const securityGroupInvalidPortValue = (port: number) => bad('SecurityGroupInvalidPortValue', `Invalid value for port ${port}`);
export const securityGroupInvalidPortRange = () =>
  bad('SecurityGroupInvalidPortRange', 'For TCP/UDP protocols, port_range_min must be <= port_range_max');
export const securityGroupInvalidIcmpValue = (field: string, attr: string, value: unknown) =>
  bad('SecurityGroupInvalidIcmpValue', `Invalid value for ICMP ${field} (${attr}) ${String(value)}. It must be 0 to 255.`);
export const securityGroupMissingIcmpType = (value: unknown) =>
  bad('SecurityGroupMissingIcmpType', `ICMP code (port-range-max) ${String(value)} is provided but ICMP type (port-range-min) is missing.`);
export const securityGroupInvalidProtocolForPort = (protocol: unknown, validPortProtocols: string) =>
  bad(
    'SecurityGroupInvalidProtocolForPort',
    `Ports cannot be specified for protocol ${String(protocol)}. Ports are only supported for ${validPortProtocols}.`,
  );
export const invalidCidr = (input: unknown) => bad('InvalidCIDR', `Invalid CIDR ${String(input)} given as IP prefix.`);
export const securityGroupRuleParameterConflict = (ethertype: string, cidr: unknown) =>
  bad('SecurityGroupRuleParameterConflict', `Conflicting value ethertype ${ethertype} for CIDR ${String(cidr)}`);
export const securityGroupEthertypeConflictWithProtocol = (ethertype: string, protocol: string) =>
  bad('SecurityGroupEthertypeConflictWithProtocol', `Invalid ethertype ${ethertype} for protocol ${protocol}.`);
export const securityGroupMultipleRemoteEntites = () =>
  bad('SecurityGroupMultipleRemoteEntites', 'Only one of remote_ip_prefix or remote_group_id or remote_address_group_id may be provided.');
/** Neutron's plugin has no update for rules (NotImplementedError, which Neutron answers with 501). */
export const securityGroupRuleUpdateNotSupported = () =>
  new NeutronError(
    501,
    'NotImplementedError',
    'Security group rules cannot be updated, not even their description: delete the rule and create a new one.',
  );

// ---- address groups (neutron_lib/exceptions/address_group.py) ----------------------------------
const pyStrList = (xs: readonly string[]) => `[${xs.map((x) => `'${x}'`).join(', ')}]`;
export const addressGroupInUse = (id: string) =>
  new NeutronError(409, 'AddressGroupInUse', `Address group ${id} is in use on one or more security group rules.`);
export const addressesNotFound = (addresses: string[], id: string) =>
  notFound('AddressesNotFound', `Addresses ${pyStrList(addresses)} not found in the address group ${id}.`);
export const addressesAlreadyExist = (addresses: string[], id: string) =>
  bad('AddressesAlreadyExist', `Addresses ${pyStrList(addresses)} already exist in the address group ${id}.`);

// ---- default security group rules (neutron/extensions/security_groups_default_rules.py) --------
export const defaultSecurityGroupRuleNotFound = (id: string) =>
  notFound('DefaultSecurityGroupRuleNotFound', `Default Security Group rule ${id} does not exist`);
export const defaultSecurityGroupRuleExists = (ruleId: string) =>
  conflict('DefaultSecurityGroupRuleExists', `Default Security group rule already exists. Rule id is ${ruleId}.`);
export const duplicateDefaultSgRuleInPost = () => conflict('DuplicateDefaultSgRuleInPost', 'Duplicate Default Security Group Rule in POST.');

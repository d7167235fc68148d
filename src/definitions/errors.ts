// Errors the definitions' converters raise before a plugin sees the request, named and worded as
// Neutron's exception classes (neutron/extensions/securitygroup.py). The type is the class name;
// the status follows FAULT_MAP (InvalidInput/BadRequest 400, InUse/Conflict 409). The generic
// ones (invalidAttribute, invalidInput) are in core/errors.ts.
import { NeutronError, conflict } from '../core/errors.js';

export const securityGroupRuleInvalidProtocol = (protocol: string, allowed: string) =>
  new NeutronError(400, 'SecurityGroupRuleInvalidProtocol',
    `Security group rule protocol ${protocol} not supported. Only protocol values ${allowed} and integer representations [0 to 255] are supported.`);

export const securityGroupInvalidPortValue = (port: string) =>
  new NeutronError(400, 'SecurityGroupInvalidPortValue', `Invalid value for port ${port}`);

export const securityGroupRuleInvalidEtherType = (ethertype: string, allowed: string) =>
  new NeutronError(400, 'SecurityGroupRuleInvalidEtherType',
    `Security group rule for ethertype '${ethertype}' not supported. Allowed values are ${allowed}.`);

export const securityGroupDefaultAlreadyExists = () =>
  conflict('SecurityGroupDefaultAlreadyExists', 'Default security group already exists.');

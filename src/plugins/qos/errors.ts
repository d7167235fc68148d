// The exceptions of the QoS service, named and worded as Neutron's (neutron_lib.exceptions.qos):
// the body's type is the class name, the status follows FAULT_MAP (NotFound 404, Conflict and
// InUse 409, NotAuthorized 403). NotAuthorized itself is generic (core/errors.ts).
import { NeutronError } from '../../core/errors.js';

export const qosPolicyNotFound = (id: string) => new NeutronError(404, 'QosPolicyNotFound', `QoS policy ${id} could not be found.`);
export const qosRuleNotFound = (ruleId: string, policyId: string) =>
  new NeutronError(404, 'QosRuleNotFound', `QoS rule ${ruleId} for policy ${policyId} could not be found.`);
export const qosPolicyInUse = (policyId: string, objectType: string, objectId: string) =>
  new NeutronError(409, 'QosPolicyInUse', `QoS Policy ${policyId} is used by ${objectType} ${objectId}.`);
export const qosPolicyDefaultAlreadyExists = (projectId: string) =>
  new NeutronError(409, 'QoSPolicyDefaultAlreadyExists', `A default QoS policy exists for project ${projectId}.`);
export const qosRulesConflict = (newRuleType: string, ruleId: string, policyId: string) =>
  new NeutronError(409, 'QoSRulesConflict', `Rule ${newRuleType} conflicts with rule ${ruleId} which already exists in QoS Policy ${policyId}.`);
export const qosRuleParameterConflict = (value: unknown, policyId: string, existingRule: string, existingValue: unknown) =>
  new NeutronError(
    409,
    'QoSRuleParameterConflict',
    `Unable to add the rule with value ${String(value)} to the policy ${policyId} as the existing rule of type ${existingRule} has value ${String(existingValue)}.`,
  );
export const qosRuleNotSupported = (ruleType: string, portId: string) =>
  new NeutronError(409, 'QosRuleNotSupported', `Rule ${ruleType} is not supported by port ${portId}`);
export const qosRuleNotSupportedByNetwork = (ruleType: string, networkId: string) =>
  new NeutronError(409, 'QosRuleNotSupportedByNetwork', `Rule ${ruleType} is not supported by network ${networkId}`);
export const policyRemoveAuthorizationError = (policyId: string) =>
  new NeutronError(403, 'PolicyRemoveAuthorizationError', `Failed to remove provided policy ${policyId} because you are not authorized.`);

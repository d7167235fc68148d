// The RBAC exceptions, named and worded as Neutron's (neutron_lib/exceptions/__init__.py and
// neutron/extensions/rbac.py); the body's type is the class name, the status follows FAULT_MAP.
import { NeutronError, conflict, notFound } from '../../core/errors.js';

/** Neutron names the type "unknown": the lookup is by id alone. */
export const rbacPolicyNotFound = (id: string) => notFound('RbacPolicyNotFound', `RBAC policy of type unknown with ID ${id} not found`);
export const duplicateRbacPolicy = () => conflict('DuplicateRbacPolicy', 'An RBAC policy already exists with those values.');

/** Python's repr of a tuple of strings, as InvalidActionForType prints the valid actions. */
const pyTuple = (l: readonly string[]) => (l.length === 1 ? `('${l[0]}',)` : `(${l.map((x) => `'${x}'`).join(', ')})`);
export const invalidActionForType = (action: string, objectType: string, validActions: readonly string[]) =>
  new NeutronError(
    400,
    'InvalidActionForType',
    `Invalid action '${action}' for object type '${objectType}'. Valid actions: ${pyTuple(validActions)}`,
  );

export const rbacPolicyInUse = (objectId: string, details: string) =>
  conflict('RbacPolicyInUse', `RBAC policy on object ${objectId} cannot be removed because other objects depend on it.\nDetails: ${details}`);
export const invalidSharedSetting = (network: string) =>
  conflict('InvalidSharedSetting', `Unable to reconfigure sharing settings for network ${network}. Multiple tenants are using it.`);
export const externalNetworkInUse = (networkId: string) =>
  conflict('ExternalNetworkInUse', `External network ${networkId} cannot be updated to be non-external, since it has existing gateway ports.`);

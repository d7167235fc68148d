// The security group service's parts: the store, the ports' side, and the extension aliases it
// brings (off together with [securitygroup] enable_security_group). Assembled in plugin.ts.
import { PortSecurityGroups } from './ports.js';
import { SecurityGroupStore } from './store.js';

export const SECURITY_GROUP_ALIASES: readonly string[] = [
  'security-group',
  'stateful-security-group',
  'security-groups-normalized-cidr',
  'security-groups-port-filtering',
  'security-groups-shared-filtering',
  'rbac-security-groups',
];

export { PortSecurityGroups, SecurityGroupStore };

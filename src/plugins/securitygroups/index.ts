// The security group service's parts: the store, the ports' side, and the extension aliases it
// brings (off together with [securitygroup] enable_security_group). Assembled in plugin.ts.
import { PortSecurityGroups } from './ports.js';
import { SecurityGroupStore } from './store.js';

export const SECURITY_GROUP_ALIASES: readonly string[] = [
  'security-group',
  'stateful-security-group',
  'security-groups-normalized-cidr',
  'port-security-groups-filtering',
  'security-groups-remote-address-group',
  'security-groups-default-rules',
  'address-group',
  'security-groups-shared-filtering',
  'rbac-security-groups',
  'rbac-address-group',
];

export { PortSecurityGroups, SecurityGroupStore };

// The security group service: /v2.0/security-groups and /v2.0/security-group-rules, the
// `security_groups` of ports, and the security_group / security_group_rule quotas.
import type { Db } from '../../db/connection.js';
import { tableCounter, type QuotaEngine } from '../../quota/quota.js';
import { PortSecurityGroups } from './ports.js';
import { SecurityGroupRuleHandler } from './security-group-rules.js';
import { SecurityGroupHandler } from './security-groups.js';
import { SecurityGroupStore } from './store.js';

/** The extensions this service brings (off together with [securitygroup] enable_security_group). */
export const SECURITY_GROUP_ALIASES: readonly string[] = [
  'security-group', 'stateful-security-group', 'security-groups-normalized-cidr', 'security-groups-port-filtering',
  'security-groups-shared-filtering', 'rbac-security-groups',
];

export function securityGroupPlugin(db: Db, quota: QuotaEngine) {
  const store = new SecurityGroupStore(db, quota);
  quota.register('security_group', 10, tableCounter('security_groups'));
  quota.register('security_group_rule', 100, tableCounter('security_group_rules'));
  return { store, groups: new SecurityGroupHandler(store), rules: new SecurityGroupRuleHandler(store), ports: new PortSecurityGroups(store) };
}

export { PortSecurityGroups, SecurityGroupStore };

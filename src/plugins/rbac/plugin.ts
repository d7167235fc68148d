// rbac-policies: sharing networks, subnet pools, address scopes, security groups and what other
// plugins declare (QoS policies) with other projects. Loaded last, so that it knows every
// object type the loaded plugins can share.
import { tableCounter } from '../../quota/quota.js';
import type { PluginDefinition } from '../contract.js';
import { addressScopeKind, networkKind, securityGroupKind, subnetpoolKind, type RbacKind } from './kinds.js';
import { RbacPolicyHandler } from './rbac-policies.js';

export const rbacPlugin: PluginDefinition = {
  name: 'rbac',
  aliases: () => ['rbac-policies', 'rbac-address-scope', 'rbac-subnetpool'],
  create(ctx) {
    const kinds: RbacKind[] = [networkKind, subnetpoolKind, addressScopeKind];
    if (ctx.aliases.has('rbac-security-groups')) kinds.push(securityGroupKind);
    kinds.push(...ctx.rbacKinds());
    return {
      resources: [new RbacPolicyHandler(ctx.db, ctx.quota, kinds)],
      quotas: [{ resource: 'rbac_policy', default: 10, counter: tableCounter('rbac_entries') }],
    };
  },
};

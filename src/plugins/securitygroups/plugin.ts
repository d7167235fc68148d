// Security groups as the core plugin has them (Neutron's ML2 includes them): the
// /v2.0/security-groups and /v2.0/security-group-rules collections, their quotas, the L2 agents'
// security group RPC and fanouts. Loaded unless [securitygroup] enable_security_group is off.
import { tableCounter } from '../../quota/quota.js';
import { PLUGIN_TOPIC } from '../../core/wire.js';
import type { PluginDefinition } from '../contract.js';
import type { Ml2PortHandler } from '../ml2/bound-ports.js';
import type { CoreHandlers } from '../ml2/plugin.js';
import { SecurityGroupNotifier, SecurityGroupRpc, subscribeSecurityGroupNotifier } from './agent-rpc.js';
import { SECURITY_GROUP_ALIASES, type SecurityGroupStore } from './index.js';
import { SecurityGroupRuleHandler } from './security-group-rules.js';
import { SecurityGroupHandler } from './security-groups.js';
import { SECURITY_GROUP_RULES } from '../../policy/defaults/security_group.js';
import { boundKind } from '../rbac/kinds.js';
import { ADDRESS_GROUP_RBAC, AddressGroupHandler } from './address-groups.js';
import { DefaultSecurityGroupRuleHandler } from './default-rules.js';

/**
 * rbac-address-group: address groups shared with access_as_shared; the projects whose security
 * group rules name a group keep their access (AddressGroup.get_bound_project_ids).
 */
export const addressGroupKind = boundKind({
  type: ADDRESS_GROUP_RBAC,
  table: 'address_groups',
  label: 'Address group',
  boundProjects: async (tx, id) => {
    const rows = await tx.selectFrom('security_group_rules').select('project_id').distinct().where('remote_address_group_id', '=', id).execute();
    return new Set(rows.map((r) => r.project_id));
  },
});

export const securityGroupPlugin: PluginDefinition = {
  name: 'security-group',
  policies: SECURITY_GROUP_RULES,
  aliases: (cfg) => (cfg.securitygroup.enable_security_group ? [...SECURITY_GROUP_ALIASES] : []),
  create(ctx) {
    const core = ctx.exportsOf<CoreHandlers & { securityGroupStore: SecurityGroupStore | null }>('ml2')!;
    const store = core.securityGroupStore;
    if (!store) return {};
    const notifier = ctx.bus ? new SecurityGroupNotifier(ctx.bus) : null;
    if (notifier) subscribeSecurityGroupNotifier(ctx.callbacks, notifier, ctx.db);
    const portDicts = async (r: Parameters<Ml2PortHandler['toDicts']>[0], ids: string[]) =>
      core.ports.toDicts(r, await r.selectFrom('ports').selectAll().where('id', 'in', ids).execute());
    return {
      resources: [
        new SecurityGroupHandler(store),
        new SecurityGroupRuleHandler(store),
        new AddressGroupHandler(store),
        new DefaultSecurityGroupRuleHandler(store),
      ],
      rbacKinds: ctx.aliases.has('rbac-policies') ? [addressGroupKind] : [],
      quotas: [
        { resource: 'security_group', default: 10, counter: tableCounter('security_groups') },
        { resource: 'security_group_rule', default: 100, counter: tableCounter('security_group_rules') },
        // Neutron has no quota of its own for address groups.
      ],
      rpc: [{ topic: PLUGIN_TOPIC, handlers: new SecurityGroupRpc({ db: ctx.db, portDicts }).handlers() }],
      exports: { notifier },
      settled: async () => notifier?.settled(),
    };
  },
};

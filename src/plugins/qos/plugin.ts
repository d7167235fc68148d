// The QoS service plugin (qos and its companion extensions): policies, rules (also by alias),
// rule types, qos_policy_id on networks, ports and (with the router plugin) floating IPs and
// router gateways (qos-gateway-ip), and the qos_policy RBAC object type.
import type { ResourceHandler } from '../../core/resource.js';
import type { PluginDefinition } from '../contract.js';
import { RULE_SPECS } from '../../definitions/qos.js';
import { boundKind, projectsBoundThrough } from '../rbac/kinds.js';
import { QosDrivers } from './drivers.js';
import { QosMl2Extension } from './ml2-extension.js';
import { QosPolicyHandler } from './policies.js';
import { QosRuleTypeHandler } from './rule-types.js';
import { QosRuleAliasHandler, QosRuleHandler } from './rules.js';
import { QOS_POLICY } from './store.js';
import { QOS_RULES } from '../../policy/defaults/qos-trunk.js';
import type { RequestContext } from '../../core/context.js';
import type { L3AgentScheduler } from '../l3/agent-scheduler.js';
import { QosRouterGateway, routersOfPolicy } from './router-gateway.js';

export const QOS_ALIASES: readonly string[] = [
  'qos',
  'qos-bw-limit-direction',
  'qos-default',
  'qos-rule-type-details',
  'qos-rule-type-filter',
  'qos-bw-minimum-ingress',
  'qos-rules-alias',
  'qos-port-network-policy',
  'qos-pps',
  'qos-pps-minimum',
  'qos-pps-minimum-rule-alias',
  'port-resource-request',
  'port-resource-request-groups',
];

/**
 * RBAC for QoS policies: only access_as_shared; the projects whose networks or ports use a
 * policy (get_bound_project_ids) keep their access.
 */
export const qosPolicyKind = boundKind({
  type: QOS_POLICY,
  table: 'qos_policies',
  label: 'QoS policy',
  boundProjects: projectsBoundThrough(
    { binding: 'qos_network_policy_bindings', objectColumn: 'policy_id', owner: 'networks', ownerColumn: 'network_id' },
    { binding: 'qos_port_policy_bindings', objectColumn: 'policy_id', owner: 'ports', ownerColumn: 'port_id' },
    { binding: 'qos_fip_policy_bindings', objectColumn: 'policy_id', owner: 'floatingips', ownerColumn: 'fip_id' },
    { binding: 'qos_router_gw_policy_bindings', objectColumn: 'policy_id', owner: 'routers', ownerColumn: 'router_id' },
  ),
});

export const qosPlugin: PluginDefinition = {
  name: 'qos',
  policies: QOS_RULES,
  classPaths: ['neutron.services.qos.qos_plugin.QoSPlugin'],
  // Floating IPs' and router gateways' qos_policy_id need the router plugin (its L3 agents police them).
  aliases: (_cfg, loaded) => [...QOS_ALIASES, ...(loaded.has('router') ? ['qos-fip', 'qos-gateway-ip'] : [])],
  create(ctx) {
    const { db, aliases } = ctx;
    const drivers = new QosDrivers();
    const l3 = ctx.exportsOf<{ scheduler: L3AgentScheduler }>('router');
    // A policy's rules changed: the L3 agents of the routers that police with it rebuild them.
    const rulesChanged = async (c: RequestContext, policyId: string) => {
      if (!l3) return;
      const routers = await routersOfPolicy(db.kysely, policyId);
      if (routers.length) await l3.scheduler.routersUpdated(c, routers);
    };
    const resources: ResourceHandler[] = [new QosPolicyHandler(db, qosPolicyKind), new QosRuleTypeHandler(drivers)];
    for (const spec of RULE_SPECS) {
      if (spec.extension && !aliases.has(spec.extension)) continue;
      const rules = new QosRuleHandler(db, drivers, spec, rulesChanged);
      resources.push(rules);
      if (spec.aliasExtension && aliases.has(spec.aliasExtension)) resources.push(new QosRuleAliasHandler(db, rules, spec));
    }
    return {
      resources,
      ml2Extensions: [
        new QosMl2Extension(db, drivers, {
          networkPolicyOnPorts: aliases.has('qos-port-network-policy'),
          resourceRequest: aliases.has('port-resource-request'),
        }),
        ...(aliases.has('qos-gateway-ip') ? [new QosRouterGateway(db)] : []),
      ],
      rbacKinds: [qosPolicyKind],
    };
  },
};

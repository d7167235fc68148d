// Whether a policy's rules can be applied where it is attached (QoSPlugin.validate_policy*):
// every rule must be taken by a QoS driver serving the network, and each port that the policy
// governs (its own, or its network's when it has none of its own). Ports are looked at grouped
// by binding state, since that is all the drivers look at.
import { sql, type SqlBool } from 'kysely';
import type { Reader } from '../../db/tx.js';
import type { QosDrivers, RuleLike } from './drivers.js';
import { qosRuleNotSupported, qosRuleNotSupportedByNetwork } from './errors.js';

export interface PortBindingState {
  id: string;
  vifType: string;
  vnicType: string;
}

export function validateForNetwork(drivers: QosDrivers, rules: readonly RuleLike[], networkId: string): void {
  for (const rule of rules) {
    if (!drivers.ruleFitsNetwork(rule)) throw qosRuleNotSupportedByNetwork(rule.type, networkId);
  }
}

export function validateForPort(drivers: QosDrivers, rules: readonly RuleLike[], port: PortBindingState): void {
  for (const rule of rules) {
    if (!drivers.ruleFitsPort(rule, port)) throw qosRuleNotSupported(rule.type, port.id);
  }
}

/** One port per binding state among the ports `where` selects. */
async function portStates(db: Reader, where: ReturnType<typeof sql<SqlBool>>): Promise<PortBindingState[]> {
  const rows = await db
    .selectFrom('ports')
    .select((eb) => [eb.fn.min('ports.id').as('id'), 'ports.binding_vif_type', 'ports.binding_vnic_type'])
    .where(where)
    .groupBy(['ports.binding_vif_type', 'ports.binding_vnic_type'])
    .execute();
  return rows.map((r) => ({ id: String(r.id), vifType: r.binding_vif_type, vnicType: r.binding_vnic_type }));
}

/** _get_ports_with_policy: ports bound to the policy, and ports of its networks without their own. */
export async function validatePolicyPorts(db: Reader, drivers: QosDrivers, policyId: string, rules: readonly RuleLike[]): Promise<void> {
  if (rules.length === 0) return;
  const where = sql<SqlBool>`(ports.id in (select b.port_id from qos_port_policy_bindings b where b.policy_id = ${policyId})
    or (ports.network_id in (select n.network_id from qos_network_policy_bindings n where n.policy_id = ${policyId})
      and ports.id not in (select o.port_id from qos_port_policy_bindings o)))`;
  for (const port of await portStates(db, where)) validateForPort(drivers, rules, port);
}

/** The ports of a network that follow the network's policy (they have none of their own). */
export async function validateNetworkPorts(db: Reader, drivers: QosDrivers, networkId: string, rules: readonly RuleLike[]): Promise<void> {
  if (rules.length === 0) return;
  const where = sql<SqlBool>`(ports.network_id = ${networkId} and ports.id not in (select o.port_id from qos_port_policy_bindings o))`;
  for (const port of await portStates(db, where)) validateForPort(drivers, rules, port);
}

// qos-gateway-ip (Neutron's l3_gateway_ip_qos mixin): a router's external_gateway_info carries the
// QoS policy of its gateway IP, bound in qos_router_gw_policy_bindings inside the router's own
// create or update transaction:
//   - a policy the caller cannot use is QosPolicyNotFound (the policy row locked while bound, so a
//     policy being deleted gains no binding);
//   - the key left out keeps the binding; null drops it; a router without a gateway has none;
//   - external_gateway_info shows qos_policy_id when the router has a binding or its gateway
//     network has a policy (then null), as Neutron's router dict does.
// The L3 agents police the gateway's (and floating IPs', qos-fip) traffic from the bandwidth
// limit rules the routers' sync data carries (`_qos_policies`), and hear of rule changes through
// routers_updated (`routersOfPolicy`).
import type { RequestContext } from '../../core/context.js';
import type { Rec } from '../../core/resource.js';
import type { Db } from '../../db/connection.js';
import type { Reader, Tx } from '../../db/tx.js';
import { RULE_TYPE_BANDWIDTH_LIMIT } from '../../definitions/qos.js';
import { idChunks, whereIdIn } from '../common/list-sql.js';
import type { Ml2ExtensionDriver } from '../ml2/extension-drivers.js';
import { qosPolicyNotFound } from './errors.js';
import { findPolicy, loadRules } from './store.js';

/** The key of the policies' bandwidth limits in a router's sync data. */
export const QOS_POLICIES_KEY = '_qos_policies';

/** A bandwidth limit rule as the L3 agent uses it. */
export interface SyncBandwidthLimit {
  direction: string;
  max_kbps: number;
  max_burst_kbps: number;
}

type GatewayInfo = Record<string, unknown> | null | undefined;

export class QosRouterGateway implements Ml2ExtensionDriver {
  constructor(private readonly db: Db) {}

  private async binding(tx: Reader, routerId: string): Promise<string | null> {
    const r = await tx.selectFrom('qos_router_gw_policy_bindings').select('policy_id').where('router_id', '=', routerId).executeTakeFirst();
    return r?.policy_id ?? null;
  }

  /** _update_router_gw_qos_policy: `info` is the request's gateway info as validated. */
  private async settle(tx: Tx, ctx: RequestContext, routerId: string, info: GatewayInfo): Promise<void> {
    const router = await tx.selectFrom('routers').select('gw_port_id').where('id', '=', routerId).executeTakeFirst();
    // No gateway: no policy (Neutron passes {qos_policy_id: None} then).
    const wanted = router?.gw_port_id ? info : { qos_policy_id: null };
    if (!wanted || !('qos_policy_id' in wanted)) return;
    const policyId = (wanted.qos_policy_id as string | null) ?? null;
    const old = await this.binding(tx, routerId);
    if (old === policyId) return;
    if (old) {
      // QosPolicy.get_policy_obj under the caller's context: one it cannot see is not found.
      if (!(await findPolicy(this.db, tx, ctx, old))) throw qosPolicyNotFound(old);
      await tx.deleteFrom('qos_router_gw_policy_bindings').where('router_id', '=', routerId).execute();
    }
    if (!policyId) return;
    if (!(await findPolicy(this.db, tx, ctx, policyId, true))) throw qosPolicyNotFound(policyId);
    await tx.insertInto('qos_router_gw_policy_bindings').values({ router_id: routerId, policy_id: policyId }).execute();
  }

  async processCreateRouter(tx: Tx, ctx: RequestContext, body: Rec): Promise<void> {
    const info = body.external_gateway_info as GatewayInfo;
    if (info) await this.settle(tx, ctx, body.id as string, info);
  }

  async processUpdateRouter(tx: Tx, ctx: RequestContext, routerId: string, body: Rec): Promise<void> {
    if ('external_gateway_info' in body) await this.settle(tx, ctx, routerId, body.external_gateway_info as GatewayInfo);
  }

  async extendRouterDicts(db: Reader, dicts: Rec[]): Promise<void> {
    const withGw = dicts.filter((d) => d.external_gateway_info);
    if (!withGw.length) return;
    const ids = withGw.map((d) => d.id as string);
    const own = new Map<string, string>();
    const fipPolicies = new Map<string, Set<string>>();
    for (const part of idChunks(this.db, ids)) {
      const q = db.selectFrom('qos_router_gw_policy_bindings').select(['router_id', 'policy_id']);
      for (const r of await whereIdIn(this.db, q, 'qos_router_gw_policy_bindings.router_id', part).execute()) own.set(r.router_id, r.policy_id);
      // qos-fip: the floating IPs' policies, which the agent polices on the same gateway.
      const f = db
        .selectFrom('qos_fip_policy_bindings as b')
        .innerJoin('floatingips as f', 'f.id', 'b.fip_id')
        .select(['f.router_id', 'b.policy_id'])
        .where('f.fixed_port_id', 'is not', null);
      for (const r of await whereIdIn(this.db, f, 'f.router_id', part).execute()) {
        if (!r.router_id) continue;
        const s = fipPolicies.get(r.router_id) ?? new Set<string>();
        s.add(r.policy_id);
        fipPolicies.set(r.router_id, s);
      }
    }
    const netIds = [...new Set(withGw.map((d) => (d.external_gateway_info as Rec).network_id as string))];
    const netPolicy = new Set<string>();
    for (const part of idChunks(this.db, netIds)) {
      const q = db.selectFrom('qos_network_policy_bindings').select('network_id');
      for (const r of await whereIdIn(this.db, q, 'qos_network_policy_bindings.network_id', part).execute()) netPolicy.add(r.network_id);
    }
    const policyIds = new Set([...own.values(), ...[...fipPolicies.values()].flatMap((s) => [...s])]);
    const limits = await this.bandwidthLimits(db, [...policyIds]);
    for (const d of withGw) {
      const id = d.id as string;
      const gw = d.external_gateway_info as Rec;
      const policy = own.get(id) ?? null;
      if (policy || netPolicy.has(gw.network_id as string)) gw.qos_policy_id = policy;
      const used = [...(policy ? [policy] : []), ...(fipPolicies.get(id) ?? [])];
      d[QOS_POLICIES_KEY] = Object.fromEntries(used.map((p) => [p, limits.get(p) ?? []]));
    }
  }

  private async bandwidthLimits(db: Reader, policyIds: string[]): Promise<Map<string, SyncBandwidthLimit[]>> {
    const out = new Map<string, SyncBandwidthLimit[]>();
    if (!policyIds.length) return out;
    for (const [policy, rules] of await loadRules(db, this.db, policyIds)) {
      out.set(
        policy,
        rules
          .filter((r) => r.type === RULE_TYPE_BANDWIDTH_LIMIT)
          .map((r) => ({ direction: r.direction as string, max_kbps: Number(r.max_kbps), max_burst_kbps: Number(r.max_burst_kbps) })),
      );
    }
    return out;
  }
}

/** The routers whose gateway or floating IPs use the policy (their agents are told of its rules). */
export async function routersOfPolicy(db: Reader, policyId: string): Promise<string[]> {
  const gw = await db.selectFrom('qos_router_gw_policy_bindings').select('router_id').where('policy_id', '=', policyId).execute();
  const fips = await db
    .selectFrom('qos_fip_policy_bindings as b')
    .innerJoin('floatingips as f', 'f.id', 'b.fip_id')
    .select('f.router_id')
    .where('b.policy_id', '=', policyId)
    .execute();
  return [...new Set([...gw.map((r) => r.router_id), ...fips.map((r) => r.router_id).filter((r): r is string => !!r)])];
}

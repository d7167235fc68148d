// qos_policy_id on networks and ports, qos_network_policy_id on ports (Neutron's ML2 qos
// extension driver and QosCoreResourceExtension, with the QoS plugin's precommit checks):
//   - the policy must be one the caller can use (else QosPolicyNotFound);
//   - a new network without a policy gets its project's default policy (qos-default);
//   - replacing or removing a policy needs access to the old one (PolicyRemoveAuthorizationError);
//   - the policy's rules must suit the network and the ports it then governs (QosRuleNotSupported).
// Everything runs in the network's or port's own transaction; the policy row is locked, so a
// policy being deleted cannot gain a binding meanwhile.
import { sql, type RawBuilder, type SqlBool } from 'kysely';
import type { RequestContext } from '../../core/context.js';
import type { Rec } from '../../core/resource.js';
import type { Db } from '../../db/connection.js';
import type { PortTable } from '../../db/schema.js';
import type { AnySelect, Reader, Tx } from '../../db/tx.js';
import { idChunks, whereIdIn } from '../common/list-sql.js';
import type { Ml2ExtensionDriver } from '../ml2/extension-drivers.js';
import type { JsonExpr, JsonSql, PortColumn } from '../common/json-sql.js';
import type { QosDrivers } from './drivers.js';
import { policyRemoveAuthorizationError, qosPolicyNotFound } from './errors.js';
import { findPolicy, isAccessible, loadRules } from './store.js';
import { validateForNetwork, validateForPort, validateNetworkPorts } from './validation.js';
import { resourceRequests } from './resource-request.js';
import { VIF_TYPE_BINDING_FAILED, VIF_TYPE_UNBOUND } from '../../core/wire.js';

type BindingTable = 'qos_network_policy_bindings' | 'qos_port_policy_bindings' | 'qos_fip_policy_bindings';

const KEY: Record<BindingTable, string> = {
  qos_network_policy_bindings: 'network_id',
  qos_port_policy_bindings: 'port_id',
  qos_fip_policy_bindings: 'fip_id',
};

export class QosMl2Extension implements Ml2ExtensionDriver {
  constructor(
    private readonly db: Db,
    private readonly drivers: QosDrivers,
    private readonly opts: { networkPolicyOnPorts: boolean; resourceRequest?: boolean },
  ) {}

  /** The policy's rules, after checking the caller may use it (its row locked). */
  private async usablePolicyRules(tx: Tx, ctx: RequestContext | null, policyId: string) {
    const policy = await findPolicy(this.db, tx, ctx, policyId, true);
    if (!policy) throw qosPolicyNotFound(policyId);
    return (await loadRules(tx, this.db, [policyId])).get(policyId) ?? [];
  }

  private async boundPolicy(tx: Reader, table: BindingTable, id: string): Promise<string | null> {
    const r = await tx
      .selectFrom(table)
      .select('policy_id')
      .where(KEY[table] as 'policy_id', '=', id)
      .executeTakeFirst();
    return r?.policy_id ?? null;
  }

  /** Drops the current binding, if the caller may let go of its policy; returns that policy. */
  private async detach(tx: Tx, ctx: RequestContext, table: BindingTable, id: string): Promise<string | null> {
    const old = await this.boundPolicy(tx, table, id);
    if (old === null) return null;
    const policy = await findPolicy(this.db, tx, null, old);
    if (policy && !(await isAccessible(tx, ctx, policy))) throw policyRemoveAuthorizationError(old);
    await tx
      .deleteFrom(table)
      .where(KEY[table] as 'policy_id', '=', id)
      .execute();
    return old;
  }

  async processCreateNetwork(tx: Tx, ctx: RequestContext, body: Rec): Promise<void> {
    let policyId = (body.qos_policy_id as string | null | undefined) ?? null;
    if (!policyId) {
      const d = await tx
        .selectFrom('qos_policies_default')
        .select('qos_policy_id')
        .where('project_id', '=', body.project_id as string)
        .executeTakeFirst();
      policyId = d?.qos_policy_id ?? null;
    }
    if (!policyId) return;
    const rules = await this.usablePolicyRules(tx, ctx, policyId);
    await tx
      .insertInto('qos_network_policy_bindings')
      .values({ network_id: body.id as string, policy_id: policyId })
      .execute();
    validateForNetwork(this.drivers, rules, body.id as string);
  }

  async processUpdateNetwork(tx: Tx, ctx: RequestContext, id: string, body: Rec): Promise<void> {
    if (!('qos_policy_id' in body)) return;
    const old = await this.detach(tx, ctx, 'qos_network_policy_bindings', id);
    const policyId = body.qos_policy_id as string | null;
    if (policyId === null) return;
    const rules = await this.usablePolicyRules(tx, ctx, policyId);
    await tx.insertInto('qos_network_policy_bindings').values({ network_id: id, policy_id: policyId }).execute();
    if (policyId === old) return;
    validateForNetwork(this.drivers, rules, id);
    await validateNetworkPorts(tx, this.drivers, id, rules);
  }

  async processCreatePort(tx: Tx, ctx: RequestContext | null, body: Rec): Promise<Rec> {
    const own = (body.qos_policy_id as string | null | undefined) ?? null;
    const netPolicy = await this.boundPolicy(tx, 'qos_network_policy_bindings', body.network_id as string);
    const fields: Rec = { qos_policy_id: own };
    if (this.opts.networkPolicyOnPorts) fields.qos_network_policy_id = netPolicy;
    const vnicType = (body['binding:vnic_type'] as string | undefined) ?? 'normal';
    if (this.opts.resourceRequest) {
      const port = { id: body.id as string, networkId: body.network_id as string, vnicType, policyId: own ?? netPolicy };
      fields.resource_request = (await resourceRequests(tx, this.db, [port])).get(port.id) ?? null;
    }
    let rules = own ? await this.usablePolicyRules(tx, ctx, own) : null;
    if (own)
      await tx
        .insertInto('qos_port_policy_bindings')
        .values({ port_id: body.id as string, policy_id: own })
        .execute();
    if (!rules) {
      if (!netPolicy) return fields;
      rules = (await loadRules(tx, this.db, [netPolicy])).get(netPolicy) ?? [];
    }
    // A new port is bound only after its transaction: judged by its vnic_type.
    const host = body['binding:host_id'];
    const vifType = typeof host === 'string' && host ? VIF_TYPE_BINDING_FAILED : VIF_TYPE_UNBOUND;
    validateForPort(this.drivers, rules, { id: body.id as string, vifType, vnicType });
    return fields;
  }

  async processUpdatePort(tx: Tx, ctx: RequestContext, port: PortTable, body: Rec): Promise<void> {
    if (!('qos_policy_id' in body)) return;
    const old = await this.detach(tx, ctx, 'qos_port_policy_bindings', port.id);
    const policyId = body.qos_policy_id as string | null;
    if (policyId === null) return;
    const rules = await this.usablePolicyRules(tx, ctx, policyId);
    await tx.insertInto('qos_port_policy_bindings').values({ port_id: port.id, policy_id: policyId }).execute();
    if (policyId === old) return;
    // The binding as this update leaves it: a new host means binding again (still unbound here).
    const vifType = 'binding:host_id' in body ? (body['binding:host_id'] ? VIF_TYPE_BINDING_FAILED : VIF_TYPE_UNBOUND) : port.binding_vif_type;
    const vnicType = (body['binding:vnic_type'] as string | undefined) ?? port.binding_vnic_type;
    validateForPort(this.drivers, rules, { id: port.id, vifType, vnicType });
  }

  // qos-fip: a floating IP's policy (the L3 agent's business; no driver rules apply here).
  async processCreateFloatingip(tx: Tx, ctx: RequestContext, body: Rec): Promise<void> {
    const policyId = (body.qos_policy_id as string | null | undefined) ?? null;
    if (!policyId) return;
    await this.usablePolicyRules(tx, ctx, policyId);
    await tx
      .insertInto('qos_fip_policy_bindings')
      .values({ fip_id: body.id as string, policy_id: policyId })
      .execute();
  }

  async processUpdateFloatingip(tx: Tx, ctx: RequestContext, id: string, body: Rec): Promise<void> {
    if (!('qos_policy_id' in body)) return;
    await this.detach(tx, ctx, 'qos_fip_policy_bindings', id);
    const policyId = body.qos_policy_id as string | null;
    if (policyId === null) return;
    await this.usablePolicyRules(tx, ctx, policyId);
    await tx.insertInto('qos_fip_policy_bindings').values({ fip_id: id, policy_id: policyId }).execute();
  }

  async extendFloatingipDicts(db: Reader, dicts: Rec[]): Promise<void> {
    const policies = await this.bindings(
      db,
      'qos_fip_policy_bindings',
      dicts.map((d) => d.id as string),
    );
    for (const d of dicts) d.qos_policy_id = policies.get(d.id as string) ?? null;
  }

  async extendNetworkDicts(db: Reader, dicts: Rec[]): Promise<void> {
    const policies = await this.bindings(
      db,
      'qos_network_policy_bindings',
      dicts.map((d) => d.id as string),
    );
    for (const d of dicts) d.qos_policy_id = policies.get(d.id as string) ?? null;
  }

  /** extendPortDicts() in SQL (PortHandler.listJson). */
  portJson(j: JsonSql): Record<string, JsonExpr | null> {
    const policy = (table: string, key: string, of: PortColumn) =>
      sql<string>`coalesce(${j.oneOf(j.str(sql.ref('q.policy_id')), table, 'q', key, of)}, ${j.lit('null')})`;
    return {
      qos_policy_id: policy('qos_port_policy_bindings', 'port_id', 'id'),
      qos_network_policy_id: this.opts.networkPolicyOnPorts ? policy('qos_network_policy_bindings', 'network_id', 'network_id') : null,
      // Null unless the port's policy has minimum rules, which portJsonFallback() leaves to the code.
      resource_request: this.opts.resourceRequest === true ? j.lit('null') : null,
    };
  }

  /** A port whose policy (its own, else its network's) has a minimum rule: its resource_request is computed in code. */
  portJsonFallback(j: JsonSql): RawBuilder<unknown> | undefined {
    if (this.opts.resourceRequest !== true) return undefined;
    const policy = sql`coalesce(
      ${j.oneOf(sql.ref('b.policy_id'), 'qos_port_policy_bindings', 'b', 'port_id', 'id')},
      ${j.oneOf(sql.ref('b.policy_id'), 'qos_network_policy_bindings', 'b', 'network_id', 'network_id')})`;
    // The policy looked up once per port; no policy (most ports): NULL, not a fallback.
    return sql`(select exists (select 1 from qos_minimum_bandwidth_rules r where r.qos_policy_id = pp.id)
      or exists (select 1 from qos_minimum_packet_rate_rules r where r.qos_policy_id = pp.id)
      from (select ${policy} as id) pp where pp.id is not null)`;
  }

  /** The ports' own policies and their networks' policies, in one query. */
  async extendPortDicts(db: Reader, dicts: Rec[], want: (name: string) => boolean): Promise<void> {
    const request = this.opts.resourceRequest === true && want('resource_request');
    const own = want('qos_policy_id') || request;
    const net = (this.opts.networkPolicyOnPorts && want('qos_network_policy_id')) || request;
    if (dicts.length === 0 || (!own && !net)) return;
    const ports = new Map<string, string>();
    const nets = new Map<string, string>();
    const portIds = dicts.map((d) => d.id as string);
    const netIds = [...new Set(dicts.map((d) => d.network_id as string))];
    const parts = idChunks(this.db, portIds);
    for (let i = 0; i < Math.max(parts.length, 1); i++) {
      const byPort = this.idIn(
        db.selectFrom('qos_port_policy_bindings').select([sql<string>`'p'`.as('kind'), 'port_id as id', 'policy_id']),
        'qos_port_policy_bindings.port_id',
        own ? (parts[i] ?? []) : [],
      );
      // The networks go along with the first chunk of ports (a list's ports are on few networks).
      const byNet = this.idIn(
        db.selectFrom('qos_network_policy_bindings').select([sql<string>`'n'`.as('kind'), 'network_id as id', 'policy_id']),
        'qos_network_policy_bindings.network_id',
        net && i === 0 ? netIds : [],
      );
      for (const r of await byPort.unionAll(byNet).execute()) (r.kind === 'p' ? ports : nets).set(r.id, r.policy_id);
    }
    for (const d of dicts) {
      if (want('qos_policy_id')) d.qos_policy_id = ports.get(d.id as string) ?? null;
      if (this.opts.networkPolicyOnPorts && want('qos_network_policy_id')) d.qos_network_policy_id = nets.get(d.network_id as string) ?? null;
    }
    if (!request) return;
    const requests = await resourceRequests(
      db,
      this.db,
      dicts.map((d) => ({
        id: d.id as string,
        networkId: d.network_id as string,
        vnicType: (d['binding:vnic_type'] as string | undefined) ?? 'normal',
        policyId: ports.get(d.id as string) ?? nets.get(d.network_id as string) ?? null,
      })),
    );
    for (const d of dicts) d.resource_request = requests.get(d.id as string) ?? null;
  }

  /** whereIdIn that also takes no ids at all (IN () is not SQL on every backend). */
  private idIn<QB extends AnySelect>(qb: QB, column: string, ids: string[]): QB {
    return ids.length ? whereIdIn(this.db, qb, column, ids) : (qb.where(sql<SqlBool>`1 = 0`) as QB);
  }

  /** object id -> policy id for many networks or ports at once. */
  private async bindings(db: Reader, table: BindingTable, ids: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const key = KEY[table]!;
    for (const part of idChunks(this.db, ids)) {
      const rows = await whereIdIn(this.db, db.selectFrom(table).selectAll(), `${table}.${key}`, part).execute();
      for (const r of rows as Array<Record<string, string>>) out.set(r[key]!, r.policy_id!);
    }
    return out;
  }
}

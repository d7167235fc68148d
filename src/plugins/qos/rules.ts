// QoS rules: /v2.0/qos/policies/{policy_id}/<type>_rules (a sub-resource of their policy) and,
// with qos-rules-alias, /v2.0/qos/alias-<type>-rules/{id}. A policy has one rule per type and
// direction (one DSCP rule); a bandwidth limit may not go below a minimum bandwidth of the same
// policy; every rule must suit the ports the policy governs. Each change locks the policy's row
// and bumps its revision; the database's unique keys settle concurrent duplicates.
import type { RequestContext } from '../../core/context.js';
import { qosRuleAliasDef, qosRuleDef, RULE_TYPE_BANDWIDTH_LIMIT, RULE_TYPE_MINIMUM_BANDWIDTH, type RuleTypeSpec } from '../../definitions/qos.js';
import type { ResourceDef } from '../../core/definition.js';
import type { Rec, ResourceHandler } from '../../core/resource.js';
import { isDuplicateKey, type Db } from '../../db/connection.js';
import type { Database } from '../../db/schema.js';
import { inTransaction, nowIso, type Reader, type Tx } from '../../db/tx.js';
import { TableResource } from '../common/table-resource.js';
import type { QosDrivers } from './drivers.js';
import { qosPolicyNotFound, qosRuleNotFound, qosRuleParameterConflict, qosRulesConflict } from './errors.js';
import { findPolicy, loadRule, loadRules, ruleKind, storedRule, type RuleKind, type RuleTable, type StoredRule } from './store.js';
import { validatePolicyPorts } from './validation.js';

/** check_bandwidth_rule_conflict: a limit below an existing minimum, or a minimum above a limit. */
function checkBandwidthConflict(policyId: string, rules: readonly StoredRule[], data: Rec): void {
  for (const r of rules) {
    if (r.type === RULE_TYPE_MINIMUM_BANDWIDTH && 'max_kbps' in data && Number(r.min_kbps) > Number(data.max_kbps)) {
      throw qosRuleParameterConflict(data.max_kbps, policyId, r.type, r.min_kbps);
    }
    if (r.type === RULE_TYPE_BANDWIDTH_LIMIT && 'min_kbps' in data && Number(r.max_kbps) < Number(data.min_kbps)) {
      throw qosRuleParameterConflict(data.min_kbps, policyId, r.type, r.max_kbps);
    }
  }
}

/** check_rules_conflict: another rule of the same type (and direction, where it has one). */
function checkDuplicate(kind: RuleKind, rules: readonly StoredRule[], rule: StoredRule): void {
  const anyClash = (r: StoredRule) => kind.anyDirection === true && (r.direction === 'any' || rule.direction === 'any');
  const clash = rules.find((r) => r.id !== rule.id && r.type === kind.type && (anyClash(r) || kind.uniqueBy.every((f) => r[f] === rule[f])));
  if (clash) throw qosRulesConflict(kind.type, clash.id, rule.qos_policy_id);
}

class DuplicateRule extends Error {
  constructor(readonly rule: StoredRule) {
    super('duplicate QoS rule');
  }
}

export class QosRuleHandler extends TableResource<RuleTable> {
  readonly kind: RuleKind;

  constructor(
    db: Db,
    private readonly drivers: QosDrivers,
    spec: RuleTypeSpec,
    /** After a committed change of a policy's rules (agents that apply them are told). */
    private readonly rulesChanged: (ctx: RequestContext, policyId: string) => Promise<void> = async () => {},
  ) {
    // Rules have no owner: the controller checks their policy (checkParent) before any read.
    super({ def: qosRuleDef(spec), db, notFound: (id) => qosRuleNotFound(id, ''), visibility: 'all' });
    this.kind = ruleKind(spec.type);
  }

  override notFound(id: string, parentId = ''): Error {
    return qosRuleNotFound(id, parentId);
  }

  /** The policy must be one the caller sees (get_policy_obj), else QosPolicyNotFound. */
  async checkParent(ctx: RequestContext, policyId: string): Promise<void> {
    if (!(await findPolicy(this.db, this.db.kysely, ctx, policyId))) throw qosPolicyNotFound(policyId);
  }

  /** The rule's own view: its fields, with the policy id that the controller matches to the URL. */
  private view(r: StoredRule): Rec {
    const d: Rec = { id: r.id, qos_policy_id: r.qos_policy_id };
    for (const f of this.kind.fields) d[f] = r[f];
    return d;
  }

  protected async dictsOf(_ctx: RequestContext, _db: Reader, rows: Array<Database[RuleTable]>): Promise<Rec[]> {
    return rows.map((row) => this.view(storedRule(this.kind, row as unknown as Record<string, unknown>)));
  }

  /** The policy, locked, with its rules; QosPolicyNotFound when the caller cannot use it. */
  private async lockPolicy(tx: Tx, ctx: RequestContext, policyId: string) {
    const policy = await findPolicy(this.db, tx, ctx, policyId, true);
    if (!policy) throw qosPolicyNotFound(policyId);
    return { policy, rules: (await loadRules(tx, this.db, [policyId])).get(policyId) ?? [] };
  }

  private async bumpPolicy(tx: Tx, policyId: string): Promise<void> {
    await tx
      .updateTable('qos_policies')
      .set((eb) => ({ revision_number: eb('revision_number', '+', 1), updated_at: nowIso() }))
      .where('id', '=', policyId)
      .execute();
  }

  /**
   * Writes a rule. The policy's row lock makes concurrent writers see each other's rules before
   * this; should the unique key still fire, the clash is named once the transaction is over.
   */
  private async write(tx: Tx, rule: StoredRule, insert: boolean): Promise<void> {
    const values: Record<string, unknown> = {};
    for (const f of this.kind.fields) values[f] = rule[f];
    try {
      if (insert)
        await tx
          .insertInto(this.kind.table)
          .values({ id: rule.id, qos_policy_id: rule.qos_policy_id, ...values } as never)
          .execute();
      else
        await tx
          .updateTable(this.kind.table)
          .set(values as never)
          .where('id', '=', rule.id)
          .execute();
    } catch (err) {
      if (isDuplicateKey(err)) throw new DuplicateRule(rule);
      throw err;
    }
  }

  /** Runs a write transaction, turning a unique-key clash into Neutron's QoSRulesConflict. */
  private async writing<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    try {
      return await inTransaction(this.db, fn);
    } catch (err) {
      if (!(err instanceof DuplicateRule)) throw err;
      const others = (await loadRules(this.db.kysely, this.db, [err.rule.qos_policy_id])).get(err.rule.qos_policy_id) ?? [];
      checkDuplicate(this.kind, others, err.rule);
      throw qosRulesConflict(this.kind.type, '', err.rule.qos_policy_id);
    }
  }

  async create(ctx: RequestContext, bodies: Rec[]): Promise<Rec[]> {
    const out = await this.writing(async (tx) => {
      const out: Rec[] = [];
      for (const b of bodies) {
        const policyId = b.qos_policy_id as string;
        const { rules } = await this.lockPolicy(tx, ctx, policyId);
        const data: Rec = {};
        for (const f of this.kind.fields) if (f in b) data[f] = b[f];
        checkBandwidthConflict(policyId, rules, data);
        const rule: StoredRule = { id: b.id as string, qos_policy_id: policyId, type: this.kind.type, ...data };
        checkDuplicate(this.kind, rules, rule);
        await this.write(tx, rule, true);
        await this.bumpPolicy(tx, policyId);
        await validatePolicyPorts(tx, this.drivers, policyId, [...rules, rule]);
        out.push(this.view(rule));
      }
      return out;
    });
    for (const p of new Set(bodies.map((b) => b.qos_policy_id as string))) await this.rulesChanged(ctx, p);
    return out;
  }

  async update(ctx: RequestContext, id: string, body: Rec): Promise<Rec> {
    const out = await this.writing(async (tx) => {
      const current = await loadRule(tx, this.kind, id);
      if (!current) throw this.notFound(id);
      const { rules } = await this.lockPolicy(tx, ctx, current.qos_policy_id);
      checkBandwidthConflict(current.qos_policy_id, rules, body);
      const rule: StoredRule = { ...current };
      for (const f of this.kind.fields) if (f in body) rule[f] = body[f];
      checkDuplicate(this.kind, rules, rule);
      await this.write(tx, rule, false);
      await this.bumpPolicy(tx, rule.qos_policy_id);
      await validatePolicyPorts(
        tx,
        this.drivers,
        rule.qos_policy_id,
        rules.map((r) => (r.id === id ? rule : r)),
      );
      return this.view(rule);
    });
    await this.rulesChanged(ctx, out.qos_policy_id as string);
    return out;
  }

  async delete(ctx: RequestContext, id: string): Promise<void> {
    const policyId = await inTransaction(this.db, async (tx) => {
      const current = await loadRule(tx, this.kind, id);
      if (!current) throw this.notFound(id);
      await this.lockPolicy(tx, ctx, current.qos_policy_id);
      await tx.deleteFrom(this.kind.table).where('id', '=', id).execute();
      await this.bumpPolicy(tx, current.qos_policy_id);
      return current.qos_policy_id;
    });
    await this.rulesChanged(ctx, policyId);
  }
}

/**
 * qos-rules-alias: a rule by its id alone. Like Neutron, a rule that does not exist is
 * QosRuleNotFound with an empty policy id, one whose policy the caller cannot see QosPolicyNotFound.
 */
export class QosRuleAliasHandler implements ResourceHandler {
  readonly def: ResourceDef;

  constructor(
    private readonly db: Db,
    private readonly rules: QosRuleHandler,
    spec: RuleTypeSpec,
  ) {
    this.def = qosRuleAliasDef(spec);
  }

  notFound(id: string): Error {
    return qosRuleNotFound(id, '');
  }

  async get(ctx: RequestContext, id: string): Promise<Rec | null> {
    const r = await loadRule(this.db.kysely, this.rules.kind, id);
    if (!r) return null;
    if (!(await findPolicy(this.db, this.db.kysely, ctx, r.qos_policy_id))) throw qosPolicyNotFound(r.qos_policy_id);
    const d: Rec = { id: r.id };
    for (const f of this.rules.kind.fields) d[f] = r[f];
    return d;
  }

  async list(): Promise<Rec[]> {
    return [];
  }

  async create(): Promise<Rec[]> {
    throw new Error('qos rule aliases have no create');
  }

  async update(ctx: RequestContext, id: string, body: Rec): Promise<Rec> {
    const updated = await this.rules.update(ctx, id, body);
    delete updated.qos_policy_id;
    return updated;
  }

  delete(ctx: RequestContext, id: string): Promise<void> {
    return this.rules.delete(ctx, id);
  }
}

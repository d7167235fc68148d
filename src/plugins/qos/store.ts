// QoS policies and rules as stored: which policies a caller sees (own, and those an RBAC
// access_as_shared entry shares with it), the rules of policies in Neutron's order, and the
// rule tables by type.
import type { RequestContext } from '../../core/context.js';
import type { Db } from '../../db/connection.js';
import type { QosPolicyTable } from '../../db/schema.js';
import { forUpdate, type Reader } from '../../db/tx.js';
import {
  RULE_TYPE_BANDWIDTH_LIMIT,
  RULE_TYPE_DSCP_MARKING,
  RULE_TYPE_MINIMUM_BANDWIDTH,
  RULE_TYPE_MINIMUM_PACKET_RATE,
  RULE_TYPE_PACKET_RATE_LIMIT,
} from '../../definitions/qos.js';
import { idChunks, whereIdIn } from '../common/list-sql.js';
import { rbacVisible } from '../common/visibility.js';
import { sharedWith } from '../rbac/store.js';

export const QOS_POLICY = 'qos_policy';

export type RuleTable =
  | 'qos_bandwidth_limit_rules'
  | 'qos_dscp_marking_rules'
  | 'qos_minimum_bandwidth_rules'
  | 'qos_packet_rate_limit_rules'
  | 'qos_minimum_packet_rate_rules';

export interface RuleKind {
  type: string;
  table: RuleTable;
  /** The rule's value columns, besides id and qos_policy_id. */
  fields: readonly string[];
  /** Two rules of a policy clash when these are equal too (Neutron's duplicates_compare_fields). */
  uniqueBy: readonly string[];
  /** A direction 'any' clashes with every direction (QosMinimumPacketRateRule.duplicates). */
  anyDirection?: boolean;
}

export const RULE_KINDS: readonly RuleKind[] = [
  {
    type: RULE_TYPE_BANDWIDTH_LIMIT,
    table: 'qos_bandwidth_limit_rules',
    fields: ['max_kbps', 'max_burst_kbps', 'direction'],
    uniqueBy: ['direction'],
  },
  { type: RULE_TYPE_DSCP_MARKING, table: 'qos_dscp_marking_rules', fields: ['dscp_mark'], uniqueBy: [] },
  { type: RULE_TYPE_MINIMUM_BANDWIDTH, table: 'qos_minimum_bandwidth_rules', fields: ['min_kbps', 'direction'], uniqueBy: ['direction'] },
  {
    type: RULE_TYPE_MINIMUM_PACKET_RATE,
    table: 'qos_minimum_packet_rate_rules',
    fields: ['min_kpps', 'direction'],
    uniqueBy: ['direction'],
    anyDirection: true,
  },
  {
    type: RULE_TYPE_PACKET_RATE_LIMIT,
    table: 'qos_packet_rate_limit_rules',
    fields: ['max_kpps', 'max_burst_kpps', 'direction'],
    uniqueBy: ['direction'],
  },
];

export const ruleKind = (type: string): RuleKind => RULE_KINDS.find((k) => k.type === type)!;

/** A rule as the policy's `rules` list shows it: with its type and policy. */
export interface StoredRule {
  id: string;
  qos_policy_id: string;
  type: string;
  [field: string]: unknown;
}

/** A rule row as the plugin works with it (integers as numbers on every backend). */
export function storedRule(kind: RuleKind, row: Record<string, unknown>): StoredRule {
  const r: StoredRule = { id: row.id as string, qos_policy_id: row.qos_policy_id as string, type: kind.type };
  for (const f of kind.fields) {
    const v = row[f];
    r[f] = typeof v === 'bigint' ? Number(v) : v;
  }
  return r;
}

/** Rules of each policy: by type in VALID_RULE_TYPES order, then by id. */
export async function loadRules(db: Reader, dbInfo: Db, policyIds: readonly string[]): Promise<Map<string, StoredRule[]>> {
  const out = new Map<string, StoredRule[]>();
  for (const kind of RULE_KINDS) {
    for (const part of idChunks(dbInfo, [...policyIds])) {
      const q = whereIdIn(dbInfo, db.selectFrom(kind.table).selectAll(), `${kind.table}.qos_policy_id`, part).orderBy('id');
      for (const row of await q.execute()) {
        const r = storedRule(kind, row as Record<string, unknown>);
        const l = out.get(r.qos_policy_id);
        if (l) l.push(r);
        else out.set(r.qos_policy_id, [r]);
      }
    }
  }
  return out;
}

export async function loadRule(db: Reader, kind: RuleKind, id: string): Promise<StoredRule | null> {
  const row = await db.selectFrom(kind.table).selectAll().where('id', '=', id).executeTakeFirst();
  return row ? storedRule(kind, row as Record<string, unknown>) : null;
}

/**
 * A policy the caller may use: admins any, others their own and those shared with them
 * (QosPolicy.get_object under the caller's context). `lock` holds its row for the transaction.
 */
export async function findPolicy(db: Db, tx: Reader, ctx: RequestContext | null, id: string, lock = false): Promise<QosPolicyTable | null> {
  let q = tx.selectFrom('qos_policies').selectAll('qos_policies').where('qos_policies.id', '=', id);
  if (ctx && !ctx.isAdmin) q = q.where(rbacVisible(ctx, QOS_POLICY, 'qos_policies.project_id', 'qos_policies.id'));
  return (await (lock ? forUpdate(db, q) : q).executeTakeFirst()) ?? null;
}

/** is_accessible: admin, owner, or shared with the caller's project. */
export async function isAccessible(tx: Reader, ctx: RequestContext | null, policy: QosPolicyTable): Promise<boolean> {
  if (!ctx || ctx.isAdmin || policy.project_id === ctx.projectId) return true;
  return (await sharedWith(tx, QOS_POLICY, [policy.id], ctx.projectId)).has(policy.id);
}

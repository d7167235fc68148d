// /v2.0/default-security-group-rules (security-groups-default-rules): the template of the rules
// a new security group gets, the project's default group those with used_in_default_sg, every
// other group those with used_in_non_default_sg; remote_group_id 'PARENT' stands for the group
// being made. Rules are validated as group rules are; two templates that are the same rule
// (whatever their used_in_* flags) conflict, held by a unique key under concurrency.
import { createHash } from 'node:crypto';
import type { RequestContext } from '../../core/context.js';
import type { Rec } from '../../core/resource.js';
import { defaultSecurityGroupRuleDef, PARENT_SG } from '../../definitions/security-group.js';
import { isDuplicateKey } from '../../db/connection.js';
import type { DefaultSecurityGroupRuleTable } from '../../db/schema.js';
import { b2i, forUpdate, i2b, inTransaction, nowIso, type Reader } from '../../db/tx.js';
import { TableResource } from '../common/table-resource.js';
import {
  addressGroupNotFound,
  defaultSecurityGroupRuleExists,
  defaultSecurityGroupRuleNotFound,
  duplicateDefaultSgRuleInPost,
  securityGroupNotFound,
  securityGroupRuleUpdateNotSupported,
} from './errors.js';
import { normalizeRule, ruleKey, type RuleSpec } from './rules.js';
import type { NewRule, SecurityGroupStore } from './store.js';

export function defaultRuleDict(r: DefaultSecurityGroupRuleTable): Rec {
  return {
    id: r.id,
    direction: r.direction,
    ethertype: r.ethertype,
    protocol: r.protocol,
    port_range_min: r.port_range_min === null ? null : Number(r.port_range_min),
    port_range_max: r.port_range_max === null ? null : Number(r.port_range_max),
    remote_ip_prefix: r.remote_ip_prefix,
    remote_group_id: r.remote_group_id,
    remote_address_group_id: r.remote_address_group_id,
    description: r.description,
    used_in_default_sg: i2b(r.used_in_default_sg),
    used_in_non_default_sg: i2b(r.used_in_non_default_sg),
  };
}

/** sha256 of ruleKey() without a group: what the table's unique rule_key holds. */
export function templateKey(r: Omit<RuleSpec, 'security_group_id'>): string {
  return createHash('sha256')
    .update(ruleKey({ ...r, security_group_id: '' }))
    .digest('hex');
}

/** The rules of a new group from the template: `isDefault` picks which; PARENT becomes the group. */
export async function rulesFromTemplate(db: Reader, groupId: string, projectId: string, isDefault: boolean): Promise<NewRule[]> {
  const rows = await db
    .selectFrom('default_security_group_rules')
    .selectAll()
    .where(isDefault ? 'used_in_default_sg' : 'used_in_non_default_sg', '=', 1)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  // A template naming a group or an address group that has since been deleted gives no rule.
  const named = async (table: 'security_groups' | 'address_groups', ids: (string | null)[]) => {
    const want = [...new Set(ids.filter((x): x is string => !!x && x !== PARENT_SG))];
    if (!want.length) return new Set<string>();
    return new Set((await db.selectFrom(table).select('id').where('id', 'in', want).execute()).map((r) => r.id));
  };
  const groups = await named(
    'security_groups',
    rows.map((t) => t.remote_group_id),
  );
  const addressGroups = await named(
    'address_groups',
    rows.map((t) => t.remote_address_group_id),
  );
  const live = rows.filter(
    (t) =>
      (!t.remote_group_id || t.remote_group_id === PARENT_SG || groups.has(t.remote_group_id)) &&
      (!t.remote_address_group_id || addressGroups.has(t.remote_address_group_id)),
  );
  return live.map((t) => {
    const r = normalizeRule({
      security_group_id: groupId,
      direction: t.direction,
      ethertype: t.ethertype,
      protocol: t.protocol,
      port_range_min: t.port_range_min === null ? null : Number(t.port_range_min),
      port_range_max: t.port_range_max === null ? null : Number(t.port_range_max),
      remote_ip_prefix: t.remote_ip_prefix,
      remote_group_id: t.remote_group_id === PARENT_SG ? groupId : t.remote_group_id,
      remote_address_group_id: t.remote_address_group_id,
    });
    return { ...r, project_id: projectId };
  });
}

export class DefaultSecurityGroupRuleHandler extends TableResource<'default_security_group_rules'> {
  constructor(private readonly s: SecurityGroupStore) {
    // Owned by no project: the policy alone decides who reads them.
    super({ def: defaultSecurityGroupRuleDef, db: s.db, notFound: defaultSecurityGroupRuleNotFound, visibility: 'all' });
  }

  protected async dictsOf(_ctx: RequestContext, _db: Reader, rows: DefaultSecurityGroupRuleTable[]): Promise<Rec[]> {
    return rows.map(defaultRuleDict);
  }

  async create(_ctx: RequestContext, bodies: Rec[]): Promise<Rec[]> {
    const rows: DefaultSecurityGroupRuleTable[] = bodies.map((b) => {
      const r = normalizeRule({
        security_group_id: '',
        direction: b.direction as string,
        ethertype: b.ethertype as string,
        protocol: (b.protocol as string | null) ?? null,
        port_range_min: (b.port_range_min as number | null) ?? null,
        port_range_max: (b.port_range_max as number | null) ?? null,
        remote_ip_prefix: (b.remote_ip_prefix as string | null) ?? null,
        remote_group_id: (b.remote_group_id as string | null) || null,
        remote_address_group_id: (b.remote_address_group_id as string | null) || null,
      });
      return {
        id: b.id as string,
        direction: r.direction,
        ethertype: r.ethertype,
        protocol: r.protocol,
        port_range_min: r.port_range_min,
        port_range_max: r.port_range_max,
        remote_ip_prefix: r.remote_ip_prefix,
        remote_group_id: r.remote_group_id,
        remote_address_group_id: r.remote_address_group_id,
        used_in_default_sg: b2i(b.used_in_default_sg === true),
        used_in_non_default_sg: b2i(b.used_in_non_default_sg === true),
        description: (b.description as string | undefined) ?? '',
        created_at: nowIso(),
        rule_key: templateKey(r),
      };
    });
    if (new Set(rows.map((r) => r.rule_key)).size < rows.length) throw duplicateDefaultSgRuleInPost();
    // A remote other than PARENT must exist when the template is made (admins see every group).
    for (const r of rows) {
      if (r.remote_group_id && r.remote_group_id !== PARENT_SG) {
        const g = await this.s.db.kysely.selectFrom('security_groups').select('id').where('id', '=', r.remote_group_id).executeTakeFirst();
        if (!g) throw securityGroupNotFound(r.remote_group_id);
      }
      if (r.remote_address_group_id) {
        const g = await this.s.db.kysely.selectFrom('address_groups').select('id').where('id', '=', r.remote_address_group_id).executeTakeFirst();
        if (!g) throw addressGroupNotFound(r.remote_address_group_id);
      }
    }
    for (let attempt = 0; ; attempt++) {
      try {
        return await inTransaction(this.s.db, async (tx) => {
          const clash = await tx
            .selectFrom('default_security_group_rules')
            .select('id')
            .where(
              'rule_key',
              'in',
              rows.map((r) => r.rule_key),
            )
            .executeTakeFirst();
          if (clash) throw defaultSecurityGroupRuleExists(clash.id);
          await tx.insertInto('default_security_group_rules').values(rows).execute();
          return rows.map(defaultRuleDict);
        });
      } catch (err) {
        // A concurrent create of the same rule won the unique key: answer with its id.
        if (attempt < 3 && isDuplicateKey(err)) continue;
        throw err;
      }
    }
  }

  async update(): Promise<Rec> {
    throw securityGroupRuleUpdateNotSupported();
  }

  async delete(_ctx: RequestContext, id: string): Promise<void> {
    await inTransaction(this.s.db, async (tx) => {
      const row = await forUpdate(this.s.db, tx.selectFrom('default_security_group_rules').select('id').where('id', '=', id)).executeTakeFirst();
      if (!row) throw this.notFound(id);
      await tx.deleteFrom('default_security_group_rules').where('id', '=', id).execute();
    });
  }
}

// /v2.0/security-group-rules: rules are created and deleted, never updated. A rule belongs to the
// project that made it, inside a group its project owns or is shared; the group's owner governs it
// too (policy's security_group:project_id). Duplicates (Neutron's _rule_to_key) are refused with
// 409 under the group's row lock, so two concurrent identical rules cannot both be added.
import { sql, type SqlBool } from 'kysely';
import type { RequestContext } from '../../core/context.js';
import { securityGroupRuleDef } from '../../definitions/security-group.js';
import type { ListQuery } from '../../core/list-query.js';
import type { Rec } from '../../core/resource.js';
import { forUpdate, inTransaction, type Reader, type Tx } from '../../db/tx.js';
import type { SecurityGroupRuleTable } from '../../db/schema.js';
import { checkRevision } from '../common/standard.js';
import { TableResource, type RowCondition } from '../common/table-resource.js';
import {
  addressGroupNotFound,
  duplicateSecurityGroupRuleInPost,
  securityGroupNotFound,
  securityGroupRuleExists,
  securityGroupRuleNotFound,
  securityGroupRulesNotSingleTenant,
  securityGroupNotSingleGroupRules,
  securityGroupRuleUpdateNotSupported,
} from './errors.js';
import { normalizeRule, ruleKey, type NormalizedRule } from './rules.js';
import { ruleDict, sgShared, type SecurityGroupStore } from './store.js';
import { listProject } from './security-groups.js';
import { Events } from '../../core/callbacks.js';
import { rbacShared } from '../common/visibility.js';
import { ADDRESS_GROUP_RBAC } from './address-groups.js';

export class SecurityGroupRuleHandler extends TableResource<'security_group_rules'> {
  /** Any rule can be shown by id: the policy (rule owner or group owner) decides, as in Neutron. */
  protected override readonly scopeShow = false;

  constructor(private readonly s: SecurityGroupStore) {
    super({ def: securityGroupRuleDef, db: s.db, notFound: securityGroupRuleNotFound });
  }

  parentOwner(_ctx: RequestContext, groupId: string): Promise<string | null> {
    return this.s.ownerOf(groupId);
  }

  /** 404 unless the caller may use the group (own or shared; admins: any). */
  async checkParent(ctx: RequestContext, groupId: string): Promise<string> {
    const g = await this.s.visibleGroup(this.s.db.kysely, ctx, groupId);
    if (!g) throw securityGroupNotFound(groupId);
    return g.project_id;
  }

  /**
   * Non-admins list the rules they own and the rules of groups they own (Neutron's
   * get_security_group_rule_ids); policy then decides per rule, as for any resource.
   */
  protected override scope(ctx: RequestContext): RowCondition {
    if (ctx.isAdmin) return null;
    const p = ctx.projectId ?? '';
    return sql<SqlBool>`(security_group_rules.project_id = ${p} or security_group_rules.security_group_id in (select g.id from security_groups g where g.project_id = ${p}))`;
  }

  protected async dictsOf(_ctx: RequestContext, _db: Reader, rows: SecurityGroupRuleTable[]): Promise<Rec[]> {
    return rows.map(ruleDict);
  }

  /** Listing makes sure of the project's default group (and its rules) first. */
  override async list(ctx: RequestContext, q: ListQuery): Promise<Rec[]> {
    if (ctx.projectId || ctx.isAdmin) await this.s.ensureDefault(ctx, listProject(ctx, q));
    return super.list(ctx, q);
  }

  /** The group, if the project may put rules in it: its own or shared with it (admins: any). */
  private async groupFor(db: Reader, ctx: RequestContext, groupId: string, projectId: string): Promise<boolean> {
    let q = db.selectFrom('security_groups').select('id').where('id', '=', groupId);
    if (!ctx.isAdmin) q = q.where(sql<SqlBool>`(security_groups.project_id = ${projectId} or ${sgShared(projectId, 'security_groups.id')})`);
    return (await q.executeTakeFirst()) !== undefined;
  }

  private async addressGroupFor(db: Reader, ctx: RequestContext, id: string, projectId: string): Promise<boolean> {
    let q = db.selectFrom('address_groups').select('id').where('id', '=', id);
    if (!ctx.isAdmin)
      q = q.where(sql<SqlBool>`(address_groups.project_id = ${projectId} or ${rbacShared(projectId, ADDRESS_GROUP_RBAC, 'address_groups.id')})`);
    return (await q.executeTakeFirst()) !== undefined;
  }

  private validate(bodies: Rec[]): NormalizedRule[] {
    if (bodies.length > 1) {
      if (new Set(bodies.map((b) => b.security_group_id)).size > 1) {
        throw securityGroupNotSingleGroupRules();
      }
      if (new Set(bodies.map((b) => b.project_id)).size > 1) {
        throw securityGroupRulesNotSingleTenant();
      }
    }
    return bodies.map((b) =>
      normalizeRule({
        security_group_id: b.security_group_id as string,
        direction: b.direction as string,
        ethertype: b.ethertype as string,
        protocol: (b.protocol as string | null) ?? null,
        port_range_min: (b.port_range_min as number | null) ?? null,
        port_range_max: (b.port_range_max as number | null) ?? null,
        remote_ip_prefix: (b.remote_ip_prefix as string | null) ?? null,
        remote_group_id: (b.remote_group_id as string | null) || null,
        remote_address_group_id: (b.remote_address_group_id as string | null) || null,
      }),
    );
  }

  async create(ctx: RequestContext, bodies: Rec[]): Promise<Rec[]> {
    const rules = this.validate(bodies);
    const db = this.s.db.kysely;
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i]!;
      const projectId = bodies[i]!.project_id as string;
      if (r.remote_group_id && !(await this.groupFor(db, ctx, r.remote_group_id, projectId))) throw securityGroupNotFound(r.remote_group_id);
      // The address group must be the rule's project's or shared with it (Neutron's check_address_group).
      if (r.remote_address_group_id && !(await this.addressGroupFor(db, ctx, r.remote_address_group_id, projectId))) {
        throw addressGroupNotFound(r.remote_address_group_id);
      }
      if (!(await this.groupFor(db, ctx, r.security_group_id, projectId))) throw securityGroupNotFound(r.security_group_id);
    }
    const out = await inTransaction(this.s.db, async (tx) => {
      const ids: string[] = [];
      const byGroup = new Map<string, number>();
      for (const r of rules) byGroup.set(r.security_group_id, (byGroup.get(r.security_group_id) ?? 0) + 1);
      for (const groupId of byGroup.keys())
        await this.checkDuplicates(
          tx,
          groupId,
          rules.filter((r) => r.security_group_id === groupId),
        );
      const perProject = new Map<string, number>();
      for (const b of bodies) perProject.set(b.project_id as string, (perProject.get(b.project_id as string) ?? 0) + 1);
      for (const [p, n] of perProject) await this.s.quota.enforce(tx, p, { security_group_rule: n });
      ids.push(
        ...(await this.s.insertRules(
          tx,
          rules.map((r, i) => ({
            ...r,
            id: bodies[i]!.id as string,
            project_id: bodies[i]!.project_id as string,
            description: bodies[i]!.description as string,
          })),
        )),
      );
      await this.s.bumpGroup(tx, [...byGroup.keys()]);
      const rows = await tx.selectFrom('security_group_rules').selectAll().where('id', 'in', ids).execute();
      const byId = new Map(rows.map((r) => [r.id, r]));
      return ids.map((id) => ruleDict(byId.get(id)!));
    });
    for (const r of out)
      await this.s.callbacks.publish('security_group_rule', Events.AFTER_CREATE, {
        context: ctx,
        resourceId: r.id as string,
        before: null,
        after: r,
      });
    return out;
  }

  /** Locks the group, then refuses rules repeated in the request or already in the group. */
  private async checkDuplicates(tx: Tx, groupId: string, rules: NormalizedRule[]): Promise<void> {
    const g = await forUpdate(this.s.db, tx.selectFrom('security_groups').select('id').where('id', '=', groupId)).executeTakeFirst();
    if (!g) throw securityGroupNotFound(groupId);
    const fresh = new Set<string>();
    for (const r of rules) {
      const k = ruleKey(r);
      if (fresh.has(k)) throw duplicateSecurityGroupRuleInPost();
      fresh.add(k);
    }
    const existing = await this.candidates(tx, groupId, rules);
    for (const e of existing) {
      const k = ruleKey({
        ...e,
        port_range_min: e.port_range_min === null ? null : Number(e.port_range_min),
        port_range_max: e.port_range_max === null ? null : Number(e.port_range_max),
      });
      if (fresh.has(k)) throw securityGroupRuleExists(e.id);
    }
  }

  /**
   * The group's rules that could equal one of `rules`: those with the same direction, ethertype
   * and port range (columns whose stored form is already canonical). The protocol and remote
   * prefix have several spellings, which ruleKey() compares. A group may hold thousands of
   * rules: reading them all for every new rule made creates quadratic.
   */
  private async candidates(tx: Tx, groupId: string, rules: NormalizedRule[]): Promise<SecurityGroupRuleTable[]> {
    const q = tx.selectFrom('security_group_rules').selectAll().where('security_group_id', '=', groupId);
    const coarse = new Map(rules.map((r) => [`${r.direction} ${r.ethertype} ${r.port_range_min} ${r.port_range_max}`, r]));
    if (coarse.size > 50) return q.execute();
    return q
      .where((eb) =>
        eb.or(
          [...coarse.values()].map((r) =>
            eb.and([
              eb('direction', '=', r.direction),
              eb('ethertype', '=', r.ethertype),
              r.port_range_min === null ? eb('port_range_min', 'is', null) : eb('port_range_min', '=', r.port_range_min),
              r.port_range_max === null ? eb('port_range_max', 'is', null) : eb('port_range_max', '=', r.port_range_max),
            ]),
          ),
        ),
      )
      .execute();
  }

  /**
   * Every attribute of a rule but its description is read-only, and the controller refuses them
   * as Neutron does (400 "Cannot update read-only attribute ..."). A description alone passes
   * Neutron's checks and then fails in its plugin, which has no update method (a 500); the answer
   * here is the one Neutron gives for an operation its plugin does not implement: 501.
   */
  async update(): Promise<Rec> {
    throw securityGroupRuleUpdateNotSupported();
  }

  async delete(ctx: RequestContext, id: string, expectRevision?: number): Promise<void> {
    const before = await inTransaction(this.s.db, async (tx) => {
      const row = await forUpdate(
        this.s.db,
        tx.selectFrom('security_group_rules').select(['id', 'security_group_id', 'revision_number']).where('id', '=', id),
      ).executeTakeFirst();
      if (!row) throw this.notFound(id);
      checkRevision(row.revision_number, expectRevision);
      await tx.deleteFrom('security_group_rules').where('id', '=', id).execute();
      await this.s.bumpGroup(tx, [row.security_group_id]);
      return row;
    });
    await this.s.callbacks.publish('security_group_rule', Events.AFTER_DELETE, { context: ctx, resourceId: id, before, after: null });
  }
}

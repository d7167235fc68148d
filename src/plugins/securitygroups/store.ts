// What the security group handlers and the port hook share: visibility (own groups and those an
// RBAC access_as_shared entry shares), API dicts of groups and rules, the one `default` group per
// project created on first use, and Neutron's errors.
import { randomUUID } from 'node:crypto';
import { sql, type SqlBool, type RawBuilder } from 'kysely';
import type { RequestContext } from '../../core/context.js';
import type { Rec } from '../../core/resource.js';
import type { Db } from '../../db/connection.js';
import { isDuplicateKey } from '../../db/connection.js';
import type { SecurityGroupRuleTable, SecurityGroupTable } from '../../db/schema.js';
import { i2b, inTransaction, nowIso, type Reader, type Tx } from '../../db/tx.js';
import type { QuotaEngine } from '../../quota/quota.js';
import { idChunks, loadTags, whereIdIn } from '../common/list-sql.js';
import type { CallbackRegistry } from '../../core/callbacks.js';
import { rulesFromTemplate } from './default-rules.js';

export const RBAC_TYPE = 'security_group';
export const DEFAULT_SG_NAME = 'default';
export const DEFAULT_SG_DESCRIPTION = 'Default security group';

/** Foreign-key violation on any backend (a referenced row vanished under us). */
export function isForeignKeyViolation(err: unknown): boolean {
  const e = err as { code?: string; errno?: number };
  return e?.code === '23503' || e?.code === 'SQLITE_CONSTRAINT_FOREIGNKEY' || e?.errno === 1452 || e?.code === 'ER_NO_REFERENCED_ROW_2';
}

/** SQL: the group with id `idRef` is shared with the project or with everyone. */
export function sgShared(projectId: string | null, idRef: string): RawBuilder<SqlBool> {
  return sql<SqlBool>`${sql.ref(idRef)} in (select r.object_id from rbac_entries r where r.object_type = ${RBAC_TYPE} and r.action = 'access_as_shared' and r.target_project in ('*', ${projectId ?? ''}))`;
}

/** SQL: groups a project sees (its own and those shared with it). */
export function sgVisibleTo(projectId: string | null, ownerRef: string, idRef: string): RawBuilder<SqlBool> {
  return sql<SqlBool>`(${sql.ref(ownerRef)} = ${projectId ?? ''} or ${sgShared(projectId, idRef)})`;
}

export function ruleDict(r: SecurityGroupRuleTable): Rec {
  return {
    id: r.id,
    tenant_id: r.project_id,
    project_id: r.project_id,
    security_group_id: r.security_group_id,
    ethertype: r.ethertype,
    direction: r.direction,
    protocol: r.protocol,
    port_range_min: r.port_range_min === null ? null : Number(r.port_range_min),
    port_range_max: r.port_range_max === null ? null : Number(r.port_range_max),
    remote_ip_prefix: r.remote_ip_prefix,
    remote_address_group_id: r.remote_address_group_id,
    normalized_cidr: r.normalized_cidr,
    remote_group_id: r.remote_group_id,
    description: r.description,
    created_at: r.created_at,
    updated_at: r.updated_at,
    revision_number: Number(r.revision_number),
  };
}

export interface NewRule {
  id?: string;
  project_id: string;
  security_group_id: string;
  direction: string;
  ethertype: string;
  protocol?: string | null;
  port_range_min?: number | null;
  port_range_max?: number | null;
  remote_ip_prefix?: string | null;
  normalized_cidr?: string | null;
  remote_group_id?: string | null;
  remote_address_group_id?: string | null;
  description?: string;
}

export class SecurityGroupStore {
  /** Group id -> owner. Owners never change and ids are never reused, so this never goes stale. */
  private readonly owners = new Map<string, string>();
  /**
   * Projects whose default group this process has seen. Only the writes that merely make sure
   * the group exists (network create, port update) trust it; lists and port creates always read.
   * A default group deleted through another server leaves an entry here, and the group then
   * comes back at the project's next list or port create instead of its next network create.
   */
  private readonly withDefault = new Set<string>();

  constructor(
    readonly db: Db,
    readonly quota: QuotaEngine,
    readonly callbacks: CallbackRegistry,
  ) {}

  // ---- owners (policy targets of rules) --------------------------------------------------------

  rememberOwner(id: string, owner: string): void {
    if (this.owners.size >= 100_000) this.owners.clear();
    this.owners.set(id, owner);
  }

  async ownerOf(id: string): Promise<string | null> {
    const known = this.owners.get(id);
    if (known !== undefined) return known;
    const r = await this.db.kysely.selectFrom('security_groups').select('project_id').where('id', '=', id).executeTakeFirst();
    if (!r) return null;
    this.rememberOwner(id, r.project_id);
    return r.project_id;
  }

  /** The group if the caller may use it (admins: any), else null. */
  async visibleGroup(db: Reader, ctx: RequestContext, id: string): Promise<SecurityGroupTable | null> {
    let q = db.selectFrom('security_groups').selectAll().where('id', '=', id);
    if (!ctx.isAdmin) q = q.where(sgVisibleTo(ctx.projectId, 'security_groups.project_id', 'security_groups.id'));
    return (await q.executeTakeFirst()) ?? null;
  }

  // ---- dicts ---------------------------------------------------------------------------------

  async rulesOf(db: Reader, groupIds: string[]): Promise<Map<string, Rec[]>> {
    const out = new Map<string, Rec[]>();
    for (const part of idChunks(this.db, groupIds)) {
      const q = whereIdIn(this.db, db.selectFrom('security_group_rules').selectAll(), 'security_group_id', part).orderBy('created_at').orderBy('id');
      for (const r of await q.execute()) {
        const l = out.get(r.security_group_id);
        if (l) l.push(ruleDict(r));
        else out.set(r.security_group_id, [ruleDict(r)]);
      }
    }
    return out;
  }

  /** API dicts of group rows; `fields` (a list's ?fields=) spares reading rules or tags not asked for. */
  async groupDicts(ctx: RequestContext, db: Reader, rows: SecurityGroupTable[], fields: string[] = []): Promise<Rec[]> {
    const want = (f: string) => fields.length === 0 || fields.includes(f);
    const ids = rows.map((r) => r.id);
    for (const r of rows) this.rememberOwner(r.id, r.project_id);
    const rules = want('security_group_rules') ? await this.rulesOf(db, ids) : undefined;
    const tags = want('tags') ? await loadTags(db, ids, this.db) : undefined;
    const shared = new Set<string>();
    if (want('shared') && ids.length) {
      for (const part of idChunks(this.db, ids)) {
        const q = whereIdIn(this.db, db.selectFrom('rbac_entries').select('object_id'), 'object_id', part)
          .where('object_type', '=', RBAC_TYPE)
          .where('action', '=', 'access_as_shared')
          .where('target_project', 'in', ['*', ctx.projectId ?? '']);
        for (const r of await q.execute()) shared.add(r.object_id);
      }
    }
    return rows.map((row) => ({
      id: row.id,
      name: row.name,
      stateful: i2b(row.stateful),
      tenant_id: row.project_id,
      project_id: row.project_id,
      description: row.description,
      security_group_rules: rules ? (rules.get(row.id) ?? []) : undefined,
      shared: shared.has(row.id),
      tags: tags ? (tags.get(row.id) ?? []) : undefined,
      created_at: row.created_at,
      updated_at: row.updated_at,
      revision_number: Number(row.revision_number),
    }));
  }

  // ---- writes --------------------------------------------------------------------------------

  async insertGroup(tx: Tx, g: { id: string; project_id: string; name: string; description: string; stateful: boolean }): Promise<void> {
    const now = nowIso();
    await tx
      .insertInto('security_groups')
      .values({
        id: g.id,
        project_id: g.project_id,
        name: g.name,
        description: g.description,
        stateful: g.stateful ? 1 : 0,
        revision_number: 0,
        created_at: now,
        updated_at: now,
      })
      .execute();
    this.rememberOwner(g.id, g.project_id);
  }

  async insertRules(tx: Tx, rules: NewRule[]): Promise<string[]> {
    if (!rules.length) return [];
    const now = nowIso();
    const rows: SecurityGroupRuleTable[] = rules.map((r) => ({
      id: r.id ?? randomUUID(),
      project_id: r.project_id,
      security_group_id: r.security_group_id,
      remote_group_id: r.remote_group_id ?? null,
      remote_address_group_id: r.remote_address_group_id ?? null,
      direction: r.direction,
      ethertype: r.ethertype,
      protocol: r.protocol ?? null,
      port_range_min: r.port_range_min ?? null,
      port_range_max: r.port_range_max ?? null,
      remote_ip_prefix: r.remote_ip_prefix ?? null,
      normalized_cidr: r.normalized_cidr ?? null,
      description: r.description ?? '',
      revision_number: 0,
      created_at: now,
      updated_at: now,
    }));
    await tx.insertInto('security_group_rules').values(rows).execute();
    return rows.map((r) => r.id);
  }

  /** Bumps a group's revision (Neutron revises the group when its rules change). */
  async bumpGroup(tx: Tx, ids: string[]): Promise<void> {
    if (!ids.length) return;
    await tx
      .updateTable('security_groups')
      .set((eb) => ({ revision_number: eb('revision_number', '+', 1), updated_at: nowIso() }))
      .where('id', 'in', ids)
      .execute();
  }

  /** The rules a new (non-default) group starts with: the template's used_in_non_default_sg ones. */
  newGroupRules(tx: Tx, groupId: string, projectId: string): Promise<NewRule[]> {
    return rulesFromTemplate(tx, groupId, projectId, false);
  }

  // ---- the default group -----------------------------------------------------------------------

  async defaultOf(db: Reader, projectId: string): Promise<string | null> {
    const r = await db.selectFrom('default_security_groups').select('security_group_id').where('project_id', '=', projectId).executeTakeFirst();
    if (r) this.rememberDefault(projectId);
    return r?.security_group_id ?? null;
  }

  private rememberDefault(projectId: string): void {
    if (this.withDefault.size >= 100_000) this.withDefault.clear();
    this.withDefault.add(projectId);
  }

  /** The project's default group was deleted (by this process). */
  forgetDefault(projectId: string): void {
    this.withDefault.delete(projectId);
  }

  /** ensureDefault(), skipped for a project whose default group this process has seen. */
  async ensureDefaultExists(ctx: RequestContext, projectId: string | null | undefined): Promise<void> {
    if (projectId && this.withDefault.has(projectId)) return;
    await this.ensureDefault(ctx, projectId);
  }

  /**
   * The project's `default` group, created (with Neutron's four rules) when it has none yet.
   * A project may not make one for another project: then null. Concurrent first requests race
   * on the default_security_groups primary key; the losers read the winner's group.
   */
  async ensureDefault(ctx: RequestContext, projectId: string | null | undefined): Promise<string | null> {
    if (!projectId) return null;
    if (projectId !== ctx.projectId && !ctx.isAdmin) return null;
    for (let attempt = 0; ; attempt++) {
      const found = await this.defaultOf(this.db.kysely, projectId);
      if (found) return found;
      try {
        const id = await inTransaction(this.db, (tx) => this.createDefault(tx, projectId));
        this.rememberDefault(projectId);
        return id;
      } catch (err) {
        if (attempt >= 5 || !isDuplicateKey(err)) throw err;
      }
    }
  }

  private async createDefault(tx: Tx, projectId: string): Promise<string> {
    const id = randomUUID();
    // The default group's rules come from the template (security-groups-default-rules), seeded
    // with Neutron's four: members reach each other, everything may go out.
    const rules = await rulesFromTemplate(tx, id, projectId, true);
    // Like Neutron, the group itself is not counted against the security_group quota here, but its
    // rules must fit in the rule quota. enforce() also takes the project's lock row, so
    // concurrent creators queue up behind the first and find its group below.
    await this.quota.enforce(tx, projectId, { security_group_rule: rules.length });
    const existing = await this.defaultOf(tx, projectId);
    if (existing) return existing;
    await this.insertGroup(tx, { id, project_id: projectId, name: DEFAULT_SG_NAME, description: DEFAULT_SG_DESCRIPTION, stateful: true });
    await tx.insertInto('default_security_groups').values({ project_id: projectId, security_group_id: id }).execute();
    await this.insertRules(tx, rules);
    return id;
  }
}

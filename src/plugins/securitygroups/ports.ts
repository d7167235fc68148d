// Security groups on ports (the `security_groups` port attribute and its port-security rules, as
// ML2 applies them): a port gets its project's default group when none is given, unless port
// security is off or the port is Neutron's own (device_owner network:*); groups need port
// security; port security cannot be turned off while groups remain. The bindings live in
// security_group_port_bindings, from which agents will compute group membership.
import { sql, type SelectQueryBuilder, type SqlBool } from 'kysely';
import type { RequestContext } from '../../core/context.js';
import type { Rec } from '../../core/resource.js';
import { NOT_SPECIFIED } from '../../definitions/common.js';
import { i2b, type Reader, type Tx } from '../../db/tx.js';
import { idChunks, whereIdIn } from '../common/list-sql.js';
import { selectRowsAsOne } from '../../db/rows.js';
import {
  portSecurityAndIPRequiredForSecurityGroups,
  portSecurityPortHasSecurityGroup,
  securityGroupConflict,
  securityGroupNotFound,
} from './errors.js';
import { isForeignKeyViolation, sgShared, type SecurityGroupStore } from './store.js';

/** Where beforeCreate() leaves, on each port body, what the port transaction needs. */
const PLAN = Symbol('security-groups');

interface Plan {
  ctx: RequestContext;
  defaultGroup: string | null;
}

/** Ports that Neutron trusts (its own: DHCP, router interfaces, ...) get no security groups. */
const isTrusted = (deviceOwner: unknown) => typeof deviceOwner === 'string' && deviceOwner.startsWith('network:');

const given = (v: unknown): v is string[] => Array.isArray(v);

export class PortSecurityGroups {
  constructor(private readonly s: SecurityGroupStore) {}

  /**
   * Before the port transaction: each project's default group exists (Neutron ensures it on
   * every port create, whatever the port asks for).
   */
  async beforeCreate(ctx: RequestContext, bodies: Rec[]): Promise<void> {
    const defaults = new Map<string, string | null>();
    for (const body of bodies) {
      const p = body.project_id as string;
      if (!defaults.has(p)) defaults.set(p, await this.s.ensureDefault(ctx, p));
      (body as Record<symbol, Plan>)[PLAN] = { ctx, defaultGroup: defaults.get(p) ?? null };
    }
  }

  /**
   * Before a write outside the port create path, each project's default group exists: Neutron
   * ensures it before a network is created and before a port is updated (for the port's project),
   * whatever the request asks for. A project's request never makes another project's group.
   */
  async ensureDefaultGroups(ctx: RequestContext, projectIds: Iterable<string | null | undefined>): Promise<void> {
    for (const p of new Set(projectIds)) if (p) await this.s.ensureDefaultExists(ctx, p);
  }

  /** In the port's transaction, after its row: checks and stores its groups; returns their ids. */
  async bindOnCreate(tx: Tx, body: Rec, portSecurity: boolean): Promise<string[]> {
    const plan = (body as Record<symbol, Plan | undefined>)[PLAN];
    const requested = body.security_groups;
    if (!portSecurity) {
      if (given(requested) && requested.length) throw portSecurityAndIPRequiredForSecurityGroups();
      return [];
    }
    if (isTrusted(body.device_owner)) return [];
    let ids: string[];
    if (given(requested)) {
      ids = requested;
      await this.validate(tx, plan?.ctx, body.project_id as string, ids);
    } else {
      ids = plan?.defaultGroup ? [plan.defaultGroup] : [];
    }
    await this.store(tx, body.id as string, ids);
    return sorted(ids);
  }

  /**
   * In the port's update transaction, once port security's new value is known: refuses groups
   * without port security, and replaces the groups when the request gives them.
   */
  async onUpdate(tx: Tx, ctx: RequestContext, port: { id: string; project_id: string }, body: Rec, portSecurity: boolean): Promise<void> {
    const requested = 'security_groups' in body && body.security_groups !== NOT_SPECIFIED ? (body.security_groups as string[]) : null;
    const current = (await this.load(tx, [port.id])).get(port.id) ?? [];
    if (!portSecurity) {
      if (requested && requested.length) throw portSecurityAndIPRequiredForSecurityGroups();
      if (!requested && current.length) {
        throw portSecurityPortHasSecurityGroup();
      }
    }
    if (!requested || sameSet(requested, current)) return;
    await this.validate(tx, ctx, port.project_id, requested);
    await tx.deleteFrom('security_group_port_bindings').where('port_id', '=', port.id).execute();
    await this.store(tx, port.id, requested);
  }

  /**
   * 404 SecurityGroupNotFound (naming the missing ones) unless every group is visible to the
   * caller and owned by or shared with the port's project; and one port cannot mix stateful and
   * stateless groups.
   */
  private async validate(tx: Tx, ctx: RequestContext | undefined, projectId: string, ids: string[]): Promise<void> {
    if (!ids.length) return;
    let q = tx.selectFrom('security_groups').select(['id', 'stateful']).where('id', 'in', ids);
    if (!ctx?.isAdmin) {
      const caller = ctx?.projectId ?? projectId;
      q = q
        .where(sql<SqlBool>`(security_groups.project_id = ${caller} or ${sgShared(caller, 'security_groups.id')})`)
        .where(sql<SqlBool>`(security_groups.project_id = ${projectId} or ${sgShared(projectId, 'security_groups.id')})`);
    }
    const found = await q.execute();
    const ok = new Set(found.map((g) => g.id));
    const missing = ids.filter((id) => !ok.has(id));
    if (missing.length) throw securityGroupNotFound(missing.join(', '));
    if (new Set(found.map((g) => i2b(g.stateful))).size > 1) {
      throw securityGroupConflict('Cannot apply both stateful and stateless security groups on the same port at the same time');
    }
  }

  private async store(tx: Tx, portId: string, ids: string[]): Promise<void> {
    if (!ids.length) return;
    try {
      await tx
        .insertInto('security_group_port_bindings')
        .values(ids.map((security_group_id) => ({ port_id: portId, security_group_id })))
        .execute();
    } catch (err) {
      // A group deleted between the check and here.
      if (isForeignKeyViolation(err)) throw securityGroupNotFound(ids.join(', '));
      throw err;
    }
  }

  /** Port id -> its group ids (sorted), for port dicts. */
  async load(db: Reader, portIds: string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    let several = false;
    for (const part of idChunks(this.s.db, portIds)) {
      // One query per chunk, read through selectRowsAsOne's fast path; ordered below, per port (most
      // ports have one group), rather than by a sort of every binding in SQL.
      const q = whereIdIn(this.s.db, db.selectFrom('security_group_port_bindings').select(['port_id', 'security_group_id']), 'port_id', part);
      const rows = await selectRowsAsOne<{ port_id: string; security_group_id: string }>(this.s.db, db, q, 'security_group_port_bindings', [
        'port_id',
        'security_group_id',
      ]);
      for (let i = 0; i < rows.length; i++) {
        const b = rows[i]!;
        const l = out.get(b.port_id);
        if (l) {
          l.push(b.security_group_id);
          several = true;
        } else out.set(b.port_id, [b.security_group_id]);
      }
    }
    if (several) for (const l of out.values()) if (l.length > 1) l.sort();
    return out;
  }

  /** Sub-select of the ports that use any of the groups (the ports' `security_groups` filter). */
  // biome-ignore lint/suspicious/noExplicitAny: a subquery for any outer query's `ports.id in (…)`
  portsUsing(db: Reader, groupIds: string[]): SelectQueryBuilder<any, any, { port_id: string }> {
    return db.selectFrom('security_group_port_bindings').select('port_id').where('security_group_id', 'in', groupIds);
  }
}

function sorted(ids: string[]): string[] {
  return [...ids].sort();
}

function sameSet(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(b);
  return a.every((x) => s.has(x));
}

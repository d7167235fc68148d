// Ports in the ML2 plugin: MAC and fixed IP allocation (unique per network/subnet, enforced by
// the database), port security, allowed address pairs, extra DHCP options and binding fields.
import { randomUUID } from 'node:crypto';
import { CompiledQuery, sql, type AliasedRawBuilder, type RawBuilder, type SqlBool } from 'kysely';
import type { ListQuery } from '../../core/list-query.js';
import { jsonSqlOf, pgListJsonSql, type JsonExpr, type JsonSql } from '../common/json-sql.js';
import type { RequestContext } from '../../core/context.js';
import { GENERATE_MAC, portDef } from '../../definitions/port.js';
import { NOT_SPECIFIED } from '../../definitions/common.js';
import { badRequest } from '../../core/errors.js';
import type { Rec } from '../../core/resource.js';
import { letOthersRun } from '../../core/event-loop.js';
import { b2i, forShare, forUpdate, i2b, inTransaction, nowIso, type AnySelect, type Reader, type Tx } from '../../db/tx.js';
import type { IpAllocationTable, PortTable } from '../../db/schema.js';
import { selectRows, selectRowsAsOne } from '../../db/rows.js';
import { isDuplicateKey, type Db } from '../../db/connection.js';
import { Precompiled, type Slot } from '../../db/precompiled.js';
import { chunks, idChunks, loadTags, whereIdIn } from '../common/list-sql.js';
import { TableResource, type RowCondition, type TableQuery } from '../common/table-resource.js';
import { checkRevision } from '../common/standard.js';
import type { Ml2Context } from './context.js';
import { checkNetworkVisible, networkOwner, networkSharedWith } from './network-access.js';
import {
  addressPairAndPortSecurityRequired,
  macAddressGenerationFailure,
  macAddressInUse,
  networkNotFound,
  portBound,
  portNotFound,
  unsupportedPortDeviceOwner,
} from './errors.js';
import { SubnetHandler, type SubnetInfo } from './subnets.js';
import { PortIpAllocator, type FixedIp } from './ip-allocator.js';
import { validateAddressPairs, validateDhcpOpts, type AddressPair, type DhcpOpt } from './port-extras.js';
import { freshMac, macInUse, VNIC_DIRECT_PHYSICAL, type MacSettings } from './mac-override.js';
import { canonicalIp, eui64Address, isAutoAddressSubnet, parseBaseMac, randomMac, type BaseMac } from '../../ipam/index.js';
import { VIF_TYPE_BINDING_FAILED, VIF_TYPE_UNBOUND } from '../../core/wire.js';
import { Events } from '../../core/callbacks.js';
import { candidateSubnets, hostSegments, isRouted, subnetsForFixedIps, subnetsForHost, type IpAllocation } from './routed-subnets.js';
import { hostNotCompatibleWithFixedIps } from './errors.js';

/**
 * ip_allocation as a filter and sort key (Neutron's ports.ip_allocation column): kept in
 * port_attributes, null or no row meaning immediate.
 */
const IP_ALLOCATION_KEY = {
  column: 'ip_allocation',
  expr: (t: string) => sql`coalesce((select pa.ip_allocation from port_attributes pa where pa.port_id = ${sql.ref(`${t}.id`)}), 'immediate')`,
};

/** Non-admins see their own ports and every port on networks they own (Neutron's port filter hook). */
export class PortHandler extends TableResource<'ports'> {
  private readonly subnets: SubnetHandler;
  private readonly ips: PortIpAllocator;

  constructor(private readonly m: Ml2Context) {
    super({ def: portDef, db: m.db, notFound: portNotFound, columns: { ip_allocation: IP_ALLOCATION_KEY } });
    this.subnets = new SubnetHandler(m);
    this.ips = new PortIpAllocator(m);
  }

  parentOwner(_ctx: RequestContext, networkId: string): Promise<string | null> {
    return networkOwner(this.m.db, networkId);
  }

  checkParent(ctx: RequestContext, networkId: string): Promise<string> {
    return checkNetworkVisible(this.m.db, ctx, networkId);
  }

  parentShared(networkId: string, projectId: string | null): Promise<boolean> {
    return networkSharedWith(this.m.db, networkId, projectId);
  }

  // ---- reads ---------------------------------------------------------------------------------

  protected override scope(ctx: RequestContext): RowCondition {
    if (ctx.isAdmin) return null;
    const p = ctx.projectId ?? '';
    return sql<SqlBool>`(ports.project_id = ${p} or ports.network_id in (select n.id from networks n where n.project_id = ${p}))`;
  }

  /**
   * What policy may read of the ports scope() gives a non-admin: their own, on any network, and
   * anyone's on a network of theirs (see Controller.seesEverything).
   */
  scopeTargets(ctx: RequestContext): Rec[] | null {
    if (ctx.isAdmin) return null;
    const p = ctx.projectId ?? '';
    const owner = (port: string, net: string) => ({ project_id: port, tenant_id: port, 'network:project_id': net, 'network:tenant_id': net });
    return [owner(p, UNKNOWN_PROJECT), owner(UNKNOWN_PROJECT, p)];
  }

  /** fixed_ips and security_groups live in other tables. */
  protected override filterRest(_ctx: RequestContext, qb: TableQuery<'ports'>, rest: Record<string, unknown[]>): TableQuery<'ports'> {
    const db = this.m.db.kysely;
    if (rest.fixed_ips) qb = qb.where('ports.id', 'in', this.fixedIpFilter(db, rest.fixed_ips as string[]));
    if (rest.security_groups && this.m.securityGroups)
      qb = qb.where('ports.id', 'in', this.m.securityGroups.portsUsing(db, rest.security_groups as string[]));
    return qb;
  }

  /** Port lists run to thousands of rows: read them the fast way (db/rows.ts). */
  protected override listRows(db: Reader, qb: TableQuery<'ports'>): Promise<PortTable[]> {
    return selectRows<PortTable>(this.m.db, db, qb, 'ports');
  }

  protected dictsOf(_ctx: RequestContext, db: Reader, rows: PortTable[], fields: string[]): Promise<Rec[]> {
    return this.toDicts(db, rows, fields);
  }

  /** keys joined by NUL -> one port's JSON by id: its SQL and what each parameter is (an admin's; a non-admin's, scoped). */
  private readonly showSql = new Map<string, ShowStatement | null>();
  private readonly showSqlScoped = new Map<string, ShowStatement | null>();

  /**
   * keys joined by NUL, per keys array: the controller passes the same array for the same kind of
   * caller, so a show does not join 30 names and hash the result each time.
   */
  private readonly joinedKeys = new WeakMap<readonly string[], string>();
  private cacheKeyOf(keys: readonly string[]): string {
    let k = this.joinedKeys.get(keys);
    if (k === undefined) this.joinedKeys.set(keys, (k = keys.join('\0')));
    return k;
  }

  /** A query for one id alone (within the caller's scope). */
  private isOneById(q: ListQuery): boolean {
    const t = q.tagFilters;
    return (
      Object.keys(q.filters).length === 1 &&
      q.sorts.length === 0 &&
      !q.marker &&
      q.limit === null &&
      !t.tags?.length &&
      !t.tagsAny?.length &&
      !t.notTags?.length &&
      !t.notTagsAny?.length
    );
  }

  /**
   * A show's statement, compiled once per set of keys and per scope kind (everything, or a
   * non-admin's), its parameters the id and the caller's project; null when something else
   * would be one.
   */
  private showStatement(ctx: RequestContext, cacheKey: string, expr: PortJsonSelect): ShowStatement | null {
    // scope() is null for admins alone (not built here: it is a new SQL node each call).
    const scoped = !ctx.isAdmin;
    const statements = scoped ? this.showSqlScoped : this.showSql;
    let one = statements.get(cacheKey);
    if (one === undefined) {
      const ID = '\0id';
      const PROJECT = '\0project';
      let qb = this.m.db.reader
        .selectFrom('ports')
        .leftJoin('port_attributes as pa', 'pa.port_id', 'ports.id')
        .select(expr.columns)
        .where('ports.id', '=', ID);
      if (scoped) qb = qb.where(this.scope({ ...ctx, projectId: PROJECT })!);
      const c = qb.compile();
      const slots = c.parameters.map((v) => (v === ID ? 'id' : v === PROJECT ? 'project' : null));
      one = slots.every((x) => x !== null) ? { sql: c.sql, slots: slots as ShowStatement['slots'] } : null;
      if (one) this.m.db.prepare?.(one.sql);
      statements.set(cacheKey, one);
    }
    return one;
  }

  /** keys joined by NUL -> the row's JSON expression, or null (the generic path). */
  private readonly jsonExprs = new Map<string, PortJsonSelect | null>();

  /**
   * The list written by the database (issue 14): one JSON text per port, the attributes `keys`
   * in order, each from portJsonParts() or an extension driver's portJson(). Anything else (an
   * attribute nobody here writes in SQL, a driver that extends port dicts without saying how in
   * SQL, a dialect without a JSON writer) gives null, and the list takes the generic path.
   */
  async listJson(ctx: RequestContext, q: ListQuery, keys: readonly string[]): Promise<string | Uint8Array | null> {
    const cacheKey = this.cacheKeyOf(keys);
    let expr = this.jsonExprs.get(cacheKey);
    if (expr === undefined) {
      expr = this.portJsonExpr(keys);
      this.jsonExprs.set(cacheKey, expr);
    }
    if (!expr) return null;
    const db = ctx.readOnly ? this.m.db.reader : this.m.db.kysely;
    const byId = q.filters.id;
    if (byId?.length === 1 && typeof byId[0] === 'string' && this.isOneById(q)) {
      const text = await this.oneJson(ctx, byId[0], cacheKey, expr, db);
      if (text !== undefined) return text === null ? '[]' : `[${text}]`;
    }
    const qb = await this.listQuery(ctx, q, db);
    if (this.m.db.dialect === 'postgres') return this.pgListJson(keys, qb, q.pageReverse, db);
    // The port's port_attributes row, `pa`, read once by a join (see Ml2ExtensionDriver.portJson).
    const joined = qb.clearSelect().leftJoin('port_attributes as pa', 'pa.port_id', 'ports.id');
    const selected = joined.select(expr.columns);
    if (this.m.db.dialect === 'sqlite' && !q.pageReverse) {
      // The whole array in one text, joined by SQLite in the rows' order (a plain subquery's
      // order is what its aggregate reads): no object per row for the driver to build, nor a
      // string per row for V8. As a blob: the UTF-8 bytes are sent as they are, not decoded
      // into a string to be encoded again.
      const c = selected.compile();
      const fb = expr.fallback ? `, max("fb") as "fb"` : '';
      const all = `select cast('[' || coalesce(group_concat("j", ','), '') || ']' as blob) as "j"${fb} from (${c.sql})`;
      const one = (await db.executeQuery<{ j: Uint8Array; fb?: number }>(CompiledQuery.raw(all, [...c.parameters]))).rows[0]!;
      return expr.fallback && one.fb ? null : one.j;
    }
    const rows = (await selected.execute()) as unknown as JsonRow[];
    if (expr.fallback && rows.some((r) => r.fb)) return null;
    if (q.pageReverse) rows.reverse();
    let out = '[';
    for (let i = 0; i < rows.length; i++) out += (i ? ',' : '') + rows[i]!.j;
    return out + ']';
  }

  /** keys joined by NUL -> PostgreSQL's list statement around a list's ids (pgListJson), or null. */
  private readonly pgListExprs = new Map<string, { select: PortJsonSelect; joins: RawBuilder<unknown> } | null>();

  /**
   * PostgreSQL's database-written list: the listed ports' ids and places first (`lp`, sorted as
   * the list asks), then each port's JSON with its lists and lookups read for all of them at once
   * (pgListJsonSql), placed by Node: the JSON is not sorted again (10 MB for 10,000 ports, which
   * spilled to disk at the default work_mem).
   */
  private async pgListJson(keys: readonly string[], qb: TableQuery<'ports'>, reverse: boolean, db: Reader): Promise<string | null> {
    const cacheKey = this.cacheKeyOf(keys);
    let expr = this.pgListExprs.get(cacheKey);
    if (expr === undefined) {
      const j = pgListJsonSql();
      const select = this.portJsonExpr(keys, j);
      expr = select && { select, joins: j.joins() };
      this.pgListExprs.set(cacheKey, expr);
    }
    if (!expr) return null;
    const ids = qb.clearSelect().select('ports.id');
    const statement = sql<JsonRow & { n: string }>`with lp as materialized (select q.id, row_number() over () as n from (${ids}) as q)
      select lp.n, ${sql.join(expr.select.columns)} from lp join ports on ports.id = lp.id
      left join port_attributes as pa on pa.port_id = ports.id ${expr.joins}`;
    const rows = (await statement.execute(db)).rows;
    const texts = new Array<string>(rows.length);
    for (const r of rows) {
      if (r.fb) return null;
      texts[Number(r.n) - 1] = r.j;
    }
    if (reverse) texts.reverse();
    return `[${texts.join(',')}]`;
  }

  /**
   * One port's JSON by its precompiled statement (the expression is a few hundred nodes to
   * compile), run on `db`: null when the caller's scope has no such port, undefined when the
   * generic path must answer.
   */
  private async oneJson(ctx: RequestContext, id: string, cacheKey: string, expr: PortJsonSelect, db: Reader): Promise<string | null | undefined> {
    const one = this.showStatement(ctx, cacheKey, expr);
    if (one === null) return undefined;
    const project = ctx.projectId ?? '';
    const r = await db.executeQuery<JsonRow>(
      CompiledQuery.raw(
        one.sql,
        one.slots.map((x) => (x === 'id' ? id : project)),
      ),
    );
    if (r.rows[0]?.fb) return undefined;
    return r.rows.length ? r.rows[0]!.j : null;
  }

  /** Every attribute toDicts() gives (joined by NUL), and its JSON expression; null: none here. */
  private fullJson: { cacheKey: string; expr: PortJsonSelect } | null | undefined;

  /**
   * The full dict: parsed from the JSON the database writes (one precompiled statement instead of
   * a query per list and per extension driver) when it can, else toDicts()'s.
   */
  override async get(ctx: RequestContext, id: string, db: Reader = this.readerFor(ctx)): Promise<Rec | null> {
    if (this.fullJson === undefined) {
      const j = jsonSqlOf(this.m.db);
      const known = j && this.portJsonKnown(j);
      const keys = known && Object.keys(known).filter((k) => known[k] !== null);
      const expr = keys && this.portJsonExpr(keys);
      this.fullJson = keys && expr ? { cacheKey: `${keys.join('\0')}\0full`, expr } : null;
    }
    if (this.fullJson) {
      const text = await this.oneJson(ctx, id, this.fullJson.cacheKey, this.fullJson.expr, db);
      if (text !== undefined) return text === null ? null : (JSON.parse(text) as Rec);
    }
    return super.get(ctx, id, db);
  }

  /** The JSON expression of each attribute a port dict may have (null: never set); null when a driver has none. */
  private portJsonKnown(j: JsonSql): Record<string, JsonExpr | null> | null {
    const known: Record<string, JsonExpr | null> = portJsonParts(j, !!this.m.securityGroups);
    for (const e of this.m.extensions ?? []) {
      if (!e.extendPortDicts) continue;
      if (!e.portJson) return null;
      Object.assign(known, e.portJson(j));
    }
    return known;
  }

  /**
   * What to select for the JSON of a `ports` row with `keys` (and whether a row must take the
   * generic path after all), or null when one of them is unknown here.
   */
  portJsonExpr(keys: readonly string[], j: JsonSql | null = jsonSqlOf(this.m.db)): PortJsonSelect | null {
    const known = j && this.portJsonKnown(j);
    if (!j || !known) return null;
    const fallbacks: RawBuilder<unknown>[] = [];
    for (const e of this.m.extensions ?? []) {
      const fb = e.extendPortDicts && e.portJsonFallback?.(j);
      if (fb) fallbacks.push(fb);
    }
    const expr = this.portJsonText(j, known, keys);
    if (!expr) return null;
    const fallback = fallbacks.length > 0;
    const columns = fallback
      ? [expr.as('j'), sql<unknown>`(case when ${sql.join(fallbacks, sql` or `)} then 1 else 0 end)`.as('fb')]
      : [expr.as('j')];
    return { columns, fallback };
  }

  private portJsonText(j: JsonSql, known: Record<string, JsonExpr | null>, keys: readonly string[]): JsonExpr | null {
    const pairs: Array<readonly [string, JsonExpr]> = [];
    for (const k of keys) {
      if (!(k in known)) return null;
      const v = known[k];
      if (v === null || v === undefined) continue; // never set: absent, as from the dicts
      pairs.push([k, v]);
    }
    return j.members(pairs);
  }

  /** fixed_ips=ip_address=X, fixed_ips=subnet_id=Y, fixed_ips=ip_address_substr=Z on one allocation. */
  private fixedIpFilter(db: Reader, raw: string[]) {
    const by: Record<string, string[]> = {};
    for (const r of raw) {
      const i = r.indexOf('=');
      if (i <= 0)
        throw badRequest(`Invalid input for fixed_ips filter: '${r}'; expected ip_address=<ip>, subnet_id=<id> or ip_address_substr=<text>`);
      const k = r.slice(0, i);
      if (k !== 'ip_address' && k !== 'subnet_id' && k !== 'ip_address_substr') {
        throw badRequest(`Invalid input for fixed_ips filter: unknown key '${k}'`);
      }
      (by[k] ??= []).push(r.slice(i + 1));
    }
    let q = db.selectFrom('ip_allocations').select('port_id');
    if (by.ip_address) q = q.where('ip_address', 'in', by.ip_address);
    if (by.subnet_id) q = q.where('subnet_id', 'in', by.subnet_id);
    if (by.ip_address_substr) {
      const likes = by.ip_address_substr.map((s) => sql<SqlBool>`ip_address like ${'%' + s.replace(/[%_\\]/g, (c) => '\\' + c) + '%'}`);
      q = q.where(sql<SqlBool>`(${sql.join(likes, sql` or `)})`);
    }
    return q;
  }

  /**
   * API dicts of port rows. With `fields` (a list's ?fields=), the lists that are not asked for
   * are not read and stay undefined: Neutron too fetches only the requested fields plus those
   * policy needs, and no policy rule reads these.
   */
  async toDicts(db: Reader, rows: PortTable[], fields: string[] = []): Promise<Rec[]> {
    const want = (name: string) => fields.length === 0 || fields.includes(name);
    const ids = rows.map((r) => r.id);
    const ips = want('fixed_ips') ? new Map<string, FixedIp[]>() : undefined;
    const pairs = want('allowed_address_pairs') ? new Map<string, AddressPair[]>() : undefined;
    const opts = want('extra_dhcp_opts') ? new Map<string, DhcpOpt[]>() : undefined;
    const byPort = <QB extends AnySelect>(qb: QB, part: string[]) => whereIdIn(this.m.db, qb, 'port_id', part);
    for (const part of idChunks(this.m.db, ids)) {
      if (ips) {
        const q = byPort(db.selectFrom('ip_allocations').select(['port_id', 'subnet_id', 'ip_address']), part);
        for (const a of await selectRowsAsOne<IpAllocationTable>(this.m.db, db, q, 'ip_allocations', ['port_id', 'subnet_id', 'ip_address'])) {
          push(ips, a.port_id, { subnet_id: a.subnet_id, ip_address: a.ip_address });
        }
      }
      if (pairs) {
        // In key order, as SQLite and MySQL read them anyway (PostgreSQL's order was its plan's).
        const q = byPort(db.selectFrom('allowed_address_pairs').selectAll(), part).orderBy('mac_address').orderBy('ip_address');
        for (const a of await q.execute()) {
          push(pairs, a.port_id, { ip_address: a.ip_address, mac_address: a.mac_address });
        }
      }
      if (opts) {
        const q = byPort(db.selectFrom('extra_dhcp_opts').selectAll(), part).orderBy('opt_name').orderBy('ip_version');
        for (const o of await q.execute()) {
          push(opts, o.port_id, { opt_name: o.opt_name, opt_value: o.opt_value, ip_version: Number(o.ip_version) });
        }
      }
    }
    const tags = want('tags') ? await loadTags(db, ids, this.m.db) : undefined;
    const sgs = want('security_groups') && this.m.securityGroups ? await this.m.securityGroups.load(db, ids) : undefined;
    const dicts = rows.map((row) =>
      portDict(
        row,
        ips && (ips.get(row.id) ?? []),
        pairs && (pairs.get(row.id) ?? []),
        opts && (opts.get(row.id) ?? []),
        tags && (tags.get(row.id) ?? []),
      ),
    );
    if (sgs) for (const d of dicts) d.security_groups = sgs.get(d.id as string) ?? [];
    for (const e of this.m.extensions ?? []) await e.extendPortDicts?.(db, dicts, want);
    return dicts;
  }

  // ---- writes --------------------------------------------------------------------------------

  async create(ctx: RequestContext, bodies: Rec[]): Promise<Rec[]> {
    await this.m.securityGroups?.beforeCreate(ctx, bodies);
    return inTransaction(this.m.db, async (tx) => {
      const created: Array<Rec | string> = [];
      const subnetCache = new Map<string, SubnetInfo[]>();
      const perProject = new Map<string, number>();
      // A bulk create holds the network alone, as before: two bulks taking addresses one by one
      // from one nearly full pool would each wait for an address the other holds (a deadlock,
      // found only after PostgreSQL's deadlock_timeout, then retried).
      const lock = bodies.length > 1 ? 'exclusive' : 'shared';
      for (const body of bodies) {
        created.push(await this.createOne(tx, body, subnetCache, lock, ctx));
        const p = body.project_id as string;
        perProject.set(p, (perProject.get(p) ?? 0) + 1);
        await letOthersRun();
      }
      // Quotas last: the project's lock is held from here to the commit only.
      for (const [p, n] of perProject) await this.m.quota.enforceInserted(tx, p, { port: n });
      const reread = created.filter((c): c is string => typeof c === 'string');
      const byId = new Map<string, Rec>();
      for (const part of chunks(reread)) {
        const rows = await tx.selectFrom('ports').selectAll().where('id', 'in', part).execute();
        for (const d of await this.toDicts(tx, rows)) byId.set(d.id as string, d);
      }
      void ctx;
      return created.map((c) => (typeof c === 'string' ? byId.get(c)! : c));
    });
  }

  /**
   * The network's row, locked: `exclusive` as updates and service plugins' writes take it, or
   * `shared` (port creates: many at once, none beside an exclusive holder).
   */
  private async lockNetwork(tx: Tx, networkId: string, mode: 'exclusive' | 'shared' = 'exclusive') {
    const [net] = await (mode === 'shared' ? NETWORK_SHARED : NETWORK_EXCLUSIVE).run(this.m.db, tx, [networkId]);
    if (!net) throw networkNotFound(networkId);
    return net;
  }

  /**
   * Inserts a new port's row with its MAC: the one asked for (MacAddressInUse if the network has
   * it), else a random one, drawn again when the (network_id, mac_address) key refuses it. No read
   * first: the key decides, also between concurrent creates.
   */
  private async insertPort(tx: Tx, row: PortTable, requested: unknown): Promise<void> {
    const given = requested !== NOT_SPECIFIED && requested !== undefined && requested !== GENERATE_MAC;
    for (let i = 1; ; i++) {
      row.mac_address = given ? (requested as string) : randomMac((this.baseMac ??= parseBaseMac(this.m.core.baseMac)));
      if (await this.tryInsertPort(tx, row)) return;
      if (given) throw macAddressInUse(row.network_id, row.mac_address);
      if (i >= this.m.core.macGenerationRetries) throw macAddressGenerationFailure(row.network_id);
    }
  }

  private baseMac: BaseMac | undefined;

  /** False when the network has the row's MAC (on PostgreSQL a failed statement would abort the transaction). */
  private async tryInsertPort(tx: Tx, row: PortTable): Promise<boolean> {
    try {
      const values = PORT_COLUMNS.map((c) => row[c]);
      if (this.m.db.dialect !== 'postgres') {
        await INSERT_PORT.run(this.m.db, tx, values);
        return true;
      }
      return (await INSERT_PORT_UNLESS_MAC.run(this.m.db, tx, values)).length === 1;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      if (this.m.db.dialect === 'postgres') throw macAddressInUse(row.network_id, row.mac_address);
      return false;
    }
  }

  private async chooseMac(tx: Tx, networkId: string, requested: unknown): Promise<string> {
    // mac_address null (port-mac-address-regenerate) asks for a fresh one, like an absent one.
    if (requested !== NOT_SPECIFIED && requested !== undefined && requested !== GENERATE_MAC) {
      const mac = requested as string;
      if (await macInUse(tx, networkId, mac)) throw macAddressInUse(networkId, mac);
      return mac;
    }
    return freshMac(tx, networkId, this.macSettings());
  }

  private macSettings(): MacSettings {
    return { baseMac: this.m.core.baseMac, retries: this.m.core.macGenerationRetries };
  }

  /**
   * Inserts one port. Returns its dict when it is exactly what reading it back would give, else
   * its id for the caller to read back: lists whose stored order is the database's (address pairs,
   * DHCP options, several fixed IPs, which MySQL returns in key order) are read back.
   */
  private async createOne(
    tx: Tx,
    body: Rec,
    subnetCache: Map<string, SubnetInfo[]>,
    lock: 'exclusive' | 'shared',
    ctx: RequestContext | null = null,
  ): Promise<Rec | string> {
    const networkId = body.network_id as string;
    const net = await this.lockNetwork(tx, networkId, lock);
    const projectId = body.project_id as string;
    let subnets = subnetCache.get(networkId);
    if (!subnets) {
      subnets = await this.subnets.subnetsOf(tx, networkId);
      subnetCache.set(networkId, subnets);
    }
    const owner = body.device_owner as string;
    // Routed networks: the subnets of the host's segment, or none yet (deferred).
    const host = body['binding:host_id'] as string;
    const candidates = await candidateSubnets(tx, networkId, subnets, host, body.fixed_ips, owner);
    const pool = candidates.subnets;
    body.ip_allocation = candidates.allocation;
    const pse = body.port_security_enabled === NOT_SPECIFIED ? i2b(net.port_security_enabled) : (body.port_security_enabled as boolean);
    const now = nowIso();
    const id = body.id as string;
    const row: PortTable = {
      id,
      network_id: networkId,
      project_id: projectId,
      name: body.name as string,
      mac_address: '',
      admin_state_up: b2i(body.admin_state_up as boolean),
      status: 'DOWN',
      device_id: body.device_id as string,
      device_owner: owner,
      port_security_enabled: b2i(pse),
      binding_host_id: host,
      binding_vnic_type: body['binding:vnic_type'] as string,
      binding_profile: JSON.stringify(body['binding:profile'] ?? {}),
      binding_vif_type: host ? VIF_TYPE_BINDING_FAILED : VIF_TYPE_UNBOUND,
      binding_vif_details: '{}',
      description: body.description as string,
      revision_number: 0,
      created_at: now,
      updated_at: now,
    };
    // The row first: the addresses' rows refer to it.
    await this.insertPort(tx, row, body.mac_address);
    const mac = row.mac_address;
    const fixed = candidates.allocation === 'deferred' ? [] : await this.ips.allocateNew(tx, id, networkId, pool, body.fixed_ips, mac, owner);
    const pairs =
      body.allowed_address_pairs === NOT_SPECIFIED
        ? []
        : validateAddressPairs(body.allowed_address_pairs as Rec[], mac, this.m.core.maxAllowedAddressPairs);
    if (pairs.length && !pse) throw addressPairAndPortSecurityRequired();
    const dhcpOpts = validateDhcpOpts(body.extra_dhcp_opts as Rec[], false);
    const tags = [...new Set((body.tags as string[] | undefined) ?? [])];
    if (tags.length)
      await tx
        .insertInto('tags')
        .values(tags.map((tag) => ({ resource_id: id, resource_type: 'port', tag })))
        .execute();
    if (candidates.allocation !== 'immediate') await this.setIpAllocation(tx, id, candidates.allocation);
    // A new port has no pairs or options to replace: only inserts are needed.
    if (pairs.length) await this.writePairs(tx, id, pairs);
    if (dhcpOpts.length) await this.writeDhcpOpts(tx, id, dhcpOpts, []);
    const securityGroups = this.m.securityGroups ? await this.m.securityGroups.bindOnCreate(tx, body, pse) : [];
    const extra: Rec = {};
    for (const e of this.m.extensions ?? []) Object.assign(extra, await e.processCreatePort?.(tx, ctx, body, fixed));
    if (pairs.length || dhcpOpts.length || fixed.length > 1) return id;
    return Object.assign(
      portDict(
        row,
        fixed.map((ip) => ({ subnet_id: ip.subnet_id, ip_address: ip.ip_address })),
        [],
        [],
        tags.sort(),
      ),
      { security_groups: securityGroups },
      extra,
    );
  }

  /** A port's ip_allocation (routed networks); immediate is stored as null, the default. */
  private async setIpAllocation(tx: Tx, portId: string, value: IpAllocation): Promise<void> {
    const stored = value === 'immediate' ? null : value;
    const row = await tx.selectFrom('port_attributes').select('ip_allocation').where('port_id', '=', portId).executeTakeFirst();
    if (row) await tx.updateTable('port_attributes').set({ ip_allocation: stored }).where('port_id', '=', portId).execute();
    else if (stored) await tx.insertInto('port_attributes').values({ port_id: portId, ip_allocation: stored }).execute();
  }

  private async writePairs(tx: Tx, portId: string, pairs: AddressPair[]): Promise<void> {
    await tx.deleteFrom('allowed_address_pairs').where('port_id', '=', portId).execute();
    if (pairs.length)
      await tx
        .insertInto('allowed_address_pairs')
        .values(pairs.map((p) => ({ port_id: portId, ...p })))
        .execute();
  }

  /** Extra DHCP options merge by (name, version); a null value removes the option (Neutron). */
  private async writeDhcpOpts(tx: Tx, portId: string, opts: DhcpOpt[], existing: DhcpOpt[]): Promise<void> {
    const merged = new Map(existing.map((o) => [`${o.opt_name}/${o.ip_version}`, o]));
    for (const o of opts) {
      const key = `${o.opt_name}/${o.ip_version}`;
      if (o.opt_value === null) merged.delete(key);
      else merged.set(key, o);
    }
    await tx.deleteFrom('extra_dhcp_opts').where('port_id', '=', portId).execute();
    const rows = [...merged.values()].map((o) => ({
      id: randomUUID(),
      port_id: portId,
      opt_name: o.opt_name,
      opt_value: String(o.opt_value),
      ip_version: o.ip_version,
    }));
    if (rows.length) await tx.insertInto('extra_dhcp_opts').values(rows).execute();
  }

  async update(ctx: RequestContext, id: string, body: Rec, expectRevision?: number): Promise<Rec> {
    return inTransaction(this.m.db, async (tx) => {
      const read = () => tx.selectFrom('ports').selectAll().where('id', '=', id).executeTakeFirst();
      const found = await read();
      if (!found) throw this.notFound(id);
      await this.lockNetwork(tx, found.network_id);
      // Read again under the network's lock, except on SQLite, whose write transaction has run alone since it began.
      const row = this.m.db.dialect === 'sqlite' ? found : (await read())!;
      checkRevision(row.revision_number, expectRevision);
      // Only the lists this update reads are loaded: a rename reads none of them.
      const pseAfter = 'port_security_enabled' in body ? (body.port_security_enabled as boolean) : i2b(row.port_security_enabled);
      const need: string[] = [];
      // port-mac-override: an unplugged direct-physical port lets go of its device's MAC (a new MAC: its fixed IPs are read).
      const unplugsDevice =
        row.binding_vnic_type === VNIC_DIRECT_PHYSICAL && body.device_id === '' && body.device_owner === '' && row.device_id !== '';
      if ('fixed_ips' in body || 'mac_address' in body || unplugsDevice) need.push('fixed_ips');
      if (!('allowed_address_pairs' in body) && !pseAfter) need.push('allowed_address_pairs');
      if ('extra_dhcp_opts' in body) need.push('extra_dhcp_opts');
      const current: Rec = need.length ? (await this.toDicts(tx, [row], need))[0]! : {};
      const set: Partial<PortTable> = {};
      for (const [attr, col] of [
        ['name', 'name'],
        ['description', 'description'],
        ['device_id', 'device_id'],
        ['device_owner', 'device_owner'],
      ] as const) {
        if (attr in body) set[col] = body[attr] as string;
      }
      if ('admin_state_up' in body) set.admin_state_up = b2i(body.admin_state_up as boolean);
      let mac = row.mac_address;
      if ('mac_address' in body && body.mac_address !== row.mac_address) {
        // A new MAC only for a port that is not plugged (ML2's _check_mac_update_allowed), and
        // never for the network's own ports (_check_mac_addr_update).
        const newMac = body.mac_address === GENERATE_MAC ? await this.chooseMac(tx, row.network_id, GENERATE_MAC) : String(body.mac_address);
        if (row.binding_vif_type !== VIF_TYPE_UNBOUND && row.binding_vif_type !== VIF_TYPE_BINDING_FAILED) {
          throw portBound(id, row.binding_vif_type, row.mac_address, newMac);
        }
        const owner = 'device_owner' in body && body.device_owner ? (body.device_owner as string) : row.device_owner;
        if (owner.startsWith('network:')) {
          throw unsupportedPortDeviceOwner('mac address update', owner, id);
        }
        mac = body.mac_address === GENERATE_MAC ? newMac : await this.chooseMac(tx, row.network_id, body.mac_address);
        set.mac_address = mac;
      }
      if (unplugsDevice) {
        mac = await freshMac(tx, row.network_id, this.macSettings(), id);
        set.mac_address = mac;
      }
      const owner = set.device_owner ?? row.device_owner;
      const newHost = 'binding:host_id' in body ? (body['binding:host_id'] as string) : row.binding_host_id;
      const hostChanged = newHost !== row.binding_host_id;
      // Routed networks: the subnets of the segment the (new) host reaches, and a deferred
      // allocation done once the port gets its first host (Neutron's update_port ipam step).
      let routedSubnets: SubnetInfo[] | null = null;
      if ('fixed_ips' in body || mac !== row.mac_address || (hostChanged && newHost)) {
        const all = await this.subnets.subnetsOf(tx, row.network_id);
        if (isRouted(all)) routedSubnets = all;
      }
      if (routedSubnets && newHost) {
        const forHost = subnetsForHost(row.network_id, routedSubnets, newHost, await hostSegments(tx, row.network_id, newHost));
        if (hostChanged) {
          const ips = await tx.selectFrom('ip_allocations').select('subnet_id').where('port_id', '=', id).execute();
          const attrs = await tx.selectFrom('port_attributes').select('ip_allocation').where('port_id', '=', id).executeTakeFirst();
          if (attrs?.ip_allocation === 'deferred' && !row.binding_host_id && !ips.length && !('fixed_ips' in body)) {
            const fixed = await this.ips.allocate(tx, row.network_id, forHost, NOT_SPECIFIED, row.mac_address, owner, []);
            await this.ips.store(tx, id, row.network_id, fixed);
            await this.setIpAllocation(tx, id, 'immediate');
          } else if (ips.length && !('fixed_ips' in body) && ips.some((a) => !forHost.some((sn) => sn.id === a.subnet_id))) {
            throw hostNotCompatibleWithFixedIps(newHost, id);
          }
        }
        routedSubnets = forHost;
      } else if (routedSubnets && Array.isArray(body.fixed_ips)) {
        routedSubnets = subnetsForFixedIps(routedSubnets, body.fixed_ips as Rec[]);
      }
      if ('fixed_ips' in body || mac !== row.mac_address) {
        const subnets = routedSubnets ?? (await this.subnets.subnetsOf(tx, row.network_id));
        let requested = 'fixed_ips' in body ? body.fixed_ips : current.fixed_ips;
        let keepable = current.fixed_ips as FixedIp[];
        if (mac !== row.mac_address) {
          // Addresses made from the old MAC (EUI-64 on SLAAC subnets) are made again from the new
          // one (Neutron's update_port_with_ips): asked for by subnet, not kept.
          const stale = staleEui64(subnets, row.mac_address);
          keepable = keepable.filter((f) => !stale(f as unknown as Rec));
          if (Array.isArray(requested)) requested = (requested as Rec[]).map((f) => (stale(f) ? { subnet_id: stale(f) } : f));
        }
        if ('fixed_ips' in body && Array.isArray(requested)) {
          const stale = staleEui64(subnets, row.mac_address);
          requested = this.ips.keepAutoAddresses(
            subnets,
            requested as Rec[],
            current.fixed_ips as FixedIp[],
            owner,
            (f) => mac !== row.mac_address && stale(f as unknown as Rec) !== null,
          );
        }
        const fixed = await this.ips.allocate(tx, row.network_id, subnets, requested, mac, owner, keepable);
        // `port` precommit_update, published when a port's fixed IPs are recomputed: L3 refuses
        // an address change of a router's interface (l3-port-ip-change-not-allowed).
        if (this.m.callbacks.has('port', Events.PRECOMMIT_UPDATE)) {
          const ports = (fixed_ips: unknown, device_owner: string) => ({ id, device_id: set.device_id ?? row.device_id, device_owner, fixed_ips });
          await this.m.callbacks.publish('port', Events.PRECOMMIT_UPDATE, {
            context: ctx,
            resourceId: id,
            before: { ...ports(current.fixed_ips, row.device_owner), device_id: row.device_id },
            after: ports(fixed, owner),
            tx,
          });
        }
        await this.ips.replace(tx, id, row.network_id, current.fixed_ips as FixedIp[], fixed);
      }
      const pse = 'port_security_enabled' in body ? (body.port_security_enabled as boolean) : i2b(row.port_security_enabled);
      set.port_security_enabled = b2i(pse);
      let pairs = (current.allowed_address_pairs as AddressPair[] | undefined) ?? []; // loaded when pse is off
      if ('allowed_address_pairs' in body) {
        pairs = validateAddressPairs(body.allowed_address_pairs as Rec[], mac, this.m.core.maxAllowedAddressPairs);
        await this.writePairs(tx, id, pairs);
      }
      if (pairs.length && !pse) throw addressPairAndPortSecurityRequired();
      if (this.m.securityGroups) await this.m.securityGroups.onUpdate(tx, ctx, row, body, pse);
      for (const e of this.m.extensions ?? []) await e.processUpdatePort?.(tx, ctx, row, body);
      if ('extra_dhcp_opts' in body) {
        await this.writeDhcpOpts(tx, id, validateDhcpOpts(body.extra_dhcp_opts as Rec[], true), current.extra_dhcp_opts as DhcpOpt[]);
      }
      if ('binding:host_id' in body) {
        set.binding_host_id = body['binding:host_id'] as string;
        set.binding_vif_type = set.binding_host_id ? VIF_TYPE_BINDING_FAILED : VIF_TYPE_UNBOUND;
      }
      if ('binding:vnic_type' in body) set.binding_vnic_type = body['binding:vnic_type'] as string;
      if ('binding:profile' in body) set.binding_profile = JSON.stringify(body['binding:profile'] ?? {});
      await tx
        .updateTable('ports')
        .set({ ...set, revision_number: Number(row.revision_number) + 1, updated_at: nowIso() })
        .where('id', '=', id)
        .execute();
      return (await this.get(ctx, id, tx))!;
    });
  }

  async delete(ctx: RequestContext, id: string, expectRevision?: number): Promise<void> {
    await inTransaction(this.m.db, async (tx) => {
      const row = await forUpdate(
        this.m.db,
        tx.selectFrom('ports').select(['id', 'revision_number', 'network_id', 'device_id', 'device_owner']).where('id', '=', id),
      ).executeTakeFirst();
      if (!row) throw this.notFound(id);
      checkRevision(row.revision_number, expectRevision);
      // Service plugins may refuse (a router's port, a trunk's) or let go of the port (floating IPs).
      await this.m.callbacks.publish('port', Events.PRECOMMIT_DELETE, { context: ctx, resourceId: id, before: row, after: null, tx });
      await this.deleteInTx(tx, id);
    });
  }

  // ---- for service plugins (L3: router and floating IP ports) ------------------------------

  /**
   * Creates one port inside the caller's transaction, without quota or policy (Neutron's plugin
   * create_port from a service plugin). `body` needs network_id and project_id; the other
   * attributes default as in a POST. Returns the port's dict.
   */
  async createInTx(tx: Tx, body: Rec): Promise<Rec> {
    const full: Rec = {
      id: randomUUID(),
      name: '',
      admin_state_up: true,
      mac_address: NOT_SPECIFIED,
      fixed_ips: NOT_SPECIFIED,
      device_id: '',
      device_owner: '',
      port_security_enabled: NOT_SPECIFIED,
      'binding:host_id': '',
      'binding:vnic_type': 'normal',
      'binding:profile': {},
      allowed_address_pairs: NOT_SPECIFIED,
      extra_dhcp_opts: [],
      security_groups: NOT_SPECIFIED,
      description: '',
      ...body,
    };
    full.tenant_id = full.project_id;
    // Exclusive, as before: the service plugin's transaction may go on to write the network's IPs.
    const created = await this.createOne(tx, full, new Map(), 'exclusive');
    if (typeof created !== 'string') return created;
    const rows = await tx.selectFrom('ports').selectAll().where('id', '=', created).execute();
    return (await this.toDicts(tx, rows))[0]!;
  }

  /** Removes a port and what hangs off it inside the caller's transaction (no guards). */
  async deleteInTx(tx: Tx, id: string): Promise<void> {
    for (const t of ['ip_allocations', 'allowed_address_pairs', 'extra_dhcp_opts'] as const)
      await tx.deleteFrom(t).where('port_id', '=', id).execute();
    await tx.deleteFrom('tags').where('resource_id', '=', id).execute();
    await tx.deleteFrom('ports').where('id', '=', id).execute();
  }
}

// ---- the port create's statements, compiled once (db/precompiled.ts) ----------------------------

const networkRow = (db: Db, slot: Slot) =>
  db.kysely.selectFrom('networks').select(['id', 'project_id', 'port_security_enabled']).where('id', '=', slot(0));
const NETWORK_SHARED = new Precompiled((db, slot) => forShare(db, networkRow(db, slot)));
const NETWORK_EXCLUSIVE = new Precompiled((db, slot) => forUpdate(db, networkRow(db, slot)));

/** Every column of `T`, checked: one left out would be inserted as its default, silently. */
const everyColumn = <T extends ReadonlyArray<keyof PortTable>>(c: T & ([Exclude<keyof PortTable, T[number]>] extends [never] ? unknown : never)) => c;

/** The columns of a new port's row, in the order of the insert's arguments. */
const PORT_COLUMNS = everyColumn([
  'id',
  'network_id',
  'project_id',
  'name',
  'mac_address',
  'admin_state_up',
  'status',
  'device_id',
  'device_owner',
  'port_security_enabled',
  'binding_host_id',
  'binding_vnic_type',
  'binding_profile',
  'binding_vif_type',
  'binding_vif_details',
  'description',
  'revision_number',
  'created_at',
  'updated_at',
] as const);

const portValues = (slot: Slot) => Object.fromEntries(PORT_COLUMNS.map((c, i) => [c, slot(i)])) as unknown as PortTable;
const INSERT_PORT = new Precompiled((db, slot) => db.kysely.insertInto('ports').values(portValues(slot)));
/** PostgreSQL: no row (rather than an error, which would abort the transaction) when the network has the MAC. */
const INSERT_PORT_UNLESS_MAC = new Precompiled((db, slot) =>
  db.kysely
    .insertInto('ports')
    .values(portValues(slot))
    .onConflict((oc) => oc.columns(['network_id', 'mac_address']).doNothing())
    .returning('id'),
);

/** A project id no check can match (PortHandler.scopeTargets). */
const UNKNOWN_PROJECT = '\0unknown project';

const col = (c: string) => sql.ref(`ports.${c}`);

/** A row of a database-written list: the port's JSON, and 1 in `fb` when it must take the generic path. */
interface JsonRow {
  j: string;
  fb?: number;
}

/** A show's compiled statement: its SQL, and whether each parameter is the id or the caller's project. */
interface ShowStatement {
  sql: string;
  slots: ReadonlyArray<'id' | 'project'>;
}

/** The select list of a database-written list (PortHandler.portJsonExpr). */
interface PortJsonSelect {
  columns: AliasedRawBuilder<unknown, string>[];
  fallback: boolean;
}

/**
 * SQL for each attribute portDict() and toDicts() give, as the JSON text JSON.stringify writes
 * for it; the lists in the order toDicts() reads them (fixed IPs in insertion order, the others
 * in their key's order; tags and several security groups sorted).
 */
function portJsonParts(j: JsonSql, securityGroups: boolean): Record<string, JsonExpr | null> {
  const s = (c: string) => j.str(col(c));
  const list = (elem: JsonExpr, table: string, alias: string, orderBy = j.insertionOrder(alias), key = 'port_id') =>
    j.arrOf(elem, table, alias, key, 'id', orderBy);
  return {
    id: s('id'),
    name: s('name'),
    network_id: s('network_id'),
    mac_address: s('mac_address'),
    admin_state_up: j.bool(col('admin_state_up')),
    status: s('status'),
    device_id: s('device_id'),
    device_owner: s('device_owner'),
    fixed_ips: list(
      j.obj([
        ['subnet_id', j.str(sql.ref('a.subnet_id'))],
        ['ip_address', j.str(sql.ref('a.ip_address'))],
      ]),
      'ip_allocations',
      'a',
    ),
    allowed_address_pairs: list(
      j.obj([
        ['ip_address', j.str(sql.ref('x.ip_address'))],
        ['mac_address', j.str(sql.ref('x.mac_address'))],
      ]),
      'allowed_address_pairs',
      'x',
      // In key order, as toDicts() reads them.
      sql`x.mac_address, x.ip_address`,
    ),
    extra_dhcp_opts: list(
      j.obj([
        ['opt_name', j.str(sql.ref('o.opt_name'))],
        ['opt_value', j.str(sql.ref('o.opt_value'))],
        ['ip_version', j.int(sql.ref('o.ip_version'))],
      ]),
      'extra_dhcp_opts',
      'o',
      sql`o.opt_name, o.ip_version`,
    ),
    security_groups: securityGroups
      ? list(j.str(sql.ref('g.security_group_id')), 'security_group_port_bindings', 'g', j.binaryOrder(sql.ref('g.security_group_id')))
      : j.lit('[]'),
    port_security_enabled: j.bool(col('port_security_enabled')),
    'binding:host_id': s('binding_host_id'),
    'binding:vnic_type': s('binding_vnic_type'),
    // Stored as JSON.stringify wrote them: the text is what parsing and writing it again gives.
    'binding:profile': j.stored(col('binding_profile')),
    'binding:vif_type': s('binding_vif_type'),
    'binding:vif_details': j.stored(col('binding_vif_details')),
    tenant_id: s('project_id'),
    project_id: s('project_id'),
    description: s('description'),
    created_at: s('created_at'),
    updated_at: s('updated_at'),
    revision_number: j.int(col('revision_number')),
    tags: list(j.str(sql.ref('t.tag')), 'tags', 't', j.binaryOrder(sql.ref('t.tag')), 'resource_id'),
  };
}

/** The API dict of a port row; lists left undefined were not read (see toDicts). */
function portDict(
  row: PortTable,
  ips: FixedIp[] | undefined,
  pairs: AddressPair[] | undefined,
  opts: DhcpOpt[] | undefined,
  tags: string[] | undefined,
): Rec {
  return {
    id: row.id,
    name: row.name,
    network_id: row.network_id,
    mac_address: row.mac_address,
    admin_state_up: i2b(row.admin_state_up),
    status: row.status,
    device_id: row.device_id,
    device_owner: row.device_owner,
    fixed_ips: ips,
    allowed_address_pairs: pairs,
    extra_dhcp_opts: opts,
    security_groups: [],
    port_security_enabled: i2b(row.port_security_enabled),
    'binding:host_id': row.binding_host_id,
    'binding:vnic_type': row.binding_vnic_type,
    'binding:profile': parseJsonObject(row.binding_profile),
    'binding:vif_type': row.binding_vif_type,
    'binding:vif_details': parseJsonObject(row.binding_vif_details),
    // standardFields(), written out: a spread per row triples the cost of the dict (this is the
    // 10,000-port list's hot loop), and tags stay undefined when the list did not read them.
    tenant_id: row.project_id,
    project_id: row.project_id,
    description: row.description,
    created_at: row.created_at,
    updated_at: row.updated_at,
    revision_number: Number(row.revision_number),
    tags,
  };
}

/**
 * Tells whether a fixed IP entry is the EUI-64 address of `oldMac` on one of the SLAAC (or
 * DHCPv6-stateless) subnets: returns that subnet's id, or null.
 */
function staleEui64(subnets: SubnetInfo[], oldMac: string): (f: Rec) => string | null {
  const auto = new Map<string, string>();
  for (const s of subnets) {
    if (s.ip_version === 6 && isAutoAddressSubnet({ ipv6_address_mode: s.ipv6_address_mode, ipv6_ra_mode: s.ipv6_ra_mode })) {
      auto.set(eui64Address(s.cidr, oldMac), s.id);
    }
  }
  return (f) => {
    if (!auto.size || typeof f.ip_address !== 'string') return null;
    let ip: string;
    try {
      ip = canonicalIp(f.ip_address);
    } catch {
      return null;
    }
    const subnetId = auto.get(ip);
    return subnetId && (f.subnet_id === undefined || f.subnet_id === subnetId) ? subnetId : null;
  };
}

/** Binding JSON columns are nearly always '{}'. */
function parseJsonObject(text: string): Rec {
  return text === '{}' ? {} : (JSON.parse(text) as Rec);
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const l = m.get(k);
  if (l) l.push(v);
  else m.set(k, [v]);
}

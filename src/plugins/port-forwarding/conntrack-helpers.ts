// Router conntrack helpers (l3-conntrack-helper), as Neutron's conntrack_helper plugin: a
// protocol and port of a router whose connections get a kernel helper (ftp, tftp, sip, …), each
// helper and protocol pair allowed by `[DEFAULT] allowed_conntrack_helpers`. Writes lock the
// router's row; the unique key refuses a duplicate. The router's agents are told after commit.
import type { RequestContext } from '../../core/context.js';
import type { Rec } from '../../core/resource.js';
import type { Db } from '../../db/connection.js';
import { isDuplicateKey } from '../../db/connection.js';
import type { ConntrackHelperTable } from '../../db/schema.js';
import { forUpdate, inTransaction, type Reader, type Tx } from '../../db/tx.js';
import { conntrackHelperDef } from '../../definitions/port-forwarding.js';
import { TableResource } from '../common/table-resource.js';
import { routerNotFound } from '../l3/errors.js';
import type { RouterHandler } from '../l3/routers.js';
import { badRequest, conntrackHelperNotAllowed, conntrackHelperNotFound, invalidProtocolForHelper } from './errors.js';

export interface HelperDeps {
  db: Db;
  routers: RouterHandler;
  /** helper → the protocols it may be used with ([DEFAULT] allowed_conntrack_helpers). */
  allowed: ReadonlyMap<string, readonly string[]>;
  routersUpdated(ctx: RequestContext, routerIds: string[]): Promise<void>;
}

/** 'ftp:tcp' items of allowed_conntrack_helpers → helper → protocols. */
export function allowedHelpers(items: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const item of items) {
    const [helper, protocol] = item.split(':').map((s) => s.trim());
    if (!helper || !protocol) continue;
    out.set(helper, [...(out.get(helper) ?? []), protocol]);
  }
  return out;
}

const helperDict = (r: ConntrackHelperTable, owner: string | null): Rec => ({
  id: r.id,
  router_id: r.router_id,
  protocol: r.protocol,
  port: r.port,
  helper: r.helper,
  project_id: owner,
  'ext_parent:project_id': owner,
});

export class ConntrackHelperHandler extends TableResource<'conntrack_helpers'> {
  constructor(private readonly d: HelperDeps) {
    super({ def: conntrackHelperDef, db: d.db, notFound: conntrackHelperNotFound, visibility: 'all' });
  }

  async checkParent(ctx: RequestContext, routerId: string): Promise<string | null> {
    const router = await this.d.routers.get(ctx, routerId);
    if (!router) throw routerNotFound(routerId);
    return router.project_id as string;
  }

  async parentOwner(_ctx: RequestContext, routerId: string): Promise<string | null> {
    const r = await this.db.kysely.selectFrom('routers').select('project_id').where('id', '=', routerId).executeTakeFirst();
    return r?.project_id ?? null;
  }

  protected async dictsOf(_ctx: RequestContext, db: Reader, rows: ConntrackHelperTable[]): Promise<Rec[]> {
    const ids = [...new Set(rows.map((r) => r.router_id))];
    const owners = new Map<string, string>();
    if (ids.length)
      for (const r of await db.selectFrom('routers').select(['id', 'project_id']).where('id', 'in', ids).execute()) owners.set(r.id, r.project_id);
    return rows.map((r) => helperDict(r, owners.get(r.router_id) ?? null));
  }

  /** _check_conntrack_helper_constraints. */
  private check(helper: string, protocol: string): void {
    const protocols = this.d.allowed.get(helper);
    if (!protocols) throw conntrackHelperNotAllowed(helper);
    if (!protocols.includes(protocol)) throw invalidProtocolForHelper(helper, protocol, [...protocols]);
  }

  async create(ctx: RequestContext, bodies: Rec[]): Promise<Rec[]> {
    const routers = new Set<string>();
    const out = await inTransaction(this.db, async (tx) => {
      const created: Rec[] = [];
      for (const body of bodies) {
        const row: ConntrackHelperTable = {
          id: body.id as string,
          router_id: body.router_id as string,
          protocol: body.protocol as string,
          port: Number(body.port),
          helper: body.helper as string,
        };
        this.check(row.helper, row.protocol);
        await this.lockRouter(tx, row.router_id);
        await this.write(row, () => tx.insertInto('conntrack_helpers').values(row).execute());
        routers.add(row.router_id);
        created.push((await this.dictsOf(ctx, tx, [row]))[0]!);
      }
      return created;
    });
    await this.d.routersUpdated(ctx, [...routers]);
    return out;
  }

  async update(ctx: RequestContext, id: string, body: Rec): Promise<Rec> {
    let routerId = '';
    const out = await inTransaction(this.db, async (tx) => {
      const current = await tx.selectFrom('conntrack_helpers').selectAll().where('id', '=', id).executeTakeFirst();
      if (!current) throw this.notFound(id);
      await this.lockRouter(tx, current.router_id);
      const row: ConntrackHelperTable = {
        ...current,
        ...(body.protocol !== undefined ? { protocol: body.protocol as string } : {}),
        ...(body.port !== undefined ? { port: Number(body.port) } : {}),
        ...(body.helper !== undefined ? { helper: body.helper as string } : {}),
      };
      this.check(row.helper, row.protocol);
      await this.write(row, () =>
        tx.updateTable('conntrack_helpers').set({ protocol: row.protocol, port: row.port, helper: row.helper }).where('id', '=', id).execute(),
      );
      routerId = row.router_id;
      return (await this.dictsOf(ctx, tx, [row]))[0]!;
    });
    await this.d.routersUpdated(ctx, [routerId]);
    return out;
  }

  async delete(ctx: RequestContext, id: string): Promise<void> {
    const routerId = await inTransaction(this.db, async (tx) => {
      const row = await tx.selectFrom('conntrack_helpers').select(['id', 'router_id']).where('id', '=', id).executeTakeFirst();
      if (!row) throw this.notFound(id);
      await this.lockRouter(tx, row.router_id);
      await tx.deleteFrom('conntrack_helpers').where('id', '=', id).execute();
      return row.router_id;
    });
    await this.d.routersUpdated(ctx, [routerId]);
  }

  private async lockRouter(tx: Tx, routerId: string): Promise<void> {
    const r = await forUpdate(this.db, tx.selectFrom('routers').select('id').where('id', '=', routerId)).executeTakeFirst();
    if (!r) throw routerNotFound(routerId);
  }

  private async write(row: ConntrackHelperTable, op: () => Promise<unknown>): Promise<void> {
    try {
      await op();
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      const values = { router_id: row.router_id, protocol: row.protocol, port: row.port, helper: row.helper };
      throw badRequest(
        'conntrack_helper',
        `A duplicate conntrack helper entry with same attributes already exists, conflicting values are ${JSON.stringify(values)}`,
      );
    }
  }
}

/** conntrack_helpers of routers (expose-l3-conntrack-helper): protocol, port and helper. */
export async function helpersOfRouters(db: Reader, routerIds: string[]): Promise<Map<string, Rec[]>> {
  const out = new Map<string, Rec[]>();
  if (!routerIds.length) return out;
  for (const r of await db.selectFrom('conntrack_helpers').selectAll().where('router_id', 'in', routerIds).orderBy('id').execute()) {
    const l = out.get(r.router_id) ?? [];
    l.push({ protocol: r.protocol, port: r.port, helper: r.helper });
    out.set(r.router_id, l);
  }
  return out;
}

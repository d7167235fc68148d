// NDP proxies (l3-ndp-proxy): an internal IPv6 address (a port's) that a router answers neighbour
// solicitations for on its gateway, so that the outside reaches it without NAT. Created only on a
// router with enable_ndp_proxy, for a port on one of its IPv6 subnets in the gateway's address
// scope; the address is picked from the port when none is given. The router's L3 agents hear of
// every change (routers_updated), and get the proxies in the router's sync data.
import type { RequestContext } from '../../core/context.js';
import type { Rec } from '../../core/resource.js';
import { isDuplicateKey, type Db } from '../../db/connection.js';
import type { NdpProxyTable } from '../../db/schema.js';
import { forUpdate, i2b, inTransaction, nowIso, type Reader, type Tx } from '../../db/tx.js';
import { ndpProxyDef } from '../../definitions/ndp-proxy.js';
import { canonicalIp } from '../../ipam/index.js';
import { checkRevision } from '../common/standard.js';
import { TableResource } from '../common/table-resource.js';
import { visiblePort, type PortInfo } from '../l3/common.js';
import { routerNotFound } from '../l3/errors.js';
import { networkAddressScopes } from '../subnetpools/allocation.js';
import {
  addressScopeConflict,
  duplicateNdpProxy,
  invalidAddress,
  ndpProxyNotEnabled,
  ndpProxyNotFound,
  portUnreachableRouter,
  portWithoutIpv6,
} from './errors.js';

const isV6 = (ip: string) => ip.includes(':');

export function ndpProxyDict(r: NdpProxyTable): Rec {
  return {
    id: r.id,
    name: r.name,
    tenant_id: r.project_id,
    project_id: r.project_id,
    router_id: r.router_id,
    port_id: r.port_id,
    ip_address: r.ip_address,
    description: r.description,
    created_at: r.created_at,
    updated_at: r.updated_at,
    revision_number: Number(r.revision_number),
  };
}

/** The proxied addresses of each router, for its agents. */
export async function proxiesOfRouters(db: Reader, routerIds: string[]): Promise<Map<string, Rec[]>> {
  const out = new Map<string, Rec[]>();
  if (!routerIds.length) return out;
  const rows = await db.selectFrom('ndp_proxies').selectAll().where('router_id', 'in', routerIds).orderBy('ip_address').execute();
  for (const r of rows) out.set(r.router_id, [...(out.get(r.router_id) ?? []), { id: r.id, port_id: r.port_id, ip_address: r.ip_address }]);
  return out;
}

export interface NdpProxyDeps {
  db: Db;
  routersUpdated(ctx: RequestContext, ids: string[]): Promise<void>;
}

export class NdpProxyHandler extends TableResource<'ndp_proxies'> {
  constructor(private readonly d: NdpProxyDeps) {
    super({ def: ndpProxyDef, db: d.db, notFound: ndpProxyNotFound });
  }

  protected async dictsOf(_ctx: RequestContext, _db: Reader, rows: NdpProxyTable[]): Promise<Rec[]> {
    return rows.map(ndpProxyDict);
  }

  /** create_ndp_proxy's checks, in Neutron's order; returns the address to proxy. */
  private async check(tx: Tx, ctx: RequestContext, body: Rec): Promise<string> {
    const routerId = body.router_id as string;
    const port = await visiblePort(tx, ctx, body.port_id as string);
    const routerPorts = await tx
      .selectFrom('router_ports')
      .innerJoin('ports', 'ports.id', 'router_ports.port_id')
      .select('ports.id')
      .where('router_ports.router_id', '=', routerId)
      .where('ports.network_id', '=', port.network_id)
      .execute();
    if (!routerPorts.length) throw portUnreachableRouter(port.id, routerId);
    // The router's lock: its enable_ndp_proxy and gateway do not change until this commits.
    let rq = tx.selectFrom('routers').select(['id', 'gw_port_id', 'enable_ndp_proxy', 'project_id']).where('id', '=', routerId);
    if (!ctx.isAdmin) rq = rq.where('project_id', '=', ctx.projectId ?? '');
    const router = await forUpdate(this.db, rq).executeTakeFirst();
    if (!router) throw routerNotFound(routerId);
    if (!router.gw_port_id || !i2b(router.enable_ndp_proxy)) throw ndpProxyNotEnabled(routerId);
    const gw = await tx.selectFrom('ports').select('network_id').where('id', '=', router.gw_port_id).executeTakeFirstOrThrow();
    const routerSubnets = new Set(
      (
        await tx
          .selectFrom('ip_allocations')
          .select(['subnet_id', 'ip_address'])
          .where(
            'port_id',
            'in',
            routerPorts.map((p) => p.id),
          )
          .execute()
      )
        .filter((a) => isV6(a.ip_address))
        .map((a) => a.subnet_id),
    );
    const ip = this.pickAddress(port, routerId, routerSubnets, body.ip_address as string | null);
    const scopes = await networkAddressScopes(tx, [gw.network_id, port.network_id]);
    const ext = scopes.get(gw.network_id)?.[6] ?? null;
    const internal = scopes.get(port.network_id)?.[6] ?? null;
    if (ext !== internal) throw addressScopeConflict(ext, internal);
    return ip;
  }

  /** _check_port: the port's IPv6 address on one of the router's subnets (the given one, or the first). */
  private pickAddress(port: PortInfo, routerId: string, routerSubnets: Set<string>, given: string | null): string {
    const v6 = port.fixed_ips.filter((f) => isV6(f.ip_address));
    if (!v6.length) throw portWithoutIpv6(port.id);
    if (!given) {
      const f = v6.find((x) => routerSubnets.has(x.subnet_id));
      if (!f) throw portUnreachableRouter(port.id, routerId);
      return canonicalIp(f.ip_address);
    }
    const ip = isV6(given) ? canonicalIp(given) : given;
    const f = v6.find((x) => canonicalIp(x.ip_address) === ip);
    if (!f) throw invalidAddress(given, `This address not belong to the port ${port.id}`);
    if (!routerSubnets.has(f.subnet_id)) throw invalidAddress(given, `This address cannot reach the router ${routerId}`);
    return ip;
  }

  async create(ctx: RequestContext, bodies: Rec[]): Promise<Rec[]> {
    let current: Rec | null = null;
    try {
      const out = await inTransaction(this.db, async (tx) => {
        const rows: NdpProxyTable[] = [];
        for (const b of bodies) {
          current = b;
          const ip = await this.check(tx, ctx, b);
          const now = nowIso();
          const row: NdpProxyTable = {
            id: b.id as string,
            project_id: b.project_id as string,
            name: b.name as string,
            router_id: b.router_id as string,
            port_id: b.port_id as string,
            ip_address: ip,
            description: b.description as string,
            revision_number: 0,
            created_at: now,
            updated_at: now,
          };
          await tx.insertInto('ndp_proxies').values(row).execute();
          rows.push(row);
        }
        return rows;
      });
      await this.d.routersUpdated(ctx, [...new Set(out.map((r) => r.router_id))]);
      return out.map(ndpProxyDict);
    } catch (err) {
      const b = current as Rec | null;
      if (isDuplicateKey(err) && b) throw duplicateNdpProxy(b.router_id as string, String(b.ip_address ?? ''));
      throw err;
    }
  }

  async update(_ctx: RequestContext, id: string, body: Rec, expectRevision?: number): Promise<Rec> {
    return inTransaction(this.db, async (tx) => {
      const row = await forUpdate(this.db, tx.selectFrom('ndp_proxies').selectAll().where('id', '=', id)).executeTakeFirst();
      if (!row) throw ndpProxyNotFound(id);
      checkRevision(row.revision_number, expectRevision);
      const set: Partial<NdpProxyTable> = {};
      if ('name' in body) set.name = body.name as string;
      if ('description' in body) set.description = body.description as string;
      await tx
        .updateTable('ndp_proxies')
        .set({ ...set, updated_at: nowIso() })
        .set((eb) => ({ revision_number: eb('revision_number', '+', 1) }))
        .where('id', '=', id)
        .execute();
      return ndpProxyDict((await tx.selectFrom('ndp_proxies').selectAll().where('id', '=', id).executeTakeFirst())!);
    });
  }

  async delete(ctx: RequestContext, id: string, expectRevision?: number): Promise<void> {
    const routerId = await inTransaction(this.db, async (tx) => {
      const row = await forUpdate(this.db, tx.selectFrom('ndp_proxies').selectAll().where('id', '=', id)).executeTakeFirst();
      if (!row) throw ndpProxyNotFound(id);
      checkRevision(row.revision_number, expectRevision);
      await tx.deleteFrom('ndp_proxies').where('id', '=', id).execute();
      return row.router_id;
    });
    await this.d.routersUpdated(ctx, [routerId]);
  }
}

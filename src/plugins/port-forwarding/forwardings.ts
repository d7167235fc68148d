// Floating IP port forwardings (floating-ip-port-forwarding and its description, port-ranges and
// detail extensions), as Neutron's PortForwardingPlugin: a free floating IP (no port of its own)
// forwards a protocol's external port or port range to a port's fixed IPv4 address; the first
// forwarding binds the floating IP to the router that reaches that port, the last one unbinds it.
// Every write locks the floating IP's row first, so two forwardings whose external ports collide
// cannot both pass the collision check; the unique keys hold the rest. The router's agents are
// told after commit.
import type { RequestContext } from '../../core/context.js';
import type { Rec } from '../../core/resource.js';
import type { Db } from '../../db/connection.js';
import { isDuplicateKey } from '../../db/connection.js';
import type { FloatingIpTable, PortForwardingTable } from '../../db/schema.js';
import { forUpdate, inTransaction, nowIso, type Reader, type Tx } from '../../db/tx.js';
import { portForwardingDef } from '../../definitions/port-forwarding.js';
import { canonicalIp } from '../../ipam/index.js';
import { TableResource, type TableQuery } from '../common/table-resource.js';
import { ipVersionOfText, visiblePort } from '../l3/common.js';
import { floatingIpNotFound, floatingIpPortAlreadyAssociated } from '../l3/errors.js';
import type { FloatingIpHandler } from '../l3/floatingips.js';
import { badRequest, portForwardingNotFound, portHasBindingFloatingIp } from './errors.js';
import { checkRelation, collides, collision, forwardingDict, givenRange, type Range } from './ranges.js';

export interface ForwardingDeps {
  db: Db;
  floatingips: FloatingIpHandler;
  /** Tells the routers' agents (after commit). */
  routersUpdated(ctx: RequestContext, routerIds: string[]): Promise<void>;
}

const fail = (msg: string) => badRequest('port_forwarding', msg);

export class PortForwardingHandler extends TableResource<'portforwardings'> {
  constructor(private readonly d: ForwardingDeps) {
    // Forwardings have no owner: the controller checks their floating IP (checkParent) first.
    super({ def: portForwardingDef, db: d.db, notFound: portForwardingNotFound, visibility: 'all' });
  }

  /** The floating IP must be one the caller sees (_get_fip_obj), else FloatingIPNotFound. */
  async checkParent(ctx: RequestContext, fipId: string): Promise<string | null> {
    const fip = await this.d.floatingips.get(ctx, fipId);
    if (!fip) throw floatingIpNotFound(fipId);
    return fip.project_id as string;
  }

  async parentOwner(_ctx: RequestContext, fipId: string): Promise<string | null> {
    const r = await this.db.kysely.selectFrom('floatingips').select('project_id').where('id', '=', fipId).executeTakeFirst();
    return r?.project_id ?? null;
  }

  protected async dictsOf(_ctx: RequestContext, db: Reader, rows: PortForwardingTable[]): Promise<Rec[]> {
    const fipIds = [...new Set(rows.map((r) => r.floatingip_id))];
    const owners = new Map<string, string>();
    if (fipIds.length) {
      for (const f of await db.selectFrom('floatingips').select(['id', 'project_id']).where('id', 'in', fipIds).execute())
        owners.set(f.id, f.project_id);
    }
    // The owner is the floating IP's: for the policies (ext_parent), not shown.
    return rows.map((r) => {
      const owner = owners.get(r.floatingip_id) ?? null;
      return { ...forwardingDict(r), project_id: owner, 'ext_parent:project_id': owner };
    });
  }

  /** external_port and the ranges are no columns: a filter on them is on the stored range. */
  protected override filterRest(
    ctx: RequestContext,
    qb: TableQuery<'portforwardings'>,
    rest: Record<string, unknown[]>,
  ): TableQuery<'portforwardings'> {
    let q = super.filterRest(ctx, qb, rest);
    const ext = rest.external_port;
    if (ext) q = q.where('external_port_start', 'in', ext.map(Number)).whereRef('external_port_start', '=', 'external_port_end');
    const range = rest.external_port_range;
    if (range) {
      const parsed = range.map((v) => String(v).split(':').map(Number));
      q = q.where((eb) => eb.or(parsed.map(([a, b = a]) => eb.and([eb('external_port_start', '=', a!), eb('external_port_end', '=', b!)]))));
    }
    return q;
  }

  async create(ctx: RequestContext, bodies: Rec[]): Promise<Rec[]> {
    const routers = new Set<string>();
    const out = await inTransaction(this.db, async (tx) => {
      const created: Rec[] = [];
      for (const body of bodies) {
        const ext = givenRange(body, 'external');
        const int = givenRange(body, 'internal');
        if (!ext) throw fail('external_port or external_port_range must be given');
        if (!int) throw fail('internal_port or internal_port_range must be given');
        checkRelation(ext, int);
        const fip = await this.lockFip(tx, body.floatingip_id as string);
        const portId = body.internal_port_id as string;
        const ip = await this.internalIp(tx, ctx, portId, body.internal_ip_address as string | null);
        if (fip.fixed_port_id) {
          throw floatingIpPortAlreadyAssociated({
            floatingIpAddress: fip.floating_ip_address,
            fipId: fip.id,
            portId,
            fixedIp: ip.address,
            netId: fip.floating_network_id,
          });
        }
        await this.refuseBoundPort(tx, portId, ip.address);
        const routerId = await this.routerFor(tx, ctx, fip, portId, ip.subnetId);
        const row: PortForwardingTable = {
          id: body.id as string,
          floatingip_id: fip.id,
          internal_neutron_port_id: portId,
          protocol: body.protocol as string,
          internal_ip_address: ip.address,
          internal_port_start: int[0],
          internal_port_end: int[1],
          external_port_start: ext[0],
          external_port_end: ext[1],
          description: (body.description as string | undefined) ?? '',
        };
        await this.refuseCollisions(tx, row);
        if (!fip.router_id) await tx.updateTable('floatingips').set({ router_id: routerId, updated_at: nowIso() }).where('id', '=', fip.id).execute();
        await this.write(row, () => tx.insertInto('portforwardings').values(row).execute());
        routers.add(routerId);
        created.push((await this.dictsOf(ctx, tx, [row]))[0]!);
      }
      return created;
    });
    await this.d.routersUpdated(ctx, [...routers]);
    return out;
  }

  async update(ctx: RequestContext, id: string, body: Rec): Promise<Rec> {
    let routerId: string | null = null;
    const out = await inTransaction(this.db, async (tx) => {
      const current = await tx.selectFrom('portforwardings').selectAll().where('id', '=', id).executeTakeFirst();
      if (!current) throw this.notFound(id);
      const fip = await this.lockFip(tx, current.floatingip_id);
      const row = { ...current };
      const ext = givenRange(body, 'external');
      const int = givenRange(body, 'internal');
      if (ext) [row.external_port_start, row.external_port_end] = ext;
      if (int) [row.internal_port_start, row.internal_port_end] = int;
      if (body.protocol !== undefined) row.protocol = body.protocol as string;
      if (body.description !== undefined) row.description = body.description as string;
      if (body.internal_port_id !== undefined) row.internal_neutron_port_id = body.internal_port_id as string;
      checkRelation([row.external_port_start, row.external_port_end], [row.internal_port_start, row.internal_port_end]);
      const portChanged = row.internal_neutron_port_id !== current.internal_neutron_port_id;
      if (portChanged || body.internal_ip_address !== undefined) {
        const ip = await this.internalIp(
          tx,
          ctx,
          row.internal_neutron_port_id,
          (body.internal_ip_address as string | null | undefined) ?? (portChanged ? null : row.internal_ip_address),
        );
        row.internal_ip_address = ip.address;
        if (portChanged) {
          await this.refuseBoundPort(tx, row.internal_neutron_port_id, ip.address);
          await this.routerFor(tx, ctx, fip, row.internal_neutron_port_id, ip.subnetId);
        }
      }
      await this.refuseCollisions(tx, row);
      const { id: _id, ...set } = row;
      await this.write(row, () => tx.updateTable('portforwardings').set(set).where('id', '=', id).execute());
      routerId = fip.router_id;
      return (await this.dictsOf(ctx, tx, [row]))[0]!;
    });
    if (routerId) await this.d.routersUpdated(ctx, [routerId]);
    return out;
  }

  async delete(ctx: RequestContext, id: string): Promise<void> {
    const routerId = await inTransaction(this.db, async (tx) => {
      const pf = await tx.selectFrom('portforwardings').select(['id', 'floatingip_id']).where('id', '=', id).executeTakeFirst();
      if (!pf) throw this.notFound(id);
      const fip = await this.lockFip(tx, pf.floatingip_id);
      await tx.deleteFrom('portforwardings').where('id', '=', id).execute();
      await unbindIfLast(tx, fip.id);
      return fip.router_id;
    });
    if (routerId) await this.d.routersUpdated(ctx, [routerId]);
  }

  // ---- rules ---------------------------------------------------------------------------------

  private async lockFip(tx: Tx, fipId: string): Promise<FloatingIpTable> {
    const fip = await forUpdate(this.db, tx.selectFrom('floatingips').selectAll().where('id', '=', fipId)).executeTakeFirst();
    if (!fip) throw floatingIpNotFound(fipId);
    return fip;
  }

  /** The port's IPv4 address to forward to (the one given, or its first) and its subnet. */
  private async internalIp(
    tx: Tx,
    ctx: RequestContext,
    portId: string,
    given: string | null | undefined,
  ): Promise<{ address: string; subnetId: string }> {
    const port = await visiblePort(tx, ctx, portId);
    const v4 = port.fixed_ips.filter((f) => ipVersionOfText(f.ip_address) === 4);
    if (!v4.length) throw fail(`Requested internal port ${portId} must allocate an IPv4 address at least`);
    if (!given) return { address: v4[0]!.ip_address, subnetId: v4[0]!.subnet_id };
    const want = ipVersionOfText(given) === 4 ? canonicalIp(given) : given;
    const match = v4.find((f) => f.ip_address === want);
    if (!match) {
      const shown = JSON.stringify(v4.map((f) => ({ subnet_id: f.subnet_id, ip_address: f.ip_address })));
      throw fail(`Requested internal IP address ${given} is not suitable for internal neutron port ${portId}, as its fixed_ips are ${shown}`);
    }
    return { address: match.ip_address, subnetId: match.subnet_id };
  }

  /** _check_port_has_binding_floating_ip: the port may not have a floating IP of its own. */
  private async refuseBoundPort(tx: Tx, portId: string, fixedIp: string): Promise<void> {
    const bound = await tx.selectFrom('floatingips').select(['id', 'floating_ip_address']).where('fixed_port_id', '=', portId).executeTakeFirst();
    if (bound) throw portHasBindingFloatingIp({ address: bound.floating_ip_address, fipId: bound.id, portId, fixedIp });
  }

  /** The router that reaches the port from the floating IP's network; it must be the floating IP's. */
  private async routerFor(tx: Tx, ctx: RequestContext, fip: FloatingIpTable, portId: string, subnetId: string): Promise<string> {
    const port = await visiblePort(tx, ctx, portId);
    let routerId: string;
    try {
      routerId = await this.d.floatingips.routerFor(tx, port, subnetId, fip.floating_network_id);
    } catch {
      throw fail(
        `External network ${fip.floating_network_id} is not reachable from subnet ${subnetId}. Cannot set Port forwarding for port ${portId} with Floating IP ${fip.id}`,
      );
    }
    if (fip.router_id && fip.router_id !== routerId) {
      throw fail(`The Floating IP ${fip.id} had been set on router ${fip.router_id}, the internal Neutron port ${portId} can not reach it`);
    }
    return routerId;
  }

  /** _check_port_collisions: external ranges per floating IP and protocol, internal ones per port, address and protocol. */
  private async refuseCollisions(tx: Tx, row: PortForwardingTable): Promise<void> {
    const ext: Range = [row.external_port_start, row.external_port_end];
    const int: Range = [row.internal_port_start, row.internal_port_end];
    const sameFip = await tx
      .selectFrom('portforwardings')
      .select(['external_port_start', 'external_port_end'])
      .where('floatingip_id', '=', row.floatingip_id)
      .where('protocol', '=', row.protocol)
      .where('id', '!=', row.id)
      .execute();
    for (const o of sameFip)
      if (collides([o.external_port_start, o.external_port_end], ext))
        throw collision('external_port_range', [o.external_port_start, o.external_port_end], ext);
    const samePort = await tx
      .selectFrom('portforwardings')
      .select(['internal_port_start', 'internal_port_end'])
      .where('internal_neutron_port_id', '=', row.internal_neutron_port_id)
      .where('internal_ip_address', '=', row.internal_ip_address)
      .where('protocol', '=', row.protocol)
      .where('id', '!=', row.id)
      .execute();
    for (const o of samePort)
      if (collides([o.internal_port_start, o.internal_port_end], int))
        throw collision('internal_port_range', [o.internal_port_start, o.internal_port_end], int);
  }

  /** A duplicate the unique keys caught (a race the locks did not cover): Neutron's BadRequest. */
  private async write(row: PortForwardingTable, op: () => Promise<unknown>): Promise<void> {
    try {
      await op();
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      throw fail(
        `A duplicate port forwarding entry with same attributes already exists, conflicting values are ${JSON.stringify({
          floatingip_id: row.floatingip_id,
          external_port: row.external_port_start,
          protocol: row.protocol,
        })}`,
      );
    }
  }
}

/** The floating IP's last forwarding gone: it is no router's any more (Neutron's delete). */
export async function unbindIfLast(tx: Tx, fipId: string): Promise<void> {
  const left = await tx.selectFrom('portforwardings').select('id').where('floatingip_id', '=', fipId).limit(1).executeTakeFirst();
  if (!left) {
    await tx
      .updateTable('floatingips')
      .set({ router_id: null, updated_at: nowIso() })
      .where('id', '=', fipId)
      .where('fixed_port_id', 'is', null)
      .execute();
  }
}

/** The port_forwardings of floating IPs (expose-port-forwarding-in-fip, with -detail's id and internal_port_id). */
export async function forwardingsOfFips(db: Reader, fipIds: string[]): Promise<Map<string, Rec[]>> {
  const out = new Map<string, Rec[]>();
  if (!fipIds.length) return out;
  const rows = await db.selectFrom('portforwardings').selectAll().where('floatingip_id', 'in', fipIds).orderBy('id').execute();
  for (const r of rows) {
    const d = forwardingDict(r);
    delete d.floatingip_id;
    delete d.description;
    // Neutron shows a single-port forwarding here by its ports only. A real range keeps its range
    // attributes (Neutron would show no ports at all for it): the L3 agent reads them in sync_routers.
    if (d.internal_port != null && d.external_port != null) {
      delete d.internal_port_range;
      delete d.external_port_range;
    }
    const l = out.get(r.floatingip_id) ?? [];
    l.push(d);
    out.set(r.floatingip_id, l);
  }
  return out;
}

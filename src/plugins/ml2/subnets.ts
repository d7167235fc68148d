// Subnets in the ML2 plugin: CIDR, gateway and pool validation through the IPAM core, DNS
// servers and host routes, IPv6 modes, automatic (SLAAC) addresses for existing ports, and
// in-use checks on delete.
import { sql, type SqlBool } from 'kysely';
import { adminContext, type RequestContext } from '../../core/context.js';
import { subnetDef } from '../../definitions/subnet.js';
import { NOT_SPECIFIED } from '../../definitions/common.js';
import type { Rec } from '../../core/resource.js';
import { letOthersRun } from '../../core/event-loop.js';
import { b2i, forUpdate, i2b, inTransaction, nowIso, type Reader, type Tx } from '../../db/tx.js';
import { Precompiled } from '../../db/precompiled.js';
import type { SubnetTable } from '../../db/schema.js';
import {
  formatCidr,
  defaultAllocationPools,
  defaultGateway,
  formatPools,
  parseCidr,
  validateAllocationPools,
  validateGatewayIp,
  validateSubnetCidr,
  validateSubnetOverlap,
  validateGatewayOutOfPools,
  validateDnsNameservers,
  validateHostRoutes,
  validateIpv6Modes,
  isAutoAddressSubnet,
  eui64Address,
  type IpRange,
} from '../../ipam/index.js';
import { chunks, loadTags } from '../common/list-sql.js';
import { TableResource, whereFlag, type RowCondition, type TableQuery } from '../common/table-resource.js';
import { networkVisible, rbacShared } from '../common/visibility.js';
import { checkRevision, standardFields } from '../common/standard.js';
import type { Ml2Context } from './context.js';
import { checkNetworkVisible, networkOwner } from './network-access.js';
import { gatewayIpInUse, networkNotFound, subnetInUse, subnetNotFound } from './errors.js';
import { subnetSource } from '../subnetpools/allocation.js';
import { checkNewSubnetSegment, checkSubnetSegmentUpdate } from '../segments/subnet-segments.js';
import { initialRoutes, refreshPeerRoutes } from '../segments/peer-routes.js';
import { DEVICE_OWNER_DHCP, ROUTER_PORT_OWNERS } from '../../core/wire.js';
import { Events } from '../../core/callbacks.js';

export interface SubnetInfo {
  id: string;
  network_id: string;
  ip_version: 4 | 6;
  cidr: string;
  gateway_ip: string | null;
  ipv6_address_mode: string | null;
  ipv6_ra_mode: string | null;
  enable_dhcp: boolean;
  /** subnet-service-types: the device owners it serves ([] serves any). */
  service_types: string[];
  pools: IpRange[];
  /** Its segment on a routed network (segments plugin), else null. */
  segment_id: string | null;
}

/** Non-admins see the subnets of the networks they see. */
export class SubnetHandler extends TableResource<'subnets'> {
  constructor(private readonly m: Ml2Context) {
    super({ def: subnetDef, db: m.db, notFound: subnetNotFound });
  }

  protected override scope(ctx: RequestContext): RowCondition {
    if (ctx.isAdmin) return null;
    return sql<SqlBool>`${sql.ref('subnets.network_id')} in (select ${sql.ref('networks.id')} from ${sql.table('networks')} where ${networkVisible(ctx, 'networks.project_id', 'networks.id')})`;
  }

  parentOwner(_ctx: RequestContext, networkId: string): Promise<string | null> {
    return networkOwner(this.m.db, networkId);
  }

  checkParent(ctx: RequestContext, networkId: string): Promise<string> {
    return checkNetworkVisible(this.m.db, ctx, networkId);
  }

  /** dns_nameservers lives in its own table; `shared` is the network's sharing with the caller. */
  protected override filterRest(ctx: RequestContext, qb: TableQuery<'subnets'>, rest: Record<string, unknown[]>): TableQuery<'subnets'> {
    qb = whereFlag(qb, rest.shared, rbacShared(ctx.projectId, 'network', 'subnets.network_id'));
    if (!rest.dns_nameservers) return qb;
    return qb.where(
      'subnets.id',
      'in',
      this.m.db.kysely
        .selectFrom('dns_nameservers')
        .select('subnet_id')
        .where('address', 'in', rest.dns_nameservers as string[]),
    );
  }

  protected dictsOf(ctx: RequestContext, db: Reader, rows: SubnetTable[]): Promise<Rec[]> {
    return this.toDicts(db, rows, ctx.projectId);
  }

  /**
   * API dicts of subnet rows. Like Neutron's subnet dicts they also carry `shared` (the network is
   * shared with `projectId` or everyone) and `router:external`, which no response shows (they are
   * not subnet attributes) but the get_subnet policy reads (rule:shared, rule:external_network).
   */
  async toDicts(db: Reader, rows: SubnetTable[], projectId: string | null = null): Promise<Rec[]> {
    const ids = rows.map((r) => r.id);
    const netFlags = await this.networkFlags(db, [...new Set(rows.map((r) => r.network_id))], projectId);
    const pools = new Map<string, Array<{ start: string; end: string }>>();
    const dns = new Map<string, string[]>();
    const routes = new Map<string, Array<{ destination: string; nexthop: string }>>();
    const serviceTypes = new Map<string, string[]>();
    for (const part of chunks(ids)) {
      if (!part.length) continue;
      for (const p of await db.selectFrom('allocation_pools').selectAll().where('subnet_id', 'in', part).execute()) {
        push(pools, p.subnet_id, { start: p.first_ip, end: p.last_ip });
      }
      for (const d of await db.selectFrom('dns_nameservers').selectAll().where('subnet_id', 'in', part).orderBy('position').execute()) {
        push(dns, d.subnet_id, d.address);
      }
      for (const r of await db.selectFrom('subnet_routes').selectAll().where('subnet_id', 'in', part).execute()) {
        push(routes, r.subnet_id, { destination: r.destination, nexthop: r.nexthop });
      }
      for (const t of await serviceTypesOf(db, part)) push(serviceTypes, t.subnet_id, t.service_type);
    }
    const tags = await loadTags(db, ids);
    return rows.map((row) => ({
      id: row.id,
      name: row.name,
      network_id: row.network_id,
      ip_version: Number(row.ip_version),
      cidr: row.cidr,
      gateway_ip: row.gateway_ip,
      allocation_pools: pools.get(row.id) ?? [],
      dns_nameservers: dns.get(row.id) ?? [],
      host_routes: routes.get(row.id) ?? [],
      enable_dhcp: i2b(row.enable_dhcp),
      ipv6_ra_mode: row.ipv6_ra_mode,
      ipv6_address_mode: row.ipv6_address_mode,
      subnetpool_id: row.subnetpool_id,
      segment_id: row.segment_id,
      service_types: serviceTypes.get(row.id) ?? [],
      dns_publish_fixed_ip: i2b(row.dns_publish_fixed_ip),
      ...standardFields(row, tags.get(row.id)),
      shared: netFlags.shared.has(row.network_id),
      'router:external': netFlags.external.has(row.network_id),
    }));
  }

  /** Which of the networks are shared with the project (or all) and which are external. */
  private async networkFlags(db: Reader, networkIds: string[], projectId: string | null) {
    const shared = new Set<string>();
    const external = new Set<string>();
    for (const part of chunks(networkIds)) {
      if (!part.length) continue;
      for (const r of await db
        .selectFrom('rbac_entries')
        .select('object_id')
        .where('object_type', '=', 'network')
        .where('action', '=', 'access_as_shared')
        .where('target_project', 'in', ['*', projectId ?? '*'])
        .where('object_id', 'in', part)
        .execute()) {
        shared.add(r.object_id);
      }
      for (const n of await db.selectFrom('networks').select(['id', 'router_external']).where('id', 'in', part).execute()) {
        if (i2b(n.router_external)) external.add(n.id);
      }
    }
    return { shared, external };
  }

  /** Subnets of a network with their pools, for IP allocation. */
  async subnetsOf(db: Reader, networkId: string): Promise<SubnetInfo[]> {
    // One query (every port create runs it, compiled once): a subnet's rows are adjacent in this order.
    const rows = await SUBNETS_OF.run(this.m.db, db, [networkId]);
    const out: SubnetInfo[] = [];
    const types = new Map<string, string[]>();
    if (rows.length) for (const t of await SERVICE_TYPES_OF.run(this.m.db, db, [networkId])) push(types, t.subnet_id, t.service_type);
    for (let i = 0; i < rows.length; ) {
      const r = rows[i]!;
      const pools: Array<{ start: string; end: string }> = [];
      for (; i < rows.length && rows[i]!.id === r.id; i++) {
        const p = rows[i]!;
        if (p.first_ip !== null && p.last_ip !== null) pools.push({ start: p.first_ip, end: p.last_ip });
      }
      out.push({
        id: r.id,
        network_id: r.network_id,
        ip_version: Number(r.ip_version) as 4 | 6,
        cidr: r.cidr,
        gateway_ip: r.gateway_ip,
        ipv6_address_mode: r.ipv6_address_mode,
        ipv6_ra_mode: r.ipv6_ra_mode,
        enable_dhcp: i2b(r.enable_dhcp),
        service_types: types.get(r.id) ?? [],
        pools: storedPools(r.cidr, pools),
        segment_id: r.segment_id ?? null,
      });
    }
    return out;
  }

  // ---- writes --------------------------------------------------------------------------------

  async create(ctx: RequestContext, bodies: Rec[]): Promise<Rec[]> {
    const peers = new Set<string>();
    const out = await inTransaction(this.m.db, async (tx) => {
      const ids: string[] = [];
      for (const body of bodies) {
        ids.push(await this.createOne(tx, body, ctx));
        if (this.m.peerSubnetHostRoutes) for (const p of await refreshPeerRoutes(tx, body.network_id as string)) peers.add(p);
        await letOthersRun();
      }
      for (const id of ids) peers.delete(id);
      const rows = [];
      for (const part of chunks(ids)) rows.push(...(await tx.selectFrom('subnets').selectAll().where('id', 'in', part).execute()));
      const byId = new Map(rows.map((r) => [r.id, r]));
      return this.toDicts(
        tx,
        ids.map((id) => byId.get(id)!),
        ctx.projectId,
      );
    });
    for (const s of out) {
      await this.m.callbacks.publish('subnet', Events.AFTER_CREATE, { context: ctx, resourceId: s.id as string, before: null, after: s });
      await letOthersRun();
    }
    await this.publishPeerUpdates(ctx, [...peers]);
    return out;
  }

  /** The other subnets whose peer routes a write changed are updated subnets too (the DHCP agents hear of them). */
  private async publishPeerUpdates(ctx: RequestContext, ids: string[]): Promise<void> {
    for (const id of ids) {
      const after = await this.get(adminContext('req-peer-routes'), id);
      if (after) await this.m.callbacks.publish('subnet', Events.AFTER_UPDATE, { context: ctx, resourceId: id, before: null, after });
    }
  }

  private async createOne(tx: Tx, body: Rec, ctx: RequestContext): Promise<string> {
    const networkId = body.network_id as string;
    const net = await forUpdate(this.m.db, tx.selectFrom('networks').select(['id', 'project_id']).where('id', '=', networkId)).executeTakeFirst();
    if (!net) throw networkNotFound(networkId);
    const ipVersion = body.ip_version as 4 | 6;
    // The cidr (and gateway) as requested, or allocated from a subnet pool (subnet_allocation).
    const source = await subnetSource(this.m.db, tx, ctx, body);
    const enableDhcp = body.enable_dhcp as boolean;
    const cidr = validateSubnetCidr(source.cidr, ipVersion, { enableDhcp });
    const cidrText = formatCidr(cidr);
    const ra = body.ipv6_ra_mode as string | null;
    const am = body.ipv6_address_mode as string | null;
    validateIpv6Modes(ipVersion, cidr, ra, am, enableDhcp);

    const existing = await tx.selectFrom('subnets').select('cidr').where('network_id', '=', networkId).execute();
    validateSubnetOverlap(
      cidr,
      existing.map((e) => e.cidr),
      networkId,
    );

    let gateway: string | null;
    if (source.gatewayIp === NOT_SPECIFIED) gateway = defaultGateway(cidr);
    else if (source.gatewayIp === null) gateway = null;
    else gateway = validateGatewayIp(cidr, source.gatewayIp as string, ipVersion);

    const pools =
      body.allocation_pools === NOT_SPECIFIED || body.allocation_pools === null
        ? defaultAllocationPools(cidr, gateway)
        : validateAllocationPools(cidr, body.allocation_pools, gateway);
    if (gateway && body.allocation_pools !== NOT_SPECIFIED) validateGatewayOutOfPools(gateway, pools);
    const dns = validateDnsNameservers(body.dns_nameservers as unknown[], this.m.core.maxDnsNameservers, ipVersion);
    let routes = validateHostRoutes(body.host_routes as unknown[], this.m.core.maxSubnetHostRoutes, ipVersion);

    const segmentId = (body.segment_id as string | null | undefined) ?? null;
    await checkNewSubnetSegment(tx, networkId, segmentId);
    if (this.m.peerSubnetHostRoutes) {
      const me = { id: body.id as string, network_id: networkId, ip_version: ipVersion, cidr: cidrText, segment_id: segmentId, gateway_ip: gateway };
      routes = await initialRoutes(tx, me, routes);
    }
    await this.m.quota.enforce(tx, body.project_id as string, { subnet: 1 });
    const id = body.id as string;
    const now = nowIso();
    await tx
      .insertInto('subnets')
      .values({
        id,
        network_id: networkId,
        project_id: body.project_id as string,
        name: body.name as string,
        ip_version: ipVersion,
        cidr: cidrText,
        gateway_ip: gateway,
        enable_dhcp: b2i(enableDhcp),
        ipv6_ra_mode: ra,
        ipv6_address_mode: am,
        subnetpool_id: source.subnetpoolId,
        segment_id: segmentId,
        dns_publish_fixed_ip: b2i(body.dns_publish_fixed_ip === true),
        description: body.description as string,
        revision_number: 0,
        created_at: now,
        updated_at: now,
      })
      .execute();
    await this.writePools(tx, id, pools);
    await this.writeDns(tx, id, dns);
    await this.writeRoutes(tx, id, routes);
    await this.writeServiceTypes(tx, id, (body.service_types as string[] | undefined) ?? []);
    if (isAutoAddressSubnet({ ipv6_address_mode: am, ipv6_ra_mode: ra })) await this.addAutoAddresses(tx, id, networkId, cidrText);
    await this.bumpNetwork(tx, networkId);
    return id;
  }

  /** A new SLAAC/stateless subnet gives every existing non-router port on the network an address. */
  private async addAutoAddresses(tx: Tx, subnetId: string, networkId: string, cidr: string): Promise<void> {
    const ports = await tx.selectFrom('ports').select(['id', 'mac_address', 'device_owner']).where('network_id', '=', networkId).execute();
    for (const p of ports) {
      if (ROUTER_PORT_OWNERS.includes(p.device_owner)) continue;
      await tx
        .insertInto('ip_allocations')
        .values({ port_id: p.id, subnet_id: subnetId, network_id: networkId, ip_address: eui64Address(cidr, p.mac_address) })
        .execute();
    }
  }

  private async bumpNetwork(tx: Tx, networkId: string): Promise<void> {
    await tx
      .updateTable('networks')
      .set((eb) => ({ revision_number: eb('revision_number', '+', 1), updated_at: nowIso() }))
      .where('id', '=', networkId)
      .execute();
  }

  private async writePools(tx: Tx, id: string, pools: IpRange[]): Promise<void> {
    await tx.deleteFrom('allocation_pools').where('subnet_id', '=', id).execute();
    const rows = formatPools(pools).map((p) => ({ subnet_id: id, first_ip: p.start, last_ip: p.end }));
    if (rows.length) await tx.insertInto('allocation_pools').values(rows).execute();
  }

  private async writeDns(tx: Tx, id: string, dns: string[]): Promise<void> {
    await tx.deleteFrom('dns_nameservers').where('subnet_id', '=', id).execute();
    if (dns.length)
      await tx
        .insertInto('dns_nameservers')
        .values(dns.map((address, position) => ({ subnet_id: id, address, position })))
        .execute();
  }

  private async writeServiceTypes(tx: Tx, id: string, types: string[]): Promise<void> {
    await tx.deleteFrom('subnet_service_types').where('subnet_id', '=', id).execute();
    const unique = [...new Set(types)];
    if (unique.length)
      await tx
        .insertInto('subnet_service_types')
        .values(unique.map((service_type) => ({ subnet_id: id, service_type })))
        .execute();
  }

  private async writeRoutes(tx: Tx, id: string, routes: Array<{ destination: string; nexthop: string }>): Promise<void> {
    await tx.deleteFrom('subnet_routes').where('subnet_id', '=', id).execute();
    if (routes.length)
      await tx
        .insertInto('subnet_routes')
        .values(routes.map((r) => ({ subnet_id: id, ...r })))
        .execute();
  }

  async update(ctx: RequestContext, id: string, body: Rec, expectRevision?: number): Promise<Rec> {
    const peers: string[] = [];
    const after = await this.updateInTx(ctx, id, body, expectRevision, peers);
    await this.m.callbacks.publish('subnet', Events.AFTER_UPDATE, { context: ctx, resourceId: id, before: null, after });
    await this.publishPeerUpdates(
      ctx,
      peers.filter((p) => p !== id),
    );
    return after;
  }

  private async updateInTx(ctx: RequestContext, id: string, body: Rec, expectRevision?: number, peers: string[] = []): Promise<Rec> {
    return inTransaction(this.m.db, async (tx) => {
      const row = await forUpdate(this.m.db, tx.selectFrom('subnets').selectAll().where('id', '=', id)).executeTakeFirst();
      if (!row) throw this.notFound(id);
      checkRevision(row.revision_number, expectRevision);
      const version = Number(row.ip_version) as 4 | 6;
      const cidr = parseCidr(row.cidr);
      const set: Partial<SubnetTable> = {};
      if ('name' in body) set.name = body.name as string;
      if ('description' in body) set.description = body.description as string;
      if ('enable_dhcp' in body) {
        if (body.enable_dhcp === true && !i2b(row.enable_dhcp)) validateSubnetCidr(row.cidr, version, { enableDhcp: true });
        set.enable_dhcp = b2i(body.enable_dhcp as boolean);
      }
      let gateway = row.gateway_ip;
      if ('gateway_ip' in body) {
        gateway = body.gateway_ip === null ? null : validateGatewayIp(cidr, body.gateway_ip as string, version);
        if (gateway !== null && gateway !== row.gateway_ip) {
          const used = await tx
            .selectFrom('ip_allocations')
            .select('port_id')
            .where('subnet_id', '=', id)
            .where('ip_address', '=', gateway)
            .executeTakeFirst();
          if (used) throw gatewayIpInUse(gateway, used.port_id);
        }
        set.gateway_ip = gateway;
      }
      let pools: IpRange[] | null = null;
      if ('allocation_pools' in body) {
        pools = validateAllocationPools(cidr, body.allocation_pools ?? [], gateway);
        await this.writePools(tx, id, pools);
      }
      if (gateway !== null && ('gateway_ip' in body || pools)) {
        const current = pools ?? (await this.subnetsOf(tx, row.network_id)).find((s) => s.id === id)!.pools;
        validateGatewayOutOfPools(gateway, current);
      }
      if ('dns_nameservers' in body)
        await this.writeDns(tx, id, validateDnsNameservers(body.dns_nameservers as unknown[], this.m.core.maxDnsNameservers, version));
      if ('dns_publish_fixed_ip' in body) set.dns_publish_fixed_ip = b2i(body.dns_publish_fixed_ip === true);
      if ('service_types' in body) await this.writeServiceTypes(tx, id, body.service_types as string[]);
      if ('host_routes' in body)
        await this.writeRoutes(tx, id, validateHostRoutes(body.host_routes as unknown[], this.m.core.maxSubnetHostRoutes, version));
      if ('segment_id' in body) {
        // Under the network's lock, as subnet creates and segment deletes take it.
        await forUpdate(this.m.db, tx.selectFrom('networks').select('id').where('id', '=', row.network_id)).executeTakeFirst();
        await checkSubnetSegmentUpdate(tx, row.network_id, row.segment_id, body.segment_id as string | null);
        set.segment_id = body.segment_id as string | null;
      }
      await tx
        .updateTable('subnets')
        .set({ ...set, revision_number: Number(row.revision_number) + 1, updated_at: nowIso() })
        .where('id', '=', id)
        .execute();
      // A moved gateway moves this subnet's peer routes (unless the update sets its routes).
      if (this.m.peerSubnetHostRoutes && gateway !== row.gateway_ip && !('host_routes' in body)) {
        await forUpdate(this.m.db, tx.selectFrom('networks').select('id').where('id', '=', row.network_id)).executeTakeFirst();
        peers.push(...(await refreshPeerRoutes(tx, row.network_id, { moved: { id, oldGateway: row.gateway_ip } })));
      }
      return (await this.get(ctx, id, tx))!;
    });
  }

  async delete(ctx: RequestContext, id: string, expectRevision?: number): Promise<void> {
    const peers: string[] = [];
    const before = await inTransaction(this.m.db, async (tx) => {
      const row = await forUpdate(this.m.db, tx.selectFrom('subnets').selectAll().where('id', '=', id)).executeTakeFirst();
      if (!row) throw this.notFound(id);
      checkRevision(row.revision_number, expectRevision);
      const auto = isAutoAddressSubnet({ ipv6_address_mode: row.ipv6_address_mode, ipv6_ra_mode: row.ipv6_ra_mode });
      // Automatic (SLAAC) addresses and DHCP ports go with the subnet; anything else keeps it.
      const allocs = await tx
        .selectFrom('ip_allocations')
        .innerJoin('ports', 'ports.id', 'ip_allocations.port_id')
        .select(['ports.id as port_id', 'ports.device_owner'])
        .where('ip_allocations.subnet_id', '=', id)
        .execute();
      const blocking = allocs.filter((a) => !(auto && !ROUTER_PORT_OWNERS.includes(a.device_owner)) && a.device_owner !== DEVICE_OWNER_DHCP);
      if (blocking.length) throw subnetInUse(id);
      await tx.deleteFrom('ip_allocations').where('subnet_id', '=', id).execute();
      for (const t of ['allocation_pools', 'dns_nameservers', 'subnet_routes', 'subnet_service_types'] as const)
        await tx.deleteFrom(t).where('subnet_id', '=', id).execute();
      await tx.deleteFrom('tags').where('resource_id', '=', id).execute();
      await tx.deleteFrom('subnets').where('id', '=', id).execute();
      await this.bumpNetwork(tx, row.network_id);
      if (this.m.peerSubnetHostRoutes) peers.push(...(await refreshPeerRoutes(tx, row.network_id, { deletedCidr: row.cidr })));
      return row;
    });
    await this.m.callbacks.publish('subnet', Events.AFTER_DELETE, { context: ctx, resourceId: id, before, after: null });
    await this.publishPeerUpdates(ctx, peers);
  }
}

/** A network's subnets with their pools (SubnetHandler.subnetsOf). */
const SUBNETS_OF = new Precompiled((db, slot) =>
  db.kysely
    .selectFrom('subnets')
    .leftJoin('allocation_pools', 'allocation_pools.subnet_id', 'subnets.id')
    .select([
      'subnets.id',
      'subnets.network_id',
      'subnets.ip_version',
      'subnets.cidr',
      'subnets.gateway_ip',
      'subnets.ipv6_address_mode',
      'subnets.ipv6_ra_mode',
      'subnets.enable_dhcp',
      'subnets.segment_id',
      'allocation_pools.first_ip',
      'allocation_pools.last_ip',
    ])
    .where('subnets.network_id', '=', slot(0))
    .orderBy('subnets.created_at')
    .orderBy('subnets.id'),
);

/** The service types of a network's subnets (SubnetHandler.subnetsOf). */
const SERVICE_TYPES_OF = new Precompiled((db, slot) =>
  db.kysely
    .selectFrom('subnet_service_types')
    .select(['subnet_id', 'service_type'])
    .where('subnet_id', 'in', db.kysely.selectFrom('subnets').select('id').where('network_id', '=', slot(0)))
    .orderBy('service_type'),
);

// Stored pools were validated when written; parsing them again is the same pure function of the
// text, so its result is kept (by text, a bounded number) instead of redone for every port.
const POOL_CACHE_SIZE = 1000;
const poolCache = new Map<string, IpRange[]>();

function storedPools(cidr: string, pools: Array<{ start: string; end: string }>): IpRange[] {
  const key = `${cidr} ${pools.map((p) => `${p.start}-${p.end}`).join(',')}`;
  let ranges = poolCache.get(key);
  if (!ranges) {
    ranges = validateAllocationPools(cidr, pools, null);
    Object.freeze(ranges);
    for (const r of ranges) Object.freeze(r);
    if (poolCache.size >= POOL_CACHE_SIZE) poolCache.delete(poolCache.keys().next().value!);
    poolCache.set(key, ranges);
  }
  // A copy of the list, so callers may sort or extend theirs.
  return [...ranges];
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const l = m.get(k);
  if (l) l.push(v);
  else m.set(k, [v]);
}

function serviceTypesOf(db: Reader, subnetIds: string[]) {
  return db.selectFrom('subnet_service_types').selectAll().where('subnet_id', 'in', subnetIds).orderBy('service_type').execute();
}

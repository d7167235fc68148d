// Routers (Neutron's l3_db, l3_gwmode_db and extraroute_db): the gateway port on an external
// network, interfaces by subnet or by port, extra routes. Each write is one transaction that
// starts by locking the router's row, so concurrent changes of one router (two adds of the same
// subnet, an add racing a delete) run one after the other and see each other's result.
import type { RequestContext } from '../../core/context.js';
import { routerDef } from '../../definitions/router.js';
import { NOT_SPECIFIED } from '../../definitions/common.js';
import { isUuid } from '../../definitions/validators.js';
import { badRequest } from '../../core/errors.js';
import { Events } from '../../core/callbacks.js';
import type { Rec } from '../../core/resource.js';
import { b2i, forUpdate, i2b, inTransaction, nowIso, type Reader, type Tx } from '../../db/tx.js';
import { RouterProviders } from './providers.js';
import type { RouterTable } from '../../db/schema.js';
import { canonicalIp, cidrsOverlap, formatCidr, ipInCidr, parseIp, pyStr, tryParseCidr } from '../../ipam/index.js';
import { loadTags } from '../common/list-sql.js';
import { checkRevision, standardFields } from '../common/standard.js';
import { TableResource } from '../common/table-resource.js';
import { PortIpAllocator, type FixedIp } from '../ml2/ip-allocator.js';
import { routeList } from '../../definitions/router.js';
import {
  lockNetwork,
  loadPort,
  loadPorts,
  loadSubnets,
  networkSubnets,
  visibleNetwork,
  visiblePort,
  visibleSubnet,
  type L3Context,
  type PortInfo,
  type SubnetRow,
} from './common.js';
import {
  badResource,
  gatewayInUseByFloatingIp,
  haChangeNeedsDisabledRouter,
  invalidRoutes,
  portInUse,
  routerInUse,
  routerInterfaceInUseByFloatingIp,
  routerInterfaceInUseByRoute,
  routerInterfaceNotFound,
  routerInterfaceNotFoundForSubnet,
  routerNotFound,
  routesExhausted,
  subnetMismatchForPort,
} from './errors.js';
import { portNotFound } from '../ml2/errors.js';
import { createServicePort, deleteServicePort, l3Transaction, noteServicePortUpdate } from './port-events.js';
import { effectiveHints, fillAvailabilityZones, parseHints, validateAvailabilityZones } from '../agents/availability-zones.js';
import { DEVICE_OWNER_HA_REPLICATED_INT, DEVICE_OWNER_ROUTER_GW, DEVICE_OWNER_ROUTER_INTF } from '../../core/wire.js';
import { RouterGateways, gatewayInfoOf, gatewayPortsOf } from './gateways.js';

/** A router's interface ports' device_owner (l3_hamode_db's _get_device_owner): HA routers' are replicated. */
export const interfaceOwnerOf = (router: { ha?: unknown }) => (Number(router.ha) ? DEVICE_OWNER_HA_REPLICATED_INT : DEVICE_OWNER_ROUTER_INTF);
/** Both interface owners of a legacy or HA router (no DVR here). */
export const INTERFACE_OWNERS = [DEVICE_OWNER_ROUTER_INTF, DEVICE_OWNER_HA_REPLICATED_INT];
const isInterface = (owner: string) => INTERFACE_OWNERS.includes(owner);

export interface Route {
  destination: string;
  nexthop: string;
}

export interface GatewayInfo {
  network_id: string;
  enable_snat?: boolean;
  external_fixed_ips?: Array<{ subnet_id?: string; ip_address?: string }>;
}

/** add_router_interface / remove_router_interface answer. */
export interface InterfaceInfo {
  id: string;
  tenant_id: string;
  project_id: string;
  port_id: string;
  network_id: string;
  subnet_id: string;
  subnet_ids: string[];
}

const sortRoutes = (routes: Route[]) =>
  [...routes].sort((a, b) => (a.destination === b.destination ? a.nexthop.localeCompare(b.nexthop) : a.destination.localeCompare(b.destination)));

/** Canonical text, as Neutron's RouterRoute object stores it (netaddr's str()). */
function canonicalRoute(r: Route): Route {
  const c = tryParseCidr(r.destination);
  return { destination: c ? formatCidr(c) : r.destination, nexthop: canonicalIp(r.nexthop) };
}

/** The answer of add_router_interface and remove_router_interface. */
function interfaceAnswer(
  routerId: string,
  port: { id: string; project_id: string; network_id: string },
  subnets: { id: string }[],
  subnetId: string,
): InterfaceInfo {
  return {
    id: routerId,
    tenant_id: port.project_id,
    project_id: port.project_id,
    port_id: port.id,
    network_id: port.network_id,
    subnet_id: subnetId,
    subnet_ids: subnets.map((s) => s.id),
  };
}

/** A port the router owns (gateway or interface), recorded with its role. */
async function addRouterPort(tx: Tx, routerId: string, portId: string, portType: string): Promise<void> {
  await tx.insertInto('router_ports').values({ port_id: portId, router_id: routerId, port_type: portType }).execute();
}

/** Non-admins see their own project's routers (the default scope). */
export class RouterHandler extends TableResource<'routers'> {
  private readonly ips: PortIpAllocator;
  private readonly gateways: RouterGateways;

  constructor(private readonly l3: L3Context) {
    super({ def: routerDef, db: l3.m.db, notFound: routerNotFound });
    this.ips = new PortIpAllocator(l3.m);
    this.gateways = new RouterGateways(l3, this);
  }

  // ---- reads ---------------------------------------------------------------------------------

  protected dictsOf(_ctx: RequestContext, db: Reader, rows: RouterTable[]): Promise<Rec[]> {
    return this.toDicts(db, rows);
  }

  async toDicts(db: Reader, rows: RouterTable[]): Promise<Rec[]> {
    const ids = rows.map((r) => r.id);
    const gateways = await gatewayPortsOf(db, rows);
    const gwPorts = new Map([...gateways.values()].flat().map((p) => [p.id, p]));
    const routes = new Map<string, Route[]>();
    if (ids.length) {
      for (const r of await db.selectFrom('router_routes').selectAll().where('router_id', 'in', ids).execute()) {
        const l = routes.get(r.router_id) ?? [];
        l.push({ destination: r.destination, nexthop: r.nexthop });
        routes.set(r.router_id, l);
      }
    }
    const tags = await loadTags(db, ids);
    const dicts = rows.map((row) => {
      const gw = row.gw_port_id ? gwPorts.get(row.gw_port_id) : undefined;
      return {
        id: row.id,
        name: row.name,
        admin_state_up: i2b(row.admin_state_up),
        status: row.status,
        external_gateway_info: gw
          ? {
              network_id: gw.network_id,
              external_fixed_ips: gw.fixed_ips.map((ip) => ({ subnet_id: ip.subnet_id, ip_address: ip.ip_address })),
              enable_snat: i2b(row.enable_snat),
            }
          : null,
        external_gateways: (gateways.get(row.id) ?? []).map(gatewayInfoOf),
        enable_default_route_ecmp: i2b(row.enable_default_route_ecmp),
        routes: sortRoutes(routes.get(row.id) ?? []),
        availability_zone_hints: parseHints(row.availability_zone_hints),
        ha: i2b(row.ha),
        // dvr as an attribute only: no router is distributed.
        distributed: false,
        flavor_id: row.flavor_id ?? null,
        ...standardFields(row, tags.get(row.id)),
      } as Rec;
    });
    await fillAvailabilityZones(db, 'router', dicts);
    for (const e of this.l3.m.extensions ?? []) await e.extendRouterDicts?.(db, dicts);
    return dicts;
  }

  /** `router` after_* events (Neutron publishes ROUTER AFTER_*); the topology page listens. */
  async published(ctx: RequestContext, event: string, before: Rec | null, after: Rec | null): Promise<void> {
    const id = (after ?? before)!.id as string;
    await this.l3.m.callbacks.publish('router', event, { context: ctx, resourceId: id, before, after });
  }

  /** Schedules and notifies after a committed change (never fails the request that made it). */
  async changed(ctx: RequestContext, ids: string[]): Promise<void> {
    if (this.l3.scheduler && ids.length) await this.l3.scheduler.routersUpdated(ctx, ids);
  }

  // ---- writes --------------------------------------------------------------------------------

  async create(ctx: RequestContext, bodies: Rec[]): Promise<Rec[]> {
    // The driver controller's check first: no distributed router; a flavor settles `ha`.
    const providers = this.l3.providers;
    // (A transaction only when there is something to check: most creates name no flavor.)
    if (providers && bodies.some((b) => b.distributed === true || RouterProviders.flavorOf(b))) {
      await inTransaction(this.db, async (tx) => {
        for (const b of bodies) await providers.checkCreate(tx, b);
      });
    }
    // _before_router_create: the project's HA network exists before its HA router does.
    for (const b of bodies) if (this.l3.ha?.requested(b)) await this.l3.ha.ensureNetwork(b.project_id as string);
    const out = await l3Transaction(this.l3, async (tx) => {
      const ids: string[] = [];
      for (const body of bodies) {
        const projectId = body.project_id as string;
        // Again under the flavor's lock, which its deletion takes too.
        await providers?.checkCreate(tx, body);
        await this.l3.m.quota.enforce(tx, projectId, { router: 1 });
        // router_availability_zone: hints name zones of L3 agents (get_az_hints, then validated).
        const given = Array.isArray(body.availability_zone_hints) ? (body.availability_zone_hints as string[]) : [];
        const hints = effectiveHints(given, this.l3.settings.defaultAvailabilityZones);
        await validateAvailabilityZones(tx, 'router', hints);
        const now = nowIso();
        const row: RouterTable = {
          id: body.id as string,
          project_id: projectId,
          name: body.name as string,
          status: 'ACTIVE',
          admin_state_up: b2i(body.admin_state_up as boolean),
          gw_port_id: null,
          enable_snat: b2i(this.l3.settings.enableSnatByDefault),
          availability_zone_hints: JSON.stringify(hints),
          ha: b2i(this.l3.ha?.requested(body) ?? false),
          ha_vr_id: null,
          flavor_id: RouterProviders.flavorOf(body),
          enable_ndp_proxy: 0,
          enable_default_route_ecmp: b2i(
            typeof body.enable_default_route_ecmp === 'boolean' ? body.enable_default_route_ecmp : this.l3.settings.enableDefaultRouteEcmp,
          ),
          description: body.description as string,
          revision_number: 0,
          created_at: now,
          updated_at: now,
        };
        await tx.insertInto('routers').values(row).execute();
        if (body.external_gateway_info) await this.updateGateway(tx, ctx, row, body.external_gateway_info as GatewayInfo);
        for (const e of this.l3.m.extensions ?? []) await e.processCreateRouter?.(tx, ctx, body);
        ids.push(row.id);
      }
      const rows = await tx.selectFrom('routers').selectAll().where('id', 'in', ids).execute();
      const byId = new Map(rows.map((r) => [r.id, r]));
      return this.toDicts(
        tx,
        ids.map((id) => byId.get(id)!),
      );
    });
    // Neutron schedules a new router once it has a gateway (or later, on its first change); an
    // HA router at once, with its VRRP id.
    for (const r of out) if (r.ha) await this.l3.ha?.prepare(r.id as string, r.project_id as string);
    await this.changed(
      ctx,
      out.filter((r) => r.external_gateway_info || r.ha).map((r) => r.id as string),
    );
    for (const r of out) await this.published(ctx, Events.AFTER_CREATE, null, r);
    return out;
  }

  /** The router's row, locked for the rest of the transaction. */
  async lockRouter(tx: Tx, id: string): Promise<RouterTable> {
    const row = await forUpdate(this.db, tx.selectFrom('routers').selectAll().where('id', '=', id)).executeTakeFirst();
    if (!row) throw routerNotFound(id);
    return row;
  }

  private async bump(tx: Tx, id: string): Promise<void> {
    await tx
      .updateTable('routers')
      .set((eb) => ({ revision_number: eb('revision_number', '+', 1), updated_at: nowIso() }))
      .where('id', '=', id)
      .execute();
  }

  async update(ctx: RequestContext, id: string, body: Rec, expectRevision?: number): Promise<Rec> {
    const out = await l3Transaction(this.l3, async (tx) => {
      const row = await this.lockRouter(tx, id);
      checkRevision(row.revision_number, expectRevision);
      await this.applyUpdate(tx, ctx, row, body);
      return (await this.toDicts(tx, [(await tx.selectFrom('routers').selectAll().where('id', '=', id).executeTakeFirst())!]))[0]!;
    });
    if (out.ha && typeof body.ha === 'boolean') await this.l3.ha?.prepare(id, out.project_id as string);
    if (body.ha === false) await this.l3.ha?.cleanupNetwork(out.project_id as string);
    await this.changed(ctx, [id]);
    await this.published(ctx, Events.AFTER_UPDATE, null, out);
    return out;
  }

  private async applyUpdate(tx: Tx, ctx: RequestContext, row: RouterTable, body: Rec): Promise<void> {
    this.l3.providers?.checkUpdate(row, body);
    const gwBefore = row.gw_port_id;
    // Routes first, checked against the ports the router has now (ExtraRoute_dbonly_mixin).
    if ('routes' in body && body.routes !== NOT_SPECIFIED) await this.replaceRoutes(tx, row.id, body.routes as Route[]);
    if ('external_gateway_info' in body) await this.updateGateway(tx, ctx, row, body.external_gateway_info as GatewayInfo | null);
    const set: Partial<RouterTable> = {};
    if ('name' in body) set.name = body.name as string;
    if ('description' in body) set.description = body.description as string;
    if ('admin_state_up' in body) set.admin_state_up = b2i(body.admin_state_up as boolean);
    if (typeof body.enable_default_route_ecmp === 'boolean') set.enable_default_route_ecmp = b2i(body.enable_default_route_ecmp);
    if (this.l3.ha && typeof body.ha === 'boolean' && b2i(body.ha) !== Number(row.ha)) {
      // _validate_migration: only a router that is (or is being set) down changes `ha`.
      if (set.admin_state_up ?? Number(row.admin_state_up)) throw haChangeNeedsDisabledRouter();
      await this.l3.ha.migrate(tx, row.id, body.ha);
      set.ha = b2i(body.ha);
    }
    await tx
      .updateTable('routers')
      .set({ ...set, updated_at: nowIso() })
      .set((eb) => ({ revision_number: eb('revision_number', '+', 1) }))
      .where('id', '=', row.id)
      .execute();
    for (const e of this.l3.m.extensions ?? []) await e.processUpdateRouter?.(tx, ctx, row.id, body, gwBefore);
  }

  async delete(_ctx: RequestContext, id: string, expectRevision?: number): Promise<void> {
    let haOf: string | null = null; // the project whose HA network may go with its last HA router
    let before: Rec | null = null;
    await l3Transaction(this.l3, async (tx) => {
      const row = await this.lockRouter(tx, id);
      before = { id, project_id: row.project_id, name: row.name };
      haOf = Number(row.ha) ? row.project_id : null;
      checkRevision(row.revision_number, expectRevision);
      const attached = await tx
        .selectFrom('router_ports')
        .select('port_id')
        .where('router_id', '=', id)
        .where('port_type', 'in', INTERFACE_OWNERS)
        .orderBy('port_id')
        .execute();
      if (attached.length) throw routerInUse(id, `has ports still attached: ${attached.map((p) => p.port_id).join(', ')}`);
      await this.deleteGatewayPort(tx, row);
      // Any other port still owned (none in practice) goes with the router, as in Neutron.
      for (const p of await tx.selectFrom('router_ports').select('port_id').where('router_id', '=', id).execute()) {
        await deleteServicePort(this.l3, tx, p.port_id);
      }
      await tx.deleteFrom('router_routes').where('router_id', '=', id).execute();
      await tx.deleteFrom('tags').where('resource_id', '=', id).execute();
      // Its L3 agent bindings go with it (foreign key, on delete cascade).
      await tx.deleteFrom('routers').where('id', '=', id).execute();
    });
    this.l3.scheduler?.routerDeleted(_ctx, id);
    if (haOf) await this.l3.ha?.cleanupNetwork(haOf);
    await this.published(_ctx, Events.AFTER_DELETE, before, null);
  }

  // ---- gateway (l3_db._update_router_gw_info with l3_gwmode_db's enable_snat) ---------------

  async updateGateway(tx: Tx, ctx: RequestContext, row: RouterTable, info: GatewayInfo | null): Promise<void> {
    const enableSnat = info && info.enable_snat !== undefined ? info.enable_snat : this.l3.settings.enableSnatByDefault;
    await tx
      .updateTable('routers')
      .set({ enable_snat: b2i(enableSnat) })
      .where('id', '=', row.id)
      .execute();
    row.enable_snat = b2i(enableSnat);
    const gwPort = row.gw_port_id ? await loadPort(tx, row.gw_port_id) : null;
    const extIps = info?.external_fixed_ips ?? [];
    const ipChange = externalIpChange(gwPort, extIps);
    const networkId = await this.validateGatewayInfo(tx, ctx, info, extIps, row, gwPort);
    if (gwPort && ipChange && gwPort.network_id === networkId) {
      await this.changeGatewayIps(tx, gwPort, extIps);
      return;
    }
    if (gwPort && gwPort.network_id !== networkId) {
      await this.deleteGatewayPort(tx, row);
    }
    if (networkId && (!gwPort || gwPort.network_id !== networkId)) {
      const port = await this.createGatewayPort(tx, row, networkId, extIps);
      await tx.updateTable('routers').set({ gw_port_id: port.id }).where('id', '=', row.id).execute();
      row.gw_port_id = port.id;
    }
    if (!row.gw_port_id) {
      // Multihoming: with the first gateway gone, the next one (the oldest) takes its place.
      const next = (await gatewayPortsOf(tx, [row])).get(row.id)?.[0];
      if (next) {
        await tx.updateTable('routers').set({ gw_port_id: next.id }).where('id', '=', row.id).execute();
        row.gw_port_id = next.id;
      }
    }
  }

  /** A gateway port of the router on the network (the first or a further one). */
  async createGatewayPort(tx: Tx, row: RouterTable, networkId: string, extIps: GatewayInfo['external_fixed_ips'] & object): Promise<PortInfo> {
    const subnets = await networkSubnets(tx, networkId);
    await this.checkDuplicateSubnets(tx, row.id, subnets, true);
    const port = await createServicePort(this.l3, tx, {
      project_id: '',
      network_id: networkId,
      fixed_ips: extIps.length ? extIps : NOT_SPECIFIED,
      device_id: row.id,
      device_owner: DEVICE_OWNER_ROUTER_GW,
      admin_state_up: true,
      name: '',
    });
    await addRouterPort(tx, row.id, port.id as string, DEVICE_OWNER_ROUTER_GW);
    return {
      id: port.id as string,
      network_id: networkId,
      project_id: '',
      device_id: row.id,
      device_owner: DEVICE_OWNER_ROUTER_GW,
      mac_address: port.mac_address as string,
      fixed_ips: port.fixed_ips as FixedIp[],
    };
  }

  /** A gateway port's addresses become those asked for (kept where they already match). */
  async changeGatewayIps(tx: Tx, gwPort: PortInfo, extIps: Array<{ subnet_id?: string; ip_address?: string }>): Promise<void> {
    const networkId = gwPort.network_id;
    await lockNetwork(this.l3.m, tx, networkId);
    await noteServicePortUpdate(this.l3, tx, gwPort.id);
    const subnets = await this.l3.subnets.subnetsOf(tx, networkId);
    const fixed = await this.ips.allocate(tx, networkId, subnets, extIps, gwPort.mac_address, DEVICE_OWNER_ROUTER_GW, gwPort.fixed_ips);
    await this.ips.replace(tx, gwPort.id, networkId, gwPort.fixed_ips, fixed);
    await tx
      .updateTable('ports')
      .set((eb) => ({ revision_number: eb('revision_number', '+', 1), updated_at: nowIso() }))
      .where('id', '=', gwPort.id)
      .execute();
  }

  /** _validate_gw_info: the network is visible and external, no fixed IP is a subnet's gateway. */
  private async validateGatewayInfo(
    tx: Tx,
    ctx: RequestContext,
    info: GatewayInfo | null,
    extIps: Array<{ ip_address?: string }>,
    row: RouterTable,
    gwPort: PortInfo | null,
  ): Promise<string | null> {
    const networkId = info ? info.network_id : null;
    const gwSubnets = networkId ? await this.checkGatewayNetwork(tx, ctx, networkId, extIps) : [];
    const routes = await this.routesOf(tx, row.id);
    if (!routes.length) return networkId;
    // The routes must stay valid with the new gateway: every port but the gateway's, plus the
    // new gateway network's subnets (its own address is not known yet).
    const attached = (await this.routerPorts(tx, row.id)).filter((p) => p.id !== gwPort?.id);
    const { cidrs, addresses } = await this.reachOf(tx, attached);
    for (const s of gwSubnets) cidrs.push(s.cidr);
    this.validateRoutes(row.id, routes, cidrs, addresses);
    return networkId;
  }

  /** The network part of _validate_gw_info: visible, external, no fixed IP a subnet's gateway. Its subnets. */
  async checkGatewayNetwork(tx: Tx, ctx: RequestContext, networkId: string, extIps: Array<{ ip_address?: string }>): Promise<SubnetRow[]> {
    const net = await visibleNetwork(tx, ctx, networkId);
    if (!net.external) throw badResource('router', `Network ${networkId} is not an external network`);
    const gwSubnets = await networkSubnets(tx, networkId);
    for (const ip of extIps) {
      for (const s of gwSubnets) {
        if (s.gateway_ip && ip.ip_address !== undefined && sameIp(ip.ip_address, s.gateway_ip)) {
          throw badResource('router', `External IP ${ip.ip_address} is the same as the gateway IP`);
        }
      }
    }
    return gwSubnets;
  }

  private async deleteGatewayPort(tx: Tx, row: RouterTable): Promise<void> {
    if (!row.gw_port_id) return;
    const port = await loadPort(tx, row.gw_port_id);
    const fip = await tx.selectFrom('floatingips').select('id').where('router_id', '=', row.id).limit(1).executeTakeFirst();
    if (fip) throw gatewayInUseByFloatingIp(row.id, port?.network_id ?? '');
    await tx.updateTable('routers').set({ gw_port_id: null }).where('id', '=', row.id).execute();
    await tx.deleteFrom('router_ports').where('port_id', '=', row.gw_port_id).execute();
    if (port) await deleteServicePort(this.l3, tx, port.id);
    row.gw_port_id = null;
  }

  // ---- interfaces --------------------------------------------------------------------------

  /** Every port the router owns (gateway and interfaces) with its fixed IPs. */
  private async routerPorts(tx: Reader, routerId: string): Promise<PortInfo[]> {
    const ids = (await tx.selectFrom('router_ports').select('port_id').where('router_id', '=', routerId).execute()).map((r) => r.port_id);
    return loadPorts(tx, ids);
  }

  /** _check_for_dup_router_subnets: no second port on a subnet, no overlapping CIDRs. */
  async checkDuplicateSubnets(tx: Tx, routerId: string, newSubnets: SubnetRow[], forGateway = false): Promise<void> {
    const newIds = new Set(newSubnets.map((s) => s.id));
    const routerSubnets: string[] = [];
    // A further gateway on an external network the router has a gateway on already overlaps
    // nothing (multihoming's _check_for_dup_router_subnets); any other overlap still counts.
    const extSubnets = new Set<string>();
    for (const p of await this.routerPorts(tx, routerId)) {
      const gw = p.device_owner === DEVICE_OWNER_ROUTER_GW;
      for (const ip of p.fixed_ips) {
        if (newIds.has(ip.subnet_id) && !(gw && forGateway)) throw badResource('router', `Router already has a port on subnet ${ip.subnet_id}`);
        if (gw) {
          for (const s of await networkSubnets(tx, p.network_id)) {
            routerSubnets.push(s.id);
            extSubnets.add(s.id);
          }
        } else {
          routerSubnets.push(ip.subnet_id);
        }
      }
    }
    for (const sub of await loadSubnets(tx, [...new Set(routerSubnets)])) {
      for (const s of newSubnets) {
        if (forGateway && extSubnets.has(s.id)) continue;
        if (cidrsOverlap(s.cidr, sub.cidr)) {
          throw badResource('router', `Cidr ${s.cidr} of subnet ${s.id} overlaps with cidr ${sub.cidr} of subnet ${sub.id}`);
        }
      }
    }
  }

  private static validateSubnetAddressMode(s: SubnetRow): void {
    if (s.ip_version === 6 && s.ipv6_ra_mode === null && s.ipv6_address_mode !== null) {
      throw badResource('router', `IPv6 subnet ${s.id} configured to receive RAs from an external router cannot be added to Neutron Router.`);
    }
  }

  /** The member actions routerDef declares. */
  action(ctx: RequestContext, id: string, name: string, body: unknown): Promise<unknown> {
    switch (name) {
      case 'add_router_interface':
        return this.addInterface(ctx, id, body);
      case 'remove_router_interface':
        return this.removeInterface(ctx, id, body);
      case 'add_extraroutes':
        return this.changeExtraRoutes(ctx, id, body, 'add');
      case 'remove_extraroutes':
        return this.changeExtraRoutes(ctx, id, body, 'remove');
      case 'add_external_gateways':
      case 'update_external_gateways':
      case 'remove_external_gateways':
        return this.gateways.act(ctx, id, name, body);
      default:
        throw new Error(`router action ${name} is not declared`);
    }
  }

  async addInterface(ctx: RequestContext, routerId: string, raw: unknown): Promise<InterfaceInfo> {
    const { portId, subnetId } = interfaceInfo(raw, false);
    await this.ensureDefaultGroup(ctx, routerId, portId);
    const out = await l3Transaction(this.l3, async (tx) => {
      const router = await this.lockRouter(tx, routerId);
      let port: PortInfo;
      let subnets: SubnetRow[];
      if (portId) ({ port, subnets } = await this.addByPort(tx, ctx, router, portId));
      else ({ port, subnets } = await this.addBySubnet(tx, ctx, router, subnetId!));
      await this.bump(tx, routerId);
      // Of several subnets added at once, Neutron names the last.
      return interfaceAnswer(routerId, port, subnets, subnets[subnets.length - 1]!.id);
    });
    await this.changed(ctx, [routerId]);
    return out;
  }

  /**
   * Neutron creates (by subnet) or updates (by port) the interface port through the core plugin,
   * whose hooks first make the port's project's default security group: the router's project,
   * or the given port's.
   */
  private async ensureDefaultGroup(ctx: RequestContext, routerId: string, portId: string | null): Promise<void> {
    const groups = this.l3.m.securityGroups;
    if (!groups) return;
    const db = this.db.kysely;
    const owner = portId
      ? await db.selectFrom('ports').select('project_id').where('id', '=', portId).executeTakeFirst()
      : await db.selectFrom('routers').select('project_id').where('id', '=', routerId).executeTakeFirst();
    if (owner) await groups.ensureDefaultGroups(ctx, [owner.project_id]);
  }

  private async addByPort(tx: Tx, ctx: RequestContext, router: RouterTable, portId: string) {
    const seen = await visiblePort(tx, ctx, portId);
    // The port's network lock (port updates take it too), then the port as it is now: of two
    // routers taking one port at once, the second sees the first's device_id.
    await lockNetwork(this.l3.m, tx, seen.network_id);
    const port = await loadPort(tx, portId);
    if (!port) throw portNotFound(portId);
    if (port.device_id !== '') throw portInUse(port.id, port.network_id, port.device_id);
    if (!port.fixed_ips.length) throw badResource('router', 'Router port must have at least one fixed IP');
    const subnets = await loadSubnets(tx, [...new Set(port.fixed_ips.map((ip) => ip.subnet_id))]);
    for (const s of subnets) RouterHandler.validateSubnetAddressMode(s);
    if (port.fixed_ips.some((ip) => ip.ip_address.includes(':'))) {
      for (const existing of await this.routerPorts(tx, router.id)) {
        if (existing.network_id === port.network_id && existing.fixed_ips.some((ip) => ip.ip_address.includes(':'))) {
          throw badResource(
            'router',
            `Cannot have multiple router ports with the same network id if both contain IPv6 subnets. Existing port ${existing.id} has IPv6 subnet(s) and network id ${existing.network_id}`,
          );
        }
      }
    }
    if (subnets.length) await this.checkDuplicateSubnets(tx, router.id, subnets);
    if (subnets.filter((s) => s.ip_version === 4).length > 1) throw badResource('router', 'Cannot have multiple IPv4 subnets on router port');
    if (!ctx.isAdmin) await this.checkPortInPools(tx, ctx, port, subnets);
    await noteServicePortUpdate(this.l3, tx, port.id, true);
    await tx
      .updateTable('ports')
      .set((eb) => ({
        device_id: router.id,
        device_owner: interfaceOwnerOf(router),
        revision_number: eb('revision_number', '+', 1),
        updated_at: nowIso(),
      }))
      .where('id', '=', port.id)
      .execute();
    await addRouterPort(tx, router.id, port.id, interfaceOwnerOf(router));
    return {
      port,
      subnets: orderLike(
        subnets,
        port.fixed_ips.map((ip) => ip.subnet_id),
      ),
    };
  }

  /** _validate_port_in_range_or_admin: an address outside the pools needs the subnet's owner. */
  private async checkPortInPools(tx: Tx, ctx: RequestContext, port: PortInfo, subnets: SubnetRow[]): Promise<void> {
    const pools = await tx
      .selectFrom('allocation_pools')
      .selectAll()
      .where(
        'subnet_id',
        'in',
        subnets.map((s) => s.id),
      )
      .execute();
    for (const ip of port.fixed_ips) {
      const subnet = subnets.find((s) => s.id === ip.subnet_id)!;
      const inPool = pools.some((p) => p.subnet_id === ip.subnet_id && inRange(ip.ip_address, p.first_ip, p.last_ip));
      if (!inPool && ctx.projectId !== subnet.project_id) {
        throw badResource(
          'router',
          `Cannot add interface to router because specified port ${port.id} has an IP address out of the allocation pool of subnet ${ip.subnet_id}, which is not owned by the project making the request`,
        );
      }
    }
  }

  private async addBySubnet(tx: Tx, ctx: RequestContext, router: RouterTable, subnetId: string) {
    const subnet = await visibleSubnet(tx, ctx, subnetId);
    if (!subnet.gateway_ip) throw badResource('router', 'Subnet for router interface must have a gateway IP');
    if (subnet.project_id !== ctx.projectId && !ctx.isAdmin) {
      // Shared with the project by an RBAC entry: allowed; shared with everyone: not (LP 1757482).
      const rbac = await tx
        .selectFrom('rbac_entries')
        .select('id')
        .where('object_type', '=', 'network')
        .where('object_id', '=', subnet.network_id)
        .where('action', '=', 'access_as_shared')
        .where('target_project', '=', ctx.projectId ?? '')
        .executeTakeFirst();
      if (!rbac) throw badResource('router', `Cannot add interface to router because subnet ${subnetId} is not owned by project making the request`);
    }
    RouterHandler.validateSubnetAddressMode(subnet);
    await this.checkDuplicateSubnets(tx, router.id, [subnet]);
    const fixedIp = { ip_address: subnet.gateway_ip, subnet_id: subnet.id };
    if (subnet.ip_version === 6) {
      // A further IPv6 prefix joins the router's IPv6 port on that network.
      const existing = (await this.routerPorts(tx, router.id)).find(
        (p) => isInterface(p.device_owner) && p.network_id === subnet.network_id && p.fixed_ips.some((ip) => ip.ip_address.includes(':')),
      );
      if (existing) {
        await lockNetwork(this.l3.m, tx, existing.network_id);
        await noteServicePortUpdate(this.l3, tx, existing.id, true);
        const infos = await this.l3.subnets.subnetsOf(tx, existing.network_id);
        const requested = [...existing.fixed_ips, fixedIp];
        const fixed = await this.ips.allocate(
          tx,
          existing.network_id,
          infos,
          requested,
          existing.mac_address,
          interfaceOwnerOf(router),
          existing.fixed_ips,
        );
        await this.ips.replace(tx, existing.id, existing.network_id, existing.fixed_ips, fixed);
        await tx
          .updateTable('ports')
          .set((eb) => ({ revision_number: eb('revision_number', '+', 1), updated_at: nowIso() }))
          .where('id', '=', existing.id)
          .execute();
        return { port: existing, subnets: [subnet] };
      }
    }
    const created = await createServicePort(this.l3, tx, {
      project_id: router.project_id,
      network_id: subnet.network_id,
      fixed_ips: [fixedIp],
      admin_state_up: true,
      device_id: router.id,
      device_owner: interfaceOwnerOf(router),
      name: '',
    });
    await addRouterPort(tx, router.id, created.id as string, interfaceOwnerOf(router));
    const port: PortInfo = {
      id: created.id as string,
      network_id: subnet.network_id,
      project_id: router.project_id,
      device_id: router.id,
      device_owner: interfaceOwnerOf(router),
      mac_address: created.mac_address as string,
      fixed_ips: created.fixed_ips as FixedIp[],
    };
    return { port, subnets: [subnet] };
  }

  async removeInterface(ctx: RequestContext, routerId: string, raw: unknown): Promise<InterfaceInfo> {
    const { portId, subnetId } = interfaceInfo(raw, true);
    const out = await l3Transaction(this.l3, async (tx) => {
      await this.lockRouter(tx, routerId);
      const { port, subnets } = portId
        ? await this.removeByPort(tx, routerId, portId, subnetId)
        : await this.removeBySubnet(tx, ctx, routerId, subnetId!);
      await this.bump(tx, routerId);
      return interfaceAnswer(routerId, port, subnets, subnets[0]!.id);
    });
    await this.changed(ctx, [routerId]);
    return out;
  }

  private async interfacePorts(tx: Tx, routerId: string): Promise<PortInfo[]> {
    return (await this.routerPorts(tx, routerId)).filter((p) => isInterface(p.device_owner));
  }

  private async removeByPort(tx: Tx, routerId: string, portId: string, subnetId: string | null) {
    const rp = await tx
      .selectFrom('router_ports')
      .select('port_id')
      .where('router_id', '=', routerId)
      .where('port_id', '=', portId)
      .where('port_type', 'in', INTERFACE_OWNERS)
      .executeTakeFirst();
    const port = rp ? await loadPort(tx, portId) : null;
    if (!port || !isInterface(port.device_owner)) throw routerInterfaceNotFound(routerId, portId);
    const portSubnetIds = port.fixed_ips.map((ip) => ip.subnet_id);
    if (subnetId && !portSubnetIds.includes(subnetId)) throw subnetMismatchForPort(portId, subnetId);
    const subnets = orderLike(await loadSubnets(tx, [...new Set(portSubnetIds)]), portSubnetIds);
    for (const s of subnets) await this.confirmInterfaceNotInUse(tx, routerId, s);
    await tx.deleteFrom('router_ports').where('port_id', '=', portId).execute();
    await deleteServicePort(this.l3, tx, portId);
    return { port, subnets };
  }

  private async removeBySubnet(tx: Tx, ctx: RequestContext, routerId: string, subnetId: string) {
    const subnet = await visibleSubnet(tx, ctx, subnetId);
    const ports = (await this.interfacePorts(tx, routerId)).filter((p) => p.network_id === subnet.network_id);
    if (ports.length) await this.confirmInterfaceNotInUse(tx, routerId, subnet);
    for (const p of ports) {
      const portSubnets = p.fixed_ips.map((ip) => ip.subnet_id);
      if (!portSubnets.includes(subnetId)) continue;
      if (portSubnets.length > 1) {
        // A multi-prefix (IPv6) port: only this subnet's address goes.
        await noteServicePortUpdate(this.l3, tx, p.id);
        await tx.deleteFrom('ip_allocations').where('port_id', '=', p.id).where('subnet_id', '=', subnetId).execute();
        await tx
          .updateTable('ports')
          .set((eb) => ({ revision_number: eb('revision_number', '+', 1), updated_at: nowIso() }))
          .where('id', '=', p.id)
          .execute();
      } else {
        await tx.deleteFrom('router_ports').where('port_id', '=', p.id).execute();
        await deleteServicePort(this.l3, tx, p.id);
      }
      return { port: p, subnets: [subnet] };
    }
    throw routerInterfaceNotFoundForSubnet(routerId, subnetId);
  }

  /** No floating IP reaches a port of the subnet through this router, no route goes through it. */
  private async confirmInterfaceNotInUse(tx: Tx, routerId: string, subnet: SubnetRow): Promise<void> {
    for (const e of this.l3.m.extensions ?? []) await e.beforeRemoveRouterInterface?.(tx, routerId, subnet.id);
    const fips = await tx.selectFrom('floatingips').select(['fixed_port_id', 'fixed_ip_address']).where('router_id', '=', routerId).execute();
    if (fips.length) {
      const subnetPorts = new Set(
        (await tx.selectFrom('ip_allocations').select('port_id').where('subnet_id', '=', subnet.id).execute()).map((a) => a.port_id),
      );
      for (const f of fips) {
        if (f.fixed_ip_address && f.fixed_port_id && ipInCidr(f.fixed_ip_address, subnet.cidr) && subnetPorts.has(f.fixed_port_id)) {
          throw routerInterfaceInUseByFloatingIp(routerId, subnet.id);
        }
      }
    }
    for (const r of await this.routesOf(tx, routerId)) {
      if (ipInCidr(r.nexthop, subnet.cidr)) throw routerInterfaceInUseByRoute(routerId, subnet.id);
    }
  }

  // ---- extra routes ------------------------------------------------------------------------

  private async routesOf(db: Reader, routerId: string): Promise<Route[]> {
    return db.selectFrom('router_routes').select(['destination', 'nexthop']).where('router_id', '=', routerId).execute();
  }

  /** Where routes through these ports may lead: their subnets' CIDRs, and their own addresses (no nexthop may be one). */
  private async reachOf(tx: Reader, ports: PortInfo[]): Promise<{ cidrs: string[]; addresses: string[] }> {
    const cidrs: string[] = [];
    const addresses: string[] = [];
    const subnetCidrs = new Map(
      (
        await loadSubnets(
          tx,
          ports.flatMap((p) => p.fixed_ips.map((ip) => ip.subnet_id)),
        )
      ).map((s) => [s.id, s.cidr]),
    );
    for (const p of ports) {
      for (const ip of p.fixed_ips) {
        const c = subnetCidrs.get(ip.subnet_id);
        if (c) cidrs.push(c);
        addresses.push(ip.ip_address);
      }
    }
    return { cidrs, addresses };
  }

  /** _validate_routes: not too many; each nexthop on a subnet of the router, none its own address. */
  private validateRoutes(routerId: string, routes: Route[], cidrs: string[], addresses: string[]): void {
    if (routes.length > this.l3.settings.maxRoutes) throw routesExhausted(routerId, this.l3.settings.maxRoutes);
    const own = new Set(addresses.map((a) => canonicalIp(a)));
    for (const r of routes) {
      if (!cidrs.some((c) => ipInCidr(r.nexthop, c))) throw invalidRoutes(routes, 'the nexthop is not connected with router');
      if (own.has(canonicalIp(r.nexthop))) throw invalidRoutes(routes, 'the nexthop is used by router');
    }
  }

  private async replaceRoutes(tx: Tx, routerId: string, routes: Route[]): Promise<void> {
    const { cidrs, addresses } = await this.reachOf(tx, await this.routerPorts(tx, routerId));
    this.validateRoutes(routerId, routes, cidrs, addresses);
    const wanted = new Map(routes.map(canonicalRoute).map((r) => [`${r.destination} ${r.nexthop}`, r]));
    const current = await this.routesOf(tx, routerId);
    const have = new Set(current.map((r) => `${r.destination} ${r.nexthop}`));
    for (const r of current) {
      if (!wanted.has(`${r.destination} ${r.nexthop}`)) {
        await tx
          .deleteFrom('router_routes')
          .where('router_id', '=', routerId)
          .where('destination', '=', r.destination)
          .where('nexthop', '=', r.nexthop)
          .execute();
      }
    }
    const added = [...wanted.entries()].filter(([k]) => !have.has(k)).map(([, r]) => ({ router_id: routerId, ...r }));
    if (added.length) await tx.insertInto('router_routes').values(added).execute();
  }

  /** PUT add_extraroutes / remove_extraroutes: {"router": {"routes": [...]}} merged into the set. */
  async changeExtraRoutes(ctx: RequestContext, routerId: string, raw: unknown, op: 'add' | 'remove'): Promise<Rec> {
    const r = (raw as { router?: unknown } | null)?.router;
    if (!r || typeof r !== 'object' || !('routes' in r)) throw badRequest("Unable to find 'router' in request body");
    const given = routeList((r as Rec).routes, 'routes') as Route[];
    const out = await l3Transaction(this.l3, async (tx) => {
      const row = await this.lockRouter(tx, routerId);
      const old = (await this.routesOf(tx, routerId)).map(canonicalRoute);
      const change = given.map(canonicalRoute);
      const key = (x: Route) => `${x.destination} ${x.nexthop}`;
      let routes: Route[];
      if (op === 'add') {
        const merged = new Map(old.map((x) => [key(x), x]));
        for (const x of change) merged.set(key(x), x);
        routes = [...merged.values()];
      } else {
        const drop = new Set(change.map(key));
        routes = old.filter((x) => !drop.has(key(x)));
      }
      await this.applyUpdate(tx, ctx, row, { routes });
      return { router: (await this.toDicts(tx, [(await tx.selectFrom('routers').selectAll().where('id', '=', routerId).executeTakeFirst())!]))[0]! };
    });
    await this.changed(ctx, [routerId]);
    return out;
  }
}

/** _validate_interface_info: subnet_id or port_id (both only on removal), valid UUIDs. */
function interfaceInfo(raw: unknown, forRemoval: boolean): { portId: string | null; subnetId: string | null } {
  const info = raw && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Rec) : {};
  const hasPort = 'port_id' in info;
  const hasSubnet = 'subnet_id' in info;
  if (!hasPort && !hasSubnet) throw badResource('router', 'Either subnet_id or port_id must be specified');
  for (const k of ['port_id', 'subnet_id']) {
    if (k in info && !isUuid(info[k])) throw badResource('router', `'${pyStr(info[k])}' is not a valid UUID`);
  }
  if (!forRemoval && hasPort && hasSubnet) throw badResource('router', 'Cannot specify both subnet-id and port-id');
  return { portId: hasPort ? (info.port_id as string) : null, subnetId: hasSubnet ? (info.subnet_id as string) : null };
}

/** _check_for_external_ip_change: whether the requested external IPs differ from the port's. */
function externalIpChange(gwPort: PortInfo | null, extIps: Array<{ subnet_id?: string; ip_address?: string }>): boolean {
  if (!extIps.length) return false;
  if (!gwPort) return true;
  const setEq = (a: Set<string>, b: Set<string>) => a.size === b.size && [...a].every((x) => b.has(x));
  const subnets = new Set(gwPort.fixed_ips.map((ip) => ip.subnet_id));
  const wantSubnets = new Set(extIps.map((f) => f.subnet_id).filter((x): x is string => !!x));
  if (!setEq(subnets, wantSubnets)) return true;
  const addresses = new Set(gwPort.fixed_ips.map((ip) => ip.ip_address));
  const wantAddresses = new Set(extIps.map((f) => f.ip_address).filter((x): x is string => !!x));
  return !setEq(addresses, wantAddresses);
}

function sameIp(a: string, b: string): boolean {
  try {
    return canonicalIp(a) === canonicalIp(b);
  } catch {
    return false;
  }
}

/** Whether `ip` lies in the pool first..last. */
function inRange(ip: string, first: string, last: string): boolean {
  const a = parseIp(ip);
  const f = parseIp(first);
  const l = parseIp(last);
  return a.version === f.version && a.value >= f.value && a.value <= l.value;
}

/** Subnets in the order their ids appear (a port's fixed IPs). */
function orderLike(subnets: SubnetRow[], ids: string[]): SubnetRow[] {
  const seen = [...new Set(ids)];
  return seen.map((id) => subnets.find((s) => s.id === id)).filter((s): s is SubnetRow => !!s);
}

// The L3 service plugin (`router`): routers and floating IPs, their quotas and member actions,
// the L3 agent scheduler and the L3 agents' RPC; and its reactions to the core plugin's events:
// router and floating IP ports may not be deleted through the port API, deleting a port drops
// its floating IP associations, deleting a network first deletes its unassociated floating IPs,
// and an L3 agent enabled or disabled is told so.
import { floatingipPoolsRoute } from './floatingip-pools.js';
import { Events, type EventPayload } from '../../core/callbacks.js';
import { castAgentUpdated } from '../agents/admin-state.js';
import {
  AGENT_TYPE_L3,
  DEVICE_OWNER_FLOATINGIP,
  DEVICE_OWNER_HA_REPLICATED_INT,
  DEVICE_OWNER_ROUTER_HA_INTF,
  DEVICE_OWNER_ROUTER_INTF,
  DEVICE_OWNER_ROUTER_SNAT,
  L3_AGENT_TOPIC,
  L3_PLUGIN_TOPIC,
} from '../../core/wire.js';
import { nowIso, type Tx } from '../../db/tx.js';
import type { Db } from '../../db/connection.js';
import { tableCounter } from '../../quota/quota.js';
import type { PluginDefinition } from '../contract.js';
import { schedulerRoutes } from '../common/scheduler-routes.js';
import type { Ml2PortHandler } from '../ml2/bound-ports.js';
import { SubnetHandler } from '../ml2/subnets.js';
import { L3AgentScheduler } from './agent-scheduler.js';
import { ROUTER_DEVICE_OWNERS, defaultL3Settings, type L3Context } from './common.js';
import { ipAddressChangeNotAllowed, servicePortInUse } from './errors.js';
import { FloatingIpHandler } from './floatingips.js';
import { RouterHandler } from './routers.js';
import { l3RpcHandlers } from './rpc.js';
import { L3_RULES } from '../../policy/defaults/l3.js';
import type { NetworkHandler } from '../ml2/networks.js';
import { RouterHa, withHaStates } from './ha.js';
import { checkRouterDistributed, RouterProviders } from './providers.js';
import { loadedServiceTypes } from '../flavors/plugin.js';

const ROUTER_ALIASES = [
  'router',
  'ext-gw-mode',
  'extraroute',
  'extraroute-atomic',
  'fip-port-details',
  'floatingip-pools',
  'l3_agent_scheduler',
  'l3-ha',
  'l3-port-ip-change-not-allowed',
  'router_availability_zone',
  'external-gateway-multihoming',
  'enable-default-route-ecmp',
];

/**
 * prevent_l3_port_deletion, then disassociate_floatingips: a router's or floating IP's port
 * with addresses whose owner still exists is refused; a port's floating IPs let go of it.
 */
async function beforePortDelete(tx: Tx, port: { id: string; device_id: string; device_owner: string }, fips: FloatingIpHandler): Promise<string[]> {
  if (ROUTER_DEVICE_OWNERS.includes(port.device_owner)) {
    const hasIps = await tx.selectFrom('ip_allocations').select('port_id').where('port_id', '=', port.id).limit(1).executeTakeFirst();
    const owner = !hasIps
      ? undefined
      : port.device_owner === DEVICE_OWNER_FLOATINGIP
        ? await tx.selectFrom('floatingips').select('id').where('id', '=', port.device_id).executeTakeFirst()
        : await tx.selectFrom('routers').select('id').where('id', '=', port.device_id).executeTakeFirst();
    if (owner) throw servicePortInUse(port.id, `has device owner ${port.device_owner}`);
  }
  return fips.disassociatePort(tx, port.id);
}

/** The L3 router plugin's IP_UPDATE_NOT_ALLOWED_LIST: owners whose IPv4 addresses may not change. */
const IP_UPDATE_NOT_ALLOWED = [DEVICE_OWNER_ROUTER_INTF, DEVICE_OWNER_ROUTER_HA_INTF, DEVICE_OWNER_HA_REPLICATED_INT, DEVICE_OWNER_ROUTER_SNAT];

type PortIps = { id: string; device_id: string; device_owner: string; fixed_ips?: Array<{ ip_address: string }> };

/**
 * l3-port-ip-change-not-allowed (Neutron's IPAM check): a router interface of an existing router
 * may not gain or lose an IPv4 address through a port update (IPv6 addresses may change).
 */
async function refuseRouterPortIpChange(tx: Tx, before: PortIps, after: PortIps): Promise<void> {
  if (!IP_UPDATE_NOT_ALLOWED.includes(before.device_owner)) return;
  const v4 = (p: PortIps) =>
    (p.fixed_ips ?? [])
      .map((f) => f.ip_address)
      .filter((ip) => !ip.includes(':'))
      .sort()
      .join();
  if (v4(before) === v4(after)) return;
  const router = await tx.selectFrom('routers').select('id').where('id', '=', before.device_id).executeTakeFirst();
  if (router) throw ipAddressChangeNotAllowed(before.id);
}

export const routerPlugin: PluginDefinition = {
  name: 'router',
  policies: L3_RULES,
  classPaths: ['neutron.services.l3_router.l3_router_plugin.L3RouterPlugin'],
  // dvr is the `distributed` attribute only (always false; true refused); l3-flavors needs flavors.
  aliases: (_cfg, loaded) => [...ROUTER_ALIASES, 'dvr', ...(loaded.has('flavors') ? ['l3-flavors'] : [])],
  create(ctx) {
    const { cfg, db, ml2, bus, callbacks } = ctx;
    checkRouterDistributed(cfg.DEFAULT.router_distributed);
    const ports = ctx.exportsOf<{ ports: Ml2PortHandler }>('ml2')!.ports;
    const scheduler = new L3AgentScheduler(
      db,
      {
        agentDownTime: cfg.DEFAULT.agent_down_time,
        routerAutoSchedule: cfg.DEFAULT.router_auto_schedule,
        defaultAvailabilityZones: [...cfg.DEFAULT.default_availability_zones],
      },
      bus,
    );
    const l3: L3Context = {
      m: ml2,
      ports,
      subnets: new SubnetHandler(ml2),
      scheduler,
      settings: {
        ...defaultL3Settings(),
        maxRoutes: cfg.DEFAULT.max_routes,
        enableSnatByDefault: cfg.DEFAULT.enable_snat_by_default,
        enableDefaultRouteEcmp: cfg.DEFAULT.enable_default_route_ecmp,
        defaultAvailabilityZones: [...cfg.DEFAULT.default_availability_zones],
      },
    };
    const core = ctx.exportsOf<{ networks: NetworkHandler; subnets: SubnetHandler }>('ml2')!;
    const d = cfg.DEFAULT;
    const ha = new RouterHa(l3, core.networks, core.subnets, {
      l3Ha: d.l3_ha,
      maxAgents: d.max_l3_agents_per_router,
      netCidr: d.l3_ha_net_cidr,
      networkType: d.l3_ha_network_type,
      physicalNetwork: d.l3_ha_network_physical_name,
    });
    l3.ha = ha;
    l3.providers = new RouterProviders(db, ctx.aliases.has('l3-flavors') ? loadedServiceTypes(ctx.aliases) : null);
    scheduler.ha = ha;
    const routers = new RouterHandler(l3);
    const floatingips = new FloatingIpHandler(l3);
    const opts = { name: 'l3' };
    // The routers of floating IPs a deleted port took with it hear of it once the delete commits
    // (an entry of a delete that rolled back stays until that port id is deleted again).
    const routersOfDeletedPort = new Map<string, string[]>();
    callbacks.subscribe(
      'port',
      Events.PRECOMMIT_DELETE,
      async (p: EventPayload) => {
        const routers = await beforePortDelete(p.tx as Tx, p.before as never, floatingips);
        if (routers.length) routersOfDeletedPort.set(p.resourceId, routers);
      },
      opts,
    );
    callbacks.subscribe(
      'port',
      Events.AFTER_DELETE,
      (p: EventPayload) => {
        const routers = routersOfDeletedPort.get(p.resourceId);
        routersOfDeletedPort.delete(p.resourceId);
        return routers ? scheduler.routersUpdated(p.context, routers) : undefined;
      },
      opts,
    );
    callbacks.subscribe(
      'port',
      Events.PRECOMMIT_UPDATE,
      (p: EventPayload) => refuseRouterPortIpChange(p.tx as Tx, p.before as never, p.after as never),
      opts,
    );
    // A port's fixed IPs changed: the routers of its floating IPs rebuild their NAT (Neutron's
    // agents hear of it through the port update). A floating IP whose fixed address left the port
    // follows the port's new IPv4 address on the same subnet, so its NAT points at a live address.
    callbacks.subscribe(
      'port',
      Events.AFTER_UPDATE,
      async (p: EventPayload) => {
        const routerIds = await followFixedIpChange(db, p.before as never, p.after as never);
        return routerIds.length ? scheduler.routersUpdated(p.context, routerIds) : undefined;
      },
      opts,
    );
    // Neutron's _process_l3_delete: a network's unassociated floating IPs go before it does.
    callbacks.subscribe('network', Events.BEFORE_DELETE, (p: EventPayload) => floatingips.deleteDisassociated(p.resourceId), opts);
    if (bus) castAgentUpdated(callbacks, bus, AGENT_TYPE_L3, L3_AGENT_TOPIC);
    // A floating IP associated, moved or let go: the routers on both sides tell their agents
    // (Neutron's L3 notifier on FLOATING_IP AFTER_*), after commit.
    const fipChanged = (p: EventPayload) => {
      const ids = new Set<string>();
      for (const s of [p.before, p.after]) if (s?.router_id) ids.add(s.router_id as string);
      return ids.size ? scheduler.routersUpdated(p.context, [...ids]) : undefined;
    };
    for (const e of [Events.AFTER_CREATE, Events.AFTER_UPDATE, Events.AFTER_DELETE]) callbacks.subscribe('floatingip', e, fipChanged, opts);
    return {
      resources: [routers, floatingips],
      quotas: [
        { resource: 'router', default: 10, counter: tableCounter('routers') },
        { resource: 'floatingip', default: 50, counter: tableCounter('floatingips') },
      ],
      // With the scheduler, an L3 agent syncs only the routers bound to its host.
      rpc: [
        {
          topic: L3_PLUGIN_TOPIC,
          handlers: l3RpcHandlers({ db, routers, floatingips, ports, ha, routerIdsForHost: (host) => scheduler.routersOnHost(host) }),
        },
      ],
      routes: [
        floatingipPoolsRoute(db),
        ...withHaStates(
          ha,
          schedulerRoutes({
            hosted: 'l3-routers',
            hosts: 'l3-agents',
            items: 'routers',
            idKey: 'router_id',
            itemsOnAgent: (id) => scheduler.routersOnAgent(id),
            agentsHosting: (id) => scheduler.agentsHostingRouter(id),
            add: (c, agent, router) => scheduler.addRouterToAgent(c, agent, router),
            remove: (c, agent, router) => scheduler.removeRouterFromAgent(c, agent, router),
          }),
        ),
      ],
      exports: { routers, floatingips, scheduler, ha },
      settled: () => scheduler.settled(),
    };
  },
};

type FixedIps = Array<{ subnet_id: string; ip_address: string }>;

/**
 * After a port update: when its fixed IPs changed and it has floating IPs, re-points those whose
 * fixed address is gone (to the port's IPv4 address on the same subnet, if it has one) and
 * returns the routers of its floating IPs.
 */
async function followFixedIpChange(
  db: Db,
  before: { id?: string; fixed_ips?: FixedIps } | null,
  after: { id?: string; fixed_ips?: FixedIps } | null,
): Promise<string[]> {
  if (!before?.fixed_ips || !after?.fixed_ips || !after.id) return [];
  const key = (ips: FixedIps) =>
    ips
      .map((f) => `${f.subnet_id}/${f.ip_address}`)
      .sort()
      .join(',');
  if (key(before.fixed_ips) === key(after.fixed_ips)) return [];
  const fips = await db.kysely
    .selectFrom('floatingips')
    .select(['id', 'router_id', 'fixed_ip_address'])
    .where('fixed_port_id', '=', after.id)
    .execute();
  if (!fips.length) return [];
  const now = new Set(after.fixed_ips.map((f) => f.ip_address));
  for (const f of fips) {
    if (!f.fixed_ip_address || now.has(f.fixed_ip_address)) continue;
    const subnet = before.fixed_ips.find((x) => x.ip_address === f.fixed_ip_address)?.subnet_id;
    const next = after.fixed_ips.find((x) => x.subnet_id === subnet && !x.ip_address.includes(':'));
    if (!next) continue;
    await db.kysely
      .updateTable('floatingips')
      .set((eb) => ({ fixed_ip_address: next.ip_address, revision_number: eb('revision_number', '+', 1), updated_at: nowIso() }))
      .where('id', '=', f.id)
      .execute();
  }
  return [...new Set(fips.flatMap((f) => (f.router_id ? [f.router_id] : [])))];
}

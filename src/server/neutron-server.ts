// Assembles the API server from configuration: database (migrated), ML2 core plugin, quotas,
// policy, auth, and the HTTP routes.
import { mkdirSync, existsSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/index.js';
import { openDb, type Db } from '../db/connection.js';
import { upgrade } from '../db/migrate.js';
import { buildApi, type Authenticator } from '../api/server.js';
import { CollectionController } from '../api/controller.js';
import { tagRoutes } from '../api/tag-routes.js';
import { quotaRoutes } from '../api/quota-routes.js';
import { CORE_EXTENSIONS } from '../definitions/extensions.js';
import type { ResourceDef } from '../definitions/types.js';
import { PolicyEngine } from '../policy/engine.js';
import { QuotaEngine, tableCounter } from '../quota/quota.js';
import { TypeDrivers } from '../plugins/ml2/type-drivers.js';
import { NetworkHandler } from '../plugins/ml2/networks.js';
import { SubnetHandler } from '../plugins/ml2/subnets.js';
import { Ml2PortHandler, allPortEvents } from '../plugins/ml2/bound-ports.js';
import { L2Population } from '../plugins/ml2/l2pop.js';
import { AgentNotifier, Ml2Rpc } from '../plugins/ml2/rpc-callbacks.js';
import type { Ml2Context } from '../plugins/ml2/context.js';
import type { ResourceHandler } from '../core/resource.js';
import { TagStore } from '../plugins/common/tags.js';
import { makeAuthenticator } from './auth.js';
import { hostname } from 'node:os';
import type { RpcBus, RpcServerHandle } from '../rpc/index.js';
import { AgentHandler } from '../plugins/agents/agents.js';
import { L3Plugin } from '../plugins/l3/plugin.js';
import { routerActionRoutes } from '../api/router-routes.js';
import { serveReportState } from '../plugins/agents/report-state.js';
import { SECURITY_GROUP_ALIASES, securityGroupPlugin } from '../plugins/securitygroups/index.js';
import { SecurityGroupNotifier, SecurityGroupRpc, withSecurityGroupNotifications } from '../plugins/securitygroups/agent-rpc.js';
import { RpcRegistry } from '../plugins/rpc-registry.js';
import { DhcpAgentNotifier, dhcpServicePortEvents, withDhcpNotifications, type DhcpResource } from '../plugins/dhcp/notifier.js';
import { dhcpRpcHandlers } from '../plugins/dhcp/rpc.js';
import { addressManagement } from '../plugins/subnetpools/wiring.js';
import { meteringPlugin } from '../plugins/metering/index.js';
import { SegmentHandler } from '../plugins/segments/segments.js';
import { coreSettings, databaseUrl, l3Settings, ml2Settings, quotaDefaults } from './settings.js';
import { qosPlugin } from '../plugins/qos/index.js';
import { trunkPlugin } from '../plugins/trunk/index.js';
import { NetworkAvailabilityZoneDriver } from '../plugins/agents/availability-zones.js';
import { DnsIntegration, dnsAliases } from '../plugins/dns/integration.js';
import { L3AgentScheduler } from '../plugins/l3/agent-scheduler.js';
import { DhcpAgentScheduling } from '../plugins/dhcp/agent-scheduler.js';
import { agentSchedulerRoutes } from '../api/agent-scheduler-routes.js';
import { catalogueRoutes } from '../api/catalogue-routes.js';
import { AGENT_TYPE_DHCP, AGENT_TYPE_L3, DHCP_AGENT_TOPIC, L3_AGENT_TOPIC, L3_PLUGIN_TOPIC, PLUGIN_TOPIC } from '../core/wire.js';

const DNS_ALIASES = ['dns-integration', 'dns-domain-ports'];

export interface NeutrinoServer {
  app: FastifyInstance;
  db: Db;
  ml2: Ml2Context;
  /** The RPC endpoints per topic, served on the bus (when one is given). */
  rpc: RpcRegistry;
  /** Casts to the DHCP agents (null without a bus or with dhcp_agent_notification off). */
  dhcpNotifier: DhcpAgentNotifier | null;
  /** L3 agent scheduling and notifications (null without the router extension). */
  l3Scheduler: L3AgentScheduler | null;
  /** Security group fanouts to the L2 agents (null without a bus or security groups). */
  sgNotifier: SecurityGroupNotifier | null;
  close(): Promise<void>;
}

/** Keeps only the attributes of extensions that are on. */
function activeDef(def: ResourceDef, aliases: Set<string>): ResourceDef {
  const attributes = Object.fromEntries(Object.entries(def.attributes).filter(([, a]) => !a.extension || aliases.has(a.extension)));
  return { ...def, attributes };
}

function policyFile(cfg: Config, configFiles: string[]): string | undefined {
  const name = cfg.oslo_policy.policy_file;
  if (!name) return undefined;
  if (isAbsolute(name)) return existsSync(name) ? name : undefined;
  for (const f of configFiles) {
    const p = join(dirname(f), name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

export async function createServer(cfg: Config, opts: {
  configFiles?: string[]; authenticate?: Authenticator; logger?: boolean;
  /** RPC bus: when given, the server answers agents' report_state on q-reports-plugin. The caller owns (closes) it. */
  bus?: RpcBus | null;
} = {}): Promise<NeutrinoServer> {
  const startTime = Date.now();
  mkdirSync(cfg.DEFAULT.state_path, { recursive: true });
  const db = openDb(databaseUrl(cfg));
  await upgrade(db);
  const ml2s = ml2Settings(cfg);
  const types = new TypeDrivers(ml2s, db);
  await types.syncAllocations();
  const quota = new QuotaEngine(db, quotaDefaults(cfg));
  quota.register('network', 100, tableCounter('networks'));
  quota.register('subnet', 100, tableCounter('subnets'));
  quota.register('port', 500, tableCounter('ports'));
  const ml2: Ml2Context = { db, types, quota, ml2: ml2s, core: coreSettings(cfg) };
  const policy = new PolicyEngine({ policyFile: policyFile(cfg, opts.configFiles ?? []) });

  const dnsOn = new Set(dnsAliases(cfg.ml2.extension_drivers));
  const extensions = CORE_EXTENSIONS.filter((e) => cfg.securitygroup.enable_security_group || !SECURITY_GROUP_ALIASES.includes(e.alias))
    .filter((e) => !DNS_ALIASES.includes(e.alias) || dnsOn.has(e.alias));
  const aliases = new Set(extensions.map((e) => e.alias));
  // ML2 extension drivers: availability zones and DNS names of networks and ports.
  const azDefaults = [...cfg.DEFAULT.default_availability_zones];
  ml2.extensions = [];
  if (aliases.has('network_availability_zone')) ml2.extensions.push(new NetworkAvailabilityZoneDriver(azDefaults));
  if (aliases.has('dns-integration')) ml2.extensions.push(new DnsIntegration(cfg.DEFAULT.dns_domain));
  // Ports are bound by the Linux-bridge mechanism driver after commit (bound-ports.ts).
  const bindingOpts = { agentDownTime: cfg.DEFAULT.agent_down_time };
  const ml2Ports = new Ml2PortHandler(ml2, bindingOpts);
  const handlers: ResourceHandler[] = [new NetworkHandler(ml2), new SubnetHandler(ml2), ml2Ports];
  if (aliases.has('agent')) {
    const agentHandler = new AgentHandler(db, { agentDownTime: cfg.DEFAULT.agent_down_time });
    // DHCP and L3 agents hear of being enabled or disabled (agent_updated), and resync.
    const bus = opts.bus;
    if (bus) {
      agentHandler.adminStateListeners.push((a, up) => {
        const topic = a.agent_type === AGENT_TYPE_DHCP ? DHCP_AGENT_TOPIC : a.agent_type === AGENT_TYPE_L3 ? L3_AGENT_TOPIC : null;
        if (topic) void bus.cast({ topic, server: a.host }, 'agent_updated', { payload: { admin_state_up: up } }).catch(() => {});
      });
    }
    handlers.push(agentHandler);
  }
  const sgNotifier = opts.bus && aliases.has('security-group') ? new SecurityGroupNotifier(opts.bus) : null;
  if (aliases.has('security-group')) {
    const sg = securityGroupPlugin(db, quota);
    ml2.securityGroups = sg.ports;
    if (sgNotifier) handlers.push(withSecurityGroupNotifications('group', sg.groups, sgNotifier, db), withSecurityGroupNotifications('rule', sg.rules, sgNotifier, db));
    else handlers.push(sg.groups, sg.rules);
  }
  // L3 (routers, floating IPs): it also guards port deletes and cleans up before network deletes.
  const l3 = aliases.has('router') ? new L3Plugin(ml2, ml2Ports, l3Settings(cfg)) : null;
  const l3Scheduler = l3 && aliases.has('l3_agent_scheduler')
    ? new L3AgentScheduler(db, {
      agentDownTime: cfg.DEFAULT.agent_down_time, routerAutoSchedule: cfg.DEFAULT.router_auto_schedule, defaultAvailabilityZones: azDefaults,
    }, opts.bus ?? null)
    : null;
  if (l3 && l3Scheduler) l3.routers.agentScheduler = l3Scheduler;
  if (l3) {
    quota.register('router', 10, tableCounter('routers'));
    quota.register('floatingip', 50, tableCounter('floatingips'));
    const n = handlers.findIndex((h) => h.def.name === 'network');
    handlers[n] = l3.withNetworkCleanup(handlers[n]!);
    handlers.push(l3.routers, l3.floatingips);
  }
  // QoS (policies, rules, rule types; qos_policy_id on networks and ports) and trunks.
  const qos = aliases.has('qos') ? qosPlugin(db, ml2, aliases) : null;
  if (qos) handlers.push(...qos.handlers);
  const trunks = aliases.has('trunk') ? trunkPlugin(db, ml2, ml2Ports, aliases) : null;
  if (trunks) handlers.push(...trunks.handlers);
  // Address management and RBAC: subnet pools, address scopes, IP availability, rbac-policies.
  const addressMgmt = addressManagement(db, quota, aliases, qos ? [qos.rbacKind] : []);
  handlers.push(...addressMgmt.handlers);
  // Metering labels and rules (API only, no metering agent); segments as a resource of their own.
  handlers.push(...meteringPlugin(db, aliases));
  if (aliases.has('segment')) handlers.push(new SegmentHandler(ml2, bindingOpts));
  // DHCP agents are told of network/subnet/port writes after commit (handlers wrapped, see notifier.ts).
  const dhcpScheduler = { agentDownTime: cfg.DEFAULT.agent_down_time, agentsPerNetwork: cfg.DEFAULT.dhcp_agents_per_network, defaultAvailabilityZones: azDefaults };
  const dhcpNotifier = opts.bus && cfg.DEFAULT.dhcp_agent_notification ? new DhcpAgentNotifier(opts.bus, db, dhcpScheduler) : null;
  if (dhcpNotifier) {
    handlers.forEach((h, i) => {
      if (['network', 'subnet', 'port'].includes(h.def.name)) handlers[i] = withDhcpNotifications(h.def.name as DhcpResource, h, dhcpNotifier);
    });
  }
  const controllers = handlers.map((h) => {
    const def = activeDef(h.def, aliases);
    (h as { def: ResourceDef }).def = def;
    return new CollectionController(h, policy);
  });

  // RPC endpoints by topic: every plugin adds its methods here; each topic is served once below.
  const rpc = new RpcRegistry();
  const byName = (name: string) => controllers.find((c) => c.def.name === name)!;
  rpc.add(PLUGIN_TOPIC, dhcpRpcHandlers({
    db, networks: byName('network').handler, subnets: byName('subnet').handler, ports: byName('port').handler,
    portWriter: byName('port'), scheduler: dhcpScheduler,
  }));
  // L2 agents: device details/up/down and l2population on q-plugin; port notifications after commit.
  const l2pop = new L2Population(db, opts.bus ?? null, bindingOpts);
  rpc.add(PLUGIN_TOPIC, new Ml2Rpc({ db, ports: ml2Ports, l2pop, binding: bindingOpts }).handlers());
  const l2Notifier = opts.bus ? new AgentNotifier(opts.bus, l2pop, db, bindingOpts) : null;
  if (l2Notifier) ml2Ports.events = allPortEvents(l2Notifier, sgNotifier);
  // L3 agents: router sync data and floating IP statuses on q-l3-plugin.
  // With the scheduler, an L3 agent syncs only the routers bound to its host.
  if (l3) rpc.add(L3_PLUGIN_TOPIC, l3.rpcHandlers(l3Scheduler ? { routerIdsForHost: (host) => l3Scheduler.routersOnHost(host) } : {}));
  // Router and floating IP ports are told to DHCP and L2 agents as API ports are.
  if (l3 && dhcpNotifier) l3.addPortListener(dhcpServicePortEvents(dhcpNotifier));
  // (Router and floating IP ports carry no security groups: the L2 notifier alone hears of them.)
  if (l3 && l2Notifier) l3.addPortListener(l2Notifier);
  // dhcp_agent_scheduler: administrators add and remove networks of DHCP agents.
  const dhcpScheduling = aliases.has('dhcp_agent_scheduler') ? new DhcpAgentScheduling(db, byName('port')) : null;
  if (dhcpScheduling) dhcpScheduling.notifier = dhcpNotifier;
  // Security groups for the L2 agents' firewalls (and their fanouts, above).
  if (aliases.has('security-group')) {
    rpc.add(PLUGIN_TOPIC, new SecurityGroupRpc({ db, portDicts: async (r, ids) => ml2Ports.toDicts(r, await r.selectFrom('ports').selectAll().where('id', 'in', ids).execute()) }).handlers());
  }

  const app = buildApi({
    controllers,
    extensions,
    authenticate: opts.authenticate ?? makeAuthenticator(cfg, policy),
    paginationMaxLimit: cfg.DEFAULT.pagination_max_limit,
    logger: opts.logger ?? false,
    extraRoutes: [tagRoutes(new TagStore(db)), quotaRoutes(db, quota, policy), ...addressMgmt.routes,
      ...(l3 ? [routerActionRoutes(l3.routers, { extraRoutesAtomic: aliases.has('extraroute-atomic') })] : []),
      ...(trunks?.routes ?? []),
      agentSchedulerRoutes({ policy, dhcp: dhcpScheduling, l3: l3Scheduler }),
      catalogueRoutes(db, policy, { availabilityZones: aliases.has('availability_zone'), serviceProviders: aliases.has('service-type') })],
  });
  // Agents' heartbeats. On RabbitMQ serve() waits for the broker: the API does not wait with it.
  let closed = false;
  let reports: Promise<RpcServerHandle | null> = Promise.resolve(null);
  if (opts.bus) {
    reports = serveReportState(opts.bus, hostname(), db, { agentDownTime: cfg.DEFAULT.agent_down_time, startTime })
      .then(async (h) => {
        if (closed) await h.stop();
        return closed ? null : h;
      }, () => null);
    if (opts.bus.transport === 'memory') await reports;
  }
  let rpcHandles: Promise<RpcServerHandle[]> = Promise.resolve([]);
  if (opts.bus) {
    rpcHandles = rpc.serveAll(opts.bus, hostname()).then(async (hs) => {
      if (closed) await Promise.all(hs.map((h) => h.stop()));
      return closed ? [] : hs;
    }, () => []);
    if (opts.bus.transport === 'memory') await rpcHandles;
  }
  return {
    app, db, ml2, rpc, dhcpNotifier, l3Scheduler, sgNotifier,
    async close() {
      closed = true;
      for (const h of await Promise.race([rpcHandles, Promise.resolve([] as RpcServerHandle[])])) await h.stop();
      await dhcpNotifier?.settled();
      await l3Scheduler?.settled();
      await sgNotifier?.settled();
      const handle = await Promise.race([reports, Promise.resolve(null)]);
      await handle?.stop();
      await app.close();
      await db.close();
    },
  };
}

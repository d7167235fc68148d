// `neutrino agent l3 --config-file neutron.conf --config-file l3_agent.ini`: the L3 agent as a
// process. l3_agent.ini's options where they mean the same: [DEFAULT] host, state_path,
// transport_url, interface_driver (linuxbridge), agent_mode (legacy), handle_internal_only_routers,
// send_arp_for_ha, periodic_interval, enable_metadata_proxy (haproxy per router, to
// metadata_proxy_socket), min_rtr_adv_interval, max_rtr_adv_interval (radvd), ha_confs_path,
// ha_vrrp_auth_type, ha_vrrp_auth_password, ha_vrrp_advert_int (keepalived); [agent] report_interval,
// availability_zone.
// (external_network_bridge is gone from Neutron since Zed and not read.) SIGTERM/SIGINT stop it
// and leave the routers' namespaces as they are, for the next start to adopt.
// --netns NS: the host's bridges live in that namespace (as `agent linuxbridge --netns`).
// --router-netns-prefix P: router namespaces are P<router id>, not qrouter-<router id> (two
// simulated hosts' agents on one machine would otherwise share them).
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { getLogger } from '../../core/log.js';
import { configureLogging } from '../../config/log.js';
import { ConfigError, type Config } from '../../config/index.js';
import { busFromConfig } from '../../rpc/from-config.js';
import type { RpcBus, RpcLogger } from '../../rpc/index.js';
import { stats } from '../../dataplane/index.js';
import { metadataProxyOptions } from '../metadata/proxy.js';
import { L3Agent } from './agent.js';
import { agentMetricsFromConfig, type AgentMetrics } from '../metrics.js';
import { exitOnSignals } from '../shutdown.js';

const onPath = (tool: string) =>
  [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin'].filter(Boolean).some((d) => existsSync(join(d, tool)));

/** Neutron's names of the Linux-bridge interface driver. */
const LINUXBRIDGE_DRIVERS = ['linuxbridge', 'neutron.agent.linux.interface.BridgeInterfaceDriver'];

/** The agent from configuration (also used by `neutrino aio`); refuses what it cannot do. */
export function l3AgentFromConfig(
  cfg: Config,
  bus: RpcBus,
  log: RpcLogger,
  o: { netns?: string; routerNetnsPrefix?: string; metrics?: AgentMetrics } = {},
): L3Agent {
  const { netns, routerNetnsPrefix, metrics } = o;
  const d = cfg.DEFAULT;
  if (d.interface_driver && !LINUXBRIDGE_DRIVERS.includes(d.interface_driver))
    throw new ConfigError(`[DEFAULT] interface_driver = ${d.interface_driver}: the L3 agent only has the linuxbridge driver`, {});
  if (d.enable_metadata_proxy && !onPath('haproxy'))
    throw new ConfigError(
      '[DEFAULT] enable_metadata_proxy = true runs haproxy in each router, which is not installed (Debian: haproxy); install it or set the option to false',
      {},
    );
  // radvd refuses a MinRtrAdvInterval above 0.75 × MaxRtrAdvInterval: say so at start-up.
  if (d.min_rtr_adv_interval > 0.75 * d.max_rtr_adv_interval)
    throw new ConfigError(
      `[DEFAULT] min_rtr_adv_interval = ${d.min_rtr_adv_interval}: at most 0.75 × max_rtr_adv_interval (${d.max_rtr_adv_interval})`,
      {},
    );
  if (!Number.isInteger(d.ha_vrrp_advert_int) && d.ha_vrrp_auth_password)
    throw new ConfigError(
      `[DEFAULT] ha_vrrp_advert_int = ${d.ha_vrrp_advert_int}: a fraction of a second needs VRRPv3, which has no authentication; unset ha_vrrp_auth_password or use whole seconds`,
      {},
    );
  if (d.agent_mode !== 'legacy') throw new ConfigError(`[DEFAULT] agent_mode = ${d.agent_mode}: the L3 agent only implements legacy`, {});
  return new L3Agent({
    bus,
    host: d.host || hostname(),
    ...(netns ? { netns } : {}),
    ...(routerNetnsPrefix ? { namespaceOf: (id: string) => `${routerNetnsPrefix}${id}` } : {}),
    statePath: d.state_path,
    reportInterval: cfg.agent.report_interval,
    fullSyncInterval: d.periodic_interval,
    handleInternalOnlyRouters: d.handle_internal_only_routers,
    sendArpCount: d.send_arp_for_ha,
    interfaceDriver: d.interface_driver || 'linuxbridge',
    availabilityZone: cfg.agent.availability_zone,
    ...(d.ha_confs_path ? { haConfsPath: d.ha_confs_path } : {}),
    vrrp: { authType: d.ha_vrrp_auth_type, authPassword: d.ha_vrrp_auth_password, advertInt: d.ha_vrrp_advert_int },
    logger: log,
    ...(d.enable_metadata_proxy ? { metadataProxy: metadataProxyOptions(cfg) } : {}),
    raOptions: { minInterval: d.min_rtr_adv_interval, maxInterval: d.max_rtr_adv_interval },
    ...(metrics ? { metrics } : {}),
  });
}

export async function runL3Agent(cfg: Config, o: { debug?: boolean; netns?: string; routerNetnsPrefix?: string } = {}): Promise<L3Agent> {
  configureLogging(cfg, { debug: o.debug, binary: 'neutrino-l3-agent' });
  const log = getLogger('neutrino.agent.l3');
  const bus = busFromConfig(cfg, log);
  const metrics = await agentMetricsFromConfig(cfg, log);
  const agent = l3AgentFromConfig(cfg, bus, log, {
    ...(o.netns ? { netns: o.netns } : {}),
    ...(o.routerNetnsPrefix ? { routerNetnsPrefix: o.routerNetnsPrefix } : {}),
    ...(metrics ? { metrics } : {}),
  });
  const t0 = Date.now();
  await agent.start();
  const changed = [...agent.routers.values()].filter((r) => r.changes > 0).length;
  log.info(
    {
      host: cfg.DEFAULT.host || hostname(),
      netns: o.netns,
      rpc: bus.transport,
      routers: agent.routers.size,
      changed,
      ms: Date.now() - t0,
      kernel: stats(),
    },
    'L3 agent started (full sync done)',
  );
  exitOnSignals(() => agent.stop(), bus);
  return agent;
}

// `neutrino agent dhcp --config-file neutron.conf --config-file dhcp_agent.ini`: the DHCP agent
// as a process. [DEFAULT] host (default: hostname), state_path, transport_url, dns_domain,
// dhcp_lease_duration, dnsmasq_dns_servers, dnsmasq_lease_max, resync_interval,
// enable_isolated_metadata, force_metadata, metadata_proxy_socket; [agent] report_interval,
// check_child_processes_interval. SIGTERM/SIGINT stop it and leave dnsmasq running for the next start to adopt.
// --netns NS: the host's bridges live in that namespace (as `agent linuxbridge --netns`).
import { hostname } from 'node:os';
import { getLogger } from '../../core/log.js';
import { configureLogging } from '../../config/log.js';
import type { Config } from '../../config/index.js';
import { busFromConfig } from '../../rpc/from-config.js';
import type { RpcBus, RpcLogger } from '../../rpc/index.js';
import { stats } from '../../dataplane/index.js';
import { DhcpAgent } from './agent.js';
import { metadataProxyOptions } from '../metadata/proxy.js';
import { agentMetricsFromConfig, type AgentMetrics } from '../metrics.js';
import { exitOnSignals } from '../shutdown.js';

/** The agent's options from configuration (also used by `neutrino aio`). */
export function dhcpAgentFromConfig(cfg: Config, bus: RpcBus, log: RpcLogger, netns?: string, metrics?: AgentMetrics): DhcpAgent {
  return new DhcpAgent({
    bus,
    host: cfg.DEFAULT.host || hostname(),
    ...(netns ? { netns } : {}),
    statePath: cfg.DEFAULT.state_path,
    reportInterval: cfg.agent.report_interval,
    resyncInterval: cfg.DEFAULT.resync_interval,
    dnsDomain: cfg.DEFAULT.dns_domain,
    leaseDuration: cfg.DEFAULT.dhcp_lease_duration,
    leaseMax: cfg.DEFAULT.dnsmasq_lease_max,
    dnsServers: [...cfg.DEFAULT.dnsmasq_dns_servers],
    logger: log,
    availabilityZone: cfg.agent.availability_zone,
    metadata: {
      ...metadataProxyOptions(cfg),
      enableIsolatedMetadata: cfg.DEFAULT.enable_isolated_metadata,
      forceMetadata: cfg.DEFAULT.force_metadata,
    },
    checkInterval: cfg.agent.check_child_processes_interval,
    ...(metrics ? { metrics } : {}),
  });
}

export async function runDhcpAgent(cfg: Config, o: { debug?: boolean; netns?: string } = {}): Promise<DhcpAgent> {
  configureLogging(cfg, { debug: o.debug, binary: 'neutrino-dhcp-agent' });
  const log = getLogger('neutrino.agent.dhcp');
  const bus = busFromConfig(cfg, log);
  const host = cfg.DEFAULT.host || hostname();
  const agent = dhcpAgentFromConfig(cfg, bus, log, o.netns, await agentMetricsFromConfig(cfg, log));
  const t0 = Date.now();
  await agent.start();
  log.info(
    { host, netns: o.netns, rpc: bus.transport, networks: agent.networks.size, ms: Date.now() - t0, kernel: stats(), actions: agent.actions() },
    'DHCP agent started (full sync done)',
  );
  exitOnSignals(() => agent.stop(), bus);
  return agent;
}

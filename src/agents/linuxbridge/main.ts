// `neutrino agent linuxbridge --config-file neutron.conf --config-file linuxbridge_agent.ini
//  [--netns NAME] [--host NAME] [--debug]`: the L2 agent as a process.
// Options: [DEFAULT] host, transport_url; [linux_bridge] physical_interface_mappings,
// bridge_mappings; [vxlan] enable_vxlan, local_ip, l2_population, arp_responder; [agent]
// report_interval, polling_interval. SIGTERM/SIGINT stop the agent and leave the dataplane as it
// is (bridges, VXLAN devices, FDB entries): the next start adopts it without a write.
//
// --netns: the links the agent manages live in that network namespace while the agent itself
// (and its RPC connection) stays in the caller's; the end-to-end tests simulate hosts that way.
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { getLogger } from '../../core/log.js';
import { configureLogging } from '../../config/log.js';
import { agentMetricsFromConfig } from '../metrics.js';
import { ConfigError, loadConfig, parseMappings, type Config } from '../../config/index.js';
import { busFromConfig } from '../../rpc/from-config.js';
import { stats } from '../../dataplane/index.js';
import { LinuxBridgeAgent } from './agent.js';
import { parseOptions } from '../../config/command-line.js';
import { exitOnSignals } from '../shutdown.js';

export const LB_USAGE = `usage: neutrino agent linuxbridge [--config-file FILE]... [--netns NAME] [--host NAME] [--debug]
`;

export interface LbCliArgs {
  configFiles: string[];
  netns?: string;
  host?: string;
  debug: boolean;
}

export function parseLbArgs(argv: string[]): LbCliArgs {
  const spec = {
    'config-file': { type: 'string', multiple: true },
    netns: { type: 'string' },
    host: { type: 'string' },
    debug: { type: 'boolean' },
  } as const;
  const { values: v, positionals } = parseOptions(argv, spec, LB_USAGE, (m) => new ConfigError(m, {}));
  if (positionals.length) throw new ConfigError(`unexpected argument ${positionals[0]}\n\n${LB_USAGE}`, {});
  return {
    configFiles: (v['config-file'] ?? []).map((f) => resolve(f)),
    debug: v.debug ?? false,
    ...(v.netns !== undefined ? { netns: v.netns } : {}),
    ...(v.host !== undefined ? { host: v.host } : {}),
  };
}

/**
 * [securitygroup] firewall_driver: the nftables firewall unless it is 'noop' (Neutron's names of
 * the iptables drivers mean ours too), and nothing at all with enable_security_group off.
 */
export function firewallFromConfig(cfg: Config): 'nftables' | 'noop' {
  if (!cfg.securitygroup.enable_security_group) return 'noop';
  const d = (cfg.securitygroup.firewall_driver ?? '').trim();
  if (['noop', 'neutron.agent.firewall.NoopFirewallDriver'].includes(d)) return 'noop';
  if (['', 'nftables', 'iptables', 'iptables_hybrid', 'neutron.agent.linux.iptables_firewall.IptablesFirewallDriver'].includes(d)) return 'nftables';
  throw new ConfigError(
    `[securitygroup] firewall_driver: unknown driver ${JSON.stringify(d)}; use nftables (or iptables, which means the same here) or noop`,
    {},
  );
}

/**
 * Neutron's L3 agent extensions: what neutrino's L3 agent always does. An all-in-one's one
 * configuration may name them beside `log`; the L2 agent leaves them to the L3 agent.
 */
const L3_AGENT_EXTENSIONS = new Set(['fip_qos', 'gateway_ip_qos', 'port_forwarding', 'conntrack_helper', 'ndp_proxy']);

/** [agent] extensions: `log` (network logs; with the nftables firewall only); others stop start-up. */
export function networkLogFromConfig(cfg: Config): { rate: number; burst: number; outputFile: string | null } | undefined {
  const exts = cfg.agent.extensions.map((x) => x.trim()).filter(Boolean);
  const unknown = exts.filter((x) => x !== 'log' && !L3_AGENT_EXTENSIONS.has(x));
  if (unknown.length)
    throw new ConfigError(`[agent] extensions: ${unknown.join(', ')} not available; the Linux-bridge agent has log`, {
      section: 'agent',
      option: 'extensions',
    });
  if (!exts.includes('log')) return undefined;
  if (firewallFromConfig(cfg) !== 'nftables')
    throw new ConfigError('[agent] extensions = log needs the security group firewall ([securitygroup] firewall_driver)', {
      section: 'agent',
      option: 'extensions',
    });
  return { rate: cfg.network_log.rate_limit, burst: cfg.network_log.burst_limit, outputFile: cfg.network_log.local_output_log_base || null };
}

export function agentOptionsFromConfig(cfg: Config) {
  const mappings = (v: readonly string[], opt: string) => Object.fromEntries(parseMappings([...v], opt));
  const localIp = cfg.vxlan.local_ip || null;
  if (cfg.vxlan.enable_vxlan && !localIp) throw new ConfigError('[vxlan] local_ip is required when enable_vxlan is true', {});
  return {
    interfaceMappings: mappings(cfg.linux_bridge.physical_interface_mappings, '[linux_bridge] physical_interface_mappings'),
    bridgeMappings: mappings(cfg.linux_bridge.bridge_mappings, '[linux_bridge] bridge_mappings'),
    localIp,
    enableVxlan: cfg.vxlan.enable_vxlan,
    l2Population: cfg.vxlan.l2_population,
    arpResponder: cfg.vxlan.arp_responder,
    reportInterval: cfg.agent.report_interval,
    pollingInterval: cfg.agent.polling_interval,
    firewall: firewallFromConfig(cfg),
    networkLog: networkLogFromConfig(cfg),
  };
}

export async function runLinuxBridgeAgent(argv: string[]): Promise<LinuxBridgeAgent> {
  const args = parseLbArgs(argv);
  const cfg = loadConfig(args.configFiles, {});
  configureLogging(cfg, { debug: args.debug, binary: 'neutrino-linuxbridge-agent' });
  const log = getLogger('neutrino.agent.linuxbridge');
  const bus = busFromConfig(cfg, log);
  const host = args.host || cfg.DEFAULT.host || hostname();
  const metrics = await agentMetricsFromConfig(cfg, log);
  const agent = new LinuxBridgeAgent({
    bus,
    host,
    ...(args.netns ? { netns: args.netns } : {}),
    ...agentOptionsFromConfig(cfg),
    logger: log,
    metrics,
  });
  const t0 = Date.now();
  await agent.start();
  void agent.ready.then(() => {
    const p = agent.lastPass;
    log.info(
      {
        host,
        netns: args.netns,
        rpc: bus.transport,
        devices: agent.devices.size,
        ms: Date.now() - t0,
        kernel: stats(),
        linkOps: p?.linkOps,
        fdbOps: p?.fdbOps,
        firewall: agent.firewall ? 'nftables' : 'noop',
      },
      'linuxbridge agent: first full pass done',
    );
  });
  exitOnSignals(async () => {
    await agent.stop();
    log.info({ kernel: stats(), passes: agent.passes }, 'linuxbridge agent stopped (dataplane left as it is)');
  }, bus);
  return agent;
}

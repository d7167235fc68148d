// The agents of an all-in-one (`neutrino aio` with `[aio] agents = linuxbridge,dhcp,l3,metadata`):
// the Linux-bridge, DHCP, L3 and metadata agents in the server's process (the metadata agent serving
// in-process whatever metadata_workers says: the in-memory bus does not cross processes), each on its own bus of the same transport
// (the in-memory bus unless transport_url says otherwise), for this host. Off by default: they
// need root and the kernel tools, and would start a dnsmasq for every DHCP-enabled subnet, which
// is not what `npm start` on a laptop should do.
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { ConfigError, type Config } from '../config/index.js';
import { busFromConfig } from '../rpc/from-config.js';
import type { RpcBus, RpcLogger } from '../rpc/index.js';
import { agentOptionsFromConfig } from './linuxbridge/main.js';
import { LinuxBridgeAgent } from './linuxbridge/agent.js';
import { dhcpAgentFromConfig } from './dhcp/main.js';
import type { DhcpAgent } from './dhcp/agent.js';
import { l3AgentFromConfig } from './l3/main.js';
import type { L3Agent } from './l3/agent.js';
import { MetadataAgent } from './metadata/agent.js';
import { metadataSettings } from './metadata/main.js';
import type { AgentMetrics } from './metrics.js';

export const AIO_AGENTS = ['linuxbridge', 'dhcp', 'l3', 'metadata'] as const;
type AioAgent = (typeof AIO_AGENTS)[number];

const TOOLS: Record<AioAgent, string[]> = {
  linuxbridge: ['ip', 'bridge'],
  dhcp: ['ip', 'dnsmasq'],
  l3: ['ip', 'nft', 'sysctl', 'conntrack', 'arping'],
  metadata: [],
};
const PATH_DIRS = () => [...(process.env.PATH ?? '').split(':'), '/usr/local/sbin', '/usr/sbin', '/sbin'].filter(Boolean);

/** The configured agent names, checked: known names, root, and the tools they run. */
export function aioAgents(cfg: Config): AioAgent[] {
  const names = [...new Set(cfg.aio.agents.map((a) => a.trim()).filter(Boolean))];
  for (const n of names) {
    if (!(AIO_AGENTS as readonly string[]).includes(n))
      throw new ConfigError(`[aio] agents: unknown agent "${n}" (choose from ${AIO_AGENTS.join(', ')})`, {});
  }
  const agents = names as AioAgent[];
  if (agents.length && process.getuid?.() !== 0)
    throw new ConfigError(
      `[aio] agents = ${agents.join(',')} needs root (they change the kernel's links and namespaces); leave it empty to run the API only`,
      {},
    );
  const tools = agents.flatMap((a) => TOOLS[a]);
  // The DHCP agent's metadata proxies are haproxy.
  if (agents.includes('dhcp') && (cfg.DEFAULT.enable_isolated_metadata || cfg.DEFAULT.force_metadata)) tools.push('haproxy');
  // So are the routers' (enable_metadata_proxy); radvd is looked for only when a router advertises.
  if (agents.includes('l3') && cfg.DEFAULT.enable_metadata_proxy) tools.push('haproxy');
  const missing = [...new Set(tools)].filter((t) => !PATH_DIRS().some((d) => existsSync(`${d}/${t}`)));
  if (missing.length)
    throw new ConfigError(
      `[aio] agents = ${agents.join(',')} needs ${missing.join(', ')} (Debian: iproute2, dnsmasq-base, nftables, procps, conntrack, iputils-arping, haproxy; radvd for IPv6 routers)`,
      {},
    );
  return agents;
}

export interface AioAgentsHandle {
  linuxbridge: LinuxBridgeAgent | null;
  dhcp: DhcpAgent | null;
  metadata: MetadataAgent | null;
  l3: L3Agent | null;
  stop(): Promise<void>;
}

/**
 * Starts the configured agents. `netns`: the namespace their links live in (as the agents'
 * --netns), the current one by default. Without [vxlan] local_ip the L2 agent runs without
 * VXLAN (an all-in-one's networks are `local` by default) instead of refusing to start.
 * `metrics`: where the L2, DHCP and L3 agents count their passes and the metadata agent its answers (the server's registry).
 */
export async function startAioAgents(cfg: Config, log: RpcLogger, o: { netns?: string; metrics?: AgentMetrics } = {}): Promise<AioAgentsHandle> {
  const agents = aioAgents(cfg);
  const buses: RpcBus[] = [];
  const handle: AioAgentsHandle = {
    linuxbridge: null,
    dhcp: null,
    l3: null,
    metadata: null,
    async stop() {
      await handle.l3?.stop();
      await handle.metadata?.stop();
      await handle.dhcp?.stop();
      await handle.linuxbridge?.stop();
      for (const b of buses) await b.close();
    },
  };
  const bus = () => {
    const b = busFromConfig(cfg, log);
    buses.push(b);
    return b;
  };
  const host = cfg.DEFAULT.host || hostname();
  if (agents.includes('linuxbridge')) {
    const vxlanOff = cfg.vxlan.enable_vxlan && !cfg.vxlan.local_ip;
    if (vxlanOff) log.warn({}, 'aio: [vxlan] local_ip is not set, the Linux bridge agent runs without VXLAN');
    const opts = agentOptionsFromConfig(vxlanOff ? { ...cfg, vxlan: { ...cfg.vxlan, enable_vxlan: false } } : cfg);
    handle.linuxbridge = new LinuxBridgeAgent({
      bus: bus(),
      host,
      ...(o.netns ? { netns: o.netns } : {}),
      ...opts,
      logger: log,
      ...(o.metrics ? { metrics: o.metrics } : {}),
    });
    await handle.linuxbridge.start();
  }
  if (agents.includes('metadata')) {
    // Before DHCP: its proxies forward to this socket from their first request.
    handle.metadata = new MetadataAgent({ ...metadataSettings(cfg), host, bus: bus(), logger: log, ...(o.metrics ? { metrics: o.metrics } : {}) });
    await handle.metadata.start();
  }
  if (agents.includes('dhcp')) {
    handle.dhcp = dhcpAgentFromConfig(cfg, bus(), log, o.netns, o.metrics);
    await handle.dhcp.start();
  }
  if (agents.includes('l3')) {
    handle.l3 = l3AgentFromConfig(cfg, bus(), log, { ...(o.netns ? { netns: o.netns } : {}), ...(o.metrics ? { metrics: o.metrics } : {}) });
    await handle.l3.start();
  }
  return handle;
}

// One simulated agent on the bus, as the real ones look to a server: its own RabbitMQ connection,
// the consumers it serves, the start-up RPCs, then report_state every interval with jitter. The
// work is only what the server sees: nothing is wired in the kernel.
//   - 'l2' (neutron-linuxbridge-agent): serves port_update, port_delete, security group and
//     l2population notifications; at start get_devices_details_list, security_group_info_for_devices,
//     update_device_list and get_fdb_entries for its taps;
//   - 'dhcp' (neutron-dhcp-agent): serves dhcp_agent; at start get_active_networks_info.
import { setTimeout as sleep } from 'node:timers/promises';
import { StateReporter } from '../../src/agents/state-reporter.js';
import { createBus, newRpcContext, silentLogger, type RpcBus } from '../../src/rpc/index.js';
import {
  AGENT_TYPE_DHCP,
  AGENT_TYPE_LINUXBRIDGE,
  DHCP_AGENT_TOPIC,
  L2POP_TOPIC,
  PLUGIN_TOPIC,
  PORT_DELETE_TOPIC,
  PORT_UPDATE_TOPIC,
  SG_UPDATE_TOPIC,
} from '../../src/core/wire.js';

export type AgentKind = 'l2' | 'dhcp';

export interface FakeAgentSpec {
  kind: AgentKind;
  host: string;
  /** Taps this L2 agent has (ports bound to its host). */
  devices: string[];
  /** Networks of its devices (for get_fdb_entries). */
  networks: string[];
}

export interface Sample {
  /** The agent's host (reports only). */
  host?: string;
  /** Epoch ms when the call ended. */
  t: number;
  ms: number;
  ok: boolean;
  /** What failed: the RPC's method and error. */
  error?: string;
}

export class FakeAgent {
  private readonly bus: RpcBus;
  private readonly reporter: StateReporter;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** Notifications received (casts and fanouts from the server). */
  notified = 0;
  revived = 0;

  constructor(
    private readonly spec: FakeAgentSpec,
    url: string,
    private readonly intervalS: number,
    private readonly onReport: (s: Sample) => void,
  ) {
    this.bus = createBus(url, { logger: silentLogger, connectionName: `storm:${spec.host}`, reconnect: { initialDelayMs: 500, maxDelayMs: 10_000 } });
    const l2 = spec.kind === 'l2';
    this.reporter = new StateReporter({
      bus: this.bus,
      agentType: l2 ? AGENT_TYPE_LINUXBRIDGE : AGENT_TYPE_DHCP,
      binary: l2 ? 'neutron-linuxbridge-agent' : 'neutron-dhcp-agent',
      host: spec.host,
      topic: l2 ? 'N/A' : DHCP_AGENT_TOPIC,
      reportInterval: intervalS,
      configurations: l2
        ? {
            interface_mappings: {},
            bridge_mappings: {},
            tunnel_types: ['vxlan'],
            tunneling_ip: '127.0.0.1',
            l2_population: true,
            devices: spec.devices.length,
          }
        : { networks: spec.networks.length, ports: 0, subnets: 0, dhcp_driver: 'neutron.agent.linux.dhcp.Dnsmasq' },
      // Neutron's agents resync everything when the server says they had been dead.
      onRevived: () => {
        this.revived++;
        void this.resync().catch(() => undefined);
      },
    });
  }

  /** Serves its topics, registers (first report), does the start-up resync; returns the resync's call latencies. */
  async start(): Promise<Sample[]> {
    const note = () => void this.notified++;
    if (this.spec.kind === 'l2') {
      await this.bus.serve(PORT_UPDATE_TOPIC, this.spec.host, { port_update: note });
      await this.bus.serve(PORT_DELETE_TOPIC, this.spec.host, { port_delete: note });
      await this.bus.serve(SG_UPDATE_TOPIC, this.spec.host, {
        security_groups_rule_updated: note,
        security_groups_member_updated: note,
        security_groups_provider_updated: note,
      });
      await this.bus.serve(L2POP_TOPIC, this.spec.host, { add_fdb_entries: note, remove_fdb_entries: note, update_fdb_entries: note });
    } else {
      const handlers = Object.fromEntries(
        [
          'port_create_end',
          'port_update_end',
          'port_delete_end',
          'subnet_create_end',
          'network_create_end',
          'network_delete_end',
          'agent_updated',
        ].map((m) => [m, note]),
      );
      await this.bus.serve(DHCP_AGENT_TOPIC, this.spec.host, handlers);
    }
    await this.report();
    const out = await this.resync();
    this.schedule(Math.random() * this.intervalS * 1000);
    return out;
  }

  private call(method: string, args: Record<string, unknown>): Promise<unknown> {
    return this.bus.call(PLUGIN_TOPIC, method, args, { context: newRpcContext(), timeoutMs: 60_000 });
  }

  /** The RPCs the real agent makes at start-up (and when revived), each timed. */
  async resync(): Promise<Sample[]> {
    const s = this.spec;
    const timed = async (method: string, args: Record<string, unknown>): Promise<Sample> => {
      const t0 = performance.now();
      try {
        await this.call(method, args);
        return { t: Date.now(), ms: performance.now() - t0, ok: true };
      } catch (err) {
        return { t: Date.now(), ms: performance.now() - t0, ok: false, error: `${method}: ${(err as Error).message}`.slice(0, 300) };
      }
    };
    if (s.kind === 'dhcp') return [await timed('get_active_networks_info', { host: s.host })];
    const agent_id = `lb-${s.host}`;
    return [
      await timed('get_devices_details_list', { devices: s.devices, agent_id, host: s.host }),
      await timed('security_group_info_for_devices', { devices: s.devices }),
      await timed('update_device_list', { devices_up: s.devices, devices_down: [], agent_id, host: s.host }),
      await timed('get_fdb_entries', { host: s.host, network_ids: s.networks }),
    ];
  }

  private async report(): Promise<void> {
    const t0 = performance.now();
    let error: string | undefined;
    try {
      await this.reporter.reportOnce();
    } catch (err) {
      error = `report_state: ${(err as Error).message}`.slice(0, 300);
    }
    this.onReport({ host: this.spec.host, t: Date.now(), ms: performance.now() - t0, ok: !error, ...(error ? { error } : {}) });
  }

  /** Next report after `ms`, then every interval ±10 % (agents started together drift apart). */
  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(async () => {
      await this.report();
      this.schedule(this.intervalS * 1000 * (0.9 + 0.2 * Math.random()));
    }, ms);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    // Give a report in flight a moment rather than failing it noisily.
    await sleep(10);
    await this.bus.close();
  }
}

// The agent side of heartbeats (Neutron's PluginReportStateAPI + the agents' _report_state
// loop): every report_interval seconds, report {agent_type, binary, host, topic, configurations}
// to the server's report_state on q-reports-plugin. The first report carries start_flag; it is
// dropped only once a report got through, so a server that missed the start still learns it.
import { randomUUID } from 'node:crypto';
import { agentRpcContext, type RpcBus } from '../rpc/index.js';
import { rpcVersion } from './rpc-versions.js';
import { REPORTS_TOPIC } from '../core/wire.js';

export interface StateReporterOptions {
  bus: RpcBus;
  agentType: string;
  binary: string;
  host: string;
  /** The agent's own RPC topic (e.g. 'dhcp_agent', 'N/A' for the L2 agents). */
  topic: string;
  /** Reported each time; a function is asked on every report (current device counts etc.). */
  configurations?: Record<string, unknown> | (() => Record<string, unknown>);
  availabilityZone?: string | null;
  resourceVersions?: Record<string, unknown>;
  /** [agent] report_interval in seconds; 0 disables reporting (start() then does nothing). */
  reportInterval: number;
  /**
   * call (wait for the server's answer: 'new' / 'alive' / 'revived') or cast. Neutron's agents
   * call; casting does not tell the agent whether the server heard it.
   */
  useCall?: boolean;
  /** How long a call or cast may take; default: the interval, so reports never pile up. */
  timeoutMs?: number;
  /**
   * Everything the server sent may have been missed: it said the agent had been seen as dead
   * (Neutron's agents then resync fully), or the broker came back without the agent's queues
   * (a RabbitMQ restart: notifications sent meanwhile are lost, as with oslo).
   */
  onRevived?: () => void;
  /** Told why a full resync was asked for other than a 'revived' answer (broker queues lost). */
  logger?: { warn(obj: object, msg: string): void };
  /** A report failed (server down, broker unreachable); the next one is tried on schedule. */
  onError?: (err: unknown) => void;
  topicOverride?: string;
}

/** oslo's strtime / neutron_lib ISO8601_TIME_FORMAT: UTC, microseconds, no zone. */
export function rpcTime(d = new Date()): string {
  return `${d.toISOString().slice(0, 23)}000`;
}

export class StateReporter {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private inFlight: Promise<void> | null = null;
  private startFlag = true;
  /** The last answer of the server (useCall), or null. */
  lastStatus: string | null = null;
  reports = 0;
  failures = 0;

  private unsubscribe: (() => void) | null = null;

  constructor(private readonly o: StateReporterOptions) {}

  /** Starts reporting: one report now, then every interval; and watches the bus for lost queues. */
  start(): void {
    if (!this.unsubscribe && this.o.bus.onReconnect) {
      this.unsubscribe = this.o.bus.onReconnect((e) => {
        if (!e.queuesLost) return;
        this.o.logger?.warn({ host: this.o.host }, 'RabbitMQ came back without our queues (restarted?): notifications may be lost, full resync');
        this.o.onRevived?.();
      });
    }
    if (this.running || !(this.o.reportInterval > 0)) return;
    this.running = true;
    this.tick();
  }

  private tick(): void {
    if (!this.running) return;
    this.inFlight = this.reportOnce()
      .then(
        () => undefined,
        (err: unknown) => {
          this.failures++;
          this.o.onError?.(err);
        },
      )
      .finally(() => {
        this.inFlight = null;
        if (this.running) this.timer = setTimeout(() => this.tick(), this.o.reportInterval * 1000);
      });
  }

  /** The state sent to the server now. */
  state(): Record<string, unknown> {
    const c = this.o.configurations;
    const s: Record<string, unknown> = {
      agent_type: this.o.agentType,
      binary: this.o.binary,
      host: this.o.host,
      topic: this.o.topic,
      configurations: typeof c === 'function' ? c() : (c ?? {}),
    };
    if (this.o.availabilityZone !== undefined) s.availability_zone = this.o.availabilityZone;
    if (this.o.resourceVersions) s.resource_versions = this.o.resourceVersions;
    if (this.startFlag) s.start_flag = true;
    return s;
  }

  /** Sends one report; resolves when the server answered (call) or the transport took it (cast). */
  async reportOnce(): Promise<string | null> {
    // Each report carries a uuid of its own, as Neutron's agents' do: the server logs it.
    const args = { agent_state: { agent_state: { ...this.state(), uuid: randomUUID() } }, time: rpcTime() };
    const timeoutMs = this.o.timeoutMs ?? Math.max(1000, this.o.reportInterval * 1000);
    const topic = this.o.topicOverride ?? REPORTS_TOPIC;
    const opts = { context: agentRpcContext(), version: rpcVersion('report_state'), timeoutMs };
    let status: string | null = null;
    if (this.o.useCall ?? true) {
      status = (await this.o.bus.call<string | null>(topic, 'report_state', args, opts)) ?? null;
      this.lastStatus = status;
    } else {
      await this.o.bus.cast(topic, 'report_state', args, opts);
    }
    this.startFlag = false;
    this.reports++;
    if (status === 'revived') this.o.onRevived?.();
    return status;
  }

  /** Stops the loop; waits for a report under way to finish (its errors are already handled). */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.inFlight;
  }
}

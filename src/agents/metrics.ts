// An agent's own Prometheus metrics, served on [agent] metrics_bind_host:metrics_bind_port when
// that port is set (off by default): how long its passes take and how they end, how many waits
// in its work queue, its full resyncs, the kernel commands the process ran (reads and writes: an
// unchanged pass writes nothing), and what the agents report of their own (dnsmasq starts and
// reloads, firewall chains).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Config } from '../config/index.js';
import { stats } from '../dataplane/index.js';
import type { RpcLogger } from '../rpc/index.js';

/** Seconds: a quick pass takes milliseconds, a full one over thousands of ports seconds. */
const PASS_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** What a work queue tells about each run (see Reconciler's `observer`). */
export type RunObserver<K> = (key: K, seconds: number, ok: boolean) => void;

export class AgentMetrics {
  private readonly passes: Histogram<'agent' | 'kind' | 'outcome'>;
  private readonly resyncs: Counter<'agent'>;
  private readonly queues = new Map<string, () => number>();
  readonly dnsmasq: Counter<'action'>;
  private firewallChains: (() => number) | null = null;

  readonly registry: Registry;

  /**
   * `registry`: another's to register in (the aio's agents count in the server's registry, whose
   * /metrics serves them; the process metrics are the server's then). By default a registry of
   * the agent's own, with its process's metrics.
   */
  constructor(o: { registry?: Registry } = {}) {
    this.registry = o.registry ?? new Registry();
    const registers = [this.registry];
    if (!o.registry) collectDefaultMetrics({ register: this.registry, prefix: 'neutrino_agent_' });
    this.passes = new Histogram({
      name: 'neutrino_agent_pass_duration_seconds',
      help: 'Reconcile passes by agent, kind (quick, full, network, full_sync) and outcome (ok, failed).',
      labelNames: ['agent', 'kind', 'outcome'] as const,
      buckets: PASS_BUCKETS,
      registers,
    });
    this.resyncs = new Counter({
      name: 'neutrino_agent_resyncs_total',
      help: 'Full resyncs run, by agent.',
      labelNames: ['agent'] as const,
      registers,
    });
    const queues = this.queues;
    new Gauge({
      name: 'neutrino_agent_queue_depth',
      help: 'Keys waiting in the work queue to start, by agent.',
      labelNames: ['agent'] as const,
      registers,
      collect() {
        for (const [agent, depth] of queues) this.set({ agent }, depth());
      },
    });
    new Counter({
      name: 'neutrino_agent_kernel_commands_total',
      help: 'Kernel commands this process ran, by kind (read, write; writes include signals to dnsmasq and rewritten files).',
      labelNames: ['kind'] as const,
      registers,
      collect() {
        const s = stats();
        this.reset();
        this.inc({ kind: 'read' }, s.reads);
        this.inc({ kind: 'write' }, s.writes);
      },
    });
    this.dnsmasq = new Counter({
      name: 'neutrino_agent_dnsmasq_actions_total',
      help: 'What DHCP passes did to dnsmasq: started, reloaded (SIGHUP), restarted; none is not counted.',
      labelNames: ['action'] as const,
      registers,
    });
    const chains = () => this.firewallChains?.();
    new Gauge({
      name: 'neutrino_agent_firewall_chains',
      help: "The security group firewall's nftables chains, as its last transaction left them.",
      registers,
      collect() {
        const n = chains();
        if (n !== undefined) this.set(n);
      },
    });
  }

  /** The observer to give a work queue: `kindOf` names a key's kind ('quick', 'full', 'network'); `full` keys count as resyncs. */
  passObserver<K>(agent: string, kindOf: (key: K) => string, isFull: (key: K) => boolean): RunObserver<K> {
    return (key, seconds, ok) => {
      this.passes.observe({ agent, kind: kindOf(key), outcome: ok ? 'ok' : 'failed' }, seconds);
      if (isFull(key)) this.resyncs.inc({ agent });
    };
  }

  /** The DHCP agent's observer: network passes and full syncs, and what each network pass did to dnsmasq. */
  dhcpObserver(fullKey: string, actionOf: (networkId: string) => string | undefined): RunObserver<string> {
    const passes = this.passObserver<string>(
      'dhcp',
      (k) => (k === fullKey ? 'full_sync' : 'network'),
      (k) => k === fullKey,
    );
    return (key, seconds, ok) => {
      passes(key, seconds, ok);
      const action = ok && key !== fullKey ? actionOf(key) : undefined;
      if (action === 'started' || action === 'reloaded' || action === 'restarted') this.dnsmasq.inc({ action });
    };
  }

  private metadataRequests: Counter<'status'> | null = null;

  /** The metadata agent answered a request with `status`. */
  metadataAnswered(status: number): void {
    this.metadataRequests ??= new Counter({
      name: 'neutrino_agent_metadata_requests_total',
      help: 'Requests the metadata agent answered, by HTTP status.',
      labelNames: ['status'] as const,
      registers: [this.registry],
    });
    this.metadataRequests.inc({ status: String(status) });
  }

  watchQueue(agent: string, depth: () => number): void {
    this.queues.set(agent, depth);
  }

  watchFirewallChains(count: () => number): void {
    this.firewallChains = count;
  }

  /** Serves GET /metrics; resolves with the server once it listens. */
  async listen(host: string, port: number): Promise<http.Server & { port: number }> {
    return serveMetrics(host, port, () => this.registry.metrics(), this.registry.contentType);
  }
}

/** GET /metrics answered by `text`; resolves with the server once it listens. */
async function serveMetrics(host: string, port: number, text: () => Promise<string>, contentType: string): Promise<http.Server & { port: number }> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    text().then(
      (body) => res.writeHead(200, { 'content-type': contentType }).end(body),
      (err: Error) => res.writeHead(500).end(err.message),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  server.unref();
  return Object.assign(server, { port: (server.address() as AddressInfo).port });
}

/**
 * The metrics of an agent whose work is done by node:cluster workers (the metadata agent): each
 * worker counts in an AgentMetrics of its own (given to prom-client's cluster aggregator), and the
 * primary serves their sum at [agent] metrics_bind_port.
 */
export function clusterWorkerMetrics(cfg: Config): AgentMetrics | undefined {
  if (cfg.agent.metrics_bind_port === null) return undefined;
  const metrics = new AgentMetrics();
  // Constructing one is what makes a worker answer the primary's requests for its metrics.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([metrics.registry]);
  return metrics;
}

/** The primary's side of clusterWorkerMetrics(), when [agent] metrics_bind_port is set. */
export async function serveClusterMetrics(cfg: Config, log: RpcLogger): Promise<void> {
  const port = cfg.agent.metrics_bind_port;
  if (port === null) return;
  const aggregator = new AggregatorRegistry();
  const server = await serveMetrics(cfg.agent.metrics_bind_host, port, () => aggregator.clusterMetrics(), aggregator.contentType);
  log.info({ host: cfg.agent.metrics_bind_host, port: server.port }, "agent metrics (the workers' sum) served at /metrics");
}

/** The agent's metrics, listening, when [agent] metrics_bind_port is set; undefined otherwise. */
export async function agentMetricsFromConfig(cfg: Config, log: RpcLogger): Promise<AgentMetrics | undefined> {
  const port = cfg.agent.metrics_bind_port;
  if (port === null) return undefined;
  const metrics = new AgentMetrics();
  const server = await metrics.listen(cfg.agent.metrics_bind_host, port);
  log.info({ host: cfg.agent.metrics_bind_host, port: server.port }, 'agent metrics served at /metrics');
  return metrics;
}

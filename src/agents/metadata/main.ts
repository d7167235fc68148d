// `neutrino agent metadata --config-file neutron.conf --config-file metadata_agent.ini`: the
// metadata agent as a process. [DEFAULT] metadata_proxy_socket, nova_metadata_host, _port,
// _protocol, metadata_proxy_shared_secret, metadata_workers, metadata_backlog, host,
// state_path, transport_url; [agent] report_interval.
//
// Workers (metadata_workers, default half the CPUs as Neutron): with 2 or more, node:cluster
// forks that many worker processes of this same command; the primary makes the Unix socket and
// the workers accept on it, each with its own bus connection for the lookups; only the primary
// reports state and restarts a worker that died. With 0 or 1 the
// agent process itself serves (the in-memory bus of an all-in-one cannot cross processes).
import cluster from 'node:cluster';
import { agentMetricsFromConfig, clusterWorkerMetrics, serveClusterMetrics } from '../metrics.js';
import { existsSync, unlinkSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { getLogger } from '../../core/log.js';
import { configureLogging } from '../../config/log.js';
import type { Config } from '../../config/index.js';
import { busFromConfig } from '../../rpc/from-config.js';
import { metadataProxyOptions } from './proxy.js';
import { METADATA_AGENT_BINARY, MetadataAgent, metadataConfigurations, type MetadataAgentOptions } from './agent.js';
import { StateReporter } from '../state-reporter.js';
import { AGENT_TYPE_METADATA } from '../../core/wire.js';
import { exitOnSignals } from '../shutdown.js';

/** metadata_workers, or Neutron's default: half the CPUs (rounded down). */
export function metadataWorkers(cfg: Config, cpus = availableParallelism()): number {
  return cfg.DEFAULT.metadata_workers ?? Math.floor(cpus / 2);
}

/** The agent's options from configuration (also used by `neutrino aio`), but the bus and logger. */
export function metadataSettings(cfg: Config): Omit<MetadataAgentOptions, 'bus' | 'logger'> {
  return {
    host: cfg.DEFAULT.host || hostname(),
    socketPath: metadataProxyOptions(cfg).socketPath,
    backlog: cfg.DEFAULT.metadata_backlog,
    novaHost: cfg.DEFAULT.nova_metadata_host,
    novaPort: cfg.DEFAULT.nova_metadata_port,
    novaProtocol: cfg.DEFAULT.nova_metadata_protocol,
    sharedSecret: cfg.DEFAULT.metadata_proxy_shared_secret,
    reportInterval: cfg.agent.report_interval,
  };
}

export async function runMetadataAgent(cfg: Config, o: { debug?: boolean } = {}): Promise<void> {
  configureLogging(cfg, { debug: o.debug, binary: 'neutrino-metadata-agent' });
  const log = getLogger('neutrino.agent.metadata');
  const workers = metadataWorkers(cfg);
  if (cluster.isWorker || workers <= 1) {
    const bus = busFromConfig(cfg, log);
    const settings = metadataSettings(cfg);
    const metrics = cluster.isWorker ? clusterWorkerMetrics(cfg) : await agentMetricsFromConfig(cfg, log);
    const agent = new MetadataAgent({
      ...settings,
      bus,
      logger: log,
      ...(metrics ? { metrics } : {}),
      reportInterval: cluster.isWorker ? 0 : settings.reportInterval,
      sharedSocket: cluster.isWorker,
    });
    await agent.start();
    log.info(
      { socket: agent.configurations().metadata_proxy_socket, rpc: bus.transport, worker: cluster.worker?.id ?? null },
      'metadata agent listening',
    );
    exitOnSignals(() => agent.stop(), bus);
    return;
  }
  // The primary: the socket file is the workers' (cluster makes it on the first listen); a stale
  // one from a previous run is removed here, once, before any worker starts.
  const settings = metadataSettings(cfg);
  const socket = settings.socketPath;
  if (existsSync(socket)) unlinkSync(socket);
  let stopping = false;
  // Workers accept on the shared socket themselves (SCHED_NONE, as oslo.service's forked workers
  // do) rather than the primary accepting and passing each connection on (round robin): haproxy
  // opens a connection per request, and the hop through the primary is one more process to be
  // scheduled for each. The kernel's spread over workers is uneven; lookups are cheap either way.
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on('exit', (w, code, signal) => {
    if (stopping) return;
    log.warn({ worker: w.id, code, signal }, 'metadata worker died; starting another in 1 s');
    setTimeout(() => stopping || cluster.fork(), 1000); // not a hot loop when workers cannot start
  });
  const bus = busFromConfig(cfg, log);
  const reporter = new StateReporter({
    bus,
    agentType: AGENT_TYPE_METADATA,
    binary: METADATA_AGENT_BINARY,
    host: cfg.DEFAULT.host || hostname(),
    topic: 'N/A',
    reportInterval: cfg.agent.report_interval,
    configurations: () => metadataConfigurations(settings),
    onError: (err) => log.warn({ err: (err as Error).message }, 'metadata agent state report failed'),
  });
  reporter.start();
  await serveClusterMetrics(cfg, log);
  log.info({ socket, workers, rpc: bus.transport }, 'metadata agent started its workers');
  const stop = async () => {
    stopping = true;
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
    await reporter.stop();
    await bus.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

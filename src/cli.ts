// The `neutrino` command: server, db upgrade, aio.
// Each command imports what it runs when it runs it: a server's primary (which only migrates and
// forks) and an agent do not load the server's plugins, API and agents (~40 MiB of heap each).
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { getLogger } from './core/log.js';
import { configureLogging, logOptionValues } from './config/log.js';
import { ConfigError, loadConfig, type Config, type ConfigOverrides } from './config/index.js';
import { openDb, reachDatabase } from './db/connection.js';
import { upgrade } from './db/migrate.js';
import type { NeutrinoServer } from './server/neutron-server.js';
import { DatabaseUnreachableError } from './db/errors.js';
import { databaseUrl } from './server/settings.js';
import {
  forkWorkers,
  isSingleProcess,
  reportReady,
  WorkerStartError,
  workerPlan,
  workerRole,
  type WorkerPlan,
  type WorkerRole,
} from './server/workers.js';
import type { AioAgentsHandle } from './agents/aio.js';
import { parseOptions } from './config/command-line.js';
import { packageVersion } from './core/version.js';

const USAGE = `usage: neutrino <command> [options]

commands:
  server       run the Neutron API server (neutron-server)
  aio          all-in-one on embedded defaults: the server with SQLite under ./state and no-auth;
               with [aio] agents (or --agents linuxbridge,dhcp,l3,metadata, as root) also those agents in-process
  db upgrade   create or migrate the database schema
  db import-neutron --from URL
               copy a Neutron (Zed or later) database (its SQLAlchemy URL) into this empty one, in one
               transaction; refuses, writing nothing, what neutrino cannot carry
  config sample [--output-dir DIR]
               write annotated sample neutron.conf, ml2_conf.ini and agent INI files (stdout: neutron.conf)
  status       check the deployment as neutron-status upgrade check: config, database at head, bus, agents
  openapi      print the OpenAPI 3.1 document of the API these config files give (GET /v2.0/openapi.json)
  agent dhcp [--netns NS] [--host H]
               run the DHCP agent (dnsmasq per network in qdhcp-<network> namespaces)
  agent l3 [--netns NS] [--host H] [--router-netns-prefix P]
               run the L3 agent (routers in qrouter-<router> namespaces, SNAT, floating IPs)
  agent metadata [--host H]
               run the metadata agent (Unix socket metadata_proxy_socket → Nova's metadata API)
  agent linuxbridge [--netns NS] [--host H]
               run the L2 agent (bridges brq<net>, vxlan-<vni>, taps, l2population)
  vif plug <port-id> --netns NAME [--host H] [--host-netns NS] [--static] [--endpoint URL]
  vif unplug <port-id> [--host-netns NS] [--unbind]
               plug a port's tap/veth into a namespace, as Nova's os-vif would
  linuxbridge-cleanup [--netns NS] [--dry-run]
               remove brq bridges with no tap plugged and their vxlan-/VLAN devices

options:
  --config-file FILE   an INI file (neutron.conf, ml2_conf.ini, ...); repeatable, later files win
  --bind-host HOST     [DEFAULT] bind_host
  --bind-port PORT     [DEFAULT] bind_port
  --state-path DIR     [DEFAULT] state_path (the SQLite database lives there by default)
  --agents LIST        aio: [aio] agents (linuxbridge,dhcp,l3,metadata)
  --host NAME          agents: [DEFAULT] host
  --from URL           db import-neutron: the Neutron database, e.g. mysql+pymysql://neutron:pw@host/neutron
  --netns NS           agents (aio's too): the namespace whose links they manage (simulated hosts)
  --router-netns-prefix P
                       agent l3: router namespaces are P<router id> instead of qrouter-<router id> (simulated hosts)
  --debug              verbose logs
  --version            print the version and exit
`;

interface Args {
  command: string[];
  configFiles: string[];
  overrides: ConfigOverrides;
  netns?: string;
  from?: string;
  routerNetnsPrefix?: string;
  debug: boolean;
}

function parseArgs(argv: string[]): Args {
  const spec = {
    'config-file': { type: 'string', multiple: true },
    'bind-host': { type: 'string' },
    'bind-port': { type: 'string' },
    'state-path': { type: 'string' },
    host: { type: 'string' },
    agents: { type: 'string' },
    netns: { type: 'string' },
    from: { type: 'string' },
    'router-netns-prefix': { type: 'string' },
    debug: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  } as const;
  const { values: v, positionals } = parseOptions(argv, spec, USAGE, (m) => new ConfigError(m, {}));
  const DEFAULT: Record<string, string> = {};
  if (v['bind-host'] !== undefined) DEFAULT.bind_host = v['bind-host'];
  if (v['bind-port'] !== undefined) DEFAULT.bind_port = v['bind-port'];
  if (v['state-path'] !== undefined) DEFAULT.state_path = v['state-path'];
  if (v.host !== undefined) DEFAULT.host = v.host;
  return {
    command: v.help ? ['help'] : positionals,
    configFiles: (v['config-file'] ?? []).map((f) => resolve(f)),
    overrides: { DEFAULT, ...(v.agents !== undefined ? { aio: { agents: v.agents } } : {}) },
    ...(v.netns !== undefined ? { netns: v.netns } : {}),
    ...(v.from !== undefined ? { from: v.from } : {}),
    ...(v['router-netns-prefix'] !== undefined ? { routerNetnsPrefix: v['router-netns-prefix'] } : {}),
    debug: v.debug ?? false,
  };
}

/** A start-up failure whose message says all (which option to look at): printed without a stack. */
class StartupError extends Error {}

/** Listens on [DEFAULT] bind_host/bind_port; a port in use names the option and the flag. */
async function listen(server: NeutrinoServer, cfg: Config): Promise<string> {
  try {
    return await server.app.listen({ host: cfg.DEFAULT.bind_host, port: cfg.DEFAULT.bind_port });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      const why = code === 'EADDRINUSE' ? 'the address is already in use' : code === 'EACCES' ? 'permission denied' : 'no such local address';
      throw new StartupError(
        `cannot listen on ${cfg.DEFAULT.bind_host}:${cfg.DEFAULT.bind_port}: ${why} (${code}); choose another with --bind-port / [DEFAULT] bind_port (or --bind-host / [DEFAULT] bind_host)`,
      );
    }
    throw err;
  }
}

async function runServer(cfg: Config, args: Args): Promise<void> {
  configureLogging(cfg, { debug: args.debug, binary: args.command[0] === 'aio' ? 'neutrino-aio' : 'neutrino-server' });
  const command = args.command[0] === 'aio' ? 'aio' : 'server';
  const plan = workerPlan(cfg, command);
  const role = workerRole();
  if (role) return runProcess(cfg, args, { role, serveRpc: role === 'reports' ? 'reports' : role === 'rpc' || plan.rpc === 0 });
  logOptionValues(cfg, getLogger('neutrino.server'), args.configFiles);
  if (isSingleProcess(plan)) return runProcess(cfg, args, { role: 'single', serveRpc: true });
  return runPrimary(cfg, args, plan);
}

/**
 * One server process: the whole server ('single'), or a worker: an API worker listens (and
 * answers the agents when there are no RPC workers), an RPC worker only answers the agents, a
 * state-report worker only their report_state.
 */
async function runProcess(cfg: Config, args: Args, o: { role: 'single' | WorkerRole; serveRpc: boolean | 'reports' }): Promise<void> {
  const log = getLogger('neutrino.server');
  // A start that fails leaves no state directory it created behind (aio's ./state).
  const statePath = resolve(cfg.DEFAULT.state_path);
  const stateExisted = existsSync(statePath);
  const bus = (await import('./rpc/from-config.js')).busFromConfig(cfg, log);
  const onDatabaseRetry = (attempt: number, reason: string) =>
    log.warn({ attempt, maxRetries: cfg.database.max_retries, retryInSeconds: cfg.database.retry_interval, reason }, 'database not reachable yet');
  let server: NeutrinoServer | null = null;
  let address: string | null = null;
  // What stops: the server, or a state-report worker's report_state alone (it does not assemble one).
  let running: { close(): Promise<void> } | null = null;
  try {
    if (o.role === 'reports') {
      running = await (await import('./server/reports-worker.js')).startReportsWorker(cfg, bus, onDatabaseRetry);
    } else {
      const { createServer } = await import('./server/neutron-server.js');
      running = server = await createServer(cfg, { configFiles: args.configFiles, bus, serveRpc: o.serveRpc, onDatabaseRetry });
      if (o.role === 'single' || o.role === 'api') address = await listen(server, cfg);
    }
  } catch (err) {
    await running?.close().catch(() => {});
    await bus.close().catch(() => {});
    if (!stateExisted && o.role === 'single') rmSync(statePath, { recursive: true, force: true });
    throw err;
  }
  const api = running;
  if (o.role === 'single') {
    log.info({ address, database: server?.db.describe, auth: cfg.DEFAULT.auth_strategy, rpc: bus.transport }, 'neutrino server listening');
  } else {
    log.info({ role: o.role, address, answersAgents: o.serveRpc }, 'neutrino worker ready');
    reportReady();
  }
  let agents: AioAgentsHandle | null = null;
  if (server && o.role === 'single' && args.command[0] === 'aio' && cfg.aio.agents.length) {
    // Their metrics are the server's /metrics, labelled by agent ([agent] metrics_bind_port is for agent processes).
    const { AgentMetrics } = await import('./agents/metrics.js');
    const metrics = server.metricsRegistry ? new AgentMetrics({ registry: server.metricsRegistry }) : undefined;
    agents = await (await import('./agents/aio.js')).startAioAgents(cfg, log, {
      ...(args.netns ? { netns: args.netns } : {}),
      ...(metrics ? { metrics } : {}),
    });
    log.info({ agents: cfg.aio.agents, host: cfg.DEFAULT.host, netns: args.netns }, 'aio: agents started in-process');
  }
  // oslo.service's graceful shutdown: stop listening, let requests in flight finish (keep-alive
  // connections close after their response), then exit 0; past graceful_shutdown_timeout, exit 1.
  // Once: a worker may get a signal from the terminal's process group and from the primary.
  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    const timeout = cfg.DEFAULT.graceful_shutdown_timeout;
    log.info({ signal, gracefulShutdownTimeout: timeout }, 'neutrino server stopping: finishing requests in flight');
    if (timeout > 0) {
      setTimeout(() => {
        log.warn({ gracefulShutdownTimeout: timeout }, 'graceful_shutdown_timeout exceeded; exiting with requests still in flight');
        process.exit(1);
      }, timeout * 1000).unref();
    }
    try {
      await agents?.stop();
      await api.close();
      await bus.close();
    } catch (err) {
      log.error({ signal, err: (err as Error).message }, 'neutrino server did not stop cleanly');
      process.exit(1);
    }
    log.info({ signal }, 'neutrino server stopped');
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

/**
 * The primary of API/RPC workers: migrates the database once (workers would race on a fresh
 * one), forks, and passes SIGTERM on; aio's agents run here, on the bus with the workers.
 */
async function runPrimary(cfg: Config, args: Args, plan: WorkerPlan): Promise<void> {
  const log = getLogger('neutrino.server');
  const statePath = resolve(cfg.DEFAULT.state_path);
  const stateExisted = existsSync(statePath);
  mkdirSync(statePath, { recursive: true });
  const failed = (err: unknown) => {
    if (!stateExisted) rmSync(statePath, { recursive: true, force: true });
    throw err;
  };
  const db = openDb(databaseUrl(cfg));
  try {
    await reachDatabase(db, {
      retries: cfg.database.max_retries,
      intervalMs: cfg.database.retry_interval * 1000,
      onRetry: (attempt, reason) => log.warn({ attempt, maxRetries: cfg.database.max_retries, reason }, 'database not reachable yet'),
    });
    await upgrade(db);
  } catch (err) {
    await db.close().catch(() => {});
    return failed(err);
  }
  await db.close();
  const workers = forkWorkers(plan, log);
  // Signals are passed on from the start: a SIGTERM while workers still start stops them too.
  let agents: AioAgentsHandle | null = null;
  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'neutrino server stopping: workers finish their requests in flight');
    await agents?.stop().catch(() => {});
    const clean = await workers.stop();
    log.info({ signal, clean }, 'neutrino server stopped');
    process.exit(clean ? 0 : 1);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    await workers.ready;
  } catch (err) {
    if (!(err instanceof WorkerStartError)) throw err;
    if (!stateExisted) rmSync(statePath, { recursive: true, force: true });
    log.error(err.message);
    process.exit(err.code || 1);
  }
  log.info(
    {
      address: `http://${cfg.DEFAULT.bind_host}:${cfg.DEFAULT.bind_port}`,
      apiWorkers: plan.api,
      rpcWorkers: plan.rpc,
      auth: cfg.DEFAULT.auth_strategy,
    },
    'neutrino server listening',
  );
  if (args.command[0] === 'aio' && cfg.aio.agents.length) {
    agents = await (await import('./agents/aio.js')).startAioAgents(cfg, log, args.netns ? { netns: args.netns } : {});
    log.info({ agents: cfg.aio.agents, host: cfg.DEFAULT.host, netns: args.netns }, 'aio: agents started in the primary');
  }
}

/** The document a server on these config files would serve, from one assembled on an empty in-memory database. */
async function printOpenApi(args: Args): Promise<void> {
  const state = mkdtempSync(join(tmpdir(), 'neutrino-openapi-'));
  try {
    const overrides = { ...args.overrides, DEFAULT: { ...args.overrides.DEFAULT, state_path: state }, database: { connection: 'sqlite://' } };
    // It never listens; no authenticator is built (a Keystone one would want its options).
    const refuse = async () => Promise.reject(new Error('not serving'));
    const { createServer } = await import('./server/neutron-server.js');
    const server = await createServer(loadConfig(args.configFiles, overrides), { configFiles: args.configFiles, authenticate: refuse });
    process.stdout.write(`${JSON.stringify(server.openapi(), null, 2)}\n`);
    await server.close();
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
}

export async function main(argv: string[]): Promise<void> {
  let args: Args;
  // Commands with options of their own (--netns, --host, ...) parse their own arguments.
  // --version wins over any command, as oslo.config's does.
  if (argv.includes('--version')) {
    process.stdout.write(`${packageVersion()}\n`);
    return;
  }
  if (argv[0] === 'vif') return (await import('./cli/vif-plug.js')).runVif(argv.slice(1));
  try {
    if (argv[0] === 'agent' && argv[1] === 'linuxbridge') {
      await (await import('./agents/linuxbridge/main.js')).runLinuxBridgeAgent(argv.slice(2));
      return;
    }
    if (argv[0] === 'config') return (await import('./cli/config-sample.js')).runConfigCommand(argv.slice(1));
    if (argv[0] === 'status') {
      process.exitCode = await (await import('./cli/status.js')).runStatus(argv.slice(1));
      return;
    }
    if (argv[0] === 'linuxbridge-cleanup') {
      process.exitCode = await (await import('./agents/linuxbridge/cleanup.js')).runLinuxBridgeCleanup(argv.slice(1));
      return;
    }
    args = parseArgs(argv);
    const [cmd, sub] = args.command;
    if (!cmd || cmd === 'help') {
      process.stdout.write(USAGE);
      return;
    }
    if (cmd === 'openapi') return await printOpenApi(args);
    // aio's defaults: a config file's value still wins (and is checked: a bad auth_strategy stops it).
    const aioDefaults = cmd === 'aio' ? { DEFAULT: { auth_strategy: 'noauth', state_path: resolve('state') } } : {};
    const cfg = loadConfig(args.configFiles, args.overrides, aioDefaults);
    if (cmd === 'aio') (await import('./agents/aio.js')).aioAgents(cfg); // a bad [aio] agents stops start-up before the API listens
    if (cmd === 'server' || cmd === 'aio') return await runServer(cfg, args);
    if (cmd === 'agent' && sub === 'dhcp') {
      await (await import('./agents/dhcp/main.js')).runDhcpAgent(cfg, { debug: args.debug, ...(args.netns ? { netns: args.netns } : {}) });
      return;
    }
    if (cmd === 'agent' && sub === 'l3') {
      await (await import('./agents/l3/main.js')).runL3Agent(cfg, {
        debug: args.debug,
        ...(args.netns ? { netns: args.netns } : {}),
        ...(args.routerNetnsPrefix ? { routerNetnsPrefix: args.routerNetnsPrefix } : {}),
      });
      return;
    }
    if (cmd === 'agent' && sub === 'metadata') {
      await (await import('./agents/metadata/main.js')).runMetadataAgent(cfg, { debug: args.debug });
      return;
    }
    if (cmd === 'db' && sub === 'upgrade') {
      const stateExisted = existsSync(cfg.DEFAULT.state_path);
      mkdirSync(cfg.DEFAULT.state_path, { recursive: true });
      const db = openDb(databaseUrl(cfg));
      await reachDatabase(db, { retries: cfg.database.max_retries, intervalMs: cfg.database.retry_interval * 1000 }).catch(async (err) => {
        await db.close();
        if (!stateExisted) rmSync(cfg.DEFAULT.state_path, { recursive: true, force: true });
        throw err;
      });
      const t0 = Date.now();
      const applied = await upgrade(db, (name) => process.stdout.write(`running migration ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`));
      await db.close();
      process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n');
      return;
    }
    if (cmd === 'db' && sub === 'import-neutron') {
      if (!args.from) throw new ConfigError('db import-neutron: --from <Neutron database URL> is required', {});
      mkdirSync(cfg.DEFAULT.state_path, { recursive: true });
      const db = openDb(databaseUrl(cfg));
      const { ImportRefused, importNeutron } = await import('./cli/import-neutron.js');
      try {
        await reachDatabase(db, { retries: cfg.database.max_retries, intervalMs: cfg.database.retry_interval * 1000 });
        await upgrade(db);
        const started = performance.now();
        const { written } = await importNeutron(args.from, db);
        const total = Object.values(written).reduce((a, b) => a + b, 0);
        const detail = Object.entries(written)
          .filter(([, n]) => n > 0)
          .map(([t, n]) => `${t} ${n}`)
          .join(', ');
        process.stdout.write(`imported ${total} rows in ${((performance.now() - started) / 1000).toFixed(2)} s: ${detail}\n`);
      } catch (err) {
        if (err instanceof ImportRefused) throw new StartupError(err.message);
        throw err;
      } finally {
        await db.close();
      }
      return;
    }
    throw new ConfigError(`unknown command "${args.command.join(' ')}"\n\n${USAGE}`, {});
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`neutrino: ${err.message}\n`);
      process.exit(2);
    }
    if (err instanceof DatabaseUnreachableError) {
      process.stderr.write(`neutrino: [database] connection: ${err.message} (retried as [database] max_retries and retry_interval say)\n`);
      process.exit(1);
    }
    if (err instanceof StartupError) {
      process.stderr.write(`neutrino: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

// The `neutrino` command: server, db upgrade, aio.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { ConfigError, loadConfig, type Config, type ConfigOverrides } from './config/index.js';
import { openDb, reachDatabase } from './db/connection.js';
import { upgrade } from './db/migrate.js';
import { createServer, type NeutrinoServer } from './server/neutron-server.js';
import { DatabaseUnreachableError } from './db/errors.js';
import { busFromConfig } from './rpc/from-config.js';
import { databaseUrl } from './server/settings.js';
import { runDhcpAgent } from './agents/dhcp/main.js';
import { runMetadataAgent } from './agents/metadata/main.js';
import { runLinuxBridgeAgent } from './agents/linuxbridge/main.js';
import { runL3Agent } from './agents/l3/main.js';
import { runLinuxBridgeCleanup } from './agents/linuxbridge/cleanup.js';
import { runVif } from './cli/vif-plug.js';
import { runConfigCommand } from './cli/config-sample.js';
import { runStatus } from './cli/status.js';
import { aioAgents, startAioAgents, type AioAgentsHandle } from './agents/aio.js';
import { parseOptions } from './config/command-line.js';
import { packageVersion } from './core/version.js';

const USAGE = `usage: neutrino <command> [options]

commands:
  server       run the Neutron API server (neutron-server)
  aio          all-in-one on embedded defaults: the server with SQLite under ./state and no-auth;
               with [aio] agents (or --agents linuxbridge,dhcp,l3,metadata, as root) also those agents in-process
  db upgrade   create or migrate the database schema
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
  const log = pino({ level: args.debug || cfg.DEFAULT.debug ? 'debug' : 'info' });
  // A start that fails leaves no state directory it created behind (aio's ./state).
  const statePath = resolve(cfg.DEFAULT.state_path);
  const stateExisted = existsSync(statePath);
  const bus = busFromConfig(cfg, log);
  let server: NeutrinoServer | null = null;
  let address: string;
  try {
    server = await createServer(cfg, {
      configFiles: args.configFiles,
      logger: args.debug || cfg.DEFAULT.debug,
      bus,
      onDatabaseRetry: (attempt, reason) =>
        log.warn(
          { attempt, maxRetries: cfg.database.max_retries, retryInSeconds: cfg.database.retry_interval, reason },
          'database not reachable yet',
        ),
    });
    address = await listen(server, cfg);
  } catch (err) {
    await server?.close().catch(() => {});
    await bus.close().catch(() => {});
    if (!stateExisted) rmSync(statePath, { recursive: true, force: true });
    throw err;
  }
  const api = server;
  log.info({ address, database: api.db.describe, auth: cfg.DEFAULT.auth_strategy, rpc: bus.transport }, 'neutrino server listening');
  let agents: AioAgentsHandle | null = null;
  if (args.command[0] === 'aio' && cfg.aio.agents.length) {
    agents = await startAioAgents(cfg, log, args.netns ? { netns: args.netns } : {});
    log.info({ agents: cfg.aio.agents, host: cfg.DEFAULT.host, netns: args.netns }, 'aio: agents started in-process');
  }
  // oslo.service's graceful shutdown: stop listening, let requests in flight finish (keep-alive
  // connections close after their response), then exit 0; past graceful_shutdown_timeout, exit 1.
  const stop = async (signal: NodeJS.Signals) => {
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
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** The document a server on these config files would serve, from one assembled on an empty in-memory database. */
async function printOpenApi(args: Args): Promise<void> {
  const state = mkdtempSync(join(tmpdir(), 'neutrino-openapi-'));
  try {
    const overrides = { ...args.overrides, DEFAULT: { ...args.overrides.DEFAULT, state_path: state }, database: { connection: 'sqlite://' } };
    // It never listens; no authenticator is built (a Keystone one would want its options).
    const refuse = async () => Promise.reject(new Error('not serving'));
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
  if (argv[0] === 'vif') return runVif(argv.slice(1));
  try {
    if (argv[0] === 'agent' && argv[1] === 'linuxbridge') {
      await runLinuxBridgeAgent(argv.slice(2));
      return;
    }
    if (argv[0] === 'config') return runConfigCommand(argv.slice(1));
    if (argv[0] === 'status') {
      process.exitCode = await runStatus(argv.slice(1));
      return;
    }
    if (argv[0] === 'linuxbridge-cleanup') {
      process.exitCode = await runLinuxBridgeCleanup(argv.slice(1));
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
    if (cmd === 'aio') aioAgents(cfg); // a bad [aio] agents stops start-up before the API listens
    if (cmd === 'server' || cmd === 'aio') return await runServer(cfg, args);
    if (cmd === 'agent' && sub === 'dhcp') {
      await runDhcpAgent(cfg, { debug: args.debug, ...(args.netns ? { netns: args.netns } : {}) });
      return;
    }
    if (cmd === 'agent' && sub === 'l3') {
      await runL3Agent(cfg, {
        debug: args.debug,
        ...(args.netns ? { netns: args.netns } : {}),
        ...(args.routerNetnsPrefix ? { routerNetnsPrefix: args.routerNetnsPrefix } : {}),
      });
      return;
    }
    if (cmd === 'agent' && sub === 'metadata') {
      await runMetadataAgent(cfg, { debug: args.debug });
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
      const applied = await upgrade(db);
      await db.close();
      process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n');
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

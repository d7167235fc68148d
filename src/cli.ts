// The `neutrino` command: server, db upgrade, aio.
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { pino } from 'pino';
import { ConfigError, loadConfig, type Config, type ConfigOverrides } from './config/index.js';
import { openDb } from './db/connection.js';
import { upgrade } from './db/migrate.js';
import { createServer } from './server/neutron-server.js';
import { busFromConfig } from './rpc/from-config.js';
import { databaseUrl } from './server/settings.js';
import { runDhcpAgent } from './agents/dhcp/main.js';
import { runMetadataAgent } from './agents/metadata/main.js';
import { runLinuxBridgeAgent } from './agents/linuxbridge/main.js';
import { runLinuxBridgeCleanup } from './agents/linuxbridge/cleanup.js';
import { runVif } from './cli/vif-plug.js';
import { aioAgents, startAioAgents, type AioAgentsHandle } from './agents/aio.js';
import { parseOptions } from './config/command-line.js';

const USAGE = `usage: neutrino <command> [options]

commands:
  server       run the Neutron API server (neutron-server)
  aio          all-in-one on embedded defaults: the server with SQLite under ./state and no-auth;
               with [aio] agents (or --agents linuxbridge,dhcp,metadata, as root) also those agents in-process
  db upgrade   create or migrate the database schema
  agent dhcp [--netns NS] [--host H]
               run the DHCP agent (dnsmasq per network in qdhcp-<network> namespaces)
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
  --agents LIST        aio: [aio] agents (linuxbridge,dhcp,metadata)
  --host NAME          agents: [DEFAULT] host
  --netns NS           agents (aio's too): the namespace whose links they manage (simulated hosts)
  --debug              verbose logs
`;

interface Args {
  command: string[];
  configFiles: string[];
  overrides: ConfigOverrides;
  netns?: string;
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
    debug: v.debug ?? false,
  };
}

async function runServer(cfg: Config, args: Args): Promise<void> {
  const log = pino({ level: args.debug || cfg.DEFAULT.debug ? 'debug' : 'info' });
  const bus = busFromConfig(cfg, log);
  const server = await createServer(cfg, { configFiles: args.configFiles, logger: args.debug || cfg.DEFAULT.debug, bus });
  const address = await server.app.listen({ host: cfg.DEFAULT.bind_host, port: cfg.DEFAULT.bind_port });
  log.info({ address, database: server.db.describe, auth: cfg.DEFAULT.auth_strategy, rpc: bus.transport }, 'neutrino server listening');
  let agents: AioAgentsHandle | null = null;
  if (args.command[0] === 'aio' && cfg.aio.agents.length) {
    agents = await startAioAgents(cfg, log, args.netns ? { netns: args.netns } : {});
    log.info({ agents: cfg.aio.agents, host: cfg.DEFAULT.host, netns: args.netns }, 'aio: agents started in-process');
  }
  const stop = async () => {
    await agents?.stop();
    await server.close();
    await bus.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

export async function main(argv: string[]): Promise<void> {
  let args: Args;
  // Commands with options of their own (--netns, --host, ...) parse their own arguments.
  if (argv[0] === 'vif') return runVif(argv.slice(1));
  try {
    if (argv[0] === 'agent' && argv[1] === 'linuxbridge') {
      await runLinuxBridgeAgent(argv.slice(2));
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
    if (cmd === 'aio') {
      args.overrides.DEFAULT!.auth_strategy ??= 'noauth';
      args.overrides.DEFAULT!.state_path ??= resolve('state');
    }
    const cfg = loadConfig(args.configFiles, args.overrides);
    if (cmd === 'aio') aioAgents(cfg); // a bad [aio] agents stops start-up before the API listens
    if (cmd === 'server' || cmd === 'aio') return await runServer(cfg, args);
    if (cmd === 'agent' && sub === 'dhcp') {
      await runDhcpAgent(cfg, { debug: args.debug, ...(args.netns ? { netns: args.netns } : {}) });
      return;
    }
    if (cmd === 'agent' && sub === 'metadata') {
      await runMetadataAgent(cfg, { debug: args.debug });
      return;
    }
    if (cmd === 'db' && sub === 'upgrade') {
      mkdirSync(cfg.DEFAULT.state_path, { recursive: true });
      const db = openDb(databaseUrl(cfg));
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
    throw err;
  }
}

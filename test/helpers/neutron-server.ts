// A real Neutron API server (Debian's neutron-server, Zed) for the tests that need one: the import
// test (test/db/import-neutron.test.ts) and the mixed deployment with neutrino's agents
// (test/e2e/neutron-server.root.test.ts). It gets a fresh MariaDB database of its own, whose
// schema neutron-db-manage builds, runs with noauth on a free loopback port, and keeps its log
// (stdout, stderr and log_file) for the failure messages of the test that started it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { freePort, writeIni, type Ini } from './process-server.js';
import { waitThroughErrors } from './wait.js';

export const HAVE_NEUTRON = existsSync('/usr/bin/neutron-server') && existsSync('/usr/bin/neutron-db-manage');

/** A statement on the shared MariaDB (root, no password). */
export async function mysql(q: string): Promise<void> {
  const c = await createConnection({ host: '127.0.0.1', port: 3306, user: 'root' });
  try {
    await c.query(q);
  } finally {
    await c.end();
  }
}

export interface NeutronServerOptions {
  /** Where its configuration, state and log go (the caller's temporary directory). */
  dir: string;
  /** A MariaDB database to create (dropped first if it exists), build, and drop at stop()... */
  database?: string;
  /** ...or the SQLAlchemy URL of an empty database the caller made (and drops): PostgreSQL too. */
  dbUrl?: string;
  /** oslo.messaging transport; default 'fake:/' (in-process: no agents, nothing on the shared RabbitMQ). */
  transportUrl?: string;
  /** More sections and options, merged over the defaults (a section's options over its defaults). */
  ini?: Ini;
  /** How long neutron-server may take to answer, ms (default 240 s: a loaded two-core machine). */
  timeoutMs?: number;
}

export interface NeutronServer {
  url: string;
  /** Its SQLAlchemy URL, for the importer. */
  dbUrl: string;
  proc: ChildProcess;
  /** The last of what it printed and logged: for failure messages. */
  log(maxChars?: number): string;
  /** SIGTERM (SIGKILL after 10 s), then drops the database it made (options.database). */
  stop(): Promise<void>;
}

/** Builds the schema (neutron-db-manage upgrade heads), starts neutron-server, waits until its API answers. */
export async function startNeutronServer(o: NeutronServerOptions): Promise<NeutronServer> {
  mkdirSync(o.dir, { recursive: true });
  if (!o.dbUrl === !o.database) throw new Error('startNeutronServer: give either database or dbUrl');
  const dbUrl = o.dbUrl ?? `mysql+pymysql://root@127.0.0.1:3306/${o.database}`;
  if (o.database) {
    await mysql(`DROP DATABASE IF EXISTS ${o.database}`);
    await mysql(`CREATE DATABASE ${o.database}`);
  }
  const port = await freePort();
  const logFile = join(o.dir, 'neutron-server.log');
  const base: Ini = {
    DEFAULT: {
      core_plugin: 'ml2',
      auth_strategy: 'noauth',
      transport_url: o.transportUrl ?? 'fake:/',
      bind_host: '127.0.0.1',
      bind_port: String(port),
      api_workers: '1',
      rpc_workers: '0',
      rpc_state_report_workers: '0',
      state_path: o.dir,
      log_file: logFile,
      debug: 'true',
      // No Nova here to tell about port changes (it would be asked through Keystone).
      notify_nova_on_port_status_changes: 'false',
      notify_nova_on_port_data_changes: 'false',
    },
    database: { connection: dbUrl },
    oslo_concurrency: { lock_path: o.dir },
  };
  const ini: Ini = { ...base };
  for (const [section, kv] of Object.entries(o.ini ?? {})) ini[section] = { ...(ini[section] ?? {}), ...kv };
  const conf = writeIni(join(o.dir, 'neutron-server.conf'), ini);
  // upgrade heads takes minutes on a loaded two-core machine.
  const dbm = spawnSync('neutron-db-manage', ['--config-file', conf, 'upgrade', 'heads'], { encoding: 'utf8' });
  if (dbm.status !== 0) throw new Error(`neutron-db-manage upgrade heads failed (${dbm.status}):\n${dbm.stderr.slice(-5000)}`);
  const proc = spawn('neutron-server', ['--config-file', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-20_000));
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const exited = new Promise<void>((r) => proc.on('exit', () => r()));
  const log = (maxChars = 12_000) => {
    const file = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
    return `--- neutron-server (${logFile}) ---\n${file.slice(-maxChars)}${out ? `\n--- neutron-server stdout/stderr ---\n${out.slice(-4000)}` : ''}`;
  };
  const url = `http://127.0.0.1:${port}`;
  const server: NeutronServer = {
    url,
    dbUrl,
    proc,
    log,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(t);
      }
      if (o.database) await mysql(`DROP DATABASE IF EXISTS ${o.database}`).catch(() => undefined);
    },
  };
  try {
    await Promise.race([
      waitThroughErrors('neutron-server to answer', async () => (await fetch(`${url}/v2.0/networks`)).ok, o.timeoutMs ?? 240_000, 500),
      exited.then(() => {
        throw new Error(`neutron-server exited (${proc.exitCode ?? proc.signalCode}) before answering`);
      }),
    ]);
  } catch (e) {
    await server.stop();
    throw new Error(`${(e as Error).message}\n${log()}`);
  }
  return server;
}

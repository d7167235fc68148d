// Stall benchmark (issue 11): how long a small request waits while the largest allowed bulk create
// runs. A client sends `GET /v2.0/networks?limit=1` back to back, alone first, then during one
// bulk POST of --items networks and one of --items ports, and prints p50/p99/max of its latency.
//
//   npm run bench:stall -- [--backend sqlite|postgres|mysql] [--items 1000] [--rounds 3]
//
// It starts `bin/neutrino aio` as a child process (its own event loop, as in production) on a
// fresh database of the chosen backend (PostgreSQL and MariaDB from NEUTRINO_TEST_PG and
// NEUTRINO_TEST_MYSQL, as the tests use), with [DEFAULT] max_bulk_items = --items and unlimited
// quotas, and removes everything at the end.
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createConnection } from 'mysql2/promise';
import { intOption } from '../src/config/command-line.js';
import { waitFor } from './wait.js';

const PG_URL = process.env.NEUTRINO_TEST_PG ?? 'postgresql://postgres@127.0.0.1:5432/test';
const MYSQL_URL = process.env.NEUTRINO_TEST_MYSQL ?? 'mysql+pymysql://root@127.0.0.1:3306/test';

/** A fresh database of the backend: its connection URL and how to drop it. */
async function freshDatabase(backend: string, dir: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `neutrino_stall_${randomBytes(5).toString('hex')}`;
  if (backend === 'sqlite') return { url: `sqlite:///${join(dir, 'stall.sqlite')}`, drop: async () => {} };
  if (backend === 'postgres') {
    const admin = async (q: string) => {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(q);
      await c.end();
    };
    await admin(`CREATE DATABASE ${name}`);
    const u = new URL(PG_URL);
    u.pathname = `/${name}`;
    return { url: u.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
  }
  if (backend === 'mysql') {
    const u = new URL(MYSQL_URL.replace(/^mysql\+pymysql:/, 'mysql:'));
    const admin = async (q: string) => {
      const c = await createConnection({
        host: u.hostname,
        port: Number(u.port || 3306),
        user: u.username || 'root',
        password: u.password || undefined,
      });
      await c.query(q);
      await c.end();
    };
    await admin(`CREATE DATABASE ${name}`);
    u.pathname = `/${name}`;
    return { url: u.toString().replace(/^mysql:/, 'mysql+pymysql:'), drop: () => admin(`DROP DATABASE IF EXISTS ${name}`) };
  }
  throw new Error('--backend: sqlite, postgres or mysql');
}

const HEADERS = { 'content-type': 'application/json', 'x-project-id': 'stall-bench', 'x-roles': 'admin,member,reader', 'x-user-id': 'bench' };

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => res(port));
    });
    srv.on('error', rej);
  });
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const ms = (v: number) => `${v.toFixed(1)} ms`;

interface Probe {
  count: number;
  p50: number;
  p99: number;
  max: number;
  /** When the slowest probe started, in ms from the probing's start. */
  maxAt: number;
}

/** Sends the small request back to back until `done` resolves; its latencies. */
async function probe(endpoint: string, done: Promise<unknown>): Promise<Probe> {
  let finished = false;
  void done.finally(() => {
    finished = true;
  });
  const lat: number[] = [];
  const start = performance.now();
  let max = 0;
  let maxAt = 0;
  do {
    const t0 = performance.now();
    const r = await fetch(`${endpoint}/v2.0/networks?limit=1`, { headers: HEADERS });
    await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`probe answered ${r.status}`);
    const took = performance.now() - t0;
    lat.push(took);
    if (took > max) [max, maxAt] = [took, t0 - start];
  } while (!finished);
  lat.sort((a, b) => a - b);
  return { count: lat.length, p50: pct(lat, 50), p99: pct(lat, 99), max, maxAt };
}

async function post(endpoint: string, path: string, body: unknown): Promise<{ status: number; body: any }> {
  const r = await fetch(endpoint + path, { method: 'POST', headers: HEADERS, body: JSON.stringify(body) });
  return { status: r.status, body: await r.json() };
}

async function main(): Promise<void> {
  const { values: o } = parseArgs({
    args: process.argv.slice(2),
    options: { backend: { type: 'string', default: 'sqlite' }, items: { type: 'string' }, rounds: { type: 'string' } },
  });
  const items = intOption(o.items, 'items', 1, 1000);
  const rounds = intOption(o.rounds, 'rounds', 1, 3);
  const backend = o.backend!;
  const state = mkdtempSync(join(tmpdir(), 'neutrino-stall-'));
  const db = await freshDatabase(backend, state);
  const conf = join(state, 'neutron.conf');
  writeFileSync(
    conf,
    `[DEFAULT]\nmax_bulk_items = ${items}\n[database]\nconnection = ${db.url}\n[quotas]\nquota_network = -1\nquota_subnet = -1\nquota_port = -1\n`,
  );
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const port = await freePort();
  const logPath = join(state, 'server.log');
  const logFd = openSync(logPath, 'a');
  const child = spawn(
    process.execPath,
    [join(root, 'bin', 'neutrino'), 'aio', '--config-file', conf, '--bind-host', '127.0.0.1', '--bind-port', String(port), '--state-path', state],
    { cwd: root, stdio: ['ignore', logFd, logFd] },
  );
  closeSync(logFd);
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitFor('the server to answer', async () => {
      if (child.exitCode !== null) throw new Error(`server exited: ${readFileSync(logPath, 'utf8').slice(-2000)}`);
      return (await fetch(`${endpoint}/`).catch(() => null))?.ok === true;
    });
    const net0 = await post(endpoint, '/v2.0/networks', { network: { name: 'stall-ports' } });
    const sub = await post(endpoint, '/v2.0/subnets', { subnet: { network_id: net0.body.network.id, ip_version: 4, cidr: '10.128.0.0/12' } });
    if (sub.status !== 201) throw new Error(`subnet: ${JSON.stringify(sub.body)}`);

    console.log(`stall bench: ${backend}, bulk creates of ${items} items, ${rounds} rounds; probe GET /v2.0/networks?limit=1 back to back`);
    const idle = await probe(endpoint, new Promise((r) => setTimeout(r, 2000)));
    console.log(`  idle            ${idle.count} probes  p50 ${ms(idle.p50)}  p99 ${ms(idle.p99)}  max ${ms(idle.max)}`);
    for (let round = 1; round <= rounds; round++) {
      for (const kind of ['networks', 'ports'] as const) {
        const body =
          kind === 'networks'
            ? { networks: Array.from({ length: items }, (_, i) => ({ name: `stall-${round}-${i}` })) }
            : { ports: Array.from({ length: items }, (_, i) => ({ network_id: net0.body.network.id, name: `stall-${round}-${i}` })) };
        const t0 = performance.now();
        const bulk = post(endpoint, `/v2.0/${kind}`, body);
        const p = await probe(endpoint, bulk);
        const r = await bulk;
        const took = performance.now() - t0;
        if (r.status !== 201) throw new Error(`bulk ${kind}: ${r.status} ${JSON.stringify(r.body).slice(0, 500)}`);
        console.log(
          `  ${kind.padEnd(8)} #${round}     ${String(p.count).padStart(4)} probes  p50 ${ms(p.p50)}  p99 ${ms(p.p99)}  max ${ms(p.max)} at ${ms(p.maxAt)}   (bulk took ${ms(took)})`,
        );
      }
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await db.drop();
    rmSync(state, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});

// Agent storms (issue 13): N simulated L2 and DHCP agents (bench/storm/fake-agent.ts: each its own
// RabbitMQ connection, consumers, start-up resync RPCs, report_state every interval with jitter)
// against a real `neutrino server` child process on SQLite or PostgreSQL.
//
//   1. Ramp: agents are added in steps (all of a step start at once, as after a cloud-wide
//      restart); after each step report_state latency is measured over a window. The first step
//      whose report_state p99 exceeds 1 s (or where a report or start-up RPC fails) is where the
//      server falls behind.
//   2. Restart: with --restart agents connected the server is stopped (SIGTERM) and started again;
//      measured: the backlog in the server's queues, the time until every agent reported fine again
//      (settled), how many were told 'revived' (and so resynced).
//
// The agents run in --procs child processes (the simulator must not be what falls behind); all
// run on one broker vhost of their own, deleted at the end. A shorter --interval than Neutron's
// 30 s gives the report rate of more agents: the lines say the rate, and the 30 s equivalent.
//
//   npm run bench:storm -- [--db sqlite|postgres] [--steps 250,500,1000,2000] [--interval 30]
//     [--window 60] [--restart 1000] [--procs 2] [--ports 1] [--url rabbit://guest:guest@127.0.0.1:5673/]
//     [--server-log FILE] [--keep-going] [--pool 10 (max_pool_size of each server process)]
//   (--smoke: 6 agents, 2 s interval, a restart; prints JSON, for test/rpc/storm-smoke.test.ts)
import { execFile, fork, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import amqp from 'amqplib';
import pg from 'pg';
import { parseTransportUrl } from '../src/rpc/index.js';
import { FakeAgent, type FakeAgentSpec, type Sample } from './storm/fake-agent.js';
import { waitFor } from './wait.js';

const run = promisify(execFile);
const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
function arg(name: string, def: string): string {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1]! : def;
}

// ---- worker role: runs some agents, streams their samples to the parent ----------------------

type ToWorker = { cmd: 'start'; specs: FakeAgentSpec[]; url: string; interval: number } | { cmd: 'stats' } | { cmd: 'stop' };
type FromWorker =
  | { ev: 'started'; resync: Sample[]; failedStarts: number }
  | { ev: 'reports'; samples: Sample[] }
  | { ev: 'stats'; revived: number; notified: number; lagP99Ms: number };

function worker(): void {
  const agents: FakeAgent[] = [];
  let buffer: Sample[] = [];
  const send = (m: FromWorker) => process.send!(m);
  const lag = monitorEventLoopDelay({ resolution: 20 });
  lag.enable();
  setInterval(() => {
    if (buffer.length) send({ ev: 'reports', samples: buffer.splice(0) });
  }, 250).unref();
  process.on('message', async (m: ToWorker) => {
    if (m.cmd === 'start') {
      const started = m.specs.map((spec) => new FakeAgent(spec, m.url, m.interval, (s) => buffer.push(s)));
      agents.push(...started);
      const results = await Promise.allSettled(started.map((a) => a.start()));
      const resync = results.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
      send({ ev: 'started', resync, failedStarts: results.filter((r) => r.status === 'rejected').length });
    } else if (m.cmd === 'stats') {
      send({
        ev: 'stats',
        revived: agents.reduce((n, a) => n + a.revived, 0),
        notified: agents.reduce((n, a) => n + a.notified, 0),
        lagP99Ms: lag.percentile(99) / 1e6,
      });
      lag.reset();
    } else {
      await Promise.allSettled(agents.map((a) => a.stop()));
      process.exit(0);
    }
  });
}

// ---- parent role ------------------------------------------------------------------------------

async function main(): Promise<void> {
  const smoke = flag('smoke');
  const db = arg('db', 'sqlite');
  const steps = (smoke ? '6' : arg('steps', '250,500,1000,2000')).split(',').map(Number);
  const interval = Number(arg('interval', smoke ? '2' : '30'));
  const windowS = Number(arg('window', smoke ? '3' : String(Math.max(20, 2 * interval))));
  const restartN = Number(arg('restart', smoke ? '6' : '1000'));
  const procs = Number(arg('procs', smoke ? '1' : '2'));
  const portsPerAgent = Number(arg('ports', '1'));
  // A --url is used as it is (e.g. a private node's); otherwise a vhost of our own on the local broker.
  const given = argv.includes('--url') ? arg('url', '') : null;
  const id = randomBytes(4).toString('hex');
  const vhost = given ? null : `neutrino_storm_${id}`;
  const url = given ?? `${(process.env.NEUTRINO_TEST_RABBIT ?? 'rabbit://guest:guest@127.0.0.1:5672/').replace(/\/[^/]*$/, '')}/${vhost}`;
  const dir = mkdtempSync(join(tmpdir(), 'neutrino-storm-'));
  const log = (s: string) => (smoke ? process.stderr.write(`${s}\n`) : console.log(s));
  const result: Record<string, unknown> = { db, interval, steps: [] as unknown[] };

  if (vhost) {
    await run('rabbitmqctl', ['-q', 'add_vhost', vhost]);
    await run('rabbitmqctl', ['-q', 'set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*']);
  }
  const database = await makeDatabase(db, dir);
  const workers: Worker[] = [];
  let server: Server | null = null;
  let probe: Probe | null = null;
  // Stopped from outside (a timeout, ^C): the server child and the database go too.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      log(`${sig}: cleaning up`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  try {
    server = await startServer(dir, url, database.url);
    probe = await Probe.open(url);
    await waitFor('the server to consume q-reports-plugin', async () => (await probe!.queue('q-reports-plugin')).consumers > 0, 60_000, 100);
    const netId = await makeNetwork(server.url);
    for (let i = 0; i < procs; i++) workers.push(new Worker());

    let total = 0;
    let fellBehindAt: number | null = null;
    for (const n of steps) {
      const add = n - total;
      if (add <= 0) continue;
      const specs = await makeSpecs(server.url, netId, id, total, add, portsPerAgent);
      const cpuStart = serverCpu(server.proc.pid!);
      const t0 = Date.now();
      const started = await Promise.all(
        workers.map((w, i) =>
          w.start(
            specs.filter((_, j) => j % procs === i),
            url,
            interval,
          ),
        ),
      );
      const startS = (Date.now() - t0) / 1000;
      total = n;
      const resync = started.flatMap((s) => s.resync);
      const failedStarts = started.reduce((a, s) => a + s.failedStarts, 0);
      const cpuStarted = serverCpu(server.proc.pid!);
      // Reports from this window only: the start-up burst is measured by the resync figures.
      for (const w of workers) w.reports = [];
      await sleep(windowS * 1000);
      const cpuWindow = cpuShare(cpuStarted, serverCpu(server.proc.pid!), windowS);
      const reports = workers.flatMap((w) => w.reports);
      const stats = await Promise.all(workers.map((w) => w.stats()));
      const rs = summarize(reports);
      const rsync = summarize(resync);
      const lagP99 = Math.max(...stats.map((s) => s.lagP99Ms));
      const line = {
        agents: n,
        equivalentAt30s: Math.round((n * 30) / interval),
        reportsPerS: +(reports.length / windowS).toFixed(1),
        report: rs,
        startS: +startS.toFixed(1),
        resync: rsync,
        failedStarts,
        simulatorLagP99Ms: +lagP99.toFixed(0),
        serverRssMiB: await rssMiB(server.proc.pid!),
        // Share of one core each server process used: during the start-up burst, during the window.
        serverCpuStart: cpuShare(cpuStart, cpuStarted, startS),
        serverCpuWindow: cpuWindow,
        machineLoad: readFileSync('/proc/loadavg', 'utf8').split(' ')[0],
      };
      (result.steps as unknown[]).push(line);
      log(
        `${String(n).padStart(5)} agents (${line.equivalentAt30s} at 30 s): ${line.reportsPerS} reports/s, report_state p50 ${rs.p50} ms p99 ${rs.p99} ms max ${rs.max} ms, ${rs.failed} failed; ` +
          `start of ${add}: ${line.startS} s, resync RPCs p50 ${rsync.p50} ms p99 ${rsync.p99} ms, ${rsync.failed + failedStarts} failed; simulator lag p99 ${line.simulatorLagP99Ms} ms; server RSS ${line.serverRssMiB} MiB`,
      );
      log(`        server CPU (% of a core): start ${fmtCpu(line.serverCpuStart)}; window ${fmtCpu(line.serverCpuWindow)}; load ${line.machineLoad}`);
      for (const e of [...rs.errors, ...rsync.errors]) log(`        failed: ${e}`);
      if (rs.p99 > 1000 || rs.failed || rsync.failed || failedStarts) {
        fellBehindAt ??= n;
        // --keep-going: the next steps too (how far behind it falls).
        if (!flag('keep-going')) break;
      }
    }
    result.fellBehindAt = fellBehindAt;

    // ---- the restart ----
    if (restartN > 0) {
      if (total < restartN) {
        const specs = await makeSpecs(server.url, netId, id, total, restartN - total, portsPerAgent);
        await Promise.all(
          workers.map((w, i) =>
            w.start(
              specs.filter((_, j) => j % procs === i),
              url,
              interval,
            ),
          ),
        );
        total = restartN;
        await sleep(interval * 1000);
      }
      const revivedBefore = (await Promise.all(workers.map((w) => w.stats()))).reduce((a, s) => a + s.revived, 0);
      const peak = { 'q-reports-plugin': 0, 'q-plugin': 0 };
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          for (const q of Object.keys(peak) as Array<keyof typeof peak>) {
            const d = (await probe!.queue(q).catch(() => ({ messages: 0, consumers: 0 }))).messages;
            peak[q] = Math.max(peak[q], d);
          }
          await sleep(100);
        }
      })();
      const stopAt = Date.now();
      await server.stop();
      const downMs = Date.now() - stopAt;
      const t0 = Date.now();
      server = await startServer(dir, url, database.url, server.port);
      const upMs = Date.now() - t0;
      // Settled: every agent got an answer to a report sent after the restart, and the queues
      // are empty again. Reports of the last interval tell the latency once settled.
      const backAt = Date.now();
      for (const w of workers) w.reports = [];
      await waitFor(
        'every agent to report fine after the restart',
        async () =>
          new Set(
            workers
              .flatMap((w) => w.reports)
              .filter((r) => r.ok && r.t - r.ms >= backAt)
              .map((r) => r.host),
          ).size >= total,
        10 * interval * 1000 + 120_000,
        100,
      );
      await waitFor('empty server queues', async () => (await probe!.queue('q-reports-plugin')).messages === 0, 120_000, 100);
      const settleS = (Date.now() - backAt) / 1000;
      sampling = false;
      await sampler;
      // Reports sent once the server answered (those in flight across the restart may time out).
      const after = workers.flatMap((w) => w.reports).filter((r) => r.t - r.ms >= backAt);
      const revived = (await Promise.all(workers.map((w) => w.stats()))).reduce((a, s) => a + s.revived, 0) - revivedBefore;
      const rs = summarize(after);
      result.restart = {
        agents: total,
        stopMs: downMs,
        startMs: upMs,
        peakBacklog: peak,
        settleS: +settleS.toFixed(1),
        report: rs,
        revived,
      };
      log(
        `restart with ${total} agents: stop ${downMs} ms, start ${upMs} ms; peak backlog q-reports-plugin ${peak['q-reports-plugin']}, q-plugin ${peak['q-plugin']}; ` +
          `every agent reported fine ${settleS.toFixed(1)} s after the server answered (report_state p50 ${rs.p50} ms p99 ${rs.p99} ms, ${rs.failed} failed); ${revived} told 'revived'`,
      );
    }
    if (smoke) console.log(JSON.stringify(result));
  } finally {
    await cleanup();
  }

  async function cleanup(): Promise<void> {
    await Promise.allSettled(workers.map((w) => w.stop()));
    await probe?.close();
    await server?.stop();
    await database.drop();
    if (vhost) await run('rabbitmqctl', ['-q', 'delete_vhost', vhost]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

function summarize(samples: Sample[]): { n: number; p50: number; p99: number; max: number; failed: number; errors: string[] } {
  const ms = samples.map((s) => s.ms).sort((a, b) => a - b);
  const at = (q: number) => (ms.length ? Math.round(ms[Math.min(ms.length - 1, Math.floor(q * ms.length))]!) : 0);
  // The failures' distinct messages (a few), counted: what to look for in the server's log.
  const errors = new Map<string, number>();
  for (const s of samples) if (s.error) errors.set(s.error, (errors.get(s.error) ?? 0) + 1);
  const top = [...errors].sort((a, b) => b[1] - a[1]).slice(0, 3);
  return {
    n: ms.length,
    p50: at(0.5),
    p99: at(0.99),
    max: at(1),
    failed: samples.filter((s) => !s.ok).length,
    errors: top.map(([e, n]) => `${n}x ${e}`),
  };
}

class Worker {
  private readonly child: ChildProcess;
  reports: Sample[] = [];
  private waiting: ((m: FromWorker) => void) | null = null;

  constructor() {
    this.child = fork(fileURLToPath(import.meta.url), ['--worker'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (m: FromWorker) => {
      if (m.ev === 'reports') this.reports.push(...m.samples);
      else this.waiting?.(m);
    });
  }

  private ask<T extends FromWorker>(m: ToWorker): Promise<T> {
    return new Promise((r) => {
      this.waiting = r as (m: FromWorker) => void;
      this.child.send(m);
    });
  }

  start(specs: FakeAgentSpec[], url: string, interval: number) {
    return this.ask<Extract<FromWorker, { ev: 'started' }>>({ cmd: 'start', specs, url, interval });
  }

  stats() {
    return this.ask<Extract<FromWorker, { ev: 'stats' }>>({ cmd: 'stats' });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.send({ cmd: 'stop' });
    await Promise.race([exited, sleep(20_000)]);
    this.child.kill('SIGKILL');
  }
}

/** Queue depths and consumers, by passive declares on a connection of its own. */
class Probe {
  private constructor(
    private readonly conn: amqp.ChannelModel,
    private ch: amqp.Channel,
  ) {}

  static async open(url: string): Promise<Probe> {
    const u = parseTransportUrl(url);
    const h = u.hosts[0]!;
    const conn = await amqp.connect({ hostname: h.hostname, port: h.port, username: h.username, password: h.password, vhost: u.virtualHost });
    conn.on('error', () => undefined);
    return new Probe(conn, await Probe.channel(conn));
  }

  /** A 404 (queue not there yet) closes the channel with an 'error' that must be caught. */
  private static async channel(conn: amqp.ChannelModel): Promise<amqp.Channel> {
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    return ch;
  }

  async queue(name: string): Promise<{ messages: number; consumers: number }> {
    try {
      const q = await this.ch.checkQueue(name);
      return { messages: q.messageCount, consumers: q.consumerCount };
    } catch (err) {
      // A 404 closes the channel: open another for the next question.
      this.ch = await Probe.channel(this.conn);
      if ((err as { code?: number }).code === 404) return { messages: 0, consumers: 0 };
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.conn.close().catch(() => undefined);
  }
}

interface Server {
  url: string;
  port: number;
  proc: ChildProcess;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((res) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
  });
}

/** `neutrino server` on a loopback port, noauth; resolves once it answers HTTP. */
async function startServer(dir: string, transportUrl: string, dbUrl: string, port?: number): Promise<Server> {
  port ??= await freePort();
  const conf = join(dir, 'neutron.conf');
  writeFileSync(
    conf,
    [
      '[DEFAULT]',
      'auth_strategy = noauth',
      `state_path = ${dir}`,
      'bind_host = 127.0.0.1',
      `bind_port = ${port}`,
      `transport_url = ${transportUrl}`,
      'api_workers = 1',
      '[database]',
      `connection = ${dbUrl}`,
      // A bounded pool: oslo.db's 5 + 50 per process let one storm take most of a shared
      // PostgreSQL's max_connections (100) while the RPC worker ran thousands of calls at once.
      `max_pool_size = ${arg('pool', '10')}`,
      'max_overflow = 0',
      '[quotas]',
      'quota_port = -1',
      '',
    ].join('\n'),
  );
  const serverLog = arg('server-log', '');
  const proc = spawn(resolve('bin/neutrino'), ['server', '--config-file', conf], {
    cwd: dir,
    stdio: ['ignore', serverLog ? 'pipe' : 'ignore', 'pipe'],
  });
  let err = '';
  proc.stderr!.on('data', (d) => (err = (err + d).slice(-4000)));
  // --server-log FILE keeps the server's log (its workers' errors) past the run.
  if (serverLog) {
    const out = createWriteStream(serverLog, { flags: 'a' });
    proc.stdout!.pipe(out);
    proc.stderr!.pipe(out);
  }
  const exited = new Promise((r) => proc.once('exit', r));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    'the server to answer',
    async () => {
      if (proc.exitCode !== null) throw new Error(`neutrino server exited: ${err}`);
      return fetch(`${url}/`)
        .then((r) => r.ok)
        .catch(() => false);
    },
    60_000,
    50,
  );
  return {
    url,
    port,
    proc,
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      await Promise.race([exited, sleep(30_000)]);
      if (proc.exitCode === null) proc.kill('SIGKILL');
    },
  };
}

async function makeDatabase(db: string, dir: string): Promise<{ url: string; drop(): Promise<void> }> {
  if (db === 'sqlite') return { url: `sqlite:///${join(dir, 'neutron.sqlite')}`, drop: async () => undefined };
  if (db !== 'postgres') throw new Error(`--db sqlite or postgres, not ${db}`);
  const base = process.env.NEUTRINO_TEST_PG ?? 'postgresql://postgres@127.0.0.1:5432/test';
  const name = `neutrino_storm_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(base);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

async function req(base: string, method: string, path: string, body?: unknown): Promise<any> {
  const r = await fetch(base + path, {
    method,
    headers: { 'content-type': 'application/json', 'x-project-id': 'storm', 'x-roles': 'admin,member,reader', 'x-user-id': 'storm' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const j = await r.json();
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(j).slice(0, 300)}`);
  return j;
}

async function makeNetwork(base: string): Promise<string> {
  const net = (await req(base, 'POST', '/v2.0/networks', { network: { name: 'storm' } })).network.id as string;
  await req(base, 'POST', '/v2.0/subnets', { subnet: { network_id: net, ip_version: 4, cidr: '10.128.0.0/14' } });
  return net;
}

/** Agents from..from+count: every other one an L2 agent with its ports (bound to its host) made first. */
async function makeSpecs(base: string, netId: string, id: string, from: number, count: number, ports: number): Promise<FakeAgentSpec[]> {
  const specs: FakeAgentSpec[] = [];
  for (let i = from; i < from + count; i++) {
    const kind = i % 2 === 0 ? 'l2' : 'dhcp';
    specs.push({ kind, host: `storm-${id}-${i}`, devices: [], networks: kind === 'l2' && ports ? [netId] : [] });
  }
  const l2 = specs.filter((s) => s.kind === 'l2');
  const wanted = l2.flatMap((s) => Array.from({ length: ports }, () => s));
  for (let i = 0; i < wanted.length; i += 100) {
    const chunk = wanted.slice(i, i + 100);
    const made = await req(base, 'POST', '/v2.0/ports', {
      ports: chunk.map((s) => ({ network_id: netId, device_owner: 'compute:nova', device_id: `vm-${s.host}`, 'binding:host_id': s.host })),
    });
    made.ports.forEach((p: { id: string }, j: number) => chunk[j]!.devices.push(`tap${p.id.slice(0, 11)}`));
  }
  return specs;
}

/** CPU seconds used so far by the server's primary and each worker, by role ("api", "rpc", ...). */
function serverCpu(primary: number): Map<string, number> {
  const ticks = (pid: number) => {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in USER_HZ (100 on Linux)
    } catch {
      return 0;
    }
  };
  const out = new Map<string, number>([['primary', ticks(primary)]]);
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (Number(readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]) !== primary) continue;
      const role = /(?:^|\0)NEUTRINO_WORKER_ROLE=(\w+)/.exec(readFileSync(`/proc/${d}/environ`, 'latin1'))?.[1] ?? 'worker';
      out.set(role, (out.get(role) ?? 0) + ticks(Number(d)));
    } catch {}
  }
  return out;
}

/** Per role, the share of one core used between two readings `s` seconds apart, in %. */
function cpuShare(a: Map<string, number>, b: Map<string, number>, s: number): Record<string, number> {
  return Object.fromEntries([...b].map(([role, t]) => [role, Math.round((100 * (t - (a.get(role) ?? 0))) / Math.max(s, 0.001))]));
}

const fmtCpu = (c: Record<string, number>) =>
  Object.entries(c)
    .map(([r, p]) => `${r} ${p}`)
    .join(', ');

/** RSS of the server: its primary and its workers. */
async function rssMiB(pid: number): Promise<number> {
  const ps = async (...sel: string[]) => (await run('ps', ['-o', 'rss=', ...sel]).catch(() => ({ stdout: '' }))).stdout;
  const kb = `${await ps('-p', String(pid))}\n${await ps('--ppid', String(pid))}`.split('\n').reduce((a, l) => a + (Number(l.trim()) || 0), 0);
  return Math.round(kb / 1024);
}

// Last: the classes above must be initialised before either role runs.
if (flag('worker')) worker();
else await main();

// Scale benchmark: the port API at 1k / 10k / 100k ports on several server shapes side by side,
// and the server's memory (RSS of the primary and its workers) at each size.
//
//   npm run bench:scale -- [--sizes 1000,10000,100000] [--shapes prod,pg-1w,pg-noauth,sqlite]
//                          [--concurrency 16] [--ops 1000] [--list-runs 5] [--no-agents] [--json FILE]
//
// Shapes (each a `neutrino server` child process on a fresh database and RabbitMQ vhost):
//   prod       PostgreSQL, Keystone (a real token), RabbitMQ, api_workers 2 + rpc_workers 1,
//              with the DHCP and Linux-bridge agents running as processes (as root)
//   pg-1w      the same with one process (api_workers 1, rpc_workers 0)
//   pg-noauth  prod without Keystone (noauth)
//   sqlite     prod on SQLite
// At each size the ports are topped up by bulk creates (10,000 per network), then measured:
// create (one by one at --concurrency), show, update, delete, list all, list filtered by network,
// list fields=id, a paginated page (limit 100, from a marker in the middle); then the latency of a
// show and of a page with one request at a time (at --concurrency a p50 is mostly queueing), and
// the RSS of each server process by role (and of the agents').
// Keystone: /work/shared/conformance/keystone-setup.sh's (admin from /etc/harness/admin-openrc).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { parseOptions } from '../src/config/command-line.js';
import { waitFor } from './wait.js';
import { freePort, pct, pool, request } from './http-client.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'neutrino');
const PG_URL = process.env.NEUTRINO_TEST_PG ?? 'postgresql://postgres@127.0.0.1:5432/test';
const RABBIT = process.env.NEUTRINO_TEST_RABBIT ?? 'rabbit://guest:guest@127.0.0.1:5672/';
const KEYSTONE = (process.env.NEUTRINO_TEST_KEYSTONE_URL ?? 'http://127.0.0.1:5000').replace(/\/+$/, '');

interface Shape {
  name: string;
  db: 'postgres' | 'sqlite';
  keystone: boolean;
  workers: boolean;
}
const SHAPES: Record<string, Shape> = {
  prod: { name: 'prod', db: 'postgres', keystone: true, workers: true },
  'pg-1w': { name: 'pg-1w', db: 'postgres', keystone: true, workers: false },
  'pg-noauth': { name: 'pg-noauth', db: 'postgres', keystone: false, workers: true },
  sqlite: { name: 'sqlite', db: 'sqlite', keystone: true, workers: true },
};

const USAGE = `usage: npm run bench:scale -- [--sizes 1000,10000,100000] [--shapes ${Object.keys(SHAPES).join(',')}]
  [--concurrency 16] [--ops 1000] [--list-runs 5] [--no-agents] [--json FILE]`;

const { values: v } = parseOptions(
  process.argv.slice(2),
  {
    sizes: { type: 'string' },
    shapes: { type: 'string' },
    concurrency: { type: 'string' },
    ops: { type: 'string' },
    'list-runs': { type: 'string' },
    'no-agents': { type: 'boolean' },
    json: { type: 'string' },
    help: { type: 'boolean' },
  } as const,
  USAGE,
  (m) => new Error(m),
);
if (v.help) {
  console.log(USAGE);
  process.exit(0);
}
const sizes = (v.sizes ?? '1000,10000,100000').split(',').map(Number);
const shapes = (v.shapes ?? Object.keys(SHAPES).join(',')).split(',').map((s) => {
  const shape = SHAPES[s];
  if (!shape) throw new Error(`unknown shape ${s}\n${USAGE}`);
  return shape;
});
const concurrency = Number(v.concurrency ?? 16);
const ops = Number(v.ops ?? 1000);
const listRuns = Number(v['list-runs'] ?? 5);
const withAgents = !v['no-agents'] && process.getuid?.() === 0;

// ---- helpers ----------------------------------------------------------------------------------

/** Each process's parent, from /proc. */
function children(): Map<number, number[]> {
  const kids = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const ppid = Number(readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
      kids.set(ppid, [...(kids.get(ppid) ?? []), Number(d)]);
    } catch {}
  }
  return kids;
}

const rssKiB = (pid: number) => {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
  } catch {
    return 0;
  }
};

/** Proportional set size: the pages a process shares (node's own code, ~45 MiB) divided among those sharing them. */
const pssKiB = (pid: number) => {
  try {
    return Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))![1]);
  } catch {
    return 0;
  }
};

/** PSS of a process and its descendants, MiB: what the group really holds (an RSS sum counts shared pages once per process). */
function treePssMiB(pid: number, kids = children()): number {
  let kb = 0;
  const walk = (p: number) => {
    kb += pssKiB(p);
    for (const k of kids.get(p) ?? []) walk(k);
  };
  walk(pid);
  return Math.round(kb / 1024);
}

/** RSS of processes and their descendants, MiB. */
function treeRssMiB(pids: number[], kids = children()): number {
  let kb = 0;
  const walk = (p: number) => {
    kb += rssKiB(p);
    for (const k of kids.get(p) ?? []) walk(k);
  };
  pids.forEach(walk);
  return Math.round(kb / 1024);
}

/** The server's processes by role ("primary 70, api 180+175, rpc 120, reports 110"): the primary's children are its workers. */
function rssByRole(primary: number): string {
  const roles = new Map<string, number[]>([['primary', [rssKiB(primary)]]]);
  for (const w of children().get(primary) ?? []) {
    let role = 'worker';
    try {
      role = /(?:^|\0)NEUTRINO_WORKER_ROLE=(\w+)/.exec(readFileSync(`/proc/${w}/environ`, 'latin1'))?.[1] ?? 'api';
    } catch {}
    roles.set(role, [...(roles.get(role) ?? []), rssKiB(w)]);
  }
  return [...roles].map(([role, kbs]) => `${role} ${kbs.map((kb) => Math.round(kb / 1024)).join('+')}`).join(', ');
}

async function keystoneToken(): Promise<{ token: string; project: string }> {
  const env: Record<string, string> = {};
  for (const m of readFileSync('/etc/harness/admin-openrc', 'utf8').matchAll(/^export (OS_\w+)=(.*)$/gm))
    env[m[1]!] = m[2]!.replace(/^['"]|['"]$/g, '');
  const r = await fetch(`${KEYSTONE}/v3/auth/tokens?nocatalog`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: env.OS_USERNAME ?? 'admin', domain: { id: 'default' }, password: env.OS_PASSWORD } },
        },
        scope: { project: { name: env.OS_PROJECT_NAME ?? 'admin', domain: { id: 'default' } } },
      },
    }),
  });
  if (r.status !== 201) throw new Error(`Keystone token: ${r.status} ${await r.text()}`);
  const body = (await r.json()) as { token: { project: { id: string } } };
  return { token: r.headers.get('x-subject-token')!, project: body.token.project.id };
}

// ---- one shape --------------------------------------------------------------------------------

interface Row {
  shape: string;
  size: number;
  op: string;
  n: number;
  /** Requests in flight: 1 for the latency rows and the lists. */
  c: number;
  rate?: number;
  p50: number;
  p99: number;
}
const rows: Row[] = [];
const memory: Array<{ shape: string; size: number; rssMiB: number; pssMiB: number; byRole: string; agentsMiB: number }> = [];

const log = (s: string) => process.stderr.write(`${s}\n`);

class Deployment {
  readonly id = randomBytes(3).toString('hex');
  readonly dir = mkdtempSync(join(tmpdir(), 'neutrino-scale-'));
  readonly vhost = `neutrino_scale_bench_${this.id}`;
  readonly dbName = `neutrino_scale_${this.id}`;
  readonly procs: ChildProcess[] = [];
  readonly netns = `sb${this.id}`;
  server: ChildProcess | null = null;
  url = '';

  constructor(readonly shape: Shape) {}

  async start(): Promise<void> {
    execFileSync('rabbitmqctl', ['-q', 'add_vhost', this.vhost]);
    execFileSync('rabbitmqctl', ['-q', 'set_permissions', '-p', this.vhost, 'guest', '.*', '.*', '.*']);
    const transport = `${RABBIT.replace(/\/[^/]*$/, '')}/${this.vhost}`;
    let connection = `sqlite:///${join(this.dir, 'neutrino.sqlite')}`;
    if (this.shape.db === 'postgres') {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`CREATE DATABASE ${this.dbName}`);
      await c.end();
      connection = PG_URL.replace(/\/[^/]*$/, `/${this.dbName}`);
    }
    const port = await freePort();
    this.url = `http://127.0.0.1:${port}`;
    const ini = [
      '[DEFAULT]',
      `bind_host = 127.0.0.1`,
      `bind_port = ${port}`,
      `state_path = ${this.dir}`,
      `transport_url = ${transport}`,
      `auth_strategy = ${this.shape.keystone ? 'keystone' : 'noauth'}`,
      `api_workers = ${this.shape.workers ? 2 : 1}`,
      `rpc_workers = ${this.shape.workers ? 1 : 0}`,
      '[database]',
      `connection = ${connection}`,
      '[quotas]',
      'quota_port = -1',
      'quota_network = -1',
      'quota_subnet = -1',
      '[ml2]',
      'tenant_network_types = vxlan',
      'mechanism_drivers = linuxbridge,l2population',
      '[ml2_type_vxlan]',
      'vni_ranges = 1000:1999',
      '[keystone_authtoken]',
      `auth_url = ${KEYSTONE}/v3`,
      `www_authenticate_uri = ${KEYSTONE}`,
      'username = neutron',
      'password = neutron-secret',
      'project_name = service',
      '',
    ].join('\n');
    writeFileSync(join(this.dir, 'neutron.conf'), ini);
    this.server = spawn(BIN, ['server', '--config-file', join(this.dir, 'neutron.conf')], { stdio: ['ignore', 'ignore', 'inherit'] });
    await waitFor(
      `${this.shape.name} server`,
      async () => {
        if (this.server!.exitCode !== null) throw new Error(`${this.shape.name}: the server exited (${this.server!.exitCode})`);
        return (await fetch(`${this.url}/`).catch(() => null))?.ok ?? false;
      },
      180_000,
      250,
    );
    if (withAgents) {
      const agentIni = join(this.dir, 'agents.ini');
      writeFileSync(
        agentIni,
        [
          '[DEFAULT]',
          `transport_url = ${transport}`,
          `state_path = ${join(this.dir, 'agents')}`,
          `host = scale-bench-${this.id}`,
          '[vxlan]',
          'enable_vxlan = true',
          'local_ip = 10.254.0.1',
          'l2_population = true',
          '',
        ].join('\n'),
      );
      execFileSync('ip', ['netns', 'add', this.netns]);
      execFileSync('ip', ['-n', this.netns, 'link', 'add', 'underlay', 'type', 'veth', 'peer', 'name', 'underlay-peer']);
      execFileSync('ip', ['-n', this.netns, 'addr', 'add', '10.254.0.1/24', 'dev', 'underlay']);
      execFileSync('ip', ['-n', this.netns, 'link', 'set', 'underlay', 'up']);
      for (const args of [
        ['agent', 'dhcp', '--config-file', agentIni, '--netns', this.netns],
        ['agent', 'linuxbridge', '--config-file', agentIni, '--netns', this.netns],
      ])
        this.procs.push(spawn(BIN, args, { stdio: ['ignore', 'ignore', 'ignore'] }));
    }
  }

  private stopping: Promise<void> | null = null;

  /** Stops and removes everything the shape made; once (a signal and the run's own end may both ask). */
  stop(): Promise<void> {
    this.stopping ??= this.teardown();
    return this.stopping;
  }

  private async teardown(): Promise<void> {
    for (const p of this.procs) p.kill('SIGTERM');
    this.server?.kill('SIGTERM');
    await Promise.all([...this.procs, this.server].map((p) => p && p.exitCode === null && new Promise((r) => p.once('exit', r))));
    if (withAgents) {
      // Both agents work in the host namespace (--netns), so the bridges (brq*) and the DHCP ports'
      // host ends go with it; the DHCP agent's namespaces (qdhcp-*) stay with their dnsmasq when
      // the agent stops: remove what the bench made.
      for (const ns of execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n')) {
        const name = ns.split(' ')[0]!;
        if (name === this.netns || (name.startsWith('qdhcp-') && this.networks.includes(name.slice(6))))
          try {
            execFileSync('ip', ['netns', 'pids', name], { encoding: 'utf8' })
              .split('\n')
              .filter(Boolean)
              .forEach((p) => process.kill(Number(p), 'SIGKILL'));
            execFileSync('ip', ['netns', 'delete', name]);
          } catch {}
      }
    }
    execFileSync('rabbitmqctl', ['-q', 'delete_vhost', this.vhost]);
    if (this.shape.db === 'postgres') {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${this.dbName} WITH (FORCE)`);
      await c.end();
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  networks: string[] = [];
}

async function benchShape(shape: Shape): Promise<void> {
  const d = new Deployment(shape);
  log(`# ${shape.name}: starting`);
  // Stopped from outside (a timeout, ^C): the server, its agents and their namespaces go too.
  const onSignal = (sig: NodeJS.Signals) => {
    log(`${sig}: cleaning up`);
    void d.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  try {
    await d.start();
    const auth = shape.keystone ? await keystoneToken() : { token: '', project: `bench-${d.id}` };
    const headers: Record<string, string> = shape.keystone
      ? { 'x-auth-token': auth.token }
      : { 'x-project-id': auth.project, 'x-roles': 'admin,member,reader', 'x-user-id': 'bench' };
    // A Keystone token lives an hour; a slow fill to 100,000 ports outlives it: a fresh one every 20 minutes.
    let tokenAt = performance.now();
    const call = async (method: string, path: string, body?: unknown) => {
      if (shape.keystone && performance.now() - tokenAt > 20 * 60_000) {
        headers['x-auth-token'] = (await keystoneToken()).token;
        tokenAt = performance.now();
      }
      return request(d.url, method, path, body, headers);
    };
    let total = 0;
    const perNet = 10_000;
    const newNetwork = async () => {
      const n = (await call('POST', '/v2.0/networks', { network: { name: `scale-${d.networks.length}` } })).body.network;
      const i = d.networks.length;
      const s = await call('POST', '/v2.0/subnets', { subnet: { network_id: n.id, ip_version: 4, cidr: `10.${100 + i}.0.0/18` } });
      if (s.status !== 201) throw new Error(`subnet: ${JSON.stringify(s.body)}`);
      d.networks.push(n.id);
      return n.id as string;
    };
    const ports: string[] = [];
    for (const size of sizes) {
      // Top up with bulk creates, 10,000 ports a network.
      log(`# ${shape.name}: filling to ${size} ports`);
      while (total < size) {
        if (total % perNet === 0 && d.networks.length <= Math.floor(total / perNet)) await newNetwork();
        const netId = d.networks[Math.floor(total / perNet)]!;
        const k = Math.min(500, size - total, perNet - (total % perNet));
        const r = await call('POST', '/v2.0/ports', { ports: Array.from({ length: k }, () => ({ network_id: netId })) });
        if (r.status !== 201) throw new Error(`bulk create: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
        for (const p of r.body.ports) ports.push(p.id);
        total += k;
      }
      const measure = async (op: string, n: number, c: number, fn: (i: number) => Promise<{ status: number; ms: number }>, expect: number) => {
        const lat: number[] = [];
        const wall = await pool(n, c, async (i) => {
          const r = await fn(i);
          if (r.status !== expect) throw new Error(`${op}: ${r.status}`);
          lat.push(r.ms);
        });
        rows.push({ shape: shape.name, size, op, n, c, rate: Math.round((n / wall) * 1000), p50: round(pct(lat, 50)), p99: round(pct(lat, 99)) });
        log(`  ${shape.name} ${size} ${op}: ${rows.at(-1)!.rate}/s p50 ${rows.at(-1)!.p50} ms p99 ${rows.at(-1)!.p99} ms`);
      };
      const lastNet = d.networks.at(-1)!;
      // Creates at --concurrency; what they made is deleted after, so the size stays.
      const made: string[] = [];
      await measure(
        'port create',
        ops,
        concurrency,
        async () => {
          const r = await call('POST', '/v2.0/ports', { port: { network_id: lastNet } });
          if (r.status === 201) made.push(r.body.port.id);
          return r;
        },
        201,
      );
      const pick = () => ports[Math.floor(Math.random() * ports.length)]!;
      await measure('port show', ops, concurrency, () => call('GET', `/v2.0/ports/${pick()}`), 200);
      // One request at a time: the latency of a show itself, not the queue in front of it.
      await measure('port show, 1 at a time', ops, 1, () => call('GET', `/v2.0/ports/${pick()}`), 200);
      await measure('port update', ops, concurrency, (i) => call('PUT', `/v2.0/ports/${made[i % made.length]}`, { port: { name: `u${i}` } }), 200);
      await measure('port delete', made.length, concurrency, (i) => call('DELETE', `/v2.0/ports/${made[i]}`), 204);
      const firstNet = d.networks[0]!;
      const inFirst = Math.min(size, perNet);
      const middle = ports[Math.floor(ports.length / 2)]!;
      await measure(`list all (${size})`, listRuns, 1, () => call('GET', '/v2.0/ports'), 200);
      await measure(`list network_id= (${inFirst})`, listRuns, 1, () => call('GET', `/v2.0/ports?network_id=${firstNet}`), 200);
      await measure(`list fields=id (${size})`, listRuns, 1, () => call('GET', '/v2.0/ports?fields=id'), 200);
      await measure(
        'list page limit=100 marker, 1 at a time',
        Math.max(listRuns * 10, Math.round(ops / 5)),
        1,
        () => call('GET', `/v2.0/ports?limit=100&marker=${middle}`),
        200,
      );
      const m = {
        shape: shape.name,
        size,
        rssMiB: treeRssMiB([d.server!.pid!]),
        pssMiB: treePssMiB(d.server!.pid!),
        byRole: rssByRole(d.server!.pid!),
        agentsMiB: treeRssMiB(d.procs.map((p) => p.pid!)),
      };
      memory.push(m);
      log(`  ${shape.name} ${size} server RSS ${m.rssMiB} MiB (${m.byRole}), PSS ${m.pssMiB} MiB; agents ${m.agentsMiB} MiB`);
    }
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    await d.stop();
  }
}

const round = (x: number) => Math.round(x * 10) / 10;

for (const s of shapes) await benchShape(s);

// Side by side: one line per (size, op), one column per shape.
const names = shapes.map((s) => s.name);
const key = (r: Row) => `${r.size}\t${r.op}`;
const byKey = new Map<string, Map<string, Row>>();
for (const r of rows) {
  const m = byKey.get(key(r)) ?? new Map<string, Row>();
  m.set(r.shape, r);
  byKey.set(key(r), m);
}
// Whole lists (a few runs): the median; one at a time: the latency; else the throughput too.
const cell = (r: Row | undefined) =>
  !r ? '-' : r.n <= listRuns ? `p50 ${r.p50} ms` : r.c === 1 ? `p50 ${r.p50} p99 ${r.p99} ms` : `${r.rate}/s p50 ${r.p50} p99 ${r.p99}`;
const lines = [`size | op | ${names.join(' | ')}`, `---|---|${names.map(() => '---').join('|')}`];
for (const [k, m] of byKey) lines.push(`${k.replace('\t', ' | ')} | ${names.map((n) => cell(m.get(n))).join(' | ')}`);
const mem = (size: number, f: (m: (typeof memory)[number]) => string | number) =>
  names.map((n) => {
    const m = memory.find((x) => x.shape === n && x.size === size);
    return m ? f(m) : '-';
  });
for (const size of sizes) {
  lines.push(`${size} | server RSS (MiB, all processes) | ${mem(size, (m) => m.rssMiB).join(' | ')}`);
  lines.push(`${size} | server RSS by process (MiB) | ${mem(size, (m) => m.byRole).join(' | ')}`);
  lines.push(`${size} | server PSS (MiB, all processes; shared pages once) | ${mem(size, (m) => m.pssMiB).join(' | ')}`);
  if (withAgents) lines.push(`${size} | agents RSS (MiB, DHCP + L2 + dnsmasqs) | ${mem(size, (m) => m.agentsMiB).join(' | ')}`);
}
console.log(lines.join('\n'));
console.log(
  `\nconcurrency ${concurrency}, ${ops} ops; agents ${withAgents ? 'running (DHCP, Linux bridge)' : 'not running'}; machine load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
);
if (v.json) writeFileSync(v.json, JSON.stringify({ rows, memory, concurrency, ops, agents: withAgents }, null, 2));
process.exit(0);

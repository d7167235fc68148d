// API benchmark: drives a neutrino server over real HTTP (keep-alive) and prints rates and
// latencies for the operations that matter at scale: port create at concurrency N, listing
// thousands of ports (full dicts and fields=id), port show/update/delete, network
// create/list/delete; routers (create, update, interfaces, gateways, delete), floating IPs
// (create, associate, disassociate, list, delete) and security groups and their rules.
//
//   npm run bench -- [--endpoint URL] [--ports 2000] [--list-ports 10000] [--concurrency 8]
//                    [--networks 200] [--list-runs 7] [--ops 2000] [--quota -1] [--warmup 1000]
//                    [--routers 200] [--fips 500] [--sgs 50] [--sg-rules 1000] [--address-groups 50] [--ag-addresses 1000]
//                    [--auto-topologies 20]
//                    [--only ports,routers,...] [--json out.json]
//                    [--server-node-args="--cpu-prof --cpu-prof-dir=/tmp/prof"] [--database URL] [--no-floors] [--keep]
//
// Without --endpoint it starts `bin/neutrino aio` as a child process on a free port with SQLite
// in a temporary directory (no auth) and stops it, and removes the directory, at the end.
// Requests use no-auth identity headers (X-Project-Id, X-Roles); against a Keystone-backed
// endpoint pass --token. The project's quotas are raised for the run and restored afterwards.
// When the benchmark started the server, each row also shows the server's CPU time per operation
// (from /proc), which varies much less than latency on a busy machine.
// Beside the port rows it prints the floors (bench/floors.ts) measured in the same run and the
// ratio to them: the database building the list's JSON body itself, one-row SQLite write
// transactions, Fastify's trivial request at the same concurrency.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { intOption, parseOptions } from '../src/config/command-line.js';
import { waitFor } from './wait.js';
import { Progress } from './progress.js';
import { compareCounts, RequestTally, scrapeRequestCounts } from './metrics-check.js';
import { measureHttpFloor, measureTxFloor, openListFloor, type HttpFloor } from './floors.js';

// ---- options ----------------------------------------------------------------------------------

interface Options {
  endpoint?: string;
  ports: number;
  listPorts: number;
  concurrency: number;
  networks: number;
  listRuns: number;
  ops: number;
  bulkSize: number;
  quota: number;
  warmup: number;
  json?: string;
  token?: string;
  project: string;
  serverNodeArgs: string[];
  serverRoot?: string;
  database?: string;
  floors: boolean;
  keep: boolean;
  quiet: boolean;
  progress: boolean;
  routers: number;
  fips: number;
  sgs: number;
  sgRules: number;
  addressGroups: number;
  agAddresses: number;
  autoTopologies: number;
  only: Set<Section>;
}

/** The parts of the benchmark, in the order they run. */
const SECTIONS = ['networks', 'ports', 'routers', 'floatingips', 'security-groups', 'address-groups', 'auto-allocated-topology'] as const;
type Section = (typeof SECTIONS)[number];

const USAGE = `usage: node dist/bench/api-bench.js [options]
  --endpoint URL          benchmark a running server (default: start bin/neutrino aio on SQLite)
  --ports N               ports created one by one at --concurrency (default 2000)
  --list-ports N          ports on the network when listing; the rest are bulk-created (default 10000)
  --concurrency N         parallel requests for create/show/update/delete (default 8)
  --networks N            networks created, listed and deleted (default 200)
  --list-runs N           repetitions of each list; the median is reported (default 7; 0 skips)
  --ops N                 port show and update requests (default 2000)
  --bulk-size N           ports per bulk request when filling up to --list-ports (default 100)
  --warmup N              unmeasured port creates (and lists, shows, updates, deletes) first (default 1000)
  --quota N               the project's network/subnet/port quota during the run (default -1, unlimited)
  --project ID            project the resources belong to (default a random one)
  --token T               X-Auth-Token to send instead of no-auth headers
  --json FILE             also write the results as JSON
  --server-node-args=STR extra node flags for the started server (e.g. --server-node-args="--cpu-prof --cpu-prof-dir=/tmp/p")
  --server-root DIR       start bin/neutrino of another (built) checkout, e.g. a baseline to compare with
  --database URL          the started server's [database] connection (default SQLite in its state directory)
  --no-floors             do not measure the floors (list body built by the database, one-row transactions, Fastify)
  --routers N             routers created, updated, given interfaces and gateways, deleted (default 200)
  --fips N                floating IPs created, associated, disassociated, listed, deleted (default 500)
  --sgs N                 security groups created, listed and deleted (default 50)
  --sg-rules N            security group rules created, listed and deleted (default 1000)
  --address-groups N      address groups created, listed and deleted (default 50)
  --ag-addresses N        addresses added and removed one by one over them (default 1000)
  --auto-topologies N     projects given an auto-allocated topology, shown again and deleted (default 20)
  --only LIST             run only these parts: ${SECTIONS.join(',')} (default all)
  --keep                  leave the resources in place at the end (not with a started server)
  --quiet                 only print the result table
  --progress              progress lines on stderr during long phases (default: only on a terminal)
`;

function optionsFrom(argv: string[]): Options {
  const str = { type: 'string' } as const;
  const spec = {
    endpoint: str,
    ports: str,
    'list-ports': str,
    concurrency: str,
    networks: str,
    'list-runs': str,
    ops: str,
    'bulk-size': str,
    quota: str,
    warmup: str,
    project: str,
    token: str,
    json: str,
    'server-node-args': str,
    'server-root': str,
    database: str,
    'no-floors': { type: 'boolean' },
    routers: str,
    fips: str,
    sgs: str,
    'sg-rules': str,
    'address-groups': str,
    'ag-addresses': str,
    'auto-topologies': str,
    only: str,
    keep: { type: 'boolean' },
    quiet: { type: 'boolean' },
    progress: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  } as const;
  const { values: v } = parseOptions(argv, spec, USAGE, (m) => new Error(m));
  if (v.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  let only = new Set<Section>(SECTIONS);
  if (v.only !== undefined) {
    const names = v.only
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
    const bad = names.filter((x) => !(SECTIONS as readonly string[]).includes(x));
    if (bad.length || !names.length) throw new Error(`--only takes a list of ${SECTIONS.join(', ')}; got ${names.join(',') || 'nothing'}`);
    only = new Set(names as Section[]);
  }
  return {
    ports: intOption(v.ports, 'ports', 1, 2000),
    listPorts: intOption(v['list-ports'], 'list-ports', 0, 10000),
    concurrency: intOption(v.concurrency, 'concurrency', 1, 8),
    networks: intOption(v.networks, 'networks', 0, 200),
    listRuns: intOption(v['list-runs'], 'list-runs', 0, 7),
    ops: intOption(v.ops, 'ops', 0, 2000),
    bulkSize: intOption(v['bulk-size'], 'bulk-size', 1, 100),
    quota: intOption(v.quota, 'quota', -1, -1),
    warmup: intOption(v.warmup, 'warmup', 0, 1000),
    project: v.project ?? randomUUID().replace(/-/g, ''),
    serverNodeArgs: (v['server-node-args'] ?? '').split(/\s+/).filter(Boolean),
    keep: v.keep ?? false,
    floors: !(v['no-floors'] ?? false),
    quiet: v.quiet ?? false,
    progress: v.progress ?? false,
    routers: intOption(v.routers, 'routers', 0, 200),
    fips: intOption(v.fips, 'fips', 0, 500),
    sgs: intOption(v.sgs, 'sgs', 0, 50),
    sgRules: intOption(v['sg-rules'], 'sg-rules', 0, 1000),
    addressGroups: intOption(v['address-groups'], 'address-groups', 0, 50),
    agAddresses: intOption(v['ag-addresses'], 'ag-addresses', 0, 1000),
    autoTopologies: intOption(v['auto-topologies'], 'auto-topologies', 0, 20),
    only,
    ...(v.endpoint !== undefined ? { endpoint: v.endpoint.replace(/\/+$/, '') } : {}),
    ...(v.token !== undefined ? { token: v.token } : {}),
    ...(v.json !== undefined ? { json: v.json } : {}),
    ...(v['server-root'] !== undefined ? { serverRoot: v['server-root'] } : {}),
    ...(v.database !== undefined ? { database: v.database } : {}),
  };
}

// ---- HTTP client ------------------------------------------------------------------------------

interface Response {
  status: number;
  text: string;
  ms: number;
}

/** Every request sent, to check the server's /metrics against. */
const sent = new RequestTally();

class Client {
  private readonly agent: http.Agent;
  private readonly mod: typeof http | typeof https;
  private readonly url: URL;

  constructor(
    endpoint: string,
    private readonly headers: Record<string, string>,
    sockets: number,
    /** Whether its requests count in `sent` (not those to the floors' Fastify). */
    private readonly tally = true,
  ) {
    this.url = new URL(endpoint);
    this.mod = this.url.protocol === 'https:' ? https : http;
    this.agent = new this.mod.Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets });
  }

  request(method: string, path: string, body?: unknown, extraHeaders?: Record<string, string>): Promise<Response> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string | number> = { ...this.headers, ...extraHeaders };
    if (payload !== undefined) headers['content-length'] = Buffer.byteLength(payload);
    const t0 = performance.now();
    return new Promise((res, rej) => {
      const req = this.mod.request(
        {
          protocol: this.url.protocol,
          hostname: this.url.hostname,
          port: this.url.port,
          path: this.url.pathname.replace(/\/$/, '') + path,
          method,
          headers,
          agent: this.agent,
        },
        (r) => {
          const parts: Buffer[] = [];
          r.on('data', (c: Buffer) => parts.push(c));
          r.on('end', () => {
            if (this.tally) sent.add(method, path, r.statusCode ?? 0);
            res({ status: r.statusCode ?? 0, text: Buffer.concat(parts).toString('utf8'), ms: performance.now() - t0 });
          });
          r.on('error', rej);
        },
      );
      req.on('error', rej);
      req.end(payload);
    });
  }

  /** A request that must answer `expect`; the body is parsed. */
  async call<T = any>(
    method: string,
    path: string,
    body: unknown,
    expect: number,
    extraHeaders?: Record<string, string>,
  ): Promise<{ body: T; ms: number }> {
    const r = await this.request(method, path, body, extraHeaders);
    if (r.status !== expect) throw new Error(`${method} ${path} -> ${r.status} (expected ${expect}): ${r.text.slice(0, 400)}`);
    return { body: (r.text ? JSON.parse(r.text) : null) as T, ms: r.ms };
  }

  close(): void {
    this.agent.destroy();
  }
}

// ---- measurements -----------------------------------------------------------------------------

interface Result {
  op: string;
  n: number;
  per_s: number | null;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  wall_ms: number;
  /** CPU time the started server spent per unit (user + system, from /proc), when known. */
  server_cpu_ms?: number;
  /** The floor this row is compared with (bench/floors.ts), in ms per unit, and what it is. */
  floor_ms?: number;
  floor?: string;
  /** server_cpu_ms (else p50_ms for lists) over floor_ms. */
  x_floor?: number;
  note?: string;
}

const results: Result[] = [];
let quiet = false;
/** Progress lines on stderr during long phases: on a terminal (unless --quiet), or with --progress. */
let showProgress = false;

// CPU time of the server the benchmark started, read from /proc/<pid>/stat (Linux): unlike
// latency it hardly moves when other processes compete for the machine.
let serverPid: number | undefined;
/** The started server's database (for the list floor). */
let serverDatabaseUrl: string | undefined;
const CLOCK_TICKS_MS = 10; // USER_HZ is 100 on Linux
let phaseCpu: number | undefined;

function serverCpuMs(): number | undefined {
  if (serverPid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${serverPid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * CLOCK_TICKS_MS; // utime, stime
  } catch {
    return undefined;
  }
}

/** Starts a measured phase: record() reports the server's CPU time since. */
function startPhase(): void {
  phaseCpu = serverCpuMs();
}
const log = (s: string) => {
  if (!quiet) process.stderr.write(s + '\n');
};

function pct(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN;
}

function record(op: string, lat: number[], wallMs: number, opts: { rate?: boolean; note?: string; units?: number } = {}): Result {
  const s = [...lat].sort((a, b) => a - b);
  const units = opts.units ?? s.length;
  const cpuNow = serverCpuMs();
  const cpu = cpuNow !== undefined && phaseCpu !== undefined ? round((cpuNow - phaseCpu) / units, 3) : undefined;
  const r: Result = {
    op,
    n: units,
    per_s: opts.rate === false ? null : round(units / (wallMs / 1000), 1),
    p50_ms: round(pct(s, 50), 2),
    p95_ms: round(pct(s, 95), 2),
    p99_ms: round(pct(s, 99), 2),
    wall_ms: round(wallMs, 1),
    ...(cpu !== undefined ? { server_cpu_ms: cpu } : {}),
    ...(opts.note ? { note: opts.note } : {}),
  };
  results.push(r);
  log(`  ${op}: ${r.per_s !== null ? `${r.per_s}/s, ` : ''}p50 ${r.p50_ms} ms, p95 ${r.p95_ms} ms${r.note ? `  (${r.note})` : ''}`);
  return r;
}

const round = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;

/** Puts a floor beside a row: the ratio of its server CPU per unit (or `value`) to `floorMs`. */
function againstFloor(r: Result, floorMs: number, what: string, value = r.server_cpu_ms): void {
  r.floor_ms = round(floorMs, 3);
  r.floor = what;
  if (value !== undefined && floorMs > 0) r.x_floor = round(value / floorMs, 2);
}

/** Runs fn(0..n-1) with `c` requests in flight; returns latencies and wall time. */
async function pool(n: number, c: number, fn: (i: number) => Promise<{ ms: number }>): Promise<{ lat: number[]; wall: number }> {
  const lat: number[] = [];
  let next = 0;
  const progress = new Progress(n, showProgress && n >= 100);
  startPhase();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(c, n) }, async () => {
      while (next < n) {
        const i = next++;
        lat.push((await fn(i)).ms);
        progress.tick(lat.length);
      }
    }),
  );
  progress.end();
  return { lat, wall: performance.now() - t0 };
}

// ---- server ------------------------------------------------------------------------------------

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => res(port));
    });
  });
}

interface Started {
  endpoint: string;
  pid: number;
  /** The server's database, where the list floor is measured. */
  databaseUrl: string;
  stop(): Promise<void>;
}

async function startServer(nodeArgs: string[], serverRoot?: string, database?: string): Promise<Started> {
  const root = serverRoot ? resolve(serverRoot) : resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const state = mkdtempSync(join(tmpdir(), 'neutrino-bench-'));
  const port = await freePort();
  const logPath = join(state, 'server.log');
  const configArgs: string[] = [];
  if (database) {
    writeFileSync(join(state, 'bench.conf'), `[database]\nconnection = ${database}\n`);
    configArgs.push('--config-file', join(state, 'bench.conf'));
  }
  const logFd = openSync(logPath, 'a');
  // Run bin/neutrino with this node and the node flags of its #! line, as ./bin/neutrino would.
  const bin = join(root, 'bin', 'neutrino');
  const shebang = /^#!.*\bnode\b(.*)$/m.exec(readFileSync(bin, 'utf8').split('\n', 1)[0]!);
  const binFlags = shebang ? shebang[1]!.trim().split(/\s+/).filter(Boolean) : [];
  const child: ChildProcess = spawn(
    process.execPath,
    [...binFlags, ...nodeArgs, bin, 'aio', '--bind-host', '127.0.0.1', '--bind-port', String(port), '--state-path', state, ...configArgs],
    {
      // Logs go to a file: a pipe would be a socket, which the server cannot open as /dev/stderr.
      cwd: root,
      stdio: ['ignore', logFd, logFd],
    },
  );
  closeSync(logFd);
  const serverLog = () => {
    try {
      return readFileSync(logPath, 'utf8').slice(-4000);
    } catch {
      return '';
    }
  };
  let exited = false;
  const exit = new Promise<void>((res) =>
    child.once('exit', () => {
      exited = true;
      res();
    }),
  );
  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (!exited) child.kill('SIGKILL');
      }, 10_000);
      await exit;
      clearTimeout(timer);
    }
    rmSync(state, { recursive: true, force: true });
  };
  const endpoint = `http://127.0.0.1:${port}`;
  const answers = () =>
    new Promise<boolean>((res) => {
      const r = http.get(`${endpoint}/`, (resp) => {
        resp.resume();
        res(resp.statusCode === 200);
      });
      r.on('error', () => res(false));
    });
  try {
    await waitFor(
      'the server to answer',
      async () => {
        if (exited) throw new Error('the server exited during start-up');
        return answers();
      },
      // Migrating an empty PostgreSQL or MariaDB database takes a while on a busy machine.
      120_000,
      100,
    );
  } catch (e) {
    const text = serverLog();
    await stop();
    throw new Error(`${(e as Error).message}:\n${text}`);
  }
  return { endpoint, pid: child.pid!, stop, databaseUrl: database ?? `sqlite:///${join(state, 'neutrino.sqlite')}` };
}

// ---- scenario ---------------------------------------------------------------------------------

async function run(o: Options, endpoint: string): Promise<void> {
  const headers: Record<string, string> = o.token
    ? { 'content-type': 'application/json', 'x-auth-token': o.token }
    : { 'content-type': 'application/json', 'x-project-id': o.project, 'x-user-id': 'bench', 'x-roles': 'admin,member,reader' };
  const c = new Client(endpoint, headers, Math.max(o.concurrency, 2));
  // A plain member of the same project: lists through the policy engine, item by item.
  const memberHeaders = o.token ? undefined : { 'x-roles': 'member,reader' };
  const cleanup: Array<() => Promise<unknown>> = [];
  const tag = randomUUID().slice(0, 8);
  try {
    // Lift the quotas for the project, remembering the current ones.
    const quotaPath = `/v2.0/quotas/${o.project}`;
    const before = (await c.call<{ quota: Record<string, number> }>('GET', quotaPath, undefined, 200)).body.quota;
    // Unlimited by default, as for any load test; --quota N keeps the quota check (which looks at
    // the project's ports on every create) in the measured path.
    const keys = QUOTA_KEYS.filter((k) => k in before);
    await c.call('PUT', quotaPath, { quota: Object.fromEntries(keys.map((k) => [k, o.quota])) }, 200);
    const defaults = (await c.call<{ quota: Record<string, number> }>('GET', `${quotaPath}/default`, undefined, 200)).body.quota;
    const hadDefaults = keys.every((k) => before[k] === defaults[k]);
    cleanup.push(() =>
      hadDefaults
        ? c.call('DELETE', quotaPath, undefined, 204)
        : // force: the limits the project had are put back whatever it holds by then (quota-check-limit-default).
          c.call('PUT', quotaPath, { quota: { ...Object.fromEntries(keys.map((k) => [k, before[k]])), force: true } }, 200),
    );

    // Warm-up, not measured: a freshly started server runs its code unoptimised at first, and the
    // figures are meant for one that has been up a while.
    if (o.warmup > 0 && (o.only.has('ports') || o.only.has('networks'))) {
      log(`warm-up: ${o.warmup} port creates, lists, shows, updates and deletes`);
      const wnet = (await c.call('POST', '/v2.0/networks', { network: { name: `bench-${tag}-warmup` } }, 201)).body.network;
      await c.call('POST', '/v2.0/subnets', { subnet: { network_id: wnet.id, ip_version: 4, cidr: '10.95.0.0/16' } }, 201);
      const wids: string[] = [];
      await pool(o.warmup, o.concurrency, async (i) => {
        const x = await c.call('POST', '/v2.0/ports', { port: { network_id: wnet.id, name: `w${i}` } }, 201);
        wids.push(x.body.port.id);
        return x;
      });
      await pool(Math.ceil(o.warmup / 100), 1, () =>
        c.call('POST', '/v2.0/ports', { ports: Array.from({ length: 100 }, (_, k) => ({ network_id: wnet.id, name: `wb${k}` })) }, 201).then((x) => {
          for (const p of x.body.ports) wids.push(p.id);
          return x;
        }),
      );
      for (const q of ['', '&fields=id']) await pool(5, 1, () => c.call('GET', `/v2.0/ports?network_id=${wnet.id}${q}`, undefined, 200));
      if (memberHeaders) await pool(5, 1, () => c.call('GET', `/v2.0/ports?network_id=${wnet.id}`, undefined, 200, memberHeaders));
      await pool(wids.length, o.concurrency, (i) => c.call('GET', `/v2.0/ports/${wids[i]}`, undefined, 200));
      await pool(wids.length, o.concurrency, (i) => c.call('PUT', `/v2.0/ports/${wids[i]}`, { port: { name: `u${i}` } }, 200));
      await pool(wids.length, o.concurrency, (i) => c.call('DELETE', `/v2.0/ports/${wids[i]}`, undefined, 204));
      const wn: string[] = [];
      await pool(50, o.concurrency, (i) =>
        c.call('POST', '/v2.0/networks', { network: { name: `bench-${tag}-w${i}` } }, 201).then((x) => {
          wn.push(x.body.network.id);
          return x;
        }),
      );
      await pool(5, 1, () => c.call('GET', '/v2.0/networks', undefined, 200));
      await pool(wn.length, o.concurrency, (i) => c.call('DELETE', `/v2.0/networks/${wn[i]}`, undefined, 204));
      await c.call('DELETE', `/v2.0/networks/${wnet.id}`, undefined, 204);
    }

    // Networks.
    if (o.only.has('networks') && o.networks > 0) {
      log(`networks (${o.networks}, c=${o.concurrency})`);
      const ids: string[] = [];
      let r = await pool(o.networks, o.concurrency, async (i) => {
        const x = await c.call('POST', '/v2.0/networks', { network: { name: `bench-${tag}-${i}` } }, 201);
        ids.push(x.body.network.id);
        return x;
      });
      record(`network create (c=${o.concurrency})`, r.lat, r.wall);
      if (o.listRuns > 0) {
        r = await pool(o.listRuns, 1, () => c.call('GET', '/v2.0/networks', undefined, 200));
        record(`network list (${o.networks})`, r.lat, r.wall, { rate: false });
      }
      r = await pool(ids.length, o.concurrency, (i) => c.call('DELETE', `/v2.0/networks/${ids[i]}`, undefined, 204));
      record(`network delete (c=${o.concurrency})`, r.lat, r.wall);
    }

    const x: Scenario = { c, o, tag, cleanup, memberHeaders };
    if (o.only.has('ports')) await portScenarios(x);
    if (o.only.has('routers') && o.routers > 0) await section(x, routerScenarios);
    if (o.only.has('floatingips') && o.fips > 0) await section(x, floatingIpScenarios);
    if (o.only.has('security-groups') && (o.sgs > 0 || o.sgRules > 0)) await section(x, securityGroupScenarios);
    if (o.only.has('address-groups') && o.addressGroups > 0) await section(x, addressGroupScenarios);
    if (o.only.has('auto-allocated-topology') && o.autoTopologies > 0) await section(x, autoTopologyScenarios);
  } finally {
    if (!o.keep) {
      for (const f of cleanup) {
        try {
          await f();
        } catch (err) {
          process.stderr.write(`cleanup: ${(err as Error).message}\n`);
        }
      }
    }
    c.close();
  }
}

/** Ports: single creates at concurrency, a bulk fill, lists, show/update, delete. */
async function portScenarios({ c, o, tag, cleanup, memberHeaders }: Scenario): Promise<void> {
  // One network with a /16 subnet.
  const net = (await c.call('POST', '/v2.0/networks', { network: { name: `bench-${tag}` } }, 201)).body.network;
  cleanup.push(() => c.call('DELETE', `/v2.0/networks/${net.id}`, undefined, 204));
  const subnet = (
    await c.call('POST', '/v2.0/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '10.96.0.0/16', name: `bench-${tag}` } }, 201)
  ).body.subnet;
  cleanup.unshift(() => c.call('DELETE', `/v2.0/subnets/${subnet.id}`, undefined, 204));
  const portIds: string[] = [];
  cleanup.unshift(async () => {
    if (portIds.length) await pool(portIds.length, o.concurrency, (i) => c.call('DELETE', `/v2.0/ports/${portIds[i]}`, undefined, 204));
  });

  // Floors of the write and show rows, measured now, on the same machine in the same state.
  let tx: { perS: number; ms: number } | undefined;
  let http: HttpFloor | undefined;
  if (o.floors) {
    tx = measureTxFloor(5000);
    http = await measureHttpFloor(o.concurrency, 5000, (endpoint) => {
      const fc = new Client(endpoint, {}, o.concurrency, false);
      return { get: () => fc.request('GET', '/'), close: () => fc.close() };
    });
    log(
      `floors: SQLite ${Math.round(tx.perS)} one-row transactions/s (WAL, synchronous NORMAL); Fastify ${Math.round(http.perS)} trivial requests/s at c=${o.concurrency}, ${http.cpuMs.toFixed(3)} ms CPU each`,
    );
  }
  /** A write's floor: Fastify's trivial request plus one one-row transaction. */
  const writeFloor = (res: Result) => {
    if (tx && http) againstFloor(res, http.cpuMs + tx.ms, `http ${http.cpuMs.toFixed(3)} + tx ${tx.ms.toFixed(3)}`);
  };
  const readFloor = (res: Result) => {
    if (http) againstFloor(res, http.cpuMs, `http ${http.cpuMs.toFixed(3)}`);
  };

  log(`ports: ${o.ports} single creates at c=${o.concurrency}`);
  let r = await pool(o.ports, o.concurrency, async (i) => {
    const x = await c.call('POST', '/v2.0/ports', { port: { network_id: net.id, name: `p${i}`, device_id: `dev-${tag}-${i % 50}` } }, 201);
    portIds.push(x.body.port.id);
    return x;
  });
  writeFloor(record(`port create (c=${o.concurrency})`, r.lat, r.wall));

  const fill = Math.max(0, o.listPorts - portIds.length);
  if (fill > 0) {
    const batches = Math.ceil(fill / o.bulkSize);
    log(`ports: filling up to ${o.listPorts} with ${batches} bulk creates of ${o.bulkSize}`);
    r = await pool(batches, 2, async (b) => {
      const n = Math.min(o.bulkSize, fill - b * o.bulkSize);
      const body = { ports: Array.from({ length: n }, (_, k) => ({ network_id: net.id, name: `b${b}-${k}`, device_id: `dev-${tag}-${k % 50}` })) };
      const x = await c.call('POST', '/v2.0/ports', body, 201);
      for (const p of x.body.ports) portIds.push(p.id);
      return x;
    });
    writeFloor(record(`port bulk create (${o.bulkSize}/req, c=2)`, r.lat, r.wall, { units: fill, note: 'per_s counts ports' }));
  }

  const total = portIds.length;
  if (o.listRuns > 0) log(`list ${total} ports, ${o.listRuns} runs each`);
  // The floor runs just before each list request, so that both meet the same load on the machine.
  const floor = o.floors && o.listRuns > 0 && serverDatabaseUrl ? await openListFloor(serverDatabaseUrl, net.id) : undefined;
  const list = async (name: string, path: string, extra?: Record<string, string>, against = true) => {
    if (o.listRuns === 0) return;
    const lat: number[] = [];
    const floorMs: number[] = [];
    let floorBody = '';
    let bytes = 0;
    let same = true;
    startPhase();
    for (let i = 0; i < o.listRuns; i++) {
      // The floor runs in this process (SQLite) or the database's: the server is idle meanwhile.
      if (floor && against) {
        const f = await floor.run();
        floorMs.push(f.ms);
        floorBody = f.body;
      }
      const x = await c.request('GET', path, undefined, extra);
      if (x.status !== 200) throw new Error(`GET ${path} -> ${x.status}: ${x.text.slice(0, 400)}`);
      const n = (JSON.parse(x.text) as { ports: unknown[] }).ports.length;
      if (n !== total) throw new Error(`GET ${path} returned ${n} ports, expected ${total}`);
      bytes = x.text.length;
      if (floorBody !== x.text) same = false;
      lat.push(x.ms);
    }
    // Whether the floor built the very body the server sent (the full list on SQLite should).
    const fms = floorMs.length
      ? pct(
          [...floorMs].sort((a, b) => a - b),
          50,
        )
      : undefined;
    if (fms !== undefined) {
      log(`  floor beside it: the database builds the list body itself in ${fms.toFixed(1)} ms (${(floorBody.length / 1e6).toFixed(1)} MB)`);
    }
    const sameNote = fms === undefined ? '' : same ? ', = floor body' : `, floor body ${(floorBody.length / 1e6).toFixed(1)} MB`;
    const res = record(
      name,
      lat,
      lat.reduce((a, b) => a + b, 0),
      { rate: false, note: `${(bytes / 1e6).toFixed(1)} MB${sameNote}` },
    );
    if (fms !== undefined) againstFloor(res, fms, `db json ${fms.toFixed(1)}`, res.p50_ms);
  };
  await list(`port list (${total}, full)`, `/v2.0/ports?network_id=${net.id}`);
  await list(`port list (${total}, fields=id)`, `/v2.0/ports?network_id=${net.id}&fields=id`, undefined, false);
  if (memberHeaders) await list(`port list (${total}, non-admin)`, `/v2.0/ports?network_id=${net.id}`, memberHeaders);
  if (!o.endpoint) await list(`port list (${total}, all)`, '/v2.0/ports', undefined, false);
  await floor?.close();

  const nOps = Math.min(o.ops, total);
  if (nOps > 0) {
    log(`ports: ${nOps} shows and updates at c=${o.concurrency}`);
    r = await pool(nOps, o.concurrency, (i) => c.call('GET', `/v2.0/ports/${portIds[i]}`, undefined, 200));
    readFloor(record(`port show (c=${o.concurrency})`, r.lat, r.wall));
    r = await pool(nOps, o.concurrency, (i) => c.call('PUT', `/v2.0/ports/${portIds[i]}`, { port: { name: `q${i}` } }, 200));
    writeFloor(record(`port update (c=${o.concurrency})`, r.lat, r.wall));
    r = await pool(50, o.concurrency, (i) => c.call('GET', `/v2.0/ports?device_id=dev-${tag}-${i % 50}`, undefined, 200));
    record(`port list by device_id (${Math.round(total / 50)} each)`, r.lat, r.wall);
  }

  if (!o.keep) {
    log(`ports: ${total} deletes at c=${o.concurrency}`);
    const ids = portIds.splice(0);
    r = await pool(ids.length, o.concurrency, (i) => c.call('DELETE', `/v2.0/ports/${ids[i]}`, undefined, 204));
    writeFloor(record(`port delete (c=${o.concurrency})`, r.lat, r.wall));
  }
}

/** Quotas the run lifts (those the server knows). */
const QUOTA_KEYS = ['network', 'subnet', 'port', 'router', 'floatingip', 'security_group', 'security_group_rule'];

interface Scenario {
  c: Client;
  o: Options;
  tag: string;
  /** Run at the end of the whole benchmark (unless --keep). */
  cleanup: Array<() => Promise<unknown>>;
  memberHeaders?: Record<string, string>;
}

/** What a section made, undone in reverse order when it ends (unless --keep). */
type Undo = Array<() => Promise<unknown>>;

async function section(x: Scenario, fn: (x: Scenario, undo: Undo) => Promise<void>): Promise<void> {
  const undo: Undo = [];
  try {
    await fn(x, undo);
  } finally {
    if (!x.o.keep) {
      for (const f of undo.reverse()) {
        try {
          await f();
        } catch (err) {
          process.stderr.write(`cleanup: ${(err as Error).message}\n`);
        }
      }
    }
  }
}

/** Runs `fn` at concurrency and records it, or (a warm-up) only runs it. */
async function measure(name: string | null, n: number, c: number, fn: (i: number) => Promise<{ ms: number }>): Promise<void> {
  const r = await pool(n, c, fn);
  if (name) record(name, r.lat, r.wall);
}

/** The median of `runs` GETs of a collection that must hold `expect` items. */
async function listMedian(x: Scenario, name: string, path: string, key: string, expect: number): Promise<void> {
  if (x.o.listRuns === 0) return;
  const lat: number[] = [];
  let bytes = 0;
  startPhase();
  for (let i = 0; i < x.o.listRuns; i++) {
    const r = await x.c.request('GET', path);
    if (r.status !== 200) throw new Error(`GET ${path} -> ${r.status}: ${r.text.slice(0, 400)}`);
    const n = (JSON.parse(r.text) as Record<string, unknown[]>)[key]!.length;
    if (n !== expect) throw new Error(`GET ${path} returned ${n} ${key}, expected ${expect}`);
    bytes = r.text.length;
    lat.push(r.ms);
  }
  record(
    name,
    lat,
    lat.reduce((a, b) => a + b, 0),
    { rate: false, note: `${(bytes / 1e6).toFixed(2)} MB` },
  );
}

/** An external network (admin) with a /16 without DHCP, for gateways and floating IPs. */
async function externalNetwork({ c, tag }: Scenario, undo: Undo, cidr: string): Promise<{ id: string }> {
  const ext = (await c.call('POST', '/v2.0/networks', { network: { name: `bench-${tag}-ext`, 'router:external': true } }, 201)).body.network;
  undo.push(() => c.call('DELETE', `/v2.0/networks/${ext.id}`, undefined, 204));
  const sn = (await c.call('POST', '/v2.0/subnets', { subnet: { network_id: ext.id, ip_version: 4, cidr, enable_dhcp: false } }, 201)).body.subnet;
  undo.push(() => c.call('DELETE', `/v2.0/subnets/${sn.id}`, undefined, 204));
  return ext;
}

/** Deletes whatever of `ids` is left (at the end of a section that failed half-way). */
const deleteLeft = (c: Client, collection: string, ids: Set<string>, conc: number) => async () => {
  const left = [...ids];
  await pool(left.length, conc, (i) => c.call('DELETE', `/v2.0/${collection}/${left[i]}`, undefined, 204));
};

/**
 * Routers: create, rename, add an interface by subnet, list, remove it, set a gateway, delete
 * (with its gateway port); then create with a gateway, clear the gateway and delete. Each
 * router gets a network with a /24 of its own.
 */
async function routerScenarios(x: Scenario, undo: Undo): Promise<void> {
  const { c, o, tag } = x;
  const n = o.routers;
  const k = o.concurrency;
  log(`routers (${n}, c=${k})`);
  const ext = await externalNetwork(x, undo, '100.64.0.0/16');
  // A network with a /24 per router, as projects usually have (not measured).
  const nets: string[] = new Array(n);
  const subnets: string[] = new Array(n);
  await pool(n, 2, async (i) => {
    const r = await c.call('POST', '/v2.0/networks', { network: { name: `bench-${tag}-rtr${i}` } }, 201);
    nets[i] = r.body.network.id;
    const cidr = `10.${128 + Math.floor(i / 256)}.${i % 256}.0/24`;
    const sn = await c.call('POST', '/v2.0/subnets', { subnet: { network_id: nets[i], ip_version: 4, cidr } }, 201);
    subnets[i] = sn.body.subnet.id;
    return { ms: r.ms + sn.ms };
  });
  undo.push(async () => {
    await pool(n, 2, (i) => (nets[i] ? c.call('DELETE', `/v2.0/networks/${nets[i]}`, undefined, 204) : Promise.resolve({ ms: 0 })));
  });
  const live = new Set<string>();
  undo.push(deleteLeft(c, 'routers', live, k));

  // One pass of everything, measured or (warm-up, on a few routers) not.
  const cycle = async (count: number, measured: boolean) => {
    const name = (s: string) => (measured ? s : null);
    const ids: string[] = new Array(count);
    await measure(name(`router create (c=${k})`), count, k, async (i) => {
      const r = await c.call('POST', '/v2.0/routers', { router: { name: `bench-${tag}-r${i}` } }, 201);
      ids[i] = r.body.router.id;
      live.add(ids[i]!);
      return r;
    });
    await measure(name(`router update (c=${k})`), count, k, (i) => c.call('PUT', `/v2.0/routers/${ids[i]}`, { router: { name: `u${i}` } }, 200));
    await measure(name(`router add_router_interface (c=${k})`), count, k, (i) =>
      c.call('PUT', `/v2.0/routers/${ids[i]}/add_router_interface`, { subnet_id: subnets[i] }, 200),
    );
    if (measured) await listMedian(x, `router list (${count})`, '/v2.0/routers', 'routers', count);
    await measure(name(`router remove_router_interface (c=${k})`), count, k, (i) =>
      c.call('PUT', `/v2.0/routers/${ids[i]}/remove_router_interface`, { subnet_id: subnets[i] }, 200),
    );
    await measure(name(`router gateway set (c=${k})`), count, k, (i) =>
      c.call('PUT', `/v2.0/routers/${ids[i]}`, { router: { external_gateway_info: { network_id: ext.id } } }, 200),
    );
    await measure(name(`router delete, with gateway (c=${k})`), count, k, async (i) => {
      const r = await c.call('DELETE', `/v2.0/routers/${ids[i]}`, undefined, 204);
      live.delete(ids[i]!);
      return r;
    });
    const gw: string[] = new Array(count);
    await measure(name(`router create, with gateway (c=${k})`), count, k, async (i) => {
      const r = await c.call('POST', '/v2.0/routers', { router: { name: `bench-${tag}-g${i}`, external_gateway_info: { network_id: ext.id } } }, 201);
      gw[i] = r.body.router.id;
      live.add(gw[i]!);
      return r;
    });
    await measure(name(`router gateway clear (c=${k})`), count, k, (i) =>
      c.call('PUT', `/v2.0/routers/${gw[i]}`, { router: { external_gateway_info: null } }, 200),
    );
    await measure(name(`router delete, no ports (c=${k})`), count, k, async (i) => {
      const r = await c.call('DELETE', `/v2.0/routers/${gw[i]}`, undefined, 204);
      live.delete(gw[i]!);
      return r;
    });
  };
  if (o.warmup > 0) await cycle(Math.min(n, 50), false);
  await cycle(n, true);
}

/**
 * Floating IPs on an external network: create (unassociated), associate with a port behind a
 * router, list, disassociate, delete.
 */
async function floatingIpScenarios(x: Scenario, undo: Undo): Promise<void> {
  const { c, o, tag } = x;
  const n = o.fips;
  const k = o.concurrency;
  log(`floating IPs (${n}, c=${k})`);
  const ext = await externalNetwork(x, undo, '100.65.0.0/16');
  const inet = (await c.call('POST', '/v2.0/networks', { network: { name: `bench-${tag}-fip` } }, 201)).body.network;
  undo.push(() => c.call('DELETE', `/v2.0/networks/${inet.id}`, undefined, 204));
  const sn = (await c.call('POST', '/v2.0/subnets', { subnet: { network_id: inet.id, ip_version: 4, cidr: '10.97.0.0/16' } }, 201)).body.subnet;
  undo.push(() => c.call('DELETE', `/v2.0/subnets/${sn.id}`, undefined, 204));
  const rtr = (await c.call('POST', '/v2.0/routers', { router: { name: `bench-${tag}-fip`, external_gateway_info: { network_id: ext.id } } }, 201))
    .body.router;
  undo.push(() => c.call('DELETE', `/v2.0/routers/${rtr.id}`, undefined, 204));
  await c.call('PUT', `/v2.0/routers/${rtr.id}/add_router_interface`, { subnet_id: sn.id }, 200);
  undo.push(() => c.call('PUT', `/v2.0/routers/${rtr.id}/remove_router_interface`, { subnet_id: sn.id }, 200));
  const ports: string[] = [];
  await pool(Math.ceil(n / 100), 1, async (b) => {
    const count = Math.min(100, n - b * 100);
    const r = await c.call(
      'POST',
      '/v2.0/ports',
      { ports: Array.from({ length: count }, (_, j) => ({ network_id: inet.id, name: `f${b}-${j}` })) },
      201,
    );
    for (const p of r.body.ports) ports.push(p.id);
    return r;
  });
  undo.push(async () => {
    await pool(ports.length, k, (i) => c.call('DELETE', `/v2.0/ports/${ports[i]}`, undefined, 204));
  });
  const live = new Set<string>();
  undo.push(deleteLeft(c, 'floatingips', live, k));

  const cycle = async (count: number, measured: boolean) => {
    const name = (s: string) => (measured ? s : null);
    const ids: string[] = new Array(count);
    await measure(name(`floating IP create (c=${k})`), count, k, async (i) => {
      const r = await c.call('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext.id } }, 201);
      ids[i] = r.body.floatingip.id;
      live.add(ids[i]!);
      return r;
    });
    await measure(name(`floating IP associate (c=${k})`), count, k, (i) =>
      c.call('PUT', `/v2.0/floatingips/${ids[i]}`, { floatingip: { port_id: ports[i] } }, 200),
    );
    if (measured) await listMedian(x, `floating IP list (${count})`, '/v2.0/floatingips', 'floatingips', count);
    await measure(name(`floating IP disassociate (c=${k})`), count, k, (i) =>
      c.call('PUT', `/v2.0/floatingips/${ids[i]}`, { floatingip: { port_id: null } }, 200),
    );
    await measure(name(`floating IP delete (c=${k})`), count, k, async (i) => {
      const r = await c.call('DELETE', `/v2.0/floatingips/${ids[i]}`, undefined, 204);
      live.delete(ids[i]!);
      return r;
    });
  };
  if (o.warmup > 0) await cycle(Math.min(n, 100), false);
  await cycle(n, true);
}

/**
 * Security groups: create groups, create rules spread over them (each a distinct TCP port),
 * list rules and groups, delete rules, delete groups.
 */
async function securityGroupScenarios(x: Scenario, undo: Undo): Promise<void> {
  const { c, o, tag } = x;
  const k = o.concurrency;
  const g = Math.max(1, o.sgs);
  log(`security groups (${g}) and rules (${o.sgRules}), c=${k}`);
  // The project's default group (and its 4 rules) exists from here on.
  await c.call('GET', '/v2.0/security-groups?name=default', undefined, 200);
  const live = new Set<string>();
  undo.push(deleteLeft(c, 'security-groups', live, k));

  const cycle = async (groups: number, rules: number, measured: boolean) => {
    const name = (s: string) => (measured ? s : null);
    const ids: string[] = new Array(groups);
    await measure(name(`security group create (c=${k})`), groups, k, async (i) => {
      const r = await c.call('POST', '/v2.0/security-groups', { security_group: { name: `bench-${tag}-sg${i}` } }, 201);
      ids[i] = r.body.security_group.id;
      live.add(ids[i]!);
      return r;
    });
    const ruleIds: string[] = new Array(rules);
    await measure(name(`security group rule create (c=${k})`), rules, k, async (i) => {
      const port = 1 + Math.floor(i / groups);
      const r = await c.call(
        'POST',
        '/v2.0/security-group-rules',
        {
          security_group_rule: {
            security_group_id: ids[i % groups],
            direction: 'ingress',
            ethertype: 'IPv4',
            protocol: 'tcp',
            port_range_min: port,
            port_range_max: port,
            remote_ip_prefix: '192.0.2.0/24',
          },
        },
        201,
      );
      ruleIds[i] = r.body.security_group_rule.id;
      return r;
    });
    if (measured) {
      // Every rule of the project: these, two egress rules per group, the default group's four.
      const all = rules + 2 * groups + 4;
      await listMedian(x, `security group rule list (${all})`, '/v2.0/security-group-rules', 'security_group_rules', all);
      await listMedian(x, `security group list (${groups + 1})`, '/v2.0/security-groups', 'security_groups', groups + 1);
    }
    await measure(name(`security group rule delete (c=${k})`), rules, k, (i) =>
      c.call('DELETE', `/v2.0/security-group-rules/${ruleIds[i]}`, undefined, 204),
    );
    await measure(name(`security group delete (c=${k})`), groups, k, async (i) => {
      const r = await c.call('DELETE', `/v2.0/security-groups/${ids[i]}`, undefined, 204);
      live.delete(ids[i]!);
      return r;
    });
  };
  if (o.warmup > 0) await cycle(Math.min(g, 10), Math.min(o.sgRules, 200), false);
  await cycle(g, o.sgRules, true);
}
/**
 * Address groups: create groups (each with 4 CIDRs), add addresses one request at a time spread
 * over them (each a distinct /32: the group's row lock orders the writes), list, remove them,
 * delete the groups.
 */
async function addressGroupScenarios(x: Scenario, undo: Undo): Promise<void> {
  const { c, o, tag } = x;
  const k = o.concurrency;
  const g = o.addressGroups;
  log(`address groups (${g}) and addresses (${o.agAddresses}), c=${k}`);
  const live = new Set<string>();
  undo.push(deleteLeft(c, 'address-groups', live, k));
  const host = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32`;
  const cycle = async (groups: number, addresses: number, measured: boolean) => {
    const name = (s: string) => (measured ? s : null);
    const ids: string[] = new Array(groups);
    await measure(name(`address group create (c=${k})`), groups, k, async (i) => {
      const addrs = [0, 1, 2, 3].map((j) => `192.0.${(i * 4 + j) % 256}.0/24`);
      const r = await c.call('POST', '/v2.0/address-groups', { address_group: { name: `bench-${tag}-ag${i}`, addresses: addrs } }, 201);
      ids[i] = r.body.address_group.id;
      live.add(ids[i]!);
      return r;
    });
    await measure(name(`address group add_addresses (c=${k})`), addresses, k, (i) =>
      c.call('PUT', `/v2.0/address-groups/${ids[i % groups]}/add_addresses`, { addresses: [host(i)] }, 200),
    );
    if (measured) await listMedian(x, `address group list (${groups})`, '/v2.0/address-groups', 'address_groups', groups);
    await measure(name(`address group remove_addresses (c=${k})`), addresses, k, (i) =>
      c.call('PUT', `/v2.0/address-groups/${ids[i % groups]}/remove_addresses`, { addresses: [host(i)] }, 200),
    );
    await measure(name(`address group delete (c=${k})`), groups, k, async (i) => {
      const r = await c.call('DELETE', `/v2.0/address-groups/${ids[i]}`, undefined, 204);
      live.delete(ids[i]!);
      return r;
    });
  };
  if (o.warmup > 0) await cycle(Math.min(g, 10), Math.min(o.agAddresses, 200), false);
  await cycle(g, o.agAddresses, true);
}

/**
 * Get-me-a-network: a default external network (with a subnet) and a default IPv4 subnet pool,
 * then per project `GET /v2.0/auto-allocated-topology/{project}`, which builds its network, subnet
 * from the pool and router with gateway and interface in one request; asked again it only finds
 * them; `fields=dry-run` checks the prerequisites; DELETE takes the topology down.
 */
async function autoTopologyScenarios(x: Scenario, undo: Undo): Promise<void> {
  const { c, o, tag } = x;
  const k = Math.min(o.concurrency, 4);
  const n = o.autoTopologies;
  log(`auto-allocated topologies (${n}), c=${k}`);
  const ext = (await c.call('POST', '/v2.0/networks', { network: { name: `bench-${tag}-public`, 'router:external': true, is_default: true } }, 201))
    .body.network;
  undo.push(() => c.call('DELETE', `/v2.0/networks/${ext.id}`, undefined, 204));
  await c.call('POST', '/v2.0/subnets', { subnet: { network_id: ext.id, ip_version: 4, cidr: '100.64.0.0/16' } }, 201);
  const pool4 = (
    await c.call(
      'POST',
      '/v2.0/subnetpools',
      { subnetpool: { name: `bench-${tag}-default-v4`, prefixes: ['10.128.0.0/12'], default_prefixlen: 26, shared: true, is_default: true } },
      201,
    )
  ).body.subnetpool;
  undo.push(() => c.call('DELETE', `/v2.0/subnetpools/${pool4.id}`, undefined, 204));
  const live = new Set<string>();
  undo.push(async () => {
    await pool(live.size, k, (i) => c.call('DELETE', `/v2.0/auto-allocated-topology/${[...live][i]}`, undefined, 204));
  });
  const projects = (count: number) => Array.from({ length: count }, () => randomUUID().replaceAll('-', ''));
  const cycle = async (ps: string[], measured: boolean) => {
    const name = (s: string) => (measured ? s : null);
    const path = (i: number) => `/v2.0/auto-allocated-topology/${ps[i]}`;
    await measure(name(`auto-allocated topology dry-run (c=${k})`), ps.length, k, (i) => c.call('GET', `${path(i)}?fields=dry-run`, undefined, 200));
    await measure(name(`auto-allocated topology create (c=${k})`), ps.length, k, async (i) => {
      const r = await c.call('GET', path(i), undefined, 200);
      live.add(ps[i]!);
      return r;
    });
    await measure(name(`auto-allocated topology show (c=${k})`), ps.length, k, (i) => c.call('GET', path(i), undefined, 200));
    await measure(name(`auto-allocated topology delete (c=${k})`), ps.length, k, async (i) => {
      const r = await c.call('DELETE', path(i), undefined, 204);
      live.delete(ps[i]!);
      return r;
    });
  };
  if (o.warmup > 0) await cycle(projects(Math.min(n, 3)), false);
  await cycle(projects(n), true);
}

function table(rows: Result[]): string {
  const head = ['operation', 'n', 'per s', 'p50 ms', 'p95 ms', 'p99 ms', 'srv cpu ms', 'floor (ms)', 'x floor', 'note'];
  const body = rows.map((r) => [
    r.op,
    String(r.n),
    r.per_s === null ? '' : r.per_s.toFixed(1),
    r.p50_ms.toFixed(2),
    r.p95_ms.toFixed(2),
    r.p99_ms.toFixed(2),
    r.server_cpu_ms === undefined ? '' : r.server_cpu_ms.toFixed(2),
    r.floor ?? '',
    r.x_floor === undefined ? '' : `${r.x_floor.toFixed(2)}x`,
    r.note ?? '',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [fmt(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(fmt)].join('\n');
}

/** The server's request counters grew by what was sent; a mismatch fails the run when no one else uses the server. */
async function checkMetrics(endpoint: string, before: Map<string, number> | null, ownServer: boolean): Promise<void> {
  const after = before && (await scrapeRequestCounts(endpoint));
  if (!before || !after) return log('metrics: the server serves no /metrics; not checked');
  const problems = compareCounts(sent, before, after);
  const total = [...sent.counts.values()].reduce((a, b) => a + b, 0);
  if (problems.length === 0) return log(`metrics: the server counted the ${total} requests sent, by resource, method and status`);
  log(`metrics: counters differ from the ${total} requests sent:\n  ${problems.join('\n  ')}`);
  if (ownServer) process.exitCode = 1;
}

async function main(): Promise<void> {
  const o = optionsFrom(process.argv.slice(2));
  quiet = o.quiet;
  showProgress = o.progress || (!o.quiet && Boolean(process.stderr.isTTY));
  let server: Started | undefined;
  let stopping = false;
  const onSignal = async (sig: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    await server?.stop();
    process.kill(process.pid, sig);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    if (!o.endpoint) {
      server = await startServer(o.serverNodeArgs, o.serverRoot, o.database);
      serverPid = server.pid;
      serverDatabaseUrl = server.databaseUrl;
      log(`started neutrino aio at ${server.endpoint} (${o.database ? server.databaseUrl.split(':')[0] : 'SQLite'}, no-auth)`);
    }
    const endpoint = o.endpoint ?? server!.endpoint;
    const t0 = performance.now();
    const countedBefore = await scrapeRequestCounts(endpoint);
    await run(o, endpoint);
    await checkMetrics(endpoint, countedBefore, !o.endpoint);
    const summary = {
      endpoint: o.endpoint ?? `neutrino aio (${o.database ? o.database.split(':')[0] : 'SQLite'}, started by the benchmark)`,
      node: process.version,
      concurrency: o.concurrency,
      ports: o.ports,
      list_ports: o.listPorts,
      routers: o.routers,
      fips: o.fips,
      sgs: o.sgs,
      sg_rules: o.sgRules,
      address_groups: o.addressGroups,
      ag_addresses: o.agAddresses,
      only: [...o.only],
      total_s: round((performance.now() - t0) / 1000, 1),
      results,
    };
    process.stdout.write(`\n${summary.endpoint}, concurrency ${o.concurrency}, ${summary.total_s} s\n${table(results)}\n`);
    if (o.json) writeFileSync(o.json, JSON.stringify(summary, null, 2) + '\n');
  } finally {
    stopping = true;
    await server?.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`api-bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});

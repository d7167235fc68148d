// DHCP agent benchmark (needs root): a burst of port creates, then of deletes, on a network that
// already has many ports, with the real DHCP agent and dnsmasq. Prints figures; asserts nothing.
//
//   npm run bench:dhcp -- [--ports 10000] [--creates 2000] [--concurrency 16] [--json FILE]
//
// A `neutrino server` child process (PostgreSQL, noauth, one process: api_workers 1, rpc_workers
// 0, so its CPU is the API's and the RPC server's together) on a fresh database and RabbitMQ
// vhost, and `neutrino agent dhcp` as a second child process (its host side in a namespace of the
// bench's own). The network gets --ports ports by bulk creates before the agent starts; once
// dnsmasq's hosts file holds them all, --creates ports are created one by one at --concurrency,
// then deleted the same way. For each burst: the RPC calls the server handled for the agent
// (get_network_info: every port of the network each time), the CPU seconds of the server, the
// agent (with the `ip` commands it waited for) and dnsmasq, the time the API took, and the time
// until the hosts file holds (or no longer holds) every port of the burst, with the per-port
// latency from the API's answer to the hosts file (polled every 100 ms).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { parseOptions } from '../src/config/command-line.js';
import { waitFor } from './wait.js';
import { freePort, pct, pool, request } from './http-client.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'neutrino');
const PG_URL = process.env.NEUTRINO_TEST_PG ?? 'postgresql://postgres@127.0.0.1:5432/test';
const RABBIT = process.env.NEUTRINO_TEST_RABBIT ?? 'rabbit://guest:guest@127.0.0.1:5672/';
const USAGE = 'usage: npm run bench:dhcp -- [--ports 10000] [--creates 2000] [--concurrency 16] [--json FILE]   (as root)';

const { values: v } = parseOptions(
  process.argv.slice(2),
  {
    ports: { type: 'string' },
    creates: { type: 'string' },
    concurrency: { type: 'string' },
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
if (process.getuid?.() !== 0) throw new Error(`the DHCP agent needs root\n${USAGE}`);
const PORTS = Number(v.ports ?? 10_000);
const CREATES = Number(v.creates ?? 2_000);
const CONCURRENCY = Number(v.concurrency ?? 16);
const log = (s: string) => process.stderr.write(`${s}\n`);

/** CPU seconds of a process (with the children it waited for: the agent's `ip` commands). */
function cpuSeconds(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // Fields 14-17 (utime, stime, cutime, cstime), counted from the state (field 3) at index 0.
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
  } catch {
    return 0;
  }
}

/** The server's handled RPC messages per method, from its /metrics. */
async function rpcHandled(base: string): Promise<Map<string, number>> {
  const text = (await request(base, 'GET', '/metrics')).body as string;
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^neutrino_rpc_handled_total\{([^}]*)\} (\S+)$/gm)) {
    const method = /method="([^"]+)"/.exec(m[1]!)?.[1];
    if (method) out.set(method, (out.get(method) ?? 0) + Number(m[2]));
  }
  return out;
}

const id = randomBytes(3).toString('hex');
const dir = mkdtempSync(join(tmpdir(), 'neutrino-dhcp-bench-'));
chmodSync(dir, 0o755); // dnsmasq reads its files as 'nobody'
const vhost = `neutrino_dhcp_bench_${id}`;
const dbName = `neutrino_dhcp_bench_${id}`;
const hostNs = `db${id}`;
const procs: ChildProcess[] = [];
let networkId = '';
/** 503 answers (retried): the server's database pool ran dry. */
let unavailable = 0;

async function teardown(): Promise<void> {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGTERM');
  await Promise.all(procs.map((p) => p.exitCode === null && new Promise((r) => p.once('exit', r))));
  for (const ns of [hostNs, ...(networkId ? [`qdhcp-${networkId}`] : [])]) {
    try {
      for (const p of execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split('\n').filter(Boolean)) process.kill(Number(p), 'SIGKILL');
      execFileSync('ip', ['netns', 'delete', ns]);
    } catch {}
  }
  try {
    execFileSync('rabbitmqctl', ['-q', 'delete_vhost', vhost]);
  } catch {}
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  await c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await c.end();
  rmSync(dir, { recursive: true, force: true });
}

interface Burst {
  op: string;
  n: number;
  apiSeconds: number;
  /** From the burst's first request until the hosts file had every port of it (or none, for deletes). */
  hostsSeconds: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  rpc: Record<string, number>;
  serverCpu: number;
  agentCpu: number;
  dnsmasqCpu: number;
}

async function main(): Promise<void> {
  execFileSync('rabbitmqctl', ['-q', 'add_vhost', vhost]);
  execFileSync('rabbitmqctl', ['-q', 'set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*']);
  const transport = `${RABBIT.replace(/\/[^/]*$/, '')}/${vhost}`;
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  await c.query(`CREATE DATABASE ${dbName}`);
  await c.end();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const conf = join(dir, 'neutron.conf');
  writeFileSync(
    conf,
    [
      '[DEFAULT]',
      'bind_host = 127.0.0.1',
      `bind_port = ${port}`,
      `state_path = ${dir}`,
      `transport_url = ${transport}`,
      'auth_strategy = noauth',
      'api_workers = 1',
      'rpc_workers = 0',
      '[database]',
      `connection = ${PG_URL.replace(/\/[^/]*$/, `/${dbName}`)}`,
      '[quotas]',
      'quota_port = -1',
      '',
    ].join('\n'),
  );
  const server = spawn(BIN, ['server', '--config-file', conf], { stdio: ['ignore', 'ignore', 'inherit'] });
  procs.push(server);
  await waitFor('the server', async () => (await fetch(`${base}/`).catch(() => null))?.ok ?? false, 180_000, 250);

  const api = async (method: string, path: string, body?: unknown) => {
    for (;;) {
      const r = await request(base, method, path, body);
      // A loaded machine: the database pool's wait ran out. Counted, and asked again.
      if (r.status === 503) {
        unavailable++;
        continue;
      }
      if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    }
  };
  networkId = (await api('POST', '/v2.0/networks', { network: { name: `dhcp-bench-${id}` } })).network.id;
  await api('POST', '/v2.0/subnets', { subnet: { network_id: networkId, cidr: '10.96.0.0/16', ip_version: 4 } });
  const t0 = performance.now();
  for (let done = 0; done < PORTS; done += 1000) {
    const n = Math.min(1000, PORTS - done);
    await api('POST', '/v2.0/ports', { ports: Array.from({ length: n }, () => ({ network_id: networkId, device_owner: 'compute:bench' })) });
  }
  log(`# ${PORTS} ports made in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  execFileSync('ip', ['netns', 'add', hostNs]);
  const agentConf = join(dir, 'dhcp-agent.ini');
  writeFileSync(
    agentConf,
    ['[DEFAULT]', `transport_url = ${transport}`, `state_path = ${join(dir, 'agent')}`, `host = dhcp-bench-${id}`, ''].join('\n'),
  );
  const agent = spawn(BIN, ['agent', 'dhcp', '--config-file', agentConf, '--netns', hostNs], { stdio: ['ignore', 'ignore', 'inherit'] });
  procs.push(agent);
  const hostsFile = join(dir, 'agent', 'dhcp', networkId, 'hosts');
  const hosts = () => {
    try {
      return readFileSync(hostsFile, 'utf8');
    } catch {
      return '';
    }
  };
  const t1 = performance.now();
  await waitFor('the agent serving every port', async () => hosts().split('\n').length > PORTS, 300_000, 250);
  log(`# the agent's first sync: ${((performance.now() - t1) / 1000).toFixed(1)} s`);
  const dnsmasqPid = await waitFor(
    "dnsmasq's pid file",
    async () => {
      try {
        return Number(readFileSync(join(dir, 'agent', 'dhcp', networkId, 'pid'), 'utf8').trim());
      } catch {
        return 0;
      }
    },
    30_000,
    100,
  );
  await new Promise((r) => setTimeout(r, 2_000)); // its last passes settle

  const bursts: Burst[] = [];
  const burst = async (op: 'create' | 'delete', ids: string[], macs: string[]): Promise<void> => {
    const rpc0 = await rpcHandled(base);
    const cpu0 = [cpuSeconds(server.pid!), cpuSeconds(agent.pid!), cpuSeconds(dnsmasqPid)];
    const start = performance.now();
    const answered = new Map<string, number>(); // MAC → when the API answered
    const seen: number[] = [];
    let polling = true;
    const poller = (async () => {
      for (;;) {
        const done = !polling; // read before the file: every answer before this is in `answered`
        const text = hosts();
        const now = performance.now();
        for (const [mac, at] of answered) {
          if (text.includes(mac) === (op === 'create')) {
            seen.push(now - at);
            answered.delete(mac);
          }
        }
        if (done && !answered.size) break;
        if (now - start > 600_000) throw new Error(`${op}: ${answered.size} ports never reached the hosts file`);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const apiMs = await pool(ids.length || CREATES, CONCURRENCY, async (i) => {
      if (op === 'create') {
        const p = (await api('POST', '/v2.0/ports', { port: { network_id: networkId, device_owner: 'compute:bench' } })).port;
        ids.push(p.id);
        macs.push(p.mac_address);
        answered.set(p.mac_address, performance.now());
      } else {
        await api('DELETE', `/v2.0/ports/${ids[i]}`);
        answered.set(macs[i]!, performance.now());
      }
    });
    polling = false;
    await poller;
    const hostsMs = performance.now() - start;
    await new Promise((r) => setTimeout(r, 2_000)); // passes and RPC still under way count too
    const rpc1 = await rpcHandled(base);
    const cpu1 = [cpuSeconds(server.pid!), cpuSeconds(agent.pid!), cpuSeconds(dnsmasqPid)];
    const rpc: Record<string, number> = {};
    for (const m of ['get_network_info', 'get_active_networks_info', 'dhcp_ready_on_ports', 'create_dhcp_port', 'update_dhcp_port'])
      rpc[m] = (rpc1.get(m) ?? 0) - (rpc0.get(m) ?? 0);
    bursts.push({
      op,
      n: op === 'create' ? ids.length : macs.length,
      apiSeconds: apiMs / 1000,
      hostsSeconds: hostsMs / 1000,
      latencyP50Ms: Math.round(pct(seen, 50)),
      latencyP99Ms: Math.round(pct(seen, 99)),
      rpc,
      serverCpu: cpu1[0]! - cpu0[0]!,
      agentCpu: cpu1[1]! - cpu0[1]!,
      dnsmasqCpu: cpu1[2]! - cpu0[2]!,
    });
  };
  const ids: string[] = [];
  const macs: string[] = [];
  await burst('create', ids, macs);
  await burst('delete', ids, macs);

  console.log(`DHCP agent, ${CREATES} ports created then deleted at concurrency ${CONCURRENCY} on a network of ${PORTS} ports`);
  console.log(
    'op      n     api s  hosts s  lat p50 ms  lat p99 ms  get_network_info  dhcp_ready_on_ports  server CPU s  agent CPU s  dnsmasq CPU s',
  );
  for (const b of bursts)
    console.log(
      [
        b.op.padEnd(7),
        String(b.n).padEnd(5),
        b.apiSeconds.toFixed(1).padStart(6),
        b.hostsSeconds.toFixed(1).padStart(8),
        String(b.latencyP50Ms).padStart(11),
        String(b.latencyP99Ms).padStart(11),
        String(b.rpc.get_network_info).padStart(17),
        String(b.rpc.dhcp_ready_on_ports).padStart(20),
        b.serverCpu.toFixed(1).padStart(13),
        b.agentCpu.toFixed(1).padStart(12),
        b.dnsmasqCpu.toFixed(1).padStart(14),
      ].join(' '),
    );
  if (unavailable) console.log(`(${unavailable} requests answered 503 and were sent again)`);
  if (v.json) writeFileSync(v.json, JSON.stringify({ ports: PORTS, creates: CREATES, concurrency: CONCURRENCY, bursts }, null, 2));
}

const onSignal = () => void teardown().finally(() => process.exit(130));
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);
try {
  await main();
} finally {
  await teardown();
}

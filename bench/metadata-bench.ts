// Metadata agent benchmark (no root): the API server on SQLite, the in-memory RPC bus and the
// metadata agent in this process, a stand-in for Nova's metadata API on loopback; requests go to
// the agent's Unix socket with the headers a namespace proxy adds. Prints figures; asserts nothing.
//
//   npm run bench:metadata -- [--ports 200] [--requests 2000] [--concurrency 16]
//
// (a) latency of one request at a time, with the lookup cached (the instance asked a moment
//     ago: how cloud-init asks) and uncached (a cache TTL of 0: two get_ports calls each);
// (b) throughput with --concurrency requests in flight, over --ports instances.
// The full chain in namespaces (haproxy, curl in a VM) is measured by the root e2e tests
// (test/e2e/metadata-*.root.test.ts print their figures).
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/index.js';
import { createServer } from '../src/server/neutron-server.js';
import { MemoryBroker, MemoryBus, silentLogger } from '../src/rpc/index.js';
import { MetadataAgent } from '../src/agents/metadata/agent.js';
import { intOption, parseOptions } from '../src/config/command-line.js';

const USAGE = `usage: node dist/bench/metadata-bench.js [--ports N] [--requests N] [--concurrency N]`;
const { values } = parseOptions(
  process.argv.slice(2),
  { ports: { type: 'string' }, requests: { type: 'string' }, concurrency: { type: 'string' } } as const,
  USAGE,
  (m) => new Error(m),
);
const PORTS = intOption(values.ports, 'ports', 1, 200);
const REQUESTS = intOption(values.requests, 'requests', 1, 2000);
const CONCURRENCY = intOption(values.concurrency, 'concurrency', 1, 16);

const dir = mkdtempSync(join(tmpdir(), 'neutrino-md-bench-'));
const broker = new MemoryBroker();
const serverBus = new MemoryBus({ broker, logger: silentLogger });
const cfg = loadConfig([], { DEFAULT: { state_path: join(dir, 'server'), auth_strategy: 'noauth' } });
const server = await createServer(cfg, { bus: serverBus });
const nova = http.createServer((req, res) =>
  res.writeHead(200, { 'content-type': 'application/json' }).end(`{"uuid":"${req.headers['x-instance-id']}"}`),
);
await new Promise<void>((r) => nova.listen(0, '127.0.0.1', () => r()));
const novaPort = (nova.address() as { port: number }).port;

const call = async (method: string, url: string, body: unknown) => {
  const r = await server.app.inject({
    method: method as 'POST',
    url,
    payload: body as object,
    headers: { 'x-project-id': 'bench', 'x-roles': 'admin' },
  });
  if (r.statusCode >= 300) throw new Error(`${method} ${url}: ${r.statusCode} ${r.body}`);
  return r.json();
};
const net = (await call('POST', '/v2.0/networks', { network: { name: 'md-bench' } })).network;
await call('POST', '/v2.0/subnets', { subnet: { network_id: net.id, cidr: '10.0.0.0/16', ip_version: 4 } });
const ips: string[] = [];
for (let i = 0; i < PORTS; i++) {
  const p = (await call('POST', '/v2.0/ports', { port: { network_id: net.id, device_id: `instance-${i}` } })).port;
  ips.push(p.fixed_ips[0].ip_address);
}

async function withAgent<T>(cacheTtl: number, name: string, f: (socket: string) => Promise<T>): Promise<T> {
  const socket = join(dir, `${name}.sock`);
  const bus = new MemoryBus({ broker, logger: silentLogger });
  const agent = new MetadataAgent({
    bus,
    host: 'bench',
    socketPath: socket,
    novaHost: '127.0.0.1',
    novaPort,
    novaProtocol: 'http',
    sharedSecret: 'bench',
    reportInterval: 0,
    cacheTtl,
  });
  await agent.start();
  try {
    return await f(socket);
  } finally {
    await agent.stop();
    await bus.close();
  }
}

const keepAlive = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
function get(socket: string, ip: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        socketPath: socket,
        path: '/openstack/latest/meta_data.json',
        agent: keepAlive,
        headers: { 'X-Neutron-Network-ID': net.id, 'X-Forwarded-For': ip },
      },
      (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve(200) : reject(new Error(`status ${res.statusCode}`))));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
async function sequential(socket: string, n: number): Promise<string> {
  const t: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await get(socket, ips[i % Math.min(ips.length, 5)]!);
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  return `p50 ${pct(t, 0.5).toFixed(2)} ms, p90 ${pct(t, 0.9).toFixed(2)} ms, p99 ${pct(t, 0.99).toFixed(2)} ms`;
}

const cached = await withAgent(5, 'cached', (s) => sequential(s, 500));
const uncached = await withAgent(0, 'uncached', (s) => sequential(s, 300));
const throughput = await withAgent(5, 'throughput', async (s) => {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < REQUESTS) await get(s, ips[next++ % ips.length]!);
    }),
  );
  return (REQUESTS / ((performance.now() - t0) / 1000)).toFixed(0);
});
process.stdout.write(
  [
    `metadata agent, one request at a time, lookup cached:   ${cached}`,
    `metadata agent, one request at a time, lookup uncached: ${uncached}`,
    `metadata agent, ${CONCURRENCY} in flight over ${PORTS} instances: ${throughput} requests/s`,
    '',
  ].join('\n'),
);
keepAlive.destroy();
await new Promise((r) => nova.close(r));
await server.close();
await serverBus.close();
rmSync(dir, { recursive: true, force: true });

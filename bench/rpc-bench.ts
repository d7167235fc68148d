// The RPC bus on a real RabbitMQ: sequential calls (each awaits its reply), sequential fanouts
// (each awaits its publisher confirm and, as oslo's layout needs, its exchange declaration) and
// a burst of concurrent fanouts, each until every message reached the consumer. Everything is
// named after a per-run exchange and topic, and deleted at the end.
//
//   node dist/bench/rpc-bench.js [--url rabbit://guest:guest@127.0.0.1:5672/] [--n 2000]
import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import { createBus, parseTransportUrl, silentLogger } from '../src/rpc/index.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : def;
}
const URL_ = arg('url', process.env.NEUTRINO_TEST_RABBIT ?? 'rabbit://guest:guest@127.0.0.1:5672/');
const N = Number(arg('n', '2000'));
const id = randomBytes(4).toString('hex');
const exchange = `neutrino_bench_${id}`;
const topic = `bench_${id}`;

const bus = createBus(URL_, { controlExchange: exchange, logger: silentLogger });
let got = 0;
await bus.serve(topic, 'bench-host', { note: () => void got++, ping: () => 'pong' });

const untilAll = async () => {
  while (got < N) await new Promise((r) => setTimeout(r, 5));
};
const line = (what: string, ms: number) => console.log(`${what.padEnd(34)} ${Math.round(ms)} ms total, ${((ms / N) * 1000).toFixed(0)} µs each`);

let t0 = performance.now();
for (let i = 0; i < N; i++) await bus.call(topic, 'ping');
line(`${N} sequential calls`, performance.now() - t0);

got = 0;
t0 = performance.now();
for (let i = 0; i < N; i++) await bus.fanout(topic, 'note', { i });
await untilAll();
line(`${N} sequential fanouts`, performance.now() - t0);

got = 0;
t0 = performance.now();
await Promise.all(Array.from({ length: N }, (_, i) => bus.fanout(topic, 'note', { i })));
await untilAll();
line(`${N} concurrent fanouts`, performance.now() - t0);

await bus.close();
const u = parseTransportUrl(URL_);
const h = u.hosts[0]!;
const c = await amqp.connect({ hostname: h.hostname, port: h.port, username: h.username, password: h.password, vhost: u.virtualHost });
const ch = await c.createChannel();
for (const q of [topic, `${topic}.bench-host`]) await ch.deleteQueue(q);
await ch.deleteExchange(exchange);
await c.close();

// RabbitMQ for the RPC tests: availability (skip loudly outside CI, fail in CI), a harness that
// names everything after a per-run id and deletes it afterwards, the broker-side connection
// kill (rabbitmqctl) and a TCP proxy that can cut and refuse connections like a network would.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import { AmqpBus, createBus, parseTransportUrl, silentLogger, type AmqpBusOptions, type RpcBus } from '../../src/rpc/index.js';
import type { BusHarness } from './suite.js';

export const RABBIT_URL = process.env.NEUTRINO_TEST_RABBIT ?? 'rabbit://guest:guest@127.0.0.1:5672/';
const run = promisify(execFile);

/** The broker as amqplib wants it (first host of RABBIT_URL). */
function amqplibOptions(): amqp.Options.Connect {
  const u = parseTransportUrl(RABBIT_URL);
  const h = u.hosts[0]!;
  return { hostname: h.hostname, port: h.port, username: h.username, password: h.password, vhost: u.virtualHost };
}

async function unavailable(): Promise<string | null> {
  try {
    // Refused at once when absent; slow only on a loaded machine (see backends.ts).
    const c = await amqp.connect(amqplibOptions(), { timeout: 20_000 });
    await c.close();
    return null;
  } catch (e) {
    return `RabbitMQ at ${RABBIT_URL.replace(/:[^:@/]*@/, ':***@')}: ${(e as Error).message}`;
  }
}

/** node:test `skip` value: false to run, a reason to skip; throws in CI. */
export async function skipUnlessRabbit(): Promise<false | string> {
  const why = await unavailable();
  if (!why) return false;
  if (process.env.CI) throw new Error(`RabbitMQ required in CI but unavailable: ${why}`);
  console.error(`\n!!! SKIPPING RabbitMQ RPC tests: ${why} (this would FAIL in CI) !!!\n`);
  return why;
}

export const runId = randomBytes(4).toString('hex');

export interface RabbitHarness extends BusHarness {
  readonly exchange: string;
  /** A bus with extra options (another URL, e.g. through the proxy). */
  busWith(opts: AmqpBusOptions & { url?: string; name?: string }): Promise<AmqpBus>;
  readonly connectionPrefix: string;
  /** Runs raw amqplib operations on the broker (setting up odd states). */
  rawChannel(fn: (ch: amqp.Channel) => Promise<void>): Promise<void>;
}

/**
 * Buses on a control exchange of their own; every topic carries the run id. close() closes
 * the buses, then deletes what RabbitMQ keeps by design: the queues `<topic>` /
 * `<topic>.<host>` they served, the `<topic>_fanout` exchanges and the control exchange.
 */
export async function rabbitHarness(label: string): Promise<RabbitHarness> {
  const exchange = `neutrino_test_${runId}_${label}`;
  const connectionPrefix = `neutrino-test-${runId}-${label}`;
  const buses: RpcBus[] = [];
  const queues = new Set<string>();
  const exchanges = new Set<string>([exchange]);
  let n = 0;
  const busWith = async (opts: AmqpBusOptions & { url?: string; name?: string }): Promise<AmqpBus> => {
    const b = createBus(opts.url ?? RABBIT_URL, {
      controlExchange: exchange,
      logger: process.env.NEUTRINO_RPC_LOG_LEVEL ? undefined : silentLogger,
      connectionName: `${connectionPrefix}-${opts.name ?? ++n}`,
      reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
      ...opts,
    }) as AmqpBus;
    buses.push(b);
    const serve = b.serve.bind(b);
    b.serve = (topic, host, handlers) => {
      queues.add(topic).add(`${topic}.${host}`);
      exchanges.add(`${topic}_fanout`);
      return serve(topic, host, handlers);
    };
    const fanout = b.fanout.bind(b);
    b.fanout = (topic, method, args, o) => {
      exchanges.add(`${topic}_fanout`);
      return fanout(topic, method, args, o);
    };
    return b;
  };
  return {
    async rawChannel(fn) {
      const c = await amqp.connect(amqplibOptions());
      try {
        await fn(await c.createChannel());
      } finally {
        await c.close();
      }
    },
    exchange,
    connectionPrefix,
    busWith,
    async bus() {
      const b = await busWith({});
      await b.waitConnected(10_000);
      return b;
    },
    topic: (name) => `t_${runId}_${label}_${name}`,
    async close() {
      for (const b of buses) await b.close();
      const c = await amqp.connect(amqplibOptions());
      const ch = await c.createChannel();
      for (const q of queues) await ch.deleteQueue(q);
      for (const x of exchanges) await ch.deleteExchange(x);
      await c.close();
    },
  };
}

/** Connections whose name starts with a prefix: [pid, name] (via rabbitmqctl, so local only). */
export async function brokerConnections(prefix: string): Promise<string[]> {
  const { stdout } = await run('rabbitmqctl', ['-q', 'list_connections', '--no-table-headers', 'pid', 'client_properties'], { timeout: 15_000 });
  return stdout
    .split('\n')
    .filter((l) => l.includes(`{"connection_name","${prefix}`))
    .map((l) => l.split('\t')[0]!);
}

/** Has the broker close connections (as an operator or a broker shutdown would); their pids. */
export async function brokerCloseConnections(prefix: string): Promise<string[]> {
  const pids = await brokerConnections(prefix);
  await Promise.all(pids.map((pid) => run('rabbitmqctl', ['-q', 'close_connection', pid, 'neutrino RPC reconnect test'], { timeout: 15_000 })));
  return pids;
}

let rabbitmqctl: Promise<string | null> | null = null;

/** Null when rabbitmqctl can talk to the broker, else why not (asked once: it takes a second). */
export function haveRabbitmqctl(): Promise<string | null> {
  rabbitmqctl ??= run('rabbitmqctl', ['-q', 'list_connections', 'pid'], { timeout: 15_000 }).then(
    () => null,
    (e: Error) => `rabbitmqctl cannot reach the broker: ${e.message.split('\n')[0]}`,
  );
  return rabbitmqctl;
}

/** A TCP proxy in front of the broker: `cut()` kills live connections, `refuse()` new ones. */
export class FlakyProxy {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private refusing = false;
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {
    this.server = net.createServer((client) => {
      if (this.refusing) return void client.destroy();
      const upstream = net.connect(this.target.port, this.target.host);
      for (const [a, b] of [
        [client, upstream],
        [upstream, client],
      ] as const) {
        this.sockets.add(a);
        a.on('error', () => b.destroy());
        a.on('close', () => {
          this.sockets.delete(a);
          b.destroy();
        });
        a.pipe(b);
      }
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  url(): string {
    const u = parseTransportUrl(RABBIT_URL);
    const h = u.hosts[0]!;
    const vhost = u.virtualHost === '/' ? '' : encodeURIComponent(u.virtualHost);
    return `rabbit://${encodeURIComponent(h.username)}:${encodeURIComponent(h.password)}@127.0.0.1:${this.port}/${vhost}`;
  }

  /** Drops every proxied connection abruptly (no AMQP close): a network failure. */
  cut(): void {
    for (const s of this.sockets) s.destroy();
  }

  refuse(on: boolean): void {
    this.refusing = on;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  static forBroker(): FlakyProxy {
    const h = parseTransportUrl(RABBIT_URL).hosts[0]!;
    return new FlakyProxy({ host: h.hostname, port: h.port });
  }
}

// One RabbitMQ connection that keeps itself up: connects to the transport_url's hosts in turn,
// backs off exponentially (with jitter) while none answers, and on every new connection runs
// the bus's `setup` (exchanges, reply queue, every registered consumer) before anyone may use
// it. A "link" is one connection plus its two channels; it is replaced, never repaired:
// any channel or connection loss ends the link and the loop builds a fresh one.
//
// We keep our own loop rather than amqplib's connection recovery because that one knows a
// single URL, and because `setup` must finish before callers publish on the new connection.
import amqp, { type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';
import type { RpcLogger } from './bus.js';
import { RpcClosedError } from './errors.js';
import type { BrokerHost, TransportUrl } from './url.js';

export interface Link {
  readonly id: number;
  readonly host: string;
  readonly conn: ChannelModel;
  /** Publisher confirms on: a publish resolves only once the broker has taken the message. */
  readonly pub: ConfirmChannel;
  /** Consumers (requests, replies, fanouts). */
  readonly sub: Channel;
  alive: boolean;
  /** Settles on the first sign the link is gone (connection or either channel closed). */
  readonly lost: Promise<void>;
}

export interface ReconnectOptions {
  /** First delay after a failure or loss, in ms. Default 100. */
  initialDelayMs?: number;
  /** Cap of the exponential backoff, in ms. Default 10 s. */
  maxDelayMs?: number;
}

export interface AmqpLinkOptions {
  url: TransportUrl;
  connectionName: string;
  log: RpcLogger;
  /** Runs on each new link before it is handed out; a throw counts as a failed connection. */
  setup: (link: Link) => Promise<void>;
  heartbeatSeconds?: number;
  connectTimeoutMs?: number;
  reconnect?: ReconnectOptions;
}

/** Thrown by `ready()` when its deadline passes without a connection. */
export class DeadlineError extends Error {
  override name = 'DeadlineError';
}

interface Waiter {
  resolve(link: Link): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout | null;
}

// A link that stayed up this long resets the backoff; a flapping broker keeps backing off.
const STABLE_MS = 10_000;

export class AmqpLink {
  private current: Link | null = null;
  private waiters = new Set<Waiter>();
  private closed = false;
  private nextId = 1;
  private hostIndex = 0;
  private wake: (() => void) | null = null;
  private readonly loop: Promise<void>;
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(private readonly opts: AmqpLinkOptions) {
    if (!opts.url.hosts.length) throw new Error('AMQP transport needs at least one host');
    this.initialDelayMs = opts.reconnect?.initialDelayMs ?? 100;
    this.maxDelayMs = Math.max(this.initialDelayMs, opts.reconnect?.maxDelayMs ?? 10_000);
    this.loop = this.run();
  }

  get connected(): boolean {
    return !!this.current?.alive;
  }

  /** The live link, waiting for one until `deadline` (epoch ms; null waits until close). */
  ready(deadline: number | null): Promise<Link> {
    if (this.closed) return Promise.reject(new RpcClosedError('AMQP connection'));
    if (this.current?.alive) return Promise.resolve(this.current);
    return new Promise((resolve, reject) => {
      const w: Waiter = { resolve, reject, timer: null };
      if (deadline !== null) {
        w.timer = setTimeout(
          () => {
            this.waiters.delete(w);
            reject(new DeadlineError('no broker connection before the deadline'));
          },
          Math.max(0, deadline - Date.now()),
        );
      }
      this.waiters.add(w);
    });
  }

  /** Gives up on a link that misbehaves (closed channel, cancelled consumer); the loop replaces it. */
  fail(link: Link, reason: string): void {
    if (!link.alive) return;
    this.opts.log.warn({ host: link.host, reason }, 'dropping RabbitMQ connection');
    link.alive = false;
    if (this.current === link) this.current = null;
    link.conn.close().catch(() => destroySocket(link.conn));
  }

  /** Closes the connection for good; `beforeClose` runs on the live link first (cleanup). */
  async close(beforeClose?: (link: Link) => Promise<void>): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.waiters) {
      if (w.timer) clearTimeout(w.timer);
      w.reject(new RpcClosedError('AMQP connection'));
    }
    this.waiters.clear();
    const link = this.current;
    if (link?.alive && beforeClose) await withTimeout(beforeClose(link), 3000).catch(() => undefined);
    this.wake?.();
    if (link) await shut(link);
    await this.loop;
  }

  private async run(): Promise<void> {
    let attempt = 0;
    while (!this.closed) {
      const host = this.opts.url.hosts[this.hostIndex % this.opts.url.hosts.length]!;
      const where = `${host.hostname}:${host.port}`;
      let link: Link;
      try {
        link = await this.open(host);
      } catch (err) {
        attempt++;
        this.hostIndex++; // the next host, as oslo does on failure
        const delay = this.backoff(attempt);
        this.opts.log.warn({ host: where, attempt, retryInMs: delay, err: (err as Error).message }, 'cannot connect to RabbitMQ; retrying');
        await this.sleep(delay);
        continue;
      }
      if (this.closed) {
        await shut(link);
        break;
      }
      const upSince = Date.now();
      this.current = link;
      this.opts.log.info({ host: where, failedAttempts: attempt }, 'connected to RabbitMQ');
      for (const w of this.waiters) {
        if (w.timer) clearTimeout(w.timer);
        w.resolve(link);
      }
      this.waiters.clear();
      await link.lost;
      if (this.current === link) this.current = null;
      if (this.closed) break;
      attempt = Date.now() - upSince > STABLE_MS ? 1 : attempt + 1;
      const delay = this.backoff(attempt);
      this.opts.log.warn({ host: where, retryInMs: delay }, 'RabbitMQ connection lost; reconnecting');
      await this.sleep(delay);
    }
  }

  /** Connects, opens both channels and runs setup; any failure closes what was opened. */
  private async open(host: BrokerHost): Promise<Link> {
    const o = this.opts;
    const conn = await amqp.connect(
      {
        protocol: o.url.tls ? 'amqps' : 'amqp',
        hostname: host.hostname,
        port: host.port,
        username: host.username,
        password: host.password,
        vhost: o.url.virtualHost,
        heartbeat: o.heartbeatSeconds ?? 30,
      },
      // noDelay: amqplib leaves Nagle on, and with the broker's delayed ACKs every awaited
      // publish confirm or declare then took ~40 ms.
      { timeout: o.connectTimeoutMs ?? 5000, noDelay: true, clientProperties: { connection_name: o.connectionName } },
    );
    // Errors must have a listener or they would crash the process; losses are handled by watch().
    conn.on('error', (err: Error) => o.log.warn({ err: err.message }, 'RabbitMQ connection error'));
    conn.on('blocked', (reason: string) => o.log.warn({ reason }, 'RabbitMQ blocked this connection (resource alarm)'));
    try {
      const pub = await conn.createConfirmChannel();
      const sub = await conn.createChannel();
      for (const ch of [pub, sub]) ch.on('error', (err: Error) => o.log.warn({ err: err.message }, 'RabbitMQ channel error'));
      const link = watch({ id: this.nextId++, host: `${host.hostname}:${host.port}`, conn, pub, sub });
      await withTimeout(o.setup(link), Math.max(o.connectTimeoutMs ?? 5000, 10_000));
      if (!link.alive) throw new Error('connection lost during setup');
      return link;
    } catch (err) {
      await conn.close().catch(() => destroySocket(conn));
      throw err;
    }
  }

  private backoff(attempt: number): number {
    const base = Math.min(this.maxDelayMs, this.initialDelayMs * 2 ** Math.max(0, attempt - 1));
    // +-20 % jitter so a broker restart is not greeted by every agent in the same millisecond.
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    }).finally(() => {
      this.wake = null;
    });
  }
}

/** Makes a link whose `lost` settles once, on the first close of the connection or a channel. */
function watch(parts: Omit<Link, 'alive' | 'lost'>): Link {
  let done!: () => void;
  const link: Link = { ...parts, alive: true, lost: new Promise<void>((r) => (done = r)) };
  let fired = false;
  const fire = () => {
    if (fired) return;
    fired = true;
    link.alive = false;
    done();
    // A lone channel closing (e.g. a 404 on publish) leaves a half-usable connection: drop it.
    link.conn.close().catch(() => destroySocket(link.conn));
  };
  link.conn.on('close', fire);
  link.pub.on('close', fire);
  link.sub.on('close', fire);
  return link;
}

/** Closes a link gracefully, or by force if the broker does not answer. */
async function shut(link: Link): Promise<void> {
  link.alive = false;
  try {
    await withTimeout(link.conn.close(), 2000);
  } catch {
    destroySocket(link.conn);
  }
}

// amqplib exposes no way to abort a connection whose close handshake hangs; its socket is the
// `stream` of the underlying Connection. Destroyed with an error, so that amqplib hears of it and
// stops its heartbeat timers (a plain destroy left them running, holding the process up to
// two heartbeat periods).
function destroySocket(conn: ChannelModel): void {
  (conn as unknown as { connection?: { stream?: { destroy(err?: Error): void } } }).connection?.stream?.destroy(
    new Error('connection abandoned by neutrino'),
  );
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<never>((_r, reject) => {
      t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

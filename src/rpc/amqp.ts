// The bus on RabbitMQ (AMQP 0-9-1), laid out like oslo.messaging's rabbit driver so an
// operator finds familiar names with `rabbitmqctl list_queues`:
//   - topic exchange `<control_exchange>` ('neutron'), queues `<topic>` and `<topic>.<host>`
//     bound by their own names; non-durable, not auto-deleted (oslo's amqp_durable_queues=False,
//     amqp_auto_delete=False), so calls and casts queue up while a server reconnects;
//   - fanout exchange `<topic>_fanout`, one exclusive auto-delete queue per server
//     `<topic>_fanout_<id>`, a fresh name per connection so a reconnect never races the broker's
//     cleanup of the old one. Unlike oslo the exchange is not auto-delete: an auto-delete
//     exchange can vanish between a publisher's declare and its publish (a 404 that kills the
//     channel), and one declared by a publisher before any server bound to it would never be
//     deleted anyway. So it stays, like the topic queues, one per topic;
//   - one reply queue per bus `reply_<id>`, published to through the default exchange; it
//     outlives a connection loss (x-expires instead of exclusive) so replies sent while we
//     reconnect wait for us.
// Every publish uses publisher confirms; calls are also `mandatory`, so a call nobody can
// receive comes back (basic.return) and fails at once instead of waiting out its timeout.
import { hostname } from 'node:os';
import type { ConsumeMessage, Message, Options } from 'amqplib';
import { AmqpLink, DeadlineError, type Link, type ReconnectOptions } from './amqp-link.js';
import {
  DEFAULT_CONTROL_EXCHANGE,
  DEFAULT_TIMEOUT_MS,
  newRpcContext,
  normalizeTarget,
  routingKey,
  type BusOptions,
  type CallOptions,
  type CastOptions,
  type RpcArgs,
  type RpcBus,
  type RpcContext,
  type RpcHandlers,
  type RpcLogger,
  type RpcServerHandle,
  type RpcTarget,
} from './bus.js';
import { dispatch } from './dispatch.js';
import { RpcClosedError, RpcError, RpcTimeoutError } from './errors.js';
import { defaultLogger } from './log.js';
import { PendingCalls } from './pending.js';
import type { TransportUrl } from './url.js';
import { decodeReply, decodeRequest, encodeRequest, newId, type RequestMessage } from './wire.js';

export interface AmqpBusOptions extends BusOptions {
  /** Shown by `rabbitmqctl list_connections client_properties`; default neutrino:<host>:<pid>. */
  connectionName?: string;
  heartbeatSeconds?: number;
  connectTimeoutMs?: number;
  reconnect?: ReconnectOptions;
  /** x-expires of the reply queue: how long replies wait for a disconnected caller. 30 min, like oslo. */
  replyQueueTtlMs?: number;
}

/** One `serve()`: its handlers survive reconnections; its consumers are per link. */
interface Server {
  topic: string;
  host: string;
  handlers: RpcHandlers;
  stopped: boolean;
  /** The link its consumers were declared on, and their tags there. */
  link: Link | null;
  tags: string[];
  /** Why the broker would not let it consume, once it gave up on it. */
  refused?: string;
}

const QUEUE_OPTS: Options.AssertQueue = { durable: false, autoDelete: false, exclusive: false };
const FANOUT_EXCHANGE_OPTS: Options.AssertExchange = { durable: false, autoDelete: false };

export class AmqpBus implements RpcBus {
  readonly transport = 'amqp' as const;
  private readonly link: AmqpLink;
  private readonly log: RpcLogger;
  private readonly exchange: string;
  private readonly defaultTimeoutMs: number;
  private readonly replyQueue = `reply_${newId()}`;
  private readonly replyTtlMs: number;
  private readonly pending = new PendingCalls('disconnected');
  private readonly servers = new Set<Server>();
  /** basic.return handlers of publishes awaiting their confirm, by messageId. */
  private readonly onReturn = new Map<string, () => void>();
  /** Fanout exchanges already declared on a link. */
  private readonly fanoutExchanges = new WeakMap<Link, Set<string>>();
  private closed = false;

  constructor(url: TransportUrl, opts: AmqpBusOptions = {}) {
    this.log = opts.logger ?? defaultLogger();
    this.exchange = opts.controlExchange ?? DEFAULT_CONTROL_EXCHANGE;
    this.defaultTimeoutMs = opts.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.replyTtlMs = opts.replyQueueTtlMs ?? 30 * 60_000;
    this.link = new AmqpLink({
      url,
      connectionName: opts.connectionName ?? `neutrino:${hostname()}:${process.pid}`,
      log: this.log,
      heartbeatSeconds: opts.heartbeatSeconds,
      connectTimeoutMs: opts.connectTimeoutMs,
      reconnect: opts.reconnect,
      setup: (link) => this.setup(link),
    });
  }

  /** True while a broker connection is up (for health reports). */
  get connected(): boolean {
    return this.link.connected;
  }

  /** Resolves once connected (or rejects at the deadline); calls do not need it, tests do. */
  async waitConnected(timeoutMs = this.defaultTimeoutMs): Promise<void> {
    await this.link.ready(Date.now() + timeoutMs);
  }

  async call<T = unknown>(target: RpcTarget | string, method: string, args: RpcArgs = {}, opts: CallOptions = {}): Promise<T> {
    if (this.closed) throw new RpcClosedError(`call '${method}'`);
    const { topic, server } = normalizeTarget(target);
    const timeoutMs = opts.timeoutMs ?? this.defaultTimeoutMs;
    const msgId = newId();
    const body = encodeRequest({ method, args, context: ctxOf(opts), msgId, replyQueue: this.replyQueue });
    const reply = this.pending.add(msgId, { topic, server, method, timeoutMs });
    const deadline = Date.now() + timeoutMs;
    const unroutable = () => this.pending.fail(msgId, new RpcTimeoutError(topic, method, timeoutMs, 'unroutable', server));
    this.publish(
      this.exchange,
      routingKey(topic, server),
      body,
      { msgId, deadline, mandatory: true, expire: true, replyTo: this.replyQueue },
      unroutable,
    )
      .then(() => this.pending.markSent(msgId))
      .catch((err: Error) =>
        this.pending.fail(msgId, err instanceof DeadlineError ? new RpcTimeoutError(topic, method, timeoutMs, 'disconnected', server) : err),
      );
    return reply as Promise<T>;
  }

  async cast(target: RpcTarget | string, method: string, args: RpcArgs = {}, opts: CastOptions = {}): Promise<void> {
    if (this.closed) throw new RpcClosedError(`cast '${method}'`);
    const { topic, server } = normalizeTarget(target);
    const timeoutMs = opts.timeoutMs ?? this.defaultTimeoutMs;
    const body = encodeRequest({ method, args, context: ctxOf(opts), msgId: null, replyQueue: null });
    // mandatory only to say in the debug log that nobody got it; oslo drops such casts too.
    const dropped = () => this.log.debug({ topic, server, method }, 'RPC cast dropped: nobody serves this topic');
    await this.publish(
      this.exchange,
      routingKey(topic, server),
      body,
      { msgId: newId(), deadline: Date.now() + timeoutMs, mandatory: true },
      dropped,
    ).catch((err: Error) => {
      throw err instanceof DeadlineError ? new RpcTimeoutError(topic, method, timeoutMs, 'disconnected', server, 'cast') : err;
    });
  }

  async fanout(topic: string, method: string, args: RpcArgs = {}, opts: CastOptions = {}): Promise<void> {
    if (this.closed) throw new RpcClosedError(`fanout '${method}'`);
    const timeoutMs = opts.timeoutMs ?? this.defaultTimeoutMs;
    const body = encodeRequest({ method, args, context: ctxOf(opts), msgId: null, replyQueue: null });
    const exchange = `${topic}_fanout`;
    // Publishing to a missing exchange kills the channel, and no server may have declared it
    // yet: declare it first, once per connection (a broker restart forgets it).
    const prepare = async (link: Link) => {
      let known = this.fanoutExchanges.get(link);
      if (known?.has(exchange)) return;
      await link.pub.assertExchange(exchange, 'fanout', FANOUT_EXCHANGE_OPTS);
      if (!known) this.fanoutExchanges.set(link, (known = new Set()));
      known.add(exchange);
    };
    await this.publish(exchange, '', body, { msgId: newId(), deadline: Date.now() + timeoutMs, mandatory: false, prepare }).catch((err: Error) => {
      throw err instanceof DeadlineError ? new RpcTimeoutError(topic, method, timeoutMs, 'disconnected', null, 'fanout') : err;
    });
  }

  async serve(topic: string, host: string, handlers: RpcHandlers): Promise<RpcServerHandle> {
    if (this.closed) throw new RpcClosedError(`serve '${topic}'`);
    if (!topic || !host) throw new TypeError('serve() needs a topic and a host');
    const server: Server = { topic, host, handlers, stopped: false, link: null, tags: [] };
    // Registered first: a reconnection from now on re-declares it, whatever happens below.
    this.servers.add(server);
    // Wait for the broker (as long as it takes), then listen; if the link dies meanwhile the
    // next one's setup declares the server and we just wait for that.
    for (;;) {
      const link = await this.link.ready(null).catch((err: Error) => {
        this.servers.delete(server);
        throw err;
      });
      try {
        await this.declareServer(link, server);
      } catch (err) {
        // A refusal (e.g. an existing queue with other arguments) would recur on every
        // connection: the caller must hear it. Anything else was the link dying; go again.
        if (!isRefusal(err)) {
          this.link.fail(link, `lost while declaring consumers for '${topic}'`);
          continue;
        }
        this.servers.delete(server);
        server.stopped = true;
        server.refused = (err as Error).message;
        this.link.fail(link, `cannot declare consumers for '${topic}': ${server.refused}`);
      }
      // Refused here or by a reconnection's setup.
      if (server.refused) throw new RpcError(`cannot serve topic '${topic}' on RabbitMQ: ${server.refused}`);
      break;
    }
    return { topic, host, stop: () => this.stopServer(server) };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const servers = [...this.servers];
    this.servers.clear();
    for (const s of servers) s.stopped = true;
    this.pending.failAll(new RpcClosedError('pending call'));
    await this.link.close(async (link) => {
      for (const s of servers) await cancelAll(link, s);
      // Ours alone; without this it would linger until its x-expires.
      await link.sub.deleteQueue(this.replyQueue);
    });
  }

  /** Runs on every new connection, before anyone publishes on it. */
  private async setup(link: Link): Promise<void> {
    link.pub.on('return', (msg: Message) => {
      const id = msg.properties.messageId as string | undefined;
      if (id) this.onReturn.get(id)?.();
    });
    await link.pub.assertExchange(this.exchange, 'topic', { durable: false, autoDelete: false });
    // Acks are sent on receipt, so this mostly spreads a backlog over the consumers that are
    // up instead of pushing all of it to the first one that attaches.
    await link.sub.prefetch(100);
    await link.sub.assertQueue(this.replyQueue, { ...QUEUE_OPTS, arguments: { 'x-expires': this.replyTtlMs } });
    await link.sub.consume(this.replyQueue, (msg) => this.onReply(link, msg), { noAck: true });
    for (const s of this.servers) {
      try {
        await this.declareServer(link, s);
      } catch (err) {
        if (isRefusal(err)) {
          // Give this server up rather than fail every reconnection because of it.
          this.servers.delete(s);
          s.stopped = true;
          s.refused = (err as Error).message;
          this.log.error({ topic: s.topic, host: s.host, err: s.refused }, 'RabbitMQ refused the consumers of an RPC server; it no longer listens');
        }
        throw err; // the refusal closed the channel: this link is done either way
      }
    }
  }

  /** Declares a server's queues and consumers on a link, once per link. */
  private async declareServer(link: Link, s: Server): Promise<void> {
    if (s.link === link || s.stopped) return;
    s.link = link;
    s.tags = [];
    const ch = link.sub;
    const queues = [s.topic, routingKey(s.topic, s.host)];
    for (const q of queues) {
      await ch.assertQueue(q, QUEUE_OPTS);
      await ch.bindQueue(q, this.exchange, q);
    }
    const fanoutExchange = `${s.topic}_fanout`;
    const fanoutQueue = `${s.topic}_fanout_${newId()}`;
    await ch.assertExchange(fanoutExchange, 'fanout', FANOUT_EXCHANGE_OPTS);
    await ch.assertQueue(fanoutQueue, { durable: false, autoDelete: true, exclusive: true });
    await ch.bindQueue(fanoutQueue, fanoutExchange, '');
    for (const q of [...queues, fanoutQueue]) {
      const { consumerTag } = await ch.consume(q, (msg) => this.onRequest(link, s, msg), { noAck: false });
      s.tags.push(consumerTag);
    }
    // stop() ran while we were declaring: undo what it could not see.
    if (s.stopped) await cancelAll(link, s);
  }

  private async stopServer(s: Server): Promise<void> {
    if (s.stopped) return;
    s.stopped = true;
    this.servers.delete(s);
    if (s.link?.alive) await cancelAll(s.link, s);
  }

  private onRequest(link: Link, s: Server, msg: ConsumeMessage | null): void {
    if (!msg) {
      // The broker cancelled us (queue deleted by hand): reconnecting re-declares everything.
      if (!s.stopped && !this.closed) this.link.fail(link, `consumer of '${s.topic}' cancelled by the broker`);
      return;
    }
    // Acknowledged on receipt, as oslo does for RPC: a handler runs at most once even if the
    // connection drops while it works; its reply is then sent once we are reconnected, and
    // the caller's reply queue (which outlives connections) keeps it until the caller is back.
    try {
      link.sub.ack(msg);
    } catch {
      // channel already closed: the broker requeues it for another consumer
      return;
    }
    let req: RequestMessage;
    try {
      req = decodeRequest(msg.content);
    } catch (err) {
      this.log.warn({ topic: s.topic, err: (err as Error).message }, 'malformed RPC message dropped');
      return;
    }
    void dispatch(s.handlers, req, s.topic, this.log).then(async (reply) => {
      if (reply === null || !req.replyQueue || !req.msgId) return;
      const lost = () =>
        this.log.warn(
          { topic: s.topic, method: req.method, requestId: req.context.requestId },
          "RPC reply dropped: the caller's reply queue is gone",
        );
      try {
        await this.publish(
          '',
          req.replyQueue,
          reply,
          { msgId: newId(), correlationId: req.msgId, deadline: Date.now() + this.defaultTimeoutMs, mandatory: true },
          lost,
        );
      } catch (err) {
        this.log.warn({ topic: s.topic, method: req.method, err: (err as Error).message }, 'cannot send RPC reply');
      }
    });
  }

  private onReply(link: Link, msg: ConsumeMessage | null): void {
    if (!msg) {
      if (!this.closed) this.link.fail(link, 'reply consumer cancelled by the broker');
      return;
    }
    try {
      if (!this.pending.settle(decodeReply(msg.content)))
        this.log.debug({ correlationId: msg.properties.correlationId }, 'late or duplicate RPC reply ignored');
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'malformed RPC reply dropped');
    }
  }

  /**
   * Publishes with a broker confirm, waiting for a connection until `deadline`. A publish cut
   * by a connection loss is repeated on the next connection (so a message is sent at least
   * once when the loss hid whether the broker got it); a broker nack is an error.
   */
  private async publish(
    exchange: string,
    key: string,
    body: string,
    o: {
      msgId: string;
      deadline: number;
      mandatory: boolean;
      /** Calls only: a request nobody took before its caller gave up is useless, let it expire. */
      expire?: boolean;
      replyTo?: string;
      correlationId?: string;
      prepare?: (link: Link) => Promise<void>;
    },
    returned?: () => void,
  ): Promise<void> {
    const content = Buffer.from(body);
    if (returned) this.onReturn.set(o.msgId, returned);
    try {
      for (;;) {
        const link = await this.link.ready(o.deadline);
        try {
          if (o.prepare) await o.prepare(link);
          await new Promise<void>((resolve, reject) => {
            // A blocked broker (resource alarm) holds confirms back: do not wait past the deadline.
            const timer = setTimeout(
              () => reject(new DeadlineError('no publisher confirm before the deadline')),
              Math.max(0, o.deadline - Date.now()),
            );
            const settle = (err: unknown) => {
              clearTimeout(timer);
              if (err) reject(err instanceof Error ? err : new Error(String(err)));
              else resolve();
            };
            try {
              link.pub.publish(
                exchange,
                key,
                content,
                {
                  messageId: o.msgId,
                  correlationId: o.correlationId ?? o.msgId,
                  replyTo: o.replyTo,
                  mandatory: o.mandatory,
                  contentType: 'application/json',
                  contentEncoding: 'utf-8',
                  expiration: o.expire ? String(Math.max(1, o.deadline - Date.now())) : undefined,
                  timestamp: Math.floor(Date.now() / 1000),
                },
                settle,
              );
            } catch (err) {
              settle(err); // the channel was already closed
            }
          });
          return;
        } catch (err) {
          if (err instanceof DeadlineError) throw err;
          if (link.alive && !/closed/i.test((err as Error).message))
            throw new RpcError(`RabbitMQ refused the message for '${key || exchange}': ${(err as Error).message}`);
          // Lost mid-publish: make sure this link is abandoned, then go again on the next one.
          this.link.fail(link, 'publish failed on a closing channel');
        }
      }
    } finally {
      // basic.return precedes the confirm, so after it no return can come for this message.
      this.onReturn.delete(o.msgId);
    }
  }
}

/**
 * Whether an AMQP error is the broker saying no (access-refused, not-found, resource-locked,
 * precondition-failed) rather than a lost connection: retrying will not help.
 */
function isRefusal(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === 403 || code === 404 || code === 405 || code === 406;
}

function ctxOf(opts: { context?: RpcContext }): RpcContext {
  return opts.context ?? newRpcContext();
}

async function cancelAll(link: Link, s: Server): Promise<void> {
  const tags = s.tags;
  s.tags = [];
  for (const t of tags) await link.sub.cancel(t).catch(() => undefined);
}

// The bus on RabbitMQ (AMQP 0-9-1), declared exactly as oslo.messaging's rabbit driver declares
// it (rabbit-layout.ts has the table of names and flags), so neutrino shares a vhost with
// OpenStack services and an operator finds familiar names with `rabbitmqctl list_queues`:
//   - topic exchange `<control_exchange>` ('neutron'), queues `<topic>` and `<topic>.<host>`
//     bound by their own names; they outlive their consumers, so calls and casts queue up while
//     a server reconnects;
//   - fanout exchange `<topic>_fanout` (auto-delete, as oslo has it), one queue per server
//     `<topic>_fanout_<id>` bound with the topic as key, kept across reconnections (x-expires
//     rather than exclusive, so fanouts sent while we reconnect wait for us) and deleted when
//     the server stops. An auto-delete exchange vanishes with its last queue, so a fanout
//     declares it before every publish rather than once per connection;
//   - one reply queue per bus `reply_<id>`, published to through the default exchange, with
//     x-expires too.
// Messages carry oslo's envelope (wire.ts) and kombu's properties; a call expires from its
// queue when its caller gives up. Every publish uses publisher confirms; calls are also
// `mandatory`, so a call nobody can receive comes back (basic.return) and fails at once instead
// of waiting out its timeout.
import { hostname } from 'node:os';
import type { ConsumeMessage, Message } from 'amqplib';
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
  type ReconnectEvent,
} from './bus.js';
import { dispatch } from './dispatch.js';
import { RpcClosedError, RpcError, RpcLostError, RpcTimeoutError } from './errors.js';
import { defaultLogger } from './log.js';
import { PendingCalls } from './pending.js';
import { MESSAGE_PROPERTIES, rabbitLayout, type RabbitLayout, type RabbitQueueOptions } from './rabbit-layout.js';
import type { TransportUrl } from './url.js';
import { decodeReply, decodeRequest, encodeHeartbeat, encodeRequest, newId, type RequestMessage } from './wire.js';

export interface AmqpBusOptions extends BusOptions {
  /** Shown by `rabbitmqctl list_connections client_properties`; default neutrino:<host>:<pid>. */
  connectionName?: string;
  heartbeatSeconds?: number;
  connectTimeoutMs?: number;
  reconnect?: ReconnectOptions;
  /** `[oslo_messaging_rabbit]` durability, auto-delete, TTL and HA/quorum settings; oslo's defaults. */
  rabbit?: Partial<RabbitQueueOptions>;
}

/** One `serve()`: its handlers survive reconnections; its consumers are per link. */
interface Server {
  topic: string;
  host: string;
  handlers: RpcHandlers;
  /** `<topic>_fanout_<id>`: one name for the server's life, re-declared on every connection. */
  fanoutQueue: string;
  stopped: boolean;
  /** The link its consumers were declared on, and their tags there. */
  link: Link | null;
  tags: string[];
  /** Why the broker would not let it consume, once it gave up on it. */
  refused?: string;
  /** The `_unique_id`s of the last messages it took, newest last. */
  recent: string[];
}

/**
 * How many `_unique_id`s a server remembers, as oslo's listeners do: a message published again
 * after a connection loss hid its confirm (by us or by kombu) runs once.
 */
const DUPLICATE_WINDOW = 16;

export class AmqpBus implements RpcBus {
  readonly transport = 'amqp' as const;
  private readonly link: AmqpLink;
  private readonly log: RpcLogger;
  private readonly exchange: string;
  private readonly defaultTimeoutMs: number;
  private readonly replyQueue = `reply_${newId()}`;
  private readonly layout: RabbitLayout;
  private readonly pending = new PendingCalls('disconnected');
  private readonly servers = new Set<Server>();
  /** basic.return handlers of publishes awaiting their confirm, by messageId. */
  private readonly onReturn = new Map<string, () => void>();
  /** Fanout exchange declarations in flight, per link. */
  private readonly declaring = new WeakMap<Link, Map<string, Promise<void>>>();
  private closed = false;
  private readonly reconnectListeners = new Set<(e: ReconnectEvent) => void>();
  /** A connection was set up before: the next one is a reconnection. */
  private connectedBefore = false;
  /** Queues found gone on a connection whose setup then failed: told on the next one. */
  private queuesLost = false;

  constructor(url: TransportUrl, opts: AmqpBusOptions = {}) {
    this.log = opts.logger ?? defaultLogger();
    this.exchange = opts.controlExchange ?? DEFAULT_CONTROL_EXCHANGE;
    this.defaultTimeoutMs = opts.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.layout = rabbitLayout(opts.rabbit);
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

  onReconnect(listener: (e: ReconnectEvent) => void): () => void {
    this.reconnectListeners.add(listener);
    return () => void this.reconnectListeners.delete(listener);
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
    const body = encodeRequest({ method, args, context: ctxOf(opts), version: opts.version, msgId, replyQueue: this.replyQueue });
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
    const body = encodeRequest({ method, args, context: ctxOf(opts), version: opts.version, msgId: null, replyQueue: null });
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
    const body = encodeRequest({ method, args, context: ctxOf(opts), version: opts.version, msgId: null, replyQueue: null });
    const exchange = `${topic}_fanout`;
    // Publishing to a missing exchange kills the channel, no server may have declared it yet,
    // and being auto-delete it goes whenever its last queue does: declare it for every fanout
    // (fanouts sent together share one declaration; the window left between declare and
    // publish costs a reconnection at worst).
    const prepare = (link: Link) => this.declareFanoutExchange(link, exchange);
    await this.publish(exchange, '', body, { msgId: newId(), deadline: Date.now() + timeoutMs, mandatory: false, prepare }).catch((err: Error) => {
      throw err instanceof DeadlineError ? new RpcTimeoutError(topic, method, timeoutMs, 'disconnected', null, 'fanout') : err;
    });
  }

  private declareFanoutExchange(link: Link, exchange: string): Promise<void> {
    let inFlight = this.declaring.get(link);
    if (!inFlight) this.declaring.set(link, (inFlight = new Map()));
    let p = inFlight.get(exchange);
    if (!p) {
      p = link.pub.assertExchange(exchange, 'fanout', this.layout.fanoutExchange).then(
        () => void inFlight.delete(exchange),
        (err: unknown) => {
          inFlight.delete(exchange);
          throw err;
        },
      );
      inFlight.set(exchange, p);
    }
    return p;
  }

  async serve(topic: string, host: string, handlers: RpcHandlers): Promise<RpcServerHandle> {
    if (this.closed) throw new RpcClosedError(`serve '${topic}'`);
    if (!topic || !host) throw new TypeError('serve() needs a topic and a host');
    const server: Server = { topic, host, handlers, fanoutQueue: `${topic}_fanout_${newId()}`, stopped: false, link: null, tags: [], recent: [] };
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
        this.log.error({ topic, host, err: server.refused }, 'RabbitMQ refused the consumers of an RPC server; it does not listen');
        this.link.fail(link, `cannot declare consumers for '${topic}': ${server.refused}`);
      }
      // Refused here or by a reconnection's setup (each logs it: a caller serving in the
      // background may drop the error).
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
      // Ours alone; without this they would linger (and fill) until their x-expires.
      for (const s of servers) await link.sub.deleteQueue(s.fanoutQueue);
      await link.sub.deleteQueue(this.replyQueue);
    });
  }

  /** Runs on every new connection, before anyone publishes on it. */
  private async setup(link: Link): Promise<void> {
    link.pub.on('return', (msg: Message) => {
      const id = msg.properties.messageId as string | undefined;
      if (id) this.onReturn.get(id)?.();
    });
    await link.pub.assertExchange(this.exchange, 'topic', this.layout.controlExchange);
    // Acks are sent on receipt, so this mostly spreads a backlog over the consumers that are
    // up instead of pushing all of it to the first one that attaches.
    await link.sub.prefetch(100);
    // A broker that restarted lost its non-durable queues, our reply queue with them, and with
    // it every request and reply in flight: a call sent earlier would wait out its whole
    // timeout (the DHCP agent's get_network_info stalled a network for 60 s in
    // test/faults/broker-restart-dhcp.root.test.ts). A connection cut the broker survived
    // keeps the queue, and those calls keep waiting for their reply.
    if (!(await queueExists(link, this.replyQueue))) {
      this.pending.failSent((p) => new RpcLostError(p.topic, p.method));
      // Our consumers' queues went with it (same lifetime or shorter): casts sent to them while
      // the broker was away, or before we declare them again below, are lost, as with oslo.
      if (this.connectedBefore) this.queuesLost = true;
    }
    await link.sub.assertQueue(this.replyQueue, this.layout.replyQueue);
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
    if (this.connectedBefore) {
      const e: ReconnectEvent = { queuesLost: this.queuesLost };
      this.queuesLost = false;
      // After the link is handed out: listeners typically resync, which needs it.
      setImmediate(() => {
        for (const l of this.reconnectListeners) l(e);
      });
    }
    this.connectedBefore = true;
  }

  /** Declares a server's queues and consumers on a link, once per link. */
  private async declareServer(link: Link, s: Server): Promise<void> {
    if (s.link === link || s.stopped) return;
    s.link = link;
    s.tags = [];
    const ch = link.sub;
    const queues = [s.topic, routingKey(s.topic, s.host)];
    for (const q of queues) {
      await ch.assertQueue(q, this.layout.topicQueue);
      await ch.bindQueue(q, this.exchange, q);
    }
    const fanoutExchange = `${s.topic}_fanout`;
    await ch.assertExchange(fanoutExchange, 'fanout', this.layout.fanoutExchange);
    await ch.assertQueue(s.fanoutQueue, this.layout.fanoutQueue);
    // oslo binds with the topic as key; a fanout exchange ignores it.
    await ch.bindQueue(s.fanoutQueue, fanoutExchange, s.topic);
    for (const q of [...queues, s.fanoutQueue]) {
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
    if (!s.link?.alive) return;
    await cancelAll(s.link, s);
    // Nobody will read it again; otherwise it would collect fanouts until its x-expires.
    await s.link.sub.deleteQueue(s.fanoutQueue).catch(() => undefined);
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
    if (req.uniqueId) {
      if (s.recent.includes(req.uniqueId)) {
        this.log.debug({ topic: s.topic, method: req.method, uniqueId: req.uniqueId }, 'duplicate RPC message ignored');
        return;
      }
      s.recent.push(req.uniqueId);
      if (s.recent.length > DUPLICATE_WINDOW) s.recent.shift();
    }
    const beat = this.heartbeat(s, req);
    void dispatch(s.handlers, req, s.topic, this.log).then(async (reply) => {
      if (beat) clearInterval(beat);
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

  /**
   * oslo's call monitor: a caller that sent `_timeout` gives up unless it hears from us that
   * often, so while the method runs we send it an ending=false reply every half of it.
   */
  private heartbeat(s: Server, req: RequestMessage): NodeJS.Timeout | null {
    const { msgId, replyQueue, monitorTimeout } = req;
    if (!msgId || !replyQueue || !monitorTimeout) return null;
    const everyMs = Math.max(100, (monitorTimeout * 1000) / 2);
    return setInterval(() => {
      this.publish('', replyQueue, encodeHeartbeat(msgId), {
        msgId: newId(),
        correlationId: msgId,
        deadline: Date.now() + everyMs,
        mandatory: false,
      }).catch((err: Error) => this.log.debug({ topic: s.topic, method: req.method, err: err.message }, 'RPC heartbeat not sent'));
    }, everyMs);
  }

  private onReply(link: Link, msg: ConsumeMessage | null): void {
    if (!msg) {
      if (!this.closed) this.link.fail(link, 'reply consumer cancelled by the broker');
      return;
    }
    try {
      const reply = decodeReply(msg.content);
      // A heartbeat: the call is still running on the other side. Our own timeout stands.
      if (!reply.ending && reply.result == null && !reply.failure) return;
      if (!this.pending.settle(reply)) this.log.debug({ correlationId: msg.properties.correlationId }, 'late or duplicate RPC reply ignored');
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
                  ...MESSAGE_PROPERTIES,
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

/**
 * A passive declare on a channel of its own: a missing queue answers 404, which closes the
 * channel it was asked on (not the link's).
 */
async function queueExists(link: Link, queue: string): Promise<boolean> {
  const ch = await link.conn.createChannel();
  ch.on('error', () => undefined); // the 404 below, expected
  try {
    await ch.checkQueue(queue);
  } catch (err) {
    if ((err as { code?: unknown }).code === 404) return false;
    throw err;
  }
  await ch.close();
  return true;
}

function ctxOf(opts: { context?: RpcContext }): RpcContext {
  return opts.context ?? newRpcContext();
}

async function cancelAll(link: Link, s: Server): Promise<void> {
  const tags = s.tags;
  s.tags = [];
  for (const t of tags) await link.sub.cancel(t).catch(() => undefined);
}

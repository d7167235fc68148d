// In-process transport for the all-in-one: the same addressing and semantics as RabbitMQ
// (round-robin per queue, fanout to every server, context and JSON bodies), without a broker.
//
// Buses share a MemoryBroker the way processes share a RabbitMQ: by default every bus of the
// process uses one broker (so the server and the agents of an all-in-one can each create their
// own bus from the same `memory://` URL); `memory://name` or the `broker` option isolate them.
import {
  DEFAULT_TIMEOUT_MS,
  newRpcContext,
  normalizeTarget,
  routingKey,
  type BusOptions,
  type CallOptions,
  type CastOptions,
  type RpcArgs,
  type RpcBus,
  type RpcHandlers,
  type RpcLogger,
  type RpcServerHandle,
  type RpcTarget,
} from './bus.js';
import { dispatch } from './dispatch.js';
import { RpcClosedError, RpcTimeoutError } from './errors.js';
import { defaultLogger } from './log.js';
import { PendingCalls } from './pending.js';
import { decodeReply, decodeRequest, encodeRequest, newId, type RequestMessage } from './wire.js';

/** A consumer: one `serve()` registration. `deliver` gets the encoded body and a reply path. */
interface Consumer {
  readonly topic: string;
  deliver(body: string, reply: ((body: string) => void) | null): void;
}

/** The queues: `topic` and `topic.host` keys, each with its consumers in turn order. */
export class MemoryBroker {
  private readonly queues = new Map<string, Consumer[]>();
  private readonly turns = new Map<string, number>();
  private readonly fanouts = new Map<string, Set<Consumer>>();

  bind(consumer: Consumer, keys: string[]): void {
    for (const k of keys) this.queues.set(k, [...(this.queues.get(k) ?? []), consumer]);
    const f = this.fanouts.get(consumer.topic) ?? new Set();
    f.add(consumer);
    this.fanouts.set(consumer.topic, f);
  }

  unbind(consumer: Consumer): void {
    for (const [k, list] of this.queues) {
      const rest = list.filter((c) => c !== consumer);
      if (rest.length) this.queues.set(k, rest);
      else {
        this.queues.delete(k);
        this.turns.delete(k);
      }
    }
    this.fanouts.get(consumer.topic)?.delete(consumer);
  }

  /** The next consumer of a queue in round-robin order, or null when nobody serves it. */
  pick(key: string): Consumer | null {
    const list = this.queues.get(key);
    if (!list?.length) return null;
    const turn = (this.turns.get(key) ?? 0) % list.length;
    this.turns.set(key, turn + 1);
    return list[turn]!;
  }

  subscribers(topic: string): Consumer[] {
    return [...(this.fanouts.get(topic) ?? [])];
  }
}

const brokers = new Map<string, MemoryBroker>();

/** The process-wide broker of a name ('' for plain `memory://`). */
export function sharedBroker(name = ''): MemoryBroker {
  let b = brokers.get(name);
  if (!b) brokers.set(name, (b = new MemoryBroker()));
  return b;
}

export interface MemoryBusOptions extends BusOptions {
  broker?: MemoryBroker;
}

export class MemoryBus implements RpcBus {
  readonly transport = 'memory' as const;
  private readonly broker: MemoryBroker;
  private readonly log: RpcLogger;
  private readonly defaultTimeoutMs: number;
  // Nothing is ever "unsent" in memory: a call is delivered at once or fails as unroutable.
  private readonly pending = new PendingCalls('no-reply');
  private readonly consumers = new Set<Consumer>();
  private closed = false;

  constructor(opts: MemoryBusOptions = {}) {
    this.broker = opts.broker ?? sharedBroker();
    this.log = opts.logger ?? defaultLogger();
    this.defaultTimeoutMs = opts.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  async call<T = unknown>(target: RpcTarget | string, method: string, args: RpcArgs = {}, opts: CallOptions = {}): Promise<T> {
    if (this.closed) throw new RpcClosedError(`call '${method}'`);
    const { topic, server } = normalizeTarget(target);
    const timeoutMs = opts.timeoutMs ?? this.defaultTimeoutMs;
    const consumer = this.broker.pick(routingKey(topic, server));
    // Like a mandatory publish that comes back: fail now rather than wait out the timeout.
    if (!consumer) throw new RpcTimeoutError(topic, method, timeoutMs, 'unroutable', server);
    const msgId = newId();
    const body = encodeRequest({ method, args, context: opts.context ?? newRpcContext(), version: opts.version, msgId, replyQueue: 'memory' });
    const reply = this.pending.add(msgId, { topic, server, method, timeoutMs });
    this.pending.markSent(msgId);
    consumer.deliver(body, (replyBody) => {
      if (!this.pending.settle(decodeReply(replyBody))) this.log.debug({ topic, method }, 'late RPC reply ignored');
    });
    return reply as Promise<T>;
  }

  async cast(target: RpcTarget | string, method: string, args: RpcArgs = {}, opts: CastOptions = {}): Promise<void> {
    if (this.closed) throw new RpcClosedError(`cast '${method}'`);
    const { topic, server } = normalizeTarget(target);
    const body = encodeRequest({ method, args, context: opts.context ?? newRpcContext(), version: opts.version, msgId: null, replyQueue: null });
    const consumer = this.broker.pick(routingKey(topic, server));
    if (!consumer) this.log.debug({ topic, server, method }, 'RPC cast dropped: nobody serves this topic');
    else consumer.deliver(body, null);
  }

  async fanout(topic: string, method: string, args: RpcArgs = {}, opts: CastOptions = {}): Promise<void> {
    if (this.closed) throw new RpcClosedError(`fanout '${method}'`);
    const body = encodeRequest({ method, args, context: opts.context ?? newRpcContext(), version: opts.version, msgId: null, replyQueue: null });
    for (const c of this.broker.subscribers(topic)) c.deliver(body, null);
  }

  async serve(topic: string, host: string, handlers: RpcHandlers): Promise<RpcServerHandle> {
    if (this.closed) throw new RpcClosedError(`serve '${topic}'`);
    if (!topic || !host) throw new TypeError('serve() needs a topic and a host');
    const log = this.log;
    const consumer: Consumer = {
      topic,
      deliver(body, reply) {
        // Asynchronous like a real transport: the sender never runs handlers in its own stack.
        setImmediate(() => {
          let req: RequestMessage;
          try {
            req = decodeRequest(body);
          } catch (err) {
            log.warn({ topic, err: (err as Error).message }, 'malformed RPC message dropped');
            return;
          }
          void dispatch(handlers, req, topic, log).then((out) => {
            if (out !== null && reply) reply(out);
          });
        });
      },
    };
    this.broker.bind(consumer, [topic, routingKey(topic, host)]);
    this.consumers.add(consumer);
    return {
      topic,
      host,
      stop: async () => {
        this.broker.unbind(consumer);
        this.consumers.delete(consumer);
      },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.consumers) this.broker.unbind(c);
    this.consumers.clear();
    this.pending.failAll(new RpcClosedError('pending call'));
  }
}

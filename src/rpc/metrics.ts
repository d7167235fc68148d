// Prometheus metrics of the RPC bus: what this process sends (calls, casts, fanouts) and what it
// handles as a server, by topic and method, with outcome and latency. A call is timed until its
// reply; a cast or fanout until the transport has taken it (the broker confirmed it).
import { Counter, Histogram, type Registry } from 'prom-client';
import type { RpcBus, RpcHandlers, RpcTarget } from './bus.js';
import { RpcTimeoutError } from './errors.js';

/** Seconds: a cast to a local broker takes under a millisecond; a call waits for the agent's work. */
const RPC_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

type Outcome = 'ok' | 'error' | 'timeout';
const outcomeOf = (err: unknown): Outcome => (err instanceof RpcTimeoutError ? 'timeout' : 'error');
const topicOf = (target: RpcTarget | string) => (typeof target === 'string' ? target : target.topic);

/**
 * The same bus, counted: `call`, `cast`, `fanout` and the handlers given to `serve` are timed; any
 * other member (close, transport, an AMQP bus's `connected`) is the bus's own. A Proxy rather than
 * a class so that members added to the bus later pass through unchanged.
 */
export function instrumentBus(bus: RpcBus, registry: Registry): RpcBus {
  const sent = new Counter({
    name: 'neutrino_rpc_sent_total',
    help: 'RPC messages sent, by kind (call, cast, fanout), topic, method and outcome (ok, error, timeout).',
    labelNames: ['kind', 'topic', 'method', 'outcome'] as const,
    registers: [registry],
  });
  const sentLatency = new Histogram({
    name: 'neutrino_rpc_sent_duration_seconds',
    help: 'Time until a call was answered, or a cast or fanout was taken by the transport, by kind and method.',
    labelNames: ['kind', 'method'] as const,
    buckets: RPC_BUCKETS,
    registers: [registry],
  });
  const handled = new Counter({
    name: 'neutrino_rpc_handled_total',
    help: 'RPC messages this process handled as a server, by topic, method and outcome (ok, error).',
    labelNames: ['topic', 'method', 'outcome'] as const,
    registers: [registry],
  });
  const handledLatency = new Histogram({
    name: 'neutrino_rpc_handled_duration_seconds',
    help: 'Time this process took to handle an RPC message, by topic and method.',
    labelNames: ['topic', 'method'] as const,
    buckets: RPC_BUCKETS,
    registers: [registry],
  });

  async function timed<T>(kind: 'call' | 'cast' | 'fanout', topic: string, method: string, send: () => Promise<T>): Promise<T> {
    const started = performance.now();
    let outcome: Outcome = 'ok';
    try {
      return await send();
    } catch (err) {
      outcome = outcomeOf(err);
      throw err;
    } finally {
      sent.inc({ kind, topic, method, outcome });
      sentLatency.observe({ kind, method }, (performance.now() - started) / 1000);
    }
  }

  function countedHandlers(topic: string, handlers: RpcHandlers): RpcHandlers {
    const out: RpcHandlers = {};
    for (const [method, handler] of Object.entries(handlers)) {
      out[method] = async (ctx, args) => {
        const started = performance.now();
        let outcome: Outcome = 'ok';
        try {
          return await handler(ctx, args);
        } catch (err) {
          outcome = 'error';
          throw err;
        } finally {
          handled.inc({ topic, method, outcome });
          handledLatency.observe({ topic, method }, (performance.now() - started) / 1000);
        }
      };
    }
    return out;
  }

  const counted: Pick<RpcBus, 'call' | 'cast' | 'fanout' | 'serve'> = {
    call: (target, method, args, opts) => timed('call', topicOf(target), method, () => bus.call(target, method, args, opts)),
    cast: (target, method, args, opts) => timed('cast', topicOf(target), method, () => bus.cast(target, method, args, opts)),
    fanout: (topic, method, args, opts) => timed('fanout', topic, method, () => bus.fanout(topic, method, args, opts)),
    serve: (topic, host, handlers) => bus.serve(topic, host, countedHandlers(topic, handlers)),
  };
  return new Proxy(bus, {
    get(target, prop) {
      if (typeof prop === 'string' && Object.hasOwn(counted, prop)) return counted[prop as keyof typeof counted];
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

// Entry point of the RPC layer: pick the transport from `[DEFAULT] transport_url`.
//   (unset), '' or memory://[name]   -> in-process bus (all-in-one)
//   rabbit://... or amqp://...        -> RabbitMQ
import { AmqpBus, type AmqpBusOptions } from './amqp.js';
import type { RpcBus } from './bus.js';
import { MemoryBus, sharedBroker, type MemoryBroker } from './memory.js';
import { parseTransportUrl } from './url.js';

export * from './bus.js';
export { AmqpBus, type AmqpBusOptions } from './amqp.js';
export { MemoryBus, MemoryBroker, sharedBroker, type MemoryBusOptions } from './memory.js';
export { parseTransportUrl, redactTransportUrl, type BrokerHost, type TransportUrl } from './url.js';
export type { ReconnectOptions } from './amqp-link.js';
export { OSLO_RABBIT_DEFAULTS, rabbitLayout, type RabbitLayout, type RabbitQueueOptions } from './rabbit-layout.js';
export { silentLogger } from './log.js';

export type CreateBusOptions = AmqpBusOptions & { broker?: MemoryBroker };

/**
 * A bus for a transport URL. Throws TransportUrlError on a malformed or unsupported URL. The
 * AMQP bus connects in the background and retries forever; calls made before it is connected
 * wait up to their timeout.
 */
export function createBus(transportUrl: string | null | undefined, opts: CreateBusOptions = {}): RpcBus {
  if (!transportUrl?.trim()) return new MemoryBus({ ...opts, broker: opts.broker ?? sharedBroker() });
  const url = parseTransportUrl(transportUrl);
  if (url.driver === 'memory') return new MemoryBus({ ...opts, broker: opts.broker ?? sharedBroker(url.memoryName) });
  return new AmqpBus(url, opts);
}

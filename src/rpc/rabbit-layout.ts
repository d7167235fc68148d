// What the bus declares on RabbitMQ, flag for flag as oslo.messaging's rabbit driver (kombu)
// declares it, so neutrino can share a vhost with OpenStack services: RabbitMQ answers a
// re-declaration that differs in `durable`, `auto_delete`, `exclusive` or an `x-` argument
// with 406 PRECONDITION_FAILED and closes the channel.
//
//   name                       kind     durable          auto_delete       arguments
//   <control_exchange>         topic    durable_queues   amqp_auto_delete  -
//   <topic>, <topic>.<host>    queue    durable_queues   amqp_auto_delete  ha / quorum
//   <topic>_fanout             fanout   false            true              -
//   <topic>_fanout_<uuid hex>  queue    false            false             x-expires, ha
//   reply_<uuid hex>           queue    false            false             x-expires, ha
//
// durable_queues is `amqp_durable_queues`, forced on by `rabbit_quorum_queue` (quorum queues are
// always durable). No queue is exclusive. x-expires is `rabbit_transient_queues_ttl` in ms.
import type { Options } from 'amqplib';

/** The `[oslo_messaging_rabbit]` options that shape declarations, under oslo's defaults. */
export interface RabbitQueueOptions {
  /** amqp_durable_queues */
  durableQueues: boolean;
  /** amqp_auto_delete */
  autoDelete: boolean;
  /** rabbit_transient_queues_ttl, in seconds: x-expires of fanout and reply queues. */
  transientQueuesTtl: number;
  /** rabbit_ha_queues: x-ha-policy=all on every queue. */
  haQueues: boolean;
  /** rabbit_quorum_queue: x-queue-type=quorum on the topic queues. */
  quorumQueue: boolean;
  /** rabbit_quorum_delivery_limit (0: none). */
  quorumDeliveryLimit: number;
  /** rabbit_quroum_max_memory_length (oslo's spelling; 0: none). */
  quorumMaxMemoryLength: number;
  /** rabbit_quroum_max_memory_bytes (0: none). */
  quorumMaxMemoryBytes: number;
}

export const OSLO_RABBIT_DEFAULTS: Readonly<RabbitQueueOptions> = {
  durableQueues: false,
  autoDelete: false,
  transientQueuesTtl: 1800,
  haQueues: false,
  quorumQueue: false,
  quorumDeliveryLimit: 0,
  quorumMaxMemoryLength: 0,
  quorumMaxMemoryBytes: 0,
};

export interface RabbitLayout {
  controlExchange: Options.AssertExchange;
  topicQueue: Options.AssertQueue;
  fanoutExchange: Options.AssertExchange;
  fanoutQueue: Options.AssertQueue;
  replyQueue: Options.AssertQueue;
}

/** Throws (a plain Error, the caller names the option) on settings oslo refuses too. */
export function rabbitLayout(partial: Partial<RabbitQueueOptions> = {}): RabbitLayout {
  const o = { ...OSLO_RABBIT_DEFAULTS, ...partial };
  if (o.quorumQueue && o.haQueues) throw new Error('rabbit_quorum_queue and rabbit_ha_queues cannot both be enabled');
  if (!Number.isInteger(o.transientQueuesTtl) || o.transientQueuesTtl < 1) throw new Error('rabbit_transient_queues_ttl must be a positive integer');
  const durable = o.durableQueues || o.quorumQueue;
  const ha: Record<string, unknown> = o.haQueues ? { 'x-ha-policy': 'all' } : {};
  const topicArgs: Record<string, unknown> = { ...ha };
  if (o.quorumQueue) {
    topicArgs['x-queue-type'] = 'quorum';
    if (o.quorumDeliveryLimit) topicArgs['x-delivery-limit'] = o.quorumDeliveryLimit;
    if (o.quorumMaxMemoryLength) topicArgs['x-max-in-memory-length'] = o.quorumMaxMemoryLength;
    if (o.quorumMaxMemoryBytes) topicArgs['x-max-in-memory-bytes'] = o.quorumMaxMemoryBytes;
  }
  const transient: Options.AssertQueue = {
    durable: false,
    autoDelete: false,
    exclusive: false,
    arguments: { ...ha, 'x-expires': o.transientQueuesTtl * 1000 },
  };
  return {
    controlExchange: { durable, autoDelete: o.autoDelete },
    topicQueue: { durable, autoDelete: o.autoDelete, exclusive: false, arguments: topicArgs },
    fanoutExchange: { durable: false, autoDelete: true },
    fanoutQueue: transient,
    replyQueue: transient,
  };
}

/**
 * Message properties as kombu's producer sets them for oslo: JSON, persistent (which only
 * matters on durable queues), priority 0.
 */
export const MESSAGE_PROPERTIES = { contentType: 'application/json', contentEncoding: 'utf-8', deliveryMode: 2, priority: 0 } as const;

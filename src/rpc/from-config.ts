// The bus a server or agent process uses: [DEFAULT] transport_url, or the in-process bus when it
// is unset, with oslo.messaging's options: [DEFAULT] control_exchange and rpc_response_timeout,
// and the [oslo_messaging_rabbit] settings that decide how queues are declared. A malformed URL
// or settings oslo refuses too are configuration errors, reported like any other bad option.
import type { Config } from '../config/index.js';
import { ConfigError } from '../config/errors.js';
import { createBus, rabbitLayout, TransportUrlError, type CreateBusOptions, type RabbitQueueOptions, type RpcBus } from './index.js';

export function rabbitOptionsFromConfig(cfg: Config): RabbitQueueOptions {
  const r = cfg.oslo_messaging_rabbit;
  const o: RabbitQueueOptions = {
    durableQueues: r.amqp_durable_queues,
    autoDelete: r.amqp_auto_delete,
    transientQueuesTtl: r.rabbit_transient_queues_ttl,
    haQueues: r.rabbit_ha_queues,
    quorumQueue: r.rabbit_quorum_queue,
    quorumDeliveryLimit: r.rabbit_quorum_delivery_limit,
    quorumMaxMemoryLength: r.rabbit_quroum_max_memory_length,
    quorumMaxMemoryBytes: r.rabbit_quroum_max_memory_bytes,
  };
  try {
    rabbitLayout(o);
  } catch (err) {
    throw new ConfigError(`[oslo_messaging_rabbit] ${(err as Error).message}`, {});
  }
  return o;
}

export function busFromConfig(cfg: Config, logger: CreateBusOptions['logger']): RpcBus {
  const opts: CreateBusOptions = {
    logger,
    controlExchange: cfg.DEFAULT.control_exchange,
    defaultTimeoutMs: cfg.DEFAULT.rpc_response_timeout * 1000,
    rabbit: rabbitOptionsFromConfig(cfg),
  };
  try {
    return createBus(cfg.DEFAULT.transport_url, opts);
  } catch (err) {
    if (err instanceof TransportUrlError) throw new ConfigError(`[DEFAULT] transport_url: ${err.message}`, {});
    throw err;
  }
}

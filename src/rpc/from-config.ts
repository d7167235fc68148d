// The bus a server or agent process uses: [DEFAULT] transport_url, or the in-process bus when it
// is unset. A malformed URL is a configuration error, reported like any other bad option.
import type { Config } from '../config/index.js';
import { ConfigError } from '../config/errors.js';
import { createBus, TransportUrlError, type CreateBusOptions, type RpcBus } from './index.js';

export function busFromConfig(cfg: Config, logger: CreateBusOptions['logger']): RpcBus {
  try {
    return createBus(cfg.DEFAULT.transport_url, { logger });
  } catch (err) {
    if (err instanceof TransportUrlError) throw new ConfigError(`[DEFAULT] transport_url: ${err.message}`, {});
    throw err;
  }
}

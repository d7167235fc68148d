// The bus's logger when the caller gives none: the process's (core/log.ts), named neutrino.rpc, so
// connection losses and dropped replies are visible by default; NEUTRINO_RPC_LOG_LEVEL lowers or raises it.
import { getLogger } from '../core/log.js';
import type { RpcLogger } from './bus.js';

let fallback: RpcLogger | null = null;

export function defaultLogger(): RpcLogger {
  if (!fallback) {
    const log = getLogger('neutrino.rpc');
    const level = process.env.NEUTRINO_RPC_LOG_LEVEL;
    if (level) log.level = level;
    fallback = log;
  }
  return fallback;
}

/** A logger that drops everything (tests that provoke failures on purpose). */
export const silentLogger: RpcLogger = { debug() {}, info() {}, warn() {}, error() {} };

// The bus's logger when the caller gives none: pino on stderr at 'warn', so connection losses
// and dropped replies are visible by default without flooding an all-in-one's output.
import { pino } from 'pino';
import type { RpcLogger } from './bus.js';

let fallback: RpcLogger | null = null;

export function defaultLogger(): RpcLogger {
  fallback ??= pino({ name: 'rpc', level: process.env.NEUTRINO_RPC_LOG_LEVEL ?? 'warn' }, pino.destination(2));
  return fallback;
}

/** A logger that drops everything (tests that provoke failures on purpose). */
export const silentLogger: RpcLogger = { debug() {}, info() {}, warn() {}, error() {} };

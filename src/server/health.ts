// The checks behind /healthcheck ([healthcheck] backends): the database answers a query, the RPC
// bus is connected to its broker, and oslo's disable_by_file (503 while an operator's file exists,
// to drain a server from its load balancer before maintenance).
import { existsSync } from 'node:fs';
import { sql } from 'kysely';
import type { HealthBackend } from '../api/healthcheck.js';
import { ConfigError } from '../config/errors.js';
import type { Config } from '../config/index.js';
import type { Db } from '../db/connection.js';
import type { RpcBus } from '../rpc/index.js';

export const HEALTH_BACKENDS = ['database', 'messaging', 'disable_by_file'] as const;

function database(db: Db): HealthBackend {
  return {
    name: 'database',
    async check() {
      try {
        await sql`SELECT 1`.execute(db.kysely);
        return { available: true, reason: 'OK', details: `${db.describe} answered` };
      } catch (err) {
        return { available: false, reason: 'DATABASE UNAVAILABLE', details: `${db.describe}: ${(err as Error).message}` };
      }
    },
  };
}

function messaging(bus: RpcBus | null): HealthBackend {
  return {
    name: 'messaging',
    async check() {
      if (!bus) return { available: true, reason: 'OK', details: 'no RPC bus: this server talks to no agents' };
      // The AMQP bus tells whether it holds a broker connection; the in-memory one always does.
      const connected = (bus as { connected?: boolean }).connected ?? true;
      return connected
        ? { available: true, reason: 'OK', details: `${bus.transport} bus connected` }
        : { available: false, reason: 'MESSAGING UNAVAILABLE', details: `${bus.transport} bus: no connection to the broker` };
    },
  };
}

function disableByFile(path: string | null): HealthBackend {
  return {
    name: 'disable_by_file',
    async check() {
      if (!path) return { available: true, reason: 'OK', details: 'No [healthcheck] disable_by_file_path set' };
      return existsSync(path)
        ? { available: false, reason: 'DISABLED BY FILE', details: `Path '${path}' was found` }
        : { available: true, reason: 'OK', details: `Path '${path}' was not found` };
    },
  };
}

/** The configured backends, in their order; an unknown name is a configuration error. */
export function healthBackends(cfg: Config, db: Db, bus: RpcBus | null): HealthBackend[] {
  return cfg.healthcheck.backends.map((name) => {
    if (name === 'database') return database(db);
    if (name === 'messaging') return messaging(bus);
    if (name === 'disable_by_file') return disableByFile(cfg.healthcheck.disable_by_file_path);
    throw new ConfigError(`[healthcheck] backends: unknown backend "${name}"; known: ${HEALTH_BACKENDS.join(', ')}`, {
      section: 'healthcheck',
      option: 'backends',
    });
  });
}

// One Prometheus registry per server: the process (CPU, memory, event loop, GC), the HTTP API,
// the database, the RPC bus, and the agents alive per type (read from the agents table at each
// scrape, with [DEFAULT] agent_down_time as GET /v2.0/agents computes `alive`).
import type { FastifyInstance } from 'fastify';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { instrumentHttp, serveMetrics } from '../api/metrics.js';
import type { Config } from '../config/index.js';
import type { Db } from '../db/connection.js';
import { observeDb } from '../db/metrics.js';
import { i2b } from '../db/tx.js';
import { isoAt } from '../plugins/agents/agents.js';
import { instrumentBus } from '../rpc/metrics.js';
import type { RpcBus } from '../rpc/index.js';

export interface ServerMetrics {
  registry: Registry;
  /** The bus to hand to the plugins and RPC servers: the given one, counted. */
  bus: RpcBus | null;
  /** Counts the API's requests and serves /metrics. */
  serve(app: FastifyInstance): void;
}

function agentsAlive(db: Db, registry: Registry, agentDownTime: number): void {
  new Gauge({
    name: 'neutrino_agents',
    help: 'Agents known to the server, by type, whether alive (a heartbeat within agent_down_time) and admin_state_up.',
    labelNames: ['agent_type', 'alive', 'admin_state_up'] as const,
    registers: [registry],
    async collect() {
      const rows = await db.kysely.selectFrom('agents').select(['agent_type', 'heartbeat_timestamp', 'admin_state_up']).execute();
      const cutoff = isoAt(Date.now() - agentDownTime * 1000);
      this.reset();
      for (const r of rows) {
        const labels = { agent_type: r.agent_type, alive: String(r.heartbeat_timestamp >= cutoff), admin_state_up: String(i2b(r.admin_state_up)) };
        this.inc(labels);
      }
    },
  });
}

/** Null when [metrics] enabled is off: nothing is counted and the bus is left as it is. */
export function serverMetrics(cfg: Config, db: Db, bus: RpcBus | null): ServerMetrics | null {
  if (!cfg.metrics.enabled) return null;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'neutrino_' });
  observeDb(db, registry);
  agentsAlive(db, registry, cfg.DEFAULT.agent_down_time);
  return {
    registry,
    bus: bus ? instrumentBus(bus, registry) : null,
    serve(app) {
      instrumentHttp(app, registry);
      serveMetrics(app, registry);
    },
  };
}

// A state-report worker ([DEFAULT] rpc_state_report_workers): it answers report_state on
// q-reports-plugin and nothing else, so it opens the database and the bus without assembling the
// server (plugins, policy, API): about 40 MiB less resident memory than a whole server process.
// The primary migrated the database before forking it.
import { hostname } from 'node:os';
import type { Config } from '../config/index.js';
import { openDb, reachDatabase } from '../db/connection.js';
import { serveReportState } from '../plugins/agents/report-state.js';
import type { RpcBus } from '../rpc/index.js';
import { serveInBackground } from './serve-rpc.js';
import { databaseUrl } from './settings.js';

export interface ReportsWorker {
  close(): Promise<void>;
}

export async function startReportsWorker(
  cfg: Config,
  bus: RpcBus,
  onDatabaseRetry?: (attempt: number, reason: string) => void,
): Promise<ReportsWorker> {
  const startTime = Date.now();
  const db = openDb(databaseUrl(cfg), {
    size: cfg.database.max_pool_size,
    overflow: cfg.database.max_overflow,
    connectTimeoutMs: cfg.database.pool_timeout * 1000,
    queryTimeoutMs: cfg.database.query_timeout * 1000,
  });
  try {
    await reachDatabase(db, {
      retries: cfg.database.max_retries,
      intervalMs: cfg.database.retry_interval * 1000,
      ...(onDatabaseRetry ? { onRetry: onDatabaseRetry } : {}),
    });
  } catch (err) {
    await db.close();
    throw err;
  }
  // Neutron's server serves `<topic>.<[DEFAULT] host>` too (as createServer's serveAgents).
  const host = cfg.DEFAULT.host || hostname();
  const serving = await serveInBackground(bus, [
    () => serveReportState(bus, host, db, { agentDownTime: cfg.DEFAULT.agent_down_time, startTime }).then((h) => [h]),
  ]);
  return {
    async close() {
      await serving.stop();
      await db.close();
    },
  };
}

// Prometheus metrics of the database: how long write transactions take and how they end (commit,
// rollback, retried after a deadlock), and the connection pool's use, read at each scrape.
import { Gauge, Histogram, type Registry } from 'prom-client';
import type { Db } from './connection.js';

/** Seconds: a small write commits in milliseconds; a bulk create or a contended lock takes longer. */
const TRANSACTION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export function observeDb(db: Db, registry: Registry): void {
  const transactions = new Histogram({
    name: 'neutrino_db_transaction_duration_seconds',
    help: 'Write transactions, by outcome (commit, rollback, retry: a deadlock or serialization failure run again).',
    labelNames: ['outcome'] as const,
    buckets: TRANSACTION_BUCKETS,
    registers: [registry],
  });
  db.observer = (seconds, outcome) => transactions.observe({ outcome }, seconds);

  const poolUse = db.poolUse;
  if (!poolUse) return;
  new Gauge({
    name: 'neutrino_db_pool_connections',
    help: 'Database connections of the pool by state (open, idle, waiting: requests waiting for one, max: the pool size).',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const use = poolUse();
      for (const state of ['open', 'idle', 'waiting', 'max'] as const) this.set({ state }, use[state]);
    },
  });
}

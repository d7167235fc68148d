// Quotas: limits per project and resource (defaults from [quotas], overrides in the quotas
// table), enforced inside the write transaction. The project's lock row is taken FOR UPDATE
// before counting, so concurrent creates in one project cannot both pass a nearly-full check.
import { sql } from 'kysely';
import { overQuota } from './errors.js';
import type { Db } from '../db/connection.js';
import { forUpdate, untyped, type Reader, type Tx } from '../db/tx.js';
import { Precompiled } from '../db/precompiled.js';

/**
 * Counts what a project owns of one resource. `atLeast`, when given, answers "owns at least n?"
 * without counting past n, which is all a quota check needs.
 */
export type Counter = ((db: Reader, projectId: string) => Promise<number>) & {
  atLeast?: (db: Reader, projectId: string, n: number) => Promise<boolean>;
};

export const tableCounter = (table: string): Counter =>
  Object.assign(
    async (db: Reader, projectId: string) => {
      const r = await untyped(db).selectFrom(table).select(sql<number>`count(*)`.as('n')).where('project_id', '=', projectId).executeTakeFirst();
      return Number((r as { n?: unknown } | undefined)?.n ?? 0);
    },
    {
      // count(*) walks all of the project's index entries, so creates would slow down as it grows;
      // looking for its n-th row stops there (with the default limits, a few hundred entries).
      atLeast: async (db: Reader, projectId: string, n: number) => {
        if (n <= 0) return true;
        const r = await untyped(db)
          .selectFrom(table)
          .select(sql<number>`1`.as('one'))
          .where('project_id', '=', projectId)
          .limit(1)
          .offset(n - 1)
          .executeTakeFirst();
        return r !== undefined;
      },
    },
  );

/** A project's overrides (read by every quota check: compiled once). */
const LIMITS = new Precompiled((db, slot) => db.kysely.selectFrom('quotas').select(['resource', 'hard_limit']).where('project_id', '=', slot(0)));

export class QuotaEngine {
  private readonly counters = new Map<string, Counter>();

  constructor(
    private readonly db: Db,
    private readonly defaults: Record<string, number>,
  ) {}

  /** Registers a quota-tracked resource (service plugins add theirs). */
  register(resource: string, defaultLimit: number, counter: Counter): void {
    this.defaults[resource] ??= defaultLimit;
    this.counters.set(resource, counter);
  }

  resources(): string[] {
    return [...this.counters.keys()];
  }

  defaultLimits(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.counters.keys()) out[r] = this.defaults[r] ?? -1;
    return out;
  }

  async limits(db: Reader, projectId: string): Promise<Record<string, number>> {
    const out = this.defaultLimits();
    const rows = await LIMITS.run(this.db, db, [projectId]);
    for (const r of rows) if (r.resource in out) out[r.resource] = Number(r.hard_limit);
    return out;
  }

  async usage(db: Reader, projectId: string): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const [r, count] of this.counters) out[r] = await count(db, projectId);
    return out;
  }

  /** How many of `resource` the project has. */
  async used(db: Reader, projectId: string, resource: string): Promise<number> {
    const count = this.counters.get(resource);
    return count ? count(db, projectId) : 0;
  }

  /** Takes the project's lock row for the rest of the transaction. */
  async lockProject(tx: Tx, projectId: string): Promise<void> {
    if (this.db.dialect === 'sqlite') return; // one writer at a time already
    const lock = () => forUpdate(this.db, tx.selectFrom('project_locks').select('project_id').where('project_id', '=', projectId)).executeTakeFirst();
    if (await lock()) return;
    // First write of this project: create its lock row. Racing first writers may deadlock here;
    // inTransaction retries them, and by then the row exists.
    const ins = tx.insertInto('project_locks').values({ project_id: projectId, counter: 0 });
    await (this.db.dialect === 'mysql' ? ins.ignore() : ins.onConflict((oc) => oc.doNothing())).execute();
    await lock();
  }

  /**
   * Fails with OverQuota when adding `adding` items of `resource` would pass the project's limit.
   * Must run inside the transaction that inserts them.
   */
  enforce(tx: Tx, projectId: string, want: Record<string, number>): Promise<void> {
    return this.check(tx, projectId, want, false);
  }

  /**
   * enforce() for items this transaction has already inserted (they are counted), run last, just
   * before the commit: the project's lock is then held only for the count and the commit, not
   * for the whole write. Correct under READ COMMITTED (PostgreSQL, and MySQL as db/connection.ts
   * sets it): the count, a statement begun after the lock was granted, sees what the previous
   * holder committed.
   */
  enforceInserted(tx: Tx, projectId: string, added: Record<string, number>): Promise<void> {
    return this.check(tx, projectId, added, true);
  }

  private async check(tx: Tx, projectId: string, want: Record<string, number>, counted: boolean): Promise<void> {
    const before = await this.limits(tx, projectId);
    if (!Object.entries(want).some(([r, n]) => n > 0 && (before[r] ?? -1) >= 0)) return;
    await this.lockProject(tx, projectId);
    // Read again under the lock: a quota update (which takes the same lock to check usage) may have
    // lowered a limit since. Not on SQLite, whose write transaction has run alone since its start.
    const limits = this.db.dialect === 'sqlite' ? before : await this.limits(tx, projectId);
    const limited = Object.entries(want).filter(([r, n]) => n > 0 && (limits[r] ?? -1) >= 0);
    const over: string[] = [];
    for (const [r, n] of limited) {
      const counter = this.counters.get(r);
      if (!counter) continue;
      // count + n > limit  <=>  count >= limit - n + 1 (count >= limit + 1 when it holds the n)
      const over1 = counted ? limits[r]! + 1 : limits[r]! - n + 1;
      const reached = counter.atLeast ? await counter.atLeast(tx, projectId, over1) : (await counter(tx, projectId)) >= over1;
      if (reached) over.push(r);
    }
    if (over.length) throw overQuota(over);
  }
}

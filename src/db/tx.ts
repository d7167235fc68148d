// Write transactions: one per API write, retried whole on deadlocks/serialization failures
// (Neutron's retry_db_errors), with row locks that mean something on each backend.
import { sql, type Kysely, type Transaction, type SelectQueryBuilder } from 'kysely';
import type { Database } from './schema.js';
import { isRetriable, type Db } from './connection.js';

export type Tx = Transaction<Database>;

/**
 * Thrown inside inTransaction() to run the whole transaction again: something it read went away
 * before it wrote what refers to it (a subnet deleted while a port create took an address on it).
 */
export class TransactionRace extends Error {
  override readonly name = 'TransactionRace';
}

export async function inTransaction<T>(db: Db, fn: (tx: Tx) => Promise<T>, retries = 20): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const started = performance.now();
    try {
      const result = await db.kysely.transaction().execute(fn);
      db.observer?.((performance.now() - started) / 1000, 'commit');
      return result;
    } catch (err) {
      const retry = attempt < retries && (isRetriable(err) || err instanceof TransactionRace);
      db.observer?.((performance.now() - started) / 1000, retry ? 'retry' : 'rollback');
      if (!retry) throw err;
      // Back off a little, with jitter, so retried transactions do not collide again.
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(100, 2 ** attempt)));
    }
  }
}

/** Any SELECT, whatever its tables and columns: for helpers that only add clauses to one. */
// biome-ignore lint/suspicious/noExplicitAny: Kysely's builder is invariant in its type parameters, so only `any` accepts every SELECT.
export type AnySelect = SelectQueryBuilder<any, any, any>;

/** The database seen without its schema, for tables named at run time (a definition's, a quota's). */
// biome-ignore lint/suspicious/noExplicitAny: Kysely types table names statically; these are only known at run time.
export const untyped = (db: Reader): Kysely<any> => db as unknown as Kysely<any>;

/**
 * SELECT ... FOR UPDATE on PostgreSQL/MySQL. SQLite has no row locks and needs none: Kysely runs
 * one SQLite transaction at a time on its single connection.
 */
export function forUpdate<QB extends AnySelect>(db: Db, qb: QB): QB {
  return db.dialect === 'sqlite' ? qb : (qb.forUpdate() as QB);
}

/**
 * SELECT ... with a shared row lock on PostgreSQL/MySQL: any number of transactions hold it at once,
 * and it keeps out those that take the row FOR UPDATE (or change it) until they commit. MariaDB has
 * no FOR SHARE, only its older spelling.
 */
export function forShare<QB extends AnySelect>(db: Db, qb: QB): QB {
  if (db.dialect === 'sqlite') return qb;
  return (db.dialect === 'mysql' ? qb.modifyEnd(sql`lock in share mode`) : qb.forShare()) as QB;
}

/** Reads outside a transaction. */
export type Reader = Kysely<Database> | Tx;

/** SQL booleans are stored as 0/1 everywhere. */
export const b2i = (v: boolean) => (v ? 1 : 0);
export const i2b = (v: unknown) => v === 1 || v === true || v === '1';

export const nowIso = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

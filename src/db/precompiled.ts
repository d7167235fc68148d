// Statements of a fixed shape that hot paths (a port create) run again and again: built and
// compiled by Kysely once per database, then run as the compiled SQL with new parameters.
// Building and compiling a statement costs about as much CPU as SQLite takes to run it.
import { CompiledQuery, type Compilable, type Kysely } from 'kysely';
import type { Database } from './schema.js';
import type { Db } from './connection.js';
import type { Reader } from './tx.js';

/** Stands for a parameter while the statement is compiled: `slot(0)` is the first argument of run(). */
export type Slot = (i: number) => string;

const marker = (i: number) => `\0slot ${i}\0`;

/**
 * A statement whose parameters are run()'s arguments (slots) or constants. `build` makes it for
 * the database (its dialect may shape it), with `slot(i)` where argument i goes; every slot must reach the
 * compiled statement as one parameter, unchanged (a value Kysely would rewrite, or a list whose
 * length varies, cannot be a slot).
 */
export class Precompiled<R> {
  private compiled: { db: Kysely<Database>; sql: string; params: ReadonlyArray<{ slot: number } | { value: unknown }> } | undefined;

  constructor(private readonly build: (db: Db, slot: Slot) => Compilable<R>) {}

  /** Runs it with `args` in `db` (a transaction or a pool) of the database `on`. */
  async run(on: Db, db: Reader, args: readonly unknown[]): Promise<R[]> {
    let c = this.compiled;
    if (c?.db !== on.kysely) {
      const q = this.build(on, marker).compile();
      const params = q.parameters.map((v) => {
        const m = typeof v === 'string' ? /^\0slot (\d+)\0$/.exec(v) : null;
        return m ? { slot: Number(m[1]) } : { value: v };
      });
      c = this.compiled = { db: on.kysely, sql: q.sql, params };
      on.prepare?.(q.sql);
    }
    const values = c.params.map((p) => ('slot' in p ? args[p.slot] : p.value));
    return (await db.executeQuery<R>(CompiledQuery.raw(c.sql, values))).rows;
  }
}

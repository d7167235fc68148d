// Db.prepare(): on PostgreSQL a marked SQL text runs as a named prepared statement on each
// connection (parsed and planned there once); other statements stay unnamed. SQLite and MySQL
// run it as given, with the same results.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CompiledQuery } from 'kysely';
import { openDb, type Db } from '../../src/db/connection.js';
import { BACKENDS, skipUnless } from '../helpers/backends.js';

for (const backend of BACKENDS) {
  describe(`prepared statements on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let db: Db;
    let drop: () => Promise<void>;
    before(async () => {
      const made = await backend.create();
      drop = made.drop;
      // One connection: every statement below meets the same session.
      db = openDb(made.url, 1);
    });
    after(async () => {
      await db?.close();
      await drop?.();
    });

    it('runs a marked statement again and again with its parameters', async () => {
      const marker = backend.name === 'postgres' ? '$1' : '?';
      const text = `select ${backend.name === 'postgres' ? `cast(${marker} as text)` : marker} as v`;
      db.prepare?.(text);
      for (const v of ['a', 'b', 'c']) {
        const r = await db.kysely.executeQuery<{ v: string }>(CompiledQuery.raw(text, [v]));
        assert.equal(r.rows[0]!.v, v);
      }
      if (backend.name !== 'postgres') return;
      const named = await db.kysely.executeQuery<{ statement: string }>(
        CompiledQuery.raw(`select statement from pg_prepared_statements where name like 'neutrino\\_%'`),
      );
      assert.deepEqual(
        named.rows.map((r) => r.statement),
        [text],
        'the marked text, and it alone, is a named statement of the session',
      );
    });
  });
}

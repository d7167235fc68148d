// The columns the definitions declare exist in the schema the migrations build, on every backend:
// a misspelt column would otherwise only fail when a client filters or sorts on it.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openDb, type Db } from '../../src/db/connection.js';
import { upgrade } from '../../src/db/migrate.js';
import { columnsOf, tableOf } from '../../src/plugins/common/list-sql.js';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { TABLE_DEFINITIONS } from '../helpers/table-definitions.js';

for (const backend of BACKENDS) {
  describe(`definition columns on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let db: Db;
    let drop: () => Promise<void>;
    before(async () => {
      const made = await backend.create();
      drop = made.drop;
      db = openDb(made.url, 2);
      await upgrade(db);
    });
    after(async () => {
      await db?.close();
      await drop?.();
    });

    it("every declared column is a column of the definition's table", async () => {
      const tables = new Map((await db.kysely.introspection.getTables()).map((t) => [t.name, new Set(t.columns.map((c) => c.name))]));
      for (const def of TABLE_DEFINITIONS) {
        const columns = tables.get(tableOf(def));
        assert.ok(columns, `${def.name}: no table ${tableOf(def)}`);
        for (const [attr, c] of Object.entries(columnsOf(def))) {
          assert.ok(columns.has(c.column), `${def.name}.${attr}: no column ${tableOf(def)}.${c.column}`);
        }
      }
    });
  });
}

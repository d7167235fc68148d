// Schema upgrades on every backend: a database made by the first landed schema (main at 1833966,
// migrations 001–005 and 007) upgrades to head with its rows intact and ends with the schema of a
// database made fresh at head; ledgers that the unordered era (008–011 applied in any order) left
// behind still upgrade; any other disorder is refused.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { sql, type Kysely, type Migration } from 'kysely';
import { openDb, type Db } from '../../src/db/connection.js';
import { appliedMigrations, migrator, MIGRATIONS, upgrade } from '../../src/db/migrate.js';
import { BACKENDS, skipUnless, type Backend } from '../helpers/backends.js';
import { FIRST_LANDED_ROWS, UPGRADE_DEFAULTS } from './first-landed-rows.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const HEAD = Object.keys(MIGRATIONS).sort();

/**
 * The first landed migrations are frozen: building "the first landed database" with today's files
 * is only faithful while they are byte for byte those of 1833966. The list was made with
 * `git show 1833966:<file> | sha256sum` (CI may have no git history).
 */
function assertFirstLandedFilesFrozen(): void {
  const list = readFileSync(join(ROOT, 'test/db/first-landed-migrations.sha256'), 'utf8').trim().split('\n');
  assert.equal(list.length, 6, 'migrations 001–005 and 007');
  for (const line of list) {
    const [sum, file] = line.split(/\s+/);
    const now = createHash('sha256')
      .update(readFileSync(join(ROOT, file!)))
      .digest('hex');
    assert.equal(now, sum, `${file} changed since 1833966; a shipped migration must stay as it shipped (add a new one instead)`);
  }
}

const only = (names: string[]): Record<string, Migration> => Object.fromEntries(names.map((n) => [n, MIGRATIONS[n]!]));
const upTo = (last: string) => HEAD.filter((n) => n <= last);

async function migrate(k: Kysely<any>, migrations: Record<string, Migration>, unordered = false): Promise<void> {
  const { error } = await migrator(k, migrations, unordered).migrateToLatest();
  if (error) throw error;
}

/** Tables with their columns (type, nullability, default) and indexes, as the backend reports them. */
async function schemaOf(db: Db): Promise<{ tables: unknown[]; indexes: string[] }> {
  const k = db.kysely as Kysely<any>;
  const tables = (await k.introspection.getTables())
    .map((t) => ({
      table: t.name,
      columns: t.columns.map((c) => `${c.name} ${c.dataType}${c.isNullable ? ' null' : ' not null'}${c.hasDefaultValue ? ' default' : ''}`),
    }))
    .sort((a, b) => a.table.localeCompare(b.table));
  let indexes: string[];
  if (db.dialect === 'sqlite') {
    const r = await sql<{ t: string; i: string; u: number; c: string }>`select m.name as t, il.name as i, il."unique" as u, ii.name as c
      from sqlite_master m join pragma_index_list(m.name) il join pragma_index_info(il.name) ii
      where m.type = 'table' and m.name not like 'kysely_%' order by m.name, il.name, ii.seqno`.execute(k);
    indexes = r.rows.map((x) => `${x.t} ${x.i} unique=${x.u} ${x.c}`);
  } else if (db.dialect === 'postgres') {
    const r = await sql<{ d: string }>`select indexdef as d from pg_indexes
      where schemaname = current_schema() and tablename not like 'kysely_%' order by tablename, indexname`.execute(k);
    indexes = r.rows.map((x) => x.d);
  } else {
    const r = await sql<{ t: string; i: string; u: number; c: string }>`select table_name as t, index_name as i, non_unique as u, column_name as c
      from information_schema.statistics where table_schema = database() and table_name not like 'kysely%'
      order by table_name, index_name, seq_in_index`.execute(k);
    indexes = r.rows.map((x) => `${x.t} ${x.i} non_unique=${x.u} ${x.c}`);
  }
  return { tables, indexes };
}

const ledgerNames = async (db: Db) => ((await appliedMigrations(db.kysely as Kysely<any>)) ?? []).map((r) => r.name);

/** Sets ledger timestamps, as another history of applying them would have left them. */
async function stamp(db: Db, stamps: Record<string, string>): Promise<void> {
  for (const [name, timestamp] of Object.entries(stamps)) {
    await (db.kysely as Kysely<any>).updateTable('kysely_migration').set({ timestamp }).where('name', '=', name).execute();
  }
}

const sortedJson = (rows: object[]) => rows.map((r) => JSON.stringify(r)).sort();

for (const backend of BACKENDS) {
  describe(`schema upgrade on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    const opened: { db: Db; drop(): Promise<void> }[] = [];
    const newDb = async (b: Backend): Promise<Db> => {
      const made = await b.create();
      const db = openDb(made.url, 2);
      opened.push({ db, drop: made.drop });
      return db;
    };
    let head: Db;
    let headSchema: Awaited<ReturnType<typeof schemaOf>>;
    before(async () => {
      head = await newDb(backend);
      assert.deepEqual(await upgrade(head), HEAD);
      headSchema = await schemaOf(head);
      assert.ok(
        headSchema.tables.length >= 40 && headSchema.indexes.length >= 60,
        `the backend reports the schema (${headSchema.indexes.length} index columns)`,
      );
    });
    after(async () => {
      for (const o of opened) {
        await o.db.close();
        await o.drop();
      }
    });

    it('a database of the first landed schema (1833966) upgrades to head: rows intact, schema as a fresh one', async () => {
      assertFirstLandedFilesFrozen();
      const db = await newDb(backend);
      const k = db.kysely as Kysely<any>;
      // What that code did: every migration it had, in order.
      await migrate(k, only(upTo('007_dhcp')));
      assert.deepEqual(await ledgerNames(db), upTo('007_dhcp'));
      for (const [table, rows] of FIRST_LANDED_ROWS) await k.insertInto(table).values(rows).execute();

      assert.deepEqual(
        await upgrade(db),
        HEAD.filter((n) => n > '007_dhcp'),
      );

      for (const [table, rows] of FIRST_LANDED_ROWS) {
        const keys = Object.keys(rows[0]!);
        const now = await k.selectFrom(table).selectAll().execute();
        assert.deepEqual(sortedJson(now.map((r) => Object.fromEntries(keys.map((c) => [c, r[c]])))), sortedJson(rows), `rows of ${table}`);
      }
      // Columns the upgrade added to old rows hold what the migrations say.
      for (const { table, where, expect } of UPGRADE_DEFAULTS) {
        const row = await k.selectFrom(table).select(Object.keys(expect)).where(where[0], '=', where[1]).executeTakeFirstOrThrow();
        assert.deepEqual({ ...row }, expect, `${table} ${where[1]}`);
      }
      assert.deepEqual(await ledgerNames(db), HEAD);
      assert.deepEqual(await schemaOf(db), headSchema);
    });

    it('a ledger with 011 before 010, 008 and 009 (applied unordered) is put in name order, and the schema is the fresh one', async () => {
      const db = await newDb(backend);
      const k = db.kysely as Kysely<any>;
      // main's history: 011 landed first, 010 and then 008/009 were applied after it.
      await migrate(k, only([...upTo('007_dhcp'), '011_metering_segments']));
      await migrate(k, only([...upTo('007_dhcp'), '010_agent_scheduling', '011_metering_segments']), true);
      await migrate(k, only(upTo('011_metering_segments')), true);
      await stamp(db, {
        ...Object.fromEntries(upTo('007_dhcp').map((n) => [n, '2026-11-22T06:40:00.000Z'])),
        '011_metering_segments': '2026-11-22T07:24:25.000Z',
        '010_agent_scheduling': '2026-11-22T07:31:41.000Z',
        '008_qos': '2026-11-22T07:32:27.000Z',
        '009_trunk': '2026-11-22T07:32:27.000Z',
      });
      assert.deepEqual((await ledgerNames(db)).slice(6), ['011_metering_segments', '010_agent_scheduling', '008_qos', '009_trunk']);
      const strict = await migrator(k).migrateToLatest();
      assert.match(String(strict.error), /corrupted migrations/, 'strict Kysely refuses this ledger as it is');

      // Ordered, then what came after that era.
      assert.deepEqual(
        await upgrade(db),
        HEAD.filter((n) => n > '011_metering_segments'),
      );
      assert.deepEqual(await ledgerNames(db), HEAD);
      assert.deepEqual((await migrator(k).migrateToLatest()).results, [], 'nothing left to apply, no error');
      assert.deepEqual(await schemaOf(db), headSchema);
    });

    it('a database at 011 without 008–010 (made between those merges) gets them and then an ordered ledger', async () => {
      const db = await newDb(backend);
      await migrate(db.kysely as Kysely<any>, only([...upTo('007_dhcp'), '011_metering_segments']));
      assert.deepEqual(await upgrade(db), ['008_qos', '009_trunk', '010_agent_scheduling', ...HEAD.filter((n) => n > '011_metering_segments')]);
      assert.deepEqual(await ledgerNames(db), HEAD);
      assert.deepEqual(await schemaOf(db), headSchema);
    });

    it('any other disorder is refused, naming the migration', async () => {
      // 003 recorded after 004: not something this code ever did, so not repaired.
      await stamp(head, { '003_security_groups': '2099-01-01T00:00:00.000Z' });
      await assert.rejects(upgrade(head), /corrupted migrations: expected previously executed migration 004_l3 to be at index 2/);
    });
  });
}

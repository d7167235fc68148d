// [database] slave_connection: API lists and shows read from the replica's pool, writes stay on
// connection. The "replica" is the same PostgreSQL database reached as another role that may only
// SELECT: pg_stat_activity shows which role ran the last statement of each connection, and a write
// sent there would fail for want of privileges.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { BACKENDS, PG_URL, skipUnless } from '../helpers/backends.js';
import { ADMIN, startServer, type TestServer } from '../helpers/server.js';
import { loadConfig } from '../../src/config/index.js';
import { readerUrl } from '../../src/server/settings.js';

const postgres = BACKENDS.find((b) => b.name === 'postgres')!;

describe('[database] slave_connection on postgres', { skip: await skipUnless(postgres) }, () => {
  const role = `neutrino_ro_${randomBytes(4).toString('hex')}`;
  let admin: pg.Client;
  let made: Awaited<ReturnType<typeof postgres.create>>;
  let s: TestServer;
  /** What each of the test database's connections as `user` last ran (a show's last query is its extensions' read of the same id). */
  const lastStatements = async (user: string) =>
    (
      await admin.query('SELECT query FROM pg_stat_activity WHERE usename = $1 AND datname = $2', [user, new URL(made.url).pathname.slice(1)])
    ).rows.map((r: { query: string }) => r.query);
  before(async () => {
    admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`CREATE ROLE ${role} LOGIN`);
    made = await postgres.create();
    // The tables the server's migrations make are readable, and only readable, by the role.
    const c = new pg.Client({ connectionString: made.url });
    await c.connect();
    await c.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO ${role}`);
    await c.end();
    const replica = new URL(made.url);
    replica.username = role;
    s = await startServer({ ...postgres, create: async () => made }, { database: { slave_connection: replica.toString() } });
  });
  after(async () => {
    await s?.stop(); // drops the database
    await admin.query(`DROP ROLE IF EXISTS ${role}`).catch(() => {});
    await admin.end();
  });

  it('lists and shows run as the replica role; creates as the primary one', async () => {
    const made1 = await s.req('POST', '/v2.0/networks', { network: { name: 'replicated' } }, ADMIN);
    assert.equal(made1.status, 201, 'a write on the read-only role would have failed: writes go to connection');
    const id = made1.body.network.id;
    const shown = await s.req('GET', `/v2.0/networks/${id}`, undefined, ADMIN);
    assert.equal(shown.status, 200);
    assert.ok(
      (await lastStatements(role)).some((q) => /network/.test(q)),
      `no networks read as ${role}: ${JSON.stringify(await lastStatements(role))}`,
    );
    const ports = await s.req('GET', '/v2.0/ports?limit=5', undefined, ADMIN);
    assert.equal(ports.status, 200);
    assert.ok(
      (await lastStatements(role)).some((q) => /port/.test(q)),
      JSON.stringify(await lastStatements(role)),
    );
    assert.match(s.server.db.describe, /\(reads: postgresql:/);
  });
});

describe('[database] slave_connection is checked at start-up', () => {
  it('refuses a replica of another kind or on SQLite', () => {
    const sqlite = loadConfig([], { database: { connection: 'sqlite://', slave_connection: 'postgresql://x@h/db' } });
    assert.throws(() => readerUrl(sqlite), /\[database\] slave_connection: a postgres replica of a sqlite database/);
    const mixed = loadConfig([], { database: { connection: 'postgresql://x@h/db', slave_connection: 'mysql://x@h/db' } });
    assert.throws(() => readerUrl(mixed), /a mysql replica of a postgres database/);
    const same = loadConfig([], { database: { connection: 'postgresql://x@h/db', slave_connection: 'postgresql://y@h2/db' } });
    assert.equal(readerUrl(same), 'postgresql://y@h2/db');
  });
});

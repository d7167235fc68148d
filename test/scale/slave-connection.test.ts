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
import { openDb } from '../../src/db/connection.js';
import { upgrade } from '../../src/db/migrate.js';

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

// A replica that never catches up: a second database with neutrino's schema that the writer never
// writes. Whatever a write answers, and the reads a write does (its policy target, the network a
// port goes on), must come from the writer; a GET reads the replica, so it sees nothing.
for (const backend of BACKENDS.filter((b) => b.name !== 'sqlite')) {
  describe(`[database] slave_connection lagging behind, on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let stale: Awaited<ReturnType<typeof backend.create>>;
    let s: TestServer;
    before(async () => {
      stale = await backend.create();
      const schemaOnly = openDb(stale.url, 1);
      await upgrade(schemaOnly);
      await schemaOnly.close();
      s = await startServer(backend, { database: { slave_connection: stale.url } });
    });
    after(async () => {
      await s?.stop();
      await stale?.drop();
    });

    it('writes answer from the writer; only GETs read the replica', async () => {
      const net = await s.req('POST', '/v2.0/networks', { network: { name: 'fresh' } }, ADMIN);
      assert.equal(net.status, 201, JSON.stringify(net.body));
      assert.equal(net.body.network.name, 'fresh');
      const id = net.body.network.id as string;
      const renamed = await s.req('PUT', `/v2.0/networks/${id}`, { network: { name: 'renamed' } }, ADMIN);
      assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
      assert.equal(renamed.body.network.name, 'renamed');
      assert.equal(renamed.body.network.revision_number, net.body.network.revision_number + 1);
      const tagged = await s.req('PUT', `/v2.0/networks/${id}/tags/blue`, undefined, ADMIN);
      assert.equal(tagged.status, 201, JSON.stringify(tagged.body));
      const sub = await s.req('POST', '/v2.0/subnets', { subnet: { network_id: id, ip_version: 4, cidr: '10.77.0.0/24' } }, ADMIN);
      assert.equal(sub.status, 201, JSON.stringify(sub.body));
      const port = await s.req('POST', '/v2.0/ports', { port: { network_id: id, name: 'p' } }, ADMIN);
      assert.equal(port.status, 201, JSON.stringify(port.body));
      assert.equal(port.body.port.fixed_ips[0].subnet_id, sub.body.subnet.id);
      const router = await s.req('POST', '/v2.0/routers', { router: { name: 'r' } }, ADMIN);
      assert.equal(router.status, 201, JSON.stringify(router.body));
      const iface = await s.req('PUT', `/v2.0/routers/${router.body.router.id}/add_router_interface`, { subnet_id: sub.body.subnet.id }, ADMIN);
      assert.equal(iface.status, 200, JSON.stringify(iface.body));
      const portUpdate = await s.req('PUT', `/v2.0/ports/${port.body.port.id}`, { port: { name: 'q' } }, ADMIN);
      assert.equal(portUpdate.status, 200, JSON.stringify(portUpdate.body));
      assert.equal(portUpdate.body.port.name, 'q');
      // The replica has none of it: GETs are where it is read.
      assert.equal((await s.req('GET', `/v2.0/networks/${id}`, undefined, ADMIN)).status, 404);
      assert.deepEqual((await s.req('GET', '/v2.0/ports', undefined, ADMIN)).body.ports, []);
      const removed = await s.req('PUT', `/v2.0/routers/${router.body.router.id}/remove_router_interface`, { subnet_id: sub.body.subnet.id }, ADMIN);
      assert.equal(removed.status, 200, JSON.stringify(removed.body));
      assert.equal((await s.req('DELETE', `/v2.0/ports/${port.body.port.id}`, undefined, ADMIN)).status, 204);
      assert.equal((await s.req('DELETE', `/v2.0/networks/${id}`, undefined, ADMIN)).status, 204);
    });
  });
}

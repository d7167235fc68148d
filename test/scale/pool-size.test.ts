// [database] max_pool_size / max_overflow (oslo.db's): a server with 3 + 2 opens exactly five
// connections when eight requests wait at once. The requests are made slow by a lock the test
// holds on the networks table from a connection of its own; the database's own view of its
// sessions (pg_stat_activity, information_schema.processlist) counts the server's.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection, type Connection } from 'mysql2/promise';
import pg from 'pg';
import { BACKENDS, PG_URL, MYSQL_URL, skipUnless, type Backend } from '../helpers/backends.js';
import { ADMIN, startServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';
import { loadConfig } from '../../src/config/index.js';

const SIZE = 3;
const OVERFLOW = 2;
const REQUESTS = 8;

interface Locker {
  /** Sessions on the server's database other than the locker's own. */
  sessions(): Promise<number>;
  release(): Promise<void>;
}

async function lockNetworks(backend: Backend, url: string): Promise<Locker> {
  const dbName = new URL(url.replace(/^mysql\+pymysql:/, 'mysql:')).pathname.slice(1);
  if (backend.name === 'postgres') {
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE networks IN ACCESS EXCLUSIVE MODE');
    const pid = (await holder.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    return {
      sessions: async () =>
        Number((await admin.query('SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> $2', [dbName, pid])).rows[0].n),
      release: async () => {
        await holder.query('COMMIT');
        await holder.end();
        await admin.end();
      },
    };
  }
  const opts = (u: URL) => ({ host: u.hostname, port: Number(u.port || 3306), user: decodeURIComponent(u.username || 'root') });
  const u = new URL(url.replace(/^mysql\+pymysql:/, 'mysql:'));
  const holder: Connection = await createConnection({ ...opts(u), database: dbName });
  await holder.query('LOCK TABLES networks WRITE');
  const id = Number(((await holder.query('SELECT CONNECTION_ID() AS id'))[0] as Array<{ id: number }>)[0]!.id);
  const admin = await createConnection(opts(new URL(MYSQL_URL.replace(/^mysql\+pymysql:/, 'mysql:'))));
  return {
    sessions: async () =>
      Number(
        (
          (await admin.query('SELECT COUNT(*) AS n FROM information_schema.processlist WHERE db = ? AND id <> ?', [dbName, id]))[0] as Array<{
            n: number;
          }>
        )[0]!.n,
      ),
    release: async () => {
      await holder.query('UNLOCK TABLES');
      await holder.end();
      await admin.end();
    },
  };
}

describe('[database] pool defaults', () => {
  it("are oslo.db's: 5 kept, 50 more at a peak", () => {
    const cfg = loadConfig([], {});
    assert.equal(cfg.database.max_pool_size, 5);
    assert.equal(cfg.database.max_overflow, 50);
  });
});

for (const backend of BACKENDS.filter((b) => b.name !== 'sqlite')) {
  describe(`[database] max_pool_size and max_overflow on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let s: TestServer | undefined;
    after(async () => {
      await s?.stop();
    });

    it(`opens max_pool_size + max_overflow connections under load, and no more`, async () => {
      let dbUrl = '';
      const remembered: Backend = {
        ...backend,
        create: async () => {
          const made = await backend.create();
          dbUrl = made.url;
          return made;
        },
      };
      s = await startServer(remembered, { database: { max_pool_size: String(SIZE), max_overflow: String(OVERFLOW) } });
      assert.equal(s.server.db.poolUse?.().max, SIZE + OVERFLOW);
      const lock = await lockNetworks(backend, dbUrl);
      let answers: Array<Promise<number>> = [];
      try {
        answers = Array.from({ length: REQUESTS }, () => s!.req('GET', '/v2.0/networks', undefined, ADMIN).then((r) => r.status));
        // Every connection the pool may open is taken by a request waiting on the lock; the rest queue.
        await waitFor(`${SIZE + OVERFLOW} server sessions`, async () => (await lock.sessions()) >= SIZE + OVERFLOW, 30_000);
        await new Promise((r) => setTimeout(r, 1000));
        assert.equal(await lock.sessions(), SIZE + OVERFLOW, 'the pool opened more than max_pool_size + max_overflow');
        const use = s.server.db.poolUse!();
        assert.equal(use.open, SIZE + OVERFLOW);
        assert.equal(use.waiting, REQUESTS - (SIZE + OVERFLOW), 'the other requests wait for a connection');
      } finally {
        await lock.release();
      }
      assert.deepEqual(await Promise.all(answers), Array(REQUESTS).fill(200));
    });
  });
}

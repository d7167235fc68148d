// The database backends API tests run on: SQLite always; PostgreSQL and MariaDB/MySQL from the
// machine's servers, each test run in a database of its own that is dropped afterwards. Outside
// CI a missing server skips (loudly); with CI=true it is a failure.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createConnection } from 'mysql2/promise';

export const PG_URL = process.env.NEUTRINO_TEST_PG ?? 'postgresql://postgres@127.0.0.1:5432/test';
export const MYSQL_URL = process.env.NEUTRINO_TEST_MYSQL ?? 'mysql+pymysql://root@127.0.0.1:3306/test';

export interface Backend {
  name: 'sqlite' | 'postgres' | 'mysql';
  /** Creates a fresh, empty database and returns its connection URL plus a cleanup. */
  create(): Promise<{ url: string; drop(): Promise<void> }>;
  /** Why it cannot run here, or null. */
  unavailable(): Promise<string | null>;
}

const dbName = () => `neutrino_t_${randomBytes(6).toString('hex')}`;

function withDb(url: string, db: string): string {
  const u = new URL(url.replace(/^mysql\+pymysql:/, 'mysql:'));
  u.pathname = `/${db}`;
  return url.startsWith('mysql+pymysql:') ? u.toString().replace(/^mysql:/, 'mysql+pymysql:') : u.toString();
}

const sqlite: Backend = {
  name: 'sqlite',
  async unavailable() {
    return null;
  },
  async create() {
    const dir = mkdtempSync(join(tmpdir(), 'neutrino-test-'));
    return { url: `sqlite:///${join(dir, 'db.sqlite')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  },
};

const postgres: Backend = {
  name: 'postgres',
  async unavailable() {
    // A server that is not there refuses at once; a slow answer is a loaded machine (tests in
    // parallel lanes, other work), not a missing service: give it time before failing CI.
    const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 20_000 });
    try {
      await c.connect();
      await c.end();
      return null;
    } catch (e) {
      return `PostgreSQL at ${PG_URL}: ${(e as Error).message}`;
    }
  },
  async create() {
    const name = dbName();
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    return {
      url: withDb(PG_URL, name),
      drop: async () => {
        const c = new pg.Client({ connectionString: PG_URL });
        await c.connect();
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await c.end();
      },
    };
  },
};

const mysqlConn = () => {
  const u = new URL(MYSQL_URL.replace(/^mysql\+pymysql:/, 'mysql:'));
  return createConnection({
    connectTimeout: 20_000,
    host: u.hostname,
    port: Number(u.port || 3306),
    user: decodeURIComponent(u.username || 'root'),
    password: decodeURIComponent(u.password) || undefined,
  });
};

const mysql: Backend = {
  name: 'mysql',
  async unavailable() {
    try {
      const c = await mysqlConn();
      await c.end();
      return null;
    } catch (e) {
      return `MySQL/MariaDB at ${MYSQL_URL}: ${(e as Error).message}`;
    }
  },
  async create() {
    const name = dbName();
    const c = await mysqlConn();
    await c.query(`CREATE DATABASE ${name}`);
    await c.end();
    return {
      url: withDb(MYSQL_URL, name),
      drop: async () => {
        const d = await mysqlConn();
        await d.query(`DROP DATABASE IF EXISTS ${name}`);
        await d.end();
      },
    };
  },
};

export const BACKENDS: Backend[] = [sqlite, postgres, mysql];

/** node:test `skip` value for a backend: false to run, a reason to skip; throws in CI. */
export async function skipUnless(b: Backend): Promise<false | string> {
  const why = await b.unavailable();
  if (!why) return false;
  if (process.env.CI) throw new Error(`${b.name} backend required in CI but unavailable: ${why}`);
  console.error(`\n!!! SKIPPING ${b.name} backend tests: ${why} (this would FAIL in CI) !!!\n`);
  return why;
}

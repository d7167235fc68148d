// Opens the database named by Neutron's [database] connection URL forms:
//   sqlite:///relative/path, sqlite:////absolute/path, sqlite:// (memory),
//   postgresql[+driver]://user:pass@host:port/db, mysql[+pymysql]://user:pass@host:port/db
import { CompiledQuery, Kysely, MysqlDialect, PostgresDialect, SqliteDialect, type SqliteDatabase as SqliteDialectDatabase } from 'kysely';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { createPool } from 'mysql2';
import type { Database } from './schema.js';

export type DialectName = 'sqlite' | 'postgres' | 'mysql';

export interface Db {
  kysely: Kysely<Database>;
  /**
   * For reads outside a transaction (lists, shows). On a SQLite file a second, read-only
   * connection: WAL lets it read the last commit while a write transaction holds the first one,
   * so a long bulk create does not make every list wait for it. Elsewhere the same as `kysely`.
   */
  reader: Kysely<Database>;
  dialect: DialectName;
  /** Human-readable target without the password, for logs. */
  describe: string;
  close(): Promise<void>;
}

export interface ParsedUrl {
  dialect: DialectName;
  file?: string;
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
}

export function parseConnectionUrl(url: string): ParsedUrl {
  const m = /^([a-z0-9]+)(\+[a-z0-9_]+)?:\/\/(.*)$/i.exec(url.trim());
  if (!m)
    throw new Error(
      `[database] connection: cannot parse "${url}"; expected e.g. sqlite:///path, postgresql://user@host/db or mysql+pymysql://user:pass@host/db`,
    );
  const scheme = m[1]!.toLowerCase();
  if (scheme === 'sqlite') {
    const rest = m[3]!;
    if (rest === '' || rest === '/') return { dialect: 'sqlite', file: ':memory:' };
    // sqlite:///x -> "x" (relative), sqlite:////x -> "/x" (absolute), as SQLAlchemy reads them.
    return { dialect: 'sqlite', file: rest.startsWith('/') ? rest.slice(1) : rest };
  }
  const dialect: DialectName | undefined =
    scheme === 'postgresql' || scheme === 'postgres' ? 'postgres' : scheme === 'mysql' || scheme === 'mariadb' ? 'mysql' : undefined;
  if (!dialect) throw new Error(`[database] connection: unsupported database "${scheme}" in "${url}"; use sqlite, postgresql or mysql`);
  const u = new URL(`x://${m[3]}`);
  return {
    dialect,
    host: u.hostname || 'localhost',
    port: u.port ? Number(u.port) : undefined,
    user: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    database: decodeURIComponent(u.pathname.replace(/^\//, '')) || undefined,
  };
}

export function openDb(url: string, poolSize = 10): Db {
  const p = parseConnectionUrl(url);
  if (p.dialect === 'sqlite') {
    const sqlite = new SqliteDatabase(p.file!);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 10000');
    // Checkpoint every ~40 MB of WAL rather than 4 MB: pages that many commits touch (index
    // leaves, the tables' last pages) are then copied back once instead of every ~80 commits.
    sqlite.pragma('wal_autocheckpoint = 10000');
    const kysely = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
    // A memory database is private to its connection: it has no second one.
    const reader = p.file === ':memory:' ? kysely : sqliteReader(p.file!);
    const close = async () => {
      if (reader !== kysely) await reader.destroy();
      await kysely.destroy();
    };
    return { kysely, reader, dialect: 'sqlite', describe: `sqlite:${p.file}`, close };
  }
  if (p.dialect === 'postgres') {
    const pool = new pg.Pool({ host: p.host, port: p.port ?? 5432, user: p.user, password: p.password, database: p.database, max: poolSize });
    // An idle client whose server side goes away (restart, admin termination) emits 'error' on the
    // pool; unhandled, that would kill the process. The pool replaces the client on next use.
    pool.on('error', (err) => process.emitWarning(`PostgreSQL idle connection lost: ${err.message}`));
    const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return { kysely, reader: kysely, dialect: 'postgres', describe: `postgresql://${p.host}/${p.database}`, close: () => kysely.destroy() };
  }
  const pool = createPool({
    host: p.host,
    port: p.port ?? 3306,
    user: p.user ?? 'root',
    password: p.password,
    database: p.database,
    connectionLimit: poolSize,
    supportBigNumbers: true,
    bigNumberStrings: false,
  });
  // READ COMMITTED as on PostgreSQL: a count taken after a row lock must see rows that other
  // transactions committed meanwhile (REPEATABLE READ would read the older snapshot).
  const kysely = new Kysely<Database>({
    dialect: new MysqlDialect({
      pool,
      onCreateConnection: async (conn) => {
        await conn.executeQuery(CompiledQuery.raw('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED'));
      },
    }),
  });
  return { kysely, reader: kysely, dialect: 'mysql', describe: `mysql://${p.host}/${p.database}`, close: () => kysely.destroy() };
}

/**
 * The read-only second connection of a SQLite file, opened on first use (the writer has made the
 * file and its WAL by then).
 */
function sqliteReader(file: string): Kysely<Database> {
  let db: SqliteDatabase.Database | undefined;
  const open = () => {
    if (!db) {
      db = new SqliteDatabase(file, { readonly: true, fileMustExist: true });
      db.pragma('busy_timeout = 10000');
    }
    return db;
  };
  let cached: SqliteDialectDatabase | undefined;
  return new Kysely<Database>({
    dialect: new SqliteDialect({
      database: async () => {
        cached ??= withStatementCache(open());
        return cached;
      },
    }),
  });
}

/**
 * Kysely's SQLite driver calls prepare() for every query it runs, and better-sqlite3 compiles the
 * SQL each time. Kysely's SQL for a query shape is the same text (values are bound), so compiled
 * statements are kept by text. Sharing them is safe: all()/run() are synchronous and finish
 * before the statement can be used again. The hot statements are a few dozen; when varied texts
 * fill the cache it is simply emptied (cheaper than keeping an LRU order on every hit).
 */
function withStatementCache(db: SqliteDatabase.Database, max = 1000): SqliteDialectDatabase {
  const cache = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => db.close(),
    prepare(sql: string) {
      let stmt = cache.get(sql);
      if (stmt) return stmt;
      stmt = db.prepare(sql);
      // Long texts are IN (...) lists of varying length: not worth keeping.
      if (sql.length <= 4096) {
        if (cache.size >= max) cache.clear();
        cache.set(sql, stmt);
      }
      return stmt;
    },
  };
}

/** Unique/primary-key violation on any backend. */
export function isDuplicateKey(err: unknown): boolean {
  const e = err as { code?: string; errno?: number };
  return (
    e?.code === '23505' ||
    e?.code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    e?.code === 'ER_DUP_ENTRY' ||
    e?.errno === 1062
  );
}

/** Deadlocks, serialization failures and lock timeouts: the whole transaction may be retried. */
export function isRetriable(err: unknown): boolean {
  const e = err as { code?: string; errno?: number };
  return e?.code === '40001' || e?.code === '40P01' || e?.errno === 1213 || e?.errno === 1205 || e?.code === 'SQLITE_BUSY';
}

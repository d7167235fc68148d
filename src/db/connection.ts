// Opens the database named by Neutron's [database] connection URL forms:
//   sqlite:///relative/path, sqlite:////absolute/path, sqlite:// (memory),
//   postgresql[+driver]://user:pass@host:port/db, mysql[+pymysql]://user:pass@host:port/db
import {
  CompiledQuery,
  Kysely,
  MysqlDialect,
  PostgresDialect,
  SqliteDialect,
  SqliteDriver,
  sql,
  type DatabaseConnection,
  type Driver,
  type SqliteDatabase as SqliteDialectDatabase,
} from 'kysely';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { createPool } from 'mysql2';
import type { Database } from './schema.js';
import { connectionErrorReason, DatabaseUnreachableError, isConnectionError } from './errors.js';

export type DialectName = 'sqlite' | 'postgres' | 'mysql';

export interface Db {
  kysely: Kysely<Database>;
  /**
   * For reads outside a transaction (lists, shows). On a SQLite file a second, read-only
   * connection: WAL lets it read the last commit while a write transaction holds the first one,
   * so a long bulk create does not make every list wait for it. On PostgreSQL/MySQL the pool of
   * `[database] slave_connection` when set (a replica), else the same as `kysely`.
   */
  reader: Kysely<Database>;
  dialect: DialectName;
  /** Human-readable target without the password, for logs. */
  describe: string;
  close(): Promise<void>;
  /** The connection pool's use, where the driver tells it (SQLite has one connection and none). */
  poolUse?(): PoolUse;
  /**
   * Runs `fn` with `[database] query_timeout` lifted (the schema upgrade at start-up: one DDL
   * statement on a busy MariaDB may take longer than a request's statement should).
   */
  withoutQueryTimeout?<T>(fn: () => Promise<T>): Promise<T>;
  /** Told of every write transaction's outcome and time (metrics, src/db/metrics.ts). */
  observer?: TransactionObserver;
  /**
   * Marks an SQL text run again and again (a precompiled show): on PostgreSQL it then runs as a
   * named prepared statement on each connection, parsed and planned once there instead of at
   * every execution (a port show's JSON statement took ~2 ms of planning for a ~0.5 ms run).
   * SQLite keeps its statements prepared anyway (withStatementCache); MySQL runs it as given.
   */
  prepare?(sqlText: string): void;
}

export interface PoolUse {
  /** Open connections, idle ones included. */
  open: number;
  idle: number;
  /** Requests waiting for a connection. */
  waiting: number;
  max: number;
}

/** `retry`: a deadlock or serialization failure that inTransaction runs again. */
export type TransactionObserver = (seconds: number, outcome: 'commit' | 'rollback' | 'retry') => void;

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

export interface PoolOptions {
  /** Connections a pool keeps open (oslo.db's max_pool_size; 0: no limit). */
  size?: number;
  /**
   * Connections opened past `size` at a peak and closed once idle (oslo.db's max_overflow, as
   * SQLAlchemy's QueuePool; -1: no limit).
   */
  overflow?: number;
  /**
   * How long a query may wait for a connection (to open one, or for one of the pool's to be
   * free), ms: with the database gone, requests fail in bounded time instead of queueing.
   */
  connectTimeoutMs?: number;
  /**
   * How long one statement may go unanswered, ms (0: no limit). Past it the connection's socket is
   * destroyed: a database that vanished without a word (host down, network partition) would
   * otherwise hold the request until TCP gives up, many minutes later.
   */
  queryTimeoutMs?: number;
  /** `[database] slave_connection`: a replica of the same kind that `reader` reads from. */
  readerUrl?: string;
}

export function openDb(url: string, poolOptions: number | PoolOptions = 10): Db {
  const opts = typeof poolOptions === 'number' ? { size: poolOptions } : poolOptions;
  const db = openOne(url, opts);
  if (!opts.readerUrl) return db;
  const r = parseConnectionUrl(opts.readerUrl);
  if (r.dialect !== db.dialect || db.dialect === 'sqlite')
    throw new Error(
      `[database] slave_connection: a ${r.dialect} replica of a ${db.dialect} database; it must be a PostgreSQL or MySQL database of the same kind as [database] connection`,
    );
  const replica = openOne(opts.readerUrl, opts);
  return {
    ...db,
    prepare: (text) => {
      db.prepare?.(text);
      replica.prepare?.(text);
    },
    reader: replica.kysely,
    describe: `${db.describe} (reads: ${replica.describe})`,
    close: async () => {
      await replica.close();
      await db.close();
    },
  };
}

function openOne(url: string, poolOptions: PoolOptions): Db {
  const { size: keep = 10, overflow = 0, connectTimeoutMs = 30_000, queryTimeoutMs = 0 } = poolOptions;
  let limitMs = queryTimeoutMs;
  const limit = () => limitMs;
  const withoutQueryTimeout = async <T>(fn: () => Promise<T>): Promise<T> => {
    limitMs = 0;
    try {
      return await fn();
    } finally {
      limitMs = queryTimeoutMs;
    }
  };
  // At most this many at once; unlimited when either option says no limit.
  const poolSize = keep === 0 || overflow < 0 ? Number.POSITIVE_INFINITY : keep + overflow;
  const p = parseConnectionUrl(url);
  if (p.dialect === 'sqlite') {
    const sqlite = new SqliteDatabase(p.file!);
    sqlite.pragma('journal_mode = WAL');
    // WAL with synchronous NORMAL: a commit is in the WAL file when COMMIT returns, so it survives
    // the process being killed; the WAL is fsynced at checkpoints, not per commit, so a power cut
    // or kernel crash may lose the last commits (never consistency). FULL would fsync every
    // commit, which on this single writer costs more than all the rest of a port create.
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 10000');
    // Checkpoint every ~40 MB of WAL rather than 4 MB: pages that many commits touch (index
    // leaves, the tables' last pages) are then copied back once instead of every ~80 commits.
    sqlite.pragma('wal_autocheckpoint = 10000');
    const kysely = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database: withStatementCache(sqlite) }) });
    // A memory database is private to its connection: it has no second one.
    const reader = p.file === ':memory:' ? kysely : sqliteReader(p.file!);
    const close = async () => {
      if (reader !== kysely) await reader.destroy();
      await kysely.destroy();
    };
    return { kysely, reader, dialect: 'sqlite', describe: `sqlite:${p.file}`, close };
  }
  if (p.dialect === 'postgres') {
    const pool = new pg.Pool({
      host: p.host,
      port: p.port ?? 5432,
      user: p.user,
      password: p.password,
      database: p.database,
      max: poolSize,
      // Idle connections past `keep` close after pg-pool's idle timeout (10 s): the overflow.
      min: Number.isFinite(poolSize) ? keep : 0,
      connectionTimeoutMillis: connectTimeoutMs,
      // Finds a peer that vanished without a FIN (host down, network cut) while a query waits.
      keepAlive: true,
    });
    // An idle client whose server side goes away (restart, admin termination) emits 'error' on the
    // pool; unhandled, that would kill the process. The pool replaces the client on next use.
    pool.on('error', (err) => process.emitWarning(`PostgreSQL idle connection lost: ${err.message}`));
    const prepared = new Map<string, string>();
    // A client the pool lent out has no listener of the pool's: its connection dropping (database
    // gone, network cut) would be an unhandled 'error' that kills the process. The query it runs
    // fails with the same error, which is what the request reports (503); the pool then drops it.
    pool.on('connect', (client) => {
      client.on('error', () => {});
      // No JIT compilation: it starts on a plan's estimated cost (100,000 by default, which a
      // list of a few thousand ports reaches) and took 0.8 s to compile a 10,000-port list's
      // statement that runs in 0.15 s; this server's statements are all short. A SET (queued
      // before the client's first query), not a startup option, which poolers may refuse; a
      // server without JIT (before 11) refuses it, and nothing changes.
      client.query('SET jit = off').catch(() => {});
      namePrepared(client as unknown as RawConnection, prepared);
      if (queryTimeoutMs > 0) bound(client as unknown as RawConnection, limit, (c) => (c as PgClient).connection.stream);
    });
    const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    const poolUse = () => ({ open: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max: poolSize });
    return {
      kysely,
      reader: kysely,
      dialect: 'postgres',
      describe: `postgresql://${p.host}:${p.port ?? 5432}/${p.database}`,
      close: () => kysely.destroy(),
      poolUse,
      withoutQueryTimeout,
      prepare: (text) => {
        if (!prepared.has(text)) prepared.set(text, `neutrino_${prepared.size + 1}`);
      },
    };
  }
  const pool = createPool({
    host: p.host,
    port: p.port ?? 3306,
    user: p.user ?? 'root',
    password: p.password,
    database: p.database,
    // mysql2: 0 is no limit; idle connections past maxIdle close after its idleTimeout (60 s).
    connectionLimit: Number.isFinite(poolSize) ? poolSize : 0,
    maxIdle: Number.isFinite(poolSize) ? keep : undefined,
    connectTimeout: connectTimeoutMs,
    enableKeepAlive: true,
    supportBigNumbers: true,
    bigNumberStrings: false,
  });
  if (queryTimeoutMs > 0) pool.on('connection', (conn) => bound(conn as unknown as RawConnection, limit, (c) => (c as MysqlConn).stream));
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
  return {
    kysely,
    reader: kysely,
    dialect: 'mysql',
    describe: `mysql://${p.host}:${p.port ?? 3306}/${p.database}`,
    close: () => kysely.destroy(),
    poolUse: () => mysqlPoolUse(pool, poolSize),
    withoutQueryTimeout,
  };
}

/**
 * mysql2 has no public pool statistics; its pool keeps them in these queues (stable since 1.x).
 * Absent ones read as 0 rather than failing a scrape.
 */
function mysqlPoolUse(pool: object, max: number): PoolUse {
  const q = pool as { _allConnections?: { length: number }; _freeConnections?: { length: number }; _connectionQueue?: { length: number } };
  return { open: q._allConnections?.length ?? 0, idle: q._freeConnections?.length ?? 0, waiting: q._connectionQueue?.length ?? 0, max };
}

interface RawConnection {
  query(...args: unknown[]): unknown;
}
interface PgClient extends RawConnection {
  connection: { stream: Socketish };
}
interface MysqlConn extends RawConnection {
  stream: Socketish;
}
interface Socketish {
  destroy(err?: Error): void;
}

/**
 * Runs the SQL texts in `names` (text -> statement name) on a pg client as named prepared
 * statements: pg parses one on a connection the first time it meets the name there, then only
 * binds and executes it (Kysely calls query(text, values); a cursor or a config object passes).
 */
function namePrepared(conn: RawConnection, names: ReadonlyMap<string, string>): void {
  const query = conn.query.bind(conn);
  conn.query = (...args: unknown[]) => {
    const name = typeof args[0] === 'string' ? names.get(args[0]) : undefined;
    if (name === undefined) return query(...args);
    return query({ name, text: args[0], values: args[1] }, ...args.slice(2));
  };
}

/**
 * Wraps a driver connection's query() (the forms Kysely uses: pg's promise, mysql2's callback) so
 * that a statement unanswered after `ms` destroys the connection's socket. The query then fails
 * as a lost connection (503 to the API) and the pool drops the connection. Done on the driver's
 * object because neither pg nor mysql2 has a query deadline that also discards the connection.
 */
function bound(conn: RawConnection, limitMs: () => number, socketOf: (c: RawConnection) => Socketish): void {
  const query = conn.query.bind(conn);
  const kill = (ms: number) =>
    socketOf(conn).destroy(Object.assign(new Error(`the database did not answer within ${ms} ms ([database] query_timeout)`), { code: 'ETIMEDOUT' }));
  conn.query = (...args: unknown[]) => {
    const ms = limitMs();
    if (ms === 0) return query(...args);
    const last = args[args.length - 1];
    if (typeof last === 'function') {
      const timer = setTimeout(kill, ms, ms);
      return query(...args.slice(0, -1), (...res: unknown[]) => {
        clearTimeout(timer);
        (last as (...r: unknown[]) => void)(...res);
      });
    }
    const out = query(...args);
    if (!(out instanceof Promise)) return out;
    const timer = setTimeout(kill, ms, ms);
    return out.finally(() => clearTimeout(timer));
  };
}

/**
 * SQLite whose transactions begin IMMEDIATE: the write lock is taken at BEGIN, so two processes on
 * one file (API workers, a second server) never both read under a deferred transaction and then
 * race to write (that loser gets SQLITE_BUSY_SNAPSHOT, which waiting cannot cure). Each write
 * transaction thus runs alone across processes, as Kysely's one connection already makes it run
 * alone within one, and SQLite's "no row locks needed" (db/tx.ts forUpdate) holds for all of them.
 */
class ImmediateSqliteDialect extends SqliteDialect {
  override createDriver(): Driver {
    const driver = super.createDriver();
    if (!(driver instanceof SqliteDriver)) throw new Error('unexpected Kysely SQLite driver');
    driver.beginTransaction = async (connection: DatabaseConnection) => {
      await connection.executeQuery(CompiledQuery.raw('begin immediate'));
    };
    return driver;
  }
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
 * fill the cache it is simply emptied (cheaper than keeping an LRU order on every hit). A long
 * text (an IN (...) list of varying length, or a database-written port show, whose JSON
 * expression runs to many kilobytes) is kept from its second use: a one-off list is not kept,
 * a hot statement of any length is.
 */
function withStatementCache(db: SqliteDatabase.Database, max = 1000, maxLong = 50): SqliteDialectDatabase {
  const cache = new Map<string, SqliteDatabase.Statement>();
  const seenLong = new Set<string>();
  let long = 0;
  return {
    close: () => db.close(),
    prepare(sql: string) {
      let stmt = cache.get(sql);
      if (stmt) return stmt;
      stmt = db.prepare(sql);
      if (sql.length > 4096) {
        if (!seenLong.has(sql)) {
          if (seenLong.size >= maxLong) seenLong.clear();
          seenLong.add(sql);
          return stmt;
        }
        seenLong.delete(sql);
        if (++long > maxLong) {
          cache.clear();
          long = 1;
        }
      }
      if (cache.size >= max) {
        cache.clear();
        long = sql.length > 4096 ? 1 : 0;
      }
      cache.set(sql, stmt);
      return stmt;
    },
  };
}

/**
 * Waits until the database answers, retrying a connection that fails `retries` times (-1:
 * forever) every `intervalMs`, as oslo.db's max_retries / retry_interval do at start-up. Other
 * errors (a wrong password, a missing database) are thrown at once.
 */
export async function reachDatabase(
  db: Db,
  opts: { retries: number; intervalMs: number; onRetry?: (attempt: number, reason: string) => void },
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await sql`select 1`.execute(db.kysely);
      return;
    } catch (err) {
      if (!isConnectionError(err)) throw err;
      const reason = connectionErrorReason(err);
      if (opts.retries >= 0 && attempt > opts.retries) throw new DatabaseUnreachableError(db.describe, attempt, reason);
      opts.onRetry?.(attempt, reason);
      await new Promise((r) => setTimeout(r, opts.intervalMs));
    }
  }
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

/** Foreign-key violation on any backend: the row referred to is gone (or was never there). */
export function isForeignKeyViolation(err: unknown): boolean {
  const e = err as { code?: string; errno?: number };
  return e?.code === '23503' || e?.code === 'SQLITE_CONSTRAINT_FOREIGNKEY' || e?.errno === 1452 || e?.errno === 1216;
}

/** Deadlocks, serialization failures and lock timeouts: the whole transaction may be retried. */
export function isRetriable(err: unknown): boolean {
  const e = err as { code?: string; errno?: number };
  return e?.code === '40001' || e?.code === '40P01' || e?.errno === 1213 || e?.errno === 1205 || e?.code === 'SQLITE_BUSY';
}

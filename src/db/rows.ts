// Reading many rows quickly on SQLite. better-sqlite3 builds every row object value by value
// through V8's API: for a list of 10,000 ports that costs several times what SQLite spends
// reading the rows, while JSON.parse builds the same values 3x faster. So, on SQLite only, large
// selects return one json_array() text per row, parsed here into the very objects qb.execute()
// would give (TEXT -> string, INTEGER -> number, NULL -> null). PostgreSQL and MySQL run the
// query unchanged.
import { sql } from 'kysely';
import type { Db } from './connection.js';
import type { AnySelect, Reader } from './tx.js';

// JSON would change REAL (15 significant digits) and cannot hold BLOBs: tables with such columns
// take the ordinary path.
const JSON_SAFE_TYPE = /INT|CHAR|TEXT|CLOB/i;

const columnCache = new WeakMap<Db, Map<string, readonly string[] | null>>();

/** The table's columns in order, or null when one of them does not survive JSON. */
async function columnsOf(db: Db, reader: Reader, table: string): Promise<readonly string[] | null> {
  let byTable = columnCache.get(db);
  if (!byTable) {
    byTable = new Map();
    columnCache.set(db, byTable);
  }
  let cols = byTable.get(table);
  if (cols === undefined) {
    const info = await sql<{ name: string; type: string }>`select name, type from pragma_table_info(${table})`.execute(reader);
    cols = info.rows.length && info.rows.every((c) => JSON_SAFE_TYPE.test(c.type)) ? info.rows.map((c) => c.name) : null;
    byTable.set(table, cols);
  }
  return cols;
}

/**
 * Runs `qb`, a select from `table` whose selection is all of `table`'s columns
 * (`selectAll(table)`) or exactly `columns` of it, in that order, and returns what
 * qb.execute() would.
 */
export async function selectRows<R>(db: Db, reader: Reader, qb: AnySelect, table: string, columns?: readonly string[]): Promise<R[]> {
  if (db.dialect !== 'sqlite') return (await qb.execute()) as R[];
  const all = await columnsOf(db, reader, table);
  if (!all || (columns && !columns.every((c) => all.includes(c)))) return (await qb.execute()) as R[];
  const cols = columns ?? all;
  const refs = sql.join(cols.map((c) => sql.ref(`${table}.${c}`)));
  const rows = (await qb.clearSelect().select(sql<string>`json_array(${refs})`.as('j')).execute()) as Array<{ j: string }>;
  const out = new Array<R>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const values = JSON.parse(rows[i]!.j) as unknown[];
    const row: Record<string, unknown> = {};
    for (let k = 0; k < cols.length; k++) row[cols[k]!] = values[k];
    out[i] = row as R;
  }
  return out;
}

/**
 * selectRows() for a plain filtered select (no ORDER BY, LIMIT, GROUP BY or DISTINCT: the rows
 * come in the order SQLite reads them, as they would without it): on SQLite the whole result is
 * one json_group_array() text, parsed at once, which spares better-sqlite3 an object per row
 * (half the time of lists like a port list's 10,000 fixed IPs).
 */
export async function selectRowsAsOne<R>(db: Db, reader: Reader, qb: AnySelect, table: string, columns: readonly string[]): Promise<R[]> {
  if (db.dialect !== 'sqlite') return (await qb.execute()) as R[];
  const all = await columnsOf(db, reader, table);
  if (!all || !columns.every((c) => all.includes(c))) return (await qb.execute()) as R[];
  const refs = sql.join(columns.map((c) => sql.ref(`${table}.${c}`)));
  const got = (await qb.clearSelect().select(sql<string>`json_group_array(json_array(${refs}))`.as('j')).executeTakeFirst()) as
    | { j: string | null }
    | undefined;
  const rows = JSON.parse(got?.j ?? '[]') as unknown[][];
  const out = new Array<R>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const values = rows[i]!;
    const row: Record<string, unknown> = {};
    for (let k = 0; k < columns.length; k++) row[columns[k]!] = values[k];
    out[i] = row as R;
  }
  return out;
}

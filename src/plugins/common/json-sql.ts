// API JSON written by the database itself (issue 14): SQL expressions that give the exact text
// JSON.stringify would write for a value, per dialect, so a list's rows arrive as finished JSON
// and Node only joins them. Built from string concatenation rather than json_object() and
// json_build_object(), whose separators and key order are not JSON.stringify's (PostgreSQL
// writes `"k" : v`). The strings' escaping is the same as JSON.stringify's on both engines
// (checked by test/api/port-list-json.test.ts byte for byte). MySQL/MariaDB have no such
// dialect here: their lists take the generic path.
import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../../db/connection.js';

export type JsonExpr = RawBuilder<string>;

export interface JsonSql {
  /** A string column or expression as a JSON string (NULL stays NULL). */
  str(e: JsonExpr | RawBuilder<unknown>): JsonExpr;
  /** A 0/1 column as true/false. */
  bool(e: RawBuilder<unknown>): JsonExpr;
  /** An integer column as a JSON number. */
  int(e: RawBuilder<unknown>): JsonExpr;
  /** `{"k1":v1,...}` of JSON texts that are never NULL. */
  obj(pairs: ReadonlyArray<readonly [string, JsonExpr]>): JsonExpr;
  /**
   * `[e1,...]` of the JSON texts `elem` over `from` (a FROM ... WHERE ... clause), in `orderBy`
   * order; `[]` when there are none.
   */
  arr(elem: JsonExpr, from: RawBuilder<unknown>, orderBy: RawBuilder<unknown>): JsonExpr;
  /** What orders a table's rows as they were inserted (the order a plain select reads them in). */
  insertionOrder(alias: string): RawBuilder<unknown>;

  /** A column ordered by code point (the order of JavaScript's sort for these values). */
  binaryOrder(e: RawBuilder<unknown>): RawBuilder<unknown>;
  /** Concatenation of texts. */
  cat(parts: ReadonlyArray<JsonExpr | RawBuilder<unknown>>): JsonExpr;
  /**
   * The JSON object text `o` (as JSON.stringify wrote it) with `key` set to the JSON text `v`:
   * in its place when `o` has it, else last — what JSON.stringify({ ...o, [key]: v }) writes.
   */
  setKey(o: RawBuilder<unknown>, key: string, v: JsonExpr): JsonExpr;
}

const lit = (s: string) => sql.lit(s) as unknown as JsonExpr;

function common(
  strFn: (e: RawBuilder<unknown>) => JsonExpr,
  intFn: (e: RawBuilder<unknown>) => JsonExpr,
  agg: (e: JsonExpr, o: RawBuilder<unknown>) => RawBuilder<unknown>,
) {
  const cat = (parts: ReadonlyArray<JsonExpr | RawBuilder<unknown>>): JsonExpr => sql<string>`(${sql.join(parts, sql` || `)})`;
  return {
    str: strFn,
    int: intFn,
    bool: (e: RawBuilder<unknown>) => sql<string>`(case when ${e} <> 0 then 'true' else 'false' end)`,
    cat,
    obj(pairs: ReadonlyArray<readonly [string, JsonExpr]>): JsonExpr {
      const parts: Array<JsonExpr | RawBuilder<unknown>> = [];
      pairs.forEach(([k, v], i) => {
        parts.push(lit(`${i ? ',' : '{'}${JSON.stringify(k)}:`), v);
      });
      parts.push(lit(pairs.length ? '}' : '{}'));
      return cat(parts);
    },
    arr(elem: JsonExpr, from: RawBuilder<unknown>, orderBy: RawBuilder<unknown>): JsonExpr {
      return sql<string>`(select '[' || coalesce(${agg(elem, orderBy)}, '') || ']' ${from})`;
    },
  };
}

const SQLITE: JsonSql = {
  ...common(
    (e) => sql<string>`json_quote(${e})`,
    (e) => sql<string>`cast(${e} as text)`,
    (e, o) => sql`group_concat(${e}, ',' order by ${o})`,
  ),
  insertionOrder: (alias) => sql.raw(`${alias}.rowid`),

  // SQLite's BINARY collation compares UTF-8 bytes: code point order.
  binaryOrder: (e) => e,
  // json_set keeps the other members' text and order, replaces in place or appends.
  setKey: (o, key, v) => sql<string>`json_set(${o}, ${sql.lit(`$.${JSON.stringify(key)}`)}, json(${v}))`,
};

const POSTGRES: JsonSql = {
  ...common(
    (e) => sql<string>`to_json(${e}::text)::text`,
    (e) => sql<string>`(${e})::text`,
    (e, o) => sql`string_agg(${e}, ',' order by ${o})`,
  ),
  // Heap order, which a plain select of few rows reads them in.
  insertionOrder: (alias) => sql.raw(`${alias}.ctid`),

  binaryOrder: (e) => sql`${e} collate "C"`,
  // jsonb would reorder the keys: the members are rewritten one by one from json_each (whose values
  // keep their text) in their order.
  setKey(o, key, v) {
    const k = sql.lit(key);
    const kj = sql.lit(JSON.stringify(key));
    const member = (value: RawBuilder<unknown>) => sql`to_json(e.key)::text || ':' || ${value}`;
    const members = (value: RawBuilder<unknown>) => sql`string_agg(${member(value)}, ',' order by e.n)`;
    return sql<string>`(select case
      when bool_or(e.key = ${k}) then '{' || ${members(sql`case when e.key = ${k} then ${v} else e.value::text end`)} || '}'
      when count(*) = 0 then '{' || ${kj} || ':' || ${v} || '}'
      else '{' || ${members(sql`e.value::text`)} || ',' || ${kj} || ':' || ${v} || '}' end
      from json_each((${o})::json) with ordinality as e(key, value, n))`;
  },
};

/** The dialect's JSON writer, or null when lists on it take the generic path. */
export function jsonSqlOf(db: Db): JsonSql | null {
  if (db.dialect === 'sqlite') return SQLITE;
  if (db.dialect === 'postgres') return POSTGRES;
  return null;
}

// API JSON written by the database itself (issue 14): SQL expressions that give the exact text
// JSON.stringify would write for a value, per dialect, so a list's rows arrive as finished JSON
// and Node only joins them. The strings' escaping is the same as JSON.stringify's on both engines
// (checked by test/api/port-list-json.test.ts byte for byte). MySQL/MariaDB have no such dialect
// here: their lists take the generic path.
//
// - SQLite: its own JSON functions (json_object, json_group_array), whose output is compact, in
//   the order given, and escaped as JSON.stringify does. Every expression is a JSON value (SQLite's
//   JSON subtype, which survives CASE, coalesce and scalar subqueries), so json_object embeds it
//   as is; one C call per object instead of a string concatenation per member, about a third
//   less work for a port list.
// - PostgreSQL: string concatenation, since json_build_object's separators are not
//   JSON.stringify's (`"k" : v`) and jsonb reorders keys.
import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../../db/connection.js';

export type JsonExpr = RawBuilder<string>;

/** The column of the `ports` row that a per-port lookup (arrOf, oneOf) is keyed on. */
export type PortColumn = 'id' | 'network_id';

const fromWhere = (table: string, alias: string, key: string, of: PortColumn) =>
  sql`from ${sql.table(table)} as ${sql.raw(alias)} where ${sql.ref(`${alias}.${key}`)} = ${sql.ref(`ports.${of}`)}`;
/** arrOf() and oneOf() as correlated subqueries, one lookup per port (a show; SQLite's lists). */
const perPort = (arr: JsonSql['arr']): Pick<JsonSql, 'arrOf' | 'oneOf'> => ({
  arrOf: (elem, table, alias, key, of, orderBy) => arr(elem, fromWhere(table, alias, key, of), orderBy),
  oneOf: <T>(value: RawBuilder<T>, table: string, alias: string, key: string, of: PortColumn) =>
    sql<T>`(select ${value} ${fromWhere(table, alias, key, of)})`,
});

export interface JsonSql {
  /**
   * A string column or expression as a JSON string (on SQLite the text itself, which its JSON
   * functions quote: a value for obj(), arr() and setKey(), not text to concatenate).
   */
  str(e: JsonExpr | RawBuilder<unknown>): JsonExpr;
  /** A 0/1 column as true/false. */
  bool(e: RawBuilder<unknown>): JsonExpr;
  /** An integer column as a JSON number. */
  int(e: RawBuilder<unknown>): JsonExpr;
  /** A constant JSON text (`null`, `"immediate"`, `[]`). */
  lit(json: string): JsonExpr;
  /** A column holding JSON text as JSON.stringify wrote it: that same text. */
  stored(e: RawBuilder<unknown>): JsonExpr;
  /** `{"k1":v1,...}` of JSON values that are never NULL. */
  obj(pairs: ReadonlyArray<readonly [string, JsonExpr]>): JsonExpr;
  /**
   * `{"k1":v1,...}` where a member whose value is NULL (marked with optional()) is left out, as
   * text (not to be nested in obj()).
   */
  members(pairs: ReadonlyArray<readonly [string, JsonExpr]>): JsonExpr;
  /** Marks a value that may be NULL, meaning no member at all (members()). */
  optional(e: JsonExpr): JsonExpr;
  /**
   * `[e1,...]` of the JSON values `elem` over `from` (a FROM ... WHERE ... clause), in `orderBy`
   * order; `[]` when there are none.
   */
  arr(elem: JsonExpr, from: RawBuilder<unknown>, orderBy: RawBuilder<unknown>): JsonExpr;
  /**
   * `[e1,...]` of `elem` over the rows of `table` (as `alias`) whose column `key` is the port's
   * column `of`, in `orderBy` order; `[]` when there are none. A port per port (a correlated
   * subquery) here; a list statement's writer (pgListJsonSql) reads them for all its ports at once.
   */
  arrOf(elem: JsonExpr, table: string, alias: string, key: string, of: PortColumn, orderBy: RawBuilder<unknown>): JsonExpr;
  /**
   * `value` from the row of `table` (as `alias`) whose column `key`, unique in it, is the port's
   * column `of`; NULL when there is none. Per port, or for all a list's ports at once as arrOf().
   */
  oneOf<T>(value: RawBuilder<T>, table: string, alias: string, key: string, of: PortColumn): RawBuilder<T>;
  /** What orders a table's rows as they were inserted (the order a plain select reads them in). */
  insertionOrder(alias: string): RawBuilder<unknown>;

  /** A column ordered by code point (the order of JavaScript's sort for these values). */
  binaryOrder(e: RawBuilder<unknown>): RawBuilder<unknown>;
  /**
   * The JSON object text `o` (as JSON.stringify wrote it) with `key` set to the JSON value `v`:
   * in its place when `o` has it, else last — what JSON.stringify({ ...o, [key]: v }) writes.
   */
  setKey(o: RawBuilder<unknown>, key: string, v: JsonExpr): JsonExpr;
}

const lit = (s: string) => sql.lit(s) as unknown as JsonExpr;
const cat = (parts: ReadonlyArray<JsonExpr | RawBuilder<unknown>>): JsonExpr => sql<string>`(${sql.join(parts, sql` || `)})`;

/** The values marked optional() (they are built once per statement shape, so a WeakSet suffices). */
const optionals = new WeakSet<object>();
const optional = (e: JsonExpr) => {
  optionals.add(e);
  return e;
};

/**
 * members() as text: each member `,"k":v` (nothing when v is NULL), the first comma cut.
 * `group` turns a run of never-NULL members into the text of `,"k1":v1,...` at once.
 */
function membersText(
  pairs: ReadonlyArray<readonly [string, JsonExpr]>,
  group: (run: ReadonlyArray<readonly [string, JsonExpr]>) => JsonExpr | RawBuilder<unknown>,
): JsonExpr {
  const parts: Array<JsonExpr | RawBuilder<unknown>> = [];
  let run: Array<readonly [string, JsonExpr]> = [];
  const flush = () => {
    if (run.length) parts.push(group(run));
    run = [];
  };
  for (const [k, v] of pairs) {
    if (!optionals.has(v)) {
      run.push([k, v]);
      continue;
    }
    flush();
    parts.push(sql`coalesce(${lit(`,${JSON.stringify(k)}:`)} || ${v}, '')`);
  }
  flush();
  if (!parts.length) return lit('{}');
  return sql<string>`'{' || substr(${cat(parts)}, 2) || '}'`;
}

/** Optional members members() writes with a json_object() per combination (2^n of them) on SQLite. */
const MAX_OPTIONAL_BRANCHES = 2;

const SQLITE: JsonSql = {
  // Text as it is: SQLite's JSON functions quote it themselves (a NULL becomes JSON null).
  str: (e) => sql<string>`${e}`,
  // json() of a constant is worked out once per statement.
  bool: (e) => sql<string>`(case when ${e} <> 0 then json('true') else json('false') end)`,
  // json_object() and json_group_array() write integers as JSON.stringify does.
  int: (e) => sql<string>`${e}`,
  lit: (json) => sql<string>`json(${sql.lit(json)})`,
  // json() keeps the text's members, order, numbers and escapes; it only drops blanks, which
  // JSON.stringify never wrote.
  stored: (e) => sql<string>`json(${e})`,
  obj(pairs) {
    if (!pairs.length) return sql<string>`json_object()`;
    return sql<string>`json_object(${sql.join(pairs.map(([k, v]) => sql`${sql.lit(k)}, ${v}`))})`;
  },
  members(pairs) {
    const opt = pairs.filter(([, v]) => optionals.has(v));
    if (opt.length <= MAX_OPTIONAL_BRANCHES) {
      // One json_object() per combination of the optional members that are there, chosen by
      // CASE: an optional value is then read twice on the rows that have it, once on the others.
      const variant = (i: number, present: ReadonlySet<JsonExpr>): RawBuilder<string> => {
        if (i === opt.length) return SQLITE.obj(pairs.filter(([, v]) => !optionals.has(v) || present.has(v)));
        const v = opt[i]![1];
        return sql<string>`(case when ${v} is null then ${variant(i + 1, present)} else ${variant(i + 1, new Set([...present, v]))} end)`;
      };
      return variant(0, new Set());
    }
    // A run without optional members as one json_object(), its braces cut: `,"k1":v1,...`;
    // json_quote() quotes a text value and leaves a JSON one as it is.
    const quoted = pairs.map(([k, v]) => [k, optionals.has(v) ? optional(sql<string>`json_quote(${v})`) : v] as const);
    return membersText(quoted, (run) => {
      const o = SQLITE.obj(run);
      return sql`(',' || substr(${o}, 2, length(${o}) - 2))`;
    });
  },
  optional,
  arr: (elem, from, orderBy) => sql<string>`(select json_group_array(${elem} order by ${orderBy}) ${from})`,
  ...perPort((elem, from, orderBy) => SQLITE.arr(elem, from, orderBy)),
  insertionOrder: (alias) => sql.raw(`${alias}.rowid`),

  // SQLite's BINARY collation compares UTF-8 bytes: code point order.
  binaryOrder: (e) => e,
  // json_set keeps the other members' text and order, replaces in place or appends.
  setKey: (o, key, v) => sql<string>`json_set(${o}, ${sql.lit(`$.${JSON.stringify(key)}`)}, ${v})`,
};

const POSTGRES: JsonSql = {
  // NULL stays NULL.
  str: (e) => sql<string>`to_json(${e}::text)::text`,
  bool: (e) => sql<string>`(case when ${e} <> 0 then 'true' else 'false' end)`,
  int: (e) => sql<string>`(${e})::text`,
  lit,
  stored: (e) => sql<string>`${e}`,
  obj(pairs) {
    const parts: Array<JsonExpr | RawBuilder<unknown>> = [];
    pairs.forEach(([k, v], i) => {
      parts.push(lit(`${i ? ',' : '{'}${JSON.stringify(k)}:`), v);
    });
    parts.push(lit(pairs.length ? '}' : '{}'));
    return cat(parts);
  },
  // Every member is concatenated on its own anyway: each may be NULL.
  members: (pairs) => membersText(pairs, (run) => cat(run.map(([k, v]) => sql`coalesce(${lit(`,${JSON.stringify(k)}:`)} || ${v}, '')`))),
  optional,
  arr: (elem, from, orderBy) => sql<string>`(select '[' || coalesce(string_agg(${elem}, ',' order by ${orderBy}), '') || ']' ${from})`,
  ...perPort((elem, from, orderBy) => POSTGRES.arr(elem, from, orderBy)),
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

/** A PostgreSQL writer for one list statement: the joins its expressions read. */
export interface PgListJsonSql extends JsonSql {
  /**
   * The joins to append after `from ports` in a statement whose `lp` (a CTE of the listed ports'
   * ids) names the ports listed.
   */
  joins(): RawBuilder<unknown>;
}

/**
 * PostgreSQL's writer for a list of many ports: arrOf() and oneOf() become one grouped read of
 * their table for all the listed ports (restricted to them), joined to the ports by key, instead
 * of an index lookup and an aggregate per port and per attribute, which was most of a 10,000-port
 * list's time. The planner chooses per join: a hash join over a whole small table for a long
 * list, index lookups for a short one.
 */
export function pgListJsonSql(): PgListJsonSql {
  const joins: RawBuilder<unknown>[] = [];
  const within = (of: PortColumn) =>
    of === 'id' ? sql`select lp.id from lp` : sql`select x.${sql.raw(of)} from ports x where x.id in (select lp.id from lp)`;
  const join = (select: RawBuilder<unknown>, of: PortColumn) => {
    const g = sql.raw(`g${joins.length}`);
    joins.push(sql`left join (${select}) as ${g} on ${g}.k = ${sql.ref(`ports.${of}`)}`);
    return g;
  };
  return {
    ...POSTGRES,
    arrOf(elem, table, alias, key, of, orderBy) {
      const k = sql.ref(`${alias}.${key}`);
      const g = join(
        sql`select ${k} as k, string_agg(${elem}, ',' order by ${orderBy}) as v from ${sql.table(table)} as ${sql.raw(alias)} where ${k} in (${within(of)}) group by ${k}`,
        of,
      );
      return sql<string>`coalesce('[' || ${g}.v || ']', '[]')`;
    },
    oneOf<T>(value: RawBuilder<T>, table: string, alias: string, key: string, of: PortColumn) {
      const k = sql.ref(`${alias}.${key}`);
      const g = join(sql`select ${k} as k, ${value} as v from ${sql.table(table)} as ${sql.raw(alias)} where ${k} in (${within(of)})`, of);
      return sql<T>`${g}.v`;
    },
    joins: () => (joins.length ? sql.join(joins, sql` `) : sql``),
  };
}

/** The dialect's JSON writer, or null when lists on it take the generic path. */
export function jsonSqlOf(db: Db): JsonSql | null {
  if (db.dialect === 'sqlite') return SQLITE;
  if (db.dialect === 'postgres') return POSTGRES;
  return null;
}

// Turns a ListQuery into SQL for column-backed attributes: filters (any-of), sort keys with id as
// the tie-breaker, and keyset pagination from a marker row (Neutron's native pagination).
import { sql, type Expression, type SqlBool } from 'kysely';
import type { ListQuery, TagFilters } from '../../core/list-query.js';
import { notFound } from '../../core/errors.js';
import { untyped, type AnySelect, type Reader } from '../../db/tx.js';
import type { Db } from '../../db/connection.js';
import { BOOL_COLUMN } from '../../definitions/common.js';
import type { ResourceDef } from '../../core/definition.js';

/**
 * attribute name -> column, with a converter from the API value to the stored value. `expr`,
 * when given, is the SQL that filters and sorts use instead of the column (a value kept in
 * another table); `column` then only names it.
 */
export type ColumnMap = Record<string, { column: string; toDb?: (v: unknown) => unknown; expr?: (table: string) => Expression<unknown> }>;

type ColumnSpec = ColumnMap[string];
const refOf = (table: string, m: ColumnSpec): Expression<unknown> => (m.expr ? m.expr(table) : sql.ref(`${table}.${m.column}`));

export const boolColumn = (column: string) => ({ column, toDb: BOOL_COLUMN.toDb! });

const derived = new WeakMap<ResourceDef, ColumnMap>();

/** The column of every attribute the definition stores in its table (AttributeDef.column). */
export function columnsOf(def: ResourceDef): ColumnMap {
  let map = derived.get(def);
  if (!map) {
    map = {};
    for (const [attr, a] of Object.entries(def.attributes)) {
      if (!a.column) continue;
      map[attr] = a.column.toDb ? { column: a.column.name ?? attr, toDb: a.column.toDb } : { column: a.column.name ?? attr };
    }
    derived.set(def, map);
  }
  return map;
}

/** The table a definition's rows live in. */
export const tableOf = (def: ResourceDef): string => def.table ?? def.collection;

type AnyQB = AnySelect;

/** Filters that are plain columns; the rest are returned for the caller to handle. */
export function applyColumnFilters<QB extends AnyQB>(
  qb: QB,
  table: string,
  map: ColumnMap,
  filters: Record<string, unknown[]>,
): { qb: QB; rest: Record<string, unknown[]> } {
  const rest: Record<string, unknown[]> = {};
  for (const [attr, values] of Object.entries(filters)) {
    const m = map[attr];
    if (!m) {
      rest[attr] = values;
      continue;
    }
    const vals = values.map((v) => (m.toDb ? m.toDb(v) : v));
    qb = (m.expr ? qb.where(sql<SqlBool>`${m.expr(table)} in (${sql.join(vals)})`) : qb.where(sql.ref(`${table}.${m.column}`), 'in', vals)) as QB;
  }
  return { qb, rest };
}

/** Tag filters through the tags table (standard-attr-tag semantics). */
export function applyTagFilters<QB extends AnyQB>(qb: QB, table: string, tf: TagFilters): QB {
  const idRef = sql.ref(`${table}.id`);
  const hasAll = (tags: string[]) =>
    sql<SqlBool>`(select count(distinct t.tag) from tags t where t.resource_id = ${idRef} and t.tag in (${sql.join(tags)})) = ${tags.length}`;
  const hasAny = (tags: string[]) => sql<SqlBool>`exists (select 1 from tags t where t.resource_id = ${idRef} and t.tag in (${sql.join(tags)}))`;
  if (tf.tags?.length) qb = qb.where(hasAll(tf.tags)) as QB;
  if (tf.tagsAny?.length) qb = qb.where(hasAny(tf.tagsAny)) as QB;
  if (tf.notTags?.length) qb = qb.where(sql<SqlBool>`not (${hasAll(tf.notTags)})`) as QB;
  if (tf.notTagsAny?.length) qb = qb.where(sql<SqlBool>`not (${hasAny(tf.notTagsAny)})`) as QB;
  return qb;
}

/**
 * ORDER BY the requested keys (then id), and for a marker: only rows after it in that order.
 * page_reverse walks backwards: the order is flipped here and the caller reverses the rows.
 */
export async function applySortAndPage<QB extends AnyQB>(
  db: Reader,
  qb: QB,
  table: string,
  map: ColumnMap,
  q: ListQuery,
  notFoundType: string,
): Promise<QB> {
  const sorts: Array<{ key: string; ref: Expression<unknown>; asc: boolean }> = q.sorts
    .filter(([attr]) => map[attr])
    .map(([attr, asc]) => ({ key: attr, ref: refOf(table, map[attr]!), asc: q.pageReverse ? !asc : asc }));
  if (!sorts.some((s) => s.key === 'id')) sorts.push({ key: 'id', ref: sql.ref(`${table}.id`), asc: !q.pageReverse });
  if (q.marker) {
    // The marker's value of each sort key, read with the same expressions.
    const markerRow = (await untyped(db)
      .selectFrom(table)
      .select(sorts.map((s, i) => sql`${s.ref}`.as(`k${i}`)))
      .where(sql.ref(`${table}.id`), '=', q.marker)
      .executeTakeFirst()) as Record<string, unknown> | undefined;
    if (!markerRow) throw notFound(notFoundType, `Marker ${q.marker} could not be found.`);
    // (k1 > m1) or (k1 = m1 and k2 > m2) or ...
    const ors: Expression<SqlBool>[] = [];
    for (let i = 0; i < sorts.length; i++) {
      const parts: Expression<SqlBool>[] = [];
      for (let j = 0; j < i; j++) parts.push(sql<SqlBool>`${sorts[j]!.ref} = ${markerRow[`k${j}`]}`);
      const { ref, asc } = sorts[i]!;
      const m = markerRow[`k${i}`];
      parts.push(asc ? sql<SqlBool>`${ref} > ${m}` : sql<SqlBool>`${ref} < ${m}`);
      ors.push(sql<SqlBool>`(${sql.join(parts, sql` and `)})`);
    }
    qb = qb.where(sql<SqlBool>`(${sql.join(ors, sql` or `)})`) as QB;
  }
  for (const { ref, asc } of sorts) qb = qb.orderBy(ref, asc ? 'asc' : 'desc') as QB;
  if (q.limit) qb = qb.limit(q.limit) as QB;
  return qb;
}

/** Splits long id lists so IN (...) stays under every backend's bind-parameter limit. */
export function chunks<T>(items: T[], size = 5000): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Groups of ids for `whereIdIn`: on SQLite all of them at once (one JSON parameter), elsewhere
 * chunks that keep IN (...) under every backend's bind-parameter limit.
 */
export function idChunks<T>(db: Db | undefined, ids: T[]): T[][] {
  if (db?.dialect === 'sqlite') return ids.length ? [ids] : [];
  return chunks(ids).filter((part) => part.length > 0);
}

/**
 * `column IN (ids)`. On SQLite the ids go as one JSON array parameter (json_each): the SQL text
 * is then the same for any number of ids, so its statement is prepared once and reused, where
 * thousands of placeholders would be compiled and prepared again on every list.
 */
export function whereIdIn<QB extends AnyQB>(db: Db | undefined, qb: QB, column: string, ids: readonly string[]): QB {
  if (db?.dialect === 'sqlite') return qb.where(sql<SqlBool>`${sql.ref(column)} in (select value from json_each(${idsJson(ids)}))`) as QB;
  return qb.where(sql.ref(column), 'in', ids) as QB;
}

// One list's ids are looked up in several tables: encode them once.
const idsJsonCache = new WeakMap<readonly string[], string>();
function idsJson(ids: readonly string[]): string {
  let text = idsJsonCache.get(ids);
  if (text === undefined) {
    text = JSON.stringify(ids);
    idsJsonCache.set(ids, text);
  }
  return text;
}

/** Tags of many resources at once: id -> sorted tags. Pass `dbInfo` for whereIdIn's fast path. */
export async function loadTags(db: Reader, ids: string[], dbInfo?: Db): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const part of idChunks(dbInfo, ids)) {
    const rows = await whereIdIn(dbInfo, db.selectFrom('tags').select(['resource_id', 'tag']), 'resource_id', part).execute();
    for (const r of rows) {
      const l = out.get(r.resource_id);
      if (l) l.push(r.tag);
      else out.set(r.resource_id, [r.tag]);
    }
  }
  for (const l of out.values()) l.sort();
  return out;
}

// One table-backed resource: show, list (column filters, tag filters, sort keys, marker
// pagination), the caller's scope and the 404, all derived from the resource's definition (its
// `table` and its attributes' `column`s). A handler extends it, names its definition, its 404 and
// who sees its rows (the caller's project, RBAC-shared, all, or its own scope()), and keeps only
// what is its own: how rows become API dicts, filters on attributes that are no column, and its
// writes with their business rules.
import { sql, type RawBuilder, type SelectQueryBuilder, type SqlBool } from 'kysely';
import type { RequestContext } from '../../core/context.js';
import { NeutronError } from '../../core/errors.js';
import type { ListQuery } from '../../core/list-query.js';
import type { Rec, ResourceHandler } from '../../core/resource.js';
import type { Db } from '../../db/connection.js';
import type { Database } from '../../db/schema.js';
import { untyped, type AnySelect, type Reader } from '../../db/tx.js';
import type { ResourceDef } from '../../core/definition.js';
import { applyColumnFilters, applySortAndPage, applyTagFilters, columnsOf, tableOf, type ColumnMap } from './list-sql.js';
import { rbacShared, rbacVisible } from './visibility.js';

export type TableName = keyof Database;
export type TableQuery<T extends TableName> = SelectQueryBuilder<Database, T, Database[T]>;
/** A condition on the resource's rows, or null for none. */
export type RowCondition = RawBuilder<SqlBool> | null;

/** Rows the caller's project owns (Neutron's project-scoped model query). */
export const ownProject = (ctx: RequestContext, table: string): RawBuilder<SqlBool> =>
  sql<SqlBool>`${sql.ref(`${table}.project_id`)} = ${ctx.projectId ?? ''}`;

/**
 * A boolean filter on a computed attribute (shared, is_default): rows where `condition` is what
 * was asked; asking for both true and false filters nothing, as Neutron's query does.
 */
export function whereFlag<QB extends AnySelect>(qb: QB, values: unknown[] | undefined, condition: RawBuilder<SqlBool>): QB {
  if (!values) return qb;
  const want = new Set(values.map(Boolean));
  if (want.size !== 1) return qb;
  return qb.where(want.has(true) ? condition : sql<SqlBool>`not ${condition}`) as QB;
}

/**
 * Which rows a non-admin caller's lists and shows include: its own project's (Neutron's default
 * model query); also those an RBAC access_as_shared entry of `rbac` object type shares with it
 * (which brings the `shared` filter); or every row, the policy alone deciding (resources without
 * an owner: agents, segments). Other scopes override scope().
 */
export type Visibility = 'project' | 'all' | { rbac: string };

export interface TableResourceSpec {
  def: ResourceDef;
  db: Db;
  /** The resource's 404 (RouterNotFound, …); also raised for an unknown pagination marker. */
  notFound: (id: string) => Error;
  visibility?: Visibility;
  /** Filter and sort keys beyond the definition's columns (values kept in other tables). */
  columns?: ColumnMap;
}

export abstract class TableResource<T extends TableName> implements ResourceHandler {
  readonly def: ResourceDef;
  readonly table: T;
  readonly columns: ColumnMap;
  protected readonly db: Db;
  /** Whether show is limited to scope() as lists are (else policy alone decides who sees one). */
  protected readonly scopeShow: boolean = true;
  private readonly visibility: Visibility;
  private readonly notFoundError: (id: string) => Error;

  protected constructor(spec: TableResourceSpec) {
    this.def = spec.def;
    this.db = spec.db;
    this.table = tableOf(spec.def) as T;
    this.columns = spec.columns ? { ...columnsOf(spec.def), ...spec.columns } : columnsOf(spec.def);
    this.visibility = spec.visibility ?? 'project';
    this.notFoundError = spec.notFound;
  }

  notFound(id: string, _parentId?: string): Error {
    return this.notFoundError(id);
  }

  abstract create(ctx: RequestContext, bodies: Rec[]): Promise<Rec[]>;
  abstract update(ctx: RequestContext, id: string, body: Rec, expectRevision?: number): Promise<Rec>;
  abstract delete(ctx: RequestContext, id: string, expectRevision?: number): Promise<void>;

  /** API dicts of the rows, in their order; `fields`: what a list asked for (empty: all). */
  protected abstract dictsOf(ctx: RequestContext, db: Reader, rows: Array<Database[T]>, fields: string[]): Promise<Rec[]>;

  /** The rows `ctx` may see (null: all), after the resource's visibility. */
  protected scope(ctx: RequestContext): RowCondition {
    const v = this.visibility;
    if (ctx.isAdmin || v === 'all') return null;
    if (v === 'project') return ownProject(ctx, this.table);
    return rbacVisible(ctx, v.rbac, `${this.table}.project_id`, `${this.table}.id`);
  }

  /**
   * Filters on attributes that are no column (alive, is_default, …): the `shared` of an
   * RBAC-shared resource here; other filters without a column are ignored unless overridden.
   */
  protected filterRest(ctx: RequestContext, qb: TableQuery<T>, rest: Record<string, unknown[]>): TableQuery<T> {
    const v = this.visibility;
    if (typeof v !== 'object') return qb;
    return whereFlag(qb, rest.shared, rbacShared(ctx.projectId, v.rbac, `${this.table}.id`));
  }

  /** The table's rows that `condition` admits. */
  protected select(db: Reader, condition: RowCondition): TableQuery<T> {
    // Kysely cannot type a query over a table chosen by a type parameter: build it untyped.
    const qb = untyped(db)
      .selectFrom(this.table as string)
      .selectAll(this.table as string);
    return (condition ? qb.where(condition) : qb) as unknown as TableQuery<T>;
  }

  /** The rows the caller sees, for a handler's own reads (e.g. locking one before a write). */
  protected scoped(ctx: RequestContext, db: Reader): TableQuery<T> {
    return this.select(db, this.scope(ctx));
  }

  /** The full dict, or null when there is none or the caller's scope does not reach it. */
  /** Where `ctx` reads: the replica only for a request that writes nothing. */
  protected readerFor(ctx: RequestContext): Reader {
    return ctx.readOnly ? this.db.reader : this.db.kysely;
  }

  async get(ctx: RequestContext, id: string, db: Reader = this.readerFor(ctx)): Promise<Rec | null> {
    const byId = sql<SqlBool>`${sql.ref(`${this.table}.id`)} = ${id}`;
    const scope = this.scopeShow ? this.scope(ctx) : null;
    const row = (await this.select(db, scope ? sql<SqlBool>`(${scope}) and ${byId}` : byId).executeTakeFirst()) as Database[T] | undefined;
    return row ? (await this.dictsOf(ctx, db, [row], []))[0]! : null;
  }

  async list(ctx: RequestContext, q: ListQuery): Promise<Rec[]> {
    const db = this.readerFor(ctx);
    const qb = await this.listQuery(ctx, q, db);
    const rows = await this.listRows(db, qb);
    if (q.pageReverse) rows.reverse();
    return this.dictsOf(ctx, db, rows, q.fields);
  }

  /** The rows a list returns (scope, filters, sort keys, marker and limit), every column selected. */
  protected async listQuery(ctx: RequestContext, q: ListQuery, db: Reader): Promise<TableQuery<T>> {
    const { qb: filtered, rest } = applyColumnFilters(this.scoped(ctx, db), this.table, this.columns, q.filters);
    let qb = this.filterRest(ctx, filtered, rest);
    if (this.def.taggable) qb = applyTagFilters(qb, this.table, q.tagFilters);
    return applySortAndPage(db, qb, this.table, this.columns, q, this.markerNotFoundType());
  }

  /** Runs a list's query (a hot list may read its rows faster: db/rows.ts). */
  protected async listRows(_db: Reader, qb: TableQuery<T>): Promise<Array<Database[T]>> {
    return (await qb.execute()) as Array<Database[T]>;
  }

  /** An unknown marker is the resource's own 404 type (RouterNotFound, …). */
  private markerNotFoundType(): string {
    const e = this.notFound('');
    return e instanceof NeutronError ? e.type : 'HTTPNotFound';
  }
}

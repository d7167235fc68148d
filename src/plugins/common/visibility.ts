// Which rows a non-admin caller's scope includes (Neutron's model_query hooks): own project's,
// and networks shared or exposed to it through RBAC entries.
import { sql, type SqlBool, type RawBuilder } from 'kysely';
import type { RequestContext } from '../../core/context.js';

/** Networks visible to the caller; `idRef` is the SQL column holding a network id. */
export function networkVisible(ctx: RequestContext, ownerRef: string, idRef: string): RawBuilder<SqlBool> {
  const p = ctx.projectId ?? '';
  return sql<SqlBool>`(${sql.ref(ownerRef)} = ${p} or ${sql.ref(idRef)} in (select r.object_id from rbac_entries r where r.object_type = 'network' and r.target_project in ('*', ${p})))`;
}

export const sees = (ctx: RequestContext) => !ctx.isAdmin;

/**
 * Rows of an RBAC-shareable resource (subnet pools, address scopes, security groups) visible to
 * the caller: its own, and those an access_as_shared entry shares with it or with everyone.
 */
export function rbacVisible(ctx: RequestContext, objectType: string, ownerRef: string, idRef: string): RawBuilder<SqlBool> {
  const p = ctx.projectId ?? '';
  return sql<SqlBool>`(${sql.ref(ownerRef)} = ${p} or ${sql.ref(idRef)} in (select r.object_id from rbac_entries r where r.object_type = ${objectType} and r.action = 'access_as_shared' and r.target_project in ('*', ${p})))`;
}

/** SQL: the object is shared (access_as_shared) with the project or with everyone. */
export function rbacShared(projectId: string | null, objectType: string, idRef: string): RawBuilder<SqlBool> {
  const p = projectId ?? '';
  return sql<SqlBool>`${sql.ref(idRef)} in (select r.object_id from rbac_entries r where r.object_type = ${objectType} and r.action = 'access_as_shared' and r.target_project in ('*', ${p}))`;
}

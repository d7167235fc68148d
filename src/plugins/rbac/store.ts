// RBAC entries (`rbac_entries`): the one store behind networks' `shared`/`router:external`, the
// `shared` of subnet pools, address scopes and security groups, and the rbac-policies API.
import { randomUUID } from 'node:crypto';
import type { Db } from '../../db/connection.js';
import type { RbacTable } from '../../db/schema.js';
import type { Reader, Tx } from '../../db/tx.js';
import { chunks } from '../common/list-sql.js';

export const ACCESS_SHARED = 'access_as_shared';
export const ACCESS_EXTERNAL = 'access_as_external';
export const WILDCARD = '*';

/** One rbac_policies row. */
export type RbacEntry = RbacTable;

/** Ids among `ids` that are shared (access_as_shared) with the project or with everyone. */
export async function sharedWith(db: Reader, objectType: string, ids: readonly string[], projectId: string | null): Promise<Set<string>> {
  const out = new Set<string>();
  const targets = projectId ? [WILDCARD, projectId] : [WILDCARD];
  for (const part of chunks([...ids])) {
    if (!part.length) continue;
    const rows = await db
      .selectFrom('rbac_entries')
      .select('object_id')
      .where('object_type', '=', objectType)
      .where('action', '=', ACCESS_SHARED)
      .where('target_project', 'in', targets)
      .where('object_id', 'in', part)
      .execute();
    for (const r of rows) out.add(r.object_id);
  }
  return out;
}

/** Adds an entry unless the same one exists; returns whether it was added. */
export async function addEntry(db: Db, tx: Tx, e: Omit<RbacEntry, 'id'> & { id?: string }): Promise<boolean> {
  const ins = tx.insertInto('rbac_entries').values({
    id: e.id ?? randomUUID(),
    object_type: e.object_type,
    object_id: e.object_id,
    project_id: e.project_id,
    target_project: e.target_project,
    action: e.action,
  });
  const r = await (db.dialect === 'mysql' ? ins.ignore() : ins.onConflict((oc) => oc.doNothing())).executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0n) > 0;
}

export async function entriesOf(db: Reader, objectType: string, objectId: string, action?: string): Promise<RbacEntry[]> {
  let q = db.selectFrom('rbac_entries').selectAll().where('object_type', '=', objectType).where('object_id', '=', objectId);
  if (action) q = q.where('action', '=', action);
  return q.execute();
}

/** Removes every entry of an object (it is being deleted). */
export async function removeAll(tx: Tx, objectType: string, objectId: string): Promise<void> {
  await tx.deleteFrom('rbac_entries').where('object_type', '=', objectType).where('object_id', '=', objectId).execute();
}

// Per-project quota overrides (the quotas table); the limits they give are the QuotaEngine's.
import type { Db } from '../../db/connection.js';
import { inTransaction, type Tx } from '../../db/tx.js';

export async function projectsWithQuotas(db: Db): Promise<string[]> {
  const rows = await db.kysely.selectFrom('quotas').select('project_id').distinct().execute();
  return rows.map((r) => r.project_id);
}

/** Sets limits; `check`, when given, runs first in the same transaction (the usage check). */
export async function setQuotas(db: Db, projectId: string, limits: Record<string, number>, check?: (tx: Tx) => Promise<void>): Promise<void> {
  await inTransaction(db, async (tx) => {
    await check?.(tx);
    for (const [resource, limit] of Object.entries(limits)) {
      await tx.deleteFrom('quotas').where('project_id', '=', projectId).where('resource', '=', resource).execute();
      await tx.insertInto('quotas').values({ project_id: projectId, resource, hard_limit: limit }).execute();
    }
  });
}

export async function clearQuotas(db: Db, projectId: string): Promise<void> {
  await db.kysely.deleteFrom('quotas').where('project_id', '=', projectId).execute();
}

// Lookups on a port's or subnet's parent network shared by their handlers: its owner (for
// `network:tenant_id` in policy targets) and whether the caller may use it at all (else 404).
import type { RequestContext } from '../../context.js';
import { notFound } from '../../api/errors.js';
import type { Db } from '../../db/connection.js';
import { networkVisible } from '../common/visibility.js';

export const networkNotFound = (id: string) => notFound('NetworkNotFound', `Network ${id} could not be found.`);

export async function networkOwner(db: Db, networkId: string): Promise<string | null> {
  const r = await db.kysely.selectFrom('networks').select('project_id').where('id', '=', networkId).executeTakeFirst();
  return r?.project_id ?? null;
}

export async function checkNetworkVisible(db: Db, ctx: RequestContext, networkId: string): Promise<void> {
  let q = db.kysely.selectFrom('networks').select('id').where('id', '=', networkId);
  if (!ctx.isAdmin) q = q.where(networkVisible(ctx, 'networks.project_id', 'networks.id'));
  if (!(await q.executeTakeFirst())) throw networkNotFound(networkId);
}

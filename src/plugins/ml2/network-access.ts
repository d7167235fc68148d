// Lookups on a port's or subnet's parent network shared by their handlers: its owner (for
// `network:tenant_id` in policy targets) and whether the caller may use it at all (else 404).
import type { RequestContext } from '../../core/context.js';
import type { Db } from '../../db/connection.js';
import { networkVisible } from '../common/visibility.js';
import { networkNotFound } from './errors.js';

export async function networkOwner(db: Db, networkId: string): Promise<string | null> {
  const r = await db.kysely.selectFrom('networks').select('project_id').where('id', '=', networkId).executeTakeFirst();
  return r?.project_id ?? null;
}

/** 404 unless the caller may use the network; its owner otherwise (saves networkOwner()). */
export async function checkNetworkVisible(db: Db, ctx: RequestContext, networkId: string): Promise<string> {
  let q = db.kysely.selectFrom('networks').select('project_id').where('id', '=', networkId);
  if (!ctx.isAdmin) q = q.where(networkVisible(ctx, 'networks.project_id', 'networks.id'));
  const r = await q.executeTakeFirst();
  if (!r) throw networkNotFound(networkId);
  return r.project_id;
}

/** Whether the network is shared with the project or with everyone (Neutron's `shared` for it). */
export async function networkSharedWith(db: Db, networkId: string, projectId: string | null): Promise<boolean> {
  const r = await db.kysely
    .selectFrom('rbac_entries')
    .select('object_id')
    .where('object_type', '=', 'network')
    .where('object_id', '=', networkId)
    .where('action', '=', 'access_as_shared')
    .where('target_project', 'in', ['*', projectId ?? '*'])
    .executeTakeFirst();
  return r !== undefined;
}

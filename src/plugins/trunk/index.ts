// The trunk service plugin (trunk, trunk-details): /v2.0/trunks with its member actions, the
// trunk_details of parent ports, and the port delete rule.
import type { FastifyInstance } from 'fastify';
import type { RouteHelpers, RouteInstaller } from '../../api/server.js';
import type { Db } from '../../db/connection.js';
import type { Ml2PortHandler } from '../ml2/bound-ports.js';
import type { Ml2Context } from '../ml2/context.js';
import { refuseTrunkPortDelete, TrunkDetails } from './ports.js';
import { TrunkHandler } from './trunks.js';

export const TRUNK_ALIASES: readonly string[] = ['trunk', 'trunk-details'];

/**
 * PUT add_subports / remove_subports and GET get_subports on /v2.0/trunks/{id}: as for every
 * member action, the caller must see the trunk (else TrunkNotFound), then the action's policy.
 */
function trunkActionRoutes(handler: TrunkHandler): RouteInstaller {
  return (app: FastifyInstance, h: RouteHelpers): void => {
    const c = h.controllers.get('trunks');
    if (!c) return;
    type P = { Params: { id: string } };
    app.put<P>('/v2.0/trunks/:id/add_subports', async (req) => {
      const ctx = h.ctx(req);
      await c.authorize(ctx, req.params.id, 'add_subports');
      return handler.addSubports(ctx, req.params.id, req.body);
    });
    app.put<P>('/v2.0/trunks/:id/remove_subports', async (req) => {
      const ctx = h.ctx(req);
      await c.authorize(ctx, req.params.id, 'remove_subports');
      return handler.removeSubports(ctx, req.params.id, req.body);
    });
    app.get<P>('/v2.0/trunks/:id/get_subports', async (req) => {
      const ctx = h.ctx(req);
      await c.authorize(ctx, req.params.id, 'get_subports');
      return handler.getSubports(ctx, req.params.id);
    });
  };
}

export function trunkPlugin(db: Db, ml2: Ml2Context, ports: Ml2PortHandler, aliases: ReadonlySet<string>) {
  const trunks = new TrunkHandler(db);
  ports.deleteGuards.push(refuseTrunkPortDelete);
  if (aliases.has('trunk-details')) (ml2.extensions ??= []).push(new TrunkDetails(db));
  return { handlers: [trunks], routes: [trunkActionRoutes(trunks)] };
}

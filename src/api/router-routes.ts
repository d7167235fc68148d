// Member actions of routers (PUT /v2.0/routers/{id}/<action>): add_router_interface and
// remove_router_interface (router), add_extraroutes and remove_extraroutes (extraroute-atomic).
// The caller must see the router (else its 404) and pass the action's policy rule on it.
import type { FastifyInstance } from 'fastify';
import type { RouteHelpers } from './server.js';
import type { RouterHandler } from '../plugins/l3/routers.js';

export function routerActionRoutes(routers: RouterHandler, opts: { extraRoutesAtomic: boolean }) {
  return (app: FastifyInstance, h: RouteHelpers): void => {
    const c = h.controllers.get('routers');
    if (!c) return;
    type P = { Params: { id: string } };
    app.put<P>('/v2.0/routers/:id/add_router_interface', async (req) => {
      const ctx = h.ctx(req);
      await c.authorize(ctx, req.params.id, 'add_router_interface');
      return routers.addInterface(ctx, req.params.id, req.body);
    });
    app.put<P>('/v2.0/routers/:id/remove_router_interface', async (req) => {
      const ctx = h.ctx(req);
      await c.authorize(ctx, req.params.id, 'remove_router_interface');
      return routers.removeInterface(ctx, req.params.id, req.body);
    });
    if (!opts.extraRoutesAtomic) return;
    for (const op of ['add', 'remove'] as const) {
      app.put<P>(`/v2.0/routers/:id/${op}_extraroutes`, async (req) => {
        const ctx = h.ctx(req);
        await c.authorize(ctx, req.params.id, `${op}_extraroutes`);
        return routers.changeExtraRoutes(ctx, req.params.id, req.body, op);
      });
    }
  };
}

// Member actions (PUT or GET /v2.0/<collection>/{id}/<action>), e.g. a router's
// add_router_interface or a trunk's add_subports. Every one works the same way: the caller must
// see the resource (else its 404), then pass the action's policy rule on it.
import type { RequestContext } from '../core/context.js';
import type { RouteInstaller } from './server.js';

export interface MemberAction {
  name: string;
  method?: 'put' | 'get';
  run(ctx: RequestContext, id: string, body: unknown): Promise<unknown>;
}

export function memberActionRoutes(collection: string, actions: readonly MemberAction[]): RouteInstaller {
  return (app, h) => {
    const c = h.controllers.get(collection);
    if (!c) return;
    for (const a of actions) {
      app.route<{ Params: { id: string } }>({
        method: a.method === 'get' ? 'GET' : 'PUT',
        url: `/v2.0/${collection}/:id/${a.name}`,
        handler: async (req) => {
          const ctx = h.ctx(req);
          await c.authorize(ctx, req.params.id, a.name);
          return a.run(ctx, req.params.id, req.body);
        },
      });
    }
  };
}

// Member actions of subnet pools: PUT /v2.0/subnetpools/{id}/add_prefixes and remove_prefixes
// (subnetpool-prefix-ops), onboard_network_subnets (subnet_onboard). As in Neutron's
// _handle_action: the caller must see the pool (else its 404), then the action's policy applies.
import type { FastifyInstance } from 'fastify';
import type { RouteHelpers } from '../../api/server.js';
import type { SubnetPoolHandler } from './subnetpools.js';

export function subnetpoolActionRoutes(handler: SubnetPoolHandler, opts: { onboard: boolean }) {
  return (app: FastifyInstance, h: RouteHelpers): void => {
    const c = h.controllers.get('subnetpools');
    if (!c) return;
    type P = { Params: { id: string } };
    const actions: Array<[string, (ctx: ReturnType<RouteHelpers['ctx']>, id: string, body: unknown) => Promise<unknown>]> = [
      ['add_prefixes', (ctx, id, body) => handler.addPrefixes(ctx, id, body)],
      ['remove_prefixes', (ctx, id, body) => handler.removePrefixes(ctx, id, body)],
    ];
    if (opts.onboard) actions.push(['onboard_network_subnets', (ctx, id, body) => handler.onboardNetworkSubnets(ctx, id, body)]);
    for (const [action, run] of actions) {
      app.put<P>(`/v2.0/subnetpools/:id/${action}`, async (req) => {
        const ctx = h.ctx(req);
        await c.authorize(ctx, req.params.id, action);
        return run(ctx, req.params.id, req.body);
      });
    }
  };
}

// Member actions of routers (PUT /v2.0/routers/{id}/<action>): add_router_interface and
// remove_router_interface (router), add_extraroutes and remove_extraroutes (extraroute-atomic).
import type { RouterHandler } from '../plugins/l3/routers.js';
import { memberActionRoutes, type MemberAction } from './member-actions.js';

export function routerActionRoutes(routers: RouterHandler, opts: { extraRoutesAtomic: boolean }) {
  const actions: MemberAction[] = [
    { name: 'add_router_interface', run: (ctx, id, body) => routers.addInterface(ctx, id, body) },
    { name: 'remove_router_interface', run: (ctx, id, body) => routers.removeInterface(ctx, id, body) },
  ];
  if (opts.extraRoutesAtomic) {
    for (const op of ['add', 'remove'] as const) {
      actions.push({ name: `${op}_extraroutes`, run: (ctx, id, body) => routers.changeExtraRoutes(ctx, id, body, op) });
    }
  }
  return memberActionRoutes('routers', actions);
}

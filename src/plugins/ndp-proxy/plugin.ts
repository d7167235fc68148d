// The NDP proxy service plugin (`ndp_proxy`, Neutron's NDPProxyPlugin) on the L3 router plugin:
// /v2.0/ndp_proxies (l3-ndp-proxy) and the routers' enable_ndp_proxy (l3-ext-ndp-proxy). The
// proxies reach the L3 agents in the routers' sync data (`_ndp_proxies`, as port forwardings and
// conntrack helpers do), where src/agents/l3/ndp-proxy.ts answers for them on the gateway.
import type { PluginDefinition } from '../contract.js';
import type { L3AgentScheduler } from '../l3/agent-scheduler.js';
import { NDP_PROXY_RULES } from '../../policy/defaults/ndp-proxy.js';
import { i2b } from '../../db/tx.js';
import { NdpProxyHandler, proxiesOfRouters } from './ndp-proxies.js';
import { RouterNdpState } from './router-state.js';

/** The key of a router's proxies in its sync data. */
export const NDP_PROXY_KEY = '_ndp_proxies';

export const ndpProxyPlugin: PluginDefinition = {
  name: 'ndp_proxy',
  policies: NDP_PROXY_RULES,
  classPaths: ['neutron.services.ndp_proxy.plugin.NDPProxyPlugin'],
  aliases: (_cfg, loaded) => (loaded.has('router') ? ['l3-ndp-proxy', 'l3-ext-ndp-proxy'] : []),
  create(ctx) {
    const l3 = ctx.exportsOf<{ scheduler: L3AgentScheduler }>('router');
    if (!l3) return {};
    const state = new RouterNdpState(ctx.cfg.DEFAULT.enable_ndp_proxy_by_default);
    const handler = new NdpProxyHandler({
      db: ctx.db,
      routersUpdated: (c, ids) => (ids.length ? l3.scheduler.routersUpdated(c, ids) : Promise.resolve()),
    });
    return {
      resources: [handler],
      ml2Extensions: [
        {
          processCreateRouter: (tx, _c, body) => state.onCreate(tx, body),
          processUpdateRouter: (tx, _c, id, body, gwBefore) => state.onUpdate(tx, id, body, gwBefore),
          beforeRemoveRouterInterface: (tx, routerId, subnetId) => state.beforeRemoveInterface(tx, routerId, subnetId),
          async extendRouterDicts(db, dicts) {
            const ids = dicts.map((d) => d.id as string);
            if (!ids.length) return;
            const rows = await db.selectFrom('routers').select(['id', 'enable_ndp_proxy']).where('id', 'in', ids).execute();
            const on = new Map(rows.map((r) => [r.id, i2b(r.enable_ndp_proxy)]));
            const proxies = await proxiesOfRouters(db, ids);
            for (const d of dicts) {
              // Without a gateway a router serves no proxy, whatever it was set to.
              d.enable_ndp_proxy = !!d.external_gateway_info && (on.get(d.id as string) ?? false);
              d[NDP_PROXY_KEY] = d.enable_ndp_proxy ? (proxies.get(d.id as string) ?? []) : [];
            }
          },
        },
      ],
    };
  },
};

// GET /v2.0/floatingip-pools (floatingip-pools, Neutron's FloatingIPPoolsDbMixin): the IPv4
// subnets of every external network, each a pool a floating IP may name as its subnet_id. Like
// Neutron, project_id is the caller's own; IPv6 subnets are left out (no fip64 here).
import type { ApiRoute } from '../../core/api-route.js';
import type { Rec } from '../../core/resource.js';
import type { Db } from '../../db/connection.js';

export function floatingipPoolsRoute(db: Db): ApiRoute {
  return {
    method: 'GET',
    // Neutron's collection floatingip_pools, at the hyphenated path its extension manager gives it.
    path: '/floatingip-pools',
    async handle(r, api) {
      const project = r.ctx.projectId ?? '';
      if (!api.allowed(r.ctx, 'get_floatingip_pool', { project_id: project, tenant_id: project })) {
        return { floatingip_pools: [] };
      }
      const rows = await db.kysely
        .selectFrom('subnets')
        .innerJoin('networks', 'networks.id', 'subnets.network_id')
        .select(['subnets.id', 'subnets.name', 'subnets.network_id', 'subnets.cidr'])
        .where('networks.router_external', '=', 1)
        .where('subnets.ip_version', '=', 4)
        .orderBy('subnets.created_at')
        .orderBy('subnets.id')
        .execute();
      const fields = r.query.fields ?? [];
      const pools = rows.map((s): Rec => {
        const pool: Rec = { subnet_id: s.id, subnet_name: s.name, tenant_id: project, project_id: project, network_id: s.network_id, cidr: s.cidr };
        return fields.length ? Object.fromEntries(Object.entries(pool).filter(([k]) => fields.includes(k))) : pool;
      });
      return { floatingip_pools: pools };
    },
  };
}

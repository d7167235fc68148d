// The auto_allocate service plugin (auto-allocated-topology): is_default on external networks
// (stored by the core network handler) and GET/DELETE /v2.0/auto-allocated-topology/{project_id}.
import type { PluginDefinition } from '../contract.js';
import type { ApiRoute } from '../../core/api-route.js';
import type { RequestContext } from '../../core/context.js';
import type { ResourceHandler } from '../../core/resource.js';
import { actionNotAuthorized, policyNotAuthorized } from '../../core/errors.js';
import { AUTO_ALLOCATE_RULES } from '../../policy/defaults/auto-allocate.js';
import { AutoAllocator, DRY_RUN } from './topology.js';
import { unrecognizedField } from './errors.js';

/** Neutron's _validate: 'None' (a client without a project) is the caller's; others are the admin's. */
function projectFor(ctx: RequestContext, requested: string): string {
  const project = requested === 'None' ? (ctx.projectId ?? '') : requested;
  if (!ctx.isAdmin && project !== ctx.projectId) throw actionNotAuthorized();
  return project;
}

export const autoAllocatePlugin: PluginDefinition = {
  name: 'auto_allocate',
  policies: AUTO_ALLOCATE_RULES,
  classPaths: ['neutron.services.auto_allocate.plugin.Plugin'],
  // Neutron's REQUIRED_EXTENSIONS: router, subnet_allocation and external-net (the last two core).
  aliases: (_cfg, loaded) => (loaded.has('router') ? ['auto-allocated-topology'] : []),
  create(ctx) {
    const routers = ctx.exportsOf<{ routers: ResourceHandler }>('router')?.routers;
    if (!routers || !ctx.aliases.has('auto-allocated-topology')) return {};
    const allocator = new AutoAllocator(ctx.db, routers);
    const path = '/auto-allocated-topology/:project';
    const routes: ApiRoute[] = [
      {
        method: 'GET',
        path,
        async handle(r, api) {
          const project = projectFor(r.ctx, r.params.project!);
          const target = { project_id: project, tenant_id: project };
          if (!api.allowed(r.ctx, 'get_auto_allocated_topology', target)) throw policyNotAuthorized('get_auto_allocated_topology');
          const fields = r.query.fields ?? [];
          if (fields.includes(DRY_RUN)) {
            await allocator.check(r.ctx);
            return { auto_allocated_topology: { id: `${DRY_RUN}=pass`, tenant_id: project, project_id: project } };
          }
          if (fields.length) throw unrecognizedField();
          const id = await allocator.get(r.ctx, api, project);
          return { auto_allocated_topology: { id, tenant_id: project, project_id: project } };
        },
      },
      {
        method: 'DELETE',
        path,
        status: 204,
        async handle(r, api) {
          const project = projectFor(r.ctx, r.params.project!);
          const target = { project_id: project, tenant_id: project };
          if (!api.allowed(r.ctx, 'delete_auto_allocated_topology', target)) throw policyNotAuthorized('delete_auto_allocated_topology');
          await allocator.delete(r.ctx, api, project);
        },
      },
    ];
    return { routes: () => routes };
  },
};

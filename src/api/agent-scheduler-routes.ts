// Sub-resources of agents, networks and routers for agent scheduling, as Neutron's
// dhcp_agent_scheduler and l3_agent_scheduler extensions route them:
//   GET    /v2.0/agents/{id}/dhcp-networks          {"networks": [...]}     get_dhcp-networks
//   POST   /v2.0/agents/{id}/dhcp-networks          {"network_id": ...}     create_dhcp-network (201, null)
//   DELETE /v2.0/agents/{id}/dhcp-networks/{net}                           delete_dhcp-network (204)
//   GET    /v2.0/networks/{id}/dhcp-agents          {"agents": [...]}       get_dhcp-agents
//   GET    /v2.0/agents/{id}/l3-routers             {"routers": [...]}      get_l3-routers
//   POST   /v2.0/agents/{id}/l3-routers             {"router_id": ...}      create_l3-router (201, null)
//   DELETE /v2.0/agents/{id}/l3-routers/{router}                           delete_l3-router (204)
//   GET    /v2.0/routers/{id}/l3-agents             {"agents": [...]}       get_l3-agents
// The rule is checked first, on an empty target (admin only by default: 403 otherwise); the
// listed networks, routers and agents are the resources' own API views.
import type { FastifyInstance } from 'fastify';
import type { RequestContext } from '../core/context.js';
import type { PolicyEngine } from '../policy/engine.js';
import { isUuid } from '../definitions/validators.js';
import type { DhcpAgentScheduling } from '../plugins/dhcp/agent-scheduler.js';
import type { L3AgentScheduler } from '../plugins/l3/agent-scheduler.js';
import { credentialsOf, type CollectionController } from './controller.js';
import { NeutronError, badRequest } from '../core/errors.js';
import type { ListQuery } from './query.js';
import type { Rec } from '../core/resource.js';
import type { RouteHelpers } from './server.js';

export interface AgentSchedulerDeps {
  policy: PolicyEngine;
  dhcp: DhcpAgentScheduling | null;
  l3: L3AgentScheduler | null;
}

const byIds = (ids: string[]): ListQuery =>
  ({ filters: { id: ids }, fields: [], sorts: [], limit: null, marker: null, pageReverse: false, tagFilters: {} });

/** The id attribute of a POST body ({"network_id": ...}), a UUID. */
function bodyId(body: unknown, key: string): string {
  if (!body || typeof body !== 'object' || Array.isArray(body) || !(key in body)) throw badRequest(`Unable to find '${key}' in request body`);
  const v = (body as Rec)[key];
  if (!isUuid(v)) throw badRequest(`Invalid input for ${key}. Reason: '${typeof v === 'string' ? v : JSON.stringify(v)}' is not a valid UUID.`);
  return v;
}

export function agentSchedulerRoutes(deps: AgentSchedulerDeps) {
  const enforce = (ctx: RequestContext, action: string) => {
    if (!deps.policy.check(action, {}, credentialsOf(ctx))) {
      throw new NeutronError(403, 'PolicyNotAuthorized', `(rule:${action}) is disallowed by policy`);
    }
  };
  const listOf = async (c: CollectionController | undefined, ctx: RequestContext, ids: string[]): Promise<Rec[]> =>
    c && ids.length ? c.list(ctx, byIds(ids)) : [];

  return (app: FastifyInstance, h: RouteHelpers): void => {
    type P = { Params: { id: string; sub?: string } };
    const agents = () => h.controllers.get('agents');
    const { dhcp, l3 } = deps;
    if (dhcp) {
      app.get<P>('/v2.0/agents/:id/dhcp-networks', async (req) => {
        const ctx = h.ctx(req);
        enforce(ctx, 'get_dhcp-networks');
        return { networks: await listOf(h.controllers.get('networks'), ctx, await dhcp.networksOnAgent(req.params.id)) };
      });
      app.post<P>('/v2.0/agents/:id/dhcp-networks', async (req, reply) => {
        const ctx = h.ctx(req);
        enforce(ctx, 'create_dhcp-network');
        await dhcp.addNetwork(ctx, req.params.id, bodyId(req.body, 'network_id'));
        return reply.status(201).header('content-type', 'application/json').send('null');
      });
      app.delete<P>('/v2.0/agents/:id/dhcp-networks/:sub', async (req, reply) => {
        const ctx = h.ctx(req);
        enforce(ctx, 'delete_dhcp-network');
        await dhcp.removeNetwork(ctx, req.params.id, req.params.sub!);
        return reply.status(204).send();
      });
      app.get<P>('/v2.0/networks/:id/dhcp-agents', async (req) => {
        const ctx = h.ctx(req);
        enforce(ctx, 'get_dhcp-agents');
        return { agents: await listOf(agents(), ctx, await dhcp.agentsHostingNetwork(req.params.id)) };
      });
    }
    if (l3) {
      app.get<P>('/v2.0/agents/:id/l3-routers', async (req) => {
        const ctx = h.ctx(req);
        enforce(ctx, 'get_l3-routers');
        return { routers: await listOf(h.controllers.get('routers'), ctx, await l3.routersOnAgent(req.params.id)) };
      });
      app.post<P>('/v2.0/agents/:id/l3-routers', async (req, reply) => {
        const ctx = h.ctx(req);
        enforce(ctx, 'create_l3-router');
        await l3.addRouterToAgent(ctx, req.params.id, bodyId(req.body, 'router_id'));
        return reply.status(201).header('content-type', 'application/json').send('null');
      });
      app.delete<P>('/v2.0/agents/:id/l3-routers/:sub', async (req, reply) => {
        const ctx = h.ctx(req);
        enforce(ctx, 'delete_l3-router');
        await l3.removeRouterFromAgent(ctx, req.params.id, req.params.sub!);
        return reply.status(204).send();
      });
      app.get<P>('/v2.0/routers/:id/l3-agents', async (req) => {
        const ctx = h.ctx(req);
        enforce(ctx, 'get_l3-agents');
        return { agents: await listOf(agents(), ctx, await l3.agentsHostingRouter(req.params.id)) };
      });
    }
  };
}

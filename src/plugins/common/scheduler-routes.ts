// The shape both agent-scheduler extensions give their sub-resources (Neutron's
// dhcp_agent_scheduler and l3_agent_scheduler):
//   GET    /v2.0/agents/{id}/<hosted>           {"<items>": [...]}        get_<hosted>
//   POST   /v2.0/agents/{id}/<hosted>           {"<item>_id": ...}        create_<hosted, singular> (201, null)
//   DELETE /v2.0/agents/{id}/<hosted>/{item}                             delete_<hosted, singular> (204)
//   GET    /v2.0/<items>/{id}/<hosts>           {"agents": [...]}         get_<hosts>
// The rule is checked first, on an empty target (admin only by default); the listed items and
// agents are the resources' own API views.
import { byIds, type ApiRoute, type CollectionAccess } from '../../core/api-route.js';
import type { RequestContext } from '../../core/context.js';
import { badRequest } from '../../core/errors.js';
import type { Rec } from '../../core/resource.js';
import { isUuid } from '../../definitions/validators.js';

export interface AgentScheduling {
  /** 'dhcp-networks' / 'l3-routers'. */
  hosted: string;
  /** 'dhcp-agents' / 'l3-agents'. */
  hosts: string;
  /** The hosted collection: 'networks' / 'routers'. */
  items: string;
  /** The POST body's key: 'network_id' / 'router_id'. */
  idKey: string;
  itemsOnAgent(agentId: string): Promise<string[]>;
  agentsHosting(itemId: string): Promise<string[]>;
  add(ctx: RequestContext, agentId: string, itemId: string): Promise<void>;
  remove(ctx: RequestContext, agentId: string, itemId: string): Promise<void>;
}

/** The id attribute of a POST body ({"network_id": ...}), a UUID. */
function bodyId(body: unknown, key: string): string {
  if (!body || typeof body !== 'object' || Array.isArray(body) || !(key in body)) throw badRequest(`Unable to find '${key}' in request body`);
  const v = (body as Rec)[key];
  if (!isUuid(v)) throw badRequest(`Invalid input for ${key}. Reason: '${typeof v === 'string' ? v : JSON.stringify(v)}' is not a valid UUID.`);
  return v;
}

const listOf = async (c: CollectionAccess | undefined, ctx: RequestContext, ids: string[]): Promise<Rec[]> =>
  c && ids.length ? c.list(ctx, byIds(ids)) : [];

export function schedulerRoutes(s: AgentScheduling): ApiRoute[] {
  const one = s.hosted.replace(/s$/, '');
  return [
    {
      method: 'GET',
      path: `/agents/:id/${s.hosted}`,
      policy: `get_${s.hosted}`,
      handle: async (r, api) => ({ [s.items]: await listOf(api.collection(s.items), r.ctx, await s.itemsOnAgent(r.params.id!)) }),
    },
    {
      method: 'POST',
      path: `/agents/:id/${s.hosted}`,
      policy: `create_${one}`,
      status: 201,
      async handle(r) {
        await s.add(r.ctx, r.params.id!, bodyId(r.body, s.idKey));
        return null;
      },
    },
    {
      method: 'DELETE',
      path: `/agents/:id/${s.hosted}/:sub`,
      policy: `delete_${one}`,
      status: 204,
      async handle(r) {
        await s.remove(r.ctx, r.params.id!, r.params.sub!);
      },
    },
    {
      method: 'GET',
      path: `/${s.items}/:id/${s.hosts}`,
      policy: `get_${s.hosts}`,
      handle: async (r, api) => ({ agents: await listOf(api.collection('agents'), r.ctx, await s.agentsHosting(r.params.id!)) }),
    },
  ];
}

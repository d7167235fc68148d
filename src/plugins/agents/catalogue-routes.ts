// Read-only catalogues:
//   GET /v2.0/availability_zones   (availability_zone, availability_zone_filter) get_availability_zone
//   GET /v2.0/service-providers    (service-type)                                get_service_provider
// Both are lists only, with filters and ?fields=; each item passes its rule (on a target owned by
// the caller's project, as Neutron's dummy tenant_id makes it) or is left out.
import type { ApiRoute, ApiServices } from '../../core/api-route.js';
import type { RequestContext } from '../../core/context.js';
import { badRequest } from '../../core/errors.js';
import type { QueryParams } from '../../core/list-query.js';
import type { Rec } from '../../core/resource.js';
import type { Db } from '../../db/connection.js';
import { listAvailabilityZones } from './availability-zones.js';

/** What neutrino provides per service type, as Neutron lists its defaults (service_type, name, default). */
export const SERVICE_PROVIDERS: ReadonlyArray<Rec> = [
  // The L3 router plugin's providers: non-HA and HA routers, never distributed (Neutron's
  // single_node and ha; its dvr and dvrha need a distributed dataplane neutrino has not).
  { service_type: 'L3_ROUTER_NAT', name: 'ha', default: false },
  { service_type: 'L3_ROUTER_NAT', name: 'single_node', default: false },
];

/** The driver (Neutron's class path, which service profiles name) of each provider above. */
export const PROVIDER_DRIVERS: ReadonlyArray<{ service_type: string; name: string; driver: string }> = [
  { service_type: 'L3_ROUTER_NAT', name: 'ha', driver: 'neutron.services.l3_router.service_providers.ha.HaDriver' },
  { service_type: 'L3_ROUTER_NAT', name: 'single_node', driver: 'neutron.services.l3_router.service_providers.single_node.SingleNodeDriver' },
];

const PAGING = new Set(['fields', 'sort_key', 'sort_dir', 'limit', 'marker', 'page_reverse']);

/** Keeps the items matching every filter (any of its values; '' only with empty-string filtering). */
function filtered(items: Rec[], params: QueryParams, filters: ReadonlySet<string> | null): Rec[] {
  const invalid = Object.keys(params).filter((k) => !PAGING.has(k) && filters !== null && !filters.has(k));
  if (invalid.length) throw badRequest(`[${invalid.map((k) => `'${k}'`).join(', ')}] is invalid attribute for filtering`);
  let out = items;
  for (const [k, values] of Object.entries(params)) {
    if (PAGING.has(k) || !values.length) continue;
    out = out.filter((it) => k in it && values.some((v) => (typeof it[k] === 'boolean' ? String(it[k]) === v.toLowerCase() : it[k] === v)));
  }
  return out;
}

function project(items: Rec[], params: QueryParams): Rec[] {
  const fields = (params.fields ?? []).filter((f) => f);
  if (!fields.length) return items;
  return items.map((it) => Object.fromEntries(Object.entries(it).filter(([k]) => fields.includes(k))));
}

const visible = (api: ApiServices, ctx: RequestContext, action: string, items: Rec[]) =>
  items.filter((it) => api.allowed(ctx, action, { ...it, tenant_id: ctx.projectId, project_id: ctx.projectId }));

export function availabilityZoneRoutes(db: Db): ApiRoute[] {
  return [
    {
      method: 'GET',
      path: '/availability_zones',
      async handle(r, api) {
        const zones = (await listAvailabilityZones(db.kysely)) as unknown as Rec[];
        const items = filtered(zones, r.query, new Set(['name', 'resource', 'state']));
        return { availability_zones: project(visible(api, r.ctx, 'get_availability_zone', items), r.query) };
      },
    },
  ];
}

export function serviceProviderRoutes(): ApiRoute[] {
  return [
    {
      method: 'GET',
      path: '/service-providers',
      async handle(r, api) {
        // Neutron's service type manager takes any filter and applies service_type, name, default.
        const known = new Set(['service_type', 'name', 'default']);
        const applied = Object.fromEntries(Object.entries(r.query).filter(([k]) => PAGING.has(k) || known.has(k)));
        const items = filtered(
          SERVICE_PROVIDERS.map((p) => ({ ...p })),
          applied,
          null,
        );
        return { service_providers: project(visible(api, r.ctx, 'get_service_provider', items), r.query) };
      },
    },
  ];
}

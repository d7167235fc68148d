// The /v2.0/ports/{port_id}/bindings sub-resource (binding-extended), with the checks in the order
// Neutron's controller makes them, which decides who gets which error:
//   GET    /ports/:id/bindings                 get_port_binding filters the list (non-admins: [])
//   GET    /ports/:id/bindings/:host           404 unless get_port_binding allows
//   POST   /ports/:id/bindings                 create_port_binding on the request (403) before the port is read
//   PUT    /ports/:id/bindings/:host/activate  404 unless get_port_binding, then 403 unless activate
//   DELETE /ports/:id/bindings/:host           403 unless delete_port_binding (404 if get_port_binding denies too)
// A port the caller cannot see is PortNotFound (Neutron reads it with the caller's context).
import type { ApiRoute, ApiServices, RouteRequest } from '../../core/api-route.js';
import { badRequest, NeutronError, policyNotAuthorized, invalidAttribute } from '../../core/errors.js';
import type { QueryParams } from '../../core/list-query.js';
import type { Rec } from '../../core/resource.js';
import { VNIC_TYPES } from '../../definitions/port.js';
import { dictOrEmpty, oneOf, string } from '../../definitions/validators.js';
import type { NewBinding, PortBinding, PortBindings } from './port-bindings.js';

const FILTERS = new Set(['host', 'vif_type', 'vnic_type', 'status']);
// Accepted and not applied: a port has a binding or two, Nova never pages through them.
const PAGING = new Set(['fields', 'sort_key', 'sort_dir', 'limit', 'marker', 'page_reverse']);
const POSTABLE = new Set(['host', 'vnic_type', 'profile', 'project_id', 'tenant_id']);
const READ_ONLY = new Set(['vif_type', 'vif_details', 'status']);

const resourceNotFound = () => new NeutronError(404, 'HTTPNotFound', 'The resource could not be found.');

export function portBindingRoutes(bindings: PortBindings): ApiRoute[] {
  // The caller must see the port, else its PortNotFound.
  const port = (r: RouteRequest, api: ApiServices) => api.collection('ports')!.authorize(r.ctx, r.params.id!, 'get_port');
  const target = (projectId: string, portId: string, b: PortBinding | NewBinding): Rec => ({
    ...b,
    port_id: portId,
    project_id: projectId,
    tenant_id: projectId,
  });
  /** The binding, which the caller must be allowed to see (else a 404 that gives nothing away). */
  const visible = async (r: RouteRequest, api: ApiServices) => {
    await port(r, api);
    const { projectId, binding } = await bindings.get(r.params.id!, r.params.host!);
    const t = target(projectId, r.params.id!, binding);
    if (!api.allowed(r.ctx, 'get_port_binding', t)) throw resourceNotFound();
    return { binding, target: t };
  };

  return [
    {
      method: 'GET',
      path: '/ports/:id/bindings',
      async handle(r, api) {
        const filters = filtersOf(r.query);
        await port(r, api);
        const { projectId, bindings: all } = await bindings.list(r.params.id!);
        const shown = all.filter((b) => matches(b, filters) && api.allowed(r.ctx, 'get_port_binding', target(projectId, r.params.id!, b)));
        return { bindings: shown.map((b) => fieldsOf(b, r.query)) };
      },
    },
    {
      method: 'GET',
      path: '/ports/:id/bindings/:host',
      async handle(r, api) {
        const { binding } = await visible(r, api);
        return { binding: fieldsOf(binding, r.query) };
      },
    },
    {
      method: 'POST',
      path: '/ports/:id/bindings',
      status: 201,
      async handle(r, api) {
        const b = parseCreate(r.body);
        const projectId = r.ctx.projectId ?? '';
        if (!api.allowed(r.ctx, 'create_port_binding', target(projectId, r.params.id!, b))) throw policyNotAuthorized('create_port_binding');
        await port(r, api);
        return { binding: await bindings.create(r.params.id!, b) };
      },
    },
    {
      method: 'PUT',
      path: '/ports/:id/bindings/:host/activate',
      async handle(r, api) {
        const { target: t } = await visible(r, api);
        if (!api.allowed(r.ctx, 'activate', t)) throw policyNotAuthorized('activate');
        return { binding: await bindings.activate(r.ctx, r.params.id!, r.params.host!) };
      },
    },
    {
      method: 'DELETE',
      path: '/ports/:id/bindings/:host',
      status: 204,
      async handle(r, api) {
        const { target: t } = await visible(r, api);
        if (!api.allowed(r.ctx, 'delete_port_binding', t)) throw policyNotAuthorized('delete_port_binding');
        await bindings.delete(r.ctx, r.params.id!, r.params.host!);
      },
    },
  ];
}

/** The body of a POST, validated as Neutron's attribute map for bindings does. */
function parseCreate(body: unknown): NewBinding {
  const b = (body as Rec | null)?.binding;
  if (!b || typeof b !== 'object' || Array.isArray(b)) throw badRequest("Unable to find 'binding' in request body");
  const attrs = b as Rec;
  for (const k of Object.keys(attrs)) if (READ_ONLY.has(k)) throw badRequest(`Attribute '${k}' not allowed in POST`);
  const unknown = Object.keys(attrs).filter((k) => !POSTABLE.has(k) && !READ_ONLY.has(k));
  if (unknown.length) throw badRequest(`Unrecognized attribute(s) '${unknown.join(', ')}'`);
  if (!('host' in attrs)) throw badRequest("Failed to parse request. Required attribute 'host' not specified");
  const host = string(255)(attrs.host, 'host') as string;
  if (!host) throw invalidAttribute('host', 'a binding is made for a host: give its name');
  return {
    host,
    vnic_type: 'vnic_type' in attrs ? (oneOf(VNIC_TYPES)(attrs.vnic_type, 'vnic_type') as string) : 'normal',
    profile: 'profile' in attrs ? (dictOrEmpty(attrs.profile, 'profile') as Rec) : {},
  };
}

function filtersOf(query: QueryParams): Map<string, string[]> {
  const invalidKeys = Object.keys(query).filter((k) => !PAGING.has(k) && !FILTERS.has(k));
  if (invalidKeys.length) throw badRequest(`[${invalidKeys.map((k) => `'${k}'`).join(', ')}] is invalid attribute for filtering`);
  return new Map(Object.entries(query).filter(([k, v]) => FILTERS.has(k) && v.length));
}

const matches = (b: PortBinding, filters: Map<string, string[]>) =>
  [...filters].every(([k, values]) => values.includes(String(b[k as keyof PortBinding])));

function fieldsOf(b: PortBinding, query: QueryParams): Rec {
  const fields = (query.fields ?? []).filter((f) => f);
  return fields.length ? Object.fromEntries(Object.entries(b).filter(([k]) => fields.includes(k))) : { ...b };
}

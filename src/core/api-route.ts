// Routes a plugin declares beyond its collections (quotas, tags, agent scheduling, catalogues),
// without knowing HTTP: the api layer serves each one with auth, the policy check, the status
// code and Neutron's error body. Collections themselves and their member actions are served from
// the resource definitions (ResourceDef.memberActions) and need no route here.
import type { RequestContext } from './context.js';
import type { ListQuery, QueryParams } from './list-query.js';
import type { ResourceDef } from './definition.js';
import type { Rec } from './resource.js';

export interface RouteRequest {
  ctx: RequestContext;
  /** Path parameters (`:id` → params.id). */
  params: Record<string, string>;
  query: QueryParams;
  body: unknown;
}

/** What a route may do with the served collections: exactly what their API calls would show. */
export interface CollectionAccess {
  readonly def: ResourceDef;
  /** The caller's view of a list (policy and field rules applied). */
  list(ctx: RequestContext, q: ListQuery): Promise<Rec[]>;
  /** The caller must see the item (else its 404) and pass `action` on it (else 403). */
  authorize(ctx: RequestContext, id: string, action: string): Promise<Rec>;
  /** A POST of `body` as the API takes it (validation, defaults, policy). */
  create(ctx: RequestContext, body: unknown): Promise<{ status: number; body: Rec }>;
  /** A PUT of `body` (`{"<resource>": {...}}`) as the API takes it. */
  update(ctx: RequestContext, id: string, body: unknown): Promise<Rec>;
  delete(ctx: RequestContext, id: string): Promise<void>;
}

export interface ApiServices {
  collection(collection: string): CollectionAccess | undefined;
  collections(): CollectionAccess[];
  /** Whether the policy rule `action` allows the caller on `target`. */
  allowed(ctx: RequestContext, action: string, target: Rec): boolean;
}

export interface ApiRoute {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Below /v2.0, with `:name` parameters: '/agents/:id/dhcp-networks'. */
  path: string;
  /** A rule checked first on an empty target (403 PolicyNotAuthorized when it fails). */
  policy?: string;
  /** Status on success (default 200); 204 sends no body. */
  status?: number;
  handle(req: RouteRequest, api: ApiServices): Promise<unknown>;
}

/** A list query that selects the given ids, for routes that show other collections' items. */
export const byIds = (ids: string[]): ListQuery => ({
  filters: { id: ids },
  fields: [],
  sorts: [],
  limit: null,
  marker: null,
  pageReverse: false,
  tagFilters: {},
});

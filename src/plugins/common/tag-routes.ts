// The /tags sub-resource of every taggable collection (standard-attr-tag, tag-ext): reading needs
// get_<resource>, changing needs update_<resource> on the parent (the caller must be able to see
// it, or gets its 404).
import type { ApiRoute, CollectionAccess } from '../../core/api-route.js';
import { badRequest } from '../../core/errors.js';
import type { ResourceDef } from '../../core/definition.js';
import { tagNotFound } from './errors.js';
import type { TagStore } from './tags.js';

export function tagRoutes(store: TagStore, served: readonly ResourceDef[]): ApiRoute[] {
  const routes: ApiRoute[] = [];
  for (const def of served) {
    if (!def.taggable) continue;
    for (const base of tagBases(def)) routes.push(...routesAt(store, def, base));
  }
  return routes;
}

/**
 * Where a resource's tags live: Neutron's tagging extension hangs them off the bare collection name
 * (/policies/{id}/tags, /address_scopes/{id}/tags; only security groups are hyphenated), which is not
 * always the resource's own path (/qos/policies): both are served.
 */
function tagBases(def: ResourceDef): string[] {
  const neutron = def.collection.includes('security_group') ? def.collection.replace(/_/g, '-') : def.collection;
  return [...new Set([def.path ?? def.collection, neutron])].map((p) => `/${p}/:id/tags`);
}

function routesAt(store: TagStore, def: ResourceDef, base: string): ApiRoute[] {
  const routes: ApiRoute[] = [];
  {
    const table = def.table ?? def.collection;
    const type = def.name;
    const parent = (api: { collection(c: string): CollectionAccess | undefined }) => api.collection(def.collection)!;
    const may = (verb: 'get' | 'update') => `${verb}_${type}`;
    routes.push(
      {
        method: 'GET',
        path: base,
        async handle(r, api) {
          await parent(api).authorize(r.ctx, r.params.id!, may('get'));
          return { tags: await store.list(r.params.id!) };
        },
      },
      {
        method: 'PUT',
        path: base,
        async handle(r, api) {
          await parent(api).authorize(r.ctx, r.params.id!, may('update'));
          const body = r.body as { tags?: unknown } | undefined;
          if (!body || typeof body !== 'object' || !('tags' in body)) throw badRequest("Unable to find 'tags' in request body");
          return { tags: await store.replace(type, table, r.params.id!, body.tags) };
        },
      },
      {
        method: 'DELETE',
        path: base,
        status: 204,
        async handle(r, api) {
          await parent(api).authorize(r.ctx, r.params.id!, may('update'));
          await store.remove(table, r.params.id!, null);
        },
      },
      {
        method: 'GET',
        path: `${base}/:tag`,
        status: 204,
        async handle(r, api) {
          await parent(api).authorize(r.ctx, r.params.id!, may('get'));
          if (!(await store.has(r.params.id!, r.params.tag!))) throw tagNotFound(r.params.tag!);
        },
      },
      {
        method: 'PUT',
        path: `${base}/:tag`,
        status: 201,
        async handle(r, api) {
          await parent(api).authorize(r.ctx, r.params.id!, may('update'));
          await store.add(type, table, r.params.id!, r.params.tag!);
        },
      },
      {
        method: 'DELETE',
        path: `${base}/:tag`,
        status: 204,
        async handle(r, api) {
          await parent(api).authorize(r.ctx, r.params.id!, may('update'));
          await store.remove(table, r.params.id!, r.params.tag!);
        },
      },
    );
  }
  return routes;
}

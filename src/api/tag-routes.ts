// The /tags sub-resource of every taggable collection: reading needs get_<resource>, changing
// needs update_<resource> on the parent (the caller must be able to see it, or gets its 404).
import type { FastifyInstance } from 'fastify';
import { NeutronError, badRequest } from '../core/errors.js';
import type { RouteHelpers } from './server.js';
import type { TagStore } from '../plugins/common/tags.js';

export function tagRoutes(store: TagStore) {
  return (app: FastifyInstance, h: RouteHelpers): void => {
    for (const c of h.controllers.values()) {
      if (!c.def.taggable) continue;
      const base = `/v2.0/${c.def.path ?? c.def.collection}/:id/tags`;
      const table = c.def.table ?? c.def.collection;
      const type = c.def.name;
      type P = { Params: { id: string; tag?: string } };
      app.get<P>(base, async (req) => {
        await c.authorize(h.ctx(req), req.params.id, `get_${type}`);
        return { tags: await store.list(req.params.id) };
      });
      app.put<P>(base, async (req) => {
        await c.authorize(h.ctx(req), req.params.id, `update_${type}`);
        const body = req.body as { tags?: unknown } | undefined;
        if (!body || typeof body !== 'object' || !('tags' in body)) throw badRequest("Unable to find 'tags' in request body");
        return { tags: await store.replace(type, table, req.params.id, body.tags) };
      });
      app.delete<P>(base, async (req, reply) => {
        await c.authorize(h.ctx(req), req.params.id, `update_${type}`);
        await store.remove(table, req.params.id, null);
        return reply.status(204).send();
      });
      app.get<P>(`${base}/:tag`, async (req, reply) => {
        await c.authorize(h.ctx(req), req.params.id, `get_${type}`);
        if (!(await store.has(req.params.id, req.params.tag!))) {
          throw new NeutronError(404, 'TagNotFound', `Tag ${req.params.tag} could not be found.`);
        }
        return reply.status(204).send();
      });
      app.put<P>(`${base}/:tag`, async (req, reply) => {
        await c.authorize(h.ctx(req), req.params.id, `update_${type}`);
        await store.add(type, table, req.params.id, req.params.tag!);
        return reply.status(201).send();
      });
      app.delete<P>(`${base}/:tag`, async (req, reply) => {
        await c.authorize(h.ctx(req), req.params.id, `update_${type}`);
        await store.remove(table, req.params.id, req.params.tag!);
        return reply.status(204).send();
      });
    }
  };
}

// The HTTP API: Fastify routes for versions, extensions, every resource collection and its member
// actions (through the generic controller) and the routes plugins declare (ApiRoute); Neutron's
// error body, request ids and auth on each call.
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import type { RequestContext } from '../core/context.js';
import type { ExtensionInfo } from '../definitions/extensions.js';
import { NeutronError, badRequest, policyNotAuthorized } from '../core/errors.js';
import { CollectionController } from './controller.js';
import { paginationLinks, parseListQuery, parseQueryString } from './query.js';
import type { ApiRoute, ApiServices } from '../core/api-route.js';
import type { Rec } from '../core/resource.js';
import { toJson } from './json.js';

export type Authenticator = (req: FastifyRequest, requestId: string) => Promise<RequestContext>;

export interface ApiOptions {
  controllers: CollectionController[];
  extensions: ExtensionInfo[];
  authenticate: Authenticator;
  paginationMaxLimit: number;
  logger?: boolean;
  /** The routes plugins declare beyond their collections. */
  routes?: ApiRoute[];
  /** Policy checks for those routes. */
  allowed(ctx: RequestContext, action: string, target: Rec): boolean;
}

/** What plugins' routes (and their request handlers) may use of the collections served here. */
export function apiServices(controllers: Iterable<CollectionController>, allowed: ApiServices['allowed']): ApiServices {
  const byCollection = new Map([...controllers].map((c) => [c.def.collection, c]));
  return { collection: (name) => byCollection.get(name), collections: () => [...byCollection.values()], allowed };
}

declare module 'fastify' {
  interface FastifyRequest {
    neutronCtx?: RequestContext;
    requestId: string;
  }
}

// Python int(): an optional sign and surrounding blanks (revision_number=-1 is a valid, stale, constraint).
const REVISION_RE = /^revision_number=\s*([+-]?\d+)\s*$/;

/** If-Match: revision_number=N (Neutron's revision-if-match); other ETags are ignored. */
function expectedRevision(req: FastifyRequest): number | undefined {
  const h = req.headers['if-match'];
  if (!h) return undefined;
  const values = (Array.isArray(h) ? h : [h])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v.startsWith('revision_number'));
  if (values.length === 0) return undefined;
  if (values.length > 1) throw badRequest('Multiple revision_number etags are not supported.');
  const m = REVISION_RE.exec(values[0]!);
  if (!m) throw badRequest('Revision number etag must be in the format of revision_number=<int>. Provided: ' + values[0]);
  return Number(m[1]);
}

function baseUrl(req: FastifyRequest): string {
  const proto = (req.headers['x-forwarded-proto'] as string | undefined) ?? req.protocol;
  return `${proto}://${req.headers.host ?? 'localhost'}`;
}

export function buildApi(opts: ApiOptions): FastifyInstance {
  const app = Fastify({
    // Logs go to stderr; errors always, requests only at debug level.
    loggerInstance: pino({ level: opts.logger ? 'debug' : 'warn' }, pino.destination(2)) as FastifyBaseLogger,
    bodyLimit: 16 * 1024 * 1024,
    // Old clients append ".json" to paths; Neutron accepted it.
    rewriteUrl: (req) => (req.url ?? '/').replace(/\.json(?=\?|$)/, ''),
    genReqId: () => `req-${randomUUID()}`,
  });
  const controllers = new Map(opts.controllers.map((c) => [c.def.collection, c]));
  app.setReplySerializer(toJson);

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body ?? '');
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(badRequest('Malformed request body: the body is not valid JSON'), undefined);
    }
  });

  app.addHook('onRequest', async (req, reply) => {
    req.requestId = String(req.id);
    reply.header('x-openstack-request-id', req.requestId);
    const path = req.url.split('?')[0]!;
    if (path === '/' || path === '') return; // versions are public, as in Neutron
    req.neutronCtx = await opts.authenticate(req, req.requestId);
  });

  app.setErrorHandler((err: unknown, req, reply) => {
    if (err instanceof NeutronError) {
      for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
      return reply.status(err.status).send(err.toBody());
    }
    const e = err as { statusCode?: number; message?: string };
    if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
      const type = e.statusCode === 413 ? 'HTTPRequestEntityTooLarge' : e.statusCode === 415 ? 'HTTPUnsupportedMediaType' : 'HTTPBadRequest';
      return reply.status(e.statusCode).send(new NeutronError(e.statusCode, type, e.message ?? 'Bad request').toBody());
    }
    req.log.error({ err: e, requestId: req.requestId }, 'request failed');
    return reply
      .status(500)
      .send(new NeutronError(500, 'HTTPInternalServerError', 'Request Failed: internal server error while processing your request.').toBody());
  });

  app.setNotFoundHandler((_req, reply) => {
    reply.status(404).send(new NeutronError(404, 'HTTPNotFound', 'The resource could not be found.').toBody());
  });

  const ctx = (req: FastifyRequest): RequestContext => req.neutronCtx!;
  const CORE_RESOURCES = new Set(['network', 'subnet', 'subnetpool', 'port']);

  app.get('/', async (req) => ({
    versions: [{ id: 'v2.0', status: 'CURRENT', links: [{ href: `${baseUrl(req)}/v2.0/`, rel: 'self' }] }],
  }));
  app.get('/v2.0', async (req) => ({
    // Neutron lists its core resources here only, not those of extensions (agents, routers, ...).
    resources: [...controllers.values()]
      .filter((c) => CORE_RESOURCES.has(c.def.name))
      .map((c) => ({
        name: c.def.name,
        collection: c.def.collection,
        links: [{ href: `${baseUrl(req)}/v2.0/${c.def.collection}`, rel: 'self' }],
      })),
  }));
  app.get('/v2.0/', async (_req, reply) => reply.redirect('/v2.0', 301));

  const extensions = opts.extensions.map((e) => ({ ...e, links: [] as unknown[] }));
  app.get('/v2.0/extensions', async () => ({ extensions }));
  app.get<{ Params: { alias: string } }>('/v2.0/extensions/:alias', async (req) => {
    const found = extensions.find((e) => e.alias === req.params.alias);
    if (!found) throw new NeutronError(404, 'HTTPNotFound', `Extension with alias ${req.params.alias} does not exist`);
    return { extension: found };
  });

  for (const c of controllers.values()) {
    const nested = c.def.parentPath;
    const base = nested ? `/v2.0/${nested}/:parent_id/${c.def.path ?? c.def.collection}` : `/v2.0/${c.def.path ?? c.def.collection}`;
    const ops = new Set(c.def.operations ?? ['list', 'create', 'show', 'update', 'delete']);
    // A sub-resource's parent id (undefined for top-level collections).
    const parentOf = (req: FastifyRequest): string | undefined => (nested ? (req.params as { parent_id: string }).parent_id : undefined);
    type P = { Params: { id: string; parent_id?: string } };
    if (ops.has('list')) {
      app.get(base, async (req) => {
        const params = parseQueryString(req.url.split('?')[1] ?? '');
        const q = parseListQuery(params, c.def, opts.paginationMaxLimit);
        const parentId = parentOf(req);
        const items = await c.list(ctx(req), q, parentId);
        const body: Record<string, unknown> = { [c.def.collection]: items };
        const self = nested ? `/v2.0/${nested}/${parentId}/${c.def.path ?? c.def.collection}` : base;
        if (q.limit) body[`${c.def.collection}_links`] = paginationLinks(`${baseUrl(req)}${self}`, params, items, q);
        return body;
      });
    }
    if (ops.has('create')) {
      app.post(base, async (req, reply) => {
        const r = await c.create(ctx(req), req.body, parentOf(req));
        return reply.status(r.status).send(r.body);
      });
    }
    if (ops.has('show')) {
      app.get<P>(`${base}/:id`, async (req) => {
        const params = parseQueryString(req.url.split('?')[1] ?? '');
        return c.show(
          ctx(req),
          req.params.id,
          (params.fields ?? []).filter((f) => f),
          parentOf(req),
        );
      });
    }
    if (ops.has('update')) {
      app.put<P>(`${base}/:id`, async (req) => c.update(ctx(req), req.params.id, req.body, expectedRevision(req), parentOf(req)));
    }
    if (ops.has('delete')) {
      app.delete<P>(`${base}/:id`, async (req, reply) => {
        await c.delete(ctx(req), req.params.id, expectedRevision(req), parentOf(req));
        return reply.status(204).send();
      });
    }
  }

  // Member actions: the caller must see the item (else its 404), then pass the action's rule.
  const activeExtensions = new Set(opts.extensions.map((e) => e.alias));
  for (const c of controllers.values()) {
    for (const a of c.def.memberActions ?? []) {
      if (a.extension && !activeExtensions.has(a.extension)) continue;
      app.route<{ Params: { id: string } }>({
        method: a.method === 'get' ? 'GET' : 'PUT',
        url: `/v2.0/${c.def.path ?? c.def.collection}/:id/${a.name}`,
        handler: async (req) => {
          await c.authorize(ctx(req), req.params.id, a.name);
          return c.handler.action!(ctx(req), req.params.id, a.name, req.body);
        },
      });
    }
  }

  const services = apiServices(controllers.values(), opts.allowed);
  for (const r of opts.routes ?? []) {
    app.route<{ Params: Record<string, string> }>({
      method: r.method,
      url: `/v2.0${r.path}`,
      handler: async (req, reply) => {
        const c = ctx(req);
        if (r.policy && !opts.allowed(c, r.policy, {})) throw policyNotAuthorized(r.policy);
        const query = parseQueryString(req.url.split('?')[1] ?? '');
        const out = await r.handle({ ctx: c, params: req.params, query, body: req.body }, services);
        const status = r.status ?? 200;
        if (status === 204) return reply.status(204).send();
        if (out === undefined) return reply.status(status).send();
        // JSON even for a null result (Neutron answers 201 with `null` to agent scheduling POSTs).
        return reply.status(status).header('content-type', 'application/json').send(toJson(out));
      },
    });
  }
  return app;
}

export type { FastifyReply };

// The HTTP API: Fastify routes for versions, extensions, every resource collection and its member
// actions (through the generic controller) and the routes plugins declare (ApiRoute); Neutron's
// error body, request ids and auth on each call.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { getLogger } from '../core/log.js';
import type { RequestContext } from '../core/context.js';
import type { ExtensionInfo } from '../definitions/extensions.js';
import { NeutronError, badRequest, policyNotAuthorized, serviceUnavailable } from '../core/errors.js';
import { CollectionController } from './controller.js';
import { paginationLinks, parseListQuery, parseQueryString } from './query.js';
import { checkBody, NUL_IN_URL } from './body.js';
import type { ApiRoute, ApiServices } from '../core/api-route.js';
import type { Rec } from '../core/resource.js';
import { toJson } from './json.js';

export type Authenticator = (req: FastifyRequest, requestId: string) => Promise<RequestContext>;

export interface ApiOptions {
  controllers: CollectionController[];
  extensions: ExtensionInfo[];
  authenticate: Authenticator;
  paginationMaxLimit: number;
  /** Bulk creates: refused when false ([DEFAULT] allow_bulk); at most this many items each. */
  allowBulk?: boolean;
  maxBulkItems?: number;
  /** The routes plugins declare beyond their collections. */
  routes?: ApiRoute[];
  /** Policy checks for those routes. */
  allowed(ctx: RequestContext, action: string, target: Rec): boolean;
  /** Errors that mean a backend is gone for now (a lost database connection): 503, not 500. */
  isUnavailable?: (err: unknown) => boolean;
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
    /** The caller's X-Openstack-Request-Id when it is a request id (oslo.middleware's global request id). */
    globalRequestId?: string;
  }
}

/** oslo.middleware's form of a request id a caller may pass on (X-Openstack-Request-Id) to tie its requests together. */
const GLOBAL_REQUEST_ID = /^req-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$/;

/** The identity fields of a request's log lines (oslo's context: global request id, user, project). */
function logContext(req: FastifyRequest): { globalRequestId?: string; user?: string; project?: string } {
  const c = req.neutronCtx;
  return {
    ...(req.globalRequestId ? { globalRequestId: req.globalRequestId } : {}),
    ...(c?.userId ? { user: c.userId } : {}),
    ...(c?.projectId ? { project: c.projectId } : {}),
  };
}

/**
 * One line per request at INFO when it is answered, in the shape of Neutron's WSGI server's,
 *   127.0.0.1 "GET /v2.0/networks HTTP/1.1" status: 200  len: 1234 time: 0.0012345
 * instead of Fastify's two (incoming, completed).
 */
class AccessLog extends LogController {
  override incomingRequest(): void {}
  override requestCompleted(error: Error | null | undefined, req: FastifyRequest, reply: FastifyReply): void {
    if (error) {
      reply.log.warn({ ...logContext(req), err: error }, 'response not completed');
      return;
    }
    const len = reply.getHeader('content-length') ?? 0;
    reply.log.info(
      logContext(req),
      `${req.ip} "${req.method} ${req.originalUrl} HTTP/${req.raw.httpVersion}" status: ${reply.statusCode}  len: ${len} time: ${(reply.elapsedTime / 1000).toFixed(7)}`,
    );
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

/** webob's class names for the statuses Node's HTTP parser answers before any route runs. */
const CLIENT_ERROR_TYPES: Record<number, string> = {
  400: 'HTTPBadRequest',
  408: 'HTTPRequestTimeout',
  413: 'HTTPRequestEntityTooLarge',
  414: 'HTTPRequestURITooLong',
  415: 'HTTPUnsupportedMediaType',
  431: 'HTTPRequestHeaderFieldsTooLarge',
};

/**
 * Errors Node's HTTP parser finds before Fastify sees a request (a request line or headers
 * beyond maxHeaderSize, 16 KB: HPE_HEADER_OVERFLOW): answered with a NeutronError body, as
 * everything else, then the connection is closed (the parser cannot go on reading it).
 */
function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const message =
    status === 431
      ? 'The request line and headers are larger than the server accepts (16 KB); send fewer or shorter query parameters.'
      : status === 408
        ? 'The request was not received in time.'
        : 'The request is not valid HTTP.';
  const body = JSON.stringify(new NeutronError(status, CLIENT_ERROR_TYPES[status]!, message).toBody());
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

/** A bulk create ({"<collection>": [...]}) refused when bulk is off or it has too many items. */
function checkBulk(body: unknown, collection: string, opts: ApiOptions): void {
  const items = body && typeof body === 'object' ? (body as Record<string, unknown>)[collection] : undefined;
  if (!Array.isArray(items)) return;
  if (opts.allowBulk === false) throw badRequest('Bulk operation not supported');
  const max = opts.maxBulkItems ?? 0;
  if (max > 0 && items.length > max) {
    throw badRequest(`Bulk request of ${items.length} ${collection} is more than [DEFAULT] max_bulk_items (${max}) allows`);
  }
}

function baseUrl(req: FastifyRequest): string {
  const proto = (req.headers['x-forwarded-proto'] as string | undefined) ?? req.protocol;
  return `${proto}://${req.headers.host ?? 'localhost'}`;
}

export function buildApi(opts: ApiOptions): FastifyInstance {
  const log = getLogger('neutrino.api');
  const app = Fastify({
    // The process's logger (core/log.ts); each request's lines carry its id (reqId).
    loggerInstance: log as FastifyBaseLogger,
    logController: new AccessLog(),
    bodyLimit: 16 * 1024 * 1024,
    // Old clients append ".json" to paths; Neutron accepted it.
    rewriteUrl: (req) => (req.url ?? '/').replace(/\.json(?=\?|$)/, ''),
    genReqId: () => `req-${randomUUID()}`,
    // While closing (SIGTERM), a request that arrives on a keep-alive connection is still served,
    // with `Connection: close`, rather than refused with Fastify's own (non-Neutron) 503 body.
    return503OnClosing: false,
    clientErrorHandler,
    // A path segment may be a tag of 255 characters, URL-encoded (up to 12 bytes each for astral
    // ones); Fastify's default of 100 answered 414 to valid tags.
    routerOptions: { maxParamLength: 4096 },
    // Errors of Fastify's own (a URL it cannot decode): Neutron's error body too.
    frameworkErrors: (err, _req, reply) => {
      const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
      const body = new NeutronError(status, CLIENT_ERROR_TYPES[status] ?? 'HTTPBadRequest', err.message).toBody();
      void (reply as FastifyReply).status(status).send(body);
    },
  });
  const controllers = new Map(opts.controllers.map((c) => [c.def.collection, c]));
  app.setReplySerializer(toJson);

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body ?? '');
    if (text.trim() === '') return done(null, undefined);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return done(badRequest('Malformed request body: the body is not valid JSON'), undefined);
    }
    try {
      checkBody(parsed);
    } catch (err) {
      return done(err as Error, undefined);
    }
    done(null, parsed);
  });

  app.addHook('onRequest', async (req, reply) => {
    req.requestId = String(req.id);
    reply.header('x-openstack-request-id', req.requestId);
    const inbound = req.headers['x-openstack-request-id'];
    if (typeof inbound === 'string' && GLOBAL_REQUEST_ID.test(inbound)) req.globalRequestId = inbound;
    if (NUL_IN_URL.test(req.url)) throw badRequest('Invalid input: the URL contains a NUL character (%00), which no name, id or filter can hold');
    const path = req.url.split('?')[0]!;
    if (path === '/' || path === '') return; // versions are public, as in Neutron
    if ((req.routeOptions.config as { public?: boolean }).public) return; // /healthcheck, /metrics
    const who = await opts.authenticate(req, req.requestId);
    // A copy: the authenticator may hand the same (cached) context to other requests.
    req.neutronCtx = req.method === 'GET' || req.method === 'HEAD' ? { ...who, readOnly: true } : who;
  });

  // Closing (SIGTERM): the answers to requests still in flight end their connections, so a
  // keep-alive client opens its next one elsewhere instead of losing a request to a closed socket.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_req, reply) => {
    if (closing) reply.header('connection', 'close');
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
    if (opts.isUnavailable?.(err)) {
      req.log.warn({ ...logContext(req), error: e.message }, 'database unavailable');
      const unavailable = serviceUnavailable('The server cannot reach its database; try again later.');
      for (const [k, v] of Object.entries(unavailable.headers)) reply.header(k, v);
      return reply.status(503).send(unavailable.toBody());
    }
    req.log.error({ ...logContext(req), err: e }, 'request failed');
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
      app.get(base, async (req, reply) => {
        const params = parseQueryString(req.url.split('?')[1] ?? '');
        const q = parseListQuery(params, c.def, opts.paginationMaxLimit);
        const parentId = parentOf(req);
        // Written by the database when it can (ports): the same bytes as the body below.
        const raw = await c.listJson(ctx(req), q, parentId);
        if (raw !== null) {
          const body =
            typeof raw === 'string'
              ? `{"${c.def.collection}":${raw}}`
              : Buffer.concat([Buffer.from(`{"${c.def.collection}":`), raw, Buffer.from('}')]);
          return reply.header('content-type', 'application/json; charset=utf-8').send(body);
        }
        // The links' markers are ids: asked for even when `fields` leaves id out, then dropped
        // (Neutron's pagination helper adds it to the fields the same way).
        const addId = q.limit !== null && q.fields.length > 0 && !q.fields.includes('id');
        const items = await c.list(ctx(req), addId ? { ...q, fields: [...q.fields, 'id'] } : q, parentId);
        const self = nested ? `/v2.0/${nested}/${parentId}/${c.def.path ?? c.def.collection}` : base;
        const links = q.limit ? paginationLinks(`${baseUrl(req)}${self}`, params, items, q) : null;
        if (addId) for (const item of items) delete item.id;
        const body: Record<string, unknown> = { [c.def.collection]: items };
        if (links) body[`${c.def.collection}_links`] = links;
        return body;
      });
    }
    if (ops.has('create')) {
      app.post(base, async (req, reply) => {
        checkBulk(req.body, c.def.collection, opts);
        const r = await c.create(ctx(req), req.body, parentOf(req));
        return reply.status(r.status).send(r.body);
      });
    }
    if (ops.has('show')) {
      app.get<P>(`${base}/:id`, async (req, reply) => {
        const params = parseQueryString(req.url.split('?')[1] ?? '');
        const raw = await c.showJson(
          ctx(req),
          req.params.id,
          (params.fields ?? []).filter((f) => f),
          parentOf(req),
        );
        if (raw !== null) return reply.header('content-type', 'application/json; charset=utf-8').send(raw);
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
          await c.authorize(ctx(req), req.params.id, a.name, a.bodyPolicy ? req.body : undefined);
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

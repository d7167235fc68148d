// GET /v2.0/openapi.json (".json" is stripped by the API's URL rewrite, so the route is
// /v2.0/openapi): the document, generated on first request (probing every validator takes a
// moment that start-up need not pay) and kept, since what the server serves does not change.
import type { FastifyInstance } from 'fastify';

export { openApiDocument, type OpenApiInput } from './document.js';

export function serveOpenApi(app: FastifyInstance, document: () => Record<string, unknown>): void {
  app.get('/v2.0/openapi', async (_req, reply) => reply.type('application/json').send(JSON.stringify(document())));
}

/** Calls `make` once, on first use. */
export function once<T>(make: () => T): () => T {
  let value: { v: T } | undefined;
  return () => (value ??= { v: make() }).v;
}

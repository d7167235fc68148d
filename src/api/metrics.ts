// Prometheus metrics of the HTTP API, and the /metrics endpoint that exposes a registry (text
// exposition format, from prom-client). Requests are counted by resource (the route without its
// parameters: "ports", "routers/add_router_interface", "networks/tags"), method and status, and
// timed from arrival to the last byte written (Fastify's reply.elapsedTime).
import type { FastifyInstance } from 'fastify';
import { Counter, Histogram, type Registry } from 'prom-client';
import { PUBLIC_ROUTE } from './healthcheck.js';

/** Seconds: from a cached show (~1 ms) to a large list or a contended write (seconds). */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** "/v2.0/networks/:parent_id/tags/:id" → "networks/tags"; "/" → "versions"; no route (404) → "unmatched". */
export function resourceOfRoute(url: string | undefined): string {
  if (url === undefined) return 'unmatched';
  const parts = url.split('/').filter((p) => p !== '' && !p.startsWith(':'));
  if (parts[0] === 'v2.0') parts.shift();
  return parts.length ? parts.join('/') : url === '/' ? 'versions' : 'v2.0';
}

export function instrumentHttp(app: FastifyInstance, registry: Registry): void {
  const requests = new Counter({
    name: 'neutrino_http_requests_total',
    help: 'HTTP requests answered, by resource, method and status code.',
    labelNames: ['resource', 'method', 'status'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'neutrino_http_request_duration_seconds',
    help: 'Time from a request arriving to its answer being written, by resource and method.',
    labelNames: ['resource', 'method'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  // The label of each route is computed once, not on every request.
  const resources = new Map<string | undefined, string>();
  app.addHook('onResponse', async (req, reply) => {
    const url = req.routeOptions.url;
    let resource = resources.get(url);
    if (resource === undefined) {
      resource = resourceOfRoute(url);
      resources.set(url, resource);
    }
    requests.inc({ resource, method: req.method, status: reply.statusCode });
    latency.observe({ resource, method: req.method }, reply.elapsedTime / 1000);
  });
}

/** GET /metrics: the registry in Prometheus's text format, without authentication (scrapers carry no token). */
export function serveMetrics(app: FastifyInstance, registry: Registry): void {
  app.get('/metrics', { config: PUBLIC_ROUTE }, async (_req, reply) => {
    const text = await registry.metrics();
    return reply.type(registry.contentType).send(text);
  });
}

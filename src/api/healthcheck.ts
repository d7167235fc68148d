// /healthcheck as oslo.middleware's Healthcheck application answers it, for load balancers: every
// backend is asked; 200 (HEAD: 204) when all are available, else 503. The body lists each
// backend's reason as text/plain (the default, also for an Accept nothing matches), text/html or
// application/json, chosen by Accept in that order of preference; the details (each check's
// explanation, the runtime, the time) only when [healthcheck] detailed is on. Deployers mount
// oslo's app beside /v2.0 in the paste urlmap, before the auth pipeline: it needs no token here
// either (the route is marked public).
import { hostname, platform, release } from 'node:os';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import Negotiator from 'negotiator';

export interface HealthResult {
  available: boolean;
  /** Short and stable, shown in every mode: "OK", "DATABASE UNAVAILABLE". */
  reason: string;
  /** Why, shown in detailed mode only (it may name hosts or errors). */
  details?: string;
}

export interface HealthBackend {
  /** The [healthcheck] backends name; the "class" of a detailed answer. */
  readonly name: string;
  check(): Promise<HealthResult>;
}

export interface HealthcheckOptions {
  backends: readonly HealthBackend[];
  detailed: boolean;
  /** A check that has not answered by then counts as unavailable: a load balancer must get an answer. */
  timeoutMs?: number;
}

/** Config flag on routes that authentication skips (api/server.ts). */
export const PUBLIC_ROUTE = { public: true } as const;

/** oslo's offers, in its order of preference. */
const OFFERS = ['text/plain', 'text/html', 'application/json'];

interface Checked extends HealthResult {
  backend: string;
}

async function runCheck(b: HealthBackend, timeoutMs: number): Promise<Checked> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<HealthResult>((resolve) => {
    timer = setTimeout(
      () => resolve({ available: false, reason: `${b.name.toUpperCase()} TIMEOUT`, details: `no answer within ${timeoutMs} ms` }),
      timeoutMs,
    );
  });
  try {
    const r = await Promise.race([b.check(), timeout]);
    return { ...r, backend: b.name };
  } catch (err) {
    return { available: false, reason: `${b.name.toUpperCase()} FAILED`, details: (err as Error).message ?? String(err), backend: b.name };
  } finally {
    clearTimeout(timer);
  }
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function jsonBody(results: Checked[], detailed: boolean): string {
  const body = detailed
    ? {
        detailed: true,
        hostname: hostname(),
        now: new Date().toISOString(),
        node_version: process.version,
        platform: `${platform()} ${release()}`,
        uptime_seconds: Math.round(process.uptime()),
        reasons: results.map((r) => ({ reason: r.reason, details: r.details ?? '', class: r.backend })),
      }
    : { detailed: false, reasons: results.map((r) => r.reason) };
  return JSON.stringify(body, null, 4);
}

function htmlBody(results: Checked[], detailed: boolean): string {
  const head = detailed ? '<TH>Kind</TH><TH>Reason</TH><TH>Details</TH>' : '<TH>Reason</TH>';
  const rows = results
    .map((r) =>
      detailed
        ? `<TR><TD>${escapeHtml(r.backend)}</TD><TD>${escapeHtml(r.reason)}</TD><TD>${escapeHtml(r.details ?? '')}</TD></TR>`
        : `<TR><TD>${escapeHtml(r.reason)}</TD></TR>`,
    )
    .join('\n');
  const server = detailed
    ? `<H1>Server status</H1>\n<B>Server hostname:</B><PRE>${escapeHtml(hostname())}</PRE>\n<B>Current time:</B><PRE>${new Date().toISOString()}</PRE>\n<B>Node.js version:</B><PRE>${process.version}</PRE>\n<HR></HR>\n`
    : '';
  return `<HTML>\n<HEAD><TITLE>Healthcheck Status</TITLE></HEAD>\n<BODY>\n${server}<H2>Result of ${results.length} checks:</H2>\n<TABLE bgcolor="#ffffff" border="1">\n<TBODY>\n<TR>${head}</TR>\n${rows}\n</TBODY>\n</TABLE>\n<HR></HR>\n</BODY>\n</HTML>`;
}

export function registerHealthcheck(app: FastifyInstance, opts: HealthcheckOptions): void {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const answer = async (req: FastifyRequest, reply: FastifyReply) => {
    const results = await Promise.all(opts.backends.map((b) => runCheck(b, timeoutMs)));
    const healthy = results.every((r) => r.available);
    if (req.method === 'HEAD')
      return reply
        .status(healthy ? 204 : 503)
        .type('text/plain; charset=UTF-8')
        .send();
    const type = new Negotiator(req).mediaType(OFFERS) ?? 'text/plain';
    const body =
      type === 'application/json'
        ? jsonBody(results, opts.detailed)
        : type === 'text/html'
          ? htmlBody(results, opts.detailed)
          : results.map((r) => r.reason).join('\n');
    return reply
      .status(healthy ? 200 : 503)
      .type(type === 'application/json' ? type : `${type}; charset=UTF-8`)
      .send(body);
  };
  app.route({ method: ['GET', 'HEAD'], url: '/healthcheck', config: PUBLIC_ROUTE, handler: answer });
}

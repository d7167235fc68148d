// GET /ui/events: server-sent events telling the topology page what changed. They come from the
// after-commit callbacks the agents' notifiers subscribe to (core/callbacks.ts), so the page
// hears of a write when the agents do. An event carries only the resource, the action and the
// id; the page reads the resource through the API, which applies policy to its fields. A caller
// is told only of resources its `get_<resource>` rule lets it see.
// Written by hand rather than with an SSE plugin: the protocol is `event:`/`data:` lines and a
// blank line, and the stream must end on close, which the plugins leave to the caller anyway.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import { Events, type CallbackRegistry, type EventPayload } from '../../core/callbacks.js';
import type { RequestContext } from '../../core/context.js';
import type { Rec } from '../../core/resource.js';

/** The resources the page draws, and the policy name of each one's `get_` rule. */
export const UI_RESOURCES = ['network', 'subnet', 'port', 'router', 'floatingip', 'agent'] as const;
export type UiResource = (typeof UI_RESOURCES)[number];

export interface UiChange {
  resource: UiResource;
  action: 'create' | 'update' | 'delete';
  id: string;
}

interface Client {
  ctx: RequestContext;
  res: ServerResponse;
}

/** Comments keep idle proxies from closing the stream. */
const KEEPALIVE_MS = 15_000;
/** A stream ends after this long, so the page reconnects and its token is validated again (a revoked one then gets 401). */
const MAX_STREAM_MS = 300_000;

export class UiEvents {
  private readonly clients = new Set<Client>();

  constructor(
    callbacks: CallbackRegistry,
    private readonly allowed: (ctx: RequestContext, action: string, target: Rec) => boolean,
  ) {
    const actions = [
      ['create', Events.AFTER_CREATE],
      ['update', Events.AFTER_UPDATE],
      ['delete', Events.AFTER_DELETE],
      // A port's status reported by its agent.
      ['update', Events.AFTER_STATUS_UPDATE],
    ] as const;
    for (const resource of UI_RESOURCES) {
      for (const [action, event] of actions) {
        // Last, after the agents' notifiers: the page is the least urgent listener.
        callbacks.subscribe(resource, event, (p: EventPayload) => this.publish(resource, action, p), { priority: 1e9, name: 'ui-events' });
      }
    }
  }

  /** Clients connected now. */
  get size(): number {
    return this.clients.size;
  }

  private publish(resource: UiResource, action: UiChange['action'], p: EventPayload): void {
    if (this.clients.size === 0) return;
    const state = p.after ?? p.before;
    const target: Rec = state ? { ...state } : {};
    if (target.project_id !== undefined) target.tenant_id = target.project_id;
    const frame = `event: change\ndata: ${JSON.stringify({ resource, action, id: p.resourceId } satisfies UiChange)}\n\n`;
    for (const c of this.clients) {
      if (c.ctx.isAdmin || this.allowed(c.ctx, `get_${resource}`, target)) c.res.write(frame);
    }
  }

  /** The route; `ctx` is the caller as the API's authentication hook made it. */
  serve(app: FastifyInstance, ctxOf: (req: FastifyRequest) => RequestContext): void {
    app.get('/ui/events', (req, reply) => {
      const res = reply.raw;
      reply.hijack();
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-openstack-request-id': req.requestId,
        'x-accel-buffering': 'no',
      });
      res.write('event: ready\ndata: {}\n\n');
      const client: Client = { ctx: ctxOf(req), res };
      this.clients.add(client);
      const timer = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
      const limit = setTimeout(() => res.end(), MAX_STREAM_MS);
      res.on('close', () => {
        clearInterval(timer);
        clearTimeout(limit);
        this.clients.delete(client);
      });
    });
    // Open streams would hold app.close() (SIGTERM) until the browsers went away.
    app.addHook('preClose', async () => {
      for (const c of this.clients) c.res.end();
    });
  }
}

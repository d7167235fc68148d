// The operator's page at /ui/ ([ui] enabled): its files, its sign-in (Keystone) and its live
// feed of changes. The files and the sign-in are public; the feed and the API calls the page
// makes are authenticated like any other request.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CallbackRegistry } from '../../core/callbacks.js';
import type { RequestContext } from '../../core/context.js';
import type { Rec } from '../../core/resource.js';
import { PUBLIC_ROUTE } from '../healthcheck.js';
import { assetReader, uiAssets } from './assets.js';
import { UiEvents } from './events.js';
import { serveLogin } from './login.js';

export interface UiOptions {
  /** 'keystone': the page signs in at /ui/login; 'noauth': it runs open. */
  auth: 'keystone' | 'noauth';
  /** [keystone_authtoken] auth_url, for the sign-in. */
  keystoneUrl?: string | null;
  callbacks: CallbackRegistry;
  allowed(ctx: RequestContext, action: string, target: Rec): boolean;
}

export function serveUi(app: FastifyInstance, opts: UiOptions): UiEvents {
  const read = assetReader(uiAssets());
  app.get('/ui', { config: PUBLIC_ROUTE }, (_req, reply) => reply.redirect('/ui/', 301));
  app.get<{ Params: { '*': string } }>('/ui/*', { config: PUBLIC_ROUTE }, async (req, reply) => {
    const found = await read(req.params['*']);
    if (!found) return reply.callNotFound();
    return reply.type(found.type).header('cache-control', 'no-cache').send(found.body);
  });
  app.get('/ui/config', { config: PUBLIC_ROUTE }, async () => ({ auth: opts.auth }));
  if (opts.auth === 'keystone' && opts.keystoneUrl) serveLogin(app, { authUrl: opts.keystoneUrl });
  app.get('/ui/whoami', async (req) => {
    const c = req.neutronCtx!;
    return { userId: c.userId, projectId: c.projectId, roles: c.roles, isAdmin: c.isAdmin };
  });
  const events = new UiEvents(opts.callbacks, opts.allowed);
  events.serve(app, (req: FastifyRequest) => req.neutronCtx!);
  return events;
}

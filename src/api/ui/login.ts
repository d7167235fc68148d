// POST /ui/login: the page's sign-in. The server asks the configured Keystone for a
// project-scoped token with the user's name and password (Keystone answers no CORS requests, so
// the browser cannot ask it itself) and hands the token back; every later call carries it in
// X-Auth-Token and is validated like any API call. The password is never kept.
import type { FastifyInstance } from 'fastify';
import { NeutronError, badRequest } from '../../core/errors.js';
import { PUBLIC_ROUTE } from '../healthcheck.js';

export interface LoginOptions {
  /** [keystone_authtoken] auth_url, with or without /v3. */
  authUrl: string;
  timeoutMs?: number;
}

/** What the page needs of Keystone's token body. */
interface TokenBody {
  token?: {
    expires_at?: string;
    user?: { id?: string; name?: string };
    project?: { id?: string; name?: string };
    roles?: Array<{ name: string }>;
  };
}

interface LoginBody {
  username?: unknown;
  password?: unknown;
  project?: unknown;
  domain?: unknown;
}

const text = (v: unknown, name: string, fallback?: string): string => {
  if (typeof v === 'string' && v !== '') return v;
  if (fallback !== undefined) return fallback;
  throw badRequest(`Sign-in needs ${name}`);
};

export function serveLogin(app: FastifyInstance, opts: LoginOptions): void {
  const base = opts.authUrl.replace(/\/+$/, '').replace(/\/v3$/, '');
  app.post('/ui/login', { config: PUBLIC_ROUTE }, async (req) => {
    const b = (req.body ?? {}) as LoginBody;
    const domain = { name: text(b.domain, 'a domain', 'Default') };
    const auth = {
      identity: {
        methods: ['password'],
        password: { user: { name: text(b.username, 'a user name'), domain, password: text(b.password, 'a password') } },
      },
      scope: { project: { name: text(b.project, 'a project'), domain } },
    };
    let res: Response;
    try {
      res = await fetch(`${base}/v3/auth/tokens?nocatalog`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ auth }),
        signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
      });
    } catch (err) {
      throw new NeutronError(503, 'HTTPServiceUnavailable', `Keystone cannot be reached: ${(err as Error).message}`);
    }
    const body = (await res.json().catch(() => null)) as TokenBody | null;
    if (res.status === 401 || res.status === 403 || res.status === 404) {
      throw new NeutronError(401, 'HTTPUnauthorized', 'Sign-in refused: check the user name, password, project and domain.');
    }
    const token = res.headers.get('x-subject-token');
    if (res.status !== 201 || !token || !body?.token) {
      throw new NeutronError(503, 'HTTPServiceUnavailable', `Keystone answered HTTP ${res.status} to the sign-in`);
    }
    const t = body.token;
    return {
      token,
      expires_at: t.expires_at,
      user: { id: t.user?.id, name: t.user?.name },
      project: { id: t.project?.id, name: t.project?.name },
      roles: (t.roles ?? []).map((r) => r.name),
    };
  });
}

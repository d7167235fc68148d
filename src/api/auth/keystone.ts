// Validates Keystone tokens the way keystonemiddleware's auth_token does for Neutron: the service
// user from [keystone_authtoken] gets its own token (password, v3, project-scoped) and asks
// GET /v3/auth/tokens about each user token. Results are cached in-process (memcached_servers is
// ignored) and concurrent validations of one token share a single request.
import { createHash } from 'node:crypto';
import type { RequestContext } from '../../core/context.js';
import { NeutronError, notAuthorized } from '../../core/errors.js';
import { ConfigError } from '../../config/errors.js';
import { ExpiringLru } from './token-cache.js';

/** The [keystone_authtoken] options used here; `cfg.keystone_authtoken` fits as is. */
export interface KeystoneAuthOptions {
  auth_url: string | null;
  www_authenticate_uri?: string | null;
  username: string | null;
  password: string | null;
  project_name: string | null;
  user_domain_name?: string | null;
  project_domain_name?: string | null;
  user_domain_id?: string | null;
  project_domain_id?: string | null;
  /** Seconds; <= 0 disables caching of valid tokens (keystonemiddleware uses -1). Default 300. */
  token_cache_time?: number;
}

export interface ValidatorTuning {
  /** Defaults to the global fetch, looked up at call time (tests may wrap it). */
  fetch?: typeof fetch;
  now?: () => number;
  maxCacheEntries?: number;
  /** How long a rejected token is remembered, so a client retrying a bad token costs no Keystone call. */
  invalidCacheSeconds?: number;
  timeoutMs?: number;
  /** Renew the service token this long before it expires. */
  renewBeforeSeconds?: number;
}

type Identity = Omit<RequestContext, 'requestId'>;
type Verdict = { ok: true; ctx: Identity } | { ok: false };

interface KeystoneToken {
  expires_at?: string;
  user?: { id?: string; name?: string; domain?: { id?: string; name?: string } };
  project?: { id?: string; name?: string; domain?: { id?: string; name?: string } };
  domain?: { id?: string; name?: string };
  system?: { all?: boolean };
  roles?: Array<{ id?: string; name?: string }>;
  is_admin_project?: boolean;
}

// Header values must be visible ASCII; anything else cannot be a token and would make fetch throw.
const TOKEN_RE = /^[\x21-\x7e]+$/;

const serviceUnavailable = (message: string) => new NeutronError(503, 'HTTPServiceUnavailable', message);

export class KeystoneTokenValidator {
  private readonly base: string;
  private readonly wwwAuthenticate: string;
  private readonly cache: ExpiringLru<Verdict>;
  private readonly inflight = new Map<string, Promise<Verdict>>();
  private service: { token: string; expiresAt: number } | null = null;
  private serviceInflight: Promise<string> | null = null;

  constructor(
    private readonly opts: KeystoneAuthOptions,
    private readonly tuning: ValidatorTuning = {},
  ) {
    for (const name of ['auth_url', 'username', 'password', 'project_name'] as const) {
      if (!opts[name]) {
        throw new ConfigError(`[keystone_authtoken] ${name}: required when auth_strategy = keystone`, {
          section: 'keystone_authtoken',
          option: name,
        });
      }
    }
    // Accept auth_url with or without the version suffix (openrc files carry /v3).
    this.base = opts.auth_url!.replace(/\/+$/, '').replace(/\/v(3|2\.0)$/, '');
    this.wwwAuthenticate = `Keystone uri="${opts.www_authenticate_uri || opts.auth_url}"`;
    this.cache = new ExpiringLru(tuning.maxCacheEntries ?? 10000);
  }

  /** Resolves to the caller's context or rejects with a NeutronError (401 invalid token, 503 Keystone trouble). */
  async validate(token: string, requestId: string): Promise<RequestContext> {
    if (!token || !TOKEN_RE.test(token)) throw this.unauthorized();
    const key = createHash('sha256').update(token).digest('base64url'); // raw tokens stay out of memory dumps
    let verdict = this.cache.get(key, this.now());
    if (!verdict) {
      let pending = this.inflight.get(key);
      if (!pending) {
        pending = this.lookUp(key, token).finally(() => this.inflight.delete(key));
        this.inflight.set(key, pending);
      }
      verdict = await pending;
    }
    if (!verdict.ok) throw this.unauthorized();
    // Each request gets its own copy and its own request id.
    return { ...verdict.ctx, roles: [...verdict.ctx.roles], extra: { ...verdict.ctx.extra }, requestId };
  }

  /** Forget cached tokens (e.g. after a policy or role change during tests). */
  clearCache(): void {
    this.cache.clear();
  }

  private now(): number {
    return (this.tuning.now ?? Date.now)();
  }

  private unauthorized(): NeutronError {
    const err = notAuthorized();
    err.headers['www-authenticate'] = this.wwwAuthenticate;
    return err;
  }

  private async lookUp(key: string, token: string): Promise<Verdict> {
    let res = await this.check(token, await this.serviceToken(false));
    if (res.status === 401) {
      // Our service token was revoked or expired early: get a new one and ask once more.
      await res.body?.cancel();
      res = await this.check(token, await this.serviceToken(true));
    }
    const now = this.now();
    if (res.status === 200) {
      const body = (await res.json().catch(() => null)) as { token?: KeystoneToken } | null;
      const t = body?.token;
      const expiresAt = Date.parse(t?.expires_at ?? '');
      if (!t?.user?.id || !(expiresAt > now)) return this.remember(key, { ok: false }, now);
      const ttl = this.opts.token_cache_time ?? 300;
      const verdict: Verdict = { ok: true, ctx: toIdentity(t) };
      if (ttl > 0) this.cache.set(key, verdict, Math.min(expiresAt, now + ttl * 1000));
      return verdict;
    }
    const detail = await res.text().catch(() => '');
    if (res.status === 404 || res.status === 400) return this.remember(key, { ok: false }, now);
    if (res.status === 401) throw serviceUnavailable(`Keystone at ${this.base} rejected the service token of user ${this.opts.username}`);
    if (res.status === 403) {
      throw serviceUnavailable(`Keystone at ${this.base} does not let user ${this.opts.username} validate tokens (403)`);
    }
    throw serviceUnavailable(`Keystone at ${this.base} failed to validate a token: HTTP ${res.status} ${detail.slice(0, 200)}`);
  }

  private remember(key: string, verdict: Verdict, now: number): Verdict {
    this.cache.set(key, verdict, now + (this.tuning.invalidCacheSeconds ?? 30) * 1000);
    return verdict;
  }

  private check(token: string, serviceToken: string): Promise<Response> {
    return this.call(`${this.base}/v3/auth/tokens?nocatalog`, {
      headers: { 'X-Auth-Token': serviceToken, 'X-Subject-Token': token, Accept: 'application/json' },
    });
  }

  private async serviceToken(force: boolean): Promise<string> {
    const renewBefore = (this.tuning.renewBeforeSeconds ?? 60) * 1000;
    if (!force && this.service && this.service.expiresAt - renewBefore > this.now()) return this.service.token;
    if (force) this.service = null;
    // Concurrent requests wait for the same authentication instead of each logging in.
    this.serviceInflight ??= this.authenticate().finally(() => (this.serviceInflight = null));
    return this.serviceInflight;
  }

  private async authenticate(): Promise<string> {
    const o = this.opts;
    const domain = (id?: string | null, name?: string | null) => (id ? { id } : { name: name || 'Default' });
    const body = {
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: o.username, password: o.password, domain: domain(o.user_domain_id, o.user_domain_name) } },
        },
        scope: { project: { name: o.project_name, domain: domain(o.project_domain_id, o.project_domain_name) } },
      },
    };
    const res = await this.call(`${this.base}/v3/auth/tokens?nocatalog`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(body),
    });
    const json = (await res.json().catch(() => null)) as { token?: KeystoneToken } | null;
    const token = res.headers.get('x-subject-token');
    if (res.status !== 201 || !token) {
      const why = res.status === 401 ? 'rejected the service credentials' : `answered HTTP ${res.status}`;
      throw serviceUnavailable(`Keystone at ${this.base} ${why} for service user ${o.username} (project ${o.project_name})`);
    }
    const expiresAt = Date.parse(json?.token?.expires_at ?? '');
    this.service = { token, expiresAt: Number.isNaN(expiresAt) ? this.now() + 300_000 : expiresAt };
    return token;
  }

  private async call(url: string, init: RequestInit): Promise<Response> {
    const f = this.tuning.fetch ?? globalThis.fetch;
    try {
      return await f(url, { ...init, signal: AbortSignal.timeout(this.tuning.timeoutMs ?? 10_000) });
    } catch (e) {
      const err = e as Error & { cause?: { code?: string; message?: string } };
      const why = err.cause?.code ?? err.cause?.message ?? err.message;
      throw serviceUnavailable(`Keystone at ${this.base} is unreachable: ${why}`);
    }
  }
}

/** RequestContext fields from a validated v3 token, as keystonemiddleware's headers would carry them. */
function toIdentity(t: KeystoneToken): Identity {
  const extra: Record<string, unknown> = {
    user_name: t.user?.name,
    user_domain_id: t.user?.domain?.id,
    project_name: t.project?.name,
    project_domain_id: t.project?.domain?.id,
    domain_id: t.domain?.id,
    system_scope: t.system?.all ? 'all' : undefined,
    is_admin_project: t.is_admin_project ?? true,
  };
  for (const k of Object.keys(extra)) if (extra[k] === undefined) delete extra[k];
  return {
    userId: t.user!.id!,
    projectId: t.project?.id ?? null,
    roles: (t.roles ?? []).map((r) => r.name).filter((n): n is string => !!n),
    isAdmin: false,
    isAdvsvc: false,
    extra,
  };
}

// The policy engine's view of a caller: oslo.policy's credentials dict from a request context.
import type { RequestContext } from '../core/context.js';
import type { PolicyCredentials } from './engine.js';

/**
 * The last credentials made of a context, with the extra fields they were made from, kept on the
 * context itself under a symbol (a WeakMap entry per request cost more than the checks it saves).
 */
const MADE = Symbol('credentials');
type Made = { creds: PolicyCredentials; extra: RequestContext['extra']; key?: string };

/**
 * The context's extra fields (domain, system scope, …), then the core ones: an extra never
 * overrides who the caller is. Made once per context (a request checks policy many times) and
 * made again if the context has changed since (authentication settles is_admin after a first look).
 * The dict is shared: callers only read it.
 */
export function credentialsOf(ctx: RequestContext): PolicyCredentials {
  const m = (ctx as { [MADE]?: Made })[MADE];
  if (m !== undefined) {
    const c = m.creds;
    if (
      m.extra === ctx.extra &&
      c.user_id === ctx.userId &&
      c.project_id === ctx.projectId &&
      c.roles === ctx.roles &&
      c.is_admin === ctx.isAdmin &&
      c.is_advsvc === ctx.isAdvsvc
    )
      return c;
  }
  const creds: PolicyCredentials = {
    ...(ctx.extra ?? {}),
    user_id: ctx.userId,
    project_id: ctx.projectId,
    tenant_id: ctx.projectId,
    roles: ctx.roles,
    is_admin: ctx.isAdmin,
    is_advsvc: ctx.isAdvsvc,
  };
  keep(ctx, { creds, extra: ctx.extra });
  return creds;
}

function keep(ctx: RequestContext, made: Made): void {
  // Not enumerable: a copy of the context ({ ...ctx }) or a deep comparison does not see it.
  if (MADE in ctx) (ctx as { [MADE]?: Made })[MADE] = made;
  else Object.defineProperty(ctx, MADE, { value: made, writable: true, enumerable: false });
}

/**
 * The credentials as JSON text: what caches of answers that depend on the caller alone are keyed
 * by. Made once per context, with the credentials.
 */
export function credentialsKey(ctx: RequestContext): string {
  const creds = credentialsOf(ctx);
  const m = (ctx as { [MADE]?: Made })[MADE]!;
  m.key ??= JSON.stringify(creds);
  return m.key;
}

/**
 * A copy of `ctx` with is_admin and is_advsvc set (authentication's last step), its credentials
 * and their key `key` (credentialsKey() of the copy, known to the caller) made already.
 */
export function withAdminFlags(ctx: RequestContext, isAdmin: boolean, isAdvsvc: boolean, key: string): RequestContext {
  const out: RequestContext = { ...ctx, isAdmin, isAdvsvc };
  keep(out, { creds: { ...credentialsOf(ctx), is_admin: isAdmin, is_advsvc: isAdvsvc }, extra: ctx.extra, key });
  return out;
}

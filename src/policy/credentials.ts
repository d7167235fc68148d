// The policy engine's view of a caller: oslo.policy's credentials dict from a request context.
import type { RequestContext } from '../core/context.js';
import type { PolicyCredentials } from './engine.js';

/** The last credentials made of each context, with the extra fields they were made from. */
const made = new WeakMap<RequestContext, { creds: PolicyCredentials; extra: RequestContext['extra'] }>();

/**
 * The context's extra fields (domain, system scope, …), then the core ones: an extra never
 * overrides who the caller is. Made once per context (a request checks policy many times) and
 * made again if the context has changed since (authentication settles is_admin after a first look).
 * The dict is shared: callers only read it.
 */
export function credentialsOf(ctx: RequestContext): PolicyCredentials {
  const m = made.get(ctx);
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
  made.set(ctx, { creds, extra: ctx.extra });
  return creds;
}

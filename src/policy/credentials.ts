// The policy engine's view of a caller: oslo.policy's credentials dict from a request context.
import type { RequestContext } from '../core/context.js';
import type { PolicyCredentials } from './engine.js';

/** The context's extra fields (domain, system scope, …), then the core ones: an extra never overrides who the caller is. */
export function credentialsOf(ctx: RequestContext): PolicyCredentials {
  return {
    ...(ctx.extra ?? {}),
    user_id: ctx.userId,
    project_id: ctx.projectId,
    tenant_id: ctx.projectId,
    roles: ctx.roles,
    is_admin: ctx.isAdmin,
    is_advsvc: ctx.isAdvsvc,
  };
}

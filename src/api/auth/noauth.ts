// auth_strategy = noauth, as Neutron's paste pipeline does it (neutron/auth.py NoauthFakeProjectId,
// then pecan_wsgi/hooks/context.py ContextHook, neutron_lib.context):
//  - no X-Project-Id/X-Tenant-Id: the header context (X-User-Id, X-Roles, ...) gets project
//    'fake_project_id' and is elevated (is_admin, roles + admin/member/reader);
//  - with a project header: NoauthFakeProjectId stores nothing, so ContextHook falls back to
//    get_admin_context(): admin, no user, no project. The headers are then ignored entirely.
// Either way a noauth request is admin; only the first case keeps the caller's user and roles.
import type { RequestContext } from '../../core/context.js';
import { contextFromIdentityHeaders, hasRole, type HeaderBag } from './headers.js';

export const NOAUTH_FAKE_PROJECT_ID = 'fake_project_id';

/** neutron_lib ContextBase.elevated() (current master adds member and reader too, for new-default policies). */
function elevatedRoles(roles: readonly string[]): string[] {
  const out = [...roles];
  for (const r of ['admin', 'member', 'reader']) if (!hasRole(out, r)) out.push(r);
  return out;
}

export function contextFromHeaders(headers: HeaderBag, requestId: string): RequestContext {
  const ctx = contextFromIdentityHeaders(headers, requestId);
  if (ctx.projectId === null) {
    return {
      ...ctx,
      projectId: NOAUTH_FAKE_PROJECT_ID,
      roles: elevatedRoles(ctx.roles),
      isAdmin: true,
      // neutron_lib computed is_advsvc before elevating: admin or advsvc role in the caller's roles.
      isAdvsvc: hasRole(ctx.roles, 'admin') || hasRole(ctx.roles, 'advsvc'),
    };
  }
  // get_admin_context(): is_admin=True so is_advsvc is True as well.
  return { userId: null, projectId: null, roles: elevatedRoles([]), isAdmin: true, isAdvsvc: true, requestId, extra: { is_admin_project: true } };
}

// Identity headers as keystonemiddleware sets them and oslo.context reads them
// (RequestContext.from_environ), shared by the noauth and keystone pipelines.
import type { RequestContext } from '../../core/context.js';

/** Node/fastify request headers (lower-case keys), or any plain object of headers. */
export type HeaderBag = Readonly<Record<string, string | readonly string[] | undefined>>;

/** First non-empty value among `names`, matched case-insensitively; repeated headers are joined with ','. */
export function header(headers: HeaderBag, ...names: string[]): string | undefined {
  for (const name of names) {
    const want = name.toLowerCase();
    for (const [k, v] of Object.entries(headers)) {
      if (k.toLowerCase() !== want || v === undefined) continue;
      const s = (typeof v === 'string' ? v : v.join(',')).trim();
      if (s !== '') return s;
    }
  }
  return undefined;
}

export function splitRoles(v: string | undefined): string[] {
  return (v ?? '')
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);
}

/** oslo.policy's role checks compare case-insensitively. */
export function hasRole(roles: readonly string[], role: string): boolean {
  return roles.some((r) => r.toLowerCase() === role);
}

/**
 * The context Neutron's keystonecontext filter builds from the headers auth_token leaves (X-User-Id,
 * X-Project-Id or legacy X-Tenant-Id/X-Tenant, X-Roles, ...). isAdmin/isAdvsvc stay false: the
 * server derives them from policy (context_is_admin, context_is_advsvc) as neutron_lib does.
 */
export function contextFromIdentityHeaders(headers: HeaderBag, requestId: string): RequestContext {
  const extra: Record<string, unknown> = {};
  const put = (key: string, ...names: string[]) => {
    const v = header(headers, ...names);
    if (v !== undefined) extra[key] = v;
  };
  put('user_name', 'X-User-Name');
  put('project_name', 'X-Project-Name', 'X-Tenant-Name');
  put('user_domain_id', 'X-User-Domain-Id');
  put('project_domain_id', 'X-Project-Domain-Id');
  put('domain_id', 'X-Domain-Id');
  put('system_scope', 'X-System-Scope');
  // oslo.context assumes the admin project when the header is absent, so old policies keep working.
  extra.is_admin_project = (header(headers, 'X-Is-Admin-Project') ?? 'true').toLowerCase() === 'true';
  return {
    userId: header(headers, 'X-User-Id', 'X-User') ?? null,
    projectId: header(headers, 'X-Project-Id', 'X-Tenant-Id', 'X-Tenant') ?? null,
    roles: splitRoles(header(headers, 'X-Roles', 'X-Role')),
    isAdmin: false,
    isAdvsvc: false,
    requestId,
    extra,
  };
}

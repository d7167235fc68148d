// Identity headers as keystonemiddleware sets them and oslo.context reads them
// (RequestContext.from_environ), shared by the noauth and keystone pipelines.
import type { RequestContext } from '../../core/context.js';

/** Node/fastify request headers (lower-case keys), or any plain object of headers. */
export type HeaderBag = Readonly<Record<string, string | readonly string[] | undefined>>;

/** First non-empty value among `names`, matched case-insensitively; repeated headers are joined with ','. */
export function header(headers: HeaderBag, ...names: string[]): string | undefined {
  return lowerHeader(lowerCased(headers), names);
}

/**
 * The bag with lower-case keys: itself when they all are (Node's request headers always), else a
 * copy (a plain object given by hand), so that each header is then one property read.
 */
function lowerCased(headers: HeaderBag): HeaderBag {
  let copy: Record<string, string | readonly string[] | undefined> | undefined;
  for (const k in headers) {
    const lower = k.toLowerCase();
    if (lower === k && copy === undefined) continue;
    if (copy === undefined) {
      copy = {};
      for (const j in headers) {
        if (j === k) break;
        copy[j] = headers[j];
      }
    }
    const v = headers[k];
    // Given under several cases: the first non-empty value, as a scan of the entries would find.
    if (v !== undefined && (copy[lower] === undefined || text(copy[lower]!) === '')) copy[lower] = v;
  }
  return copy ?? headers;
}

const text = (v: string | readonly string[]) => (typeof v === 'string' ? v : v.join(',')).trim();

/** header() on a bag whose keys are lower case; `names` in any case. */
function lowerHeader(headers: HeaderBag, names: readonly string[]): string | undefined {
  for (const name of names) {
    const v = headers[name.toLowerCase()];
    if (v === undefined) continue;
    const s = text(v);
    if (s !== '') return s;
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
export function contextFromIdentityHeaders(bag: HeaderBag, requestId: string): RequestContext {
  const lower = lowerCased(bag);
  const get = (...names: string[]) => lowerHeader(lower, names);
  const extra: Record<string, unknown> = {};
  const put = (key: string, ...names: string[]) => {
    const v = get(...names);
    if (v !== undefined) extra[key] = v;
  };
  put('user_name', 'X-User-Name');
  put('project_name', 'X-Project-Name', 'X-Tenant-Name');
  put('user_domain_id', 'X-User-Domain-Id');
  put('project_domain_id', 'X-Project-Domain-Id');
  put('domain_id', 'X-Domain-Id');
  put('system_scope', 'X-System-Scope');
  // oslo.context assumes the admin project when the header is absent, so old policies keep working.
  extra.is_admin_project = (get('X-Is-Admin-Project') ?? 'true').toLowerCase() === 'true';
  return {
    userId: get('X-User-Id', 'X-User') ?? null,
    projectId: get('X-Project-Id', 'X-Tenant-Id', 'X-Tenant') ?? null,
    roles: splitRoles(get('X-Roles', 'X-Role')),
    isAdmin: false,
    isAdvsvc: false,
    requestId,
    extra,
  };
}

// Request authentication: no-auth (identity from X-Project-Id / X-User-Id / X-Roles headers) or
// Keystone tokens; is_admin is then derived from policy's context_is_admin rule.
import type { FastifyRequest } from 'fastify';
import type { Config } from '../config/index.js';
import type { RequestContext } from '../core/context.js';
import type { Authenticator } from '../api/server.js';
import { NeutronError } from '../core/errors.js';
import { contextFromIdentityHeaders, header } from '../api/auth/headers.js';
import { contextFromHeaders } from '../api/auth/noauth.js';
import { KeystoneTokenValidator } from '../api/auth/keystone.js';
import { computeIsAdmin, type PolicyEngine } from '../policy/engine.js';
import { credentialsKey, credentialsOf, withAdminFlags } from '../policy/credentials.js';

/** withPolicyRoles()'s answers by credentials (as JSON), per policy engine (which never changes). */
const rolesByCreds = new WeakMap<PolicyEngine, Map<string, { isAdmin: boolean; isAdvsvc: boolean; key: string }>>();

function withPolicyRoles(ctx: RequestContext, policy: PolicyEngine): RequestContext {
  let known = rolesByCreds.get(policy);
  if (!known) rolesByCreds.set(policy, (known = new Map()));
  const key = credentialsKey(ctx);
  let roles = known.get(key);
  if (!roles) {
    const creds = credentialsOf(ctx);
    const isAdmin = ctx.isAdmin || computeIsAdmin(policy, creds);
    const isAdvsvc = ctx.isAdvsvc || policy.check('context_is_advsvc', {}, creds);
    // The key of the credentials the request then has, worked out once per kind of caller too.
    roles = { isAdmin, isAdvsvc, key: JSON.stringify({ ...creds, is_admin: isAdmin, is_advsvc: isAdvsvc }) };
    if (known.size >= 1000) known.clear();
    known.set(key, roles);
  }
  return withAdminFlags(ctx, roles.isAdmin, roles.isAdvsvc, roles.key);
}

/**
 * No-auth: a request naming a project acts as that project with the roles it names (what the
 * load generator and tests rely on); a request naming none is an admin of 'fake_project_id',
 * as Neutron's noauth pipeline makes it.
 */
export function noauthContext(req: FastifyRequest, requestId: string, policy: PolicyEngine): RequestContext {
  const h = req.headers as Record<string, string | string[] | undefined>;
  if (header(h, 'X-Project-Id', 'X-Tenant-Id', 'X-Tenant')) return withPolicyRoles(contextFromIdentityHeaders(h, requestId), policy);
  return contextFromHeaders(h, requestId);
}

export function makeAuthenticator(cfg: Config, policy: PolicyEngine): Authenticator {
  if (cfg.DEFAULT.auth_strategy === 'noauth') return async (req, requestId) => noauthContext(req, requestId, policy);
  const validator = new KeystoneTokenValidator(cfg.keystone_authtoken);
  const ks = cfg.keystone_authtoken;
  const challenge = { 'www-authenticate': `Keystone uri="${ks.www_authenticate_uri || ks.auth_url}"` };
  return async (req, requestId) => {
    const token = req.headers['x-auth-token'];
    if (typeof token !== 'string' || token === '') {
      throw new NeutronError(401, 'HTTPUnauthorized', 'Authentication required: send a Keystone token in X-Auth-Token.', '', challenge);
    }
    return withPolicyRoles(await validator.validate(token, requestId), policy);
  };
}

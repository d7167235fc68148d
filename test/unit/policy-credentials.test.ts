// credentialsOf: what policy sees of a request context.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { credentialsOf } from '../../src/policy/credentials.js';
import type { RequestContext } from '../../src/core/context.js';

const ctx: RequestContext = {
  userId: 'u1',
  projectId: 'p1',
  roles: ['member'],
  isAdmin: false,
  isAdvsvc: false,
  requestId: 'req-1',
  extra: {
    system_scope: 'all',
    project_domain_id: 'default',
    // Fields a token's extras must never override.
    project_id: 'p2',
    tenant_id: 'p2',
    user_id: 'u2',
    roles: ['admin'],
    is_admin: true,
    is_advsvc: true,
  },
};

test("extra fields reach policy, but never override the caller's identity, roles or admin flags", () => {
  const c = credentialsOf(ctx);
  assert.equal(c.system_scope, 'all');
  assert.equal(c.project_domain_id, 'default');
  assert.equal(c.project_id, 'p1');
  assert.equal(c.tenant_id, 'p1');
  assert.equal(c.user_id, 'u1');
  assert.deepEqual(c.roles, ['member']);
  assert.equal(c.is_admin, false);
  assert.equal(c.is_advsvc, false);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contextFromHeaders, NOAUTH_FAKE_PROJECT_ID } from '../../src/api/auth/noauth.js';
import { contextFromIdentityHeaders } from '../../src/api/auth/headers.js';

test('noauth without headers: admin with the fake project, as neutron.auth.NoauthFakeProjectId', () => {
  const ctx = contextFromHeaders({}, 'req-1');
  assert.deepEqual(ctx, {
    userId: null,
    projectId: NOAUTH_FAKE_PROJECT_ID,
    roles: ['admin', 'member', 'reader'],
    isAdmin: true,
    isAdvsvc: false,
    requestId: 'req-1',
    extra: { is_admin_project: true },
  });
});

test('noauth with user and roles but no project: keeps them, elevated', () => {
  const ctx = contextFromHeaders({ 'x-user-id': 'u1', 'x-roles': 'Member, observer ,', 'x-user-name': 'alice' }, 'req-2');
  assert.equal(ctx.userId, 'u1');
  assert.equal(ctx.projectId, 'fake_project_id');
  assert.deepEqual(ctx.roles, ['Member', 'observer', 'admin', 'reader']);
  assert.equal(ctx.isAdmin, true);
  assert.equal(ctx.isAdvsvc, false);
  assert.equal(ctx.extra?.user_name, 'alice');
  assert.equal(contextFromHeaders({ 'X-Roles': 'advsvc' }, 'r').isAdvsvc, true);
});

test('noauth with a project header (X-Project-Id or legacy X-Tenant-Id): get_admin_context(), headers ignored', () => {
  for (const h of [{ 'x-project-id': 'p1', 'x-user-id': 'u1', 'x-roles': 'member' }, { 'X-Tenant-Id': 'p1' }]) {
    const ctx = contextFromHeaders(h, 'req-3');
    assert.equal(ctx.userId, null);
    assert.equal(ctx.projectId, null);
    assert.equal(ctx.isAdmin, true);
    assert.equal(ctx.isAdvsvc, true);
    assert.deepEqual(ctx.roles, ['admin', 'member', 'reader']);
  }
});

test('identity headers as keystonemiddleware sets them', () => {
  const ctx = contextFromIdentityHeaders(
    {
      'x-user-id': 'u1',
      'x-tenant-id': 'p-legacy',
      'x-roles': 'reader,member',
      'x-project-name': 'demo',
      'x-project-domain-id': 'default',
      'x-is-admin-project': 'False',
    },
    'req-4',
  );
  assert.deepEqual(ctx, {
    userId: 'u1',
    projectId: 'p-legacy',
    roles: ['reader', 'member'],
    isAdmin: false,
    isAdvsvc: false,
    requestId: 'req-4',
    extra: { project_name: 'demo', project_domain_id: 'default', is_admin_project: false },
  });
  // X-Project-Id wins over the legacy header; empty headers count as absent; arrays are joined.
  const c2 = contextFromIdentityHeaders({ 'x-project-id': 'p', 'x-tenant-id': 'old', 'x-user-id': '', 'x-roles': ['a', 'b'] }, 'r');
  assert.deepEqual([c2.projectId, c2.userId, c2.roles], ['p', null, ['a', 'b']]);
});

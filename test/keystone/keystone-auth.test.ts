// Against the real Keystone on this machine (see /work/shared/conformance/README.md).
// Without CI set and without Keystone, the suite is skipped with a loud warning; with CI set, a
// missing Keystone is a failure (CI runs keystone-setup.sh first).
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { KeystoneTokenValidator, type KeystoneAuthOptions } from '../../src/api/auth/keystone.js';
import { assertRejectsNeutron } from '../helpers/assert-error.js';
import { KEYSTONE_URL, SERVICE, MEMBER, adminCreds, ensureMemberUser, getToken, keystoneReachable } from './keystone-admin.js';

const inCI = !!process.env.CI && !['0', 'false', 'no'].includes(process.env.CI.toLowerCase());
const reachable = await keystoneReachable();
const skip = !reachable && !inCI;

if (skip) {
  const bar = '!'.repeat(78);
  console.warn(
    `\n${bar}\n!! SKIPPING keystone-auth tests: Keystone is not reachable at ${KEYSTONE_URL}\n` +
      `!! Run /work/shared/conformance/keystone-setup.sh (or set CI=true to make this a failure).\n${bar}\n`,
  );
}

const options = (over: Partial<KeystoneAuthOptions> = {}): KeystoneAuthOptions => ({
  auth_url: `${KEYSTONE_URL}/v3`,
  www_authenticate_uri: KEYSTONE_URL,
  user_domain_name: 'Default',
  project_domain_name: 'Default',
  token_cache_time: 300,
  ...SERVICE,
  ...over,
});

/** A fetch that counts calls by method, so a test can see which validations reached Keystone. */
function countingFetch() {
  const calls: string[] = [];
  const f: typeof fetch = (input, init) => {
    calls.push(`${init?.method ?? 'GET'} ${String(input)}`);
    return fetch(input, init);
  };
  return { f, calls, gets: () => calls.filter((c) => c.startsWith('GET')).length };
}

describe('KeystoneTokenValidator against real Keystone', { skip: skip ? `Keystone not reachable at ${KEYSTONE_URL}` : false }, () => {
  let admin: { token: string; body: any };
  let member: { token: string; body: any };
  let memberIds: { projectId: string; userId: string };

  before(async () => {
    assert.ok(reachable, `Keystone is not reachable at ${KEYSTONE_URL} and CI is set: run keystone-setup.sh first`);
    const a = adminCreds();
    admin = await getToken(a.username, a.password, a.project);
    const m = await ensureMemberUser(admin.token);
    memberIds = { projectId: m.projectId, userId: m.userId };
    member = { token: m.token, body: m.body };
  });

  test('admin token: user, project and roles', async () => {
    const v = new KeystoneTokenValidator(options());
    const ctx = await v.validate(admin.token, 'req-admin');
    assert.equal(ctx.userId, admin.body.token.user.id);
    assert.equal(ctx.projectId, admin.body.token.project.id);
    assert.ok(ctx.roles.includes('admin'), `roles: ${ctx.roles}`);
    assert.equal(ctx.isAdmin, false); // decided by policy later, not here
    assert.equal(ctx.requestId, 'req-admin');
    assert.equal(ctx.extra?.project_name, adminCreds().project);
  });

  test('member token: member role on neutrino-test, no admin', async () => {
    const v = new KeystoneTokenValidator(options());
    const ctx = await v.validate(member.token, 'req-member');
    assert.equal(ctx.userId, memberIds.userId);
    assert.equal(ctx.projectId, memberIds.projectId);
    assert.ok(ctx.roles.includes('member'), `roles: ${ctx.roles}`);
    assert.ok(!ctx.roles.includes('admin'), `roles: ${ctx.roles}`);
    assert.equal(ctx.extra?.user_name, MEMBER.user);
    assert.equal(ctx.extra?.project_name, MEMBER.project);
    assert.equal(ctx.extra?.project_domain_id, 'default');
  });

  test('garbage token: 401 with WWW-Authenticate, and the rejection is cached', async () => {
    const c = countingFetch();
    const v = new KeystoneTokenValidator(options(), { fetch: c.f });
    for (const bad of ['garbage', 'gAAAAABnot-a-real-fernet-token-' + 'x'.repeat(120)]) {
      const err = await assertRejectsNeutron(v.validate(bad, 'req-bad'), 401);
      assert.equal(err.headers['www-authenticate'], `Keystone uri="${KEYSTONE_URL}"`);
    }
    const before = c.calls.length;
    await assertRejectsNeutron(v.validate('garbage', 'req-bad-again'), 401);
    assert.equal(c.calls.length, before, 'a cached rejection must not call Keystone');
    // Not even worth asking Keystone: not a possible header value.
    await assertRejectsNeutron(v.validate('two words', 'r'), 401);
    await assertRejectsNeutron(v.validate('', 'r'), 401);
    assert.equal(c.calls.length, before);
  });

  test('cache: a second validation makes no HTTP call; the service token is reused', async () => {
    const c = countingFetch();
    const v = new KeystoneTokenValidator(options(), { fetch: c.f });
    const first = await v.validate(member.token, 'req-1');
    assert.deepEqual(
      c.calls.map((x) => x.split(' ')[0]),
      ['POST', 'GET'],
      'service login, then validation',
    );
    const second = await v.validate(member.token, 'req-2');
    assert.equal(c.calls.length, 2, 'second validation must come from the cache');
    assert.equal(second.requestId, 'req-2');
    assert.deepEqual({ ...second, requestId: 'req-1' }, first);
    second.roles.push('tampered');
    assert.ok(!(await v.validate(member.token, 'req-3')).roles.includes('tampered'), 'cached context must not be shared');
    await v.validate(admin.token, 'req-4');
    assert.deepEqual(
      c.calls.map((x) => x.split(' ')[0]),
      ['POST', 'GET', 'GET'],
      'one service login for both tokens',
    );
  });

  test('concurrent validations of one token share a single Keystone call', async () => {
    const c = countingFetch();
    const v = new KeystoneTokenValidator(options(), { fetch: c.f });
    const ctxs = await Promise.all(Array.from({ length: 8 }, (_, i) => v.validate(admin.token, `req-${i}`)));
    assert.equal(c.gets(), 1);
    assert.deepEqual(
      ctxs.map((x) => x.requestId),
      Array.from({ length: 8 }, (_, i) => `req-${i}`),
    );
  });

  test('token_cache_time = -1 disables the cache', async () => {
    const c = countingFetch();
    const v = new KeystoneTokenValidator(options({ token_cache_time: -1 }), { fetch: c.f });
    await v.validate(member.token, 'r1');
    await v.validate(member.token, 'r2');
    assert.equal(c.gets(), 2);
  });

  test('wrong service credentials: 503 naming Keystone and the service user', async () => {
    const v = new KeystoneTokenValidator(options({ username: 'neutrino-no-such-user', password: 'x' }));
    const err = await assertRejectsNeutron(v.validate(member.token, 'r'), 503);
    assert.match(err.message, new RegExp(`Keystone at ${KEYSTONE_URL} rejected the service credentials for service user neutrino-no-such-user`));
  });
});

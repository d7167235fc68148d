// KeystoneTokenValidator against a scripted fetch: service-token renewal, retry on 401, expiry of
// cache entries, eviction, and Keystone being unreachable. Needs no Keystone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { KeystoneTokenValidator, type KeystoneAuthOptions } from '../../src/api/auth/keystone.js';
import { NeutronError } from '../../src/core/errors.js';
import { ConfigError } from '../../src/config/errors.js';
import { loadConfig } from '../../src/config/index.js';

const OPTS: KeystoneAuthOptions = {
  auth_url: 'http://keystone.test:5000/',
  username: 'neutron',
  password: 'pw',
  project_name: 'service',
  token_cache_time: 300,
};
const HOUR = 3600_000;

/** A fake Keystone: tokens USER_TOKENS are valid; service tokens are numbered svc-1, svc-2, ... */
function fakeKeystone(clock: { now: number }) {
  const log: string[] = [];
  let issued = 0;
  const revoked = new Set<string>();
  const userTokens: Record<string, { expires: number; roles: string[] }> = {
    'tok-a': { expires: clock.now + HOUR, roles: ['member'] },
    'tok-soon': { expires: clock.now + 10_000, roles: ['reader'] },
  };
  const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
  const f: typeof fetch = async (input, init) => {
    const url = String(input);
    const h = new Headers(init?.headers);
    if (init?.method === 'POST') {
      const body = JSON.parse(String(init.body));
      log.push(`POST ${url}`);
      assert.equal(url, 'http://keystone.test:5000/v3/auth/tokens?nocatalog');
      assert.deepEqual(body.auth.identity.password.user, { name: 'neutron', password: 'pw', domain: { name: 'Default' } });
      assert.deepEqual(body.auth.scope.project, { name: 'service', domain: { name: 'Default' } });
      const tok = `svc-${++issued}`;
      return json(201, { token: { expires_at: new Date(clock.now + HOUR).toISOString() } }, { 'x-subject-token': tok });
    }
    const svc = h.get('x-auth-token')!;
    const subject = h.get('x-subject-token')!;
    log.push(`GET ${subject} as ${svc}`);
    if (revoked.has(svc)) return json(401, { error: { code: 401 } });
    const t = userTokens[subject];
    if (!t || t.expires <= clock.now) return json(404, { error: { code: 404, message: 'Could not recognize Fernet token' } });
    return json(200, {
      token: {
        expires_at: new Date(t.expires).toISOString(),
        user: { id: `user-of-${subject}`, name: 'u', domain: { id: 'default' } },
        project: { id: 'proj', name: 'p', domain: { id: 'default' } },
        roles: t.roles.map((name) => ({ id: name, name })),
      },
    });
  };
  return { f, log, revoked, userTokens };
}

function setup(tuning: Record<string, number> = {}, opts: Partial<KeystoneAuthOptions> = {}) {
  const clock = { now: Date.parse('2030-01-01T00:00:00Z') };
  const ks = fakeKeystone(clock);
  const v = new KeystoneTokenValidator({ ...OPTS, ...opts }, { fetch: ks.f, now: () => clock.now, ...tuning });
  return { clock, ks, v };
}

async function status(p: Promise<unknown>): Promise<number> {
  return p.then(
    () => 200,
    (e: unknown) => (e instanceof NeutronError ? e.status : -1),
  );
}

test('builds the context and caches until token_cache_time', async () => {
  const { clock, ks, v } = setup();
  const ctx = await v.validate('tok-a', 'r1');
  assert.deepEqual(ctx, {
    userId: 'user-of-tok-a',
    projectId: 'proj',
    roles: ['member'],
    isAdmin: false,
    isAdvsvc: false,
    requestId: 'r1',
    extra: { user_name: 'u', user_domain_id: 'default', project_name: 'p', project_domain_id: 'default', is_admin_project: true },
  });
  clock.now += 299_000;
  await v.validate('tok-a', 'r2');
  assert.equal(ks.log.length, 2);
  clock.now += 2_000; // past token_cache_time: asks again
  await v.validate('tok-a', 'r3');
  assert.deepEqual(ks.log, ['POST http://keystone.test:5000/v3/auth/tokens?nocatalog', 'GET tok-a as svc-1', 'GET tok-a as svc-1']);
});

test('a token expiring before token_cache_time is cached only until it expires', async () => {
  const { clock, ks, v } = setup();
  await v.validate('tok-soon', 'r');
  clock.now += 9_000;
  await v.validate('tok-soon', 'r');
  assert.equal(ks.log.filter((l) => l.startsWith('GET')).length, 1);
  clock.now += 2_000;
  assert.equal(await status(v.validate('tok-soon', 'r')), 401);
});

test('invalid tokens are remembered for invalidCacheSeconds only', async () => {
  const { clock, ks, v } = setup({ invalidCacheSeconds: 5 });
  assert.equal(await status(v.validate('nope', 'r')), 401);
  assert.equal(await status(v.validate('nope', 'r')), 401);
  assert.equal(ks.log.filter((l) => l.startsWith('GET')).length, 1);
  clock.now += 6_000;
  ks.userTokens['nope'] = { expires: clock.now + HOUR, roles: [] }; // (cannot happen in Keystone; shows the expiry)
  assert.equal(await status(v.validate('nope', 'r')), 200);
});

test('service token: renewed before it expires, and once more when Keystone answers 401', async () => {
  const { clock, ks, v } = setup({ renewBeforeSeconds: 60 });
  await v.validate('tok-a', 'r');
  clock.now += HOUR - 30_000; // within 60 s of the service token's expiry
  ks.userTokens['tok-b'] = { expires: clock.now + HOUR, roles: [] };
  await v.validate('tok-b', 'r');
  assert.deepEqual(ks.log.slice(-2), ['POST http://keystone.test:5000/v3/auth/tokens?nocatalog', 'GET tok-b as svc-2']);
  ks.revoked.add('svc-2');
  ks.userTokens['tok-c'] = { expires: clock.now + HOUR, roles: [] };
  assert.equal(await status(v.validate('tok-c', 'r')), 200);
  assert.deepEqual(ks.log.slice(-3), ['GET tok-c as svc-2', 'POST http://keystone.test:5000/v3/auth/tokens?nocatalog', 'GET tok-c as svc-3']);
});

test('concurrent validations share one lookup and one service login', async () => {
  const { ks, v } = setup();
  const results = await Promise.all(['a', 'b', 'c'].map((id) => v.validate('tok-a', id)));
  assert.deepEqual(ks.log, ['POST http://keystone.test:5000/v3/auth/tokens?nocatalog', 'GET tok-a as svc-1']);
  assert.deepEqual(
    results.map((r) => r.requestId),
    ['a', 'b', 'c'],
  );
});

test('the cache is bounded (least recently used goes first)', async () => {
  const { ks, v } = setup({ maxCacheEntries: 2 });
  for (const t of ['t1', 't2', 't3']) ks.userTokens[t] = { expires: Date.parse('2030-01-01T01:00:00Z'), roles: [] };
  await v.validate('t1', 'r');
  await v.validate('t2', 'r');
  await v.validate('t1', 'r'); // t1 is now the most recently used
  await v.validate('t3', 'r'); // evicts t2
  const gets = () => ks.log.filter((l) => l.startsWith('GET')).length;
  assert.equal(gets(), 3);
  await v.validate('t1', 'r');
  assert.equal(gets(), 3);
  await v.validate('t2', 'r');
  assert.equal(gets(), 4);
});

test('Keystone unreachable: 503 naming the URL, and nothing is cached', async () => {
  // A port that was just free: connecting to it is refused.
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  let calls = 0;
  const counted: typeof fetch = (input, init) => (calls++, fetch(input, init));
  const v = new KeystoneTokenValidator({ ...OPTS, auth_url: `http://127.0.0.1:${port}/v3` }, { timeoutMs: 2000, fetch: counted });
  for (let i = 1; i <= 2; i++) {
    const err = await v.validate('tok', 'r').catch((e: unknown) => e);
    assert.ok(err instanceof NeutronError);
    assert.equal(err.status, 503);
    assert.equal(err.type, 'HTTPServiceUnavailable');
    assert.match(err.message, new RegExp(`^Keystone at http://127.0.0.1:${port} is unreachable: ECONNREFUSED$`));
    assert.equal(calls, i, 'each attempt tries Keystone again');
  }
});

test('missing [keystone_authtoken] settings are a ConfigError; cfg.keystone_authtoken is accepted as is', () => {
  assert.throws(
    () => new KeystoneTokenValidator({ ...OPTS, password: null }),
    (e: unknown) => {
      return e instanceof ConfigError && e.message === '[keystone_authtoken] password: required when auth_strategy = keystone';
    },
  );
  const cfg = loadConfig([], {
    keystone_authtoken: { auth_url: 'http://127.0.0.1:5000', username: 'neutron', password: 'x', project_name: 'service' },
  });
  assert.ok(new KeystoneTokenValidator(cfg.keystone_authtoken));
});

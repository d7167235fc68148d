// Quota updates check the project's usage (quota-check-limit, quota-check-limit-default) on every
// backend: a limit below what the project has is refused unless `force: true`, unlimited and
// equal limits pass, and a limit set while creates race it is never below what they left.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { ADMIN, startServer, type TestServer } from '../helpers/server.js';
import { assertError } from '../helpers/assert-error.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb } from '../../src/db/connection.js';
import { upgrade } from '../../src/db/migrate.js';
import { QuotaEngine } from '../../src/quota/quota.js';
import { quotaRoutes } from '../../src/plugins/quotas/routes.js';
import { adminContext } from '../../src/core/context.js';
import { NeutronError } from '../../src/core/errors.js';

for (const backend of BACKENDS) {
  describe(`quota limit checks on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(backend);
    });
    after(async () => {
      await s?.stop();
    });

    const network = (project: string) => s.req('POST', '/v2.0/networks', { network: { name: 'n', project_id: project } }, ADMIN);
    const setQuota = (project: string, quota: object) => s.req('PUT', `/v2.0/quotas/${project}`, { quota }, ADMIN);
    const limitOf = async (project: string) => (await s.req('GET', `/v2.0/quotas/${project}`, undefined, ADMIN)).body.quota.network;
    const networksOf = async (project: string) =>
      (await s.req('GET', `/v2.0/networks?project_id=${project}`, undefined, ADMIN)).body.networks.length as number;

    it('lists both extensions', async () => {
      const aliases = (await s.req('GET', '/v2.0/extensions')).body.extensions.map((e: any) => e.alias);
      for (const a of ['quota-check-limit', 'quota-check-limit-default']) assert.ok(aliases.includes(a), a);
    });

    it('refuses a limit below usage unless forced', async () => {
      const p = 'project-check-limit';
      for (let i = 0; i < 2; i++) assert.equal((await network(p)).status, 201);
      assertError(
        await setQuota(p, { network: 1 }),
        400,
        'HTTPBadRequest',
        'Quota limit 1 for network must be greater than or equal to already used 2',
      );
      assertError(await setQuota(p, { network: 1, check_limit: true }), 400, 'HTTPBadRequest');
      assertError(await setQuota(p, { network: 1, force: false }), 400, 'HTTPBadRequest');
      // One refused resource refuses the whole update.
      assertError(await setQuota(p, { subnet: 5, network: 0 }), 400, 'HTTPBadRequest');
      assert.equal(await limitOf(p), 100);
      assert.equal((await s.req('GET', `/v2.0/quotas/${p}`, undefined, ADMIN)).body.quota.subnet, 100);
      for (const ok of [{ network: 2 }, { network: -1 }, { network: 5, check_limit: false }]) {
        const r = await setQuota(p, ok);
        assert.equal(r.status, 200, JSON.stringify(r.body));
      }
      const forced = await setQuota(p, { network: 0, force: true });
      assert.equal(forced.status, 200, JSON.stringify(forced.body));
      assert.equal(forced.body.quota.network, 0);
      assert.equal(forced.body.quota.force, undefined);
      assertError(await network(p), 409, 'OverQuota');
      assertError(await setQuota(p, { network: 1, force: 'yes' }), 400, 'HTTPBadRequest', 'already used 2');
    });

    it('never leaves a checked limit below what concurrent creates made', async () => {
      for (let round = 0; round < 3; round++) {
        const p = `project-check-race-${round}`;
        assert.equal((await setQuota(p, { network: 10 })).status, 200);
        for (let i = 0; i < 2; i++) assert.equal((await network(p)).status, 201);
        const [update, ...creates] = await Promise.all([setQuota(p, { network: 3 }), ...Array.from({ length: 4 }, () => network(p))]);
        const count = await networksOf(p);
        assert.equal(count, 2 + creates.filter((c) => c.status === 201).length);
        for (const c of creates) if (c.status !== 201) assertError(c, 409, 'OverQuota');
        if (update.status === 200) assert.ok(count <= 3, `limit 3 set, ${count} networks`);
        else {
          assertError(update, 400, 'HTTPBadRequest');
          assert.equal(await limitOf(p), 10);
        }
      }
    });
  });
}

// Without quota-check-limit-default (Neutron up to 2024.2) only `check_limit: true` checks: the
// quota routes as the core plugin builds them when that alias is not listed, on the real database.
describe('quota limit checks without quota-check-limit-default (sqlite)', () => {
  it('checks only when check_limit is true', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'neutrino-quota-'));
    const db = openDb(`sqlite:///${join(dir, 'db.sqlite')}`);
    try {
      await upgrade(db);
      const quota = new QuotaEngine(db, {});
      // A project holding 2 of a resource.
      quota.register('widget', 10, async () => 2);
      const put = quotaRoutes(db, quota, { checkByDefault: false }).find((r) => r.method === 'PUT')!;
      const api = { allowed: () => true, collection: () => undefined, collections: () => [] };
      const call = (body: object) => put.handle({ ctx: adminContext(), params: { project: 'p' }, query: {}, body: { quota: body } }, api);
      assert.deepEqual(await call({ widget: 1 }), { quota: { widget: 1 } });
      await assert.rejects(
        call({ widget: 1, check_limit: true }),
        (e: unknown) => e instanceof NeutronError && e.status === 400 && /already used 2/.test(e.message),
      );
      assert.deepEqual(await call({ widget: 2, check_limit: true }), { quota: { widget: 2 } });
    } finally {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// Flavors, service profiles and their bindings (flavors), routers' flavor_id (l3-flavors) and the
// dvr attribute, on every backend through the real HTTP server: CRUD, Neutron's errors and
// admin-only writes, the provider a flavor leads to (ha or single_node, never dvr), a flavor in use
// by a router, distributed=true refused, and bindings unique under concurrency.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { ADMIN, ALICE, startServer, type TestServer, okCalls } from '../helpers/server.js';
import { assertError } from '../helpers/assert-error.js';

const SINGLE = 'neutron.services.l3_router.service_providers.single_node.SingleNodeDriver';
const HA = 'neutron.services.l3_router.service_providers.ha.HaDriver';
const DVR = 'neutron.services.l3_router.service_providers.dvr.DvrDriver';

for (const backend of BACKENDS) {
  describe(`flavors on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(backend);
    });
    after(async () => {
      await s?.stop();
    });

    const ok = okCalls(() => s, ADMIN);
    const flavor = async (body: object = {}) => (await ok('POST', '/v2.0/flavors', { flavor: { service_type: 'L3_ROUTER_NAT', ...body } })).flavor;
    const profile = async (body: object) => (await ok('POST', '/v2.0/service_profiles', { service_profile: body })).service_profile;
    const bind = (f: string, sp: string) => s.req('POST', `/v2.0/flavors/${f}/service_profiles`, { service_profile: { id: sp } }, ADMIN);
    /** An L3 flavor bound to a profile of `driver`. */
    async function l3Flavor(driver: string) {
      const f = await flavor({ name: `f-${driver.split('.').at(-1)}` });
      const sp = await profile({ driver });
      assert.equal((await bind(f.id, sp.id)).status, 201);
      return { f, sp };
    }

    it('lists flavors, l3-flavors and dvr', async () => {
      const aliases = (await s.req('GET', '/v2.0/extensions')).body.extensions.map((e: any) => e.alias);
      for (const a of ['flavors', 'l3-flavors', 'dvr', 'service-type']) assert.ok(aliases.includes(a), a);
    });

    it('creates, shows, lists, updates and deletes flavors', async () => {
      const f = await flavor({ name: 'gold', description: 'fast', service_type: 'FLAVORS' });
      assert.deepEqual(f, { id: f.id, name: 'gold', description: 'fast', service_type: 'FLAVORS', enabled: true, service_profiles: [] });
      assert.deepEqual((await ok('GET', `/v2.0/flavors/${f.id}`)).flavor, f);
      // Everyone reads flavors (get_flavor).
      assert.deepEqual((await ok('GET', `/v2.0/flavors/${f.id}`, undefined, ALICE)).flavor, f);
      assert.deepEqual((await ok('GET', `/v2.0/flavors?id=33`)).flavors, []);
      assert.deepEqual((await ok('GET', `/v2.0/flavors?name=gold&fields=id&fields=name`)).flavors, [{ id: f.id, name: 'gold' }]);
      const up = (await ok('PUT', `/v2.0/flavors/${f.id}`, { flavor: { enabled: false, name: 'silver' } })).flavor;
      assert.equal(up.enabled, false);
      assert.equal(up.name, 'silver');
      assert.deepEqual(
        (await ok('GET', `/v2.0/flavors?enabled=false&id=${f.id}`)).flavors.map((x: any) => x.id),
        [f.id],
      );
      assertError(await s.req('PUT', `/v2.0/flavors/${f.id}`, { flavor: { service_type: 'QOS' } }, ADMIN), 400);
      assert.equal((await s.req('DELETE', `/v2.0/flavors/${f.id}`, undefined, ADMIN)).status, 204);
      assertError(await s.req('GET', `/v2.0/flavors/${f.id}`, undefined, ADMIN), 404, 'FlavorNotFound', `Flavor ${f.id} could not be found.`);
      assertError(await s.req('DELETE', `/v2.0/flavors/${f.id}`, undefined, ADMIN), 404, 'FlavorNotFound');
    });

    it('validates flavors: a loaded service type, lengths, booleans', async () => {
      assertError(await s.req('POST', '/v2.0/flavors', { flavor: { name: 'x' } }, ADMIN), 400);
      assertError(
        await s.req('POST', '/v2.0/flavors', { flavor: { service_type: 'LOADBALANCERV2' } }, ADMIN),
        400,
        'InvalidServiceType',
        'Invalid service type: LOADBALANCERV2.',
      );
      assertError(await s.req('POST', '/v2.0/flavors', { flavor: { service_type: 'FLAVORS', name: 'x'.repeat(256) } }, ADMIN), 400);
      assertError(await s.req('POST', '/v2.0/flavors', { flavor: { service_type: 'FLAVORS', enabled: 'maybe' } }, ADMIN), 400);
      assertError(await s.req('POST', '/v2.0/flavors', { flavor: { service_type: 'FLAVORS', service_profiles: ['nope'] } }, ADMIN), 400);
      assertError(await s.req('POST', '/v2.0/flavors', { flavor: { service_type: 'FLAVORS', bogus: 1 } }, ADMIN), 400);
      const missing = '6c2e9b62-2b07-4a3c-9d6f-0c2c3c1d7e01';
      assertError(
        await s.req('POST', '/v2.0/flavors', { flavor: { service_type: 'FLAVORS', service_profiles: [missing] } }, ADMIN),
        404,
        'ServiceProfileNotFound',
      );
      assert.equal((await s.req('GET', `/v2.0/flavors?name=${'x'.repeat(256)}`, undefined, ADMIN)).body.flavors.length, 0);
    });

    it('keeps writes to admins (policy)', async () => {
      assertError(await s.req('POST', '/v2.0/flavors', { flavor: { service_type: 'FLAVORS' } }, ALICE), 403);
      assertError(await s.req('POST', '/v2.0/service_profiles', { service_profile: { metainfo: '{}' } }, ALICE), 403);
      const f = await flavor({ service_type: 'FLAVORS' });
      const sp = await profile({ metainfo: '{"a": 1}' });
      assertError(await s.req('PUT', `/v2.0/flavors/${f.id}`, { flavor: { name: 'n' } }, ALICE), 403);
      assertError(await s.req('DELETE', `/v2.0/flavors/${f.id}`, undefined, ALICE), 403);
      // Profiles are admin-only even to read.
      assertError(await s.req('GET', `/v2.0/service_profiles/${sp.id}`, undefined, ALICE), 404);
      assert.deepEqual((await ok('GET', '/v2.0/service_profiles', undefined, ALICE)).service_profiles, []);
      assertError(await s.req('POST', `/v2.0/flavors/${f.id}/service_profiles`, { service_profile: { id: sp.id } }, ALICE), 403);
      await ok('DELETE', `/v2.0/flavors/${f.id}`);
      await ok('DELETE', `/v2.0/service_profiles/${sp.id}`);
    });

    it('creates, updates and deletes service profiles; drivers must be providers', async () => {
      const sp = await profile({ description: 'd', metainfo: '{"data": "value"}', driver: '' });
      assert.deepEqual(sp, { id: sp.id, description: 'd', driver: '', enabled: true, metainfo: '{"data": "value"}', flavors: [] });
      const up = (await ok('PUT', `/v2.0/service_profiles/${sp.id}`, { service_profile: { enabled: false } })).service_profile;
      assert.equal(up.enabled, false);
      assert.deepEqual((await ok('GET', `/v2.0/service_profiles?id=${sp.id}`)).service_profiles.length, 1);
      assertError(
        await s.req('POST', '/v2.0/service_profiles', { service_profile: {} }, ADMIN),
        400,
        'ServiceProfileEmpty',
        'Service Profile needs either a driver or metainfo.',
      );
      // The DVR provider is no provider of neutrino's: Tempest's router flavor tests skip on this.
      assertError(
        await s.req('POST', '/v2.0/service_profiles', { service_profile: { driver: DVR } }, ADMIN),
        404,
        'ServiceProfileDriverNotFound',
        `Service Profile driver ${DVR} could not be found.`,
      );
      assertError(
        await s.req('PUT', `/v2.0/service_profiles/${sp.id}`, { service_profile: { driver: 'x.Y' } }, ADMIN),
        404,
        'ServiceProfileDriverNotFound',
      );
      assert.equal((await profile({ driver: SINGLE })).driver, SINGLE);
      await ok('DELETE', `/v2.0/service_profiles/${sp.id}`);
      assertError(await s.req('GET', `/v2.0/service_profiles/${sp.id}`, undefined, ADMIN), 404, 'ServiceProfileNotFound');
    });

    it('binds profiles to flavors; a bound profile is in use', async () => {
      const f = await flavor();
      const sp = await profile({ driver: SINGLE });
      const r = await bind(f.id, sp.id);
      assert.equal(r.status, 201);
      assert.deepEqual(r.body, { service_profile: { id: sp.id } });
      assertError(
        await bind(f.id, sp.id),
        409,
        'FlavorServiceProfileBindingExists',
        `Service Profile ${sp.id} is already associated with flavor ${f.id}.`,
      );
      assert.deepEqual((await ok('GET', `/v2.0/flavors/${f.id}`)).flavor.service_profiles, [sp.id]);
      assert.deepEqual((await ok('GET', `/v2.0/service_profiles/${sp.id}`)).service_profile.flavors, [f.id]);
      assert.deepEqual((await ok('GET', `/v2.0/flavors/${f.id}/service_profiles/${sp.id}`, undefined, ALICE)).service_profile, {
        service_profile_id: sp.id,
        flavor_id: f.id,
      });
      assert.deepEqual((await ok('GET', `/v2.0/flavors/${f.id}/next_providers`)).next_providers, [{ driver: SINGLE, provider: 'single_node' }]);
      assertError(await s.req('DELETE', `/v2.0/service_profiles/${sp.id}`, undefined, ADMIN), 409, 'ServiceProfileInUse');
      assertError(await s.req('PUT', `/v2.0/service_profiles/${sp.id}`, { service_profile: { enabled: false } }, ADMIN), 409, 'ServiceProfileInUse');
      const missing = '6c2e9b62-2b07-4a3c-9d6f-0c2c3c1d7e01';
      assertError(await bind(f.id, missing), 404, 'ServiceProfileNotFound');
      assertError(await bind(missing, sp.id), 404, 'FlavorNotFound');
      assertError(await s.req('POST', `/v2.0/flavors/${f.id}/service_profiles`, { service_profile: { id: 'x' } }, ADMIN), 400);
      assertError(await s.req('POST', `/v2.0/flavors/${f.id}/service_profiles`, { nope: {} }, ADMIN), 400);
      assert.equal((await s.req('DELETE', `/v2.0/flavors/${f.id}/service_profiles/${sp.id}`, undefined, ADMIN)).status, 204);
      assertError(
        await s.req('DELETE', `/v2.0/flavors/${f.id}/service_profiles/${sp.id}`, undefined, ADMIN),
        404,
        'FlavorServiceProfileBindingNotFound',
      );
      assertError(
        await s.req('GET', `/v2.0/flavors/${f.id}/service_profiles/${sp.id}`, undefined, ADMIN),
        404,
        'FlavorServiceProfileBindingNotFound',
      );
      assertError(await s.req('GET', `/v2.0/flavors/${f.id}/next_providers`, undefined, ADMIN), 404, 'FlavorServiceProfileBindingNotFound');
      // service_profiles on update replaces the bindings.
      const up = (await ok('PUT', `/v2.0/flavors/${f.id}`, { flavor: { service_profiles: [sp.id] } })).flavor;
      assert.deepEqual(up.service_profiles, [sp.id]);
      await ok('PUT', `/v2.0/flavors/${f.id}`, { flavor: { service_profiles: [] } });
      await ok('DELETE', `/v2.0/service_profiles/${sp.id}`);
    });

    it('binds a profile once under concurrent requests', async () => {
      const f = await flavor();
      const sp = await profile({ driver: SINGLE });
      const rs = await Promise.all(Array.from({ length: 6 }, () => bind(f.id, sp.id)));
      assert.deepEqual(rs.map((r) => r.status).sort(), [201, 409, 409, 409, 409, 409], JSON.stringify(rs.map((r) => r.body)));
      assert.deepEqual((await ok('GET', `/v2.0/flavors/${f.id}`)).flavor.service_profiles, [sp.id]);
    });

    it('creates routers with a flavor, which settles ha; a used flavor stays', async () => {
      const { f } = await l3Flavor(SINGLE);
      const { f: haF } = await l3Flavor(HA);
      // A regular project sees the flavor and creates a router with it.
      assert.equal((await ok('GET', `/v2.0/flavors?id=${f.id}`, undefined, ALICE)).flavors[0].name, f.name);
      const r = (await ok('POST', '/v2.0/routers', { router: { name: 'r', flavor_id: f.id } }, ALICE)).router;
      assert.equal(r.flavor_id, f.id);
      assert.equal(r.distributed, undefined, 'distributed is for admins only');
      const shown = (await ok('GET', `/v2.0/routers/${r.id}`)).router;
      assert.equal(shown.flavor_id, f.id);
      assert.equal(shown.ha, false);
      assert.equal(shown.distributed, false);
      const haR = (await ok('POST', '/v2.0/routers', { router: { name: 'h', flavor_id: haF.id } })).router;
      assert.equal(haR.ha, true);
      assert.equal(haR.flavor_id, haF.id);
      // A router without a flavor has none.
      const plain = (await ok('POST', '/v2.0/routers', { router: { name: 'p' } })).router;
      assert.equal(plain.flavor_id, null);
      assert.deepEqual((await ok('GET', `/v2.0/routers?sort_key=flavor_id&sort_dir=asc&fields=id&id=${r.id}`)).routers, [{ id: r.id }]);
      // flavor_id is no filter (Neutron's is_filter is unset).
      assertError(await s.req('GET', `/v2.0/routers?flavor_id=${f.id}`, undefined, ADMIN), 400);
      assertError(
        await s.req('DELETE', `/v2.0/flavors/${f.id}`, undefined, ADMIN),
        409,
        'FlavorInUse',
        `Flavor ${f.id} is used by some service instance.`,
      );
      // flavor_id is for create only; ha follows the flavor's provider.
      assertError(await s.req('PUT', `/v2.0/routers/${r.id}`, { router: { flavor_id: haF.id } }, ADMIN), 400);
      await ok('PUT', `/v2.0/routers/${r.id}`, { router: { admin_state_up: false } });
      assertError(
        await s.req('PUT', `/v2.0/routers/${r.id}`, { router: { ha: true } }, ADMIN),
        400,
        'InvalidInput',
        'associated with a flavor is not supported',
      );
      assertError(
        await s.req('POST', '/v2.0/routers', { router: { flavor_id: f.id, ha: true } }, ADMIN),
        400,
        'InvalidInput',
        'Provider single_node does not support ha=True',
      );
      for (const id of [r.id, haR.id, plain.id]) await ok('DELETE', `/v2.0/routers/${id}`);
      assert.equal((await s.req('DELETE', `/v2.0/flavors/${f.id}`, undefined, ADMIN)).status, 204);
    });

    it('refuses flavors a router cannot use', async () => {
      const missing = '6c2e9b62-2b07-4a3c-9d6f-0c2c3c1d7e01';
      assertError(await s.req('POST', '/v2.0/routers', { router: { flavor_id: missing } }, ADMIN), 404, 'FlavorNotFound');
      const unbound = await flavor();
      assertError(await s.req('POST', '/v2.0/routers', { router: { flavor_id: unbound.id } }, ADMIN), 404, 'FlavorServiceProfileBindingNotFound');
      const { f, sp } = await l3Flavor(SINGLE);
      await ok('PUT', `/v2.0/flavors/${f.id}`, { flavor: { enabled: false } });
      assertError(await s.req('POST', '/v2.0/routers', { router: { flavor_id: f.id } }, ADMIN), 503, 'FlavorDisabled');
      await ok('PUT', `/v2.0/flavors/${f.id}`, { flavor: { enabled: true } });
      const other = await flavor({ service_type: 'FLAVORS' });
      assert.equal((await bind(other.id, sp.id)).status, 201);
      assertError(await s.req('POST', '/v2.0/routers', { router: { flavor_id: other.id } }, ADMIN), 400, 'InvalidInput', 'not L3_ROUTER_NAT');
      // Nothing was half-written.
      assert.deepEqual(
        (await ok('GET', '/v2.0/routers')).routers.filter((x: any) => x.flavor_id),
        [],
      );
    });

    it('refuses distributed routers (dvr is an attribute only)', async () => {
      const c = await s.req('POST', '/v2.0/routers', { router: { name: 'd', distributed: true } }, ADMIN);
      assertError(c, 400, 'InvalidInput', 'no distributed (DVR) router dataplane');
      // A project may not even ask (create_router:distributed is admin-only).
      assertError(await s.req('POST', '/v2.0/routers', { router: { distributed: true } }, ALICE), 403);
      const r = (await ok('POST', '/v2.0/routers', { router: { name: 'c', distributed: false } })).router;
      assert.equal(r.distributed, false);
      assertError(await s.req('PUT', `/v2.0/routers/${r.id}`, { router: { distributed: true } }, ADMIN), 400, 'InvalidInput');
      assert.equal((await ok('PUT', `/v2.0/routers/${r.id}`, { router: { distributed: false } })).router.distributed, false);
      assertError(await s.req('POST', '/v2.0/routers', { router: { distributed: 'maybe' } }, ADMIN), 400);
      assert.equal((await ok('GET', '/v2.0/routers?name=d')).routers.length, 0);
      await ok('DELETE', `/v2.0/routers/${r.id}`);
    });

    it('router creates racing the flavor delete: a flavor in use is never gone', async () => {
      const { f } = await l3Flavor(SINGLE);
      const results = await Promise.all([
        ...Array.from({ length: 4 }, () => s.req('POST', '/v2.0/routers', { router: { flavor_id: f.id } }, ADMIN)),
        s.req('DELETE', `/v2.0/flavors/${f.id}`, undefined, ADMIN),
      ]);
      const made = results.slice(0, 4).filter((r) => r.status === 201);
      const del = results[4]!;
      if (made.length) assertError(del, 409, 'FlavorInUse');
      else assert.equal(del.status, 204);
      for (const r of results.slice(0, 4)) assert.ok([201, 404].includes(r.status), JSON.stringify(r.body));
      const flavorLeft = (await s.req('GET', `/v2.0/flavors/${f.id}`, undefined, ADMIN)).status === 200;
      assert.equal(flavorLeft, made.length > 0);
      for (const r of made) await ok('DELETE', `/v2.0/routers/${r.body.router.id}`);
    });
  });
}

describe('[DEFAULT] router_distributed', () => {
  it('refuses true at start-up, naming the option', async () => {
    await assert.rejects(startServer(BACKENDS[0]!, { DEFAULT: { router_distributed: 'true' } }), /router_distributed = true is not supported/);
  });
});

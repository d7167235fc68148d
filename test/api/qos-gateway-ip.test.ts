// qos-gateway-ip on every backend, through the real HTTP server: a router's external_gateway_info
// takes a QoS policy (own, shared, or shared with the project by RBAC), refuses one that does not
// exist or that the caller cannot see, keeps it when the key is left out, drops it with null or
// with the gateway; a policy in use by a gateway is not deleted, nor its RBAC entry while the
// router's project uses it; without the QoS plugin the key is refused as Neutron's validation does.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { ADMIN, ALICE, BOB, startServer, type Caller, type TestServer, okCalls } from '../helpers/server.js';
import { assertError } from '../helpers/assert-error.js';

for (const backend of BACKENDS) {
  describe(`qos-gateway-ip on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let s: TestServer;
    let ext: any;
    before(async () => {
      s = await startServer(backend);
      ext = (await ok('POST', '/v2.0/networks', { network: { name: 'public', 'router:external': true } }, ADMIN, 201)).network;
      await ok('POST', '/v2.0/subnets', { subnet: { network_id: ext.id, ip_version: 4, cidr: '172.31.0.0/24' } }, ADMIN, 201);
    });
    after(async () => {
      await s?.stop();
    });

    const req = (method: string, path: string, body?: unknown, as: Caller = ADMIN) => s.req(method, path, body, as);
    const ok = okCalls(() => s, ADMIN);
    /** A policy (admins make them) owned by `owner`'s project. */
    const policy = async (body: object = {}, owner: Caller = ADMIN) =>
      (await ok('POST', '/v2.0/qos/policies', { policy: { name: 'gw', project_id: owner.project, ...body } }, ADMIN, 201)).policy;
    const router = async (gw: object | null, as: Caller = ALICE) =>
      (await ok('POST', '/v2.0/routers', { router: { name: 'r', ...(gw ? { external_gateway_info: gw } : {}) } }, as, 201)).router;
    const gwOf = async (id: string, as: Caller = ALICE) => (await ok('GET', `/v2.0/routers/${id}`, undefined, as)).router.external_gateway_info;

    it('lists qos-gateway-ip', async () => {
      const aliases = (await ok('GET', '/v2.0/extensions')).extensions.map((e: any) => e.alias);
      assert.ok(aliases.includes('qos-gateway-ip'));
    });

    it('binds a policy on create and update, keeps it when the key is left out, drops it with null', async () => {
      const p = await policy({}, ALICE);
      const q = await policy({}, ALICE);
      const r = await router({ network_id: ext.id, qos_policy_id: p.id });
      assert.equal(r.external_gateway_info.qos_policy_id, p.id);
      assert.equal(r.external_gateway_info.network_id, ext.id);
      assert.equal((await gwOf(r.id)).qos_policy_id, p.id);
      // The key left out: the binding stays.
      const kept = (await ok('PUT', `/v2.0/routers/${r.id}`, { router: { external_gateway_info: { network_id: ext.id } } }, ALICE)).router;
      assert.equal(kept.external_gateway_info.qos_policy_id, p.id);
      const other = (
        await ok('PUT', `/v2.0/routers/${r.id}`, { router: { external_gateway_info: { network_id: ext.id, qos_policy_id: q.id } } }, ALICE)
      ).router;
      assert.equal(other.external_gateway_info.qos_policy_id, q.id);
      assertError(await req('DELETE', `/v2.0/qos/policies/${q.id}`), 409, 'QosPolicyInUse', `QoS Policy ${q.id} is used by router ${r.id}.`);
      // The unused one goes.
      assert.equal((await req('DELETE', `/v2.0/qos/policies/${p.id}`)).status, 204);
      const cleared = (
        await ok('PUT', `/v2.0/routers/${r.id}`, { router: { external_gateway_info: { network_id: ext.id, qos_policy_id: null } } }, ALICE)
      ).router;
      // No binding and no network policy: the key is not shown (Neutron's router dict).
      assert.ok(!('qos_policy_id' in cleared.external_gateway_info), JSON.stringify(cleared.external_gateway_info));
      assert.equal((await req('DELETE', `/v2.0/qos/policies/${q.id}`)).status, 204);
    });

    it('shows null when only the gateway network has a policy', async () => {
      const netPolicy = await policy();
      const ext2 = (
        await ok('POST', '/v2.0/networks', { network: { name: 'pub2', 'router:external': true, qos_policy_id: netPolicy.id } }, ADMIN, 201)
      ).network;
      await ok('POST', '/v2.0/subnets', { subnet: { network_id: ext2.id, ip_version: 4, cidr: '172.31.9.0/24' } }, ADMIN, 201);
      const r = await router({ network_id: ext2.id }, ADMIN);
      assert.equal(r.external_gateway_info.qos_policy_id, null);
    });

    it('drops the binding with the gateway, and with the router', async () => {
      const p = await policy({}, ALICE);
      const r = await router({ network_id: ext.id, qos_policy_id: p.id });
      assert.equal((await ok('PUT', `/v2.0/routers/${r.id}`, { router: { external_gateway_info: {} } }, ALICE)).router.external_gateway_info, null);
      assert.equal((await req('DELETE', `/v2.0/qos/policies/${p.id}`)).status, 204);
      const p2 = await policy({}, ALICE);
      const r2 = await router({ network_id: ext.id, qos_policy_id: p2.id });
      assertError(await req('DELETE', `/v2.0/qos/policies/${p2.id}`), 409, 'QosPolicyInUse');
      assert.equal((await req('DELETE', `/v2.0/routers/${r2.id}`, undefined, ALICE)).status, 204);
      assert.equal((await req('DELETE', `/v2.0/qos/policies/${p2.id}`)).status, 204);
    });

    it('refuses a policy that does not exist or that the caller cannot see, and bad values', async () => {
      const missing = randomUUID();
      const before = (await ok('GET', '/v2.0/routers', undefined, ALICE)).routers.length;
      assertError(
        await req('POST', '/v2.0/routers', { router: { external_gateway_info: { network_id: ext.id, qos_policy_id: missing } } }, ALICE),
        404,
        'QosPolicyNotFound',
        `QoS policy ${missing} could not be found.`,
      );
      const bobs = await policy({}, BOB);
      assertError(
        await req('POST', '/v2.0/routers', { router: { external_gateway_info: { network_id: ext.id, qos_policy_id: bobs.id } } }, ALICE),
        404,
        'QosPolicyNotFound',
      );
      // Nothing was left behind by the refused creates.
      assert.equal((await ok('GET', '/v2.0/routers', undefined, ALICE)).routers.length, before);
      const r = await router({ network_id: ext.id });
      assertError(
        await req('PUT', `/v2.0/routers/${r.id}`, { router: { external_gateway_info: { network_id: ext.id, qos_policy_id: bobs.id } } }, ALICE),
        404,
        'QosPolicyNotFound',
      );
      assertError(
        await req('PUT', `/v2.0/routers/${r.id}`, { router: { external_gateway_info: { network_id: ext.id, qos_policy_id: 'nope' } } }, ALICE),
        400,
        'HTTPBadRequest',
        "Invalid input for external_gateway_info. Reason: 'nope' is not a valid UUID.",
      );
      assertError(
        await req('PUT', `/v2.0/routers/${r.id}`, { router: { external_gateway_info: { network_id: ext.id, qos_policy: bobs.id } } }, ALICE),
        400,
        'HTTPBadRequest',
        'Unexpected keys supplied: qos_policy',
      );
      assert.ok(!('qos_policy_id' in (await gwOf(r.id))));
    });

    it('takes policies shared with everyone or with the project by RBAC, which stay while bound', async () => {
      const shared = await policy({ shared: true }, BOB);
      const r1 = await router({ network_id: ext.id, qos_policy_id: shared.id });
      assert.equal(r1.external_gateway_info.qos_policy_id, shared.id);
      const only = await policy({}, BOB);
      const entry = (
        await ok(
          'POST',
          '/v2.0/rbac-policies',
          { rbac_policy: { object_type: 'qos_policy', object_id: only.id, action: 'access_as_shared', target_tenant: ALICE.project } },
          BOB,
          201,
        )
      ).rbac_policy;
      const r2 = await router({ network_id: ext.id, qos_policy_id: only.id });
      assert.equal(r2.external_gateway_info.qos_policy_id, only.id);
      // Alice's router uses it: Bob cannot take the entry back, nor delete the policy.
      assertError(await req('DELETE', `/v2.0/rbac-policies/${entry.id}`, undefined, BOB), 409, 'RbacPolicyInUse');
      assertError(await req('DELETE', `/v2.0/qos/policies/${only.id}`), 409, 'QosPolicyInUse');
      await ok('PUT', `/v2.0/routers/${r2.id}`, { router: { external_gateway_info: { network_id: ext.id, qos_policy_id: null } } }, ALICE);
      assert.equal((await req('DELETE', `/v2.0/rbac-policies/${entry.id}`, undefined, BOB)).status, 204);
      // Unshared now: Alice cannot put it back.
      assertError(
        await req('PUT', `/v2.0/routers/${r2.id}`, { router: { external_gateway_info: { network_id: ext.id, qos_policy_id: only.id } } }, ALICE),
        404,
        'QosPolicyNotFound',
      );
    });

    it('binds one policy per router under concurrent updates', async () => {
      const ps = await Promise.all(Array.from({ length: 4 }, () => policy({}, ALICE)));
      const r = await router({ network_id: ext.id });
      const rs = await Promise.all(
        ps.map((p) => req('PUT', `/v2.0/routers/${r.id}`, { router: { external_gateway_info: { network_id: ext.id, qos_policy_id: p.id } } }, ALICE)),
      );
      assert.deepEqual(
        rs.map((x) => x.status),
        [200, 200, 200, 200],
      );
      const bound = (await gwOf(r.id)).qos_policy_id;
      assert.ok(ps.some((p) => p.id === bound));
      // Every other policy is free again.
      for (const p of ps.filter((x) => x.id !== bound)) assert.equal((await req('DELETE', `/v2.0/qos/policies/${p.id}`)).status, 204);
      assertError(await req('DELETE', `/v2.0/qos/policies/${bound}`), 409, 'QosPolicyInUse');
    });
  });
}

describe('qos-gateway-ip without the QoS plugin', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer(BACKENDS[0]!, { DEFAULT: { service_plugins: 'router' } });
  });
  after(async () => {
    await s?.stop();
  });

  it('is not listed and the key is refused', async () => {
    const aliases = ((await s.req('GET', '/v2.0/extensions', undefined, ADMIN)).body as any).extensions.map((e: any) => e.alias);
    assert.ok(!aliases.includes('qos-gateway-ip'));
    const ext = (await s.req('POST', '/v2.0/networks', { network: { name: 'public', 'router:external': true } }, ADMIN)).body.network;
    assertError(
      await s.req('POST', '/v2.0/routers', { router: { external_gateway_info: { network_id: ext.id, qos_policy_id: randomUUID() } } }, ADMIN),
      400,
      'HTTPBadRequest',
      'Unexpected keys supplied: qos_policy_id',
    );
  });
});

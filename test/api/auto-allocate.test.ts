// auto-allocated-topology: is_default on external networks (one at most; the default keeps its
// wildcard access_as_external entry) and get-me-a-network through the real HTTP server.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { assertError } from '../helpers/assert-error.js';
import { ADMIN, ALICE, BOB, startServer, type Caller, type TestServer, okCalls } from '../helpers/server.js';

for (const backend of BACKENDS) {
  describe(`auto-allocated topology on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(backend);
    });
    after(async () => {
      await s?.stop();
    });

    const ok = okCalls(() => s, ADMIN);
    const names = async (collection: string, as: Caller) =>
      ((await ok('GET', `/v2.0/${collection}`, undefined, as))[collection] as Array<{ name: string }>)
        .map((x) => x.name)
        .filter((n) => n.startsWith('auto_allocated_'))
        .sort();

    it('lists the extension; is_default is on external networks only, and one at most', async () => {
      const aliases = (await ok('GET', '/v2.0/extensions')).extensions.map((e: any) => e.alias);
      assert.ok(aliases.includes('auto-allocated-topology'));
      const internal = (await ok('POST', '/v2.0/networks', { network: { name: 'in' } }, ALICE)).network;
      assert.ok(!('is_default' in internal), JSON.stringify(internal));
      assertError(await s.req('POST', '/v2.0/networks', { network: { name: 'x', is_default: true } }, ALICE), 403, 'PolicyNotAuthorized');
      const a = (await ok('POST', '/v2.0/networks', { network: { name: 'ext-a', 'router:external': true } })).network;
      assert.equal(a.is_default, false);
      const b = (await ok('POST', '/v2.0/networks', { network: { name: 'ext-b', 'router:external': true, is_default: true } })).network;
      assert.equal(b.is_default, true);
      assertError(
        await s.req('PUT', `/v2.0/networks/${a.id}`, { network: { is_default: true } }, ADMIN),
        409,
        'DefaultExternalNetworkExists',
        `A default external network already exists: ${b.id}.`,
      );
      // An update without is_default keeps it; leaving the external state drops it.
      assert.equal((await ok('PUT', `/v2.0/networks/${b.id}`, { network: { description: 'kept' } })).network.is_default, true);
      const wild = (await ok('GET', `/v2.0/rbac-policies?object_id=${b.id}&action=access_as_external&target_tenant=*`)).rbac_policies[0];
      assertError(
        await s.req('DELETE', `/v2.0/rbac-policies/${wild.id}`, undefined, ADMIN),
        409,
        'RbacPolicyInUse',
        'Default external networks must be shared to everyone.',
      );
      const unext = (await ok('PUT', `/v2.0/networks/${b.id}`, { network: { 'router:external': false } })).network;
      assert.ok(!('is_default' in unext), JSON.stringify(unext));
      assert.equal((await ok('PUT', `/v2.0/networks/${a.id}`, { network: { is_default: true } })).network.is_default, true);
      assert.deepEqual(
        (await ok('GET', '/v2.0/networks?is_default=true')).networks.map((n: any) => n.id),
        [a.id],
      );
      await ok('PUT', `/v2.0/networks/${a.id}`, { network: { is_default: false } });
    });

    it('builds a project network, subnet and router once, from the default pool and external network, and deletes them', async () => {
      const dry = `/v2.0/auto-allocated-topology/${ALICE.project}?fields=dry-run`;
      assertError(await s.req('GET', dry, undefined, ALICE), 409, 'AutoAllocationFailure', 'Deployment error: No default router:external network.');
      const ext = (await ok('POST', '/v2.0/networks', { network: { name: 'public', 'router:external': true, is_default: true } })).network;
      await ok('POST', '/v2.0/subnets', { subnet: { network_id: ext.id, ip_version: 4, cidr: '172.30.0.0/24' } });
      assertError(await s.req('GET', dry, undefined, ALICE), 409, 'AutoAllocationFailure', 'Deployment error: No default subnetpools defined.');
      await ok('POST', '/v2.0/subnetpools', {
        subnetpool: { name: 'default-v4', prefixes: ['10.210.0.0/16'], default_prefixlen: 26, shared: true, is_default: true },
      });
      assert.deepEqual((await ok('GET', dry, undefined, ALICE)).auto_allocated_topology, {
        id: 'dry-run=pass',
        tenant_id: ALICE.project,
        project_id: ALICE.project,
      });
      assertError(await s.req('GET', `/v2.0/auto-allocated-topology/${ALICE.project}?fields=id`, undefined, ALICE), 400);
      // Another project's topology is the admin's business only.
      assertError(await s.req('GET', `/v2.0/auto-allocated-topology/${ALICE.project}`, undefined, BOB), 403, 'NotAuthorized');

      const first = (await ok('GET', `/v2.0/auto-allocated-topology/${ALICE.project}`, undefined, ALICE)).auto_allocated_topology;
      const net = (await ok('GET', `/v2.0/networks/${first.id}`, undefined, ALICE)).network;
      assert.equal(net.name, 'auto_allocated_network');
      assert.equal(net.admin_state_up, true);
      assert.equal(net.project_id, ALICE.project);
      assert.deepEqual(await names('subnets', ALICE), ['auto_allocated_subnet_v4']);
      const routers = (await ok('GET', '/v2.0/routers?name=auto_allocated_router', undefined, ALICE)).routers;
      assert.equal(routers.length, 1);
      assert.equal(routers[0].external_gateway_info.network_id, ext.id);
      const ifaces = (await ok('GET', `/v2.0/ports?device_id=${routers[0].id}&network_id=${first.id}`, undefined, ALICE)).ports;
      assert.equal(ifaces.length, 1, 'an interface on the subnet');
      // Idempotent; 'None' is the caller's own project (clients without a project id send it).
      assert.equal((await ok('GET', '/v2.0/auto-allocated-topology/None', undefined, ALICE)).auto_allocated_topology.id, first.id);
      assert.deepEqual(await names('networks', ALICE), ['auto_allocated_network']);
      // The admin may ask for any project.
      const bobs = (await ok('GET', `/v2.0/auto-allocated-topology/${BOB.project}`)).auto_allocated_topology;
      assert.equal((await ok('GET', `/v2.0/networks/${bobs.id}`, undefined, BOB)).network.project_id, BOB.project);

      assert.equal((await s.req('DELETE', `/v2.0/auto-allocated-topology/${ALICE.project}`, undefined, ALICE)).status, 204);
      assert.deepEqual(await names('networks', ALICE), []);
      assert.deepEqual(await names('subnets', ALICE), []);
      assert.deepEqual(await names('routers', ALICE), []);
      assert.equal((await s.req('DELETE', `/v2.0/auto-allocated-topology/${ALICE.project}`, undefined, ALICE)).status, 204);
      // A new GET builds a new one.
      const again = (await ok('GET', `/v2.0/auto-allocated-topology/${ALICE.project}`, undefined, ALICE)).auto_allocated_topology;
      assert.notEqual(again.id, first.id);
    });

    it('gives two concurrent first GETs the same topology and leaves no second one behind', async () => {
      const p: Caller = { project: 'project-carol', roles: 'member,reader', user: 'carol' };
      const [x, y] = await Promise.all([
        s.req('GET', `/v2.0/auto-allocated-topology/${p.project}`, undefined, p),
        s.req('GET', `/v2.0/auto-allocated-topology/${p.project}`, undefined, p),
      ]);
      assert.equal(x.status, 200, JSON.stringify(x.body));
      assert.equal(y.status, 200, JSON.stringify(y.body));
      assert.equal(x.body.auto_allocated_topology.id, y.body.auto_allocated_topology.id);
      assert.deepEqual(await names('networks', p), ['auto_allocated_network']);
      assert.deepEqual(await names('routers', p), ['auto_allocated_router']);
    });
  });
}

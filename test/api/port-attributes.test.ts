// The attribute-only ML2 extension drivers on every backend: port-device-profile,
// port-numa-affinity-policy (with 'socket'), port-hints (admin only, validated as its spec),
// port-trusted-vif (admin only, mirrored in binding:profile) and uplink-status-propagation
// (updatable with uplink-status-propagation-updatable);
// listed by default, and only those [ml2] extension_drivers names when it is set.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { registerLinuxBridgeAgent } from '../helpers/agents.js';
import { ADMIN, ALICE, startServer, type Caller, type TestServer, okCalls } from '../helpers/server.js';
import { assertError } from '../helpers/assert-error.js';

const ALIASES = [
  'port-device-profile',
  'port-numa-affinity-policy',
  'port-numa-affinity-policy-socket',
  'port-hints',
  'port-trusted-vif',
  'uplink-status-propagation',
  'uplink-status-propagation-updatable',
];
const HINTS = { openvswitch: { other_config: { 'tx-steering': 'hash' } } };

for (const backend of BACKENDS) {
  describe(`port attribute extension drivers on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let s: TestServer;
    let net: string;
    before(async () => {
      s = await startServer(backend);
      net = (await ok('POST', '/v2.0/networks', { network: { name: 'attrs' } }, ALICE)).network.id;
    });
    after(async () => {
      await s?.stop();
    });

    const ok = okCalls(() => s, ALICE);
    const port = async (attrs: Record<string, unknown>, as: Caller = ALICE) =>
      (await ok('POST', '/v2.0/ports', { port: { network_id: net, ...attrs } }, as)).port;

    it('lists every alias by default', async () => {
      const aliases = (await ok('GET', '/v2.0/extensions')).extensions.map((e: any) => e.alias);
      for (const a of ALIASES) assert.ok(aliases.includes(a), a);
    });

    it('a port without them shows their defaults, as a later GET does', async () => {
      const p = await port({}, ADMIN);
      const want = { device_profile: null, numa_affinity_policy: null, hints: null, trusted: null, propagate_uplink_status: true };
      for (const [k, v] of Object.entries(want)) assert.deepEqual(p[k], v, k);
      const shown = (await ok('GET', `/v2.0/ports/${p.id}`, undefined, ADMIN)).port;
      for (const [k, v] of Object.entries(want)) assert.deepEqual(shown[k], v, k);
      assert.deepEqual(shown['binding:profile'], {});
    });

    it('keeps device_profile (not updatable), numa_affinity_policy and propagate_uplink_status', async () => {
      const p = await port({ device_profile: 'dp1', numa_affinity_policy: 'socket', propagate_uplink_status: false });
      assert.equal(p.device_profile, 'dp1');
      assert.equal(p.numa_affinity_policy, 'socket');
      assert.equal(p.propagate_uplink_status, false);
      const listed = (await ok('GET', `/v2.0/ports?id=${p.id}`)).ports[0];
      assert.deepEqual([listed.device_profile, listed.numa_affinity_policy, listed.propagate_uplink_status], ['dp1', 'socket', false]);
      assert.equal((await ok('PUT', `/v2.0/ports/${p.id}`, { port: { numa_affinity_policy: 'required' } })).port.numa_affinity_policy, 'required');
      assert.equal((await ok('PUT', `/v2.0/ports/${p.id}`, { port: { numa_affinity_policy: null } })).port.numa_affinity_policy, null);
      assert.equal((await ok('GET', `/v2.0/ports/${p.id}`)).port.device_profile, 'dp1');
      assertError(await s.req('PUT', `/v2.0/ports/${p.id}`, { port: { device_profile: 'dp2' } }, ALICE), 400);
      // uplink-status-propagation-updatable (listed by default): propagate_uplink_status changes.
      assert.equal((await ok('PUT', `/v2.0/ports/${p.id}`, { port: { propagate_uplink_status: true } })).port.propagate_uplink_status, true);
      assert.equal((await ok('GET', `/v2.0/ports/${p.id}`)).port.propagate_uplink_status, true);
      assertError(await s.req('PUT', `/v2.0/ports/${p.id}`, { port: { propagate_uplink_status: 'maybe' } }, ALICE), 400);
      // A port created without a value (no stored row) gets one.
      const q = await port({});
      assert.equal((await ok('PUT', `/v2.0/ports/${q.id}`, { port: { propagate_uplink_status: false } })).port.propagate_uplink_status, false);
      assert.equal((await ok('GET', `/v2.0/ports?id=${q.id}`)).ports[0].propagate_uplink_status, false);
      assertError(await s.req('POST', '/v2.0/ports', { port: { network_id: net, numa_affinity_policy: 'nearby' } }, ALICE), 400, 'HTTPBadRequest');
      assertError(await s.req('POST', '/v2.0/ports', { port: { network_id: net, device_profile: 'x'.repeat(256) } }, ALICE), 400);
      assertError(await s.req('POST', '/v2.0/ports', { port: { network_id: net, propagate_uplink_status: 'maybe' } }, ALICE), 400);
    });

    it('refuses a new NUMA affinity policy on a bound port (409)', async () => {
      await registerLinuxBridgeAgent(s.server.db, 'numa-host', '192.0.2.50');
      const p = await port({ 'binding:host_id': 'numa-host' }, ADMIN);
      assert.equal(p['binding:vif_type'], 'bridge');
      assertError(
        await s.req('PUT', `/v2.0/ports/${p.id}`, { port: { numa_affinity_policy: 'preferred' } }, ADMIN),
        409,
        'PortBoundNUMAAffinityPolicy',
      );
      assert.equal((await ok('GET', `/v2.0/ports/${p.id}`, undefined, ADMIN)).port.numa_affinity_policy, null);
    });

    it('hints: admins only, validated as the definition says, cleared with null', async () => {
      assertError(await s.req('POST', '/v2.0/ports', { port: { network_id: net, hints: HINTS } }, ALICE), 403);
      const p = await port({ hints: HINTS }, ADMIN);
      assert.deepEqual(p.hints, HINTS);
      assert.deepEqual((await ok('GET', `/v2.0/ports/${p.id}`, undefined, ADMIN)).port.hints, HINTS);
      for (const bad of [
        { ovn: {} },
        { openvswitch: { other_config: { 'tx-steering': 'random' } } },
        { openvswitch: { other_config: { queues: 2 } } },
        { openvswitch: 'x' },
        'text',
      ]) {
        assertError(await s.req('PUT', `/v2.0/ports/${p.id}`, { port: { hints: bad } }, ADMIN), 400);
      }
      assert.equal((await ok('PUT', `/v2.0/ports/${p.id}`, { port: { hints: null } }, ADMIN)).port.hints, null);
      // A regular member owning a port with hints does not see them.
      const own = await ok('POST', '/v2.0/ports', { port: { network_id: net, project_id: ALICE.project, hints: HINTS } }, ADMIN);
      assert.ok(!('hints' in (await ok('GET', `/v2.0/ports/${own.port.id}`)).port));
    });

    it('trusted: admins only, mirrored in binding:profile', async () => {
      assertError(await s.req('POST', '/v2.0/ports', { port: { network_id: net, trusted: true } }, ALICE), 403);
      const p = await port({ trusted: true, 'binding:profile': { pci_slot: '0000:05:00.1' } }, ADMIN);
      assert.equal(p.trusted, true);
      assert.deepEqual(p['binding:profile'], { pci_slot: '0000:05:00.1', trusted: true });
      const shown = (await ok('GET', `/v2.0/ports/${p.id}`, undefined, ADMIN)).port;
      assert.equal(shown.trusted, true);
      assert.deepEqual(shown['binding:profile'], { pci_slot: '0000:05:00.1', trusted: true });
      const off = (await ok('PUT', `/v2.0/ports/${p.id}`, { port: { trusted: false } }, ADMIN)).port;
      assert.equal(off.trusted, false);
      assert.equal(off['binding:profile'].trusted, false);
      // convert_to_boolean refuses null, as in Neutron.
      assertError(await s.req('PUT', `/v2.0/ports/${p.id}`, { port: { trusted: null } }, ADMIN), 400);
      assertError(await s.req('PUT', `/v2.0/ports/${p.id}`, { port: { trusted: 'yes' } }, ADMIN), 400);
    });
  });

  describe(`port attribute drivers chosen by [ml2] extension_drivers on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(backend, { ml2: { extension_drivers: 'port_security,port_numa_affinity_policy,uplink_status_propagation' } });
    });
    after(async () => {
      await s?.stop();
    });

    it("lists only the named drivers; the others' attributes are refused", async () => {
      const aliases = (await s.req('GET', '/v2.0/extensions', undefined, ALICE)).body.extensions.map((e: any) => e.alias);
      assert.deepEqual(
        ALIASES.filter((a) => aliases.includes(a)),
        ['port-numa-affinity-policy', 'uplink-status-propagation'],
      );
      const n = (await s.req('POST', '/v2.0/networks', { network: { name: 'x' } }, ALICE)).body.network.id;
      const p = await s.req('POST', '/v2.0/ports', { port: { network_id: n, numa_affinity_policy: 'legacy' } }, ALICE);
      assert.equal(p.status, 201, JSON.stringify(p.body));
      assert.ok(!('device_profile' in p.body.port) && !('trusted' in p.body.port));
      assertError(await s.req('POST', '/v2.0/ports', { port: { network_id: n, device_profile: 'dp' } }, ALICE), 400);
      // Without the socket driver 'socket' is no policy.
      assertError(await s.req('POST', '/v2.0/ports', { port: { network_id: n, numa_affinity_policy: 'socket' } }, ALICE), 400);
      // Without uplink_status_propagation_updatable the flag is fixed at create.
      assertError(await s.req('PUT', `/v2.0/ports/${p.body.port.id}`, { port: { propagate_uplink_status: false } }, ALICE), 400);
    });
  });
}

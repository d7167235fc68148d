// Under concurrent requests nothing is handed out twice and quotas hold, on every backend.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { ADMIN, startServer, type TestServer } from '../helpers/server.js';

for (const backend of BACKENDS) {
  describe(`concurrency on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(backend, { quotas: { quota_port: '-1', quota_network: '-1' } });
    });
    after(async () => {
      await s?.stop();
    });

    it('200 concurrent port creates on a subnet with 100 free addresses: 100 ports, distinct IPs and MACs, 100 clean 409s', async () => {
      const net = (await s.req('POST', '/v2.0/networks', { network: { name: 'crowd' } }, ADMIN)).body.network;
      const sub = await s.req(
        'POST',
        '/v2.0/subnets',
        { subnet: { network_id: net.id, ip_version: 4, cidr: '10.20.0.0/24', allocation_pools: [{ start: '10.20.0.10', end: '10.20.0.109' }] } },
        ADMIN,
      );
      assert.equal(sub.status, 201, JSON.stringify(sub.body));
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) => s.req('POST', '/v2.0/ports', { port: { network_id: net.id, name: `p${i}` } }, ADMIN)),
      );
      const ok = results.filter((r) => r.status === 201);
      const conflicts = results.filter((r) => r.status === 409);
      assert.equal(ok.length, 100, `statuses: ${JSON.stringify(results.map((r) => r.status).filter((x) => x !== 201 && x !== 409))}`);
      assert.equal(conflicts.length, 100);
      for (const c of conflicts) assert.equal(c.body.NeutronError.type, 'IpAddressGenerationFailure');
      const ips = new Set(ok.map((r) => r.body.port.fixed_ips[0].ip_address));
      const macs = new Set(ok.map((r) => r.body.port.mac_address));
      assert.equal(ips.size, 100);
      assert.equal(macs.size, 100);
      const listed = await s.req('GET', `/v2.0/ports?network_id=${net.id}`, undefined, ADMIN);
      assert.equal(listed.body.ports.length, 100);
    });

    it('4×N concurrent creates never exceed a quota of N', async () => {
      const project = 'project-quota-race';
      const caller = { project, roles: 'member', user: 'racer' };
      const N = 10;
      assert.equal((await s.req('PUT', `/v2.0/quotas/${project}`, { quota: { port: N, network: N } }, ADMIN)).status, 200);
      const nets = await Promise.all(Array.from({ length: 4 * N }, () => s.req('POST', '/v2.0/networks', { network: {} }, caller)));
      assert.equal(nets.filter((r) => r.status === 201).length, N);
      for (const r of nets.filter((x) => x.status !== 201)) assert.equal(r.body.NeutronError.type, 'OverQuota');
      const netId = nets.find((r) => r.status === 201)!.body.network.id;
      const ports = await Promise.all(Array.from({ length: 4 * N }, () => s.req('POST', '/v2.0/ports', { port: { network_id: netId } }, caller)));
      assert.equal(ports.filter((r) => r.status === 201).length, N);
      for (const r of ports.filter((x) => x.status !== 201)) assert.equal(r.body.NeutronError.type, 'OverQuota');
      const details = await s.req('GET', `/v2.0/quotas/${project}/details`, undefined, ADMIN);
      assert.equal(details.body.quota.port.used, N);
      assert.equal(details.body.quota.network.used, N);
    });

    it('concurrent project networks get distinct VNIs', async () => {
      const results = await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          s.req('POST', '/v2.0/networks', { network: { name: `v${i}` } }, { project: `vni-project-${i % 6}`, roles: 'member' }),
        ),
      );
      for (const r of results) assert.equal(r.status, 201, JSON.stringify(r.body));
      const ids = results.map((r) => r.body.network.id as string);
      const vnis = await Promise.all(
        ids.map(async (id) => (await s.req('GET', `/v2.0/networks/${id}`, undefined, ADMIN)).body.network['provider:segmentation_id']),
      );
      assert.equal(new Set(vnis).size, 60);
      for (const v of vnis) assert.ok(v >= 100 && v <= 1099, `VNI ${v} outside the configured range`);
    });

    it('concurrent explicit requests for one IP and one VLAN: exactly one wins', async () => {
      const net = (await s.req('POST', '/v2.0/networks', { network: { name: 'one-ip' } }, ADMIN)).body.network;
      await s.req('POST', '/v2.0/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '10.30.0.0/24' } }, ADMIN);
      const ports = await Promise.all(
        Array.from({ length: 20 }, () =>
          s.req('POST', '/v2.0/ports', { port: { network_id: net.id, fixed_ips: [{ ip_address: '10.30.0.77' }] } }, ADMIN),
        ),
      );
      assert.equal(ports.filter((r) => r.status === 201).length, 1);
      for (const r of ports.filter((x) => x.status !== 201)) assert.equal(r.body.NeutronError.type, 'IpAddressAlreadyAllocated');
      const vlans = await Promise.all(
        Array.from({ length: 20 }, () =>
          s.req(
            'POST',
            '/v2.0/networks',
            { network: { 'provider:network_type': 'vlan', 'provider:physical_network': 'physnet1', 'provider:segmentation_id': 123 } },
            ADMIN,
          ),
        ),
      );
      assert.equal(vlans.filter((r) => r.status === 201).length, 1);
      for (const r of vlans.filter((x) => x.status !== 201)) assert.equal(r.body.NeutronError.type, 'VlanIdInUse');
    });
  });
}

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

    // Port creates share the network's lock: what keeps them apart is the database's unique keys.
    it('concurrent creates asking for one MAC: exactly one wins, the others MacAddressInUse', async () => {
      const net = (await s.req('POST', '/v2.0/networks', { network: { name: 'one-mac' } }, ADMIN)).body.network;
      const ports = await Promise.all(
        Array.from({ length: 20 }, () => s.req('POST', '/v2.0/ports', { port: { network_id: net.id, mac_address: 'fa:16:3e:00:00:42' } }, ADMIN)),
      );
      assert.equal(ports.filter((r) => r.status === 201).length, 1, JSON.stringify(ports.map((r) => r.status)));
      for (const r of ports.filter((x) => x.status !== 201)) assert.equal(r.body.NeutronError.type, 'MacAddressInUse');
    });

    it('concurrent bulk creates on a nearly full subnet: each request all or nothing, no address twice', async () => {
      const net = (await s.req('POST', '/v2.0/networks', { network: { name: 'bulk-crowd' } }, ADMIN)).body.network;
      const sub = await s.req(
        'POST',
        '/v2.0/subnets',
        { subnet: { network_id: net.id, ip_version: 4, cidr: '10.21.0.0/24', allocation_pools: [{ start: '10.21.0.10', end: '10.21.0.69' }] } },
        ADMIN,
      );
      assert.equal(sub.status, 201, JSON.stringify(sub.body));
      // 8 requests of 10 on 60 addresses: at most 6 can be served whole.
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, b) =>
          s.req('POST', '/v2.0/ports', { ports: Array.from({ length: 10 }, (_, i) => ({ network_id: net.id, name: `b${b}-${i}` })) }, ADMIN),
        ),
      );
      const ok = results.filter((r) => r.status === 201);
      for (const r of results.filter((x) => x.status !== 201)) {
        assert.equal(r.status, 409, JSON.stringify(r.body));
        assert.equal(r.body.NeutronError.type, 'IpAddressGenerationFailure');
      }
      assert.equal(ok.length, 6);
      const ips = ok.flatMap((r) => r.body.ports.map((p: { fixed_ips: Array<{ ip_address: string }> }) => p.fixed_ips[0]!.ip_address));
      assert.equal(new Set(ips).size, 60);
      const listed = await s.req('GET', `/v2.0/ports?network_id=${net.id}`, undefined, ADMIN);
      assert.equal(listed.body.ports.length, 60);
    });

    it('port creates racing a delete of their subnet: the delete is refused once a port has an address there, else no port keeps one', async () => {
      for (let round = 0; round < 3; round++) {
        const net = (await s.req('POST', '/v2.0/networks', { network: { name: `subnet-race-${round}` } }, ADMIN)).body.network;
        const sub = (await s.req('POST', '/v2.0/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: `10.22.${round}.0/24` } }, ADMIN)).body
          .subnet;
        const creates = Array.from({ length: 20 }, () => s.req('POST', '/v2.0/ports', { port: { network_id: net.id } }, ADMIN));
        // The delete sent with the first creates, then in the middle, then after most.
        await new Promise((r) => setTimeout(r, round * 15));
        const del = await s.req('DELETE', `/v2.0/subnets/${sub.id}`, undefined, ADMIN);
        const ports = await Promise.all(creates);
        for (const r of ports) assert.equal(r.status, 201, JSON.stringify(r.body));
        const listed = (await s.req('GET', `/v2.0/ports?network_id=${net.id}`, undefined, ADMIN)).body.ports as Array<{
          fixed_ips: Array<{ subnet_id: string }>;
        }>;
        assert.equal(listed.length, 20);
        const onSubnet = listed.filter((p) => p.fixed_ips.some((f) => f.subnet_id === sub.id)).length;
        if (del.status === 204) {
          assert.equal(onSubnet, 0);
        } else {
          assert.equal(del.status, 409, JSON.stringify(del.body));
          assert.equal(del.body.NeutronError.type, 'SubnetInUse');
          assert.ok(onSubnet > 0);
        }
      }
    });

    it('port creates racing a delete of their network: each create is 201 or NetworkNotFound, and a deleted network leaves no port', async () => {
      for (let round = 0; round < 3; round++) {
        const net = (await s.req('POST', '/v2.0/networks', { network: { name: `net-race-${round}` } }, ADMIN)).body.network;
        await s.req('POST', '/v2.0/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: `10.23.${round}.0/24` } }, ADMIN);
        // DHCP-owned ports go with their network; the others keep it (NetworkInUse).
        const owner = round === 1 ? '' : 'network:dhcp';
        const creates = Array.from({ length: 20 }, () => s.req('POST', '/v2.0/ports', { port: { network_id: net.id, device_owner: owner } }, ADMIN));
        await new Promise((r) => setTimeout(r, round * 10));
        const del = await s.req('DELETE', `/v2.0/networks/${net.id}`, undefined, ADMIN);
        const ports = await Promise.all(creates);
        for (const r of ports) {
          if (r.status !== 201) {
            assert.equal(r.status, 404, JSON.stringify(r.body));
            assert.equal(r.body.NeutronError.type, 'NetworkNotFound');
          }
        }
        const left = (await s.req('GET', `/v2.0/ports?network_id=${net.id}`, undefined, ADMIN)).body.ports as unknown[];
        if (del.status === 204) {
          assert.equal(left.length, 0);
        } else {
          assert.equal(del.status, 409, JSON.stringify(del.body));
          assert.equal(del.body.NeutronError.type, 'NetworkInUse');
          assert.equal(left.length, ports.filter((r) => r.status === 201).length);
        }
      }
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

// Routed networks on every backend (ip_allocation, l2_adjacency): a network whose subnets belong
// to segments gives a port without a host no address (deferred) and, once the port is bound, an
// address from the subnet of the segment its host reaches; hosts reaching none or several
// segments, fixed IPs on several segments and a move to a host that cannot use the port's
// addresses are refused as Neutron refuses them; ports bound all at once get distinct addresses.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { ADMIN, startServer, type TestServer, okCalls } from '../helpers/server.js';
import { createOrUpdateAgent } from '../../src/plugins/agents/report-state.js';
import { AGENT_TYPE_LINUXBRIDGE } from '../../src/core/wire.js';
import { assertError } from '../helpers/assert-error.js';
import { withPeerRoutes } from '../../src/plugins/segments/peer-routes.js';

describe('peer subnet host routes (pure)', () => {
  const a = { id: 'a', ip_version: 4, cidr: '10.0.1.0/24', segment_id: 's1', gateway_ip: '10.0.1.1' };
  const b = { id: 'b', ip_version: 4, cidr: '10.0.2.0/24', segment_id: 's2', gateway_ip: '10.0.2.1' };
  const c = { id: 'c', ip_version: 4, cidr: '10.0.3.0/24', segment_id: 's1', gateway_ip: '10.0.3.1' };
  const v6 = { id: 'd', ip_version: 6, cidr: 'fd00::/64', segment_id: 's2', gateway_ip: 'fd00::1' };
  it("routes to the other segments' subnets of the same version through the gateway", () => {
    assert.deepEqual(withPeerRoutes(a, [], [a, b, c, v6]), [{ destination: '10.0.2.0/24', nexthop: '10.0.1.1' }]);
    assert.deepEqual(withPeerRoutes(b, [], [a, b, c, v6]), [
      { destination: '10.0.1.0/24', nexthop: '10.0.2.1' },
      { destination: '10.0.3.0/24', nexthop: '10.0.2.1' },
    ]);
  });
  it('keeps a covering route, drops a deleted subnet and moves routes off an old gateway; no gateway, no routes', () => {
    const summary = [{ destination: '10.0.0.0/16', nexthop: '10.0.2.254' }];
    assert.deepEqual(withPeerRoutes(b, summary, [a, b, c]), summary);
    const stale = [{ destination: '10.0.9.0/24', nexthop: '10.0.1.1' }];
    assert.deepEqual(withPeerRoutes(a, stale, [a, b], { deletedCidr: '10.0.9.0/24' }), [{ destination: '10.0.2.0/24', nexthop: '10.0.1.1' }]);
    const moved = { ...a, gateway_ip: '10.0.1.254' };
    assert.deepEqual(withPeerRoutes(moved, [{ destination: '10.0.2.0/24', nexthop: '10.0.1.1' }], [moved, b], { oldGateway: '10.0.1.1' }), [
      { destination: '10.0.2.0/24', nexthop: '10.0.1.254' },
    ]);
    assert.deepEqual(withPeerRoutes({ ...a, gateway_ip: null }, [], [a, b]), []);
  });
});

for (const backend of BACKENDS) {
  describe(`routed networks on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let s: TestServer;
    let net: string;
    let subnetA: string;
    let subnetB: string;
    before(async () => {
      s = await startServer(backend, { quotas: { quota_port: '-1' } });
      const agent = (host: string, mappings: Record<string, string>) =>
        createOrUpdateAgent(
          s.server.db,
          {
            agent_type: AGENT_TYPE_LINUXBRIDGE,
            binary: 'neutron-linuxbridge-agent',
            host,
            topic: 'N/A',
            configurations: { tunnel_types: ['vxlan'], tunneling_ip: '192.0.2.9', interface_mappings: mappings },
          },
          { agentDownTime: 75 },
        );
      await agent('rn-host-a', { physnet1: 'eth1' });
      await agent('rn-host-b', { physnet2: 'eth2' });
      await agent('rn-host-ab', { physnet1: 'eth1', physnet2: 'eth2' });
      await agent('rn-host-none', { physnet3: 'eth3' });
      const n = await ok('POST', '/v2.0/networks', {
        network: { name: 'routed', 'provider:network_type': 'vlan', 'provider:physical_network': 'physnet1', 'provider:segmentation_id': 151 },
      });
      net = n.network.id;
      const segA = (await ok('GET', `/v2.0/segments?network_id=${net}`)).segments[0].id;
      const segB = (
        await ok('POST', '/v2.0/segments', { segment: { network_id: net, network_type: 'vlan', physical_network: 'physnet2', segmentation_id: 52 } })
      ).segment.id;
      subnetA = (await ok('POST', '/v2.0/subnets', { subnet: { network_id: net, ip_version: 4, cidr: '10.71.1.0/24', segment_id: segA } })).subnet.id;
      // Small, so that the concurrent binds below fill most of it.
      subnetB = (await ok('POST', '/v2.0/subnets', { subnet: { network_id: net, ip_version: 4, cidr: '10.71.2.0/28', segment_id: segB } })).subnet.id;
    });
    after(async () => {
      await s?.stop();
    });

    const ok = okCalls(() => s, ADMIN);
    const port = async (attrs: Record<string, unknown> = {}) => (await ok('POST', '/v2.0/ports', { port: { network_id: net, ...attrs } })).port;
    const subnetsOf = (p: any) => p.fixed_ips.map((f: any) => f.subnet_id);

    it('lists ip_allocation and l2_adjacency; a routed network is not L2-adjacent, a plain one is', async () => {
      const aliases = (await ok('GET', '/v2.0/extensions')).extensions.map((e: any) => e.alias);
      assert.ok(aliases.includes('ip_allocation') && aliases.includes('l2_adjacency'));
      assert.equal((await ok('GET', `/v2.0/networks/${net}`)).network.l2_adjacency, false);
      const plain = (await ok('POST', '/v2.0/networks', { network: { name: 'plain' } })).network;
      assert.equal(plain.l2_adjacency, true);
      await ok('POST', '/v2.0/subnets', { subnet: { network_id: plain.id, ip_version: 4, cidr: '10.72.0.0/24' } });
      assert.equal((await ok('GET', `/v2.0/networks/${plain.id}`)).network.l2_adjacency, true);
      const p = (await ok('POST', '/v2.0/ports', { port: { network_id: plain.id } })).port;
      assert.equal(p.ip_allocation, 'immediate');
      assert.equal(p.fixed_ips.length, 1);
    });

    it('defers a port without a host, then allocates from its host segment on binding', async () => {
      const p = await port();
      assert.equal(p.ip_allocation, 'deferred');
      assert.deepEqual(p.fixed_ips, []);
      assert.equal((await ok('GET', `/v2.0/ports/${p.id}`)).port.ip_allocation, 'deferred');
      const bound = (await ok('PUT', `/v2.0/ports/${p.id}`, { port: { 'binding:host_id': 'rn-host-a' } })).port;
      assert.equal(bound.ip_allocation, 'immediate');
      assert.deepEqual(subnetsOf(bound), [subnetA]);
      assert.equal(bound['binding:vif_type'], 'bridge');
      assert.deepEqual((await ok('GET', `/v2.0/ports/${p.id}`)).port.fixed_ips, bound.fixed_ips);
      // Its address does not work on the other segment's host.
      assertError(
        await s.req('PUT', `/v2.0/ports/${p.id}`, { port: { 'binding:host_id': 'rn-host-b' } }, ADMIN),
        409,
        'HostNotCompatibleWithFixedIps',
      );
    });

    it("adds host routes to the other segments' subnets, and takes them away with a subnet (segments-peer-subnet-host-routes)", async () => {
      const aliases = (await ok('GET', '/v2.0/extensions')).extensions.map((e: any) => e.alias);
      assert.ok(aliases.includes('segments-peer-subnet-host-routes'));
      const routes = async (id: string) => (await ok('GET', `/v2.0/subnets/${id}`)).subnet.host_routes;
      assert.deepEqual(await routes(subnetA), [{ destination: '10.71.2.0/28', nexthop: '10.71.1.1' }]);
      assert.deepEqual(await routes(subnetB), [{ destination: '10.71.1.0/24', nexthop: '10.71.2.1' }]);
      const segA = (await ok('GET', `/v2.0/subnets/${subnetA}`)).subnet.segment_id;
      const c = (await ok('POST', '/v2.0/subnets', { subnet: { network_id: net, ip_version: 4, cidr: '10.71.3.0/24', segment_id: segA } })).subnet;
      assert.deepEqual(c.host_routes, [{ destination: '10.71.2.0/28', nexthop: '10.71.3.1' }]);
      const withC = await routes(subnetB);
      assert.equal(withC.length, 2);
      assert.ok(withC.some((r: any) => r.destination === '10.71.3.0/24' && r.nexthop === '10.71.2.1'));
      assert.deepEqual(await routes(subnetA), [{ destination: '10.71.2.0/28', nexthop: '10.71.1.1' }]);
      await ok('DELETE', `/v2.0/subnets/${c.id}`);
      assert.deepEqual(await routes(subnetB), [{ destination: '10.71.1.0/24', nexthop: '10.71.2.1' }]);
      // A gateway taken away takes its routes along; given back, they return.
      const noGateway = (await ok('PUT', `/v2.0/subnets/${subnetA}`, { subnet: { gateway_ip: null } })).subnet;
      assert.deepEqual(noGateway.host_routes, []);
      await ok('PUT', `/v2.0/subnets/${subnetA}`, { subnet: { gateway_ip: '10.71.1.1' } });
      assert.deepEqual(await routes(subnetA), [{ destination: '10.71.2.0/28', nexthop: '10.71.1.1' }]);
    });

    it("gives a port created with a host an address from that host's segment", async () => {
      const p = await port({ 'binding:host_id': 'rn-host-b' });
      assert.equal(p.ip_allocation, 'immediate');
      assert.deepEqual(subnetsOf(p), [subnetB]);
    });

    it('takes fixed IPs on one segment without a host; none when asked for none', async () => {
      const p = await port({ fixed_ips: [{ subnet_id: subnetB }] });
      assert.deepEqual(subnetsOf(p), [subnetB]);
      assert.equal(p.ip_allocation, 'immediate');
      const byAddress = await port({ fixed_ips: [{ ip_address: '10.71.1.77' }] });
      assert.deepEqual(byAddress.fixed_ips, [{ subnet_id: subnetA, ip_address: '10.71.1.77' }]);
      assertError(
        await s.req('POST', '/v2.0/ports', { port: { network_id: net, fixed_ips: [{ subnet_id: subnetA }, { subnet_id: subnetB }] } }, ADMIN),
        400,
        'FixedIpsSubnetsNotOnSameSegment',
      );
      const none = await port({ fixed_ips: [] });
      assert.equal(none.ip_allocation, 'none');
      assert.deepEqual(none.fixed_ips, []);
    });

    it('refuses hosts that reach several segments or none', async () => {
      assertError(
        await s.req('POST', '/v2.0/ports', { port: { network_id: net, 'binding:host_id': 'rn-host-ab' } }, ADMIN),
        409,
        'HostConnectedToMultipleSegments',
      );
      const before = (await ok('GET', `/v2.0/ports?network_id=${net}`)).ports.length;
      assertError(
        await s.req('POST', '/v2.0/ports', { port: { network_id: net, 'binding:host_id': 'rn-host-none' } }, ADMIN),
        409,
        'HostNotConnectedToAnySegment',
      );
      const p = await port();
      assertError(
        await s.req('PUT', `/v2.0/ports/${p.id}`, { port: { 'binding:host_id': 'rn-host-none' } }, ADMIN),
        409,
        'HostNotConnectedToAnySegment',
      );
      const after = await ok('GET', `/v2.0/ports/${p.id}`);
      assert.deepEqual([after.port.ip_allocation, after.port['binding:host_id']], ['deferred', '']);
      assert.equal((await ok('GET', `/v2.0/ports?network_id=${net}`)).ports.length, before + 1);
    });

    it('binds many deferred ports on one segment at once without duplicate addresses', async () => {
      const used = (await ok('GET', `/v2.0/ports?network_id=${net}&fixed_ips=subnet_id%3D${subnetB}`)).ports.length;
      const free = 13 - used; // 10.71.2.2-14
      const ports = await Promise.all(Array.from({ length: free + 2 }, () => port()));
      const rs = await Promise.all(ports.map((p) => s.req('PUT', `/v2.0/ports/${p.id}`, { port: { 'binding:host_id': 'rn-host-b' } }, ADMIN)));
      const okd = rs.filter((r) => r.status === 200);
      assert.equal(okd.length, free, JSON.stringify(rs.map((r) => r.status)));
      // The pool ran out for the rest: Neutron's IpAddressGenerationFailure, nothing half-written.
      for (const r of rs.filter((x) => x.status !== 200)) assertError(r, 409, 'IpAddressGenerationFailure');
      const addresses = okd.map((r) => r.body.port.fixed_ips[0].ip_address);
      assert.equal(new Set(addresses).size, addresses.length, JSON.stringify(addresses));
      for (const r of okd) assert.deepEqual(subnetsOf(r.body.port), [subnetB]);
      const failedIds = ports.filter((_, i) => rs[i]!.status !== 200).map((p) => p.id);
      for (const id of failedIds) {
        const p = (await ok('GET', `/v2.0/ports/${id}`)).port;
        assert.deepEqual([p.ip_allocation, p['binding:host_id'], p.fixed_ips], ['deferred', '', []]);
      }
    });

    it('filters and sorts ports by ip_allocation, with pagination', async () => {
      const d = await port();
      const n = await port({ fixed_ips: [] });
      const i = await port({ fixed_ips: [{ subnet_id: subnetA }] });
      assert.deepEqual([d.ip_allocation, n.ip_allocation, i.ip_allocation], ['deferred', 'none', 'immediate']);
      const ours = `network_id=${net}&id=${d.id}&id=${n.id}&id=${i.id}`;
      const ids = async (q: string) => (await ok('GET', `/v2.0/ports?${ours}&${q}`)).ports.map((p: any) => p.id);
      assert.deepEqual(await ids('ip_allocation=deferred'), [d.id]);
      assert.deepEqual(await ids('ip_allocation=none'), [n.id]);
      // Immediate: also the ports with nothing stored.
      assert.deepEqual((await ids('ip_allocation=immediate&ip_allocation=none')).sort(), [n.id, i.id].sort());
      assert.deepEqual(await ids('ip_allocation=bogus'), []);
      // Every port listed by the filter has that value (the whole network's ports).
      const deferred = (await ok('GET', `/v2.0/ports?network_id=${net}&ip_allocation=deferred`)).ports;
      assert.ok(deferred.length >= 1 && deferred.every((p: any) => p.ip_allocation === 'deferred'));
      assert.deepEqual(await ids('sort_key=ip_allocation&sort_dir=asc'), [d.id, i.id, n.id]);
      assert.deepEqual(await ids('sort_key=ip_allocation&sort_dir=desc'), [n.id, i.id, d.id]);
      // Keyset pagination on it: one port a page, each page after the marker.
      const pages: string[] = [];
      let marker = '';
      for (let k = 0; k < 4; k++) {
        const page = await ids(`sort_key=ip_allocation&sort_dir=asc&limit=1${marker ? `&marker=${marker}` : ''}`);
        if (!page.length) break;
        pages.push(...page);
        marker = page[0];
      }
      assert.deepEqual(pages, [d.id, i.id, n.id]);
      const bound = (await ok('PUT', `/v2.0/ports/${d.id}`, { port: { 'binding:host_id': 'rn-host-a' } })).port;
      assert.equal(bound.ip_allocation, 'immediate');
      assert.deepEqual(await ids('ip_allocation=deferred'), []);
    });
  });
}

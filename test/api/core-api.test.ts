// API behaviour of networks, subnets and ports on every backend, through the real HTTP server.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { ADMIN, ALICE, BOB, startServer, type TestServer } from '../helpers/server.js';
import { assertError } from '../helpers/assert-error.js';
import { eui64Address } from '../../src/ipam/index.js';

for (const backend of BACKENDS) {
  describe(`core API on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(backend);
    });
    after(async () => {
      await s?.stop();
    });

    const createNet = async (body: object = {}, as = ALICE) => {
      const r = await s.req('POST', '/v2.0/networks', { network: { name: 'n', ...body } }, as);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body.network;
    };
    const createSubnet = async (networkId: string, body: object = {}, as = ALICE) => {
      const r = await s.req('POST', '/v2.0/subnets', { subnet: { network_id: networkId, ip_version: 4, cidr: '10.0.0.0/24', ...body } }, as);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body.subnet;
    };

    it('serves versions, the v2.0 resources and extensions, with a request id on every answer', async () => {
      const v = await s.req('GET', '/');
      assert.equal(v.status, 200);
      assert.equal(v.body.versions[0].id, 'v2.0');
      assert.match(v.headers.get('x-openstack-request-id') ?? '', /^req-[0-9a-f-]{36}$/);
      const r = await s.req('GET', '/v2.0');
      assert.deepEqual(r.body.resources.map((x: any) => x.name).sort(), ['network', 'port', 'subnet', 'subnetpool']);
      const e = await s.req('GET', '/v2.0/extensions');
      const aliases = e.body.extensions.map((x: any) => x.alias);
      for (const a of ['provider', 'external-net', 'binding', 'quotas', 'standard-attr-tag', 'port-security']) assert.ok(aliases.includes(a), a);
      const one = await s.req('GET', '/v2.0/extensions/provider');
      assert.equal(one.body.extension.alias, 'provider');
      assertError(await s.req('GET', '/v2.0/extensions/nope'), 404);
    });

    it('creates, shows, updates and deletes a network with Neutron attributes', async () => {
      const n = await createNet({ description: 'd1' });
      assert.equal(n.tenant_id, ALICE.project);
      assert.equal(n.project_id, ALICE.project);
      assert.equal(n.status, 'ACTIVE');
      assert.equal(n.shared, false);
      assert.equal(n.mtu, 1450, 'vxlan project networks lose 50 bytes');
      assert.equal(n.revision_number, 0);
      assert.match(n.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.ok(!('provider:network_type' in n), 'provider attributes are admin-only');
      const asAdmin = await s.req('GET', `/v2.0/networks/${n.id}`, undefined, ADMIN);
      assert.equal(asAdmin.body.network['provider:network_type'], 'vxlan');
      assert.ok(asAdmin.body.network['provider:segmentation_id'] >= 100);
      const u = await s.req('PUT', `/v2.0/networks/${n.id}`, { network: { name: 'renamed' } });
      assert.equal(u.status, 200);
      assert.equal(u.body.network.name, 'renamed');
      assert.equal(u.body.network.revision_number, 1);
      assert.equal((await s.req('DELETE', `/v2.0/networks/${n.id}`)).status, 204);
      assertError(await s.req('GET', `/v2.0/networks/${n.id}`), 404, 'NetworkNotFound');
    });

    it('rejects bad input with 400 NeutronError and writes nothing', async () => {
      const before = (await s.req('GET', '/v2.0/networks', undefined, ALICE)).body.networks.length;
      assertError(await s.req('POST', '/v2.0/networks', '{"network": {', ALICE), 400, 'HTTPBadRequest', 'Malformed');
      assertError(await s.req('POST', '/v2.0/networks', { network: { foo: 1 } }), 400, 'HTTPBadRequest', "'foo'");
      assertError(await s.req('POST', '/v2.0/networks', { network: { admin_state_up: 'maybe' } }), 400, undefined, 'maybe');
      assertError(await s.req('POST', '/v2.0/networks', { network: { name: 5 } }), 400, 'HTTPBadRequest', 'name');
      assertError(await s.req('POST', '/v2.0/networks', { network: { status: 'DOWN' } }), 400, 'HTTPBadRequest', 'status');
      assertError(await s.req('POST', '/v2.0/networks', { nothing: {} }), 400);
      // bulk: one bad item fails the whole request
      assertError(await s.req('POST', '/v2.0/networks', { networks: [{ name: 'ok' }, { name: 'bad', mtu: 'x' }] }), 400);
      const after = (await s.req('GET', '/v2.0/networks', undefined, ALICE)).body.networks.length;
      assert.equal(after, before);
      assertError(await s.req('GET', '/v2.0/networks?bogus=1'), 400, 'HTTPBadRequest', 'bogus');
      assertError(await s.req('GET', '/v2.0/networks?limit=-1'), 400);
      assertError(await s.req('GET', '/v2.0/networks?sort_key=name'), 400);
      const n = await createNet();
      assertError(await s.req('POST', '/v2.0/subnets', { subnet: { network_id: n.id, ip_version: 4, cidr: '10.0.0.0/33' } }), 400);
      assertError(
        await s.req('POST', '/v2.0/subnets', { subnet: { network_id: 'not-a-uuid', ip_version: 4, cidr: '10.0.0.0/24' } }),
        400,
        undefined,
        'not-a-uuid',
      );
      assertError(await s.req('POST', '/v2.0/subnets', { subnet: { network_id: n.id, ip_version: 6, cidr: '10.0.0.0/24' } }), 400);
      assert.equal((await s.req('GET', `/v2.0/subnets?network_id=${n.id}`)).body.subnets.length, 0);
    });

    it('lets only an admin name another project on create (neutron-lib _validate_privileges)', async () => {
      const n = await createNet();
      const other = await s.req('POST', '/v2.0/ports', { port: { network_id: n.id, project_id: 'some-other-project' } }, ALICE);
      assertError(other, 400, 'HTTPBadRequest', 'requires admin or advsvc privileges');
      assertError(await s.req('POST', '/v2.0/networks', { network: { tenant_id: 'some-other-project' } }, ALICE), 400);
      const own = await s.req('POST', '/v2.0/ports', { port: { network_id: n.id, project_id: ALICE.project } }, ALICE);
      assert.equal(own.status, 201, JSON.stringify(own.body));
      const byAdmin = await s.req('POST', '/v2.0/networks', { network: { tenant_id: 'some-other-project' } }, ADMIN);
      assert.equal(byAdmin.status, 201, JSON.stringify(byAdmin.body));
      assert.equal(byAdmin.body.network.project_id, 'some-other-project');
    });

    it('tags ports on create, in bulk too (tag-ports-during-bulk-creation)', async () => {
      const n = await createNet();
      const r = await s.req('POST', '/v2.0/ports', {
        ports: [{ port: { network_id: n.id, name: 'a', tags: ['tag-1', 'tag-2'] } }, { port: { network_id: n.id, name: 'b' } }],
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.deepEqual(
        r.body.ports.map((p: any) => p.tags),
        [['tag-1', 'tag-2'], []],
      );
      const shown = await s.req('GET', `/v2.0/ports?tags=tag-2&network_id=${n.id}`);
      assert.deepEqual(
        shown.body.ports.map((p: any) => p.name),
        ['a'],
      );
      assertError(await s.req('POST', '/v2.0/ports', { port: { network_id: n.id, tags: ['x', 'x'] } }), 400);
      assertError(await s.req('POST', '/v2.0/ports', { port: { network_id: n.id, tags: 'x' } }), 400);
      assertError(await s.req('PUT', `/v2.0/ports/${r.body.ports[0].id}`, { port: { tags: ['y'] } }), 400);
    });

    it('allocates from the subnets serving the port device owner (subnet-service-types)', async () => {
      const n = await createNet();
      const sub = async (cidr: string, service_types?: string[]) => {
        // The network's owner sets them: neutron-lib gives service_types no enforce_policy.
        const r = await s.req(
          'POST',
          '/v2.0/subnets',
          { subnet: { network_id: n.id, ip_version: 4, cidr, ...(service_types ? { service_types } : {}) } },
          ALICE,
        );
        assert.equal(r.status, 201, JSON.stringify(r.body));
        return r.body.subnet;
      };
      const a = await sub('10.61.1.0/24', ['test:type_1', 'network:distributed']);
      const b = await sub('10.61.2.0/24', ['compute:nova']);
      assert.deepEqual(a.service_types, ['network:distributed', 'test:type_1']);
      const port = async (device_owner: string) => {
        const r = await s.req('POST', '/v2.0/ports', { port: { network_id: n.id, device_owner } });
        return r;
      };
      const p1 = await port('test:type_1');
      assert.equal(p1.status, 201, JSON.stringify(p1.body));
      assert.deepEqual(
        p1.body.port.fixed_ips.map((f: any) => f.subnet_id),
        [a.id],
      );
      assert.equal((await port('compute:nova')).body.port.fixed_ips[0].subnet_id, b.id);
      // No subnet serves this owner and none is open to all.
      assertError(await port('network:router_interface_x'), 409, 'IpAddressGenerationFailureNoMatchingSubnet');
      const open = await sub('10.61.3.0/24');
      assert.equal((await port('network:other')).body.port.fixed_ips[0].subnet_id, open.id);
      // A typed subnet comes first for its owner even with an untyped one there.
      assert.equal((await port('compute:nova')).body.port.fixed_ips[0].subnet_id, b.id);
      assertError(
        await s.req('POST', '/v2.0/subnets', { subnet: { network_id: n.id, ip_version: 4, cidr: '10.61.4.0/24', service_types: ['bogus'] } }),
        400,
        'InvalidSubnetServiceType',
      );
      const upd = await s.req('PUT', `/v2.0/subnets/${b.id}`, { subnet: { service_types: [] } });
      assert.deepEqual(upd.body.subnet.service_types, []);
      assert.equal(upd.body.subnet.revision_number, b.revision_number + 1);
    });

    it('creates networks in bulk, all or nothing', async () => {
      const r = await s.req('POST', '/v2.0/networks', { networks: [{ name: 'b1' }, { name: 'b2' }] });
      assert.equal(r.status, 201);
      assert.equal(r.body.networks.length, 2);
      assert.notEqual(r.body.networks[0].id, r.body.networks[1].id);
    });

    it('applies policy: attribute rules, owner visibility and 404 for the invisible', async () => {
      const denied = await s.req('POST', '/v2.0/networks', { network: { name: 'x', shared: true } }, ALICE);
      assertError(denied, 403, 'PolicyNotAuthorized', 'create_network:shared');
      const provider = await s.req(
        'POST',
        '/v2.0/networks',
        { network: { 'provider:network_type': 'vlan', 'provider:physical_network': 'physnet1' } },
        ALICE,
      );
      assertError(provider, 403);
      const mine = await createNet({}, ALICE);
      assertError(await s.req('GET', `/v2.0/networks/${mine.id}`, undefined, BOB), 404, 'NetworkNotFound');
      assertError(await s.req('PUT', `/v2.0/networks/${mine.id}`, { network: { name: 'hijack' } }, BOB), 404);
      assertError(await s.req('DELETE', `/v2.0/networks/${mine.id}`, undefined, BOB), 404);
      assertError(await s.req('POST', '/v2.0/ports', { port: { network_id: mine.id } }, BOB), 404, 'NetworkNotFound');
      const shared = await createNet({ shared: true }, ADMIN);
      const seen = await s.req('GET', `/v2.0/networks/${shared.id}`, undefined, BOB);
      assert.equal(seen.status, 200);
      assert.equal(seen.body.network.shared, true);
      const ids = (await s.req('GET', '/v2.0/networks', undefined, BOB)).body.networks.map((x: any) => x.id);
      assert.ok(ids.includes(shared.id));
      assert.ok(!ids.includes(mine.id));
      // a member may not choose a MAC on someone else's shared network, but may create a port
      await createSubnet(shared.id, { cidr: '10.9.0.0/24' }, ADMIN);
      assertError(await s.req('POST', '/v2.0/ports', { port: { network_id: shared.id, mac_address: 'fa:16:3e:00:00:01' } }, BOB), 403);
      const p = await s.req('POST', '/v2.0/ports', { port: { network_id: shared.id } }, BOB);
      assert.equal(p.status, 201);
      assert.ok(!('binding:vif_type' in p.body.port), 'binding:vif_type is admin-only');
    });

    it('provider networks: flat, vlan with and without an id, duplicates refused', async () => {
      const flat = await createNet({ 'provider:network_type': 'flat', 'provider:physical_network': 'flat1' }, ADMIN);
      assert.equal(flat['provider:physical_network'], 'flat1');
      assert.equal(flat.mtu, 1500);
      assertError(
        await s.req('POST', '/v2.0/networks', { network: { 'provider:network_type': 'flat', 'provider:physical_network': 'flat1' } }, ADMIN),
        409,
        'FlatNetworkInUse',
      );
      const vlan = await createNet(
        { 'provider:network_type': 'vlan', 'provider:physical_network': 'physnet1', 'provider:segmentation_id': 150 },
        ADMIN,
      );
      assert.equal(vlan['provider:segmentation_id'], 150);
      assertError(
        await s.req(
          'POST',
          '/v2.0/networks',
          { network: { 'provider:network_type': 'vlan', 'provider:physical_network': 'physnet1', 'provider:segmentation_id': 150 } },
          ADMIN,
        ),
        409,
        'VlanIdInUse',
      );
      const auto = await createNet({ 'provider:network_type': 'vlan', 'provider:physical_network': 'physnet1' }, ADMIN);
      assert.ok(auto['provider:segmentation_id'] >= 100 && auto['provider:segmentation_id'] <= 199);
      const unknownPhysnet = await s.req(
        'POST',
        '/v2.0/networks',
        { network: { 'provider:network_type': 'vlan', 'provider:physical_network': 'nowhere' } },
        ADMIN,
      );
      assertError(unknownPhysnet, 400, 'InvalidInput');
      // neutron_lib's InvalidInput template ends the message with a period
      assert.equal(
        unknownPhysnet.body.NeutronError.message,
        "Invalid input for operation: physical_network 'nowhere' unknown for VLAN provider network.",
      );
      // deleting frees the id for reuse
      assert.equal((await s.req('DELETE', `/v2.0/networks/${vlan.id}`, undefined, ADMIN)).status, 204);
      await createNet({ 'provider:network_type': 'vlan', 'provider:physical_network': 'physnet1', 'provider:segmentation_id': 150 }, ADMIN);
      const multi = await createNet(
        {
          segments: [
            { 'provider:network_type': 'vlan', 'provider:physical_network': 'physnet2', 'provider:segmentation_id': 7 },
            { 'provider:network_type': 'vxlan' },
          ],
        },
        ADMIN,
      );
      assert.equal(multi.segments.length, 2);
    });

    it('subnets: default gateway and pools, overlaps, DNS, host routes, updates', async () => {
      const n = await createNet();
      const sn = await createSubnet(n.id, { dns_nameservers: ['8.8.8.8'], host_routes: [{ destination: '10.1.0.0/16', nexthop: '10.0.0.254' }] });
      assert.equal(sn.gateway_ip, '10.0.0.1');
      assert.deepEqual(sn.allocation_pools, [{ start: '10.0.0.2', end: '10.0.0.254' }]);
      assert.deepEqual(sn.dns_nameservers, ['8.8.8.8']);
      assert.equal(sn.host_routes.length, 1);
      const overlap = await s.req('POST', '/v2.0/subnets', { subnet: { network_id: n.id, ip_version: 4, cidr: '10.0.0.128/25' } });
      assertError(overlap, 400);
      // the same CIDR on another network is fine
      const n2 = await createNet();
      await createSubnet(n2.id);
      const net = (await s.req('GET', `/v2.0/networks/${n.id}`)).body.network;
      assert.deepEqual(net.subnets, [sn.id]);
      const u = await s.req('PUT', `/v2.0/subnets/${sn.id}`, {
        subnet: { allocation_pools: [{ start: '10.0.0.10', end: '10.0.0.20' }], dns_nameservers: [] },
      });
      assert.equal(u.status, 200, JSON.stringify(u.body));
      assert.deepEqual(u.body.subnet.allocation_pools, [{ start: '10.0.0.10', end: '10.0.0.20' }]);
      assertError(await s.req('PUT', `/v2.0/subnets/${sn.id}`, { subnet: { gateway_ip: '10.0.0.15' } }), 409, 'GatewayConflictWithAllocationPools');
      assertError(await s.req('PUT', `/v2.0/subnets/${sn.id}`, { subnet: { cidr: '10.0.0.0/16' } }), 400, 'HTTPBadRequest', 'cidr');
      const v6 = await s.req('POST', '/v2.0/subnets', {
        subnet: { network_id: n.id, ip_version: 6, cidr: '2001:db8::/64', ipv6_ra_mode: 'slaac', ipv6_address_mode: 'slaac' },
      });
      assert.equal(v6.status, 201, JSON.stringify(v6.body));
      assert.equal(v6.body.subnet.gateway_ip, '2001:db8::');
    });

    it('ports: automatic and explicit fixed IPs, MACs, SLAAC, in-use errors', async () => {
      const n = await createNet();
      // Automatic addresses come from .100-.200, so the explicit .50/.51 below are never taken by chance.
      const sn = await createSubnet(n.id, { cidr: '10.2.0.0/24', allocation_pools: [{ start: '10.2.0.100', end: '10.2.0.200' }] });
      const v6 = (
        await s.req('POST', '/v2.0/subnets', {
          subnet: { network_id: n.id, ip_version: 6, cidr: '2001:db8:1::/64', ipv6_ra_mode: 'slaac', ipv6_address_mode: 'slaac' },
        })
      ).body.subnet;
      const p = (await s.req('POST', '/v2.0/ports', { port: { network_id: n.id, name: 'p1' } })).body.port;
      assert.match(p.mac_address, /^fa:16:3e(:[0-9a-f]{2}){3}$/);
      assert.equal(p.status, 'DOWN');
      assert.equal(p.fixed_ips.length, 2);
      const v4 = p.fixed_ips.find((f: any) => f.subnet_id === sn.id);
      assert.ok(v4 && v4.ip_address.startsWith('10.2.0.'));
      const slaac = p.fixed_ips.find((f: any) => f.subnet_id === v6.id);
      const m = p.mac_address.split(':').map((x: string) => parseInt(x, 16));
      const expected = `2001:db8:1:0:${(((m[0] ^ 2) << 8) | m[1]).toString(16)}:${((m[2] << 8) | 0xff).toString(16)}:fe${m[3].toString(16).padStart(2, '0')}:${((m[4] << 8) | m[5]).toString(16)}`;
      assert.equal(slaac.ip_address, expected);
      const q = await s.req('POST', '/v2.0/ports', { port: { network_id: n.id, fixed_ips: [{ ip_address: '10.2.0.50' }] } });
      assert.equal(q.status, 201, JSON.stringify(q.body));
      // Explicit fixed IPs still get the SLAAC subnet's address, as in Neutron.
      const sortedIps = (l: Array<{ subnet_id: string; ip_address: string }>) => [...l].sort((x, y) => x.ip_address.localeCompare(y.ip_address));
      assert.deepEqual(
        sortedIps(q.body.port.fixed_ips),
        sortedIps([
          { subnet_id: sn.id, ip_address: '10.2.0.50' },
          { subnet_id: v6.id, ip_address: eui64Address('2001:db8:1::/64', q.body.port.mac_address) },
        ]),
      );
      assertError(
        await s.req('POST', '/v2.0/ports', { port: { network_id: n.id, fixed_ips: [{ ip_address: '10.2.0.50' }] } }),
        409,
        'IpAddressAlreadyAllocated',
      );
      assertError(
        await s.req('POST', '/v2.0/ports', { port: { network_id: n.id, fixed_ips: [{ ip_address: '10.3.0.5' }] } }),
        400,
        'InvalidIpForNetwork',
      );
      assertError(await s.req('POST', '/v2.0/ports', { port: { network_id: n.id, mac_address: p.mac_address } }, ADMIN), 409, 'MacAddressInUse');
      assertError(await s.req('POST', '/v2.0/ports', { port: { network_id: n.id, mac_address: 'zz:16:3e:00:00:01' } }, ADMIN), 400);
      // update fixed IPs: keep one, add one; the SLAAC address, not named, stays (as in Neutron)
      const u = await s.req('PUT', `/v2.0/ports/${q.body.port.id}`, {
        port: { fixed_ips: [{ ip_address: '10.2.0.50' }, { ip_address: '10.2.0.51' }] },
      });
      assert.equal(u.status, 200, JSON.stringify(u.body));
      assert.deepEqual(u.body.port.fixed_ips.map((f: any) => f.ip_address).sort(), [
        '10.2.0.50',
        '10.2.0.51',
        eui64Address('2001:db8:1::/64', q.body.port.mac_address),
      ]);
      // filters: fixed_ips, ip substring, device_id
      const byIp = await s.req('GET', `/v2.0/ports?fixed_ips=ip_address%3D10.2.0.51`);
      assert.deepEqual(
        byIp.body.ports.map((x: any) => x.id),
        [q.body.port.id],
      );
      const bySub = await s.req('GET', `/v2.0/ports?fixed_ips=ip_address_substr%3D10.2.0.5`);
      assert.ok(bySub.body.ports.some((x: any) => x.id === q.body.port.id));
      assertError(await s.req('DELETE', `/v2.0/subnets/${sn.id}`), 409, 'SubnetInUse');
      assertError(await s.req('DELETE', `/v2.0/networks/${n.id}`), 409, 'NetworkInUse');
      assert.equal((await s.req('DELETE', `/v2.0/ports/${p.id}`)).status, 204);
      assert.equal((await s.req('DELETE', `/v2.0/ports/${q.body.port.id}`)).status, 204);
      assert.equal((await s.req('DELETE', `/v2.0/subnets/${sn.id}`)).status, 204);
      assert.equal((await s.req('DELETE', `/v2.0/networks/${n.id}`)).status, 204);
    });

    it('ports: port security, allowed address pairs, extra DHCP options, binding', async () => {
      const n = await createNet();
      await createSubnet(n.id, { cidr: '10.4.0.0/24' });
      const p = await s.req('POST', '/v2.0/ports', {
        port: { network_id: n.id, allowed_address_pairs: [{ ip_address: '10.4.0.200' }], extra_dhcp_opts: [{ opt_name: 'mtu', opt_value: '1400' }] },
      });
      assert.equal(p.status, 201, JSON.stringify(p.body));
      assert.deepEqual(p.body.port.allowed_address_pairs, [{ ip_address: '10.4.0.200', mac_address: p.body.port.mac_address }]);
      assert.deepEqual(p.body.port.extra_dhcp_opts, [{ opt_name: 'mtu', opt_value: '1400', ip_version: 4 }]);
      assertError(
        await s.req('PUT', `/v2.0/ports/${p.body.port.id}`, { port: { port_security_enabled: false } }),
        409,
        'AddressPairAndPortSecurityRequired',
      );
      // Security groups need port security too: the default group goes with the pairs (Neutron's PortSecurityPortHasSecurityGroup).
      const off = await s.req('PUT', `/v2.0/ports/${p.body.port.id}`, {
        port: { port_security_enabled: false, allowed_address_pairs: [], security_groups: [] },
      });
      assert.equal(off.status, 200, JSON.stringify(off.body));
      assert.equal(off.body.port.port_security_enabled, false);
      const b = await s.req('PUT', `/v2.0/ports/${p.body.port.id}`, { port: { 'binding:host_id': 'host-a' } }, ADMIN);
      assert.equal(b.status, 200, JSON.stringify(b.body));
      assert.equal(b.body.port['binding:host_id'], 'host-a');
      assert.equal(typeof b.body.port['binding:vif_type'], 'string');
    });

    it('lists with fields, sorting, pagination links and tag filters', async () => {
      const n = await createNet({ name: 'pg-base' });
      await createSubnet(n.id, { cidr: '10.5.0.0/24' });
      const names = ['c', 'a', 'e', 'b', 'd'];
      for (const name of names) assert.equal((await s.req('POST', '/v2.0/ports', { port: { network_id: n.id, name } })).status, 201);
      const sorted = await s.req('GET', `/v2.0/ports?network_id=${n.id}&sort_key=name&sort_dir=asc&fields=name&fields=id`);
      assert.deepEqual(
        sorted.body.ports.map((p: any) => p.name),
        ['a', 'b', 'c', 'd', 'e'],
      );
      assert.deepEqual(Object.keys(sorted.body.ports[0]).sort(), ['id', 'name']);
      const page1 = await s.req('GET', `/v2.0/ports?network_id=${n.id}&sort_key=name&sort_dir=asc&limit=2`);
      assert.deepEqual(
        page1.body.ports.map((p: any) => p.name),
        ['a', 'b'],
      );
      const next = page1.body.ports_links.find((l: any) => l.rel === 'next');
      assert.ok(next, JSON.stringify(page1.body.ports_links));
      const page2 = await s.req('GET', next.href.slice(s.url.length));
      assert.deepEqual(
        page2.body.ports.map((p: any) => p.name),
        ['c', 'd'],
      );
      const desc = await s.req('GET', `/v2.0/ports?network_id=${n.id}&sort_key=name&sort_dir=desc&limit=10`);
      assert.deepEqual(
        desc.body.ports.map((p: any) => p.name),
        ['e', 'd', 'c', 'b', 'a'],
      );
      const anyOf = await s.req('GET', `/v2.0/ports?network_id=${n.id}&name=a&name=e`);
      assert.deepEqual(anyOf.body.ports.map((p: any) => p.name).sort(), ['a', 'e']);
      // tags
      const t = await s.req('PUT', `/v2.0/networks/${n.id}/tags`, { tags: ['red', 'blue'] });
      assert.equal(t.status, 200);
      assert.deepEqual(t.body.tags.sort(), ['blue', 'red']);
      assert.equal((await s.req('PUT', `/v2.0/networks/${n.id}/tags/green`)).status, 201);
      assert.equal((await s.req('GET', `/v2.0/networks/${n.id}/tags/green`)).status, 204);
      assertError(await s.req('GET', `/v2.0/networks/${n.id}/tags/black`), 404, 'TagNotFound');
      const tagged = await s.req('GET', '/v2.0/networks?tags=red,green');
      assert.deepEqual(
        tagged.body.networks.map((x: any) => x.id),
        [n.id],
      );
      const notTagged = await s.req('GET', '/v2.0/networks?not-tags-any=red');
      assert.ok(!notTagged.body.networks.some((x: any) => x.id === n.id));
      const net = (await s.req('GET', `/v2.0/networks/${n.id}`)).body.network;
      assert.deepEqual(net.tags.sort(), ['blue', 'green', 'red']);
      assert.equal((await s.req('DELETE', `/v2.0/networks/${n.id}/tags`)).status, 204);
      assert.deepEqual((await s.req('GET', `/v2.0/networks/${n.id}/tags`)).body.tags, []);
    });

    it('honours If-Match revision constraints', async () => {
      const n = await createNet();
      const ok = await s.req('PUT', `/v2.0/networks/${n.id}`, { network: { name: 'x' } }, ALICE, { 'if-match': 'revision_number=0' });
      assert.equal(ok.status, 200);
      const stale = await s.req('PUT', `/v2.0/networks/${n.id}`, { network: { name: 'y' } }, ALICE, { 'if-match': 'revision_number=0' });
      assertError(stale, 412, 'RevisionNumberConstraintFailed');
      assertError(await s.req('DELETE', `/v2.0/networks/${n.id}`, undefined, ALICE, { 'if-match': 'revision_number=7' }), 412);
      // Python's int() reads a sign: a negative number is a stale constraint (412), not a bad header.
      assertError(await s.req('PUT', `/v2.0/networks/${n.id}`, { network: { name: 'z' } }, ALICE, { 'if-match': 'revision_number=-1' }), 412);
      assertError(await s.req('PUT', `/v2.0/networks/${n.id}`, { network: { name: 'z' } }, ALICE, { 'if-match': 'revision_number=x' }), 400);
      assert.equal((await s.req('GET', `/v2.0/networks/${n.id}`)).body.network.name, 'x');
    });

    it('quotas: show, update, details, defaults, reset, enforcement', async () => {
      const proj = 'project-quota';
      const caller = { project: proj, roles: 'member', user: 'q' };
      const upd = await s.req('PUT', `/v2.0/quotas/${proj}`, { quota: { network: 2 } }, ADMIN);
      assert.equal(upd.status, 200, JSON.stringify(upd.body));
      assert.equal(upd.body.quota.network, 2);
      assertError(await s.req('PUT', `/v2.0/quotas/${proj}`, { quota: { network: 2 } }, caller), 403);
      assertError(await s.req('PUT', `/v2.0/quotas/${proj}`, { quota: { network: 'many' } }, ADMIN), 400);
      assertError(await s.req('PUT', `/v2.0/quotas/${proj}`, { quota: { widgets: 1 } }, ADMIN), 400);
      const listed = await s.req('GET', '/v2.0/quotas', undefined, ADMIN);
      assert.ok(listed.body.quotas.some((q: any) => q.project_id === proj && q.network === 2));
      await createNet({}, caller);
      await createNet({}, caller);
      assertError(await s.req('POST', '/v2.0/networks', { network: {} }, caller), 409, 'OverQuota', "['network']");
      const details = await s.req('GET', `/v2.0/quotas/${proj}/details`, undefined, ADMIN);
      assert.deepEqual(details.body.quota.network, { limit: 2, used: 2, reserved: 0 });
      const defaults = await s.req('GET', `/v2.0/quotas/${proj}/default`, undefined, ADMIN);
      assert.equal(defaults.body.quota.network, 100);
      assert.equal((await s.req('DELETE', `/v2.0/quotas/${proj}`, undefined, ADMIN)).status, 204);
      assert.equal((await s.req('GET', `/v2.0/quotas/${proj}`, undefined, ADMIN)).body.quota.network, 100);
    });
  });
}

// Routers and floating IPs (router, ext-gw-mode, extraroute, extraroute-atomic, fip-port-details)
// on every backend: CRUD, Neutron's error cases, and the concurrency guarantees (one address per
// floating IP, one interface per subnet on a router).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { ADMIN, ALICE, BOB, startServer, type TestServer, okCalls } from '../helpers/server.js';
import { assertError } from '../helpers/assert-error.js';

for (const backend of BACKENDS) {
  describe(`L3 on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let s: TestServer;
    let ext: any;
    let extSubnet: any;
    let cidrN = 0;
    before(async () => {
      s = await startServer(backend);
      for (const who of [ALICE, BOB]) await ok('PUT', `/v2.0/quotas/${who.project}`, { quota: { router: -1, floatingip: -1 } }, ADMIN);
      ext = await net({ name: 'public', 'router:external': true }, ADMIN);
      extSubnet = await subnet(
        ext.id,
        { cidr: '172.24.4.0/24', enable_dhcp: false, allocation_pools: [{ start: '172.24.4.2', end: '172.24.4.150' }] },
        ADMIN,
      );
    });
    after(async () => {
      await s?.stop();
    });

    const ok = okCalls(() => s, ALICE);
    async function net(body: object = {}, as = ALICE) {
      return (await ok('POST', '/v2.0/networks', { network: { name: 'n', ...body } }, as, 201)).network;
    }
    async function subnet(networkId: string, body: object = {}, as = ALICE) {
      const cidr = `10.${100 + Math.floor(cidrN / 250)}.${cidrN++ % 250}.0/24`;
      return (await ok('POST', '/v2.0/subnets', { subnet: { network_id: networkId, ip_version: 4, cidr, ...body } }, as, 201)).subnet;
    }
    async function router(body: object = {}, as = ALICE) {
      return (await ok('POST', '/v2.0/routers', { router: { name: 'r', ...body } }, as, 201)).router;
    }
    async function port(networkId: string, body: object = {}, as = ALICE) {
      return (await ok('POST', '/v2.0/ports', { port: { network_id: networkId, ...body } }, as, 201)).port;
    }
    const addIf = (routerId: string, body: object, as = ALICE) => s.req('PUT', `/v2.0/routers/${routerId}/add_router_interface`, body, as);
    const removeIf = (routerId: string, body: object, as = ALICE) => s.req('PUT', `/v2.0/routers/${routerId}/remove_router_interface`, body, as);
    /** A project network + subnet attached to a router with a gateway on `ext`. */
    async function topology(as = ALICE) {
      const n = await net({}, as);
      const sn = await subnet(n.id, {}, as);
      const r = await router({ external_gateway_info: { network_id: ext.id } }, as);
      assert.equal((await addIf(r.id, { subnet_id: sn.id }, as)).status, 200);
      return { n, sn, r };
    }

    it('lists the L3 extensions and serves the collections', async () => {
      const aliases = (await ok('GET', '/v2.0/extensions', undefined)).extensions.map((e: any) => e.alias);
      for (const a of ['router', 'ext-gw-mode', 'extraroute', 'extraroute-atomic', 'fip-port-details', 'l3-port-ip-change-not-allowed'])
        assert.ok(aliases.includes(a), a);
      // Only with DVR in Neutron (enable_dvr), which is not implemented.
      assert.ok(!aliases.includes('router-admin-state-down-before-update'));
      assert.deepEqual((await ok('GET', '/v2.0/routers', undefined)).routers, []);
      assert.deepEqual((await ok('GET', '/v2.0/floatingips', undefined)).floatingips, []);
    });

    it('lists the IPv4 subnets of external networks as floating IP pools, and takes a floating IP from one', async () => {
      const v6 = (await ok('POST', '/v2.0/subnets', { subnet: { network_id: ext.id, ip_version: 6, cidr: '2001:db8:aa::/64' } }, ADMIN, 201)).subnet;
      const second = await subnet(ext.id, { enable_dhcp: false }, ADMIN);
      const internal = await subnet((await net()).id);
      const pools = (await ok('GET', '/v2.0/floatingip-pools', undefined, BOB)).floatingip_pools as any[];
      const ids = pools.map((p) => p.subnet_id);
      assert.ok(ids.includes(extSubnet.id) && ids.includes(second.id), JSON.stringify(pools));
      assert.ok(!ids.includes(v6.id) && !ids.includes(internal.id), JSON.stringify(pools));
      assert.deepEqual(
        pools.find((p) => p.subnet_id === second.id),
        { subnet_id: second.id, subnet_name: '', tenant_id: BOB.project, project_id: BOB.project, network_id: ext.id, cidr: second.cidr },
      );
      const fip = (await ok('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext.id, subnet_id: second.id } }, BOB, 201)).floatingip;
      assert.ok(fip.floating_ip_address.startsWith(second.cidr.split('.').slice(0, 3).join('.')), fip.floating_ip_address);
      await ok('DELETE', `/v2.0/floatingips/${fip.id}`, undefined, BOB, 204);
      await ok('DELETE', `/v2.0/subnets/${second.id}`, undefined, ADMIN, 204);
      await ok('DELETE', `/v2.0/subnets/${v6.id}`, undefined, ADMIN, 204);
    });

    it('creates, shows, lists, updates and deletes a router with a gateway port', async () => {
      const r = await router({ admin_state_up: false, description: 'd', external_gateway_info: { network_id: ext.id } });
      assert.equal(r.status, 'ACTIVE');
      assert.equal(r.admin_state_up, false);
      assert.equal(r.project_id, ALICE.project);
      assert.equal(r.tenant_id, ALICE.project);
      assert.deepEqual(r.routes, []);
      assert.deepEqual(r.tags, []);
      assert.equal(r.revision_number >= 0, true);
      const gw = r.external_gateway_info;
      assert.equal(gw.network_id, ext.id);
      assert.equal(gw.enable_snat, true);
      assert.equal(gw.external_fixed_ips.length, 1);
      assert.equal(gw.external_fixed_ips[0].subnet_id, extSubnet.id);
      // The gateway port: on the external network, owned by no project, hidden from the tenant.
      const ports = (await ok('GET', `/v2.0/ports?device_id=${r.id}`, undefined, ADMIN)).ports;
      assert.equal(ports.length, 1);
      assert.equal(ports[0].device_owner, 'network:router_gateway');
      assert.equal(ports[0].network_id, ext.id);
      assert.equal(ports[0].project_id, '');
      assert.equal(ports[0].fixed_ips[0].ip_address, gw.external_fixed_ips[0].ip_address);
      assert.deepEqual((await ok('GET', `/v2.0/ports?device_id=${r.id}`, undefined)).ports, []);

      assert.equal((await ok('GET', `/v2.0/routers/${r.id}`, undefined)).router.external_gateway_info.network_id, ext.id);
      assert.ok((await ok('GET', '/v2.0/routers', undefined)).routers.some((x: any) => x.id === r.id));
      assert.deepEqual(
        (await ok('GET', '/v2.0/routers', undefined, BOB)).routers.filter((x: any) => x.id === r.id),
        [],
      );
      assertError(await s.req('GET', `/v2.0/routers/${r.id}`, undefined, BOB), 404, 'RouterNotFound');
      const u = (await ok('PUT', `/v2.0/routers/${r.id}`, { router: { name: 'renamed', admin_state_up: true } })).router;
      assert.equal(u.name, 'renamed');
      assert.equal(u.admin_state_up, true);
      assert.ok(u.revision_number > r.revision_number);
      assert.equal((await ok('GET', `/v2.0/routers?name=renamed`, undefined)).routers.length, 1);

      // Clearing the gateway removes the port.
      const cleared = (await ok('PUT', `/v2.0/routers/${r.id}`, { router: { external_gateway_info: {} } })).router;
      assert.equal(cleared.external_gateway_info, null);
      assert.deepEqual((await ok('GET', `/v2.0/ports?device_id=${r.id}`, undefined, ADMIN)).ports, []);
      const again = (await ok('PUT', `/v2.0/routers/${r.id}`, { router: { external_gateway_info: { network_id: ext.id } } })).router;
      assert.equal(again.external_gateway_info.network_id, ext.id);
      assert.equal((await s.req('DELETE', `/v2.0/routers/${r.id}`)).status, 204);
      assertError(await s.req('GET', `/v2.0/routers/${r.id}`), 404, 'RouterNotFound');
      assert.deepEqual((await ok('GET', `/v2.0/ports?device_id=${r.id}`, undefined, ADMIN)).ports, []);
      assertError(await s.req('DELETE', `/v2.0/routers/${r.id}`), 404, 'RouterNotFound');
    });

    it('checks the gateway: external network, policy on enable_snat and external_fixed_ips', async () => {
      const r = await router();
      const internal = await net();
      await subnet(internal.id);
      assertError(
        await s.req('PUT', `/v2.0/routers/${r.id}`, { router: { external_gateway_info: { network_id: internal.id } } }),
        400,
        'BadRequest',
        'is not an external network',
      );
      assertError(await s.req('PUT', `/v2.0/routers/${r.id}`, { router: { external_gateway_info: { network_id: r.id } } }), 404, 'NetworkNotFound');
      assertError(await s.req('PUT', `/v2.0/routers/${r.id}`, { router: { external_gateway_info: { enable_snat: false } } }), 400);
      assertError(await s.req('PUT', `/v2.0/routers/${r.id}`, { router: { external_gateway_info: { network_id: ext.id, bogus: 1 } } }), 400);
      assertError(
        await s.req('PUT', `/v2.0/routers/${r.id}`, { router: { external_gateway_info: { network_id: ext.id, enable_snat: false } } }),
        403,
        'PolicyNotAuthorized',
      );
      assertError(
        await s.req('POST', '/v2.0/routers', {
          router: { external_gateway_info: { network_id: ext.id, external_fixed_ips: [{ ip_address: '172.24.4.200' }] } },
        }),
        403,
        'PolicyNotAuthorized',
      );
      // An admin may choose both.
      const a = await router(
        {
          external_gateway_info: {
            network_id: ext.id,
            enable_snat: false,
            external_fixed_ips: [{ subnet_id: extSubnet.id, ip_address: '172.24.4.200' }],
          },
        },
        ADMIN,
      );
      assert.equal(a.external_gateway_info.enable_snat, false);
      assert.deepEqual(a.external_gateway_info.external_fixed_ips, [{ subnet_id: extSubnet.id, ip_address: '172.24.4.200' }]);
      assertError(
        await s.req(
          'POST',
          '/v2.0/routers',
          { router: { external_gateway_info: { network_id: ext.id, external_fixed_ips: [{ ip_address: '172.24.4.200' }] } } },
          ADMIN,
        ),
        409,
        'IpAddressAlreadyAllocated',
      );
      assertError(
        await s.req(
          'POST',
          '/v2.0/routers',
          { router: { external_gateway_info: { network_id: ext.id, external_fixed_ips: [{ ip_address: '172.24.4.1' }] } } },
          ADMIN,
        ),
        400,
        'BadRequest',
        'same as the gateway IP',
      );
      // Changing the fixed IP keeps the port.
      const portBefore = (await ok('GET', `/v2.0/ports?device_id=${a.id}`, undefined, ADMIN)).ports[0];
      const moved = (
        await ok(
          'PUT',
          `/v2.0/routers/${a.id}`,
          {
            router: { external_gateway_info: { network_id: ext.id, external_fixed_ips: [{ subnet_id: extSubnet.id, ip_address: '172.24.4.201' }] } },
          },
          ADMIN,
        )
      ).router;
      assert.equal(moved.external_gateway_info.external_fixed_ips[0].ip_address, '172.24.4.201');
      assert.equal(moved.external_gateway_info.enable_snat, true, 'enable_snat returns to the default when not given');
      assert.equal((await ok('GET', `/v2.0/ports?device_id=${a.id}`, undefined, ADMIN)).ports[0].id, portBefore.id);
      // The external network cannot stop being external while a gateway uses it.
      assertError(await s.req('PUT', `/v2.0/networks/${ext.id}`, { network: { 'router:external': false } }, ADMIN), 409, 'ExternalNetworkInUse');
      // Nor can the gateway port be deleted through the port API.
      assertError(
        await s.req('DELETE', `/v2.0/ports/${portBefore.id}`, undefined, ADMIN),
        409,
        'ServicePortInUse',
        'cannot be deleted directly via the port API',
      );
      await ok('DELETE', `/v2.0/routers/${a.id}`, undefined, ADMIN);
      await ok('DELETE', `/v2.0/routers/${r.id}`, undefined);
    });

    it('adds and removes interfaces by subnet and by port, with Neutron checks', async () => {
      const n = await net();
      const sn = await subnet(n.id);
      const r = await router();
      const add = await addIf(r.id, { subnet_id: sn.id });
      assert.equal(add.status, 200, JSON.stringify(add.body));
      const info = add.body;
      assert.deepEqual(Object.keys(info).sort(), ['id', 'network_id', 'port_id', 'project_id', 'subnet_id', 'subnet_ids', 'tenant_id']);
      assert.equal(info.id, r.id);
      assert.equal(info.subnet_id, sn.id);
      assert.deepEqual(info.subnet_ids, [sn.id]);
      assert.equal(info.network_id, n.id);
      assert.equal(info.tenant_id, ALICE.project);
      const p = (await ok('GET', `/v2.0/ports/${info.port_id}`, undefined)).port;
      assert.equal(p.device_id, r.id);
      assert.equal(p.device_owner, 'network:router_interface');
      assert.deepEqual(p.fixed_ips, [{ subnet_id: sn.id, ip_address: sn.gateway_ip }]);
      const listed = (await ok('GET', `/v2.0/ports?device_id=${r.id}`, undefined)).ports;
      assert.deepEqual(
        listed.map((x: any) => x.id),
        [info.port_id],
      );

      assertError(await addIf(r.id, { subnet_id: sn.id }), 400, 'BadRequest', `Router already has a port on subnet ${sn.id}`);
      const n2 = await net();
      const overlapping = (await ok('POST', '/v2.0/subnets', { subnet: { network_id: n2.id, ip_version: 4, cidr: sn.cidr } }, ALICE, 201)).subnet;
      assertError(await addIf(r.id, { subnet_id: overlapping.id }), 400, 'BadRequest', 'overlaps with cidr');
      const n3 = await net();
      const noGateway = await subnet(n3.id, { gateway_ip: null });
      assertError(await addIf(r.id, { subnet_id: noGateway.id }), 400, 'BadRequest', 'must have a gateway IP');
      assertError(await addIf(r.id, {}), 400, 'BadRequest', 'Either subnet_id or port_id must be specified');
      assertError(await addIf(r.id, { subnet_id: sn.id, port_id: p.id }), 400, 'BadRequest', 'Cannot specify both');
      assertError(await addIf(r.id, { subnet_id: 'nope' }), 400, 'BadRequest');
      assertError(await addIf(r.id, { subnet_id: r.id }), 404, 'SubnetNotFound');
      assertError(await addIf(r.id, { subnet_id: sn.id }, BOB), 404, 'RouterNotFound');
      // The gateway address is taken by another port: 409.
      const n4 = await net();
      const sn4 = await subnet(n4.id);
      await port(n4.id, { fixed_ips: [{ ip_address: sn4.gateway_ip }] }, ADMIN);
      assertError(await addIf(r.id, { subnet_id: sn4.id }), 409, 'IpAddressAlreadyAllocated');

      // In use: the router cannot go, its interface port cannot be deleted directly.
      assertError(await s.req('DELETE', `/v2.0/routers/${r.id}`), 409, 'RouterInUse', 'has ports still attached');
      assertError(await s.req('DELETE', `/v2.0/ports/${info.port_id}`), 409, 'ServicePortInUse', 'has device owner network:router_interface');
      assertError(await s.req('DELETE', `/v2.0/subnets/${sn.id}`), 409, 'SubnetInUse');

      // By port.
      const free = await port(n3.id);
      const used = await port(n3.id, { device_id: 'some-vm' });
      assertError(await addIf(r.id, { port_id: used.id }), 409, 'PortInUse');
      const n5 = await net();
      await subnet(n5.id);
      const viaPort = await port(n5.id);
      const byPort = await addIf(r.id, { port_id: viaPort.id });
      assert.equal(byPort.status, 200, JSON.stringify(byPort.body));
      assert.equal(byPort.body.port_id, viaPort.id);
      assert.equal(byPort.body.subnet_id, viaPort.fixed_ips[0].subnet_id);
      const owned = (await ok('GET', `/v2.0/ports/${viaPort.id}`, undefined)).port;
      assert.equal(owned.device_id, r.id);
      assert.equal(owned.device_owner, 'network:router_interface');
      assertError(await addIf(r.id, { port_id: viaPort.id }), 409, 'PortInUse');
      void free;

      // Removal errors, then removal by port and by subnet.
      assertError(await removeIf(r.id, { port_id: free.id }), 404, 'RouterInterfaceNotFound');
      assertError(await removeIf(r.id, { subnet_id: sn4.id }), 404, 'RouterInterfaceNotFoundForSubnet');
      assertError(await removeIf(r.id, { port_id: viaPort.id, subnet_id: sn.id }), 400, 'SubnetMismatchForPort');
      const rm = await removeIf(r.id, { port_id: viaPort.id });
      assert.equal(rm.status, 200, JSON.stringify(rm.body));
      assert.equal(rm.body.port_id, viaPort.id);
      assertError(await s.req('GET', `/v2.0/ports/${viaPort.id}`), 404, 'PortNotFound');
      const rm2 = await removeIf(r.id, { subnet_id: sn.id });
      assert.equal(rm2.status, 200, JSON.stringify(rm2.body));
      assert.equal(rm2.body.port_id, info.port_id);
      assertError(await s.req('GET', `/v2.0/ports/${info.port_id}`), 404, 'PortNotFound');
      assert.equal((await s.req('DELETE', `/v2.0/routers/${r.id}`)).status, 204);
    });

    it("l3-port-ip-change-not-allowed: a router interface's IPv4 address cannot change through the port API", async () => {
      const { n, sn, r } = await topology();
      const intf = (await ok('GET', `/v2.0/ports?device_id=${r.id}&device_owner=network:router_interface`, undefined)).ports[0];
      const other = `${sn.cidr.split('.').slice(0, 3).join('.')}.77`;
      const moved = await s.req('PUT', `/v2.0/ports/${intf.id}`, { port: { fixed_ips: [{ subnet_id: sn.id, ip_address: other }] } }, ADMIN);
      assertError(moved, 400, 'IPAddressChangeNotAllowed', `IP updates for port ${intf.id} are not allowed`);
      assertError(await s.req('PUT', `/v2.0/ports/${intf.id}`, { port: { fixed_ips: [] } }, ADMIN), 400, 'IPAddressChangeNotAllowed');
      assert.deepEqual((await ok('GET', `/v2.0/ports/${intf.id}`, undefined)).port.fixed_ips, intf.fixed_ips);
      // Other updates of the port, and address changes of other ports, still go.
      assert.equal((await s.req('PUT', `/v2.0/ports/${intf.id}`, { port: { name: 'renamed', fixed_ips: intf.fixed_ips } }, ADMIN)).status, 200);
      const vm = await port(n.id);
      assert.equal((await s.req('PUT', `/v2.0/ports/${vm.id}`, { port: { fixed_ips: [{ subnet_id: sn.id }] } }, ALICE)).status, 200);
      await removeIf(r.id, { subnet_id: sn.id });
    });

    it('validates and edits extra routes', async () => {
      const n = await net();
      const sn = await subnet(n.id);
      const r = await router();
      assert.equal((await addIf(r.id, { subnet_id: sn.id })).status, 200);
      const base = sn.cidr.split('.').slice(0, 3).join('.');
      const hop = `${base}.5`;
      const routes = [
        { destination: '192.168.10.0/24', nexthop: hop },
        { destination: '192.168.11.0/24', nexthop: hop },
      ];
      const u = (await ok('PUT', `/v2.0/routers/${r.id}`, { router: { routes } })).router;
      assert.deepEqual(u.routes, routes);
      assert.deepEqual((await ok('GET', `/v2.0/routers/${r.id}`, undefined)).router.routes, routes);
      assertError(
        await s.req('PUT', `/v2.0/routers/${r.id}`, { router: { routes: [{ destination: '192.168.12.0/24', nexthop: '10.250.0.1' }] } }),
        400,
        'InvalidRoutes',
        'the nexthop is not connected with router',
      );
      assertError(
        await s.req('PUT', `/v2.0/routers/${r.id}`, { router: { routes: [{ destination: '192.168.12.0/24', nexthop: sn.gateway_ip }] } }),
        400,
        'InvalidRoutes',
        'the nexthop is used by router',
      );
      assertError(await s.req('PUT', `/v2.0/routers/${r.id}`, { router: { routes: [{ destination: 'x', nexthop: hop }] } }), 400);
      assertError(await s.req('POST', '/v2.0/routers', { router: { routes } }), 400);
      // Atomic add/remove.
      const added = (
        await ok('PUT', `/v2.0/routers/${r.id}/add_extraroutes`, {
          router: { routes: [{ destination: '192.168.12.0/24', nexthop: hop }, routes[0]] },
        })
      ).router;
      assert.equal(added.routes.length, 3);
      const removed = (
        await ok('PUT', `/v2.0/routers/${r.id}/remove_extraroutes`, { router: { routes: [routes[1], { destination: '10.0.0.0/8', nexthop: hop }] } })
      ).router;
      assert.deepEqual(removed.routes.map((x: any) => x.destination).sort(), ['192.168.10.0/24', '192.168.12.0/24']);
      assertError(
        await s.req('PUT', `/v2.0/routers/${r.id}/add_extraroutes`, {
          router: { routes: [{ destination: '192.168.13.0/24', nexthop: '10.250.0.1' }] },
        }),
        400,
        'InvalidRoutes',
      );
      // The interface the routes need cannot go.
      assertError(await removeIf(r.id, { subnet_id: sn.id }), 409, 'RouterInterfaceInUseByRoute');
      assert.deepEqual((await ok('PUT', `/v2.0/routers/${r.id}`, { router: { routes: null } })).router.routes, []);
      assert.equal((await removeIf(r.id, { subnet_id: sn.id })).status, 200);
      await ok('DELETE', `/v2.0/routers/${r.id}`, undefined);
    });

    it('reads [DEFAULT] max_routes and enable_snat_by_default', async () => {
      const s2 = await startServer(backend, { DEFAULT: { max_routes: '2', enable_snat_by_default: 'false' } });
      try {
        const call = async (method: string, path: string, body: unknown, as = ALICE) => {
          const r = await s2.req(method, path, body, as);
          assert.ok(r.status >= 200 && r.status < 300, `${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
          return r.body;
        };
        const e = (await call('POST', '/v2.0/networks', { network: { name: 'pub', 'router:external': true } }, ADMIN)).network;
        await call('POST', '/v2.0/subnets', { subnet: { network_id: e.id, ip_version: 4, cidr: '172.25.0.0/24', enable_dhcp: false } }, ADMIN);
        const r = (await call('POST', '/v2.0/routers', { router: { name: 'r', external_gateway_info: { network_id: e.id } } })).router;
        assert.equal(r.external_gateway_info.enable_snat, false, 'the configured default');
        const on = (await call('PUT', `/v2.0/routers/${r.id}`, { router: { external_gateway_info: { network_id: e.id, enable_snat: true } } }, ADMIN))
          .router;
        assert.equal(on.external_gateway_info.enable_snat, true);
        const back = (await call('PUT', `/v2.0/routers/${r.id}`, { router: { external_gateway_info: { network_id: e.id } } })).router;
        assert.equal(back.external_gateway_info.enable_snat, false, 'not given: the configured default again');
        const n = (await call('POST', '/v2.0/networks', { network: { name: 'n' } })).network;
        const sn = (await call('POST', '/v2.0/subnets', { subnet: { network_id: n.id, ip_version: 4, cidr: '10.60.0.0/24' } })).subnet;
        await call('PUT', `/v2.0/routers/${r.id}/add_router_interface`, { subnet_id: sn.id });
        const route = (i: number) => ({ destination: `192.168.${i}.0/24`, nexthop: '10.60.0.5' });
        assertError(
          await s2.req('PUT', `/v2.0/routers/${r.id}`, { router: { routes: [route(1), route(2), route(3)] } }),
          400,
          'RoutesExhausted',
          `Unable to complete operation for ${r.id}. The number of routes exceeds the maximum 2.`,
        );
        assert.equal((await call('PUT', `/v2.0/routers/${r.id}`, { router: { routes: [route(1), route(2)] } })).router.routes.length, 2);
        assertError(await s2.req('PUT', `/v2.0/routers/${r.id}/add_extraroutes`, { router: { routes: [route(3)] } }), 400, 'RoutesExhausted');
      } finally {
        await s2.stop();
      }
    });

    it('creates, associates, filters and deletes floating IPs', async () => {
      const { n, sn, r } = await topology();
      const p1 = await port(n.id);
      const p2 = await port(n.id);
      // Without a port.
      const bare = (await ok('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext.id, description: 'bare' } }, ALICE, 201))
        .floatingip;
      assert.equal(bare.floating_network_id, ext.id);
      assert.equal(bare.port_id, null);
      assert.equal(bare.router_id, null);
      assert.equal(bare.fixed_ip_address, null);
      assert.equal(bare.port_details, null);
      assert.equal(bare.project_id, ALICE.project);
      assert.equal(bare.description, 'bare');
      assert.ok(bare.floating_ip_address.startsWith('172.24.4.'));
      const fipPort = (await ok('GET', `/v2.0/ports?device_id=${bare.id}`, undefined, ADMIN)).ports[0];
      assert.equal(fipPort.device_owner, 'network:floatingip');
      assert.equal(fipPort.fixed_ips[0].ip_address, bare.floating_ip_address);
      assertError(await s.req('DELETE', `/v2.0/ports/${fipPort.id}`, undefined, ADMIN), 409, 'ServicePortInUse');
      // Associate on create.
      const fip = (await ok('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext.id, port_id: p1.id } }, ALICE, 201)).floatingip;
      assert.equal(fip.port_id, p1.id);
      assert.equal(fip.router_id, r.id);
      assert.equal(fip.fixed_ip_address, p1.fixed_ips[0].ip_address);
      assert.equal(fip.port_details.device_owner, '');
      assert.equal(fip.port_details.network_id, n.id);
      assert.equal(fip.port_details.mac_address, p1.mac_address);
      // One floating IP per fixed IP.
      assertError(
        await s.req('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext.id, port_id: p1.id } }),
        409,
        'FloatingIPPortAlreadyAssociated',
      );
      // Re-associate, disassociate.
      const moved = (await ok('PUT', `/v2.0/floatingips/${fip.id}`, { floatingip: { port_id: p2.id } })).floatingip;
      assert.equal(moved.port_id, p2.id);
      assert.equal(moved.fixed_ip_address, p2.fixed_ips[0].ip_address);
      const desc = (await ok('PUT', `/v2.0/floatingips/${fip.id}`, { floatingip: { description: 'kept' } })).floatingip;
      assert.equal(desc.port_id, p2.id, 'a description change keeps the association');
      const off = (await ok('PUT', `/v2.0/floatingips/${fip.id}`, { floatingip: { port_id: null } })).floatingip;
      assert.equal(off.port_id, null);
      assert.equal(off.router_id, null);
      assert.equal(off.fixed_ip_address, null);
      // A blank update is the old way to disassociate (Neutron keeps it; tempest's test_blank_update).
      await ok('PUT', `/v2.0/floatingips/${fip.id}`, { floatingip: { port_id: p2.id } });
      const blank = (await ok('PUT', `/v2.0/floatingips/${fip.id}`, { floatingip: {} })).floatingip;
      assert.equal(blank.port_id, null);
      assert.equal(blank.fixed_ip_address, null);
      // Filters.
      await ok('PUT', `/v2.0/floatingips/${fip.id}`, { floatingip: { port_id: p1.id } });
      const byPort = (await ok('GET', `/v2.0/floatingips?port_id=${p1.id}`, undefined)).floatingips;
      assert.deepEqual(
        byPort.map((x: any) => x.id),
        [fip.id],
      );
      assert.deepEqual(
        (await ok('GET', `/v2.0/floatingips?router_id=${r.id}`, undefined)).floatingips.map((x: any) => x.id),
        [fip.id],
      );
      assert.equal((await ok('GET', `/v2.0/floatingips?floating_network_id=${ext.id}`, undefined)).floatingips.length, 2);
      assert.deepEqual(
        (await ok('GET', `/v2.0/floatingips?floating_ip_address=${bare.floating_ip_address}`, undefined)).floatingips.map((x: any) => x.id),
        [bare.id],
      );
      assert.deepEqual((await ok('GET', '/v2.0/floatingips', undefined, BOB)).floatingips, []);
      assertError(await s.req('GET', `/v2.0/floatingips/${fip.id}`, undefined, BOB), 404, 'FloatingIPNotFound');
      // What the association holds up.
      assertError(await removeIf(r.id, { subnet_id: sn.id }), 409, 'RouterInterfaceInUseByFloatingIP');
      assertError(
        await s.req('PUT', `/v2.0/routers/${r.id}`, { router: { external_gateway_info: {} } }),
        409,
        'RouterExternalGatewayInUseByFloatingIp',
      );
      // Deleting the port disassociates.
      assert.equal((await s.req('DELETE', `/v2.0/ports/${p1.id}`)).status, 204);
      const after = (await ok('GET', `/v2.0/floatingips/${fip.id}`, undefined)).floatingip;
      assert.equal(after.port_id, null);
      assert.equal(after.router_id, null);
      assert.equal(after.fixed_ip_address, null);
      // Delete: the floating port goes too.
      assert.equal((await s.req('DELETE', `/v2.0/floatingips/${fip.id}`)).status, 204);
      assertError(await s.req('GET', `/v2.0/floatingips/${fip.id}`), 404, 'FloatingIPNotFound');
      assert.deepEqual((await ok('GET', `/v2.0/ports?device_id=${fip.id}`, undefined, ADMIN)).ports, []);
      await ok('DELETE', `/v2.0/floatingips/${bare.id}`, undefined);
    });

    it('refuses bad floating IP requests as Neutron does', async () => {
      const { n, sn, r } = await topology();
      void r;
      const internal = await net();
      await subnet(internal.id);
      assertError(
        await s.req('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: internal.id } }),
        400,
        'BadRequest',
        'is not a valid external network',
      );
      assertError(await s.req('POST', '/v2.0/floatingips', { floatingip: {} }), 400);
      assertError(await s.req('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: sn.id } }), 404, 'NetworkNotFound');
      assertError(
        await s.req('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext.id, floating_ip_address: '172.24.4.210' } }),
        403,
        'PolicyNotAuthorized',
      );
      const chosen = (
        await ok('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext.id, floating_ip_address: '172.24.4.210' } }, ADMIN, 201)
      ).floatingip;
      assert.equal(chosen.floating_ip_address, '172.24.4.210');
      assertError(
        await s.req('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext.id, floating_ip_address: '172.24.4.210' } }, ADMIN),
        409,
        'IpAddressAlreadyAllocated',
      );
      assertError(
        await s.req('POST', '/v2.0/ports', { port: { network_id: ext.id, fixed_ips: [{ ip_address: '172.24.4.210' }] } }, ADMIN),
        409,
        'IpAddressAlreadyAllocated',
      );
      const bySubnet = (await ok('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext.id, subnet_id: extSubnet.id } }, ALICE, 201))
        .floatingip;
      assert.ok(bySubnet.floating_ip_address.startsWith('172.24.4.'));
      // Association errors.
      const base = sn.cidr.split('.').slice(0, 3).join('.');
      const multi = await port(n.id, { fixed_ips: [{ ip_address: `${base}.50` }, { ip_address: `${base}.51` }] });
      assertError(
        await s.req('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext.id, port_id: multi.id } }),
        400,
        'BadRequest',
        'has multiple fixed IPv4 addresses',
      );
      assertError(
        await s.req('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext.id, port_id: multi.id, fixed_ip_address: `${base}.52` } }),
        400,
        'BadRequest',
        'does not have fixed ip',
      );
      assertError(
        await s.req('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext.id, fixed_ip_address: `${base}.50` } }),
        400,
        'BadRequest',
        'without a port_id',
      );
      const pick = (
        await ok(
          'POST',
          '/v2.0/floatingips',
          { floatingip: { floating_network_id: ext.id, port_id: multi.id, fixed_ip_address: `${base}.51` } },
          ALICE,
          201,
        )
      ).floatingip;
      assert.equal(pick.fixed_ip_address, `${base}.51`);
      const other = (await ok('PUT', `/v2.0/floatingips/${pick.id}`, { floatingip: { port_id: multi.id, fixed_ip_address: `${base}.50` } }))
        .floatingip;
      assert.equal(other.fixed_ip_address, `${base}.50`);
      // Unreachable: the port's subnet is on a router without a gateway, or on none.
      const lonely = await net();
      const lonelySubnet = await subnet(lonely.id);
      const lonelyPort = await port(lonely.id);
      assertError(
        await s.req('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext.id, port_id: lonelyPort.id } }),
        404,
        'ExternalGatewayForFloatingIPNotFound',
      );
      const noGw = await router();
      assert.equal((await addIf(noGw.id, { subnet_id: lonelySubnet.id })).status, 200);
      assertError(
        await s.req('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext.id, port_id: lonelyPort.id } }),
        404,
        'ExternalGatewayForFloatingIPNotFound',
      );
      assertError(
        await s.req('PUT', `/v2.0/floatingips/${bySubnet.id}`, { floatingip: { port_id: lonelyPort.id } }),
        404,
        'ExternalGatewayForFloatingIPNotFound',
      );
      // Someone else's port: 404 (not visible to the caller).
      const bobNet = await net({}, BOB);
      await subnet(bobNet.id, {}, BOB);
      const bobPort = await port(bobNet.id, {}, BOB);
      assertError(await s.req('PUT', `/v2.0/floatingips/${bySubnet.id}`, { floatingip: { port_id: bobPort.id } }), 404, 'PortNotFound');
    });

    it('deletes an external network with its unassociated floating IPs', async () => {
      const ext2 = await net({ 'router:external': true }, ADMIN);
      const sub2 = (
        await ok('POST', '/v2.0/subnets', { subnet: { network_id: ext2.id, ip_version: 4, cidr: '198.51.100.0/24', enable_dhcp: false } }, ADMIN, 201)
      ).subnet;
      const f = (await ok('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext2.id } }, ADMIN, 201)).floatingip;
      assert.equal((await ok('GET', `/v2.0/floatingips?floating_network_id=${ext2.id}`, undefined, ADMIN)).floatingips.length, 1);
      assert.equal((await s.req('DELETE', `/v2.0/networks/${ext2.id}`, undefined, ADMIN)).status, 204);
      assertError(await s.req('GET', `/v2.0/floatingips/${f.id}`, undefined, ADMIN), 404);
      assertError(await s.req('GET', `/v2.0/subnets/${sub2.id}`, undefined, ADMIN), 404);
    });

    it('counts routers and floating IPs against quotas', async () => {
      const project = 'project-l3-quota';
      const caller = { project, roles: 'member', user: 'q' };
      await ok('PUT', `/v2.0/quotas/${project}`, { quota: { router: 1, floatingip: 1 } }, ADMIN);
      const q = (await ok('GET', `/v2.0/quotas/${project}`, undefined, ADMIN)).quota;
      assert.equal(q.router, 1);
      assert.equal(q.floatingip, 1);
      await router({}, caller);
      assertError(await s.req('POST', '/v2.0/routers', { router: {} }, caller), 409, 'OverQuota');
      await ok('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext.id } }, caller, 201);
      assertError(await s.req('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext.id } }, caller), 409, 'OverQuota');
      const d = (await ok('GET', `/v2.0/quotas/${project}/details`, undefined, ADMIN)).quota;
      assert.equal(d.router.used, 1);
      assert.equal(d.floatingip.used, 1);
      const defaults = (await ok('GET', `/v2.0/quotas/${ALICE.project}/default`, undefined, ADMIN)).quota;
      assert.equal(defaults.router, 10);
      assert.equal(defaults.floatingip, 50);
    });

    it('tags routers and floating IPs', async () => {
      const r = await router();
      assert.equal((await s.req('PUT', `/v2.0/routers/${r.id}/tags/red`)).status, 201);
      assert.deepEqual((await ok('GET', `/v2.0/routers/${r.id}`, undefined)).router.tags, ['red']);
      assert.deepEqual(
        (await ok('GET', '/v2.0/routers?tags=red', undefined)).routers.map((x: any) => x.id),
        [r.id],
      );
      const f = (await ok('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext.id } }, ALICE, 201)).floatingip;
      assert.equal((await s.req('PUT', `/v2.0/floatingips/${f.id}/tags`, { tags: ['a', 'b'] })).status, 200);
      assert.deepEqual(
        (await ok('GET', `/v2.0/floatingips?tags-any=b`, undefined)).floatingips.map((x: any) => x.id),
        [f.id],
      );
    });

    it('concurrent floating IP creates never hand out one address twice', async () => {
      const ext3 = await net({ 'router:external': true }, ADMIN);
      await ok(
        'POST',
        '/v2.0/subnets',
        {
          subnet: {
            network_id: ext3.id,
            ip_version: 4,
            cidr: '203.0.113.0/24',
            enable_dhcp: false,
            allocation_pools: [{ start: '203.0.113.10', end: '203.0.113.29' }],
          },
        },
        ADMIN,
        201,
      );
      const project = 'project-fip-race';
      await ok('PUT', `/v2.0/quotas/${project}`, { quota: { floatingip: -1 } }, ADMIN);
      const caller = { project, roles: 'member', user: 'racer' };
      const results = await Promise.all(
        Array.from({ length: 40 }, () => s.req('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext3.id } }, caller)),
      );
      const created = results.filter((r) => r.status === 201);
      assert.equal(created.length, 20, JSON.stringify(results.filter((r) => r.status !== 201 && r.status !== 409).map((r) => r.body)));
      for (const r of results.filter((x) => x.status !== 201))
        assert.equal(r.body.NeutronError.type, 'IpAddressGenerationFailure', JSON.stringify(r.body));
      const addresses = created.map((r) => r.body.floatingip.floating_ip_address);
      assert.equal(new Set(addresses).size, 20);
      const listed = (await ok('GET', `/v2.0/floatingips?floating_network_id=${ext3.id}`, undefined, ADMIN)).floatingips;
      assert.equal(new Set(listed.map((f: any) => f.floating_ip_address)).size, listed.length);
      assert.equal(listed.length, 20);
      // Same address asked for by many: one wins.
      for (const f of listed.slice(0, 1)) await ok('DELETE', `/v2.0/floatingips/${f.id}`, undefined, ADMIN);
      const freed = listed[0].floating_ip_address;
      const same = await Promise.all(
        Array.from({ length: 10 }, () =>
          s.req('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext3.id, floating_ip_address: freed } }, ADMIN),
        ),
      );
      assert.equal(same.filter((r) => r.status === 201).length, 1);
      for (const r of same.filter((x) => x.status !== 201))
        assert.equal(r.body.NeutronError.type, 'IpAddressAlreadyAllocated', JSON.stringify(r.body));
    });

    it('concurrent adds of one subnet to a router leave one interface; to several routers, one wins', async () => {
      const n = await net();
      const sn = await subnet(n.id);
      const r = await router();
      const results = await Promise.all(Array.from({ length: 12 }, () => addIf(r.id, { subnet_id: sn.id })));
      assert.equal(results.filter((x) => x.status === 200).length, 1, JSON.stringify(results.map((x) => x.status)));
      for (const x of results.filter((y) => y.status !== 200)) {
        assert.ok(x.status === 400 || x.status === 409, JSON.stringify(x.body));
      }
      const ports = (await ok('GET', `/v2.0/ports?device_id=${r.id}`, undefined)).ports;
      assert.equal(ports.length, 1);
      assert.equal(ports[0].fixed_ips[0].ip_address, sn.gateway_ip);

      const sn2 = await subnet((await net()).id);
      const routers = await Promise.all(Array.from({ length: 6 }, () => router()));
      const many = await Promise.all(routers.map((x) => addIf(x.id, { subnet_id: sn2.id })));
      assert.equal(many.filter((x) => x.status === 200).length, 1, JSON.stringify(many.map((x) => x.body)));
      for (const x of many.filter((y) => y.status !== 200)) assert.equal(x.body.NeutronError.type, 'IpAddressAlreadyAllocated');
      const onSubnet = (await ok('GET', `/v2.0/ports?fixed_ips=subnet_id=${sn2.id}`, undefined)).ports;
      assert.equal(onSubnet.length, 1);

      // One port offered to several routers at once: one takes it.
      const n3 = await net();
      await subnet(n3.id);
      const shared = await port(n3.id);
      const takers = await Promise.all(Array.from({ length: 5 }, () => router()));
      const byPort = await Promise.all(takers.map((x) => addIf(x.id, { port_id: shared.id })));
      assert.equal(byPort.filter((x) => x.status === 200).length, 1, JSON.stringify(byPort.map((x) => x.body)));
      for (const x of byPort.filter((y) => y.status !== 200)) assert.equal(x.body.NeutronError.type, 'PortInUse');

      // Concurrent floating IP associations of one fixed IP: one wins.
      const t = await topology();
      const p = await port(t.n.id);
      const fips = await Promise.all(
        Array.from(
          { length: 6 },
          async () => (await ok('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext.id } }, ALICE, 201)).floatingip,
        ),
      );
      const assoc = await Promise.all(fips.map((f) => s.req('PUT', `/v2.0/floatingips/${f.id}`, { floatingip: { port_id: p.id } })));
      assert.equal(assoc.filter((x) => x.status === 200).length, 1, JSON.stringify(assoc.map((x) => x.body)));
      for (const x of assoc.filter((y) => y.status !== 200)) assert.equal(x.body.NeutronError.type, 'FloatingIPPortAlreadyAssociated');
    });
  });
}

// external-gateway-multihoming and enable-default-route-ecmp on every backend, through the real
// HTTP server: the three member actions as Neutron's l3_extra_gws_db does them (the first gateway
// is external_gateway_info's; matching by network and addresses; promotion of the next one when
// the first goes), their validation and policy, the gateway ports, floating IPs keeping their
// gateway, what sync_routers gives the L3 agent, and concurrent adds on one router.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { ADMIN, ALICE, BOB, startServer, type TestServer, okCalls } from '../helpers/server.js';
import { assertError } from '../helpers/assert-error.js';
import { MemoryBroker, MemoryBus, silentLogger, type RpcBus } from '../../src/rpc/index.js';
import { createOrUpdateAgent } from '../../src/plugins/agents/report-state.js';

for (const backend of BACKENDS) {
  describe(`external gateway multihoming on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let s: TestServer;
    let agentBus: RpcBus;
    let extA: any;
    let extB: any;
    let subA: any;
    let subB: any;
    const ok = okCalls(() => s, ADMIN);
    const act = (id: string, action: string, gws: unknown, as = ALICE) =>
      s.req('PUT', `/v2.0/routers/${id}/${action}`, { router: { external_gateways: gws } }, as);
    const router = async (body: object = {}, as = ALICE) => (await ok('POST', '/v2.0/routers', { router: { name: 'r', ...body } }, as)).router;
    const gwPorts = async (routerId: string) =>
      (await ok('GET', `/v2.0/ports?device_id=${routerId}&device_owner=network:router_gateway`)).ports as any[];
    const nets = (r: any) => r.external_gateways.map((g: any) => g.network_id);

    before(async () => {
      const broker = new MemoryBroker();
      agentBus = new MemoryBus({ broker, logger: silentLogger });
      s = await startServer(backend, {}, { bus: new MemoryBus({ broker, logger: silentLogger }) });
      // An L3 agent (and the L2 agent its ports are bound with) that routers are scheduled to.
      const host = `mh-${backend.name}`;
      for (const agent of [
        { agent_type: 'L3 agent', binary: 'neutron-l3-agent', topic: 'l3_agent', configurations: { agent_mode: 'legacy' } },
        {
          agent_type: 'Linux bridge agent',
          binary: 'neutron-linuxbridge-agent',
          topic: 'N/A',
          configurations: { tunnel_types: ['vxlan'], tunneling_ip: '10.0.0.9', interface_mappings: {} },
        },
      ]) {
        await createOrUpdateAgent(s.server.db, { ...agent, host }, { agentDownTime: 75 });
      }
      for (const who of [ALICE, ADMIN]) await ok('PUT', `/v2.0/quotas/${who.project}`, { quota: { router: -1, floatingip: -1 } });
      extA = (await ok('POST', '/v2.0/networks', { network: { name: 'extA', 'router:external': true } })).network;
      extB = (await ok('POST', '/v2.0/networks', { network: { name: 'extB', 'router:external': true } })).network;
      subA = (await ok('POST', '/v2.0/subnets', { subnet: { network_id: extA.id, ip_version: 4, cidr: '198.51.100.0/24' } })).subnet;
      subB = (await ok('POST', '/v2.0/subnets', { subnet: { network_id: extB.id, ip_version: 4, cidr: '203.0.113.0/24' } })).subnet;
    });
    after(async () => {
      await s?.stop();
    });

    it('lists both extensions; a router shows external_gateways and enable_default_route_ecmp', async () => {
      const aliases = (await s.req('GET', '/v2.0/extensions')).body.extensions.map((e: any) => e.alias);
      assert.ok(aliases.includes('external-gateway-multihoming'));
      assert.ok(aliases.includes('enable-default-route-ecmp'));
      const r = await router();
      assert.deepEqual(r.external_gateways, []);
      assert.equal(r.enable_default_route_ecmp, false);
      const g = await router({ external_gateway_info: { network_id: extA.id } });
      assert.deepEqual(g.external_gateways, [{ network_id: extA.id, external_fixed_ips: g.external_gateway_info.external_fixed_ips }]);
      // external_gateways is read-only on create and update.
      assertError(await s.req('POST', '/v2.0/routers', { router: { external_gateways: [] } }, ALICE), 400, 'HTTPBadRequest');
      assertError(await s.req('PUT', `/v2.0/routers/${r.id}`, { router: { external_gateways: [] } }, ALICE), 400, 'HTTPBadRequest');
    });

    it('add_external_gateways: the first becomes external_gateway_info, the others further gateway ports', async () => {
      const r = await router();
      const res = await act(r.id, 'add_external_gateways', [{ network_id: extA.id }, { network_id: extB.id }]);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const after = res.body.router;
      assert.deepEqual(nets(after), [extA.id, extB.id]);
      assert.equal(after.external_gateway_info.network_id, extA.id);
      assert.equal(after.external_gateway_info.enable_snat, true);
      assert.equal(after.revision_number, r.revision_number + 1);
      const ports = await gwPorts(r.id);
      assert.equal(ports.length, 2);
      assert.deepEqual(ports.map((p) => p.network_id).sort(), [extA.id, extB.id].sort());
      for (const p of ports) assert.equal(p.project_id, '');
      // A second gateway on a network it has one on already (multihoming allows it), then the
      // addresses each gateway has are shown.
      const third = (await act(r.id, 'add_external_gateways', [{ network_id: extA.id }])).body.router;
      // The first stays first; the others come oldest first (created_at, then id).
      assert.equal(third.external_gateways[0].network_id, extA.id);
      assert.deepEqual(nets(third).slice(1).sort(), [extA.id, extB.id].sort());
      const shown = (await ok('GET', `/v2.0/routers/${r.id}`, undefined, ALICE)).router;
      assert.deepEqual(shown.external_gateways, third.external_gateways);
      const ips = new Set(shown.external_gateways.flatMap((g: any) => g.external_fixed_ips.map((f: any) => f.ip_address)));
      assert.equal(ips.size, 3);
    });

    it('remove_external_gateways: by network or by address; the oldest left takes the first place', async () => {
      const r = await router();
      await act(r.id, 'add_external_gateways', [{ network_id: extA.id }, { network_id: extB.id }]);
      const removed = await act(r.id, 'remove_external_gateways', [{ network_id: extA.id }]);
      assert.equal(removed.status, 200, JSON.stringify(removed.body));
      assert.deepEqual(nets(removed.body.router), [extB.id]);
      assert.equal(removed.body.router.external_gateway_info.network_id, extB.id);
      assert.equal((await gwPorts(r.id)).length, 1);
      // Two on extB: by network alone is ambiguous, by address is not.
      const two = (await act(r.id, 'add_external_gateways', [{ network_id: extB.id }])).body.router;
      assertError(await act(r.id, 'remove_external_gateways', [{ network_id: extB.id }]), 400, 'UnableToMatchGateways');
      const second = two.external_gateways[1].external_fixed_ips[0];
      const one = (await act(r.id, 'remove_external_gateways', [{ network_id: extB.id, external_fixed_ips: [{ ip_address: second.ip_address }] }]))
        .body.router;
      assert.equal(one.external_gateways.length, 1);
      assert.notEqual(one.external_gateways[0].external_fixed_ips[0].ip_address, second.ip_address);
      // A network it has no gateway on; an address no gateway has.
      assertError(await act(r.id, 'remove_external_gateways', [{ network_id: extA.id }]), 400, 'UnableToMatchGateways');
      assertError(
        await act(r.id, 'remove_external_gateways', [{ network_id: extB.id, external_fixed_ips: [{ ip_address: '203.0.113.250' }] }]),
        400,
        'UnableToMatchGateways',
      );
      const none = (await act(r.id, 'remove_external_gateways', [{ network_id: extB.id }])).body.router;
      assert.deepEqual(none.external_gateways, []);
      assert.equal(none.external_gateway_info, null);
      assertError(await act(r.id, 'remove_external_gateways', [{ network_id: extB.id }]), 400, 'UnableToRemoveGateways');
    });

    it('update_external_gateways: reorders, re-addresses, adds and removes; [] removes all', async () => {
      const r = await router();
      await act(r.id, 'add_external_gateways', [{ network_id: extA.id }, { network_id: extB.id }]);
      const portsBefore = new Set((await gwPorts(r.id)).map((p) => p.id));
      // Swapped: the same two ports, extB's now first.
      const swapped = (await act(r.id, 'update_external_gateways', [{ network_id: extB.id }, { network_id: extA.id }], ADMIN)).body.router;
      assert.deepEqual(nets(swapped), [extB.id, extA.id]);
      assert.equal(swapped.external_gateway_info.network_id, extB.id);
      assert.deepEqual(new Set((await gwPorts(r.id)).map((p) => p.id)), portsBefore);
      // A chosen address for the extA gateway (admins only), and extB dropped.
      const moved = (
        await act(
          r.id,
          'update_external_gateways',
          [{ network_id: extA.id, external_fixed_ips: [{ subnet_id: subA.id, ip_address: '198.51.100.77' }] }],
          ADMIN,
        )
      ).body.router;
      assert.deepEqual(moved.external_gateways, [{ network_id: extA.id, external_fixed_ips: [{ ip_address: '198.51.100.77', subnet_id: subA.id }] }]);
      assert.equal((await gwPorts(r.id)).length, 1);
      // extB comes back as a further gateway.
      const again = (await act(r.id, 'update_external_gateways', [{ network_id: extA.id }, { network_id: extB.id }])).body.router;
      assert.deepEqual(nets(again), [extA.id, extB.id]);
      assert.equal(again.external_gateways[0].external_fixed_ips[0].ip_address, '198.51.100.77');
      const cleared = (await act(r.id, 'update_external_gateways', [])).body.router;
      assert.deepEqual(cleared.external_gateways, []);
      assert.equal(cleared.external_gateway_info, null);
      assert.equal((await gwPorts(r.id)).length, 0);
    });

    it('external_gateway_info still drives the first gateway; clearing it promotes the next', async () => {
      const r = await router({ external_gateway_info: { network_id: extA.id } });
      await act(r.id, 'add_external_gateways', [{ network_id: extB.id }]);
      const cleared = (await ok('PUT', `/v2.0/routers/${r.id}`, { router: { external_gateway_info: null } }, ALICE)).router;
      assert.deepEqual(nets(cleared), [extB.id]);
      assert.equal(cleared.external_gateway_info.network_id, extB.id);
      // Deleting the router takes every gateway port.
      await act(r.id, 'add_external_gateways', [{ network_id: extA.id }]);
      assert.equal((await gwPorts(r.id)).length, 2);
      await ok('DELETE', `/v2.0/routers/${r.id}`, undefined, ALICE);
      assert.equal((await gwPorts(r.id)).length, 0);
    });

    it('validation: bad bodies, internal networks, overlapping internal subnets', async () => {
      const r = await router();
      assertError(await s.req('PUT', `/v2.0/routers/${r.id}/add_external_gateways`, { external_gateways: [] }, ALICE), 400, 'HTTPBadRequest');
      assertError(await act(r.id, 'add_external_gateways', 'x'), 400, 'HTTPBadRequest');
      assertError(await act(r.id, 'add_external_gateways', [{}]), 400, 'HTTPBadRequest');
      assertError(await act(r.id, 'add_external_gateways', [{ network_id: 'nope' }]), 400, 'HTTPBadRequest');
      assertError(await act(r.id, 'add_external_gateways', [{ network_id: extA.id, bogus: 1 }]), 400, 'HTTPBadRequest');
      assertError(await act(r.id, 'add_external_gateways', [{ network_id: '2a8b7c3e-1111-4222-8333-944445555666' }]), 404, 'NetworkNotFound');
      const internal = (await ok('POST', '/v2.0/networks', { network: { name: 'int' } }, ALICE)).network;
      const intSub = (await ok('POST', '/v2.0/subnets', { subnet: { network_id: internal.id, ip_version: 4, cidr: '10.9.0.0/24' } }, ALICE)).subnet;
      assertError(await act(r.id, 'add_external_gateways', [{ network_id: internal.id }]), 400, 'BadRequest');
      // A gateway address that is the subnet's gateway IP.
      assertError(
        await act(r.id, 'add_external_gateways', [{ network_id: extA.id, external_fixed_ips: [{ ip_address: subA.gateway_ip }] }], ADMIN),
        400,
        'BadRequest',
      );
      // An external network overlapping an internal interface is refused for a further gateway too.
      const extC = (await ok('POST', '/v2.0/networks', { network: { name: 'extC', 'router:external': true } })).network;
      await ok('POST', '/v2.0/subnets', { subnet: { network_id: extC.id, ip_version: 4, cidr: '10.9.0.0/16' } });
      await ok('PUT', `/v2.0/routers/${r.id}/add_router_interface`, { subnet_id: intSub.id }, ALICE);
      await act(r.id, 'add_external_gateways', [{ network_id: extA.id }]);
      assertError(await act(r.id, 'add_external_gateways', [{ network_id: extC.id }]), 400, 'BadRequest');
      assert.equal((await gwPorts(r.id)).length, 1);
      // No 'external_gateways': nothing changes.
      const same = await s.req('PUT', `/v2.0/routers/${r.id}/add_external_gateways`, { router: {} }, ALICE);
      assert.equal(same.status, 200);
      assert.equal(same.body.router.external_gateways.length, 1);
    });

    it('policy: members may add by network, fixed IPs and enable_snat are admin-only; other projects see 404', async () => {
      const r = await router();
      assertError(await act(r.id, 'add_external_gateways', [{ network_id: extA.id }], BOB), 404, 'RouterNotFound');
      assertError(
        await act(r.id, 'add_external_gateways', [{ network_id: extA.id, external_fixed_ips: [{ subnet_id: subA.id }] }]),
        403,
        'PolicyNotAuthorized',
      );
      assertError(await act(r.id, 'add_external_gateways', [{ network_id: extA.id, enable_snat: false }]), 403, 'PolicyNotAuthorized');
      assertError(await act(r.id, 'update_external_gateways', [{ network_id: extA.id, enable_snat: false }]), 403, 'PolicyNotAuthorized');
      assert.equal((await gwPorts(r.id)).length, 0);
      const byAdmin = (await act(r.id, 'add_external_gateways', [{ network_id: extA.id, enable_snat: false }], ADMIN)).body.router;
      assert.equal(byAdmin.external_gateway_info.enable_snat, false);
      // enable_default_route_ecmp: admins only (create_router: and update_router:).
      assertError(await s.req('POST', '/v2.0/routers', { router: { enable_default_route_ecmp: true } }, ALICE), 403, 'PolicyNotAuthorized');
      assertError(await s.req('PUT', `/v2.0/routers/${r.id}`, { router: { enable_default_route_ecmp: true } }, ALICE), 403, 'PolicyNotAuthorized');
      const ecmp = (await ok('PUT', `/v2.0/routers/${r.id}`, { router: { enable_default_route_ecmp: true } })).router;
      assert.equal(ecmp.enable_default_route_ecmp, true);
      const made = (await ok('POST', '/v2.0/routers', { router: { enable_default_route_ecmp: 'true', tenant_id: ALICE.project } })).router;
      assert.equal(made.enable_default_route_ecmp, true);
      assertError(await s.req('PUT', `/v2.0/routers/${r.id}`, { router: { enable_default_route_ecmp: 'maybe' } }), 400, 'HTTPBadRequest');
    });

    it('floating IPs keep the gateway of their network', async () => {
      const r = await router();
      await act(r.id, 'add_external_gateways', [{ network_id: extA.id }, { network_id: extB.id }]);
      const internal = (await ok('POST', '/v2.0/networks', { network: { name: 'int2' } }, ALICE)).network;
      const intSub = (await ok('POST', '/v2.0/subnets', { subnet: { network_id: internal.id, ip_version: 4, cidr: '10.19.0.0/24' } }, ALICE)).subnet;
      await ok('PUT', `/v2.0/routers/${r.id}/add_router_interface`, { subnet_id: intSub.id }, ALICE);
      const vm = (await ok('POST', '/v2.0/ports', { port: { network_id: internal.id } }, ALICE)).port;
      // A floating IP on the further gateway's network is reachable through this router.
      const fip = (await ok('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: extB.id, port_id: vm.id } }, ALICE)).floatingip;
      assert.equal(fip.router_id, r.id);
      assertError(await act(r.id, 'remove_external_gateways', [{ network_id: extB.id }]), 409, 'RouterExternalGatewayInUseByFloatingIp');
      await ok('DELETE', `/v2.0/floatingips/${fip.id}`, undefined, ALICE);
      assert.equal((await act(r.id, 'remove_external_gateways', [{ network_id: extB.id }])).status, 200);
    });

    it('sync_routers gives the agent the further gateway ports, bound to its host', async () => {
      const r = await router();
      await act(r.id, 'add_external_gateways', [{ network_id: extA.id }, { network_id: extB.id }]);
      const [synced] = await agentBus.call<any[]>(
        'q-l3-plugin',
        'sync_routers',
        { host: `mh-${backend.name}`, router_ids: [r.id] },
        { timeoutMs: 20_000 },
      );
      assert.equal(synced.gw_port.network_id, extA.id);
      assert.equal(synced._extra_gw_ports.length, 1);
      const extra = synced._extra_gw_ports[0];
      assert.equal(extra.network_id, extB.id);
      assert.equal(extra.subnets[0].cidr, '203.0.113.0/24');
      assert.equal(extra.subnets[0].gateway_ip, subB.gateway_ip);
      const port = (await ok('GET', `/v2.0/ports/${extra.id}`)).port;
      assert.equal(port['binding:host_id'], `mh-${backend.name}`);
    });

    it('concurrent add_external_gateways on one router: one first gateway, one port per request', async () => {
      const r = await router();
      const N = 6;
      const results = await Promise.all(
        Array.from({ length: N }, (_, i) => act(r.id, 'add_external_gateways', [{ network_id: i % 2 ? extA.id : extB.id }])),
      );
      for (const res of results) assert.equal(res.status, 200, JSON.stringify(res.body));
      const ports = await gwPorts(r.id);
      assert.equal(ports.length, N);
      const shown = (await ok('GET', `/v2.0/routers/${r.id}`, undefined, ALICE)).router;
      assert.equal(shown.external_gateways.length, N);
      assert.ok(ports.some((p) => p.network_id === shown.external_gateway_info.network_id));
      // The same address asked twice at once: one wins, the other is refused, no second port.
      // (On a network of its own: no earlier random allocation can hold the address.)
      const r2 = await router();
      const extD = (await ok('POST', '/v2.0/networks', { network: { name: 'extD', 'router:external': true } })).network;
      await ok('POST', '/v2.0/subnets', { subnet: { network_id: extD.id, ip_version: 4, cidr: '192.0.2.0/24' } });
      const same = [{ network_id: extD.id, external_fixed_ips: [{ ip_address: '192.0.2.200' }] }];
      const two = await Promise.all([act(r2.id, 'add_external_gateways', same, ADMIN), act(r2.id, 'add_external_gateways', same, ADMIN)]);
      assert.deepEqual(two.map((x) => x.status).sort(), [200, 409], JSON.stringify(two.map((x) => x.body)));
      assertError(two.find((x) => x.status === 409)!, 409, 'IpAddressAlreadyAllocated');
      assert.equal((await gwPorts(r2.id)).length, 1);
      const rows = (await ok('GET', `/v2.0/ports?fixed_ips=ip_address%3D192.0.2.200`)).ports;
      assert.equal(rows.length, 1);
    });
  });
}

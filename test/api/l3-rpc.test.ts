// The server side of L3 agents and the agents' view of L3 ports, on every backend with the
// in-memory bus: the L3RpcCallback methods on q-l3-plugin (sync_routers with gateway ports,
// interfaces, floating IPs and extra routes, binding of router ports to the agent's host,
// get_router_ids, update_floatingip_statuses), and the DHCP casts for the ports the L3 plugin
// creates, changes and deletes (router gateways and interfaces, floating IP ports), which DHCP
// agents need for their host files as they need API ports.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { ADMIN, ALICE, BOB, startServer, type TestServer, okCalls } from '../helpers/server.js';
import { MemoryBroker, MemoryBus, silentLogger, type RpcBus } from '../../src/rpc/index.js';
import { createOrUpdateAgent } from '../../src/plugins/agents/report-state.js';
import { DHCP_AGENT_EVENTS } from '../../src/core/wire.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { registerLinuxBridgeAgent } from '../helpers/agents.js';

interface Cast {
  method: string;
  args: any;
}

for (const backend of BACKENDS) {
  describe(`L3 agent RPC and L3 port notifications on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let s: TestServer;
    let broker: MemoryBroker;
    let serverBus: RpcBus;
    let agentBus: RpcBus;
    const DHCP_HOST = `dhcp-l3-${backend.name}`;
    const L3_HOST = `net-l3-${backend.name}`;
    const casts: Cast[] = [];
    let ext: any;
    let extSubnet: any;
    let cidrN = 0;

    const l3 = <T = any>(method: string, args: Record<string, unknown> = {}) => agentBus.call<T>('q-l3-plugin', method, args, { timeoutMs: 10_000 });
    /** Where new casts start, once the notifier has sent everything before. */
    const mark = async () => {
      await s.server.settled();
      await sleep(20);
      return casts.length;
    };
    /** The port casts since `from`, as "method owner" (or "method id" for deletes). */
    const portCasts = async (from: number) => {
      await s.server.settled();
      // Every caller expects at least one cast; on a loaded machine it may still be on the bus.
      const since = () => casts.slice(from).filter((c) => c.method.startsWith('port_'));
      await waitFor('a port cast', async () => since().length > 0, 5000, 10).catch(() => undefined);
      await sleep(50);
      return since();
    };
    const ok = okCalls(() => s, ALICE);
    const net = async (body: object = {}, as = ALICE) => (await ok('POST', '/v2.0/networks', { network: { name: 'n', ...body } }, as)).network;
    const subnet = async (networkId: string, body: object = {}, as = ALICE) =>
      (await ok('POST', '/v2.0/subnets', { subnet: { network_id: networkId, ip_version: 4, cidr: `10.${70 + cidrN}.${cidrN++}.0/24`, ...body } }, as))
        .subnet;
    const fip = async (body: object = {}, as = ALICE) =>
      (await ok('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext.id, ...body } }, as)).floatingip;

    before(async () => {
      broker = new MemoryBroker();
      serverBus = new MemoryBus({ broker, logger: silentLogger });
      agentBus = new MemoryBus({ broker, logger: silentLogger });
      s = await startServer(backend, {}, { bus: serverBus });
      const record = (method: string) => (_ctx: unknown, args: unknown) => {
        casts.push({ method, args });
      };
      await agentBus.serve('dhcp_agent', DHCP_HOST, Object.fromEntries(DHCP_AGENT_EVENTS.map((m) => [m, record(m)])));
      // The L2 agents' port_delete fanout.
      await agentBus.serve('q-agent-notifier-port-delete', L3_HOST, { port_delete: record('l2_port_delete') });
      const reported = await agentBus.call('q-reports-plugin', 'report_state', {
        agent_state: {
          agent_state: {
            agent_type: 'DHCP agent',
            binary: 'neutron-dhcp-agent',
            host: DHCP_HOST,
            topic: 'dhcp_agent',
            configurations: {},
            start_flag: true,
          },
        },
        time: new Date().toISOString().replace('Z', ''),
      });
      assert.equal(reported, 'new');
      // The L3 agent the scheduler gives routers to, and the L3 host's Linux bridge agent, so that
      // router ports can be bound there.
      await createOrUpdateAgent(
        s.server.db,
        {
          agent_type: 'L3 agent',
          binary: 'neutron-l3-agent',
          host: L3_HOST,
          topic: 'l3_agent',
          configurations: { agent_mode: 'legacy' },
        },
        { agentDownTime: 75 },
      );
      await registerLinuxBridgeAgent(s.server.db, L3_HOST, '10.0.0.9');
      for (const who of [ALICE, BOB]) await ok('PUT', `/v2.0/quotas/${who.project}`, { quota: { router: -1, floatingip: -1 } }, ADMIN);
      ext = await net({ name: 'public', 'router:external': true }, ADMIN);
      // DHCP on the external subnet, so that its network is scheduled and its ports are cast.
      extSubnet = await subnet(ext.id, { cidr: '172.30.0.0/24' }, ADMIN);
    });
    after(async () => {
      await s?.stop();
      await agentBus?.close();
      await serverBus?.close();
    });

    it('casts router gateway, interface and floating IP ports to the DHCP agent as it casts API ports', async () => {
      const n = await net();
      const sn = await subnet(n.id);
      let c0 = await mark();
      const r = (await ok('POST', '/v2.0/routers', { router: { name: 'r', external_gateway_info: { network_id: ext.id } } })).router;
      let got = await portCasts(c0);
      assert.deepEqual(
        got.map((c) => `${c.method} ${c.args.payload.port?.device_owner}`),
        ['port_create_end network:router_gateway'],
      );
      const gwPort = got[0]!.args.payload.port;
      assert.equal(gwPort.device_id, r.id);
      assert.equal(gwPort.network_id, ext.id);
      assert.deepEqual(gwPort.fixed_ips, r.external_gateway_info.external_fixed_ips);

      c0 = await mark();
      const added = await ok('PUT', `/v2.0/routers/${r.id}/add_router_interface`, { subnet_id: sn.id });
      got = await portCasts(c0);
      assert.deepEqual(
        got.map((c) => `${c.method} ${c.args.payload.port?.device_owner}`),
        ['port_create_end network:router_interface'],
      );
      assert.equal(got[0]!.args.payload.port.id, added.port_id);
      assert.deepEqual(got[0]!.args.payload.port.fixed_ips, [{ subnet_id: sn.id, ip_address: sn.gateway_ip }]);

      // A port that becomes an interface: announced as a creation, with its new owner.
      const sn2 = await subnet(n.id);
      const own = (await ok('POST', '/v2.0/ports', { port: { network_id: n.id, fixed_ips: [{ subnet_id: sn2.id }] } })).port;
      c0 = await mark();
      await ok('PUT', `/v2.0/routers/${r.id}/add_router_interface`, { port_id: own.id });
      got = await portCasts(c0);
      assert.deepEqual(
        got.map((c) => `${c.method} ${c.args.payload.port?.id} ${c.args.payload.port?.device_owner}`),
        [`port_create_end ${own.id} network:router_interface`],
      );

      c0 = await mark();
      const f = await fip();
      got = await portCasts(c0);
      assert.deepEqual(
        got.map((c) => `${c.method} ${c.args.payload.port?.device_owner}`),
        ['port_create_end network:floatingip'],
      );
      const fipPort = got[0]!.args.payload.port;
      assert.equal(fipPort.device_id, f.id);
      assert.equal(fipPort.status, 'N/A');
      assert.deepEqual(
        fipPort.fixed_ips.map((x: any) => x.ip_address),
        [f.floating_ip_address],
      );
      c0 = await mark();
      await ok('DELETE', `/v2.0/floatingips/${f.id}`, undefined);
      got = await portCasts(c0);
      assert.deepEqual(
        got.map((c) => c.method),
        ['port_delete_end'],
      );
      assert.deepEqual(got[0]!.args.payload, { port_id: fipPort.id, network_id: ext.id, fixed_ips: fipPort.fixed_ips });

      // The gateway's address changes: an update.
      c0 = await mark();
      const moved = (
        await ok(
          'PUT',
          `/v2.0/routers/${r.id}`,
          {
            router: {
              external_gateway_info: {
                network_id: ext.id,
                external_fixed_ips: [{ subnet_id: extSubnet.id, ip_address: '172.30.0.200' }],
              },
            },
          },
          ADMIN,
        )
      ).router;
      assert.equal(moved.external_gateway_info.external_fixed_ips[0].ip_address, '172.30.0.200');
      got = await portCasts(c0);
      assert.deepEqual(
        got.map((c) => `${c.method} ${c.args.payload.port?.id}`),
        [`port_update_end ${gwPort.id}`],
      );
      assert.deepEqual(
        got[0]!.args.payload.port.fixed_ips.map((x: any) => x.ip_address),
        ['172.30.0.200'],
      );

      c0 = await mark();
      await ok('PUT', `/v2.0/routers/${r.id}/remove_router_interface`, { subnet_id: sn.id });
      await ok('PUT', `/v2.0/routers/${r.id}/remove_router_interface`, { port_id: own.id });
      await ok('DELETE', `/v2.0/routers/${r.id}`, undefined);
      got = await portCasts(c0);
      assert.deepEqual(
        got.map((c) => `${c.method} ${c.args.payload.port_id}`),
        [`port_delete_end ${added.port_id}`, `port_delete_end ${own.id}`, `port_delete_end ${gwPort.id}`],
      );
      assert.deepEqual(got[0]!.args.payload.fixed_ips, [{ subnet_id: sn.id, ip_address: sn.gateway_ip }]);
      assert.equal(got[2]!.args.payload.network_id, ext.id);
    });

    it('sync_routers returns routers whole (gateway port, interfaces, floating IPs, routes) and binds their ports to the host', async () => {
      const n = await net();
      const sn = await subnet(n.id, { dns_nameservers: ['10.9.9.9'] });
      const r = (await ok('POST', '/v2.0/routers', { router: { name: 'sync', external_gateway_info: { network_id: ext.id } } })).router;
      const intf = await ok('PUT', `/v2.0/routers/${r.id}/add_router_interface`, { subnet_id: sn.id });
      const vm = (await ok('POST', '/v2.0/ports', { port: { network_id: n.id, name: 'vm' } })).port;
      const f = await fip({ port_id: vm.id });
      const hop = sn.gateway_ip.replace(/\.1$/, '.7');
      await ok('PUT', `/v2.0/routers/${r.id}`, { router: { routes: [{ destination: '192.168.77.0/24', nexthop: hop }] } });
      const down = (await ok('POST', '/v2.0/routers', { router: { name: 'off', admin_state_up: false } })).router;

      const routers = await l3<any[]>('sync_routers', { host: L3_HOST, router_ids: [r.id, down.id] });
      assert.deepEqual(
        routers.map((x) => x.id),
        [r.id],
        'a router that is administratively down is left out',
      );
      const x = routers[0];
      assert.equal(x.name, 'sync');
      assert.equal(x.admin_state_up, true);
      assert.equal(x.tenant_id, ALICE.project);
      assert.equal(x.enable_snat, true);
      assert.equal(x.external_gateway_info.network_id, ext.id);
      assert.deepEqual(x.routes, [{ destination: '192.168.77.0/24', nexthop: hop }]);
      assert.equal(x.gw_port_id, x.gw_port.id);
      assert.equal(x.gw_port.device_owner, 'network:router_gateway');
      assert.equal(x.gw_port.fixed_ips[0].prefixlen, 24);
      assert.deepEqual(
        x.gw_port.subnets.map((y: any) => [y.id, y.cidr, y.gateway_ip]),
        [[extSubnet.id, '172.30.0.0/24', '172.30.0.1']],
      );
      assert.deepEqual(x.gw_port.extra_subnets, []);
      assert.deepEqual(x.gw_port.address_scopes, { 4: null, 6: null });
      assert.equal(x.gw_port.mtu, ext.mtu);
      assert.equal(x._interfaces.length, 1);
      const i = x._interfaces[0];
      assert.equal(i.id, intf.port_id);
      assert.deepEqual(i.fixed_ips, [{ subnet_id: sn.id, ip_address: sn.gateway_ip, prefixlen: 24 }]);
      assert.deepEqual(i.subnets, [
        { id: sn.id, cidr: sn.cidr, gateway_ip: sn.gateway_ip, dns_nameservers: ['10.9.9.9'], ipv6_ra_mode: null, subnetpool_id: null },
      ]);
      assert.equal(i.mtu, n.mtu);
      assert.equal(x._floatingips.length, 1);
      const xf = x._floatingips[0];
      assert.deepEqual(
        [xf.id, xf.floating_ip_address, xf.port_id, xf.fixed_ip_address, xf.router_id, xf.status],
        [f.id, f.floating_ip_address, vm.id, vm.fixed_ips[0].ip_address, r.id, 'DOWN'],
      );
      assert.equal(xf.fixed_ip_address_scope, null);
      // Bound to the agent's host, with the Linux bridge agent there.
      for (const p of [x.gw_port, i]) {
        assert.equal(p['binding:host_id'], L3_HOST);
        assert.equal(p['binding:vif_type'], 'bridge');
      }
      const shown = (await ok('GET', `/v2.0/ports/${intf.port_id}`, undefined, ADMIN)).port;
      assert.equal(shown['binding:host_id'], L3_HOST);

      // Without router_ids: every active router; get_router_ids names them all.
      const all = await l3<any[]>('sync_routers', { host: L3_HOST });
      assert.ok(all.some((y) => y.id === r.id));
      assert.ok(!all.some((y) => y.id === down.id));
      const ids = await l3<string[]>('get_router_ids', { host: L3_HOST });
      assert.ok(ids.includes(r.id) && ids.includes(down.id));
      assert.deepEqual(await l3('get_service_plugin_list'), ['CORE', 'L3_ROUTER_NAT']);
      // A host without the router's L3 agent gets nothing and does not take the ports away.
      assert.deepEqual(await l3('sync_routers', { host: 'another-host', router_ids: [r.id] }), []);
      assert.equal((await ok('GET', `/v2.0/ports/${intf.port_id}`, undefined, ADMIN)).port['binding:host_id'], L3_HOST);
      assert.deepEqual(await l3('sync_routers', { host: L3_HOST, router_ids: ['00000000-0000-0000-0000-000000000000'] }), []);
      // Removing the bound interface tells the L2 agents, as deleting an API port does.
      await ok('PUT', `/v2.0/floatingips/${f.id}`, { floatingip: { port_id: null } });
      await ok('PUT', `/v2.0/routers/${r.id}`, { router: { routes: [] } });
      const c0 = await mark();
      await ok('PUT', `/v2.0/routers/${r.id}/remove_router_interface`, { subnet_id: sn.id });
      await sleep(20);
      assert.deepEqual(
        casts
          .slice(c0)
          .filter((c) => c.method === 'l2_port_delete')
          .map((c) => c.args.port_id),
        [intf.port_id],
      );
    });

    it('update_floatingip_statuses: the agent sets ACTIVE; a disassociated floating IP goes DOWN', async () => {
      const n = await net();
      const sn = await subnet(n.id);
      const r = (await ok('POST', '/v2.0/routers', { router: { name: 'st', external_gateway_info: { network_id: ext.id } } })).router;
      await ok('PUT', `/v2.0/routers/${r.id}/add_router_interface`, { subnet_id: sn.id });
      const vm = (await ok('POST', '/v2.0/ports', { port: { network_id: n.id } })).port;
      const f = await fip({ port_id: vm.id });
      assert.equal(f.status, 'DOWN', 'DOWN until an agent says otherwise');
      const other = await fip();

      assert.equal(
        (await l3('update_floatingip_statuses', {
          router_id: r.id,
          fip_statuses: { [f.id]: 'ACTIVE', '00000000-0000-0000-0000-000000000000': 'ACTIVE' },
        })) ?? null,
        null,
      );
      const active = (await ok('GET', `/v2.0/floatingips/${f.id}`, undefined)).floatingip;
      assert.equal(active.status, 'ACTIVE');
      assert.equal(active.revision_number, f.revision_number + 1);
      await l3('update_floatingip_statuses', { router_id: r.id, fip_statuses: { [f.id]: 'ACTIVE' } });
      assert.equal(
        (await ok('GET', `/v2.0/floatingips/${f.id}`, undefined)).floatingip.revision_number,
        active.revision_number,
        'no change, no revision',
      );
      assert.equal((await ok('GET', `/v2.0/floatingips/${other.id}`, undefined)).floatingip.status, 'DOWN', "not this router's");

      // Disassociated in the API: the agent's next report (without it) sets it DOWN.
      const freed = (await ok('PUT', `/v2.0/floatingips/${f.id}`, { floatingip: { port_id: null } })).floatingip;
      assert.equal(freed.router_id, null);
      await l3('update_floatingip_statuses', { router_id: r.id, fip_statuses: {} });
      assert.equal((await ok('GET', `/v2.0/floatingips/${f.id}`, undefined)).floatingip.status, 'DOWN');

      await assert.rejects(l3('update_floatingip_statuses', { router_id: r.id, fip_statuses: { [f.id]: 7 } }), /bad status/);
      await assert.rejects(l3('update_floatingip_statuses', { fip_statuses: {} }), /needs router_id/);
    });
  });
}

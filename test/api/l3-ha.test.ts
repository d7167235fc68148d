// HA routers (l3-ha) through the API and the L3 agents' RPC, on every backend with the in-memory
// bus: the admin-only `ha` attribute and its default ([DEFAULT] l3_ha), the project's HA network
// and subnet, one HA port and binding per L3 agent (at most max_l3_agents_per_router), VRRP ids
// unique per HA network under concurrency, `ha_state` per agent in /routers/{id}/l3-agents as
// update_ha_routers_states records it (and as agent liveness corrects it), the router's ports
// bound to its active host, the HA sync data an agent gets, Neutron's rule that `ha` changes only
// on a router set down, and the HA network going with the project's last HA router.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { ADMIN, ALICE, BOB, startServer, type TestServer, okCalls } from '../helpers/server.js';
import { assertError } from '../helpers/assert-error.js';
import { registerLinuxBridgeAgent } from '../helpers/agents.js';
import { MemoryBroker, MemoryBus, silentLogger, type RpcBus } from '../../src/rpc/index.js';
import { L2POP_TOPIC } from '../../src/core/wire.js';
import { waitFor } from '../helpers/wait.js';

const HOSTS = ['ha-l3-a', 'ha-l3-b', 'ha-l3-c'];

for (const backend of BACKENDS) {
  describe(`HA routers on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let s: TestServer;
    let agentBus: RpcBus;
    const report = (host: string) =>
      agentBus.call('q-reports-plugin', 'report_state', {
        agent_state: {
          agent_state: {
            agent_type: 'L3 agent',
            binary: 'neutron-l3-agent',
            host,
            topic: 'l3_agent',
            configurations: { agent_mode: 'legacy' },
            start_flag: true,
          },
        },
        time: new Date().toISOString().replace('Z', ''),
      });
    const l3 = <T = any>(method: string, args: Record<string, unknown>) => agentBus.call<T>('q-l3-plugin', method, args, { timeoutMs: 20_000 });
    const ok = okCalls(() => s, ADMIN);
    const haRouter = async (project: string = ALICE.project!, extra: object = {}) =>
      (await ok('POST', '/v2.0/routers', { router: { name: 'r', project_id: project, ha: true, ...extra } })).router;
    const haNetworks = async (project: string) =>
      (await ok('GET', `/v2.0/networks?name=${encodeURIComponent(`HA network tenant ${project}`)}`)).networks;
    const haPorts = async (routerId: string) => (await ok('GET', `/v2.0/ports?device_id=${routerId}&device_owner=network:router_ha_interface`)).ports;
    const agentsOf = async (routerId: string) => (await ok('GET', `/v2.0/routers/${routerId}/l3-agents`)).agents;
    const hostOf = (agents: any[], id: string) => agents.find((a) => a.id === id)?.host;

    before(async () => {
      const broker = new MemoryBroker();
      const serverBus = new MemoryBus({ broker, logger: silentLogger });
      agentBus = new MemoryBus({ broker, logger: silentLogger });
      s = await startServer(backend, { DEFAULT: { max_l3_agents_per_router: '2' } }, { bus: serverBus });
      for (const h of HOSTS) await report(h);
      for (const [i, h] of HOSTS.entries()) await registerLinuxBridgeAgent(s.server.db, h, `172.31.251.${i + 1}`);
    });
    after(async () => {
      await s?.stop();
      await agentBus?.close();
    });

    it('lists l3-ha; ha is admin-only and defaults to [DEFAULT] l3_ha (false)', async () => {
      const ext = (await ok('GET', '/v2.0/extensions/l3-ha')).extension;
      assert.equal(ext.name, 'HA Router extension');
      const plain = (await ok('POST', '/v2.0/routers', { router: { name: 'plain' } }, ALICE)).router;
      assert.equal('ha' in plain, false, 'a member does not see ha');
      assert.equal((await ok('GET', `/v2.0/routers/${plain.id}`)).router.ha, false);
      assertError(await s.req('POST', '/v2.0/routers', { router: { name: 'x', ha: true } }, ALICE), 403);
      assertError(await s.req('POST', '/v2.0/routers', { router: { name: 'x', ha: 'maybe' } }, ADMIN), 400, 'HTTPBadRequest');
      await ok('DELETE', `/v2.0/routers/${plain.id}`, undefined, ALICE);
    });

    it('an HA router gets the HA network, a VRRP id and an HA port on each of max_l3_agents_per_router agents', async () => {
      const r = await haRouter();
      assert.equal(r.ha, true);
      assert.equal('ha' in (await ok('GET', `/v2.0/routers/${r.id}`, undefined, ALICE)).router, false);
      const [net] = await haNetworks(ALICE.project!);
      assert.ok(net, 'HA network made');
      assert.equal(net.project_id, '');
      assert.equal(net.shared, false);
      const [sub] = (await ok('GET', `/v2.0/subnets?network_id=${net.id}`)).subnets;
      assert.equal(sub.name, `HA subnet tenant ${ALICE.project}`);
      assert.equal(sub.cidr, '169.254.192.0/18');
      assert.equal(sub.enable_dhcp, false);
      assert.equal(sub.gateway_ip, null);
      const agents = await agentsOf(r.id);
      assert.equal(agents.length, 2, 'max_l3_agents_per_router agents out of 3');
      assert.deepEqual(
        agents.map((a: any) => a.ha_state),
        ['standby', 'standby'],
      );
      const ports = await haPorts(r.id);
      assert.equal(ports.length, 2);
      assert.deepEqual(ports.map((p: any) => p['binding:host_id']).sort(), agents.map((a: any) => a.host).sort());
      for (const p of ports) {
        assert.equal(p.network_id, net.id);
        assert.equal(p.name, `HA port tenant ${ALICE.project}`);
        assert.match(p.fixed_ips[0].ip_address, /^169\.254\./);
      }
      // HA ports are the router's: the port API may not delete them.
      assertError(await s.req('DELETE', `/v2.0/ports/${ports[0].id}`, undefined, ADMIN), 409, 'ServicePortInUse');
      const row = await s.server.db.kysely.selectFrom('routers').select('ha_vr_id').where('id', '=', r.id).executeTakeFirstOrThrow();
      assert.ok(row.ha_vr_id! >= 1 && row.ha_vr_id! <= 254, `vr id ${row.ha_vr_id}`);
      await ok('DELETE', `/v2.0/routers/${r.id}`);
    });

    it('concurrent HA routers of a new project share one HA network and get distinct VRRP ids', async () => {
      const project = `ha-burst-${backend.name}`;
      const routers = await Promise.all(Array.from({ length: 8 }, () => haRouter(project)));
      assert.equal((await haNetworks(project)).length, 1);
      const rows = await s.server.db.kysely
        .selectFrom('routers')
        .select('ha_vr_id')
        .where(
          'id',
          'in',
          routers.map((r) => r.id),
        )
        .execute();
      const ids = rows.map((r) => r.ha_vr_id);
      assert.equal(new Set(ids).size, 8, `vr ids ${ids}`);
      assert.ok(ids.every((v) => v !== null));
      for (const r of routers) assert.equal((await agentsOf(r.id)).length, 2);
      // The last HA router of the project takes the HA network with it.
      await Promise.all(routers.map((r) => ok('DELETE', `/v2.0/routers/${r.id}`)));
      assert.equal((await haNetworks(project)).length, 0);
      const vr = await s.server.db.kysely
        .selectFrom('ha_router_vrid_allocations')
        .select('vr_id')
        .where(
          'router_id',
          'in',
          routers.map((r) => r.id),
        )
        .execute();
      assert.equal(vr.length, 0);
    });

    it('sync_routers gives each agent its HA port and state; update_ha_routers_states moves ha_state and the ports', async () => {
      const ext = (await ok('POST', '/v2.0/networks', { network: { name: 'ext', 'router:external': true } })).network;
      await ok('POST', '/v2.0/subnets', { subnet: { network_id: ext.id, ip_version: 4, cidr: '203.0.113.0/24' } });
      const r = await haRouter(ALICE.project, { external_gateway_info: { network_id: ext.id } });
      const agents = await agentsOf(r.id);
      const [a, b] = agents.map((x: any) => x.host) as [string, string];
      const other = HOSTS.find((h) => h !== a && h !== b)!;
      const [synced] = await l3<any[]>('sync_routers', { host: a, router_ids: [r.id] });
      assert.equal(synced.ha, true);
      assert.ok(synced.ha_vr_id >= 1);
      assert.equal(synced._ha_state, 'standby');
      assert.equal(synced._ha_interface.device_owner, 'network:router_ha_interface');
      assert.equal(synced._ha_interface['binding:host_id'], a);
      assert.equal(synced._ha_interface.fixed_ips[0].prefixlen, 18);
      assert.ok(synced.gw_port, 'gateway port in the sync data');
      assert.equal(synced.gw_port['binding:host_id'], '', 'an HA router syncing does not pull its gateway to the host');
      assert.deepEqual(await l3('sync_routers', { host: other, router_ids: [r.id] }), [], 'an agent without an HA port gets nothing');

      await l3('update_ha_routers_states', { host: a, states: { [r.id]: 'active' } });
      await l3('update_ha_routers_states', { host: b, states: { [r.id]: 'standby' } });
      let now = await agentsOf(r.id);
      assert.equal(now.find((x: any) => x.host === a).ha_state, 'active');
      assert.equal(now.find((x: any) => x.host === b).ha_state, 'standby');
      const gw = (await ok('GET', `/v2.0/ports/${synced.gw_port.id}`)).port;
      assert.equal(gw['binding:host_id'], a, 'the gateway is bound where the router is active');

      // Failover: b becomes active; a reports standby.
      await l3('update_ha_routers_states', { host: b, states: { [r.id]: 'active' } });
      await l3('update_ha_routers_states', { host: a, states: { [r.id]: 'standby' } });
      now = await agentsOf(r.id);
      assert.equal(now.find((x: any) => x.host === b).ha_state, 'active');
      assert.equal(now.find((x: any) => x.host === a).ha_state, 'standby');
      assert.equal((await ok('GET', `/v2.0/ports/${synced.gw_port.id}`)).port['binding:host_id'], b);

      // An active agent that stops reporting is shown standby while another is alive.
      const bAgent = now.find((x: any) => x.host === b);
      await s.server.db.kysely.updateTable('agents').set({ heartbeat_timestamp: '2000-01-01 00:00:00' }).where('id', '=', bAgent.id).execute();
      now = await agentsOf(r.id);
      assert.equal(hostOf(now, bAgent.id), b);
      assert.equal(now.find((x: any) => x.host === b).ha_state, 'standby');
      await report(b);
      await ok('PUT', `/v2.0/routers/${r.id}`, { router: { external_gateway_info: null } });
      await ok('DELETE', `/v2.0/routers/${r.id}`);
      await ok('DELETE', `/v2.0/networks/${ext.id}`);
    });

    it("get_device_details answers an HA router's interface port on each of its hosts (the standby wires its copy), not elsewhere", async () => {
      const net = (await ok('POST', '/v2.0/networks', { network: { name: 'ha-dd', project_id: ALICE.project } })).network;
      const sub = (
        await ok('POST', '/v2.0/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '10.77.0.0/24', project_id: ALICE.project } })
      ).subnet;
      const r = await haRouter(ALICE.project);
      await ok('PUT', `/v2.0/routers/${r.id}/add_router_interface`, { subnet_id: sub.id });
      const [a, b] = (await agentsOf(r.id)).map((x: any) => x.host) as [string, string];
      const other = HOSTS.find((h) => h !== a && h !== b)!;
      await l3('update_ha_routers_states', { host: a, states: { [r.id]: 'active' } });
      const [qr] = (await ok('GET', `/v2.0/ports?device_id=${r.id}&device_owner=network:ha_router_replicated_interface`)).ports;
      assert.equal(qr['binding:host_id'], a);
      const tap = `tap${qr.id.slice(0, 11)}`;
      const dd = (host: string) => agentBus.call<any>('q-plugin', 'get_device_details', { device: tap, agent_id: 'x', host });
      const onB = await dd(b);
      assert.equal(onB.port_id, qr.id, JSON.stringify(onB));
      assert.equal(onB.network_type, 'vxlan');
      assert.equal(onB.no_active_binding, undefined);
      assert.equal((await dd(a)).port_id, qr.id);
      assert.equal((await dd(other)).no_active_binding, true, 'a host without the router');
      // The standby's device going up moves neither the binding nor the status.
      await agentBus.call('q-plugin', 'update_device_up', { device: tap, agent_id: 'x', host: b });
      const after = (await ok('GET', `/v2.0/ports/${qr.id}`)).port;
      assert.equal(after['binding:host_id'], a);
      await ok('PUT', `/v2.0/routers/${r.id}/remove_router_interface`, { subnet_id: sub.id });
      await ok('DELETE', `/v2.0/routers/${r.id}`);
      await ok('DELETE', `/v2.0/networks/${net.id}`);
    });

    it("an interface added to an active HA router is bound to the active host at sync_routers; a failover keeps the standby's host in the network's flood lists", async () => {
      const net = (await ok('POST', '/v2.0/networks', { network: { name: 'ha-fl', project_id: ALICE.project } })).network;
      const sub = (
        await ok('POST', '/v2.0/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '10.78.0.0/24', project_id: ALICE.project } })
      ).subnet;
      const r = await haRouter(ALICE.project);
      const [a, b] = (await agentsOf(r.id)).map((x: any) => x.host) as [string, string];
      const ipOf = (h: string) => `172.31.251.${HOSTS.indexOf(h) + 1}`;
      await l3('update_ha_routers_states', { host: a, states: { [r.id]: 'active' } });
      await l3('update_ha_routers_states', { host: b, states: { [r.id]: 'standby' } });
      await ok('PUT', `/v2.0/routers/${r.id}/add_router_interface`, { subnet_id: sub.id });
      const qrOf = async () => (await ok('GET', `/v2.0/ports?device_id=${r.id}&device_owner=network:ha_router_replicated_interface`)).ports[0];
      assert.equal((await qrOf())['binding:host_id'], '', 'not bound before an agent syncs');
      // The standby's agent syncs first (the router was updated): the port goes to the active host.
      const [synced] = await l3<any[]>('sync_routers', { host: b, router_ids: [r.id] });
      const qr = await qrOf();
      assert.equal(qr['binding:host_id'], a, 'bound where the router is active');
      assert.equal(synced._interfaces[0]['binding:host_id'], a, 'and the sync data says so');
      // What l2population tells the L2 agents from here on.
      const seen: Array<{ method: string; fdb: any }> = [];
      const probe = await agentBus.serve(L2POP_TOPIC, 'ha-fl-probe', {
        add_fdb_entries: (_c, x: any) => void seen.push({ method: 'add', fdb: x.fdb_entries }),
        remove_fdb_entries: (_c, x: any) => void seen.push({ method: 'remove', fdb: x.fdb_entries }),
      });
      try {
        const tap = `tap${qr.id.slice(0, 11)}`;
        await agentBus.call('q-plugin', 'update_device_up', { device: tap, agent_id: 'x', host: a });
        const flood = ['00:00:00:00:00:00', '0.0.0.0'];
        const entriesOf = (method: string, host: string) =>
          seen.filter((x) => x.method === method).flatMap((x) => (x.fdb[net.id]?.ports?.[ipOf(host)] ?? []) as string[][]);
        await waitFor('add_fdb_entries for the active host', () => entriesOf('add', a).length > 0);
        assert.deepEqual(entriesOf('add', a), [flood, [qr.mac_address, '10.78.0.1']]);
        // Failover: b active, a standby; the interface port moves to b.
        await l3('update_ha_routers_states', { host: b, states: { [r.id]: 'active' } });
        await l3('update_ha_routers_states', { host: a, states: { [r.id]: 'standby' } });
        assert.equal((await qrOf())['binding:host_id'], b);
        await waitFor('remove_fdb_entries for the host left', () => entriesOf('remove', a).length > 0);
        // The router's MAC is withdrawn from a, but a stays in the flood list: it holds the router's
        // standby, which the next failover makes active again.
        assert.deepEqual(entriesOf('remove', a), [[qr.mac_address, '10.78.0.1']]);
        const fdb = (await agentBus.call<any>('q-plugin', 'get_fdb_entries', { host: b, network_ids: [net.id] }))[net.id];
        assert.deepEqual(fdb?.ports?.[ipOf(a)], [flood], "b's FDB still floods to a");
      } finally {
        await probe.stop();
      }
      await ok('PUT', `/v2.0/routers/${r.id}/remove_router_interface`, { subnet_id: sub.id });
      await ok('DELETE', `/v2.0/routers/${r.id}`);
      await ok('DELETE', `/v2.0/networks/${net.id}`);
    });

    it("Neutron's L3 agent's start: get_host_ha_router_count counts a host's HA routers that are up; update_all_ha_network_port_statuses sets its ACTIVE HA ports DOWN", async () => {
      const count = (host: string) => l3<number>('get_host_ha_router_count', { host });
      const before = await Promise.all(HOSTS.map(count));
      const r = await haRouter(ALICE.project);
      const hosting = (await agentsOf(r.id)).map((x: any) => x.host) as string[];
      assert.equal(hosting.length, 2);
      const expected = HOSTS.map((h, i) => before[i]! + (hosting.includes(h) ? 1 : 0));
      assert.deepEqual(await Promise.all(HOSTS.map(count)), expected);
      await ok('PUT', `/v2.0/routers/${r.id}`, { router: { admin_state_up: false } });
      assert.deepEqual(await Promise.all(HOSTS.map(count)), before, 'a router set down is not counted');
      await ok('PUT', `/v2.0/routers/${r.id}`, { router: { admin_state_up: true } });

      // Both HA ports wired (ACTIVE); host a's agent starts after a reboot: only its own go DOWN.
      const [a, b] = hosting as [string, string];
      const ports = await haPorts(r.id);
      for (const p of ports)
        await agentBus.call('q-plugin', 'update_device_up', { device: `tap${p.id.slice(0, 11)}`, agent_id: 'x', host: p['binding:host_id'] });
      const statusOn = async (host: string) => (await haPorts(r.id)).find((p: any) => p['binding:host_id'] === host).status;
      assert.deepEqual([await statusOn(a), await statusOn(b)], ['ACTIVE', 'ACTIVE']);
      await l3('update_all_ha_network_port_statuses', { host: a });
      assert.deepEqual([await statusOn(a), await statusOn(b)], ['DOWN', 'ACTIVE']);
      await ok('DELETE', `/v2.0/routers/${r.id}`);
    });

    it('ha changes only on a router set down (BadRequest otherwise), and back to legacy drops the HA ports', async () => {
      const r = await haRouter(BOB.project!);
      // An HA router's interfaces are network:ha_router_replicated_interface (l3_hamode_db), and
      // change owner with ha.
      const net = (await ok('POST', '/v2.0/networks', { network: { name: 'ha-if', project_id: BOB.project } })).network;
      const sn = (await ok('POST', '/v2.0/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '10.77.0.0/24', project_id: BOB.project } }))
        .subnet;
      const intf = await ok('PUT', `/v2.0/routers/${r.id}/add_router_interface`, { subnet_id: sn.id });
      const ownerNow = async () => (await ok('GET', `/v2.0/ports/${intf.port_id}`)).port.device_owner;
      assert.equal(await ownerNow(), 'network:ha_router_replicated_interface');
      const [synced] = await l3<any[]>('sync_routers', { host: (await agentsOf(r.id))[0].host, router_ids: [r.id] });
      assert.deepEqual(
        synced._interfaces.map((p: any) => p.device_owner),
        ['network:ha_router_replicated_interface'],
      );
      assertError(
        await s.req('PUT', `/v2.0/routers/${r.id}`, { router: { ha: false } }, ADMIN),
        400,
        'BadRequest',
        'Cannot change HA attribute of active routers. Please set router admin_state_up to False prior to upgrade',
      );
      assertError(await s.req('PUT', `/v2.0/routers/${r.id}`, { router: { ha: false } }, BOB), 403);
      const down = (await ok('PUT', `/v2.0/routers/${r.id}`, { router: { admin_state_up: false, ha: false } })).router;
      assert.equal(down.ha, false);
      assert.equal(await ownerNow(), 'network:router_interface');
      assert.equal((await haPorts(r.id)).length, 0);
      assert.equal((await haNetworks(BOB.project!)).length, 0, "the project's last HA router is gone");
      // And HA again (still down): ports come back on two agents.
      const again = (await ok('PUT', `/v2.0/routers/${r.id}`, { router: { ha: true } })).router;
      assert.equal(again.ha, true);
      assert.equal((await haPorts(r.id)).length, 2);
      assert.equal((await agentsOf(r.id)).length, 2);
      assert.equal(await ownerNow(), 'network:ha_router_replicated_interface');
      await ok('PUT', `/v2.0/routers/${r.id}/remove_router_interface`, { subnet_id: sn.id });
      await ok('DELETE', `/v2.0/routers/${r.id}`);
      await ok('DELETE', `/v2.0/networks/${net.id}`);
      assert.equal((await haNetworks(BOB.project!)).length, 0);
    });
  });
}

describe('HA routers with [DEFAULT] l3_ha = true', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer(BACKENDS[0]!, { DEFAULT: { l3_ha: 'true' } });
  });
  after(async () => s?.stop());

  it('a router created without ha is HA; ha=false makes a legacy one', async () => {
    const r = (await s.req('POST', '/v2.0/routers', { router: { name: 'd' } }, ADMIN)).body.router;
    assert.equal(r.ha, true);
    const legacy = (await s.req('POST', '/v2.0/routers', { router: { name: 'l', ha: false } }, ADMIN)).body.router;
    assert.equal(legacy.ha, false);
  });
});

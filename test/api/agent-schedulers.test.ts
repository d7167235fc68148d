// dhcp_agent_scheduler and l3_agent_scheduler on every backend, with agents registered by
// report_state over the in-memory bus and their topics served to record what the server casts:
// listing, adding and removing networks of DHCP agents (the agent is told, its DHCP port is kept
// as a reserved one), routers scheduled to L3 agents (least routers, availability zone hints,
// agent modes), manual L3 bindings, policy, and concurrent adds.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { ADMIN, ALICE, startServer, type TestServer } from '../helpers/server.js';
import { MemoryBroker, MemoryBus, silentLogger, type RpcBus } from '../../src/rpc/index.js';
import { DHCP_AGENT_EVENTS, dhcpDeviceId } from '../../src/core/wire.js';
import { sleep } from '../helpers/wait.js';

const NO_ID = '00000000-0000-4000-8000-000000000000';

interface Cast {
  host: string;
  method: string;
  args: any;
}

for (const backend of BACKENDS) {
  describe(`agent schedulers on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let s: TestServer;
    let broker: MemoryBroker;
    let serverBus: RpcBus;
    let agentBus: RpcBus;
    const casts: Cast[] = [];
    const agentIds: Record<string, string> = {};

    const report = (agent_type: string, host: string, extra: Record<string, unknown> = {}) =>
      agentBus.call('q-reports-plugin', 'report_state', {
        agent_state: { agent_state: { agent_type, binary: 'test', host, topic: 'N/A', configurations: {}, start_flag: true, ...extra } },
        time: new Date().toISOString().replace('Z', ''),
      });
    const rpc = <T = any>(method: string, args: Record<string, unknown>) => agentBus.call<T>('q-plugin', method, args, { timeoutMs: 10_000 });
    /** Casts since `from`, once the server has handed everything to the bus. */
    const since = async (from: number) => {
      await s.server.settled();
      await s.server.settled();
      await sleep(20);
      return casts.slice(from);
    };
    const mark = async () => (await since(0)).length;
    const net = async (name: string, extra: Record<string, unknown> = {}) => {
      const r = await s.req('POST', '/v2.0/networks', { network: { name, ...extra } }, ADMIN);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body.network.id as string;
    };

    before(async () => {
      broker = new MemoryBroker();
      serverBus = new MemoryBus({ broker, logger: silentLogger });
      agentBus = new MemoryBus({ broker, logger: silentLogger });
      s = await startServer(backend, {}, { bus: serverBus });
      const record = (host: string, method: string) => (_ctx: unknown, args: unknown) => {
        casts.push({ host, method, args });
      };
      const dhcpMethods = [...DHCP_AGENT_EVENTS, 'agent_updated'];
      const l3Methods = ['agent_updated', 'routers_updated', 'router_added_to_agent', 'router_removed_from_agent', 'router_deleted'];
      for (const host of ['dhcp-a', 'dhcp-b'])
        await agentBus.serve('dhcp_agent', host, Object.fromEntries(dhcpMethods.map((m) => [m, record(host, m)])));
      for (const host of ['l3-a', 'l3-b']) await agentBus.serve('l3_agent', host, Object.fromEntries(l3Methods.map((m) => [m, record(host, m)])));
      // The DHCP agents are in different zones; so are the L3 agents. One L3 agent runs DVR only.
      await report('DHCP agent', 'dhcp-a', { availability_zone: 'az1', topic: 'dhcp_agent' });
      await report('DHCP agent', 'dhcp-b', { availability_zone: 'az2', topic: 'dhcp_agent' });
      await report('L3 agent', 'l3-a', { availability_zone: 'az1', topic: 'l3_agent', configurations: { agent_mode: 'legacy' } });
      await report('L3 agent', 'l3-b', { availability_zone: 'az2', topic: 'l3_agent', configurations: { agent_mode: 'dvr_snat' } });
      await report('L3 agent', 'l3-dvr', { availability_zone: 'az1', topic: 'l3_agent', configurations: { agent_mode: 'dvr' } });
      await report('Linux bridge agent', 'lb-a', { topic: 'N/A' });
      for (const a of (await s.req('GET', '/v2.0/agents', undefined, ADMIN)).body.agents) agentIds[a.host] = a.id;
    });
    after(async () => {
      await s?.stop();
      await agentBus?.close();
      await serverBus?.close();
    });

    it('lists both scheduler extensions', async () => {
      const aliases = (await s.req('GET', '/v2.0/extensions', undefined, ALICE)).body.extensions.map((e: any) => e.alias);
      for (const a of ['dhcp_agent_scheduler', 'l3_agent_scheduler']) assert.ok(aliases.includes(a), a);
    });

    // ---- DHCP ----------------------------------------------------------------------------------

    it('adding a network to a DHCP agent: 201 null, listed both ways, the agent hears network_create_end; twice is 409', async () => {
      const n = await net('by-hand');
      const a = agentIds['dhcp-a']!;
      assert.deepEqual((await s.req('GET', `/v2.0/agents/${a}/dhcp-networks`, undefined, ADMIN)).body, { networks: [] });
      const c0 = await mark();
      const r = await s.req('POST', `/v2.0/agents/${a}/dhcp-networks`, { network_id: n }, ADMIN);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body, null);
      assert.deepEqual(await since(c0), [{ host: 'dhcp-a', method: 'network_create_end', args: { payload: { network: { id: n } } } }]);
      const listed = (await s.req('GET', `/v2.0/agents/${a}/dhcp-networks`, undefined, ADMIN)).body.networks;
      assert.deepEqual(
        listed.map((x: any) => x.id),
        [n],
      );
      assert.equal(listed[0].name, 'by-hand');
      const hosting = (await s.req('GET', `/v2.0/networks/${n}/dhcp-agents`, undefined, ADMIN)).body.agents;
      assert.deepEqual(
        hosting.map((x: any) => [x.id, x.agent_type, x.alive]),
        [[a, 'DHCP agent', true]],
      );
      const shown = (await s.req('GET', `/v2.0/networks/${n}`, undefined, ADMIN)).body.network;
      assert.deepEqual(shown.availability_zones, ['az1']);
      const again = await s.req('POST', `/v2.0/agents/${a}/dhcp-networks`, { network_id: n }, ADMIN);
      assert.equal(again.status, 409);
      assert.equal(again.body.NeutronError.type, 'NetworkHostedByDHCPAgent');
      assert.equal(again.body.NeutronError.message, `The network ${n} has been already hosted by the DHCP Agent ${a}.`);
    });

    it('adding refuses unknown networks and agents, non-DHCP and disabled agents, and bad bodies', async () => {
      const n = await net('refused');
      const post = (agent: string, body: unknown) => s.req('POST', `/v2.0/agents/${agent}/dhcp-networks`, body, ADMIN);
      const cases: Array<[string, unknown, number, string]> = [
        [agentIds['dhcp-a']!, { network_id: NO_ID }, 404, 'NetworkNotFound'],
        [NO_ID, { network_id: n }, 404, 'AgentNotFound'],
        [agentIds['lb-a']!, { network_id: n }, 404, 'InvalidDHCPAgent'],
        [agentIds['l3-a']!, { network_id: n }, 404, 'InvalidDHCPAgent'],
        [agentIds['dhcp-a']!, { network_id: 'nope' }, 400, 'HTTPBadRequest'],
        [agentIds['dhcp-a']!, {}, 400, 'HTTPBadRequest'],
      ];
      for (const [agent, body, status, type] of cases) {
        const r = await post(agent, body);
        assert.equal(r.status, status, `${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.NeutronError.type, type);
      }
      const b = agentIds['dhcp-b']!;
      const c0 = await mark();
      assert.equal((await s.req('PUT', `/v2.0/agents/${b}`, { agent: { admin_state_up: false } }, ADMIN)).status, 200);
      const disabled = await post(b, { network_id: n });
      assert.equal(disabled.status, 404);
      assert.equal(disabled.body.NeutronError.message, `Agent ${b} is not a valid DHCP Agent or has been disabled.`);
      // A disabled agent is told so, and serves nothing when it resyncs.
      assert.deepEqual(await rpc('get_active_networks_info', { host: 'dhcp-b' }), []);
      assert.equal((await s.req('PUT', `/v2.0/agents/${b}`, { agent: { admin_state_up: true } }, ADMIN)).status, 200);
      assert.equal((await s.req('PUT', `/v2.0/agents/${b}`, { agent: { description: 'unchanged state' } }, ADMIN)).status, 200);
      assert.deepEqual(await since(c0), [
        { host: 'dhcp-b', method: 'agent_updated', args: { payload: { admin_state_up: false } } },
        { host: 'dhcp-b', method: 'agent_updated', args: { payload: { admin_state_up: true } } },
      ]);
      assert.equal((await s.req('GET', `/v2.0/agents/${NO_ID}/dhcp-networks`, undefined, ADMIN)).status, 404);
      assert.deepEqual((await s.req('GET', `/v2.0/networks/${NO_ID}/dhcp-agents`, undefined, ADMIN)).body, { agents: [] });
    });

    it('members may not use the scheduler API (403)', async () => {
      const a = agentIds['dhcp-a']!;
      const n = await net('members');
      for (const [m, path, body] of [
        ['GET', `/v2.0/agents/${a}/dhcp-networks`, undefined],
        ['POST', `/v2.0/agents/${a}/dhcp-networks`, { network_id: n }],
        ['DELETE', `/v2.0/agents/${a}/dhcp-networks/${n}`, undefined],
        ['GET', `/v2.0/networks/${n}/dhcp-agents`, undefined],
        ['GET', `/v2.0/agents/${a}/l3-routers`, undefined],
        ['POST', `/v2.0/agents/${a}/l3-routers`, { router_id: n }],
        ['DELETE', `/v2.0/agents/${a}/l3-routers/${n}`, undefined],
        ['GET', `/v2.0/routers/${n}/l3-agents`, undefined],
      ] as const) {
        const r = await s.req(m, path, body, ALICE);
        assert.equal(r.status, 403, `${m} ${path}`);
        assert.equal(r.body.NeutronError.type, 'PolicyNotAuthorized');
      }
    });

    it('removing: the binding goes, the DHCP port is kept as reserved, the agent hears network_delete_end; then 409', async () => {
      const a = agentIds['dhcp-a']!;
      const n = await net('served');
      const sub = await s.req('POST', '/v2.0/subnets', { subnet: { network_id: n, cidr: '10.77.0.0/24', ip_version: 4 } }, ADMIN);
      assert.equal(sub.status, 201);
      // Whoever got it by scheduling, it is dhcp-a's by hand now.
      for (const b of (await s.req('GET', `/v2.0/networks/${n}/dhcp-agents`, undefined, ADMIN)).body.agents) {
        assert.equal((await s.req('DELETE', `/v2.0/agents/${b.id}/dhcp-networks/${n}`, undefined, ADMIN)).status, 204);
      }
      assert.equal((await s.req('POST', `/v2.0/agents/${a}/dhcp-networks`, { network_id: n }, ADMIN)).status, 201);
      const deviceId = dhcpDeviceId(n, 'dhcp-a');
      const port = await rpc<any>('create_dhcp_port', {
        port: { port: { network_id: n, device_id: deviceId, fixed_ips: [{ subnet_id: sub.body.subnet.id }] } },
        host: 'dhcp-a',
      });
      const c0 = await mark();
      const r = await s.req('DELETE', `/v2.0/agents/${a}/dhcp-networks/${n}`, undefined, ADMIN);
      assert.equal(r.status, 204, JSON.stringify(r.body));
      const got = await since(c0);
      assert.deepEqual(
        got.filter((c) => c.method === 'network_delete_end'),
        [{ host: 'dhcp-a', method: 'network_delete_end', args: { payload: { network_id: n } } }],
      );
      const kept = (await s.req('GET', `/v2.0/ports/${port.id}`, undefined, ADMIN)).body.port;
      assert.equal(kept.device_id, 'reserved_dhcp_port');
      assert.deepEqual(kept.fixed_ips, port.fixed_ips);
      assert.deepEqual(
        (await s.req('GET', `/v2.0/agents/${a}/dhcp-networks`, undefined, ADMIN)).body.networks.map((x: any) => x.id).filter((x: string) => x === n),
        [],
      );
      const again = await s.req('DELETE', `/v2.0/agents/${a}/dhcp-networks/${n}`, undefined, ADMIN);
      assert.equal(again.status, 409);
      assert.equal(again.body.NeutronError.type, 'NetworkNotHostedByDhcpAgent');
      assert.equal((await s.req('DELETE', `/v2.0/agents/${NO_ID}/dhcp-networks/${n}`, undefined, ADMIN)).status, 404);
      // Given back by hand, the agent takes the reserved port over (its address stays).
      assert.equal((await s.req('POST', `/v2.0/agents/${a}/dhcp-networks`, { network_id: n }, ADMIN)).status, 201);
      const claimed = await rpc<any>('update_dhcp_port', {
        port_id: port.id,
        port: { port: { network_id: n, device_id: deviceId } },
        host: 'dhcp-a',
      });
      assert.equal(claimed.device_id, deviceId);
    });

    it('concurrent adds of one network to one agent: one 201, the rest 409, one binding', async () => {
      const a = agentIds['dhcp-b']!;
      const n = await net('race');
      const results = await Promise.all(Array.from({ length: 12 }, () => s.req('POST', `/v2.0/agents/${a}/dhcp-networks`, { network_id: n }, ADMIN)));
      const statuses = results.map((r) => r.status).sort();
      assert.deepEqual(statuses, [201, ...Array(11).fill(409)], JSON.stringify(results.map((r) => r.body)));
      for (const r of results.filter((x) => x.status === 409)) assert.equal(r.body.NeutronError.type, 'NetworkHostedByDHCPAgent');
      const rows = await s.server.db.kysely.selectFrom('networkdhcpagentbindings').selectAll().where('network_id', '=', n).execute();
      assert.equal(rows.length, 1);
    });

    it('scheduling follows availability zone hints', async () => {
      const n = await net('zoned', { availability_zone_hints: ['az2'] });
      const sub = await s.req('POST', '/v2.0/subnets', { subnet: { network_id: n, cidr: '10.78.0.0/24', ip_version: 4 } }, ADMIN);
      assert.equal(sub.status, 201);
      await since(0);
      const hosting = (await s.req('GET', `/v2.0/networks/${n}/dhcp-agents`, undefined, ADMIN)).body.agents;
      assert.deepEqual(
        hosting.map((x: any) => x.host),
        ['dhcp-b'],
      );
      const shown = (await s.req('GET', `/v2.0/networks/${n}`, undefined, ADMIN)).body.network;
      assert.deepEqual(shown.availability_zone_hints, ['az2']);
      assert.deepEqual(shown.availability_zones, ['az2']);
    });

    // ---- L3 ------------------------------------------------------------------------------------

    let r1 = '';
    it('a router is scheduled on its first change, to the least loaded legacy-capable agent, which hears routers_updated', async () => {
      const c0 = await mark();
      const r = await s.req('POST', '/v2.0/routers', { router: { name: 'r1' } }, ALICE);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      r1 = r.body.router.id;
      assert.deepEqual(r.body.router.availability_zone_hints, []);
      assert.deepEqual(r.body.router.availability_zones, []);
      // Created without a gateway: not scheduled yet (as Neutron).
      assert.deepEqual((await s.req('GET', `/v2.0/routers/${r1}/l3-agents`, undefined, ADMIN)).body, { agents: [] });
      assert.equal((await s.req('PUT', `/v2.0/routers/${r1}`, { router: { name: 'r1b' } }, ALICE)).status, 200);
      const hosting = (await s.req('GET', `/v2.0/routers/${r1}/l3-agents`, undefined, ADMIN)).body.agents;
      assert.deepEqual(
        hosting.map((x: any) => [x.host, x.agent_type]),
        [['l3-a', 'L3 agent']],
      );
      assert.deepEqual(await since(c0), [{ host: 'l3-a', method: 'routers_updated', args: { routers: [r1] } }]);
      assert.deepEqual((await s.req('GET', `/v2.0/routers/${r1}`, undefined, ALICE)).body.router.availability_zones, ['az1']);
      // The next router goes to the other agent (l3-a hosts one now; the DVR-only agent never gets one).
      const r2 = (await s.req('POST', '/v2.0/routers', { router: { name: 'r2' } }, ALICE)).body.router.id;
      await s.req('PUT', `/v2.0/routers/${r2}`, { router: { name: 'r2b' } }, ALICE);
      assert.deepEqual(
        (await s.req('GET', `/v2.0/routers/${r2}/l3-agents`, undefined, ADMIN)).body.agents.map((x: any) => x.host),
        ['l3-b'],
      );
      assert.equal((await s.req('DELETE', `/v2.0/routers/${r2}`, undefined, ALICE)).status, 204);
    });

    it('hints pick the zone: a router hinted az2 goes to the az2 agent', async () => {
      const r = await s.req('POST', '/v2.0/routers', { router: { name: 'z', availability_zone_hints: ['az2'] } }, ALICE);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      await s.req('PUT', `/v2.0/routers/${r.body.router.id}`, { router: { admin_state_up: true } }, ALICE);
      assert.deepEqual(
        (await s.req('GET', `/v2.0/routers/${r.body.router.id}/l3-agents`, undefined, ADMIN)).body.agents.map((x: any) => x.host),
        ['l3-b'],
      );
      await s.req('DELETE', `/v2.0/routers/${r.body.router.id}`, undefined, ALICE);
    });

    it('by hand: 409 when another agent hosts it, no-op on its own agent; remove then add elsewhere; both agents hear it', async () => {
      const a = agentIds['l3-a']!;
      const b = agentIds['l3-b']!;
      const taken = await s.req('POST', `/v2.0/agents/${b}/l3-routers`, { router_id: r1 }, ADMIN);
      assert.equal(taken.status, 409);
      assert.equal(taken.body.NeutronError.type, 'RouterHostedByL3Agent');
      assert.equal(taken.body.NeutronError.message, `The router ${r1} has been already hosted by the L3 Agent ${a}.`);
      assert.equal((await s.req('POST', `/v2.0/agents/${a}/l3-routers`, { router_id: r1 }, ADMIN)).status, 201);
      const c0 = await mark();
      assert.equal((await s.req('DELETE', `/v2.0/agents/${a}/l3-routers/${r1}`, undefined, ADMIN)).status, 204);
      assert.equal((await s.req('GET', `/v2.0/agents/${a}/l3-routers`, undefined, ADMIN)).body.routers.length, 0);
      const added = await s.req('POST', `/v2.0/agents/${b}/l3-routers`, { router_id: r1 }, ADMIN);
      assert.equal(added.status, 201, JSON.stringify(added.body));
      assert.equal(added.body, null);
      assert.deepEqual(await since(c0), [
        { host: 'l3-a', method: 'router_removed_from_agent', args: { payload: { router_id: r1 } } },
        { host: 'l3-b', method: 'router_added_to_agent', args: { payload: [r1] } },
      ]);
      const onB = (await s.req('GET', `/v2.0/agents/${b}/l3-routers`, undefined, ADMIN)).body.routers;
      assert.ok(onB.some((x: any) => x.id === r1 && x.name === 'r1b'));
      assert.deepEqual(
        (await s.req('GET', `/v2.0/routers/${r1}/l3-agents`, undefined, ADMIN)).body.agents.map((x: any) => x.id),
        [b],
      );
      // Removing what the agent does not host is no error (as Neutron).
      assert.equal((await s.req('DELETE', `/v2.0/agents/${a}/l3-routers/${r1}`, undefined, ADMIN)).status, 204);
    });

    it("a floating IP associated, let go and deleted: the router's agent hears routers_updated each time", async () => {
      const ok = async (method: string, path: string, body: unknown, who = ALICE) => {
        const r = await s.req(method, path, body, who);
        assert.ok(r.status < 300, `${method} ${path}: ${JSON.stringify(r.body)}`);
        return r.body;
      };
      const ext = await net('fip-ext', { 'router:external': true });
      await ok('POST', '/v2.0/subnets', { subnet: { network_id: ext, cidr: '192.0.2.0/24', ip_version: 4 } }, ADMIN);
      const inner = (await ok('POST', '/v2.0/networks', { network: { name: 'fip-inner' } })).network.id;
      const sub = (await ok('POST', '/v2.0/subnets', { subnet: { network_id: inner, cidr: '10.9.9.0/24', ip_version: 4 } })).subnet.id;
      await ok('PUT', `/v2.0/routers/${r1}`, { router: { external_gateway_info: { network_id: ext } } });
      await ok('PUT', `/v2.0/routers/${r1}/add_router_interface`, { subnet_id: sub });
      const port = (await ok('POST', '/v2.0/ports', { port: { network_id: inner } })).port.id;
      const c0 = await mark();
      const fip = (await ok('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext, port_id: port } })).floatingip.id;
      await ok('PUT', `/v2.0/floatingips/${fip}`, { floatingip: { port_id: null } });
      await ok('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext } }); // no router: nobody is told
      await ok('PUT', `/v2.0/floatingips/${fip}`, { floatingip: { port_id: port } });
      await ok('DELETE', `/v2.0/floatingips/${fip}`, undefined);
      // Deleting the port lets go of its floating IP: the router hears of that too.
      await ok('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext, port_id: port } });
      await ok('DELETE', `/v2.0/ports/${port}`, undefined);
      const told = { host: 'l3-b', method: 'routers_updated', args: { routers: [r1] } };
      const heard = (await since(c0)).filter((c) => c.host.startsWith('l3-'));
      await ok('PUT', `/v2.0/routers/${r1}/remove_router_interface`, { subnet_id: sub });
      await ok('PUT', `/v2.0/routers/${r1}`, { router: { external_gateway_info: null } });
      assert.deepEqual(heard, [told, told, told, told, told, told]);
    });

    it("a port's fixed IP changed under its floating IP: the router's agent hears routers_updated; the floating IP follows", async () => {
      const ok = async (method: string, path: string, body: unknown, who = ALICE) => {
        const r = await s.req(method, path, body, who);
        assert.ok(r.status < 300, `${method} ${path}: ${JSON.stringify(r.body)}`);
        return r.body;
      };
      const ext = await net('fipip-ext', { 'router:external': true });
      await ok('POST', '/v2.0/subnets', { subnet: { network_id: ext, cidr: '192.0.3.0/24', ip_version: 4 } }, ADMIN);
      const inner = (await ok('POST', '/v2.0/networks', { network: { name: 'fipip-inner' } })).network.id;
      const sub = (await ok('POST', '/v2.0/subnets', { subnet: { network_id: inner, cidr: '10.9.8.0/24', ip_version: 4 } })).subnet.id;
      await ok('PUT', `/v2.0/routers/${r1}`, { router: { external_gateway_info: { network_id: ext } } });
      await ok('PUT', `/v2.0/routers/${r1}/add_router_interface`, { subnet_id: sub });
      const port = (await ok('POST', '/v2.0/ports', { port: { network_id: inner, fixed_ips: [{ subnet_id: sub, ip_address: '10.9.8.20' }] } })).port
        .id;
      const fip = (await ok('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext, port_id: port } })).floatingip.id;
      const c0 = await mark();
      await ok('PUT', `/v2.0/ports/${port}`, { port: { fixed_ips: [{ subnet_id: sub, ip_address: '10.9.8.21' }] } });
      const heard = (await since(c0)).filter((c) => c.host.startsWith('l3-'));
      assert.deepEqual(heard, [{ host: 'l3-b', method: 'routers_updated', args: { routers: [r1] } }]);
      assert.equal((await ok('GET', `/v2.0/floatingips/${fip}`, undefined)).floatingip.fixed_ip_address, '10.9.8.21');
      // A port change that leaves its addresses alone tells nobody.
      const c1 = await mark();
      await ok('PUT', `/v2.0/ports/${port}`, { port: { name: 'renamed' } });
      assert.deepEqual(
        (await since(c1)).filter((c) => c.host.startsWith('l3-')),
        [],
      );
      await ok('DELETE', `/v2.0/floatingips/${fip}`, undefined);
      await ok('DELETE', `/v2.0/ports/${port}`, undefined);
      await ok('PUT', `/v2.0/routers/${r1}/remove_router_interface`, { subnet_id: sub });
      await ok('PUT', `/v2.0/routers/${r1}`, { router: { external_gateway_info: null } });
    });

    it('by hand: refuses unknown routers and agents, non-L3 and DVR agents', async () => {
      const post = (agent: string, body: unknown) => s.req('POST', `/v2.0/agents/${agent}/l3-routers`, body, ADMIN);
      const cases: Array<[string, unknown, number, string]> = [
        [agentIds['l3-a']!, { router_id: NO_ID }, 404, 'RouterNotFound'],
        [NO_ID, { router_id: r1 }, 404, 'AgentNotFound'],
        [agentIds['dhcp-a']!, { router_id: r1 }, 404, 'InvalidL3Agent'],
        [agentIds['l3-dvr']!, { router_id: r1 }, 409, 'DVRL3CannotAssignToDvrAgent'],
        [agentIds['l3-a']!, { router_id: 12 }, 400, 'HTTPBadRequest'],
      ];
      for (const [agent, body, status, type] of cases) {
        const r = await post(agent, body);
        assert.equal(r.status, status, `${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.NeutronError.type, type);
      }
      assert.equal((await s.req('DELETE', `/v2.0/agents/${agentIds['l3-dvr']}/l3-routers/${r1}`, undefined, ADMIN)).status, 409);
      assert.equal((await s.req('DELETE', `/v2.0/agents/${agentIds['l3-a']}/l3-routers/${NO_ID}`, undefined, ADMIN)).status, 404);
      assert.equal((await s.req('GET', `/v2.0/agents/${NO_ID}/l3-routers`, undefined, ADMIN)).status, 404);
      assert.deepEqual((await s.req('GET', `/v2.0/agents/${agentIds['dhcp-a']}/l3-routers`, undefined, ADMIN)).body, { routers: [] });
    });

    it('concurrent manual adds of one router to two agents: one binding', async () => {
      const r = (await s.req('POST', '/v2.0/routers', { router: { name: 'race' } }, ALICE)).body.router.id;
      const results = await Promise.all(
        [agentIds['l3-a']!, agentIds['l3-b']!, agentIds['l3-a']!, agentIds['l3-b']!].map((a) =>
          s.req('POST', `/v2.0/agents/${a}/l3-routers`, { router_id: r }, ADMIN),
        ),
      );
      for (const x of results) assert.ok(x.status === 201 || x.status === 409, JSON.stringify(x.body));
      const rows = await s.server.db.kysely.selectFrom('routerl3agentbindings').selectAll().where('router_id', '=', r).execute();
      assert.equal(rows.length, 1);
      const winner = rows[0]!.l3_agent_id;
      // Every request for the winning agent succeeded; every one for the other was refused.
      const agentOf = [agentIds['l3-a'], agentIds['l3-b'], agentIds['l3-a'], agentIds['l3-b']];
      results.forEach((x, i) => assert.equal(x.status, agentOf[i] === winner ? 201 : 409));
      await s.req('DELETE', `/v2.0/routers/${r}`, undefined, ALICE);
    });

    it('deleting a router unbinds it and tells every L3 agent; deleting an agent drops its bindings', async () => {
      const b = agentIds['l3-b']!;
      const c0 = await mark();
      assert.equal((await s.req('DELETE', `/v2.0/routers/${r1}`, undefined, ALICE)).status, 204);
      assert.deepEqual(
        (await s.req('GET', `/v2.0/agents/${b}/l3-routers`, undefined, ADMIN)).body.routers.filter((x: any) => x.id === r1),
        [],
      );
      const got = (await since(c0)).filter((c) => c.method === 'router_deleted');
      assert.deepEqual(got.map((c) => c.host).sort(), ['l3-a', 'l3-b']);
      for (const c of got) assert.deepEqual(c.args, { router_id: r1 });
      // An agent that goes takes its bindings with it.
      const n = await net('orphan');
      const dhcpB = agentIds['dhcp-b']!;
      assert.equal((await s.req('POST', `/v2.0/agents/${dhcpB}/dhcp-networks`, { network_id: n }, ADMIN)).status, 201);
      const rr = (await s.req('POST', '/v2.0/routers', { router: { name: 'orphan' } }, ALICE)).body.router.id;
      assert.equal((await s.req('POST', `/v2.0/agents/${b}/l3-routers`, { router_id: rr }, ADMIN)).status, 201);
      assert.equal((await s.req('DELETE', `/v2.0/agents/${dhcpB}`, undefined, ADMIN)).status, 204);
      assert.equal((await s.req('DELETE', `/v2.0/agents/${b}`, undefined, ADMIN)).status, 204);
      assert.deepEqual((await s.req('GET', `/v2.0/networks/${n}/dhcp-agents`, undefined, ADMIN)).body, { agents: [] });
      assert.deepEqual((await s.req('GET', `/v2.0/routers/${rr}/l3-agents`, undefined, ADMIN)).body, { agents: [] });
    });
  });
}

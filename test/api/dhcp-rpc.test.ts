// The server side of DHCP agents, on every backend with the in-memory bus: scheduling of networks
// with DHCP-enabled subnets to alive DHCP agents, the DhcpRpcCallback methods on q-plugin, and
// the casts to dhcp_agent.<host> after network/subnet/port writes.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { ADMIN, ALICE, startServer, type TestServer } from '../helpers/server.js';
import { MemoryBroker, MemoryBus, silentLogger, type RpcBus } from '../../src/rpc/index.js';
import { RpcRegistry } from '../../src/server/rpc-registry.js';
import { DHCP_AGENT_EVENTS, dhcpDeviceId, uuid5Dns } from '../../src/core/wire.js';
import { sleep } from '../helpers/wait.js';
import { createOrUpdateAgent } from '../../src/plugins/agents/report-state.js';
import { AGENT_TYPE_LINUXBRIDGE } from '../../src/core/wire.js';

interface Cast {
  method: string;
  args: any;
}

describe('rpc registry', () => {
  it('merges handler maps per topic and refuses a method registered twice', () => {
    const r = new RpcRegistry();
    r.add('q-plugin', { a: () => 1 })
      .add('q-plugin', { b: () => 2 })
      .add('other', { a: () => 3 });
    assert.deepEqual(Object.keys(r.handlers('q-plugin')).sort(), ['a', 'b']);
    assert.deepEqual(r.topicNames().sort(), ['other', 'q-plugin']);
    assert.throws(() => r.add('q-plugin', { a: () => 4 }), /registered twice/);
  });

  it("device ids are Neutron's (uuid5 of the short host name)", () => {
    // python3 -c "import uuid; print(uuid.uuid5(uuid.NAMESPACE_DNS, 'compute1'))"
    assert.equal(uuid5Dns('compute1'), 'e0130025-5ee5-5094-8d98-24d0a68981b3');
    assert.equal(dhcpDeviceId('n1', 'compute1.example.org'), 'dhcpe0130025-5ee5-5094-8d98-24d0a68981b3-n1');
  });
});

for (const backend of BACKENDS) {
  describe(`DHCP agent RPC on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let s: TestServer;
    let broker: MemoryBroker;
    let serverBus: RpcBus;
    let agentBus: RpcBus;
    const HOST = `dhcp-${backend.name}`;
    const casts: Cast[] = [];
    const report = (host: string) =>
      agentBus.call('q-reports-plugin', 'report_state', {
        agent_state: {
          agent_state: {
            agent_type: 'DHCP agent',
            binary: 'neutron-dhcp-agent',
            host,
            topic: 'dhcp_agent',
            configurations: { networks: 0 },
            start_flag: true,
          },
        },
        time: new Date().toISOString().replace('Z', ''),
      });
    const rpc = <T = any>(method: string, args: Record<string, unknown>) => agentBus.call<T>('q-plugin', method, args, { timeoutMs: 10_000 });
    /** The casts received since `from`, once the notifier has sent everything. */
    const since = async (from: number) => {
      await s.server.settled();
      await sleep(20);
      return casts.slice(from);
    };

    /** Where new casts start, once the notifier has sent everything before. */
    const mark = async () => {
      await s.server.settled();
      await sleep(20);
      return casts.length;
    };

    before(async () => {
      broker = new MemoryBroker();
      serverBus = new MemoryBus({ broker, logger: silentLogger });
      agentBus = new MemoryBus({ broker, logger: silentLogger });
      s = await startServer(backend, {}, { bus: serverBus });
      const record = (method: string) => (_ctx: unknown, args: unknown) => {
        casts.push({ method, args });
      };
      await agentBus.serve('dhcp_agent', HOST, Object.fromEntries(DHCP_AGENT_EVENTS.map((m) => [m, record(m)])));
    });
    after(async () => {
      await s?.stop();
      await agentBus?.close();
      await serverBus?.close();
    });

    let netId = '';
    let subnetId = '';

    it("a network created before any DHCP agent is picked up by the agent's first sync", async () => {
      const n = await s.req('POST', '/v2.0/networks', { network: { name: 'early' } }, ALICE);
      assert.equal(n.status, 201);
      const sn = await s.req('POST', '/v2.0/subnets', { subnet: { network_id: n.body.network.id, cidr: '10.9.0.0/24', ip_version: 4 } }, ALICE);
      assert.equal(sn.status, 201);
      assert.deepEqual(await rpc('get_active_networks_info', { host: HOST }), [], 'no agent registered yet');
      assert.equal(await report(HOST), 'new');
      const nets = await rpc<any[]>('get_active_networks_info', { host: HOST });
      assert.deepEqual(
        nets.map((x) => x.id),
        [n.body.network.id],
      );
      assert.equal(nets[0].subnets[0].cidr, '10.9.0.0/24');
      await s.req('DELETE', `/v2.0/networks/${n.body.network.id}`, undefined, ALICE);
      assert.deepEqual(await rpc('get_active_networks_info', { host: HOST }), []);
    });

    it('a subnet with DHCP schedules its network to the agent: network_create_end, then subnet_create_end', async () => {
      const n = await s.req('POST', '/v2.0/networks', { network: { name: 'n1', mtu: 1400 } }, ADMIN);
      assert.equal(n.status, 201, JSON.stringify(n.body));
      netId = n.body.network.id;
      const c0 = await mark();
      const sn = await s.req(
        'POST',
        '/v2.0/subnets',
        {
          subnet: {
            network_id: netId,
            cidr: '10.1.0.0/24',
            ip_version: 4,
            dns_nameservers: ['10.1.0.53'],
            host_routes: [{ destination: '192.168.50.0/24', nexthop: '10.1.0.254' }],
          },
        },
        ADMIN,
      );
      assert.equal(sn.status, 201, JSON.stringify(sn.body));
      subnetId = sn.body.subnet.id;
      const got = await since(c0);
      assert.deepEqual(
        got.map((c) => c.method),
        ['network_create_end', 'subnet_create_end'],
      );
      assert.deepEqual(got[0]!.args, { payload: { network: { id: netId } } });
      assert.equal(got[1]!.args.payload.subnet.id, subnetId);
    });

    it('get_network_info returns the network with subnets (routes, DNS), ports and MTU', async () => {
      const info = await rpc<any>('get_network_info', { network_id: netId });
      assert.equal(info.id, netId);
      assert.equal(info.mtu, 1400);
      assert.equal(info.subnets.length, 1);
      assert.deepEqual(info.subnets[0].dns_nameservers, ['10.1.0.53']);
      assert.deepEqual(info.subnets[0].host_routes, [{ destination: '192.168.50.0/24', nexthop: '10.1.0.254' }]);
      assert.deepEqual(info.ports, []);
      assert.equal((await rpc('get_network_info', { network_id: '00000000-0000-0000-0000-000000000000' })) ?? null, null);
    });

    it("filters subnets on enable_dhcp as Neutron's handlers: get_network_info by default, the full sync unless enable_dhcp_filter is false", async () => {
      const off = await s.req(
        'POST',
        '/v2.0/subnets',
        { subnet: { network_id: netId, cidr: '10.2.0.0/24', ip_version: 4, enable_dhcp: false } },
        ADMIN,
      );
      assert.equal(off.status, 201, JSON.stringify(off.body));
      const ids = (n: any) => n.subnets.map((x: any) => x.id).sort();
      const both = [subnetId, off.body.subnet.id].sort();
      assert.deepEqual(ids(await rpc<any>('get_network_info', { network_id: netId })), [subnetId]);
      assert.deepEqual(ids(await rpc<any>('get_network_info', { network_id: netId, enable_dhcp: null })), both);
      const synced = async (args: object) => (await rpc<any[]>('get_active_networks_info', { host: HOST, ...args })).find((x) => x.id === netId);
      assert.deepEqual(ids(await synced({})), [subnetId]);
      assert.deepEqual(ids(await synced({ enable_dhcp_filter: false })), both);
      assert.equal((await s.req('DELETE', `/v2.0/subnets/${off.body.subnet.id}`, undefined, ADMIN)).status, 204);
    });

    let dhcpPortId = '';
    it('create_dhcp_port / update_dhcp_port / release_dhcp_port', async () => {
      const deviceId = dhcpDeviceId(netId, HOST);
      const p = await rpc<any>('create_dhcp_port', {
        port: { port: { network_id: netId, device_id: deviceId, fixed_ips: [{ subnet_id: subnetId }] } },
        host: HOST,
      });
      dhcpPortId = p.id;
      assert.equal(p.device_owner, 'network:dhcp');
      assert.equal(p.device_id, deviceId);
      assert.equal(p['binding:host_id'], HOST);
      assert.equal(p.fixed_ips.length, 1);
      const info = await rpc<any>('get_network_info', { network_id: netId });
      assert.deepEqual(
        info.ports.map((x: any) => x.id),
        [dhcpPortId],
      );
      const u = await rpc<any>('update_dhcp_port', {
        port_id: dhcpPortId,
        port: { port: { fixed_ips: [{ subnet_id: subnetId, ip_address: '10.1.0.2' }] } },
        host: HOST,
      });
      assert.deepEqual(
        u.fixed_ips.map((f: any) => f.ip_address),
        ['10.1.0.2'],
      );
      await rpc('release_dhcp_port', { network_id: netId, device_id: deviceId, host: HOST });
      assert.deepEqual((await rpc<any>('get_network_info', { network_id: netId })).ports, []);
    });

    it('port create/update/delete are cast to the hosting agent after commit', async () => {
      const c0 = await mark();
      const p = await s.req('POST', '/v2.0/ports', { port: { network_id: netId, name: 'vm1' } }, ADMIN);
      assert.equal(p.status, 201);
      const id = p.body.port.id;
      const u = await s.req(
        'PUT',
        `/v2.0/ports/${id}`,
        { port: { extra_dhcp_opts: [{ opt_name: 'domain-search', opt_value: 'example.org' }] } },
        ADMIN,
      );
      assert.equal(u.status, 200);
      assert.equal((await s.req('DELETE', `/v2.0/ports/${id}`, undefined, ADMIN)).status, 204);
      const got = (await since(c0)).filter((c) => c.method.startsWith('port_'));
      assert.deepEqual(
        got.map((c) => c.method),
        ['port_create_end', 'port_update_end', 'port_delete_end'],
      );
      assert.equal(got[0]!.args.payload.port.id, id);
      assert.deepEqual(got[1]!.args.payload.port.extra_dhcp_opts, [{ opt_name: 'domain-search', opt_value: 'example.org', ip_version: 4 }]);
      assert.equal(got[2]!.args.payload.port_id, id);
      assert.equal(got[2]!.args.payload.network_id, netId);
    });

    it('subnet update and delete, then network delete: the agent hears each, and the binding goes', async () => {
      const c0 = await mark();
      assert.equal((await s.req('PUT', `/v2.0/subnets/${subnetId}`, { subnet: { dns_nameservers: ['10.1.0.54'] } }, ADMIN)).status, 200);
      assert.equal((await s.req('DELETE', `/v2.0/subnets/${subnetId}`, undefined, ADMIN)).status, 204);
      assert.equal((await s.req('DELETE', `/v2.0/networks/${netId}`, undefined, ADMIN)).status, 204);
      const got = await since(c0);
      assert.deepEqual(
        got.map((c) => c.method),
        ['subnet_update_end', 'subnet_delete_end', 'network_delete_end'],
      );
      assert.deepEqual(got[1]!.args.payload, { subnet_id: subnetId, network_id: netId });
      assert.deepEqual(got[2]!.args.payload, { network_id: netId });
      const left = await s.server.db.kysely.selectFrom('networkdhcpagentbindings').selectAll().where('network_id', '=', netId).execute();
      assert.deepEqual(left, []);
    });

    it('a network without DHCP-enabled subnets is not scheduled; a disabled agent gets nothing new', async () => {
      const n = await s.req('POST', '/v2.0/networks', { network: { name: 'nodhcp' } }, ADMIN);
      const c0 = await mark();
      await s.req(
        'POST',
        '/v2.0/subnets',
        { subnet: { network_id: n.body.network.id, cidr: '10.2.0.0/24', ip_version: 4, enable_dhcp: false } },
        ADMIN,
      );
      assert.deepEqual(await since(c0), []);
      assert.deepEqual(
        (await rpc<any[]>('get_active_networks_info', { host: HOST })).map((x) => x.id),
        [],
      );
      const agents = (await s.req('GET', `/v2.0/agents?host=${HOST}`, undefined, ADMIN)).body.agents;
      await s.req('PUT', `/v2.0/agents/${agents[0].id}`, { agent: { admin_state_up: false } }, ADMIN);
      const n2 = await s.req('POST', '/v2.0/networks', { network: { name: 'later' } }, ADMIN);
      await s.req('POST', '/v2.0/subnets', { subnet: { network_id: n2.body.network.id, cidr: '10.3.0.0/24', ip_version: 4 } }, ADMIN);
      assert.deepEqual(await since(c0), []);
      await s.req('PUT', `/v2.0/agents/${agents[0].id}`, { agent: { admin_state_up: true } }, ADMIN);
      assert.deepEqual(
        (await rpc<any[]>('get_active_networks_info', { host: HOST })).map((x) => x.id),
        [n2.body.network.id],
      );
    });

    it("on a routed network, an agent's subnets are its host's segments' and non_local_subnets the others'", async () => {
      const lbAgent = (host: string, physnet: string) =>
        createOrUpdateAgent(
          s.server.db,
          {
            agent_type: AGENT_TYPE_LINUXBRIDGE,
            binary: 'neutron-linuxbridge-agent',
            host,
            topic: 'N/A',
            configurations: { tunnel_types: ['vxlan'], tunneling_ip: '192.0.2.9', interface_mappings: { [physnet]: 'eth1' } },
          },
          { agentDownTime: 75 },
        );
      const hostB = `${HOST}-b`;
      await lbAgent(HOST, 'physnet1');
      await lbAgent(hostB, 'physnet2');
      const api = async (method: string, path: string, body: unknown) => {
        const r = await s.req(method, path, body, ADMIN);
        assert.ok(r.status < 300, `${method} ${path}: ${JSON.stringify(r.body)}`);
        return r.body;
      };
      const net = (
        await api('POST', '/v2.0/networks', {
          network: { name: 'routed', 'provider:network_type': 'vlan', 'provider:physical_network': 'physnet1', 'provider:segmentation_id': 161 },
        })
      ).network.id;
      const segA = (await api('GET', `/v2.0/segments?network_id=${net}`, undefined)).segments[0].id;
      const segB = (
        await api('POST', '/v2.0/segments', { segment: { network_id: net, network_type: 'vlan', physical_network: 'physnet2', segmentation_id: 62 } })
      ).segment.id;
      const subnet = async (cidr: string, segment: string) =>
        (await api('POST', '/v2.0/subnets', { subnet: { network_id: net, ip_version: 4, cidr, segment_id: segment } })).subnet.id as string;
      const a1 = await subnet('10.81.1.0/24', segA);
      const a2 = await subnet('10.81.3.0/24', segA);
      const b = await subnet('10.81.2.0/24', segB);
      const ids = (l: any[]) => l.map((x) => x.id);
      const sorted = (...l: string[]) => l.sort();
      const onA = await rpc<any>('get_network_info', { network_id: net, host: HOST });
      assert.deepEqual([ids(onA.subnets), ids(onA.non_local_subnets)], [sorted(a1, a2), [b]]);
      const onB = await rpc<any>('get_network_info', { network_id: net, host: hostB });
      assert.deepEqual([ids(onB.subnets), ids(onB.non_local_subnets)], [[b], sorted(a1, a2)]);
      // A host on no segment of it serves none of its subnets.
      const nowhere = await rpc<any>('get_network_info', { network_id: net, host: 'dhcp-elsewhere' });
      assert.deepEqual([ids(nowhere.subnets), ids(nowhere.non_local_subnets)], [[], sorted(a1, a2, b)]);
      // The full sync answers the same for the agent's host.
      const synced = (await rpc<any[]>('get_active_networks_info', { host: HOST })).find((x) => x.id === net);
      assert.ok(synced, 'the routed network is scheduled to the agent');
      assert.deepEqual([ids(synced.subnets), ids(synced.non_local_subnets)], [sorted(a1, a2), [b]]);
      // A network without segment subnets is whole.
      const plainNet = (await api('POST', '/v2.0/networks', { network: { name: 'plain' } })).network.id;
      await api('POST', '/v2.0/subnets', { subnet: { network_id: plainNet, ip_version: 4, cidr: '10.82.0.0/24' } });
      const plain = await rpc<any>('get_network_info', { network_id: plainNet, host: hostB });
      assert.deepEqual([plain.subnets.length, plain.non_local_subnets], [1, []]);
    });
  });
}

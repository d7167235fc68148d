// The ML2 RPC endpoints for L2 agents on 'q-plugin' and the notifications to them, over the
// in-memory bus: device details for a tap name, device up/down flipping the port status, the
// l2population fanouts (with the flooding entry), get_fdb_entries for a resync, port_update and
// port_delete fanouts.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, startServer, type TestServer } from '../helpers/server.js';
import { BACKENDS } from '../helpers/backends.js';
import { MemoryBroker, MemoryBus, silentLogger, type RpcBus } from '../../src/rpc/index.js';
import { registerLinuxBridgeAgent } from '../helpers/agents.js';
import { Ml2RpcRig, type Heard } from '../helpers/ml2-rpc-rig.js';
import { sleep, waitFor } from '../helpers/wait.js';

const FLOOD = ['00:00:00:00:00:00', '0.0.0.0'];
const sqlite = BACKENDS.find((b) => b.name === 'sqlite')!;

describe('ML2 RPC for L2 agents (memory bus)', () => {
  let rig: Ml2RpcRig;
  let s: TestServer;
  let agentBus: RpcBus;
  let got: Heard[];
  let netId: string;
  let subnetId: string;

  before(async () => {
    rig = await Ml2RpcRig.start(sqlite);
    ({ s, agentBus, got, netId, subnetId } = rig);
  });
  after(async () => {
    await rig?.stop();
  });

  const newPort = (host: string) => rig.newPort(host);
  const status = (id: string) => rig.status(id);

  it('answers device details for a tap name, and nothing useful for unknown or unbound devices', async () => {
    const p = await newPort('host-a');
    const tap = `tap${p.id.slice(0, 11)}`;
    const [d, unknown] = await agentBus.call<any[]>('q-plugin', 'get_devices_details_list', {
      devices: [tap, 'tapdeadbeef-00'],
      agent_id: 'x',
      host: 'host-a',
    });
    assert.equal(d.device, tap);
    assert.equal(d.port_id, p.id);
    assert.equal(d.network_id, netId);
    assert.equal(d.mac_address, p.mac_address);
    assert.equal(d.network_type, 'vxlan');
    assert.ok(Number.isInteger(d.segmentation_id));
    assert.equal(d.admin_state_up, true);
    assert.equal(d.port_security_enabled, true);
    assert.deepEqual(d.fixed_ips, p.fixed_ips);
    assert.equal(d.mtu, 1450);
    assert.deepEqual(unknown, { device: 'tapdeadbeef-00' });
    const other = await agentBus.call<any>('q-plugin', 'get_device_details', { device: tap, host: 'host-b' });
    assert.equal(other.no_active_binding, true);
    const byId = await agentBus.call<any>('q-plugin', 'get_device_details', { device: p.id, host: 'host-a' });
    assert.equal(byId.port_id, p.id);
  });

  it("update_device_up/down reach the topology page's feed (after_status_update), not the agents' port notifiers", async () => {
    const p = await newPort('host-a');
    const tap = `tap${p.id.slice(0, 11)}`;
    const res = await fetch(`${s.url}/ui/events`, { headers: { 'x-project-id': ADMIN.project!, 'x-roles': ADMIN.roles! } });
    assert.equal(res.status, 200);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    const until = async (re: RegExp) => {
      while (!re.test(text)) {
        const { value, done } = await reader.read();
        assert.ok(!done, `stream ended before ${re}: ${text}`);
        text += value;
      }
    };
    await until(/event: ready/);
    got.length = 0;
    const change = new RegExp(`"resource":"port","action":"update","id":"${p.id}"`, 'g');
    await agentBus.call('q-plugin', 'update_device_up', { device: tap, agent_id: 'x', host: 'host-a' });
    await until(change);
    await agentBus.call('q-plugin', 'update_device_down', { device: tap, agent_id: 'x', host: 'host-a' });
    await until(new RegExp(`(${change.source}[\\s\\S]*){2}`));
    await reader.cancel();
    await sleep(100);
    assert.ok(!got.some((g) => g.topic === 'port' && JSON.stringify(g.args).includes(p.id)), 'no port_update for a status the agent reported');
  });

  it('update_device_up makes the port ACTIVE and announces it with l2population; down withdraws it', async () => {
    const p = await newPort('host-a');
    const tap = `tap${p.id.slice(0, 11)}`;
    const rev = (await status(p.id)).revision_number;
    got.length = 0;
    await agentBus.call('q-plugin', 'update_device_up', { device: tap, agent_id: 'x', host: 'host-a' });
    const after = await status(p.id);
    assert.equal(after.status, 'ACTIVE');
    assert.ok(after.revision_number > rev);
    const add = await waitFor('add_fdb_entries', () => got.find((g) => g.topic === 'l2pop' && g.method === 'add'));
    const e = add.args.fdb_entries[netId];
    assert.equal(e.network_type, 'vxlan');
    assert.deepEqual(e.ports['172.31.250.1'], [FLOOD, [p.mac_address, p.fixed_ips[0].ip_address]]);

    // A second up changes nothing and sends nothing.
    got.length = 0;
    await agentBus.call('q-plugin', 'update_device_up', { device: tap, agent_id: 'x', host: 'host-a' });
    await sleep(50);
    assert.equal(got.filter((g) => g.topic === 'l2pop').length, 0);

    // host-b's resync sees host-a's active ports; host-a's own view leaves itself out.
    const fdbB = await agentBus.call<any>('q-plugin', 'get_fdb_entries', { host: 'host-b', network_ids: [netId] });
    assert.ok(fdbB[netId].ports['172.31.250.1'].some((x: string[]) => x[0] === p.mac_address));
    const fdbA = await agentBus.call<any>('q-plugin', 'get_fdb_entries', { host: 'host-a' });
    assert.deepEqual(fdbA[netId].ports, {});

    // Up reported by the wrong host is ignored.
    const q = await newPort('host-b');
    await agentBus.call('q-plugin', 'update_device_up', { device: `tap${q.id.slice(0, 11)}`, host: 'host-a' });
    assert.equal((await status(q.id)).status, 'DOWN');

    got.length = 0;
    const down = await agentBus.call<any>('q-plugin', 'update_device_down', { device: tap, agent_id: 'x', host: 'host-a' });
    assert.deepEqual(down, { device: tap, exists: true });
    assert.equal((await status(p.id)).status, 'DOWN');
    const rm = await waitFor('remove_fdb_entries', () => got.find((g) => g.topic === 'l2pop' && g.method === 'remove'));
    const rmPorts = rm.args.fdb_entries[netId].ports['172.31.250.1'];
    assert.ok(rmPorts.some((x: string[]) => x[0] === p.mac_address));
  });

  it("a host's first port up casts it the network's whole FDB on its own queue (Neutron's agents learn the other hosts only so); refresh_tunnels asks again", async () => {
    const a = await newPort('host-a');
    await agentBus.call('q-plugin', 'update_device_up', { device: `tap${a.id.slice(0, 11)}`, agent_id: 'x', host: 'host-a' });
    const b = await newPort('host-b');
    const tapB = `tap${b.id.slice(0, 11)}`;
    got.length = 0;
    await agentBus.call('q-plugin', 'update_device_list', { devices_up: [tapB], devices_down: [], agent_id: 'y', host: 'host-b' });
    // The cast to host-b names host-a's VTEP with its flood entry and port; the fanout names host-b's own.
    const fromA = (g: { topic: string; method: string; args: any }) =>
      g.topic === 'l2pop' && g.method === 'add' && g.args.fdb_entries[netId]?.ports['172.31.250.1'] !== undefined;
    const cast = await waitFor('add_fdb_entries for host-b', () => got.find(fromA));
    const entries = cast.args.fdb_entries[netId];
    assert.deepEqual(entries.ports['172.31.250.1'][0], FLOOD);
    assert.ok(entries.ports['172.31.250.1'].some((x: string[]) => x[0] === a.mac_address && x[1] === a.fixed_ips[0].ip_address));
    assert.equal(entries.ports['172.31.250.2'], undefined, "host-b's own entries are not in its FDB");
    assert.ok(got.some((g) => g.method === 'add' && g.args.fdb_entries[netId]?.ports['172.31.250.2']?.some((x: string[]) => x[0] === b.mac_address)));
    // Past its first ports (three ACTIVE on host-b now), an up again sends host-b nothing; with
    // refresh_tunnels (an agent that restarted) it gets the FDB again.
    for (const p of [await newPort('host-b'), await newPort('host-b')])
      await agentBus.call('q-plugin', 'update_device_up', { device: `tap${p.id.slice(0, 11)}`, agent_id: 'y', host: 'host-b' });
    await sleep(100);
    got.length = 0;
    await agentBus.call('q-plugin', 'update_device_list', { devices_up: [tapB], devices_down: [], agent_id: 'y', host: 'host-b' });
    await sleep(100);
    assert.equal(got.filter(fromA).length, 0);
    await agentBus.call('q-plugin', 'update_device_list', {
      devices_up: [tapB],
      devices_down: [],
      agent_id: 'y',
      host: 'host-b',
      refresh_tunnels: true,
    });
    await waitFor('add_fdb_entries again', () => got.find(fromA));
  });

  it('update_device_list reports both directions', async () => {
    const p = await newPort('host-b');
    const tap = `tap${p.id.slice(0, 11)}`;
    const r = await agentBus.call<any>('q-plugin', 'update_device_list', { devices_up: [tap], devices_down: [], agent_id: 'x', host: 'host-b' });
    assert.deepEqual(r.devices_up, [tap]);
    assert.equal((await status(p.id)).status, 'ACTIVE');
  });

  it('port updates and deletes are fanned out; moving an ACTIVE port withdraws it from the old host', async () => {
    const p = await newPort('host-a');
    const tap = `tap${p.id.slice(0, 11)}`;
    await agentBus.call('q-plugin', 'update_device_up', { device: tap, host: 'host-a' });
    got.length = 0;
    const u = await s.req('PUT', `/v2.0/ports/${p.id}`, { port: { 'binding:host_id': 'host-b' } }, ADMIN);
    assert.equal(u.status, 200);
    assert.equal(u.body.port.status, 'DOWN');
    assert.equal(u.body.port['binding:vif_type'], 'bridge');
    const upd = await waitFor('port_update', () => got.find((g) => g.topic === 'port' && g.method === 'update'));
    assert.equal(upd.args.port.id, p.id);
    assert.equal(upd.args.network_type, 'vxlan');
    const rm = await waitFor('remove_fdb_entries', () => got.find((g) => g.topic === 'l2pop' && g.method === 'remove'));
    assert.ok(rm.args.fdb_entries[netId].ports['172.31.250.1']);
    got.length = 0;
    assert.equal((await s.req('DELETE', `/v2.0/ports/${p.id}`, undefined, ADMIN)).status, 204);
    const del = await waitFor('port_delete', () => got.find((g) => g.topic === 'port' && g.method === 'delete'));
    assert.equal(del.args.port_id, p.id);
    void subnetId;
  });
});

describe('[ml2] mechanism_drivers without l2population', () => {
  it('binds and activates ports, but sends no l2population fanouts', async () => {
    const broker = new MemoryBroker();
    const serverBus = new MemoryBus({ broker, logger: silentLogger });
    const agentBus = new MemoryBus({ broker, logger: silentLogger });
    const s = await startServer(sqlite, { ml2: { mechanism_drivers: 'linuxbridge' } }, { bus: serverBus });
    try {
      await registerLinuxBridgeAgent(s.server.db, 'host-a', '172.31.250.1');
      const fanouts: string[] = [];
      await agentBus.serve('q-agent-notifier-l2population-update', 'host-b', {
        add_fdb_entries: () => void fanouts.push('add'),
        remove_fdb_entries: () => void fanouts.push('remove'),
      });
      const n = await s.req('POST', '/v2.0/networks', { network: { name: 'n' } }, ADMIN);
      await s.req('POST', '/v2.0/subnets', { subnet: { network_id: n.body.network.id, cidr: '10.8.0.0/24', ip_version: 4 } }, ADMIN);
      const p = await s.req(
        'POST',
        '/v2.0/ports',
        { port: { network_id: n.body.network.id, 'binding:host_id': 'host-a', device_owner: 'compute:nova' } },
        ADMIN,
      );
      assert.equal(p.body.port['binding:vif_type'], 'bridge');
      await agentBus.call('q-plugin', 'update_device_up', { device: `tap${p.body.port.id.slice(0, 11)}`, host: 'host-a' });
      assert.equal((await s.req('GET', `/v2.0/ports/${p.body.port.id}`, undefined, ADMIN)).body.port.status, 'ACTIVE');
      await sleep(100);
      assert.deepEqual(fanouts, []);
    } finally {
      await s.stop();
      await agentBus.close();
      await serverBus.close();
    }
  });
});

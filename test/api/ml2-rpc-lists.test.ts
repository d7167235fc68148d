// update_device_list and get_devices_details_list with many devices in one call, on every
// backend: the answers match the one-device RPCs, statuses change in one transaction, and the
// l2population news go out as one fanout per direction (with the host's flood entry only where
// it has no ACTIVE port left on the network).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, startServer, type TestServer } from '../helpers/server.js';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { MemoryBroker, MemoryBus, silentLogger, type RpcBus } from '../../src/rpc/index.js';
import { registerLinuxBridgeAgent } from '../helpers/agents.js';
import { sleep, waitFor } from '../helpers/wait.js';

const FLOOD = ['00:00:00:00:00:00', '0.0.0.0'];

for (const backend of BACKENDS) {
  describe(`ML2 RPC device lists on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let s: TestServer;
    let serverBus: RpcBus;
    let agentBus: RpcBus;
    const got: Array<{ topic: string; method: string; args: any }> = [];
    let netId: string;

    before(async () => {
      const broker = new MemoryBroker();
      serverBus = new MemoryBus({ broker, logger: silentLogger });
      agentBus = new MemoryBus({ broker, logger: silentLogger });
      s = await startServer(backend, {}, { bus: serverBus });
      for (const [host, ip] of [
        ['host-a', '172.31.250.1'],
        ['host-b', '172.31.250.2'],
      ] as const) {
        await registerLinuxBridgeAgent(s.server.db, host, ip);
      }
      const l2 = (method: string) => (_ctx: unknown, args: unknown) => {
        got.push({ topic: 'l2pop', method, args });
      };
      await agentBus.serve('q-agent-notifier-l2population-update', 'host-b', {
        add_fdb_entries: l2('add'),
        remove_fdb_entries: l2('remove'),
        update_fdb_entries: l2('update'),
      });
      const n = await s.req('POST', '/v2.0/networks', { network: { name: 'n1' } }, ADMIN);
      netId = n.body.network.id;
      await s.req('POST', '/v2.0/subnets', { subnet: { network_id: netId, cidr: '10.9.0.0/24', ip_version: 4 } }, ADMIN);
    });
    after(async () => {
      await s?.stop();
      await agentBus?.close();
      await serverBus?.close();
    });

    const newPort = async (host: string) => {
      const r = await s.req('POST', '/v2.0/ports', { port: { network_id: netId, 'binding:host_id': host, device_owner: 'compute:nova' } }, ADMIN);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body.port;
    };
    const status = async (id: string) => (await s.req('GET', `/v2.0/ports/${id}`, undefined, ADMIN)).body.port;

    it('answers and updates many devices in one call, with one l2population fanout per direction', async () => {
      const a = [await newPort('host-a'), await newPort('host-a'), await newPort('host-a')];
      const b = await newPort('host-b');
      const taps = a.map((p) => `tap${p.id.slice(0, 11)}`);
      const details = await agentBus.call<any[]>('q-plugin', 'get_devices_details_list', {
        devices: [...taps, `tap${b.id.slice(0, 11)}`, a[0].id, 'not-a-device', 'tap00000000-00'],
        agent_id: 'x',
        host: 'host-a',
      });
      assert.deepEqual(
        details.slice(0, 3).map((d) => d.port_id),
        a.map((p) => p.id),
      );
      assert.deepEqual(
        details.slice(0, 3).map((d) => d.device),
        taps,
      );
      assert.ok(details.slice(0, 3).every((d) => d.mtu === 1450 && d.network_type === 'vxlan' && d.fixed_ips.length === 1));
      assert.deepEqual(details[3], { device: `tap${b.id.slice(0, 11)}`, no_active_binding: true });
      assert.equal(details[4].port_id, a[0].id);
      assert.deepEqual(details.slice(5), [{ device: 'not-a-device' }, { device: 'tap00000000-00' }]);

      got.length = 0;
      const up = await agentBus.call<any>('q-plugin', 'update_device_list', {
        devices_up: [...taps, `tap${b.id.slice(0, 11)}`],
        devices_down: [],
        agent_id: 'x',
        host: 'host-a',
      });
      assert.equal(up.devices_up.length, 4);
      for (const p of a) assert.equal((await status(p.id)).status, 'ACTIVE');
      assert.equal((await status(b.id)).status, 'DOWN', 'a port bound to another host is left alone');
      await sleep(50);
      const adds = got.filter((g) => g.topic === 'l2pop' && g.method === 'add');
      assert.equal(adds.length, 1, 'one fanout for the three ports');
      const added = adds[0]!.args.fdb_entries[netId].ports['172.31.250.1'] as string[][];
      assert.deepEqual(added[0], FLOOD);
      assert.deepEqual(new Set(added.slice(1).map((x) => x[0])), new Set(a.map((p) => p.mac_address)));

      // Two go down while one stays: no flood entry withdrawn; then the last one: with it.
      got.length = 0;
      const down = await agentBus.call<any>('q-plugin', 'update_device_list', {
        devices_up: [],
        devices_down: [taps[0], taps[1], 'tapffffffff-ff'],
        agent_id: 'x',
        host: 'host-a',
      });
      assert.deepEqual(down.devices_down, [
        { device: taps[0], exists: true },
        { device: taps[1], exists: true },
        { device: 'tapffffffff-ff', exists: false },
      ]);
      const rm = await waitFor('remove_fdb_entries', () => got.find((g) => g.topic === 'l2pop' && g.method === 'remove'));
      const removed = rm.args.fdb_entries[netId].ports['172.31.250.1'] as string[][];
      assert.deepEqual(new Set(removed.map((x) => x[0])), new Set([a[0].mac_address, a[1].mac_address]));
      for (const p of [a[0], a[1]]) assert.equal((await status(p.id)).status, 'DOWN');
      assert.equal((await status(a[2].id)).status, 'ACTIVE');
      got.length = 0;
      await agentBus.call<any>('q-plugin', 'update_device_list', { devices_up: [], devices_down: [taps[2]], agent_id: 'x', host: 'host-a' });
      const last = await waitFor('remove_fdb_entries', () => got.find((g) => g.topic === 'l2pop' && g.method === 'remove'));
      assert.deepEqual(last.args.fdb_entries[netId].ports['172.31.250.1'], [FLOOD, [a[2].mac_address, a[2].fixed_ips[0].ip_address]]);
    });
  });
}

// update_device_list and get_devices_details_list with many devices in one call, on every
// backend: the answers match the one-device RPCs, statuses change in one transaction, and the
// l2population news go out as one fanout per direction (with the host's flood entry only where
// it has no ACTIVE port left on the network).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { type RpcBus } from '../../src/rpc/index.js';
import { Ml2RpcRig, type Heard } from '../helpers/ml2-rpc-rig.js';
import { sleep, waitFor } from '../helpers/wait.js';

const FLOOD = ['00:00:00:00:00:00', '0.0.0.0'];

for (const backend of BACKENDS) {
  describe(`ML2 RPC device lists on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let rig: Ml2RpcRig;
    let agentBus: RpcBus;
    let got: Heard[];
    let netId: string;

    before(async () => {
      rig = await Ml2RpcRig.start(backend);
      ({ agentBus, got, netId } = rig);
    });
    after(async () => {
      await rig?.stop();
    });

    const newPort = (host: string) => rig.newPort(host);
    const status = (id: string) => rig.status(id);

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

// The Linux-bridge agent's pure core: desired links per device, which of our links may go, the
// l2population view and the FDB/neighbour entries it yields.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { diffLinks, type Link } from '../../src/dataplane/index.js';
import { FdbView, desiredFdb, desiredLinks, ownedLinks, tapName, type DeviceInfo, type ModelOptions } from '../../src/agents/linuxbridge/model.js';

const O: ModelOptions = {
  localIp: '172.31.250.1',
  enableVxlan: true,
  interfaceMappings: { physnet1: 'eth1' },
  bridgeMappings: {},
  arpResponder: false,
};
const NET = '0da48f3f-b01b-488f-8f60-3b1f62e678cd';
const dev = (port: string, extra: Partial<DeviceInfo> = {}): DeviceInfo => ({
  device: tapName(port),
  port_id: port,
  network_id: NET,
  mac_address: 'fa:16:3e:00:00:01',
  admin_state_up: true,
  network_type: 'vxlan',
  segmentation_id: 7000,
  physical_network: null,
  mtu: 1450,
  ...extra,
});
const link = (name: string, kind: string | null, master: string | null = null, extra: Partial<Link> = {}): Link => ({
  index: 1,
  name,
  kind,
  mtu: 1450,
  address: '',
  up: true,
  lowerUp: true,
  master,
  parent: null,
  addresses: [],
  ...extra,
});

describe('linuxbridge model', () => {
  it('builds one bridge and one vxlan device per network, each tap in its bridge', () => {
    const l = desiredLinks([dev('11111111-1111-1111-1111-111111111111'), dev('22222222-2222-2222-2222-222222222222')], O);
    assert.deepEqual(
      l.map((x) => `${x.kind}:${x.name}`),
      ['bridge:brq0da48f3f-b0', 'vxlan:vxlan-7000', 'external:tap11111111-11', 'external:tap22222222-22'],
    );
    const vx = l[1] as any;
    assert.equal(vx.local, '172.31.250.1');
    assert.equal(vx.learning, false);
    assert.equal(vx.dstport, 4789);
    assert.equal(vx.master, 'brq0da48f3f-b0');
  });

  it('flat and vlan networks use the mapped interface; unsupported devices are left out', () => {
    const flat = desiredLinks(
      [dev('33333333-3333-3333-3333-333333333333', { network_type: 'flat', physical_network: 'physnet1', segmentation_id: null })],
      O,
    );
    assert.ok(flat.some((x) => x.name === 'eth1' && x.master === 'brq0da48f3f-b0'));
    const vlan = desiredLinks(
      [dev('44444444-4444-4444-4444-444444444444', { network_type: 'vlan', physical_network: 'physnet1', segmentation_id: 120 })],
      O,
    );
    assert.ok(vlan.some((x) => x.kind === 'vlan' && x.name === 'eth1.120'));
    assert.deepEqual(desiredLinks([dev('55555555-5555-5555-5555-555555555555', { network_type: 'vlan', physical_network: 'other' })], O), []);
  });

  it('never deletes a bridge that still holds a tap, even an unknown one', () => {
    const actual = [
      link('brqaaaaaaaa-aa', 'bridge'),
      link('vxlan-1', 'vxlan', 'brqaaaaaaaa-aa'),
      link('tapunknown-00', 'veth', 'brqaaaaaaaa-aa'),
      link('brqbbbbbbbb-bb', 'bridge'),
      link('vxlan-2', 'vxlan', 'brqbbbbbbbb-bb'),
      link('eth0', null),
    ];
    const ops = diffLinks([], actual, { owned: ownedLinks(actual) });
    assert.deepEqual(ops.map((o) => `${o.op}:${'name' in o ? o.name : ''}`).sort(), ['delete:brqbbbbbbbb-bb', 'delete:vxlan-2']);
  });

  it('keeps the l2pop view: flood entries, one remote per MAC, own IP left out, neighbours with arp_responder', async () => {
    const v = new FdbView();
    v.add({
      [NET]: {
        ports: {
          '172.31.250.2': [
            ['00:00:00:00:00:00', '0.0.0.0'],
            ['FA:16:3E:00:00:02', '10.0.0.2'],
          ],
          '172.31.250.1': [
            ['00:00:00:00:00:00', '0.0.0.0'],
            ['fa:16:3e:00:00:01', '10.0.0.1'],
          ],
        },
      },
    });
    let d = desiredFdb(v, NET, 'vxlan-7000', '172.31.250.1', true);
    assert.deepEqual(d.fdb, [
      { mac: '00:00:00:00:00:00', dev: 'vxlan-7000', dst: '172.31.250.2' },
      { mac: 'fa:16:3e:00:00:02', dev: 'vxlan-7000', dst: '172.31.250.2' },
    ]);
    assert.deepEqual(d.neigh, [{ ip: '10.0.0.2', mac: 'fa:16:3e:00:00:02', dev: 'vxlan-7000' }]);
    v.update({ chg_ip: { [NET]: { '172.31.250.2': { before: [['fa:16:3e:00:00:02', '10.0.0.2']], after: [['fa:16:3e:00:00:02', '10.0.0.9']] } } } });
    assert.deepEqual(
      desiredFdb(v, NET, 'vxlan-7000', '172.31.250.1', true).neigh.map((n) => n.ip),
      ['10.0.0.9'],
    );
    v.remove({
      [NET]: {
        ports: {
          '172.31.250.2': [
            ['00:00:00:00:00:00', '0.0.0.0'],
            ['fa:16:3e:00:00:02', '10.0.0.9'],
          ],
        },
      },
    });
    d = desiredFdb(v, NET, 'vxlan-7000', '172.31.250.1', true);
    assert.deepEqual(d, { fdb: [], neigh: [] });
    await v.load([NET], async () => ({ [NET]: { ports: { '172.31.250.3': [['00:00:00:00:00:00', '0.0.0.0']] } } }));
    assert.deepEqual(
      desiredFdb(v, NET, 'vxlan-7000', '172.31.250.1', false).fdb.map((e) => e.dst),
      ['172.31.250.3'],
    );
  });

  it('a load keeps the fanouts heard while its call was out: a port up or down during a resync is not lost', async () => {
    const flood: [string, string] = ['00:00:00:00:00:00', '0.0.0.0'];
    const p2: [string, string] = ['fa:16:3e:00:00:02', '10.0.0.2'];
    const p3: [string, string] = ['fa:16:3e:00:00:03', '10.0.0.3'];
    const at = (ports: Array<[string, string]>) => ({ [NET]: { ports: { '172.31.250.2': ports } } });
    const macs = (v: FdbView) => desiredFdb(v, NET, 'vxlan-7000', '172.31.250.1', false).fdb.map((e) => e.mac);
    const v = new FdbView();
    v.add(at([flood, p2]));
    // The server answered before p3 went up, the fanout for p3 came before the answer: a resync keeps p3.
    await v.load([NET], async () => {
      v.add(at([p3]));
      return at([flood, p2]);
    });
    assert.deepEqual(macs(v), ['00:00:00:00:00:00', p2[0], p3[0]]);
    // The answer still has p2, whose removal was heard during the call: it stays removed.
    const w = new FdbView();
    w.add(at([flood, p2, p3]));
    await w.load([NET], async () => {
      w.remove(at([p2]));
      return at([flood, p2, p3]);
    });
    assert.deepEqual(macs(w), ['00:00:00:00:00:00', p3[0]]);
    // A change heard during the call that the answer already has (older than the snapshot) changes nothing.
    await v.load([NET], async () => {
      v.add(at([p3]));
      return at([flood, p3]);
    });
    assert.deepEqual(macs(v), ['00:00:00:00:00:00', p3[0]], 'p2 is gone from the answer and no fanout brought it back');
    // A failed call leaves the view as the fanouts made it.
    await assert.rejects(
      v.load([NET], async () => {
        v.add(at([p2]));
        throw new Error('timeout');
      }),
    );
    assert.deepEqual(macs(v), ['00:00:00:00:00:00', p2[0], p3[0]]);
  });
});

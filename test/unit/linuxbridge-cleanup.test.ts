// linuxbridge-cleanup's decision (pure): which brq bridges and vxlan-/VLAN devices go, which stay.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Link } from '../../src/dataplane/index.js';
import { parseCleanupArgs, planCleanup } from '../../src/agents/linuxbridge/cleanup.js';

const link = (name: string, kind: string | null, master: string | null = null, extra: Partial<Link> = {}): Link => ({
  index: 1,
  name,
  kind,
  mtu: 1500,
  address: '',
  up: true,
  lowerUp: true,
  master,
  parent: null,
  addresses: [],
  ...extra,
});
const vx = (vni: number, master: string | null, name = `vxlan-${vni}`) =>
  link(name, 'vxlan', master, { vxlan: { vni, local: '10.0.0.1', dev: null, dstport: 4789, learning: false, proxy: false } });
const vlan = (parent: string, id: number, master: string | null, name = `${parent.slice(0, 10)}.${id}`) =>
  link(name, 'vlan', master, { parent, vlan: { id, protocol: '802.1Q' } });
const O = { bridgeMappings: { ext: 'brqmapped-000' }, interfaceMappings: { physnet1: 'eth1' } };
const names = (xs: Array<{ name: string }>) => xs.map((x) => x.name).sort();

describe('linuxbridge-cleanup plan', () => {
  it('removes an empty brq bridge with its vxlan device, keeps one with a tap', () => {
    const p = planCleanup(
      [
        link('brqaaaaaaaa-aa', 'bridge'),
        vx(1001, 'brqaaaaaaaa-aa'),
        link('brqbbbbbbbb-bb', 'bridge'),
        vx(1002, 'brqbbbbbbbb-bb'),
        link('tap12345678-90', 'veth', 'brqbbbbbbbb-bb'),
      ],
      O,
    );
    assert.deepEqual(
      p.remove.map((r) => r.name),
      ['vxlan-1001', 'brqaaaaaaaa-aa'],
      'members before their bridge',
    );
    assert.deepEqual(names(p.keep), ['brqbbbbbbbb-bb', 'vxlan-1002']);
    assert.match(p.keep.find((k) => k.name === 'brqbbbbbbbb-bb')!.why, /tap12345678-90 is plugged/);
  });

  it('a bridge with only non-tap interfaces is empty as far as VMs go (Neutron counts taps)', () => {
    const p = planCleanup([link('brqaaaaaaaa-aa', 'bridge'), link('eth1', null, 'brqaaaaaaaa-aa'), link('veth0', 'veth', 'brqaaaaaaaa-aa')], O);
    // The bridge goes (which detaches them); the interfaces themselves are not ours to delete.
    assert.deepEqual(names(p.remove), ['brqaaaaaaaa-aa']);
  });

  it('deletes the VLAN sub-interface the agent made, not the physical parent or a foreign VLAN device', () => {
    const p = planCleanup(
      [
        link('eth1', null, 'brqaaaaaaaa-aa'),
        link('brqaaaaaaaa-aa', 'bridge'),
        vlan('eth1', 120, 'brqaaaaaaaa-aa'),
        link('brqcccccccc-cc', 'bridge'),
        link('eth2', null),
        vlan('eth2', 130, 'brqcccccccc-cc'),
        vlan('eth1', 140, 'brqcccccccc-cc', 'myvlan140'),
      ],
      O,
    );
    assert.deepEqual(names(p.remove), ['brqaaaaaaaa-aa', 'brqcccccccc-cc', 'eth1.120']);
  });

  it('leaves bridge_mappings bridges, bridges with addresses and non-brq bridges alone', () => {
    const p = planCleanup(
      [
        link('brqmapped-000', 'bridge'),
        vx(7, 'brqmapped-000'),
        link('brqaddr-00000', 'bridge', null, { addresses: ['192.0.2.1/24'] }),
        link('br-ex', 'bridge'),
        vx(8, 'br-ex'),
        link('docker0', 'bridge'),
      ],
      O,
    );
    assert.deepEqual(p.remove, []);
    assert.deepEqual(names(p.keep), ['brqaddr-00000', 'brqmapped-000', 'vxlan-7', 'vxlan-8']);
  });

  it('removes a vxlan-<vni> device in no bridge; not one named otherwise or with another VNI', () => {
    const p = planCleanup([vx(9, null), vx(10, null, 'vxlan-99'), vx(11, null, 'vxlan0'), link('vxlan-12', 'dummy')], O);
    assert.deepEqual(names(p.remove), ['vxlan-9']);
    assert.match(p.remove[0]!.why, /no bridge/);
  });

  it('parses its options', () => {
    const a = parseCleanupArgs(['--config-file', 'a.ini', '--config-file=b.ini', '--netns', 'ns1', '--dry-run']);
    assert.ok(a !== 'help');
    assert.equal(a.configFiles.length, 2);
    assert.equal(a.netns, 'ns1');
    assert.equal(a.dryRun, true);
    assert.equal(parseCleanupArgs(['--help']), 'help');
    assert.throws(() => parseCleanupArgs(['--bogus']), /unknown option --bogus/);
    assert.throws(() => parseCleanupArgs(['--netns']), /--netns needs a value/);
  });
});

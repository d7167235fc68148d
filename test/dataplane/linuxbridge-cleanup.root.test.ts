// As root, in a namespace of its own: `neutrino linuxbridge-cleanup` removes the agent's empty
// brq bridges with their vxlan- devices and stray vxlan- devices, and leaves bridges with a
// tap, bridge_mappings bridges, bridges with addresses, other bridges and physical interfaces.
// The command runs as a user would run it, once with --netns and once under `ip netns exec`.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { IpBatch, listLinks } from '../../src/dataplane/index.js';
import { Namespaces, rootGate, suffix } from './root-helpers.js';

const run = promisify(execFile);
const gate = rootGate('linuxbridge-cleanup', ['ip']);
const BIN = resolve(import.meta.dirname, '../../../bin/neutrino');
const PATH = `${process.env.PATH ?? ''}:/usr/sbin:/sbin`;

describe('linuxbridge-cleanup (root)', { skip: gate.skip }, () => {
  const s = suffix();
  const nss = new Namespaces();
  const NS = `nt${s}lbc`;
  const dir = mkdtempSync(join(tmpdir(), 'neutrino-lbc-'));
  const conf = join(dir, 'linuxbridge_agent.ini');
  const names = async () => new Set((await listLinks({ netns: NS })).map((l) => l.name));

  before(async () => {
    gate.check();
    await nss.add(NS);
    await nss.add(`${NS}v`);
    writeFileSync(conf, '[linux_bridge]\nphysical_interface_mappings = physnet1:eth1,physnet2:eth2\nbridge_mappings = ext:brqmapped\n');
    const b = new IpBatch()
      // "Physical" interfaces: veths (the dummy module may not be loadable here).
      .addVeth('eth1', 'up1', { peerNetns: `${NS}v` })
      .addVeth('eth2', 'up2', { peerNetns: `${NS}v` })
      // An empty network bridge (the VM went) with its VXLAN device. (VLAN sub-interfaces are
      // covered by the unit test: kernels without 8021q, like CI's, cannot make them.)
      .addBridge('brqempty')
      .addVxlan('vxlan-101', { vni: 101 })
      .setMaster('vxlan-101', 'brqempty')
      .setMaster('eth1', 'brqempty')
      // A bridge a VM is still plugged into (the tap's peer is in another namespace).
      .addBridge('brqbusy')
      .addVxlan('vxlan-102', { vni: 102 })
      .setMaster('vxlan-102', 'brqbusy')
      .addVeth('tap0123456789a', 'eth0', { peerNetns: `${NS}v` })
      .setMaster('tap0123456789a', 'brqbusy')
      // A flat network's bridge: the physical interface is detached, not deleted.
      .addBridge('brqflat')
      .setMaster('eth2', 'brqflat')
      .addBridge('brqmapped')
      .addBridge('brqaddr')
      .addAddr('brqaddr', '192.0.2.1/24')
      .addVxlan('vxlan-103', { vni: 103 })
      .addBridge('br-other')
      .addVxlan('vxlan-104', { vni: 104 })
      .setMaster('vxlan-104', 'br-other');
    await b.apply({ netns: NS });
  });

  after(async () => {
    await nss.deleteAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it('--dry-run lists what would go and changes nothing', async () => {
    const before = await names();
    const { stdout } = await run(process.execPath, [BIN, 'linuxbridge-cleanup', '--config-file', conf, '--netns', NS, '--dry-run']);
    assert.match(stdout, /would remove bridge brqempty: no tap plugged/);
    assert.match(stdout, /4 would remove, /);
    assert.deepEqual(await names(), before);
  });

  it("removes empty brq bridges and the agent's devices in them, and stray vxlan devices", async () => {
    const { stdout } = await run(process.execPath, [BIN, 'linuxbridge-cleanup', '--config-file', conf, '--netns', NS]);
    const after = await names();
    for (const gone of ['brqempty', 'vxlan-101', 'brqflat', 'vxlan-103']) assert.ok(!after.has(gone), `${gone} removed\n${stdout}`);
    for (const kept of ['brqbusy', 'vxlan-102', 'tap0123456789a', 'brqmapped', 'brqaddr', 'br-other', 'vxlan-104', 'eth1', 'eth2'])
      assert.ok(after.has(kept), `${kept} kept\n${stdout}`);
    assert.match(stdout, /kept bridge brqbusy: tap0123456789a is plugged/);
    assert.match(stdout, /kept bridge brqmapped: a bridge_mappings bridge/);
    assert.match(stdout, /4 removed, \d+ kept, 0 failed/);
    const links = await listLinks({ netns: NS });
    for (const phys of ['eth1', 'eth2']) assert.equal(links.find((l) => l.name === phys)!.master, null, `${phys} detached`);
  });

  it('once the VM is gone its bridge goes too; a second run finds nothing (under ip netns exec)', async () => {
    await new IpBatch().deleteLink('tap0123456789a').apply({ netns: NS });
    const env = { ...process.env, PATH };
    const first = await run('ip', ['netns', 'exec', NS, process.execPath, BIN, 'linuxbridge-cleanup', '--config-file', conf], { env });
    assert.match(first.stdout, /removed bridge brqbusy/);
    assert.match(first.stdout, /removed vxlan vxlan-102/);
    const again = await run('ip', ['netns', 'exec', NS, process.execPath, BIN, 'linuxbridge-cleanup', '--config-file', conf], { env });
    assert.match(again.stdout, /0 removed, /);
    const left = await names();
    assert.ok(left.has('brqmapped') && left.has('br-other') && left.has('vxlan-104'));
  });

  it('a bad option or config value stops it with exit status 2', async () => {
    await assert.rejects(
      run(process.execPath, [BIN, 'linuxbridge-cleanup', '--netns']),
      (e: any) => e.code === 2 && /--netns needs a value/.test(e.stderr),
    );
    const bad = join(dir, 'bad.ini');
    writeFileSync(bad, '[linux_bridge]\nbridge_mappings = nocolon\n');
    await assert.rejects(
      run(process.execPath, [BIN, 'linuxbridge-cleanup', '--config-file', bad, '--netns', NS]),
      (e: any) => e.code === 2 && /bridge_mappings/.test(e.stderr),
    );
  });
});

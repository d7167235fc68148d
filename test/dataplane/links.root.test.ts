// As root: namespace and link primitives against the real kernel — idempotent namespace
// creation, moving a link between namespaces, attribute changes, owned-link clean-up, VLAN
// sub-interfaces, and a batch error that names the failing line.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CommandError,
  IpBatch,
  deleteNetns,
  ensureNetns,
  listLinks,
  listNetns,
  reconcileLinks,
  setLink,
  stats,
  type DesiredLink,
} from '../../src/dataplane/index.js';
import { Namespaces, rootGate, suffix } from './root-helpers.js';

const gate = rootGate('link primitives', ['ip', 'nsenter']);

describe('dataplane (root): namespaces and links', { skip: gate.skip }, () => {
  const s = suffix();
  const nss = new Namespaces();
  const A = `nt${s}a`;
  const B = `nt${s}b`;

  before(async () => {
    gate.check();
    await nss.add(A);
    await nss.add(B);
  });
  after(async () => {
    await nss.deleteAll();
  });

  it('creates a namespace once, with lo up, and deletes it once', async () => {
    const n = `nt${s}x`;
    await nss.add(n);
    const w0 = stats().writes;
    assert.equal(await ensureNetns(n), false);
    assert.equal(stats().writes - w0, 0);
    assert.ok((await listNetns()).some((x) => x.name === n));
    assert.equal((await listLinks({ netns: n })).find((l) => l.name === 'lo')?.up, true);
    assert.equal(await deleteNetns(n), true);
    assert.equal(await deleteNetns(n), false);
  });

  it('changes attributes in place and moves a link to another namespace', async () => {
    await reconcileLinks(
      [
        { kind: 'veth', name: 'p0', peer: 'p1' },
        { kind: 'bridge', name: 'b0', up: true },
      ],
      { netns: A },
    );
    const ops = await reconcileLinks(
      [
        { kind: 'veth', name: 'p0', peer: 'p1', mtu: 1400, address: '02:00:00:00:aa:01', master: 'b0', up: true },
        { kind: 'bridge', name: 'b0', up: true },
      ],
      { netns: A },
    );
    assert.deepEqual(
      ops.map((o) => o.op),
      ['mtu', 'address', 'master', 'up'],
    );
    const p0 = (await listLinks({ netns: A })).find((l) => l.name === 'p0')!;
    assert.deepEqual([p0.mtu, p0.address, p0.master, p0.up], [1400, '02:00:00:00:aa:01', 'b0', true]);
    await setLink('p1', { netns: B }, { netns: A });
    assert.equal(
      (await listLinks({ netns: A })).some((l) => l.name === 'p1'),
      false,
    );
    const p1 = (await listLinks({ netns: B })).find((l) => l.name === 'p1')!;
    assert.equal(p1.kind, 'veth');
  });

  it('deletes owned links that are no longer desired, and only those', async () => {
    await reconcileLinks(
      [
        { kind: 'bridge', name: 'brq-1' },
        { kind: 'bridge', name: 'brq-2' },
        { kind: 'bridge', name: 'keep' },
      ],
      { netns: B },
    );
    const ops = await reconcileLinks([{ kind: 'bridge', name: 'brq-1' }], { netns: B }, { owned: (l) => l.name.startsWith('brq-') });
    assert.deepEqual(ops, [{ op: 'delete', name: 'brq-2', why: 'not desired' }]);
    const names = (await listLinks({ netns: B })).map((l) => l.name).sort();
    assert.deepEqual(names, ['brq-1', 'keep', 'lo', 'p1']);
  });

  it('a failing batch line is named in the error, and earlier lines stay applied', async () => {
    const e = await new IpBatch()
      .addBridge('ok0')
      .setMaster('nosuchdev', 'ok0')
      .apply({ netns: B })
      .catch((x: unknown) => x);
    assert.ok(e instanceof CommandError, String(e));
    assert.match(e.message, /ip -n \S+ -batch - exited with 1/);
    assert.match(e.message, /Command failed -:2/);
    assert.match(e.message, /link set dev nosuchdev master ok0/, 'stdin shown');
    assert.ok((await listLinks({ netns: B })).some((l) => l.name === 'ok0'));
  });

  it('VLAN sub-interfaces (where the kernel has 802.1Q)', async (t) => {
    const trunk: DesiredLink = { kind: 'veth', name: 'trunk', peer: 'trunk-p', up: true };
    const vlan = { kind: 'vlan', name: 'trunk.100', parent: 'trunk', vlanId: 100, up: true } satisfies DesiredLink;
    const desired = [trunk, vlan];
    try {
      await reconcileLinks(desired, { netns: A });
    } catch (e) {
      if (e instanceof CommandError && /Unknown device type/.test(e.stderr)) {
        // Not a missing package: the kernel itself was built without CONFIG_VLAN_8021Q.
        process.stderr.write(`\n!!!! SKIPPING VLAN test: this kernel has no 802.1Q support (${e.stderr.trim()})\n\n`);
        t.skip('kernel without 802.1Q (CONFIG_VLAN_8021Q)');
        return;
      }
      throw e;
    }
    const v = (await listLinks({ netns: A })).find((l) => l.name === 'trunk.100')!;
    assert.deepEqual(v.vlan, { id: 100, protocol: '802.1Q' });
    assert.equal(v.parent, 'trunk');
    assert.deepEqual(await reconcileLinks(desired, { netns: A }), []);
    const ops = await reconcileLinks([trunk, { ...vlan, vlanId: 101 }], { netns: A });
    assert.deepEqual(
      ops.slice(0, 2).map((o) => o.op),
      ['delete', 'create'],
    );
  });
});

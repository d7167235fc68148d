// End to end, as root: two "hosts" (namespaces joined by a veth underlay), each with a bridge
// and a VXLAN device on that underlay, and one "VM" per host (a namespace plugged into the
// bridge with a veth). Everything is built with the reconcile functions, and real pings show the
// VMs reach each other over VXLAN; a second pass over the same desired state issues no write.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ZERO_MAC,
  listFdb,
  listLinks,
  listPermanentNeigh,
  reconcileFdb,
  reconcileLinks,
  reconcileNeigh,
  runInNetns,
  stats,
  type DesiredLink,
  type FdbEntry,
  type NeighEntry,
} from '../../src/dataplane/index.js';
import { Namespaces, ping, rootGate, suffix } from './root-helpers.js';

const gate = rootGate('VXLAN end-to-end', ['ip', 'bridge', 'nsenter', 'busybox']);

describe('dataplane (root): two hosts, VXLAN between bridges, VMs ping', { skip: gate.skip }, () => {
  const s = suffix();
  const nss = new Namespaces();
  const H = [`nt${s}h1`, `nt${s}h2`];
  const VM = [`nt${s}v1`, `nt${s}v2`];
  const UNDER = ['198.18.0.1', '198.18.0.2'];
  const VM_IP = ['198.19.0.1', '198.19.0.2'];
  const VM_MAC = ['fa:16:3e:00:00:01', 'fa:16:3e:00:00:02'];
  const br = `br-${s}`;
  const vx = `vx-${s}`;
  const VNI = 1001;
  let proxy = false;

  /** What host i should have; the underlay veth is created from host 0 with its peer in host 1. */
  const hostLinks = (i: number): DesiredLink[] => [
    i === 0
      ? { kind: 'veth', name: 'u0', peer: 'u1', peerNetns: H[1]!, up: true, addresses: [`${UNDER[0]}/24`] }
      : { kind: 'external', name: 'u1', up: true, addresses: [`${UNDER[1]}/24`] },
    { kind: 'bridge', name: br, up: true },
    { kind: 'vxlan', name: vx, vni: VNI, local: UNDER[i]!, dev: `u${i}`, proxy, master: br, up: true },
    { kind: 'veth', name: `tap${s}`, peer: 'eth0', peerNetns: VM[i]!, master: br, up: true },
  ];
  // VXLAN adds 50 bytes of headers: the VM's MTU leaves room for them on a 1500 underlay.
  const vmLinks = (i: number): DesiredLink[] => [
    { kind: 'external', name: 'eth0', address: VM_MAC[i]!, mtu: 1450, up: true, addresses: [`${VM_IP[i]}/24`] },
  ];

  /** Flood list to the other host; with l2pop also the other VM's MAC pinned to it. */
  const hostFdb = (i: number, l2pop: boolean): FdbEntry[] => [
    { mac: ZERO_MAC, dev: vx, dst: UNDER[1 - i]! },
    ...(l2pop ? [{ mac: VM_MAC[1 - i]!, dev: vx, dst: UNDER[1 - i]! }] : []),
  ];
  const hostNeigh = (i: number): NeighEntry[] => [{ ip: VM_IP[1 - i]!, mac: VM_MAC[1 - i]!, dev: vx }];

  /** A full pass over everything, as an agent's periodic resync would do it. */
  async function pass(opts: { fdb?: boolean; l2pop?: boolean } = {}): Promise<void> {
    for (const i of [0, 1]) await reconcileLinks(hostLinks(i), { netns: H[i]! });
    for (const i of [0, 1]) await reconcileLinks(vmLinks(i), { netns: VM[i]! });
    for (const i of [0, 1]) await reconcileFdb([vx], opts.fdb === false ? [] : hostFdb(i, !!opts.l2pop), { netns: H[i]! });
    for (const i of [0, 1]) await reconcileNeigh([vx], opts.l2pop ? hostNeigh(i) : [], { netns: H[i]! });
  }

  const flushArp = async () => {
    for (const v of VM) await runInNetns(v, { argv: ['ip', 'neigh', 'flush', 'all'] });
  };

  before(async () => {
    gate.check();
    for (const n of [...H, ...VM]) await nss.add(n);
  });
  after(async () => {
    await nss.deleteAll();
  });

  it('builds each host in one batch and the VMs can ping each other', async () => {
    const w0 = stats().writes;
    const ops = await reconcileLinks(hostLinks(0), { netns: H[0]! });
    assert.ok(ops.length >= 8, `expected a full build, got ${JSON.stringify(ops)}`);
    assert.equal(stats().writes - w0, 1, 'one ip -batch for the whole host');
    await pass();
    const links = await listLinks({ netns: H[0]! });
    const v = links.find((l) => l.name === vx)!;
    assert.deepEqual(v.vxlan, { vni: VNI, local: UNDER[0], dev: 'u0', dstport: 4789, learning: false, proxy: false });
    assert.equal(v.master, br);
    assert.deepEqual(await listFdb(vx, { netns: H[0]! }).then((r) => r.filter((e) => e.table === 'self').map((e) => [e.mac, e.dst])), [
      [ZERO_MAC, UNDER[1]],
    ]);
    assert.ok(await ping(VM[0]!, VM_IP[1]!), 'VM 1 pings VM 2 over VXLAN');
    assert.ok(await ping(VM[1]!, VM_IP[0]!), 'VM 2 pings VM 1 over VXLAN');
  });

  it('a second pass over unchanged state writes nothing', async () => {
    const before = stats();
    await pass();
    const after = stats();
    assert.equal(after.writes - before.writes, 0);
    assert.equal(after.reads - before.reads, 4 + 2 + 2, 'one read per namespace and device');
  });

  it('traffic really uses the flood entries: without them no ping, with them again', async () => {
    await pass({ fdb: false });
    await flushArp();
    assert.equal(await ping(VM[0]!, VM_IP[1]!, 1), false, 'no remote to send to');
    const w0 = stats().writes;
    await pass();
    assert.equal(stats().writes - w0, 2, 'one bridge -batch per host');
    assert.ok(await ping(VM[0]!, VM_IP[1]!));
  });

  it('switches to l2population with an ARP responder: re-creates the VXLAN device, pins MACs, answers ARP locally', async () => {
    proxy = true;
    await pass({ l2pop: true });
    const v = (await listLinks({ netns: H[0]! })).find((l) => l.name === vx)!;
    assert.equal(v.vxlan?.proxy, true);
    assert.deepEqual(await listPermanentNeigh(vx, { netns: H[0]! }), [{ ip: VM_IP[1], mac: VM_MAC[1], dev: vx }]);
    const fdb = (await listFdb(vx, { netns: H[0]! })).filter((e) => e.table === 'self');
    assert.deepEqual(fdb.map((e) => [e.mac, e.dst]).sort(), [
      [ZERO_MAC, UNDER[1]],
      [VM_MAC[1], UNDER[1]],
    ]);
    await flushArp();
    assert.ok(await ping(VM[0]!, VM_IP[1]!), 'ping with ARP answered by the VXLAN device');
    const w0 = stats().writes;
    await pass({ l2pop: true });
    assert.equal(stats().writes - w0, 0, 'and again nothing to do');
  });

  it('without the neighbour entries, a proxy VXLAN device swallows ARP: no ping', async () => {
    for (const i of [0, 1]) await reconcileNeigh([vx], [], { netns: H[i]! });
    await flushArp();
    assert.equal(await ping(VM[0]!, VM_IP[1]!, 1), false);
    await pass({ l2pop: true });
    assert.ok(await ping(VM[0]!, VM_IP[1]!));
  });

  it('moves a unicast MAC to another remote in place', async () => {
    await reconcileFdb([vx], [...hostFdb(0, false), { mac: VM_MAC[1]!, dev: vx, dst: '198.18.0.77' }], { netns: H[0]! });
    const fdb = (await listFdb(vx, { netns: H[0]! })).filter((e) => e.table === 'self' && e.mac === VM_MAC[1]);
    assert.deepEqual(
      fdb.map((e) => e.dst),
      ['198.18.0.77'],
    );
    await pass({ l2pop: true });
    assert.ok(await ping(VM[0]!, VM_IP[1]!));
  });
});

// Unit tests for the pure parts of src/dataplane: parsers (fed with output captured from the real
// tools on Debian 12: iproute2 6.1, nftables 1.0.6), the desired-vs-actual diffs, batch and nft
// rendering, and the reconcile functions driven by a recording Exec (no kernel, no root).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BridgeBatch,
  CommandError,
  IpBatch,
  canonicalAtom,
  canonicalElement,
  diffFdb,
  diffLinks,
  diffNeigh,
  dnsmasqArgv,
  dnsmasqPaths,
  ensureDnsmasq,
  exec,
  linkOpsToBatch,
  managedFdb,
  parseFdb,
  parseLinks,
  parseMonitorLine,
  parseNftTableEvent,
  parseNeigh,
  parseNetnsList,
  expectedTable,
  parseNftTable,
  planTable,
  reconcileFdb,
  reconcileNeigh,
  listNamedLinks,
  reconcileLinks,
  recordingExec,
  renderReplaceScript,
  ruleTag,
  wrapArgv,
  type DesiredLink,
  type NftTable,
} from '../../src/dataplane/index.js';

// `ip -json -details addr show` in a namespace with a veth pair u1/u2, a bridge br0 and a VXLAN
// vx0 (proxy, on u1) enslaved to it (trimmed to the fields the parser reads).
const LINKS_JSON = JSON.stringify([
  { ifindex: 1, ifname: 'lo', flags: ['LOOPBACK'], mtu: 65536, address: '00:00:00:00:00:00', addr_info: [] },
  {
    ifindex: 2,
    ifname: 'u2',
    flags: ['BROADCAST', 'MULTICAST'],
    mtu: 1500,
    address: 'ee:5e:de:e8:1e:a8',
    link: 'u1',
    linkinfo: { info_kind: 'veth' },
    addr_info: [],
  },
  {
    ifindex: 3,
    ifname: 'u1',
    flags: ['NO-CARRIER', 'BROADCAST', 'MULTICAST', 'UP', 'M-DOWN'],
    mtu: 1500,
    address: '7a:37:95:78:81:a9',
    link: 'u2',
    linkinfo: { info_kind: 'veth' },
    addr_info: [
      { family: 'inet', local: '198.18.0.1', prefixlen: 24, scope: 'global', label: 'u1' },
      { family: 'inet6', local: 'fe80::7837:95ff:fe78:81a9', prefixlen: 64, scope: 'link' },
    ],
  },
  {
    ifindex: 4,
    ifname: 'br0',
    flags: ['BROADCAST', 'MULTICAST'],
    mtu: 1450,
    address: '4a:29:63:15:90:bb',
    linkinfo: { info_kind: 'bridge', info_data: { stp_state: 0 } },
    addr_info: [],
  },
  {
    ifindex: 5,
    ifname: 'vx0',
    flags: ['BROADCAST', 'MULTICAST'],
    mtu: 1450,
    address: '4a:29:63:15:90:bb',
    master: 'br0',
    linkinfo: {
      info_kind: 'vxlan',
      info_data: { id: 7, local: '198.18.0.1', link: 'u1', port_range: { low: 0, high: 0 }, port: 4789, learning: false, proxy: true, ttl: 0 },
    },
    addr_info: [],
  },
]);

const DESIRED: DesiredLink[] = [
  { kind: 'veth', name: 'u1', peer: 'u2', up: true, addresses: ['198.18.0.1/24'] },
  { kind: 'bridge', name: 'br0' },
  { kind: 'vxlan', name: 'vx0', vni: 7, local: '198.18.0.1', dev: 'u1', proxy: true, master: 'br0' },
];

describe('dataplane: values and exec', () => {
  it('wraps commands to enter a namespace', () => {
    assert.deepEqual(wrapArgv({ argv: ['nft', '-f', '-'], netns: 'ns1' }), ['nsenter', '--net=/run/netns/ns1', '--', 'nft', '-f', '-']);
    assert.deepEqual(wrapArgv({ argv: ['dnsmasq'], netns: 'ns1', via: 'ip-netns-exec' }), ['ip', 'netns', 'exec', 'ns1', 'dnsmasq']);
    assert.deepEqual(wrapArgv({ argv: ['true'] }), ['true']);
    assert.throws(() => wrapArgv({ argv: ['true'], netns: '../x' }), /invalid network namespace/);
  });

  it('names the command, exit status and stderr in errors', async () => {
    const e = await exec({ argv: ['sh', '-c', 'echo boom >&2; exit 3'] }).catch((x: unknown) => x);
    assert.ok(e instanceof CommandError);
    assert.equal(e.code, 3);
    assert.match(e.message, /sh -c 'echo boom >&2; exit 3' exited with 3: boom/);
    const t = await exec({ argv: ['sleep', '5'], timeoutMs: 100 }).catch((x: unknown) => x);
    assert.ok(t instanceof CommandError && t.timedOut, 'timeout reported');
    const n = await exec({ argv: ['no-such-tool-here'] }).catch((x: unknown) => x);
    assert.ok(n instanceof CommandError && /ENOENT/.test(n.message));
    assert.equal((await exec({ argv: ['cat'], input: 'hi' })).stdout, 'hi');
    assert.equal((await exec({ argv: ['sh', '-c', 'exit 1'], okCodes: [0, 1] })).code, 1);
  });

  it('parses namespace lists, empty or not', () => {
    assert.deepEqual(parseNetnsList(''), []);
    assert.deepEqual(parseNetnsList('[]'), []);
    assert.deepEqual(parseNetnsList('[{"name":"a","id":0},{"name":"b"}]'), [{ name: 'a', id: 0 }, { name: 'b' }]);
  });
});

describe('dataplane: batches', () => {
  it('renders ip -batch lines', () => {
    const b = new IpBatch()
      .addBridge('br-1', { mtu: 1450 })
      .addVeth('tap1', 'eth0', { peerNetns: 'vm1' })
      .addVxlan('vx-1', { vni: 1001, local: '198.18.0.1', dev: 'u1' })
      .addVlan('u1.100', 'u1', 100)
      .setMaster('tap1', 'br-1')
      .setMaster('tap2', null)
      .addAddr('u1', '2001:DB8:0::1/64')
      .neighReplace('10.0.0.5', 'FA:16:3E:00:00:01', 'vx-1')
      .setUp('br-1', true);
    assert.equal(
      b.text(),
      [
        'link add name br-1 mtu 1450 type bridge',
        'link add name tap1 type veth peer name eth0 netns vm1',
        'link add name vx-1 type vxlan id 1001 local 198.18.0.1 dev u1 dstport 4789 nolearning',
        'link add link u1 name u1.100 type vlan id 100',
        'link set dev tap1 master br-1',
        'link set dev tap2 nomaster',
        'addr add 2001:db8::1/64 dev u1',
        'neigh replace 10.0.0.5 lladdr fa:16:3e:00:00:01 dev vx-1 nud permanent',
        'link set dev br-1 up',
        '',
      ].join('\n'),
    );
  });

  it('refuses values that would break out of a batch line', () => {
    assert.throws(() => new IpBatch().addBridge('br x'), /invalid interface name/);
    assert.throws(() => new IpBatch().addBridge('averyveryverylongname'), /invalid interface name/);
    assert.throws(() => new IpBatch().setMaster('a\nlink del b', 'c'), /invalid interface name/);
    assert.throws(() => new IpBatch().addVxlan('v', { vni: 0x1000000 }), /invalid VNI/);
    assert.throws(() => new IpBatch().addAddr('u1', '10.0.0.1'), /invalid address\/prefix/);
    assert.throws(() => new BridgeBatch().fdbAppend('00:00:00:00:00:0g', 'v', '1.2.3.4'), /invalid MAC/);
    assert.throws(() => new IpBatch().line('link', 'set', 'x;y'), /invalid value/);
  });

  it('applies nothing for an empty batch, one write for a full one', async () => {
    const x = recordingExec();
    assert.equal(await new IpBatch().apply({ exec: x }), 0);
    assert.equal(x.calls.length, 0);
    await new BridgeBatch()
      .fdbAppend('00:00:00:00:00:00', 'vx-1', '198.18.0.2')
      .fdbDel('00:00:00:00:00:00', 'vx-1', '198.18.0.3')
      .apply({ netns: 'h1', exec: x });
    assert.deepEqual(x.calls, [
      {
        argv: ['bridge', '-n', 'h1', '-batch', '-'],
        input: 'fdb append 00:00:00:00:00:00 dev vx-1 dst 198.18.0.2 self permanent\nfdb del 00:00:00:00:00:00 dev vx-1 dst 198.18.0.3 self\n',
        write: true,
      },
    ]);
  });
});

describe('dataplane: links', () => {
  const actual = parseLinks(LINKS_JSON);

  it('parses ip -json -details addr show', () => {
    const vx = actual.find((l) => l.name === 'vx0')!;
    assert.deepEqual(vx.vxlan, { vni: 7, local: '198.18.0.1', dev: 'u1', dstport: 4789, learning: false, proxy: true });
    assert.equal(vx.master, 'br0');
    const u1 = actual.find((l) => l.name === 'u1')!;
    assert.equal(u1.up, true);
    assert.equal(u1.lowerUp, false);
    assert.equal(u1.parent, 'u2');
    assert.deepEqual(u1.addresses, ['198.18.0.1/24'], 'link-local left out');
    assert.equal(actual.find((l) => l.name === 'lo')!.kind, null);
  });

  it('finds nothing to do when actual matches desired', () => {
    assert.deepEqual(diffLinks(DESIRED, actual), []);
  });

  it('creates what is missing, dependencies first, as one batch', () => {
    const ops = diffLinks([...DESIRED].reverse(), []);
    assert.deepEqual(linkOpsToBatch(ops).lines, [
      'link add name br0 type bridge',
      'link add name u1 type veth peer name u2',
      'link add name vx0 type vxlan id 7 local 198.18.0.1 dev u1 dstport 4789 nolearning proxy',
      'link set dev vx0 master br0',
      'addr add 198.18.0.1/24 dev u1',
      'link set dev u1 up',
    ]);
  });

  it('changes attributes in place and re-creates on immutable ones', () => {
    const d: DesiredLink[] = [
      { kind: 'veth', name: 'u1', peer: 'u2', up: false, mtu: 9000, addresses: ['198.18.0.9/24', '2001:db8::1/64'] },
      { kind: 'bridge', name: 'br0', up: true, address: '02:00:00:00:00:01' },
      { kind: 'vxlan', name: 'vx0', vni: 8, local: '198.18.0.1', dev: 'u1', proxy: true, master: 'br0', up: true },
    ];
    assert.deepEqual(linkOpsToBatch(diffLinks(d, actual)).lines, [
      'link del dev vx0',
      'link add name vx0 type vxlan id 8 local 198.18.0.1 dev u1 dstport 4789 nolearning proxy',
      'link set dev u1 mtu 9000',
      'link set dev br0 address 02:00:00:00:00:01',
      'link set dev vx0 master br0',
      'addr del 198.18.0.1/24 dev u1',
      'addr add 198.18.0.9/24 dev u1',
      'addr add 2001:db8::1/64 dev u1',
      'link set dev u1 down',
      'link set dev br0 up',
      'link set dev vx0 up',
    ]);
    const ops = diffLinks([{ kind: 'bridge', name: 'u1' }], actual);
    assert.deepEqual(ops.slice(0, 2), [
      { op: 'delete', name: 'u1', why: 'kind veth != bridge' },
      { op: 'create', link: { kind: 'bridge', name: 'u1' } },
    ]);
  });

  it('deletes undesired links only when they are owned', () => {
    assert.deepEqual(diffLinks([], actual), []);
    const ops = diffLinks([], actual, { owned: (l) => l.name.startsWith('vx') || l.name.startsWith('br') });
    assert.deepEqual(
      ops.map((o) => o.op === 'delete' && o.name),
      ['br0', 'vx0'],
    );
  });

  it('never creates external links, but manages them when present or born as a veth peer', () => {
    assert.deepEqual(diffLinks([{ kind: 'external', name: 'tap9', master: 'br0', up: true }], actual), []);
    assert.deepEqual(diffLinks([{ kind: 'external', name: 'u2', master: 'br0' }], actual), [{ op: 'master', name: 'u2', master: 'br0' }]);
    const lines = linkOpsToBatch(
      diffLinks(
        [
          { kind: 'veth', name: 'a', peer: 'b', up: true },
          { kind: 'external', name: 'b', up: true, addresses: ['10.0.0.1/24'] },
        ],
        [],
      ),
    ).lines;
    assert.deepEqual(lines, ['link add name a type veth peer name b', 'addr add 10.0.0.1/24 dev b', 'link set dev a up', 'link set dev b up']);
  });

  it('reconcileLinks reads once and writes nothing when nothing changed', async () => {
    const x = recordingExec((c) => (c.write ? '' : LINKS_JSON));
    assert.deepEqual(await reconcileLinks(DESIRED, { netns: 'h1', exec: x }), []);
    assert.deepEqual([...x.calls], [{ argv: ['ip', '-n', 'h1', '-json', '-details', 'addr', 'show'] }]);
    await reconcileLinks([...DESIRED, { kind: 'bridge', name: 'br1', up: true }], { netns: 'h1', exec: x });
    assert.equal(x.calls.filter((c) => c.write).length, 1);
    assert.equal(x.calls[2]!.input, 'link add name br1 type bridge\nlink set dev br1 up\n');
  });
});

describe('dataplane: fdb and neighbours', () => {
  // `bridge -json fdb show dev vx1` (dev filtered: bridge leaves out ifname).
  const FDB_JSON = JSON.stringify([
    { mac: '6a:93:26:33:a1:d6', flags: [], master: 'br1', state: 'permanent' },
    { mac: 'fa:16:3e:00:00:01', dst: '10.99.0.3', flags: ['self'], state: 'permanent' },
    { mac: '00:00:00:00:00:00', dst: '10.99.0.2', flags: ['self'], state: 'permanent' },
    { mac: '00:00:00:00:00:00', dst: '10.99.0.3', flags: ['self'], state: 'permanent' },
    { mac: '52:54:00:00:00:09', flags: [], master: 'br1', state: '' },
  ]);

  it('parses and keeps only our tunnel entries', () => {
    const rows = parseFdb(FDB_JSON, 'vx1');
    assert.equal(rows.length, 5);
    assert.deepEqual(managedFdb(rows), [
      { mac: 'fa:16:3e:00:00:01', dev: 'vx1', dst: '10.99.0.3' },
      { mac: '00:00:00:00:00:00', dev: 'vx1', dst: '10.99.0.2' },
      { mac: '00:00:00:00:00:00', dev: 'vx1', dst: '10.99.0.3' },
    ]);
  });

  it('diffs flood lists per remote, adds before deletes', () => {
    const actual = managedFdb(parseFdb(FDB_JSON, 'vx1'));
    assert.deepEqual(diffFdb(actual, actual), []);
    const ops = diffFdb(
      [
        { mac: '00:00:00:00:00:00', dev: 'vx1', dst: '10.99.0.3' },
        { mac: '00:00:00:00:00:00', dev: 'vx1', dst: '10.99.0.4' },
        { mac: 'FA:16:3E:00:00:01', dev: 'vx1', dst: '10.99.0.3' },
      ],
      actual,
    );
    assert.deepEqual(ops, [
      { op: 'append', mac: '00:00:00:00:00:00', dev: 'vx1', dst: '10.99.0.4' },
      { op: 'del', mac: '00:00:00:00:00:00', dev: 'vx1', dst: '10.99.0.2' },
    ]);
  });

  it('moves a unicast MAC with one replace, removes an undesired one whole', () => {
    const actual = [
      { mac: 'fa:16:3e:00:00:01', dev: 'vx1', dst: '10.99.0.3' },
      { mac: 'fa:16:3e:00:00:02', dev: 'vx1', dst: '10.99.0.3' },
    ];
    assert.deepEqual(diffFdb([{ mac: 'fa:16:3e:00:00:01', dev: 'vx1', dst: '10.99.0.5' }], actual), [
      { op: 'replace', mac: 'fa:16:3e:00:00:01', dev: 'vx1', dst: '10.99.0.5' },
      { op: 'del', mac: 'fa:16:3e:00:00:02', dev: 'vx1' },
    ]);
    assert.throws(
      () =>
        diffFdb(
          [
            { mac: 'fa:16:3e:00:00:01', dev: 'v', dst: '1.1.1.1' },
            { mac: 'fa:16:3e:00:00:01', dev: 'v', dst: '1.1.1.2' },
          ],
          [],
        ),
      /two|2 remotes/,
    );
  });

  it('reconcileFdb refuses entries outside the devices it reads', async () => {
    await assert.rejects(
      reconcileFdb(['vx1'], [{ mac: '00:00:00:00:00:00', dev: 'vx2', dst: '1.1.1.1' }], { exec: recordingExec() }),
      /not among the devices/,
    );
  });

  it('reads named links with one batch of direct lookups; missing ones are left out, other errors thrown', async () => {
    const out =
      '[{"ifindex":3,"ifname":"tapaaaaaaaa-aa","flags":["UP"],"mtu":1450,"master":"brq1","linkinfo":{"info_kind":"veth"}}]\n[{"ifindex":4,"ifname":"brq1","flags":[],"mtu":1450,"linkinfo":{"info_kind":"bridge"}}]\n';
    const x = recordingExec(() => ({ code: 1, stdout: out, stderr: 'Device "vxlan-7" does not exist.\nCommand failed -:3\n' }));
    const links = await listNamedLinks(['tapaaaaaaaa-aa', 'brq1', 'vxlan-7', 'brq1'], { netns: 'h1', exec: x });
    assert.deepEqual(
      links.map((l) => [l.name, l.kind, l.master, l.up]),
      [
        ['tapaaaaaaaa-aa', 'veth', 'brq1', true],
        ['brq1', 'bridge', null, false],
      ],
    );
    assert.equal(x.calls.length, 1);
    assert.deepEqual(x.calls[0]!.argv, ['ip', '-n', 'h1', '-json', '-details', '-force', '-batch', '-']);
    assert.equal(x.calls[0]!.input, 'link show dev tapaaaaaaaa-aa\nlink show dev brq1\nlink show dev vxlan-7\n');
    assert.equal(x.calls[0]!.write, undefined);
    const bad = recordingExec(() => ({ code: 1, stdout: '', stderr: 'Cannot open network namespace "h1": No such file or directory\n' }));
    await assert.rejects(listNamedLinks(['brq1'], { netns: 'h1', exec: bad }), /Cannot open network namespace/);
    assert.deepEqual(await listNamedLinks([], { exec: bad }), []);
    await assert.rejects(listNamedLinks(['bad name'], { exec: bad }), /invalid interface name/);
  });

  it("reconciles several devices with one read of the whole table, leaving other devices' rows alone", async () => {
    const dump = JSON.stringify([
      { mac: '00:00:00:00:00:00', ifname: 'vx1', dst: '10.99.0.2', flags: ['self'], state: 'permanent' },
      { mac: '00:00:00:00:00:00', ifname: 'vx3', dst: '10.99.0.2', flags: ['self'], state: 'permanent' },
      { mac: 'fa:16:3e:00:00:09', ifname: 'tap1', master: 'brq1', state: '' },
    ]);
    const x = recordingExec((c) => (c.write ? '' : dump));
    const ops = await reconcileFdb(['vx1', 'vx2'], [{ mac: '00:00:00:00:00:00', dev: 'vx2', dst: '10.99.0.2' }], { netns: 'h1', exec: x });
    assert.deepEqual(
      x.calls.filter((c) => !c.write).map((c) => c.argv.join(' ')),
      ['bridge -n h1 -json fdb show'],
    );
    assert.deepEqual(ops, [
      { op: 'append', mac: '00:00:00:00:00:00', dev: 'vx2', dst: '10.99.0.2' },
      { op: 'del', mac: '00:00:00:00:00:00', dev: 'vx1' },
    ]);
    const n = recordingExec((c) =>
      c.write
        ? ''
        : '[{"dst":"10.0.0.5","dev":"vx1","lladdr":"fa:16:3e:00:00:01","state":["PERMANENT"]},{"dst":"10.0.0.6","dev":"vx3","lladdr":"fa:16:3e:00:00:02","state":["PERMANENT"]}]',
    );
    const nops = await reconcileNeigh(['vx1', 'vx2'], [], { exec: n });
    assert.deepEqual(
      n.calls.filter((c) => !c.write).map((c) => c.argv.join(' ')),
      ['ip -json neigh show nud permanent'],
    );
    assert.deepEqual(nops, [{ op: 'del', ip: '10.0.0.5', dev: 'vx1' }]);
    assert.deepEqual(await reconcileFdb([], [], { exec: recordingExec() }), []);
  });

  it('parses and diffs permanent neighbour entries', () => {
    const rows = parseNeigh(
      '[{"dst":"10.0.0.5","lladdr":"fa:16:3e:00:00:01","state":["PERMANENT"]},{"dst":"2001:db8::5","lladdr":"fa:16:3e:00:00:01","state":["PERMANENT"]}]',
      'vx1',
    );
    assert.deepEqual(
      rows.map((r) => r.dev),
      ['vx1', 'vx1'],
    );
    const actual = rows.map(({ ip, mac, dev }) => ({ ip, mac, dev }));
    assert.deepEqual(
      diffNeigh(
        [
          { ip: '2001:DB8::5', mac: 'FA:16:3E:00:00:01', dev: 'vx1' },
          { ip: '10.0.0.5', mac: 'fa:16:3e:00:00:01', dev: 'vx1' },
        ],
        actual,
      ),
      [],
    );
    assert.deepEqual(diffNeigh([{ ip: '10.0.0.5', mac: 'fa:16:3e:00:00:02', dev: 'vx1' }], actual), [
      { op: 'replace', ip: '10.0.0.5', mac: 'fa:16:3e:00:00:02', dev: 'vx1' },
      { op: 'del', ip: '2001:db8::5', dev: 'vx1' },
    ]);
  });
});

describe('dataplane: nftables', () => {
  const table: NftTable = {
    family: 'inet',
    name: 'neutrino_sg',
    sets: [
      { name: 'remote', type: 'ipv4_addr', flags: ['interval'], elements: ['10.0.0.0/24', '10.1.0.5/32', '10.2.0.0-10.2.0.255'] },
      { name: 'svc', type: 'ipv4_addr . inet_service', elements: ['10.0.0.1 . 22'] },
      { name: 'seen', type: 'ipv4_addr', flags: ['dynamic', 'timeout'], manageElements: false },
    ],
    chains: [
      {
        name: 'input',
        base: { type: 'filter', hook: 'input', priority: 0, policy: 'accept' },
        rules: ['ip saddr @remote tcp dport { 22, 80 } accept', { rule: 'jump sg', comment: 'port p1' }],
      },
      { name: 'sg', rules: ['return'] },
    ],
  };
  const tags = table.chains.map((c) => c.rules.map(ruleTag));

  // What `nft -j list table inet neutrino_sg` prints for that table (trimmed: expr left out).
  const readback = (over: { elems?: unknown[]; tags0?: string[]; policy?: string } = {}) =>
    JSON.stringify({
      nftables: [
        { metainfo: { version: '1.0.6', json_schema_version: 1 } },
        { table: { family: 'inet', name: 'neutrino_sg', handle: 2 } },
        {
          set: {
            family: 'inet',
            name: 'remote',
            table: 'neutrino_sg',
            type: 'ipv4_addr',
            handle: 3,
            flags: ['interval'],
            elem: over.elems ?? [{ prefix: { addr: '10.0.0.0', len: 24 } }, '10.1.0.5', { prefix: { addr: '10.2.0.0', len: 24 } }],
          },
        },
        {
          set: {
            family: 'inet',
            name: 'svc',
            table: 'neutrino_sg',
            type: ['ipv4_addr', 'inet_service'],
            handle: 4,
            elem: [{ concat: ['10.0.0.1', 22] }],
          },
        },
        {
          set: {
            family: 'inet',
            name: 'seen',
            table: 'neutrino_sg',
            type: 'ipv4_addr',
            handle: 5,
            size: 65535,
            flags: ['timeout'],
            elem: [{ elem: { val: '127.0.0.1', expires: 50 } }],
          },
        },
        {
          chain: {
            family: 'inet',
            table: 'neutrino_sg',
            name: 'input',
            handle: 1,
            type: 'filter',
            hook: 'input',
            prio: 0,
            policy: over.policy ?? 'accept',
          },
        },
        { chain: { family: 'inet', table: 'neutrino_sg', name: 'sg', handle: 2 } },
        ...(over.tags0 ?? tags[0]!).map((c, i) => ({
          rule: { family: 'inet', table: 'neutrino_sg', chain: 'input', handle: 10 + i, comment: c, expr: [] },
        })),
        { rule: { family: 'inet', table: 'neutrino_sg', chain: 'sg', handle: 20, comment: tags[1]![0], expr: [] } },
      ],
    });

  it('renders one transaction that replaces only this table', () => {
    const s = renderReplaceScript(table);
    assert.ok(s.startsWith('table inet neutrino_sg\ndelete table inet neutrino_sg\ntable inet neutrino_sg {\n'));
    assert.match(s, /\t\ttype filter hook input priority 0; policy accept;\n/);
    assert.match(s, /elements = \{ 10\.0\.0\.0\/24, 10\.1\.0\.5\/32, 10\.2\.0\.0-10\.2\.0\.255 \}/);
    assert.match(s, /\t\tjump sg comment "port p1 h:[0-9a-f]{16}"\n/);
    assert.throws(() => renderReplaceScript({ ...table, chains: [{ name: 'x', rules: ['accept; flush ruleset'] }] }), /invalid nftables rule/);
    assert.throws(() => renderReplaceScript({ ...table, chains: [{ name: 'x', rules: ['accept comment "x"'] }] }), /own comment/);
  });

  it('rule tags depend on the text and the comment', () => {
    assert.equal(ruleTag('accept'), ruleTag(' accept '));
    assert.notEqual(ruleTag('accept'), ruleTag('drop'));
    assert.notEqual(ruleTag({ rule: 'accept', comment: 'a' }), ruleTag({ rule: 'accept', comment: 'b' }));
  });

  it('canonicalises elements the way nft prints them', () => {
    assert.equal(canonicalAtom('10.1.0.5/32'), '10.1.0.5');
    assert.equal(canonicalAtom('10.2.0.0-10.2.0.255'), '10.2.0.0/24');
    assert.equal(canonicalAtom('10.2.0.7-10.2.0.7'), '10.2.0.7');
    assert.equal(canonicalAtom('10.2.0.1-10.2.0.9'), '10.2.0.1-10.2.0.9');
    assert.equal(canonicalAtom('2001:DB8:0:0::/64'), '2001:db8::/64');
    assert.equal(canonicalAtom('::-::ffff'), '::/112');
    assert.equal(canonicalAtom('0022'), '22');
    assert.equal(canonicalAtom('80-80'), '80');
    assert.equal(canonicalAtom('"tap1"'), 'tap1');
    assert.equal(canonicalElement('10.0.0.0/24 . 22-25'), '10.0.0.0/24 . 22-25');
    assert.throws(() => canonicalAtom('10.0.0.1/24'), /host bits/);
  });

  it('plans nothing when the kernel has the table', () => {
    assert.deepEqual(planTable(table, parseNftTable(readback())), { kind: 'none' });
  });

  it('plans a full replace when the table, a chain or a rule differs', () => {
    assert.equal(planTable(table, null).kind, 'replace');
    const missingRule = planTable(table, parseNftTable(readback({ tags0: [tags[0]![1]!] })));
    assert.equal(missingRule.kind === 'replace' && missingRule.why, 'rules of chain input differ');
    const policy = planTable(table, parseNftTable(readback({ policy: 'drop' })));
    assert.equal(policy.kind === 'replace' && policy.why, 'chain input declaration differs');
    const extraSet = planTable({ ...table, sets: table.sets!.slice(1) }, parseNftTable(readback()));
    assert.equal(extraSet.kind, 'replace');
  });

  it('plans element changes only when only elements differ', () => {
    const plan = planTable(
      table,
      parseNftTable(readback({ elems: [{ prefix: { addr: '10.0.0.0', len: 24 } }, '10.9.9.9', { range: ['10.5.0.1', '10.5.0.3'] }] })),
    );
    assert.deepEqual(plan, {
      kind: 'elements',
      script:
        'delete element inet neutrino_sg remote { 10.5.0.1-10.5.0.3, 10.9.9.9 }\nadd element inet neutrino_sg remote { 10.1.0.5/32, 10.2.0.0-10.2.0.255 }\n',
    });
  });
});

describe('dataplane: nftables maps and incremental plans', () => {
  const table: NftTable = {
    family: 'bridge',
    name: 'neutrino_sg',
    sets: [
      {
        name: 'addrs',
        type: 'ifname . ether_addr . ipv4_addr',
        flags: ['interval'],
        elements: ['"tap1" . fa:16:3e:00:00:01 . 10.0.0.5', '"tap2" . FA:16:3E:00:00:02 . 10.0.0.0/24'],
      },
    ],
    maps: [
      { name: 'to-ports', type: 'ifname', map: 'verdict', elements: ['"tap1" : jump to-tap1', '"tap2" : jump to-tap2'] },
      { name: 'zones', type: 'ifname', map: 'integer', typeof: 'iifname : ct zone', elements: ['"brq1" : 0x5'] },
    ],
    chains: [
      { name: 'forward', base: { type: 'filter', hook: 'forward', priority: -200, policy: 'accept' }, rules: ['oifname vmap @to-ports'] },
      { name: 'to-tap1', rules: ['meta mark set 1'] },
      { name: 'to-tap2', rules: ['meta mark set 2'] },
    ],
  };
  // What nft 1.0.6 prints for it (rules trimmed to their comments).
  const readback = JSON.stringify({
    nftables: [
      {
        set: {
          family: 'bridge',
          name: 'addrs',
          table: 'neutrino_sg',
          type: ['ifname', 'ether_addr', 'ipv4_addr'],
          flags: ['interval'],
          elem: [
            { concat: ['tap1', 'fa:16:3e:00:00:01', '10.0.0.5'] },
            { concat: ['tap2', 'fa:16:3e:00:00:02', { prefix: { addr: '10.0.0.0', len: 24 } }] },
          ],
        },
      },
      {
        map: {
          family: 'bridge',
          name: 'to-ports',
          table: 'neutrino_sg',
          type: 'ifname',
          map: 'verdict',
          elem: [
            ['tap1', { jump: { target: 'to-tap1' } }],
            ['tap2', { jump: { target: 'to-tap2' } }],
          ],
        },
      },
      { map: { family: 'bridge', name: 'zones', table: 'neutrino_sg', type: 'ifname', map: 'integer', elem: [['brq1', 5]] } },
      { chain: { family: 'bridge', table: 'neutrino_sg', name: 'forward', type: 'filter', hook: 'forward', prio: -200, policy: 'accept' } },
      { chain: { family: 'bridge', table: 'neutrino_sg', name: 'to-tap1' } },
      { chain: { family: 'bridge', table: 'neutrino_sg', name: 'to-tap2' } },
      ...table.chains.flatMap((c) => c.rules.map((r) => ({ rule: { family: 'bridge', table: 'neutrino_sg', chain: c.name, comment: ruleTag(r) } }))),
    ],
  });

  it('reads maps back and plans nothing for the table as applied', () => {
    const actual = parseNftTable(readback);
    assert.deepEqual(actual.maps!.get('to-ports')!.elements, ['tap1 : jump to-tap1', 'tap2 : jump to-tap2']);
    assert.deepEqual(actual.maps!.get('zones')!.elements, ['brq1 : 5']);
    assert.deepEqual(planTable(table, actual, { incremental: true }), { kind: 'none' });
    assert.deepEqual(planTable(table, expectedTable(table), { incremental: true }), { kind: 'none' });
    assert.match(renderReplaceScript(table), /\tmap zones \{\n\t\ttypeof iifname : ct zone\n/);
  });

  it('a port gone: its elements out, its chain flushed and deleted after nothing points at it', () => {
    const one: NftTable = {
      ...table,
      sets: [{ ...table.sets![0]!, elements: table.sets![0]!.elements!.slice(0, 1) }],
      maps: [{ ...table.maps![0]!, elements: table.maps![0]!.elements!.slice(0, 1) }, table.maps![1]!],
      chains: table.chains.slice(0, 2),
    };
    const plan = planTable(one, parseNftTable(readback), { incremental: true });
    assert.equal(plan.kind, 'changes');
    assert.deepEqual(plan.kind === 'changes' ? plan.script.trim().split('\n') : [], [
      'delete element bridge neutrino_sg addrs { "tap2" . fa:16:3e:00:00:02 . 10.0.0.0/24 }',
      'delete element bridge neutrino_sg to-ports { "tap2" }',
      'flush chain bridge neutrino_sg to-tap2',
      'delete chain bridge neutrino_sg to-tap2',
    ]);
    // Without { incremental } the same difference replaces the table.
    assert.equal(planTable(one, parseNftTable(readback)).kind, 'replace');
  });
});

describe('dataplane: dnsmasq', () => {
  it('builds a deterministic command line from the instance paths', () => {
    const p = dnsmasqPaths('/var/lib/neutrino/dhcp', 'net-1');
    assert.equal(p.hosts, '/var/lib/neutrino/dhcp/net-1/hosts');
    const argv = dnsmasqArgv({ id: 'net-1', stateDir: '/var/lib/neutrino/dhcp', interface: 'tap1', hosts: '', opts: '', args: ['--port=0'] });
    assert.equal(argv[0], 'dnsmasq');
    assert.ok(argv.includes('--pid-file=/var/lib/neutrino/dhcp/net-1/pid'));
    assert.ok(argv.includes('--interface=tap1'));
    assert.equal(argv.at(-1), '--port=0');
    assert.throws(() => dnsmasqPaths('/x', '../etc'), /invalid dnsmasq instance id/);
    assert.throws(
      () => dnsmasqArgv({ id: 'n', stateDir: '/x', interface: 'tap1', hosts: '', opts: '', args: ['-C/etc/x'] }),
      /invalid dnsmasq argument/,
    );
  });

  it('refuses to start where dnsmasq, once it is nobody, could not read its files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'neutrino-dq-')); // mode 0700
    try {
      const x = recordingExec();
      const spec = { id: 'n1', stateDir: dir, interface: 'tap1', hosts: 'fa:16:3e:00:00:01,10.0.0.5\n', opts: '', exec: x };
      await assert.rejects(ensureDnsmasq(spec), /world-searchable/);
      assert.equal(x.calls.length, 0);
      assert.equal(await readFile(join(dir, 'n1', 'hosts'), 'utf8'), 'fa:16:3e:00:00:01,10.0.0.5\n');
      await ensureDnsmasq({ ...spec, args: ['--user=root'] });
      assert.equal(x.calls.length, 1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('dataplane: kernel events', () => {
  it('parses `ip -o monitor link neigh` lines: links (deleted, or released from a bridge) and forwarding entries', () => {
    // Captured from iproute2 6.1.
    assert.deepEqual(
      parseMonitorLine(
        '3: vxlan-9: <BROADCAST,MULTICAST> mtu 1500 qdisc noop master brqdr state DOWN group default \\    link/ether 4a:80:63:ab:ae:81 brd ff:ff:ff:ff:ff:ff',
      ),
      { kind: 'link', deleted: false, name: 'vxlan-9' },
    );
    assert.deepEqual(
      parseMonitorLine('Deleted 5: tapdr@tapdr2: <BROADCAST,MULTICAST,M-DOWN> mtu 1500 master brqdr state DOWN \\    link/ether 2a:5f:e0:31:6c:88'),
      {
        kind: 'link',
        deleted: true,
        name: 'tapdr',
      },
    );
    assert.deepEqual(parseMonitorLine('Deleted 10.9.9.2 dev vxlan-9 lladdr AA:bb:cc:dd:ee:ff NOARP PERMANENT '), {
      kind: 'neigh',
      deleted: true,
      dev: 'vxlan-9',
      dst: '10.9.9.2',
      lladdr: 'aa:bb:cc:dd:ee:ff',
    });
    assert.deepEqual(parseMonitorLine('Deleted dev brqdr lladdr 22:21:d6:2c:68:2f PERMANENT '), {
      kind: 'neigh',
      deleted: true,
      dev: 'brqdr',
      dst: null,
      lladdr: '22:21:d6:2c:68:2f',
    });
    assert.equal(parseMonitorLine(''), null);
    assert.equal(parseMonitorLine('Timestamp: whatever'), null);
  });

  it('parses `nft monitor tables` lines', () => {
    assert.deepEqual(parseNftTableEvent('delete table inet neutrino_sg'), { deleted: true, family: 'inet', table: 'neutrino_sg' });
    assert.deepEqual(parseNftTableEvent('add table bridge neutrino_sg'), { deleted: false, family: 'bridge', table: 'neutrino_sg' });
    assert.equal(parseNftTableEvent('add chain inet neutrino_sg c'), null);
  });
});

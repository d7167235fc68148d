// As root, the L2 agent's security group side (SecurityGroupFirewall) against a real nft in a
// namespace, with the server replaced by a function: what each pass costs in kernel commands.
// A change is one transaction and no read; nothing changed is nothing at all; a full pass reads
// and writes nothing; a kernel changed behind its back makes the cached plan fail, and the pass
// reads, plans again and repairs; connections a change no longer allows are dropped from
// conntrack; a new instance (a restarted agent) adopts the tables as they
// are, packet mark ids included.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readNftTable, runInNetns, stats } from '../../src/dataplane/index.js';
import { silentLogger } from '../../src/rpc/index.js';
import { SecurityGroupFirewall, type SecurityGroupInfo } from '../../src/agents/linuxbridge/security-groups.js';
import { FW_TABLE } from '../../src/agents/linuxbridge/firewall.js';
import { Namespaces, rootGate, suffix } from './root-helpers.js';

const gate = rootGate('security group firewall (root)', ['nft', 'nsenter', 'conntrack']);

describe("dataplane (root): the agent's security group firewall, pass by pass", { skip: gate.skip }, () => {
  const nss = new Namespaces();
  const ns = `nt${suffix()}fw`;
  const G = 'aaaaaaaa-0000-4000-8000-000000000001';
  const devices = new Map([
    ['tap11111111-aa', 'brq00000000-00'],
    ['tap22222222-bb', 'brq00000000-00'],
  ]);
  const members: string[] = ['10.5.0.1', '10.5.0.2'];
  let calls = 0;
  const server = async <T>(_m: string, a: Record<string, unknown>): Promise<T> => {
    calls++;
    const info: SecurityGroupInfo = {
      devices: {},
      security_groups: {
        [G]: [
          { direction: 'ingress', ethertype: 'IPv4', remote_group_id: G },
          { direction: 'egress', ethertype: 'IPv4' },
        ],
      },
      sg_member_ips: { [G]: { IPv4: members.map((ip) => [ip, null]) } },
    };
    for (const d of a.devices as string[]) {
      const n = d === 'tap11111111-aa' ? 1 : 2;
      info.devices![`port-${n}`] = {
        device: d,
        mac_address: `fa:16:3e:00:00:0${n}`,
        fixed_ips: [`10.5.0.${n}`],
        security_groups: [G],
        port_security_enabled: true,
      };
    }
    return info as T;
  };
  const fw = () => new SecurityGroupFirewall({ call: server, target: { netns: ns }, logger: silentLogger, kernelCheckInterval: 0 });
  let a: SecurityGroupFirewall;
  /** Kernel commands of `fn`: reads, nft writes (conntrack -D counted apart, in `dropped`). */
  const cost = async (fn: () => Promise<unknown>, f: SecurityGroupFirewall = a) => {
    const s0 = stats();
    const c0 = f.conntrackDeletes;
    const r = await fn();
    const s1 = stats();
    const dropped = f.conntrackDeletes - c0;
    return { reads: s1.reads - s0.reads, writes: s1.writes - s0.writes - dropped, ...(dropped ? { dropped } : {}), r };
  };

  before(async () => {
    gate.check();
    await nss.add(ns);
    a = fw();
  });
  after(async () => {
    await nss.deleteAll();
  });

  it('first pass: one read per table, one transaction for both', async () => {
    const c = await cost(() => a.sync(devices, true));
    assert.deepEqual({ reads: c.reads, writes: c.writes }, { reads: 2, writes: 1 });
    assert.deepEqual((c.r as { plans: string[] }).plans, ['replace', 'replace']);
    assert.equal(calls, 1);
  });

  it('a quick pass with nothing new costs nothing; a full pass reads and writes nothing', async () => {
    assert.deepEqual(await cost(() => a.sync(devices, false)), { reads: 0, writes: 0, r: { writes: 0, plans: [], filtered: 2 } });
    const full = await cost(() => a.sync(devices, true));
    assert.deepEqual({ reads: full.reads, writes: full.writes }, { reads: 2, writes: 0 });
  });

  it('a member notification: one call, one transaction of set elements, no read', async () => {
    members.push('10.5.0.3');
    a.handlers(() => {}).security_groups_member_updated!({ requestId: 'r', projectId: null }, { security_groups: [G] });
    const c = await cost(() => a.sync(devices, false));
    assert.deepEqual({ reads: c.reads, writes: c.writes }, { reads: 0, writes: 1 });
    assert.deepEqual((c.r as { plans: string[] }).plans, ['none', 'elements']);
    const t = await readNftTable('inet', FW_TABLE, { netns: ns });
    assert.deepEqual(t?.sets.get(`sg4-${G}`)?.elements, ['10.5.0.1', '10.5.0.2', '10.5.0.3']);
  });

  it('a kernel changed behind its back: the cached plan fails, the pass reads and repairs', async () => {
    await runInNetns(ns, { argv: ['nft', 'delete', 'element', 'inet', FW_TABLE, `sg4-${G}`, '{ 10.5.0.3 }'], write: true });
    members.pop();
    members.push('10.5.0.4');
    a.handlers(() => {}).security_groups_member_updated!({ requestId: 'r', projectId: null }, { security_groups: [G] });
    const c = await cost(() => a.sync(devices, false));
    // The failed transaction, the reads, the one that repairs; then 10.5.0.3's connections
    // with both ports (both directions) are dropped from conntrack.
    assert.deepEqual({ reads: c.reads, writes: c.writes, dropped: c.dropped }, { reads: 2, writes: 2, dropped: 4 });
    assert.deepEqual((await readNftTable('inet', FW_TABLE, { netns: ns }))?.sets.get(`sg4-${G}`)?.elements, ['10.5.0.1', '10.5.0.2', '10.5.0.4']);
    const full = await cost(() => a.sync(devices, true));
    assert.equal(full.writes, 0);
  });

  it('a new instance (a restarted agent) adopts the tables: no write', async () => {
    const b = fw();
    const c = await cost(() => b.sync(devices, true), b);
    assert.deepEqual({ reads: c.reads, writes: c.writes }, { reads: 2, writes: 0 });
    // Even when it learns of the devices in another order.
    const c2 = fw();
    assert.equal((await cost(() => c2.sync(new Map([...devices].reverse()), true), c2)).writes, 0);
  });

  it('a device gone: its chains, sets and map entries go in one transaction', async () => {
    const one = new Map([...devices].slice(0, 1));
    const c = await cost(() => a.sync(one, false));
    assert.equal(c.writes, 1);
    assert.equal(c.dropped, 2, 'its connections, both directions');
    const bridge = await readNftTable('bridge', FW_TABLE, { netns: ns });
    assert.ok(![...bridge!.chains.keys()].some((n) => n.endsWith('tap22222222-bb')));
    assert.ok(![...bridge!.sets.values()].some((set) => set.elements.some((e) => e.startsWith('tap22222222-bb'))));
    assert.deepEqual(bridge!.maps!.get('to-ports')!.elements, ['tap11111111-aa : jump to-tap11111111-aa']);
    assert.deepEqual(bridge!.maps!.get('port-ids')!.elements, ['tap11111111-aa : 1']);
  });
});

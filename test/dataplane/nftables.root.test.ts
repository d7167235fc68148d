// As root: an nftables table applied in a namespace takes one write the first time and none the
// second; element-only changes are one small transaction; drift made behind our back is seen and
// repaired; other tables are untouched; and real pings show the rules take effect.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { applyNftTable, deleteNftTable, readNftTable, reconcileLinks, runInNetns, stats, type NftTable } from '../../src/dataplane/index.js';
import { Namespaces, ping, rootGate, suffix } from './root-helpers.js';

const gate = rootGate('nftables end-to-end', ['ip', 'nft', 'nsenter', 'busybox']);

describe('dataplane (root): nftables table applied atomically, idempotently', { skip: gate.skip }, () => {
  const s = suffix();
  const nss = new Namespaces();
  const CLI = `nt${s}c`;
  const SRV = `nt${s}s`;
  const t = { netns: SRV };

  const table = (blocked: string[]): NftTable => ({
    family: 'inet',
    name: 'neutrino_t',
    sets: [
      { name: 'blocked', type: 'ipv4_addr', flags: ['interval'], elements: blocked },
      // Written in forms nft prints differently, to show they still compare equal.
      { name: 'v6', type: 'ipv6_addr', flags: ['interval'], elements: ['2001:DB8:0:0::/64', '2001:db8:1::1/128'] },
      { name: 'svc', type: 'ipv4_addr . inet_service', elements: ['198.18.7.1 . 22', '198.18.7.1 . 0080'] },
      { name: 'seen', type: 'ipv4_addr', flags: ['dynamic', 'timeout'], manageElements: false },
    ],
    chains: [
      {
        name: 'input',
        base: { type: 'filter', hook: 'input', priority: 0, policy: 'accept' },
        rules: ['update @seen { ip saddr timeout 1m }', 'ct state established,related accept', { rule: 'jump sg', comment: 'port p1' }],
      },
      { name: 'sg', rules: ['ip saddr @blocked icmp type echo-request counter drop', 'ip6 saddr @v6 drop', 'return'] },
    ],
  });

  before(async () => {
    gate.check();
    await nss.add(CLI);
    await nss.add(SRV);
    await reconcileLinks([{ kind: 'veth', name: 'a', peer: 'b', peerNetns: SRV, up: true, addresses: ['198.18.7.1/24'] }], { netns: CLI });
    await reconcileLinks([{ kind: 'external', name: 'b', up: true, addresses: ['198.18.7.2/24'] }], t);
    // Someone else's table in the same namespace: ours must never touch it.
    await runInNetns(SRV, { argv: ['nft', 'add', 'table', 'ip', 'other'], write: true });
  });
  after(async () => {
    await nss.deleteAll();
  });

  it('pings before any table', async () => {
    assert.ok(await ping(CLI, '198.18.7.2'));
  });

  it('first apply is one transaction, the second is none, and the rule drops the ping', async () => {
    const w0 = stats().writes;
    const p1 = await applyNftTable(table(['198.18.7.0-198.18.7.255', '10.9.0.0/16']), t);
    assert.equal(p1.kind, 'replace');
    assert.equal(stats().writes - w0, 1);
    const p2 = await applyNftTable(table(['198.18.7.0-198.18.7.255', '10.9.0.0/16']), t);
    assert.deepEqual(p2, { kind: 'none' });
    assert.equal(stats().writes - w0, 1, 'unchanged table: no write');
    assert.equal(await ping(CLI, '198.18.7.2', 1), false, 'echo requests from a blocked address are dropped');
  });

  it('changing only set elements is one element transaction; the ping passes again', async () => {
    const w0 = stats().writes;
    const p = await applyNftTable(table(['10.9.0.0/16', '10.10.0.1']), t);
    assert.equal(p.kind, 'elements');
    assert.match(
      p.kind === 'elements' ? p.script : '',
      /^delete element inet neutrino_t blocked \{ 198\.18\.7\.0\/24 \}\nadd element inet neutrino_t blocked \{ 10\.10\.0\.1 \}\n$/,
    );
    assert.deepEqual(await applyNftTable(table(['10.9.0.0/16', '10.10.0.1']), t), { kind: 'none' });
    assert.equal(stats().writes - w0, 1);
    assert.ok(await ping(CLI, '198.18.7.2'));
    const a = await readNftTable('inet', 'neutrino_t', t);
    assert.deepEqual(a?.sets.get('blocked')?.elements, ['10.10.0.1', '10.9.0.0/16']);
  });

  it('repairs drift made behind its back, and leaves other tables alone', async () => {
    const handles = JSON.parse((await runInNetns(SRV, { argv: ['nft', '-j', '-a', 'list', 'chain', 'inet', 'neutrino_t', 'sg'] })).stdout) as {
      nftables: Array<{ rule?: { handle: number } }>;
    };
    const handle = handles.nftables.find((x) => x.rule)!.rule!.handle;
    await runInNetns(SRV, { argv: ['nft', 'delete', 'rule', 'inet', 'neutrino_t', 'sg', 'handle', String(handle)], write: true });
    const p = await applyNftTable(table(['10.9.0.0/16', '10.10.0.1']), t);
    assert.equal(p.kind === 'replace' && p.why, 'rules of chain sg differ');
    await runInNetns(SRV, { argv: ['nft', 'add', 'element', 'inet', 'neutrino_t', 'blocked', '{ 10.11.0.0/24 }'], write: true });
    assert.equal((await applyNftTable(table(['10.9.0.0/16', '10.10.0.1']), t)).kind, 'elements');
    await runInNetns(SRV, { argv: ['nft', 'add', 'chain', 'inet', 'neutrino_t', 'extra'], write: true });
    assert.equal((await applyNftTable(table(['10.9.0.0/16', '10.10.0.1']), t)).kind, 'replace');
    assert.deepEqual(await applyNftTable(table(['10.9.0.0/16', '10.10.0.1']), t), { kind: 'none' });
    assert.ok(await readNftTable('ip', 'other', t), 'the other table is still there');
  });

  it('deletes the table', async () => {
    assert.equal(await deleteNftTable('inet', 'neutrino_t', t), true);
    assert.equal(await readNftTable('inet', 'neutrino_t', t), null);
    assert.equal(await deleteNftTable('inet', 'neutrino_t', t), false);
  });
});

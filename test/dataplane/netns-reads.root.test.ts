// As root: readInNamespaces, the one-process read of many namespaces an agent's full sync makes
// (the L3 agent's restart reads every router namespace with it): each namespace's outputs and
// exit codes come back under its name, a namespace that cannot be entered is missing, and a
// table out of `nft -j list ruleset` reads as readNftTable reads it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { IpBatch, applyNftPlans, listLinks, nftTableOfRuleset, planTable, readInNamespaces, readNftTable, stats } from '../../src/dataplane/index.js';
import { Namespaces, rootGate, suffix } from './root-helpers.js';

const gate = rootGate('reads of many namespaces', ['ip', 'nsenter', 'nft', 'sh']);

describe('dataplane (root): reads of many namespaces in one process', { skip: gate.skip }, () => {
  const s = suffix();
  const nss = new Namespaces();
  const A = `nt${s}ra`;
  const B = `nt${s}rb`;

  before(async () => {
    gate.check();
    await nss.add(A);
    await nss.add(B);
    await new IpBatch().addBridge(`br${s}`).addAddr(`br${s}`, '10.99.0.1/24').apply({ netns: A });
    const table = { family: 'ip' as const, name: 'neutrino_t', chains: [{ name: 'c', rules: ['ip daddr 10.99.0.2 counter'] }] };
    await applyNftPlans([planTable(table, null)], { netns: A });
  });
  after(async () => {
    await nss.deleteAll();
  });

  it("gives each namespace's outputs and codes, one spawn for all", async () => {
    const gone = `nt${s}rgone`;
    const spawned = stats().reads + stats().writes;
    const r = await readInNamespaces([A, B, gone], {
      links: ['ip', '-json', '-details', 'addr', 'show'],
      ruleset: ['nft', '-j', 'list', 'ruleset'],
      missing: ['nft', '-j', 'list', 'table', 'ip', 'nothing_here'],
    });
    assert.equal(stats().reads + stats().writes - spawned, 1, 'one process');
    assert.deepEqual([...r.keys()].sort(), [A, B, gone].sort());
    assert.equal(r.get(gone)!.size, 0, 'a namespace that cannot be entered reports nothing');
    const a = r.get(A)!;
    assert.equal(a.get('links')!.code, 0);
    assert.deepEqual(
      JSON.parse(a.get('links')!.stdout)
        .map((l: any) => l.ifname)
        .sort(),
      (await listLinks({ netns: A })).map((l) => l.name).sort(),
    );
    assert.notEqual(a.get('missing')!.code, 0, "a failed command's code");
    assert.deepEqual(nftTableOfRuleset(a.get('ruleset')!.stdout, 'ip', 'neutrino_t'), await readNftTable('ip', 'neutrino_t', { netns: A }));
    assert.equal(nftTableOfRuleset(r.get(B)!.get('ruleset')!.stdout, 'ip', 'neutrino_t'), null, 'B has no such table');
  });

  it('refuses words a shell would read', async () => {
    await assert.rejects(readInNamespaces([A], { x: ['echo', '$(id)'] }), /unsafe word/);
  });
});

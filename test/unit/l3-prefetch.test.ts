// The L3 agent's full-sync reads (prefetch.ts): one namespace's batched outputs decoded into what
// a router's pass would have read itself; what failed is left for the pass to read.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { routerReadsOf } from '../../src/agents/l3/prefetch.js';

const ruleset = JSON.stringify({
  nftables: [
    { metainfo: { version: '1.0.6' } },
    { table: { family: 'ip', name: 'neutrino_l3', handle: 1 } },
    { chain: { family: 'ip', table: 'neutrino_l3', name: 'postrouting', handle: 1, type: 'nat', hook: 'postrouting', prio: 100, policy: 'accept' } },
    { rule: { family: 'ip', table: 'neutrino_l3', chain: 'postrouting', handle: 2, comment: 'h:1', expr: [] } },
    { table: { family: 'ip6', name: 'other', handle: 2 } },
    { chain: { family: 'ip6', table: 'other', name: 'postrouting', handle: 1 } },
  ],
});

describe('L3 agent: the full sync reads of a router namespace', () => {
  it('decodes forwarding, links, routes and both tables (the NDP table absent: null)', () => {
    const r = routerReadsOf(
      new Map([
        ['ipForward', { code: 0, stdout: '1\n' }],
        [
          'links',
          {
            code: 0,
            stdout:
              '[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP"],"mtu":65536,"operstate":"UNKNOWN","address":"00:00:00:00:00:00","addr_info":[]}]',
          },
        ],
        ['routes', { code: 0, stdout: '[{"dst":"10.1.0.0/16","gateway":"10.0.0.1","dev":"qg-x","protocol":"static"}]' }],
        ['ruleset', { code: 0, stdout: ruleset }],
      ]),
    );
    assert.equal(r.ipForward, '1');
    assert.deepEqual(
      r.links!.map((l) => l.name),
      ['lo'],
    );
    assert.deepEqual(r.routes, [{ dst: '10.1.0.0/16', via: '10.0.0.1', dev: 'qg-x' }]);
    assert.deepEqual([...r.nat!.chains.keys()], ['postrouting']);
    assert.deepEqual(r.nat!.chains.get('postrouting')!.tags, ['h:1']);
    assert.equal(r.ndp, null);
  });

  it('leaves out what failed or did not come, for the pass to read itself', () => {
    const r = routerReadsOf(
      new Map([
        ['ipForward', { code: 1, stdout: '' }],
        ['links', { code: 0, stdout: 'not json' }],
      ]),
    );
    assert.deepEqual(r, {});
    assert.deepEqual(routerReadsOf(undefined), {});
  });
});

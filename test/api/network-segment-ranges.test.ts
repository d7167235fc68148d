// Network segment ranges on every backend, through the real HTTP server: the default ranges from
// the ML2 configuration, project and shared ranges with Neutron's validation and errors, the type
// drivers allocating a project's networks from its own ranges first and keeping other projects
// out of them, `used` and `available`, refusing to delete or shrink a range with ids in use, and
// the concurrency that matters: ids handed out once, overlapping creates, a delete racing creates.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { createServer } from '../../src/server/neutron-server.js';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { ADMIN, ALICE, startServer, type TestServer } from '../helpers/server.js';
import { assertError } from '../helpers/assert-error.js';

const P = 'project-ranges-p';
const Q = 'project-ranges-q';

for (const backend of BACKENDS) {
  describe(`network segment ranges on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let s: TestServer;
    before(async () => {
      // VNIs 100-1099, VLANs 100-199 on physnet1 and all of physnet2's: startServer's defaults.
      s = await startServer(backend, { quotas: { quota_network: '-1' } });
    });
    after(async () => {
      await s?.stop();
    });

    const ranges = (query = '') => s.req('GET', `/v2.0/network-segment-ranges${query}`, undefined, ADMIN);
    const createRange = (body: object, as = ADMIN) => s.req('POST', '/v2.0/network-segment-ranges', { network_segment_range: body }, as);
    const range = async (body: object) => {
      const r = await createRange({ name: 'r', shared: false, network_type: 'vxlan', ...body });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body.network_segment_range;
    };
    const showRange = async (id: string) => (await s.req('GET', `/v2.0/network-segment-ranges/${id}`, undefined, ADMIN)).body.network_segment_range;
    const network = async (projectId: string, body: object = {}) => {
      const r = await s.req('POST', '/v2.0/networks', { network: { name: 'n', project_id: projectId, ...body } }, ADMIN);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body.network;
    };
    const deleteNetwork = async (id: string) => assert.equal((await s.req('DELETE', `/v2.0/networks/${id}`, undefined, ADMIN)).status, 204);
    const sid = (n: any) => n['provider:segmentation_id'] as number;

    it('lists the extension and shows the configured ranges as read-only default shared ranges', async () => {
      const aliases = (await s.req('GET', '/v2.0/extensions')).body.extensions.map((e: any) => e.alias);
      assert.ok(aliases.includes('network-segment-range'));
      const defaults = (await ranges('?network_type=vxlan')).body.network_segment_ranges.filter((r: any) => r.default);
      assert.equal(defaults.length, 1);
      const [d] = defaults;
      assert.deepEqual(
        { ...d, id: undefined, created_at: undefined, updated_at: undefined, available: d.available.length },
        {
          id: undefined,
          name: '',
          default: true,
          shared: true,
          project_id: null,
          network_type: 'vxlan',
          physical_network: null,
          minimum: 100,
          maximum: 1099,
          used: {},
          available: 1000,
          description: '',
          revision_number: 0,
          tags: [],
          created_at: undefined,
          updated_at: undefined,
        },
      );
      // A physical network listed without a range has the whole VLAN space for tenant networks.
      const vlan = (await ranges('?network_type=vlan')).body.network_segment_ranges;
      assert.deepEqual(vlan.map((r: any) => [r.physical_network, r.minimum, r.maximum, r.default]).sort(), [
        ['physnet1', 100, 199, true],
        ['physnet2', 1, 4094, true],
      ]);
      assertError(
        await s.req('PUT', `/v2.0/network-segment-ranges/${d.id}`, { network_segment_range: { name: 'x' } }, ADMIN),
        400,
        'NetworkSegmentRangeDefaultReadOnly',
      );
      assertError(await s.req('DELETE', `/v2.0/network-segment-ranges/${d.id}`, undefined, ADMIN), 400, 'NetworkSegmentRangeDefaultReadOnly');
    });

    it('filters by id, name and type (an id that is no UUID finds nothing, as tempest asks)', async () => {
      const r = await range({ name: 'findme', project_id: P, minimum: 7000, maximum: 7001 });
      const found = await ranges('?id=33');
      assert.equal(found.status, 200, JSON.stringify(found.body));
      assert.deepEqual(found.body.network_segment_ranges, []);
      assert.deepEqual(
        (await ranges(`?id=${r.id}`)).body.network_segment_ranges.map((x: any) => x.name),
        ['findme'],
      );
      assert.deepEqual(
        (await ranges('?name=findme&network_type=vxlan')).body.network_segment_ranges.map((x: any) => x.id),
        [r.id],
      );
      assert.deepEqual((await ranges('?name=findme&network_type=vlan')).body.network_segment_ranges, []);
      assert.equal((await s.req('DELETE', `/v2.0/network-segment-ranges/${r.id}`, undefined, ADMIN)).status, 204);
    });

    it('is admin only', async () => {
      assertError(await createRange({ network_type: 'vxlan', minimum: 5000, maximum: 5001 }, ALICE), 403);
      const listed = await s.req('GET', '/v2.0/network-segment-ranges', undefined, ALICE);
      assert.equal(listed.status, 200);
      assert.deepEqual(listed.body.network_segment_ranges, []);
    });

    it("refuses what Neutron refuses, with Neutron's errors", async () => {
      assertError(await createRange({ network_type: 'gre', minimum: 1, maximum: 2 }), 400, 'NetworkSegmentRangeNetTypeNotSupported');
      assertError(await createRange({ network_type: 'flat', minimum: 1, maximum: 2 }), 400, 'HTTPBadRequest');
      assertError(await createRange({ network_type: 'vlan', minimum: 300, maximum: 301 }), 400, 'BadRequest', 'physical_network');
      assertError(
        await createRange({ network_type: 'vlan', physical_network: 'physnet1', minimum: 300, maximum: 5000 }),
        400,
        'NetworkVlanRangeError',
      );
      assertError(await createRange({ network_type: 'vxlan', minimum: 6000, maximum: 5000 }), 400, 'NetworkTunnelRangeError');
      assertError(await createRange({ network_type: 'vxlan', minimum: 2 ** 24, maximum: 2 ** 24 }), 400, 'NetworkTunnelRangeError');
      assertError(await createRange({ network_type: 'vxlan', minimum: 0, maximum: 5 }), 400, 'HTTPBadRequest');
      assertError(await createRange({ network_type: 'vxlan', minimum: 5 }), 400, 'HTTPBadRequest', 'maximum');
      assertError(await createRange({ network_type: 'vxlan', minimum: 5, maximum: 6, default: true }), 400, 'HTTPBadRequest');
      assertError(
        await s.req('GET', '/v2.0/network-segment-ranges/00000000-0000-4000-8000-000000000000', undefined, ADMIN),
        404,
        'NetworkSegmentRangeNotFound',
      );
    });

    it("allocates a project's networks from its own range first, then the shared ones; keeps other projects out of it", async () => {
      // 100-102 overlaps the default range (allowed: only non-default ranges are checked).
      const own = await range({ project_id: P, minimum: 100, maximum: 102 });
      assert.equal(own.project_id, P);
      assert.equal(own.shared, false);
      assert.equal(own.default, false);
      assert.equal(own.physical_network, null, 'a VXLAN range has no physical network');
      assert.deepEqual(own.available, [100, 101, 102]);
      const other = await network(Q);
      assert.ok(sid(other) >= 103 && sid(other) <= 1099, `another project gets none of P's ids: ${sid(other)}`);
      const mine = [await network(P), await network(P), await network(P)];
      assert.deepEqual(mine.map(sid).sort(), [100, 101, 102]);
      const fourth = await network(P);
      assert.ok(sid(fourth) >= 103 && sid(fourth) !== sid(other), 'then the shared range');
      const shown = await showRange(own.id);
      assert.deepEqual(shown.used, { 100: P, 101: P, 102: P });
      assert.deepEqual(shown.available, []);

      // Shrinking onto or past an id in use, or deleting, is refused; renaming and widening are not.
      const put = (body: object) => s.req('PUT', `/v2.0/network-segment-ranges/${own.id}`, { network_segment_range: body }, ADMIN);
      assertError(await put({ minimum: 100 }), 409, 'NetworkSegmentRangeReferencedByProject');
      assertError(await put({ maximum: 101 }), 409, 'NetworkSegmentRangeReferencedByProject');
      assertError(await s.req('DELETE', `/v2.0/network-segment-ranges/${own.id}`, undefined, ADMIN), 409, 'NetworkSegmentRangeReferencedByProject');
      const renamed = await put({ name: 'mine' });
      assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
      assert.equal(renamed.body.network_segment_range.name, 'mine');
      assert.equal(renamed.body.network_segment_range.revision_number, 1);
      const widened = await put({ minimum: 90, maximum: 104 });
      assert.equal(widened.status, 200, JSON.stringify(widened.body));
      // 90-99 are new ids (no range had them); 103 or 104 may have gone to the networks above.
      const taken = new Set([sid(other), sid(fourth)]);
      assert.deepEqual(
        widened.body.network_segment_range.available,
        [90, 91, 92, 93, 94, 95, 96, 97, 98, 99, 103, 104].filter((i) => !taken.has(i)),
      );
      const fifth = await network(P);
      assert.equal(sid(fifth), 90, 'the lowest free id of its own range');

      for (const n of [...mine, fourth, fifth, other]) await deleteNetwork(n.id);
      assert.equal((await s.req('DELETE', `/v2.0/network-segment-ranges/${own.id}`, undefined, ADMIN)).status, 204);
      // 90-99 were only in that range: their rows went with it, and networks never get them.
      const again = await network(P);
      assert.ok(sid(again) >= 100, `${sid(again)}`);
      await deleteNetwork(again.id);
    });

    it('refuses overlapping non-default ranges of one type and physical network', async () => {
      const a = await range({ project_id: P, minimum: 2000, maximum: 2010 });
      const r = await createRange({ shared: true, network_type: 'vxlan', minimum: 2010, maximum: 2020 });
      assertError(r, 409, 'NetworkSegmentRangeOverlaps', a.id);
      // Another type, or another physical network, does not overlap.
      const g = await createRange({ network_type: 'vlan', physical_network: 'physnet1', minimum: 2000, maximum: 2010 });
      assert.equal(g.status, 201, JSON.stringify(g.body));
      const h = await createRange({ network_type: 'vlan', physical_network: 'physnet3', minimum: 2000, maximum: 2010 });
      assert.equal(h.status, 201, JSON.stringify(h.body));
      assertError(
        await createRange({ network_type: 'vlan', physical_network: 'physnet1', minimum: 2010, maximum: 2011 }),
        409,
        'NetworkSegmentRangeOverlaps',
      );
      const b = await range({ project_id: Q, minimum: 2011, maximum: 2012 });
      assertError(
        await s.req('PUT', `/v2.0/network-segment-ranges/${b.id}`, { network_segment_range: { minimum: 2009 } }, ADMIN),
        409,
        'NetworkSegmentRangeOverlaps',
      );
      for (const id of [a.id, b.id, g.body.network_segment_range.id, h.body.network_segment_range.id]) {
        assert.equal((await s.req('DELETE', `/v2.0/network-segment-ranges/${id}`, undefined, ADMIN)).status, 204);
      }
      assert.equal((await ranges()).body.network_segment_ranges.filter((x: any) => !x.default).length, 0);
    });

    it("gives a project's VLAN provider network without an id one of its own range on that physical network", async () => {
      const own = await range({ project_id: P, network_type: 'vlan', physical_network: 'physnet1', minimum: 150, maximum: 151 });
      const vlan = { 'provider:network_type': 'vlan', 'provider:physical_network': 'physnet1' };
      const other = await network(Q, vlan);
      assert.equal(sid(other), 100);
      const mine = await network(P, vlan);
      assert.equal(sid(mine), 150);
      assert.deepEqual((await showRange(own.id)).used, { 150: P });
      await deleteNetwork(mine.id);
      await deleteNetwork(other.id);
      assert.equal((await s.req('DELETE', `/v2.0/network-segment-ranges/${own.id}`, undefined, ADMIN)).status, 204);
    });

    it('tags ranges', async () => {
      const r = await range({ project_id: P, minimum: 2500, maximum: 2500 });
      assert.equal((await s.req('PUT', `/v2.0/network-segment-ranges/${r.id}/tags/blue`, undefined, ADMIN)).status, 201);
      assert.deepEqual((await showRange(r.id)).tags, ['blue']);
      assert.equal((await ranges('?tags=blue')).body.network_segment_ranges.length, 1);
      assert.equal((await s.req('DELETE', `/v2.0/network-segment-ranges/${r.id}`, undefined, ADMIN)).status, 204);
    });

    it('hands each id of a range out once under concurrent creates, then falls back to the shared range', async () => {
      const own = await range({ project_id: P, minimum: 3000, maximum: 3009 });
      const nets = await Promise.all(Array.from({ length: 14 }, () => network(P)));
      const ids = nets.map(sid);
      assert.equal(new Set(ids).size, ids.length, `no id twice: ${ids}`);
      assert.equal(ids.filter((i) => i >= 3000 && i <= 3009).length, 10, `${ids}`);
      assert.deepEqual((await showRange(own.id)).available, []);
      for (const n of nets) await deleteNetwork(n.id);
      assert.equal((await s.req('DELETE', `/v2.0/network-segment-ranges/${own.id}`, undefined, ADMIN)).status, 204);
    });

    it('lets one of several concurrent overlapping creates win', async () => {
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) => createRange({ shared: true, network_type: 'vxlan', minimum: 4000 + i, maximum: 4010 + i })),
      );
      const won = results.filter((r) => r.status === 201);
      assert.equal(won.length, 1, JSON.stringify(results.map((r) => r.status)));
      for (const r of results) if (r.status !== 201) assertError(r, 409, 'NetworkSegmentRangeOverlaps');
      assert.equal((await s.req('DELETE', `/v2.0/network-segment-ranges/${won[0]!.body.network_segment_range.id}`, undefined, ADMIN)).status, 204);
    });

    it('never deletes a range under a network that took an id of it concurrently', async () => {
      for (let round = 0; round < 3; round++) {
        const own = await range({ project_id: P, minimum: 5000, maximum: 5004 });
        const [del, ...nets] = await Promise.all([
          s.req('DELETE', `/v2.0/network-segment-ranges/${own.id}`, undefined, ADMIN),
          ...Array.from({ length: 3 }, () => network(P)),
        ]);
        const inRange = nets.filter((n) => sid(n) >= 5000 && sid(n) <= 5004);
        if (del.status === 204) {
          assert.equal(inRange.length, 0, 'a deleted range left no network with one of its ids');
        } else {
          assertError(del, 409, 'NetworkSegmentRangeReferencedByProject');
          assert.ok(inRange.length > 0);
          for (const n of nets) await deleteNetwork(n.id);
          assert.equal((await s.req('DELETE', `/v2.0/network-segment-ranges/${own.id}`, undefined, ADMIN)).status, 204);
          continue;
        }
        for (const n of nets) await deleteNetwork(n.id);
      }
      // Nothing of 5000-5004 is left in the pool.
      const n = await network(P);
      assert.ok(sid(n) < 5000, `${sid(n)}`);
      await deleteNetwork(n.id);
    });
  });
}

for (const backend of BACKENDS) {
  describe(`default network segment ranges across restarts on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    it('rewrites the default ranges from the configuration at start-up and keeps the ranges an admin added', async () => {
      const db = await backend.create();
      const state = mkdtempSync(join(tmpdir(), 'neutrino-state-'));
      const start = async (vni: string) => {
        const cfg = loadConfig([], {
          DEFAULT: { auth_strategy: 'noauth', state_path: state },
          database: { connection: db.url },
          ml2: { tenant_network_types: 'vxlan', type_drivers: 'vxlan' },
          ml2_type_vxlan: { vni_ranges: vni },
        });
        return createServer(cfg);
      };
      const list = async (server: Awaited<ReturnType<typeof start>>) => {
        const r = await server.app.inject({
          method: 'GET',
          url: '/v2.0/network-segment-ranges',
          headers: { 'x-project-id': 'admin-project', 'x-roles': 'admin' },
        });
        return (r.json().network_segment_ranges as any[]).map((x) => [x.default, x.minimum, x.maximum, x.id]).sort();
      };
      try {
        const first = await start('10:19,30:39');
        const before = await list(first);
        assert.deepEqual(
          before.map((x) => x.slice(0, 3)),
          [
            [true, 10, 19],
            [true, 30, 39],
          ],
        );
        const added = await first.app.inject({
          method: 'POST',
          url: '/v2.0/network-segment-ranges',
          headers: { 'x-project-id': 'admin-project', 'x-roles': 'admin', 'content-type': 'application/json' },
          payload: { network_segment_range: { shared: false, project_id: 'p', network_type: 'vxlan', minimum: 500, maximum: 501 } },
        });
        assert.equal(added.statusCode, 201, added.body);
        await first.close();

        const second = await start('30:39,50:59');
        const after = await list(second);
        assert.deepEqual(
          after.map((x) => x.slice(0, 3)),
          [
            [false, 500, 501],
            [true, 30, 39],
            [true, 50, 59],
          ],
        );
        // A default range that stayed keeps its id; a network takes the lowest shared id.
        assert.equal(after.find((x) => x[1] === 30)![3], before.find((x) => x[1] === 30)![3]);
        const net = await second.app.inject({
          method: 'POST',
          url: '/v2.0/networks',
          headers: { 'x-project-id': 'q', 'x-roles': 'member', 'content-type': 'application/json' },
          payload: { network: { name: 'n' } },
        });
        assert.equal(net.statusCode, 201, net.body);
        assert.equal(net.json().network['provider:segmentation_id'], undefined, 'a member does not see provider attributes');
        const shown = await second.app.inject({
          method: 'GET',
          url: `/v2.0/networks/${net.json().network.id}`,
          headers: { 'x-project-id': 'admin-project', 'x-roles': 'admin' },
        });
        assert.equal(shown.json().network['provider:segmentation_id'], 30, '10-19 went with their default range');
        await second.close();
      } finally {
        await db.drop();
        rmSync(state, { recursive: true, force: true });
      }
    });
  });
}

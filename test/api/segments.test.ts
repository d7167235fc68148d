// Segments on every backend, through the real HTTP server: CRUD through the ML2 type drivers,
// the network's provider/multi-provider view of the same rows, MTU, in-use checks (subnets and
// bound ports), the subnets' segment rules, tags, and concurrent creates that compete for one
// segmentation id.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { ADMIN, ALICE, startServer, type TestServer } from '../helpers/server.js';
import { createOrUpdateAgent } from '../../src/plugins/agents/report-state.js';
import { assertError } from '../helpers/assert-error.js';

const MISSING = '00000000-0000-4000-8000-000000000000';

for (const backend of BACKENDS) {
  describe(`segments on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let s: TestServer;
    before(async () => {
      // physnet1 has VLANs 100-199, physnet2 none in range; VNIs 100-1099.
      s = await startServer(backend, { quotas: { quota_network: '-1', quota_subnet: '-1' } });
    });
    after(async () => {
      await s?.stop();
    });

    const network = async (body: object = {}) => {
      const r = await s.req('POST', '/v2.0/networks', { network: { name: 'n', ...body } }, ADMIN);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body.network;
    };
    const segment = (body: object) => s.req('POST', '/v2.0/segments', { segment: body }, ADMIN);
    const created = async (body: object) => {
      const r = await segment(body);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body.segment;
    };
    // A network's segments in their order (lists sort by id unless asked otherwise).
    const segmentsOf = async (networkId: string) => {
      const listed = (await s.req('GET', `/v2.0/segments?network_id=${networkId}`, undefined, ADMIN)).body.segments as any[];
      const order = ((await s.req('GET', `/v2.0/networks/${networkId}`, undefined, ADMIN)).body.network?.segments ?? []) as any[];
      const key = (x: any) =>
        `${x.network_type ?? x['provider:network_type']}/${x.physical_network ?? x['provider:physical_network']}/${x.segmentation_id ?? x['provider:segmentation_id']}`;
      const at = (x: any) => order.findIndex((o) => key(o) === key(x));
      return listed.sort((a, b) => at(a) - at(b));
    };
    const showNet = async (id: string) => (await s.req('GET', `/v2.0/networks/${id}`, undefined, ADMIN)).body.network;
    const subnet = (networkId: string, cidr: string, extra: object = {}) =>
      s.req('POST', '/v2.0/subnets', { subnet: { network_id: networkId, ip_version: 4, cidr, ...extra } }, ADMIN);

    it('lists the segment extensions', async () => {
      const aliases = (await s.req('GET', '/v2.0/extensions')).body.extensions.map((e: any) => e.alias);
      for (const a of ['segment', 'standard-attr-segment', 'subnet-segmentid-writable']) assert.ok(aliases.includes(a), a);
    });

    it("shows a network's own segment; adds, updates and deletes segments kept in step with the network", async () => {
      const net = await network({ 'provider:network_type': 'vlan', 'provider:physical_network': 'physnet1', 'provider:segmentation_id': 120 });
      const [first] = await segmentsOf(net.id);
      assert.deepEqual(Object.keys(first).sort(), [
        'created_at',
        'description',
        'id',
        'name',
        'network_id',
        'network_type',
        'physical_network',
        'revision_number',
        'segmentation_id',
        'tags',
        'updated_at',
      ]);
      assert.equal(first.network_type, 'vlan');
      assert.equal(first.physical_network, 'physnet1');
      assert.equal(first.segmentation_id, 120);
      assert.equal(first.name, null);
      assert.equal(first.description, '');
      assert.equal(first.revision_number, 0);
      assert.equal(first.created_at, net.created_at);

      const second = await created({
        network_id: net.id,
        network_type: 'vlan',
        physical_network: 'physnet1',
        name: 'rack2',
        description: 'second rack',
      });
      assert.equal(second.name, 'rack2');
      assert.equal(second.description, 'second rack');
      assert.ok(second.segmentation_id >= 100 && second.segmentation_id <= 199 && second.segmentation_id !== 120, String(second.segmentation_id));
      const shown = await s.req('GET', `/v2.0/segments/${second.id}`, undefined, ADMIN);
      assert.deepEqual(shown.body.segment, second);
      // Two segments: the network shows them as multi-provider `segments`, in segment order.
      let n = await showNet(net.id);
      assert.equal('provider:network_type' in n, false);
      assert.deepEqual(n.segments, [
        { 'provider:network_type': 'vlan', 'provider:physical_network': 'physnet1', 'provider:segmentation_id': 120 },
        { 'provider:network_type': 'vlan', 'provider:physical_network': 'physnet1', 'provider:segmentation_id': second.segmentation_id },
      ]);
      const byType = await s.req('GET', `/v2.0/networks?provider:segmentation_id=${second.segmentation_id}`, undefined, ADMIN);
      assert.deepEqual(
        byType.body.networks.map((x: any) => x.id),
        [net.id],
      );

      const renamed = await s.req('PUT', `/v2.0/segments/${second.id}`, { segment: { name: 'rack-2', description: 'd2' } }, ADMIN);
      assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
      assert.equal(renamed.body.segment.name, 'rack-2');
      assert.equal(renamed.body.segment.description, 'd2');
      assert.equal(renamed.body.segment.revision_number, 1);
      assertError(await s.req('PUT', `/v2.0/segments/${second.id}`, { segment: { segmentation_id: 150 } }, ADMIN), 400, undefined, 'segmentation_id');
      assertError(await s.req('PUT', `/v2.0/segments/${second.id}`, { segment: { network_type: 'vxlan' } }, ADMIN), 400);
      assertError(await s.req('PUT', `/v2.0/segments/${second.id}`, { segment: { name: 'x' } }, ADMIN, { 'if-match': 'revision_number=0' }), 412);

      // Deleting gives the VLAN back: another network can take it.
      assert.equal((await s.req('DELETE', `/v2.0/segments/${first.id}`, undefined, ADMIN)).status, 204);
      n = await showNet(net.id);
      assert.equal('segments' in n, false);
      assert.equal(n['provider:segmentation_id'], second.segmentation_id);
      const reuse = await network({ 'provider:network_type': 'vlan', 'provider:physical_network': 'physnet1', 'provider:segmentation_id': 120 });
      assert.equal(reuse['provider:segmentation_id'], 120);
      // With no segment left the provider attributes are null.
      assert.equal((await s.req('DELETE', `/v2.0/segments/${second.id}`, undefined, ADMIN)).status, 204);
      n = await showNet(net.id);
      assert.equal(n['provider:network_type'], null);
      assert.equal(n['provider:physical_network'], null);
      assert.equal(n['provider:segmentation_id'], null);
      assertError(
        await s.req('GET', `/v2.0/segments/${second.id}`, undefined, ADMIN),
        404,
        'SegmentNotFound',
        `Segment ${second.id} could not be found.`,
      );
      assertError(await s.req('DELETE', `/v2.0/segments/${second.id}`, undefined, ADMIN), 404, 'SegmentNotFound');
      // And a new one can be added again (segment_index continues).
      const again = await created({ network_id: net.id, network_type: 'vlan', physical_network: 'physnet2', segmentation_id: 7 });
      assert.equal((await showNet(net.id))['provider:segmentation_id'], again.segmentation_id);
    });

    it('reserves explicit ids through the type drivers, in range or not', async () => {
      const a = await network();
      const b = await network();
      const inRange = await created({ network_id: a.id, network_type: 'vlan', physical_network: 'physnet1', segmentation_id: 130 });
      assertError(
        await segment({ network_id: b.id, network_type: 'vlan', physical_network: 'physnet1', segmentation_id: 130 }),
        409,
        'VlanIdInUse',
        'The VLAN 130 on physical network physnet1 is in use',
      );
      // Networks and segments draw from the same pool.
      assertError(
        await s.req(
          'POST',
          '/v2.0/networks',
          { network: { 'provider:network_type': 'vlan', 'provider:physical_network': 'physnet1', 'provider:segmentation_id': 130 } },
          ADMIN,
        ),
        409,
        'VlanIdInUse',
      );
      const outOfRange = await created({ network_id: a.id, network_type: 'vlan', physical_network: 'physnet2', segmentation_id: 42 });
      assertError(await segment({ network_id: b.id, network_type: 'vlan', physical_network: 'physnet2', segmentation_id: 42 }), 409, 'VlanIdInUse');
      const flat = await created({ network_id: a.id, network_type: 'flat', physical_network: 'flat1' });
      assertError(await segment({ network_id: b.id, network_type: 'flat', physical_network: 'flat1' }), 409, 'FlatNetworkInUse');
      for (const seg of [inRange, outOfRange, flat]) assert.equal((await s.req('DELETE', `/v2.0/segments/${seg.id}`, undefined, ADMIN)).status, 204);
      for (const body of [
        { network_type: 'vlan', physical_network: 'physnet1', segmentation_id: 130 },
        { network_type: 'vlan', physical_network: 'physnet2', segmentation_id: 42 },
        { network_type: 'flat', physical_network: 'flat1' },
      ])
        assert.equal((await segment({ network_id: b.id, ...body })).status, 201, JSON.stringify(body));
    });

    it('validates segments as the type drivers do, and checks the network MTU', async () => {
      const net = await network();
      assertError(
        await segment({ network_id: net.id, network_type: 'token-ring' }),
        400,
        'InvalidInput',
        "network_type value 'token-ring' not supported",
      );
      assertError(
        await segment({ network_id: net.id, network_type: 'vxlan', physical_network: 'physnet1' }),
        400,
        'InvalidInput',
        'physical_network specified for vxlan',
      );
      assertError(
        await segment({ network_id: net.id, network_type: 'vlan', physical_network: 'physnet1', segmentation_id: 5000 }),
        400,
        'InvalidInput',
        'out of range',
      );
      assertError(
        await segment({ network_id: net.id, network_type: 'vlan', physical_network: 'nowhere' }),
        400,
        'InvalidInput',
        "physical_network 'nowhere' unknown",
      );
      assertError(await segment({ network_id: net.id, network_type: 'flat' }), 400, 'InvalidInput', 'physical_network required');
      assertError(
        await segment({ network_id: net.id, network_type: 'vlan', physical_network: 'physnet1', segmentation_id: 'ten' }),
        400,
        'InvalidInput',
      );
      assertError(await segment({ network_id: net.id }), 400, undefined, "'network_type'");
      assertError(await segment({ network_type: 'vxlan' }), 400, undefined, "'network_id'");
      assertError(await segment({ network_id: MISSING, network_type: 'vxlan' }), 404, 'NetworkNotFound');
      assertError(await segment({ network_id: net.id, network_type: 'vxlan', id: MISSING }), 400);
      // A VLAN network carries 1500 bytes; a VXLAN segment only 1450: the network's MTU must fit.
      const vlan = await network({ 'provider:network_type': 'vlan', 'provider:physical_network': 'physnet1' });
      assert.equal(vlan.mtu, 1500);
      assertError(await segment({ network_id: vlan.id, network_type: 'vxlan' }), 400, 'InvalidInput', 'Requested MTU is too big, maximum is 1450');
      assert.equal((await segmentsOf(vlan.id)).length, 1, 'nothing half-written');
      assert.equal((await s.req('PUT', `/v2.0/networks/${vlan.id}`, { network: { mtu: 1450 } }, ADMIN)).status, 200);
      const vx = await created({ network_id: vlan.id, network_type: 'vxlan' });
      assert.ok(vx.segmentation_id >= 100 && vx.segmentation_id <= 1099);
      assert.equal((await showNet(vlan.id)).mtu, 1450);
    });

    it('is admin-only by default', async () => {
      const mine = (await s.req('POST', '/v2.0/networks', { network: { name: 'alice' } }, ALICE)).body.network;
      assertError(
        await s.req('POST', '/v2.0/segments', { segment: { network_id: mine.id, network_type: 'vxlan' } }, ALICE),
        403,
        'PolicyNotAuthorized',
      );
      const [seg] = await segmentsOf(mine.id);
      assertError(await s.req('GET', `/v2.0/segments/${seg.id}`, undefined, ALICE), 404, 'SegmentNotFound');
      assert.deepEqual((await s.req('GET', `/v2.0/segments?network_id=${mine.id}`, undefined, ALICE)).body.segments, []);
      assertError(await s.req('PUT', `/v2.0/segments/${seg.id}`, { segment: { name: 'x' } }, ALICE), 404, 'SegmentNotFound');
      assertError(await s.req('DELETE', `/v2.0/segments/${seg.id}`, undefined, ALICE), 404, 'SegmentNotFound');
      // segment_id on subnets is admin-only too.
      const sub = await s.req('POST', '/v2.0/subnets', { subnet: { network_id: mine.id, ip_version: 4, cidr: '10.99.0.0/24' } }, ALICE);
      assert.equal(sub.status, 201);
      assert.equal('segment_id' in sub.body.subnet, false);
      assertError(
        await s.req('POST', '/v2.0/subnets', { subnet: { network_id: mine.id, ip_version: 4, cidr: '10.98.0.0/24', segment_id: seg.id } }, ALICE),
        403,
      );
    });

    it('associates subnets with segments: all or none, same network, in use until they go', async () => {
      const net = await network({
        segments: [
          { 'provider:network_type': 'vlan', 'provider:physical_network': 'physnet1' },
          { 'provider:network_type': 'vlan', 'provider:physical_network': 'physnet2', 'provider:segmentation_id': 300 },
        ],
      });
      const [segA, segB] = await segmentsOf(net.id);
      assert.equal(segB.segmentation_id, 300);
      const other = await network();
      const [otherSeg] = await segmentsOf(other.id);

      const sa = await subnet(net.id, '10.10.0.0/24', { segment_id: segA.id });
      assert.equal(sa.status, 201, JSON.stringify(sa.body));
      assert.equal(sa.body.subnet.segment_id, segA.id);
      const sb = await subnet(net.id, '10.10.1.0/24', { segment_id: segB.id });
      assert.equal(sb.status, 201, JSON.stringify(sb.body));
      assertError(
        await subnet(net.id, '10.10.2.0/24'),
        400,
        'SubnetsNotAllAssociatedWithSegments',
        `All of the subnets on network '${net.id}' must either all be associated with segments or all not associated with any segment.`,
      );
      assertError(await subnet(net.id, '10.10.2.0/24', { segment_id: otherSeg.id }), 400, 'NetworkIdsDontMatch', otherSeg.id);
      assertError(await subnet(net.id, '10.10.2.0/24', { segment_id: MISSING }), 404, 'SegmentNotFound');
      assertError(await subnet(other.id, '10.11.0.0/24', { segment_id: segA.id }), 400, 'NetworkIdsDontMatch');
      const bySegment = await s.req('GET', `/v2.0/subnets?segment_id=${segA.id}`, undefined, ADMIN);
      assert.deepEqual(
        bySegment.body.subnets.map((x: any) => x.id),
        [sa.body.subnet.id],
      );
      // A subnet's segment cannot move.
      assertError(await s.req('PUT', `/v2.0/subnets/${sa.body.subnet.id}`, { subnet: { segment_id: segB.id } }, ADMIN), 400);
      assertError(await s.req('PUT', `/v2.0/subnets/${sa.body.subnet.id}`, { subnet: { segment_id: null } }, ADMIN), 400);
      assert.equal(
        (await s.req('PUT', `/v2.0/subnets/${sa.body.subnet.id}`, { subnet: { segment_id: segA.id } }, ADMIN)).status,
        200,
        'unchanged is fine',
      );

      assertError(
        await s.req('DELETE', `/v2.0/segments/${segA.id}`, undefined, ADMIN),
        409,
        'SegmentInUse',
        `Segment '${segA.id}' cannot be deleted: The segment is still associated with subnet(s) ${sa.body.subnet.id}.`,
      );
      assert.equal((await s.req('DELETE', `/v2.0/subnets/${sa.body.subnet.id}`, undefined, ADMIN)).status, 204);
      assert.equal((await s.req('DELETE', `/v2.0/segments/${segA.id}`, undefined, ADMIN)).status, 204);
      // Deleting the network takes its segments (and their ids) along, subnets on segments included.
      assert.equal((await s.req('DELETE', `/v2.0/networks/${net.id}`, undefined, ADMIN)).status, 204);
      assert.deepEqual(await segmentsOf(net.id), []);
      assertError(await s.req('GET', `/v2.0/segments/${segB.id}`, undefined, ADMIN), 404, 'SegmentNotFound');
      assert.equal((await segment({ network_id: other.id, network_type: 'vlan', physical_network: 'physnet2', segmentation_id: 300 })).status, 201);
    });

    it("turns a network's only subnet into a routed one only on a single-segment network", async () => {
      const net = await network();
      const [seg] = await segmentsOf(net.id);
      const sub = (await subnet(net.id, '10.20.0.0/24')).body.subnet;
      assert.equal(sub.segment_id, null);
      const moved = await s.req('PUT', `/v2.0/subnets/${sub.id}`, { subnet: { segment_id: seg.id } }, ADMIN);
      assert.equal(moved.status, 200, JSON.stringify(moved.body));
      assert.equal(moved.body.subnet.segment_id, seg.id);
      assertError(
        await s.req('PUT', `/v2.0/subnets/${sub.id}`, { subnet: { segment_id: null } }, ADMIN),
        400,
        'SubnetSegmentAssociationChangeNotAllowed',
      );

      const two = await network();
      await created({ network_id: two.id, network_type: 'vxlan' });
      const [seg2] = await segmentsOf(two.id);
      const sub2 = (await subnet(two.id, '10.21.0.0/24')).body.subnet;
      assertError(
        await s.req('PUT', `/v2.0/subnets/${sub2.id}`, { subnet: { segment_id: seg2.id } }, ADMIN),
        400,
        'NoUpdateSubnetWhenMultipleSegmentsOnNetwork',
      );

      const many = await network();
      const [seg3] = await segmentsOf(many.id);
      const sub3 = (await subnet(many.id, '10.22.0.0/24')).body.subnet;
      await subnet(many.id, '10.22.1.0/24');
      assertError(
        await s.req('PUT', `/v2.0/subnets/${sub3.id}`, { subnet: { segment_id: seg3.id } }, ADMIN),
        400,
        'SubnetsNotAllAssociatedWithSegments',
      );
      assertError(await s.req('PUT', `/v2.0/subnets/${sub3.id}`, { subnet: { segment_id: MISSING } }, ADMIN), 400);
    });

    it('refuses to delete a segment that bound ports use', async () => {
      await createOrUpdateAgent(
        s.server.db,
        {
          agent_type: 'Linux bridge agent',
          binary: 'neutron-linuxbridge-agent',
          host: 'seg-host',
          topic: 'N/A',
          configurations: { tunnel_types: ['vxlan'], interface_mappings: { physnet1: 'eth1' } },
        },
        { agentDownTime: 75 },
      );
      const net = await network({
        segments: [
          { 'provider:network_type': 'vlan', 'provider:physical_network': 'physnet2', 'provider:segmentation_id': 400 },
          { 'provider:network_type': 'vlan', 'provider:physical_network': 'physnet1' },
        ],
      });
      const [unreachable, used] = await segmentsOf(net.id);
      const p = await s.req('POST', '/v2.0/ports', { port: { network_id: net.id, 'binding:host_id': 'seg-host' } }, ADMIN);
      assert.equal(p.body.port['binding:vif_type'], 'bridge');
      assertError(
        await s.req('DELETE', `/v2.0/segments/${used.id}`, undefined, ADMIN),
        409,
        'SegmentInUse',
        'The segment is still bound with 1 port(s)',
      );
      assert.equal((await s.req('DELETE', `/v2.0/segments/${unreachable.id}`, undefined, ADMIN)).status, 204);
      assert.equal((await s.req('DELETE', `/v2.0/ports/${p.body.port.id}`, undefined, ADMIN)).status, 204);
      assert.equal((await s.req('DELETE', `/v2.0/segments/${used.id}`, undefined, ADMIN)).status, 204);
    });

    it('tags segments and filters by tag', async () => {
      const net = await network();
      const [seg] = await segmentsOf(net.id);
      assert.equal((await s.req('PUT', `/v2.0/segments/${seg.id}/tags/red`, undefined, ADMIN)).status, 201);
      const shown = (await s.req('GET', `/v2.0/segments/${seg.id}`, undefined, ADMIN)).body.segment;
      assert.deepEqual(shown.tags, ['red']);
      assert.equal(shown.revision_number, 1);
      const tagged = await s.req('GET', '/v2.0/segments?tags=red', undefined, ADMIN);
      assert.deepEqual(
        tagged.body.segments.map((x: any) => x.id),
        [seg.id],
      );
      assertError(await s.req('PUT', `/v2.0/segments/${seg.id}/tags/blue`, undefined, ALICE), 404);
    });

    it('lists with sorting and pagination', async () => {
      const net = await network();
      for (const name of ['b', 'c', 'a']) await created({ network_id: net.id, network_type: 'vxlan', name });
      const page1 = await s.req(
        'GET',
        `/v2.0/segments?network_id=${net.id}&name=a&name=b&name=c&sort_key=name&sort_dir=asc&limit=2`,
        undefined,
        ADMIN,
      );
      assert.deepEqual(
        page1.body.segments.map((x: any) => x.name),
        ['a', 'b'],
      );
      const next = page1.body.segments_links.find((l: any) => l.rel === 'next').href as string;
      const page2 = await s.req('GET', next.slice(next.indexOf('/v2.0')), undefined, ADMIN);
      assert.deepEqual(
        page2.body.segments.map((x: any) => x.name),
        ['c'],
      );
      assertError(await s.req('GET', '/v2.0/segments?segmentation_id=5', undefined, ADMIN), 400);
    });

    it('20 concurrent creates asking for one VLAN id: one wins, the rest get 409', async () => {
      const nets = await Promise.all(Array.from({ length: 20 }, () => network()));
      for (const [physnet, id] of [
        ['physnet1', 150],
        ['physnet2', 77],
      ] as const) {
        const results = await Promise.all(
          nets.map((n) => segment({ network_id: n.id, network_type: 'vlan', physical_network: physnet, segmentation_id: id })),
        );
        const ok = results.filter((r) => r.status === 201);
        assert.equal(ok.length, 1, JSON.stringify(results.map((r) => [r.status, r.body?.NeutronError?.type])));
        for (const r of results.filter((x) => x.status !== 201)) assertError(r, 409, 'VlanIdInUse');
        const listed = await s.req('GET', `/v2.0/segments?physical_network=${physnet}&network_type=vlan`, undefined, ADMIN);
        assert.equal(listed.body.segments.filter((x: any) => x.segmentation_id === id).length, 1);
      }
    });

    it('concurrent creates without an id get distinct ids, and distinct indexes on one network', async () => {
      const net = await network();
      const results = await Promise.all(
        Array.from({ length: 20 }, () => segment({ network_id: net.id, network_type: 'vlan', physical_network: 'physnet1' })),
      );
      for (const r of results) assert.equal(r.status, 201, JSON.stringify(r.body));
      const vlans = results.map((r) => r.body.segment.segmentation_id);
      assert.equal(new Set(vlans).size, 20);
      const n = await showNet(net.id);
      assert.equal(n.segments.length, 21);
      assert.equal(new Set(n.segments.map((x: any) => x['provider:segmentation_id'])).size, 21);
    });
  });
}

// Availability zones on every backend: the catalogue made from agents' reports (state from
// admin_state_up, filters, fields), hints on networks and routers (validated against the zones of
// the matching agent type, create-only, sorted), zones of the hosting agents, and
// [DEFAULT] default_availability_zones.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { ADMIN, ALICE, startServer, type TestServer } from '../helpers/server.js';
import { MemoryBroker, MemoryBus, silentLogger, type RpcBus } from '../../src/rpc/index.js';

async function withAgents(s: TestServer, bus: RpcBus, agents: Array<[string, string, string | null]>): Promise<Record<string, string>> {
  for (const [agent_type, host, availability_zone] of agents) {
    await bus.call('q-reports-plugin', 'report_state', {
      agent_state: { agent_state: { agent_type, binary: 'test', host, topic: 'N/A', configurations: {}, availability_zone } },
      time: new Date().toISOString().replace('Z', ''),
    });
  }
  const ids: Record<string, string> = {};
  for (const a of (await s.req('GET', '/v2.0/agents', undefined, ADMIN)).body.agents) ids[a.host] = a.id;
  return ids;
}

for (const backend of BACKENDS) {
  describe(`availability zones on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let s: TestServer;
    let serverBus: RpcBus;
    let agentBus: RpcBus;
    let ids: Record<string, string> = {};

    before(async () => {
      const broker = new MemoryBroker();
      serverBus = new MemoryBus({ broker, logger: silentLogger });
      agentBus = new MemoryBus({ broker, logger: silentLogger });
      s = await startServer(backend, {}, { bus: serverBus });
    });
    after(async () => {
      await s?.stop();
      await agentBus?.close();
      await serverBus?.close();
    });

    it('lists the extensions; no agents, no zones', async () => {
      const aliases = (await s.req('GET', '/v2.0/extensions', undefined, ALICE)).body.extensions.map((e: any) => e.alias);
      for (const a of ['availability_zone', 'availability_zone_filter', 'network_availability_zone', 'router_availability_zone'])
        assert.ok(aliases.includes(a), a);
      assert.deepEqual((await s.req('GET', '/v2.0/availability_zones', undefined, ALICE)).body, { availability_zones: [] });
    });

    it('zones come from DHCP (network) and L3 (router) agents; available while one agent is enabled', async () => {
      ids = await withAgents(s, agentBus, [
        ['DHCP agent', 'd1', 'az1'],
        ['DHCP agent', 'd2', 'az2'],
        ['DHCP agent', 'd3', 'az2'],
        ['L3 agent', 'l1', 'az1'],
        ['Linux bridge agent', 'lb1', 'az9'],
        ['DHCP agent', 'd-none', null],
      ]);
      await s.req('PUT', `/v2.0/agents/${ids.d2}`, { agent: { admin_state_up: false } }, ADMIN);
      const list = async (qs = '', as = ALICE) => (await s.req('GET', `/v2.0/availability_zones${qs}`, undefined, as)).body.availability_zones;
      assert.deepEqual(await list(), [
        { name: 'az1', resource: 'network', state: 'available' },
        { name: 'az2', resource: 'network', state: 'available' },
        { name: 'az1', resource: 'router', state: 'available' },
      ]);
      await s.req('PUT', `/v2.0/agents/${ids.d3}`, { agent: { admin_state_up: false } }, ADMIN);
      assert.deepEqual(await list('?name=az2'), [{ name: 'az2', resource: 'network', state: 'unavailable' }]);
      assert.deepEqual(await list('?state=available&resource=router'), [{ name: 'az1', resource: 'router', state: 'available' }]);
      assert.deepEqual(await list('?resource=network&fields=name'), [{ name: 'az1' }, { name: 'az2' }]);
      assert.deepEqual(await list('?name=az1&name=az2&resource=network&state=unavailable'), [
        { name: 'az2', resource: 'network', state: 'unavailable' },
      ]);
      const bad = await s.req('GET', '/v2.0/availability_zones?agent_type=x', undefined, ALICE);
      assert.equal(bad.status, 400);
      assert.match(bad.body.NeutronError.message, /'agent_type'\] is invalid attribute for filtering/);
    });

    it('networks: hints must name network zones, are sorted, create-only; zones are those of the hosting agents', async () => {
      const create = (hints: unknown) => s.req('POST', '/v2.0/networks', { network: { name: 'z', availability_zone_hints: hints } }, ALICE);
      const ok = await create(['az2', 'az1']);
      assert.equal(ok.status, 201, JSON.stringify(ok.body));
      assert.deepEqual(ok.body.network.availability_zone_hints, ['az1', 'az2']);
      assert.deepEqual(ok.body.network.availability_zones, []);
      const plain = await s.req('POST', '/v2.0/networks', { network: { name: 'plain' } }, ALICE);
      assert.deepEqual(plain.body.network.availability_zone_hints, []);
      for (const [hints, status, type, message] of [
        [['az9'], 404, 'AvailabilityZoneNotFound', 'AvailabilityZone az9 could not be found.'],
        [['az1', 'nowhere'], 404, 'AvailabilityZoneNotFound', 'AvailabilityZone nowhere could not be found.'],
        ['az1', 400, 'HTTPBadRequest', "Invalid input for availability_zone_hints. Reason: 'az1' is not a list."],
        [['az1', 'az1'], 400, 'HTTPBadRequest', "Invalid input for availability_zone_hints. Reason: Duplicate items in the list: 'az1'."],
        [[1], 400, 'HTTPBadRequest', "Invalid input for availability_zone_hints. Reason: '1' is not a valid string."],
        [
          Array.from({ length: 30 }, (_, i) => `zone-${i}`),
          400,
          'InvalidInput',
          'Invalid input for operation: Too many availability_zone_hints specified.',
        ],
      ] as const) {
        const r = await create(hints);
        assert.equal(r.status, status, JSON.stringify(r.body));
        assert.equal(r.body.NeutronError.type, type);
        assert.equal(r.body.NeutronError.message, message);
      }
      // Nothing half-written by the refused creates.
      const mine = (await s.req('GET', '/v2.0/networks?name=z', undefined, ALICE)).body.networks;
      assert.equal(mine.length, 1);
      const put = await s.req('PUT', `/v2.0/networks/${ok.body.network.id}`, { network: { availability_zone_hints: ['az1'] } }, ALICE);
      assert.equal(put.status, 400);
      // Hosted by d1 (az1): the network is in az1.
      assert.equal((await s.req('POST', `/v2.0/agents/${ids.d1}/dhcp-networks`, { network_id: ok.body.network.id }, ADMIN)).status, 201);
      const shown = (await s.req('GET', `/v2.0/networks/${ok.body.network.id}`, undefined, ALICE)).body.network;
      assert.deepEqual(shown.availability_zones, ['az1']);
      const listed = (await s.req('GET', '/v2.0/networks?name=z&fields=availability_zones', undefined, ALICE)).body.networks;
      assert.deepEqual(listed, [{ availability_zones: ['az1'] }]);
    });

    it('routers: hints must name router (L3 agent) zones', async () => {
      const create = (hints: unknown) => s.req('POST', '/v2.0/routers', { router: { name: 'rz', availability_zone_hints: hints } }, ALICE);
      const ok = await create(['az1']);
      assert.equal(ok.status, 201, JSON.stringify(ok.body));
      assert.deepEqual(ok.body.router.availability_zone_hints, ['az1']);
      assert.deepEqual(ok.body.router.availability_zones, []);
      // az2 has DHCP agents only.
      const r = await create(['az2']);
      assert.equal(r.status, 404);
      assert.equal(r.body.NeutronError.type, 'AvailabilityZoneNotFound');
      assert.equal((await s.req('GET', '/v2.0/routers?name=rz', undefined, ALICE)).body.routers.length, 1);
      const put = await s.req('PUT', `/v2.0/routers/${ok.body.router.id}`, { router: { availability_zone_hints: [] } }, ALICE);
      assert.equal(put.status, 400);
      // A change schedules it to l1, whose zone it then shows.
      await s.req('PUT', `/v2.0/routers/${ok.body.router.id}`, { router: { name: 'rz2' } }, ALICE);
      assert.deepEqual((await s.req('GET', `/v2.0/routers/${ok.body.router.id}`, undefined, ALICE)).body.router.availability_zones, ['az1']);
    });
  });
}

describe('[DEFAULT] default_availability_zones', { skip: await skipUnless(BACKENDS[0]!) }, () => {
  let s: TestServer;
  let serverBus: RpcBus;
  let agentBus: RpcBus;
  before(async () => {
    const broker = new MemoryBroker();
    serverBus = new MemoryBus({ broker, logger: silentLogger });
    agentBus = new MemoryBus({ broker, logger: silentLogger });
    s = await startServer(BACKENDS[0]!, { DEFAULT: { default_availability_zones: 'az-b' } }, { bus: serverBus });
  });
  after(async () => {
    await s?.stop();
    await agentBus?.close();
    await serverBus?.close();
  });

  it('hints default to the configured zones, which must exist; scheduling uses them', async () => {
    const none = await s.req('POST', '/v2.0/networks', { network: { name: 'early' } }, ALICE);
    assert.equal(none.status, 404, 'no DHCP agent reports az-b yet');
    assert.equal(none.body.NeutronError.type, 'AvailabilityZoneNotFound');
    await withAgents(s, agentBus, [
      ['DHCP agent', 'a1', 'az-a'],
      ['DHCP agent', 'b1', 'az-b'],
    ]);
    const n = await s.req('POST', '/v2.0/networks', { network: { name: 'later' } }, ALICE);
    assert.equal(n.status, 201, JSON.stringify(n.body));
    assert.deepEqual(n.body.network.availability_zone_hints, ['az-b']);
    const given = await s.req('POST', '/v2.0/networks', { network: { name: 'given', availability_zone_hints: ['az-a'] } }, ALICE);
    assert.deepEqual(given.body.network.availability_zone_hints, ['az-a']);
    await s.req('POST', '/v2.0/subnets', { subnet: { network_id: n.body.network.id, cidr: '10.5.0.0/24', ip_version: 4 } }, ALICE);
    await s.server.settled();
    const hosting = (await s.req('GET', `/v2.0/networks/${n.body.network.id}/dhcp-agents`, undefined, ADMIN)).body.agents;
    assert.deepEqual(
      hosting.map((a: any) => a.host),
      ['b1'],
    );
  });
});

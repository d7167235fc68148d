// What other projects may do with a shared or external network's subnets and ports: Neutron's
// rule:shared / rule:external_network read the network's flags, which neutrino must fill into the
// subnet and port policy targets (found by Tempest's test_external_network_visibility).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { ADMIN, ALICE, BOB, startServer, type TestServer } from '../helpers/server.js';

for (const backend of BACKENDS) {
  describe(`shared and external networks on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(backend);
    });
    after(async () => {
      await s?.stop();
    });

    const create = async (collection: string, item: string, body: object, as = ADMIN) => {
      const r = await s.req('POST', `/v2.0/${collection}`, { [item]: body }, as);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body[item];
    };

    it('shows the subnets of a shared network to every project, without a "shared" attribute', async () => {
      const net = await create('networks', 'network', { name: 'shared', shared: true });
      const sub = await create('subnets', 'subnet', { network_id: net.id, ip_version: 4, cidr: '10.50.0.0/24' });
      assert.ok(!('shared' in sub) && !('router:external' in sub), JSON.stringify(sub));
      const list = await s.req('GET', `/v2.0/subnets?network_id=${net.id}`, undefined, BOB);
      assert.equal(list.status, 200);
      assert.deepEqual(
        list.body.subnets.map((x: { id: string }) => x.id),
        [sub.id],
      );
      assert.ok(!('shared' in list.body.subnets[0]));
      const show = await s.req('GET', `/v2.0/subnets/${sub.id}`, undefined, BOB);
      assert.equal(show.status, 200, JSON.stringify(show.body));
    });

    it('filters subnets on their network being shared with the caller (shared=true|false)', async () => {
      const net = await create('networks', 'network', { name: 'shared-f', shared: true });
      const pub = await create('subnets', 'subnet', { network_id: net.id, ip_version: 4, cidr: '10.53.0.0/24' });
      const own = await create('networks', 'network', { name: 'own-f' }, BOB);
      const priv = await create('subnets', 'subnet', { network_id: own.id, ip_version: 4, cidr: '10.54.0.0/24' }, BOB);
      const ids = async (q: string, as = BOB) => {
        const r = await s.req('GET', `/v2.0/subnets?${q}`, undefined, as);
        assert.equal(r.status, 200, JSON.stringify(r.body));
        return r.body.subnets.map((x: { id: string }) => x.id) as string[];
      };
      for (const who of [BOB, ADMIN]) {
        const yes = await ids('shared=true', who);
        assert.ok(yes.includes(pub.id) && !yes.includes(priv.id), JSON.stringify(yes));
        const no = await ids('shared=False&sort_key=name&sort_dir=asc', who);
        assert.ok(no.includes(priv.id) && !no.includes(pub.id), JSON.stringify(no));
      }
      const bad = await s.req('GET', '/v2.0/subnets?shared=maybe', undefined, BOB);
      assert.equal(bad.status, 400, JSON.stringify(bad.body));
    });

    it('answers 403 to another project updating a shared or external network it sees (404 for one it does not)', async () => {
      // Neutron re-checks get_network on the prefetched network, which keeps shared and
      // router:external (required by policy): visible, so the refusal is a 403, not a 404.
      const shared = await create('networks', 'network', { name: 'shared-u', shared: true });
      const ext = await create('networks', 'network', { name: 'ext-u', 'router:external': true });
      const priv = await create('networks', 'network', { name: 'priv-u' }, ALICE);
      for (const net of [shared, ext]) {
        const r = await s.req('PUT', `/v2.0/networks/${net.id}`, { network: { name: 'bobs' } }, BOB);
        assert.equal(r.status, 403, JSON.stringify(r.body));
      }
      const r = await s.req('PUT', `/v2.0/networks/${priv.id}`, { network: { name: 'bobs' } }, BOB);
      assert.equal(r.status, 404, JSON.stringify(r.body));
    });

    it('hides the subnets of a private network from other projects', async () => {
      const net = await create('networks', 'network', { name: 'private' }, ALICE);
      const sub = await create('subnets', 'subnet', { network_id: net.id, ip_version: 4, cidr: '10.51.0.0/24' }, ALICE);
      const list = await s.req('GET', `/v2.0/subnets?network_id=${net.id}`, undefined, BOB);
      assert.deepEqual(list.body.subnets, []);
      const show = await s.req('GET', `/v2.0/subnets/${sub.id}`, undefined, BOB);
      assert.equal(show.status, 404);
    });

    it('lets another project pick a subnet of a shared network for its port (create_port:fixed_ips)', async () => {
      const net = await create('networks', 'network', { name: 'shared2', shared: true });
      const sub = await create('subnets', 'subnet', { network_id: net.id, ip_version: 4, cidr: '10.52.0.0/24' });
      const r = await s.req('POST', '/v2.0/ports', { port: { network_id: net.id, fixed_ips: [{ subnet_id: sub.id }] } }, BOB);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.port.fixed_ips[0].subnet_id, sub.id);
      // Changing them afterwards stays the network owner's (update_port:fixed_ips has no rule:shared).
      const upd = await s.req(
        'PUT',
        `/v2.0/ports/${r.body.port.id}`,
        { port: { fixed_ips: [{ subnet_id: sub.id, ip_address: '10.52.0.77' }] } },
        BOB,
      );
      assert.equal(upd.status, 403, JSON.stringify(upd.body));
      assert.equal(upd.body.NeutronError.type, 'PolicyNotAuthorized');
      // A specific address on create needs create_port:fixed_ips:ip_address: the owner's too.
      const ip = await s.req(
        'POST',
        '/v2.0/ports',
        { port: { network_id: net.id, fixed_ips: [{ subnet_id: sub.id, ip_address: '10.52.0.78' }] } },
        BOB,
      );
      assert.equal(ip.status, 403, JSON.stringify(ip.body));
    });
  });
}

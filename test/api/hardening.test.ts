// Malformed and extreme requests found by hand and by the fuzz suite (issue 11): each answers a
// 4xx NeutronError with a bounded message (or the right 2xx), never a 500, on every backend.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { ADMIN, ALICE, startServer, type TestServer } from '../helpers/server.js';
import { assertError } from '../helpers/assert-error.js';

/** Every error message is at most this long, whatever the input (MAX_MESSAGE_LENGTH in core/errors.ts). */
const MESSAGE_BOUND = 2048;

for (const backend of BACKENDS) {
  describe(`hardening on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(backend, { DEFAULT: { max_bulk_items: '50' } });
    });
    after(async () => {
      await s?.stop();
    });

    const createNet = async (body: object = {}, as = ALICE) => {
      const r = await s.req('POST', '/v2.0/networks', { network: { name: 'n', ...body } }, as);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body.network;
    };

    it('a limit beyond any integer type is a list of everything, not a 500', async () => {
      await createNet();
      const r = await s.req('GET', '/v2.0/networks?limit=99999999999999999999999');
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.ok(r.body.networks.length >= 1);
      const pr = await s.req('GET', '/v2.0/ports?limit=18446744073709551616&page_reverse=true');
      assert.equal(pr.status, 200, JSON.stringify(pr.body));
    });

    it('a NUL character in a name, description, tag, filter or marker is a 400', async () => {
      const n = await createNet();
      assertError(await s.req('POST', '/v2.0/networks', { network: { name: 'a\u0000b' } }), 400, 'HTTPBadRequest', 'NUL');
      assertError(await s.req('PUT', `/v2.0/networks/${n.id}`, { network: { description: '\u0000' } }), 400, 'HTTPBadRequest', 'NUL');
      assertError(await s.req('PUT', `/v2.0/networks/${n.id}/tags/a%00b`), 400, 'HTTPBadRequest', 'NUL');
      assertError(await s.req('PUT', `/v2.0/networks/${n.id}/tags`, { tags: ['x\u0000'] }), 400, 'HTTPBadRequest', 'NUL');
      assertError(await s.req('GET', '/v2.0/networks?name=a%00b'), 400, 'HTTPBadRequest', 'NUL');
      assertError(await s.req('GET', '/v2.0/networks?tags=a%00b'), 400, 'HTTPBadRequest', 'NUL');
      assertError(await s.req('GET', '/v2.0/networks?limit=1&marker=%00'), 400, 'HTTPBadRequest', 'NUL');
      assertError(await s.req('GET', `/v2.0/networks/${n.id}%00`), 400, 'HTTPBadRequest', 'NUL');
      // Lone UTF-16 surrogates cannot be stored as UTF-8 either.
      assertError(await s.req('POST', '/v2.0/networks', '{"network": {"name": "\\ud800"}}'), 400, 'HTTPBadRequest');
      const ok = await s.req('GET', `/v2.0/networks/${n.id}`);
      assert.equal(ok.body.network.description, '', 'nothing was written');
    });

    it('an integer filter out of the column range is a 400, as is a non-integer one', async () => {
      assertError(await s.req('GET', '/v2.0/networks?mtu=99999999999999'), 400, 'InvalidInput');
      assertError(await s.req('GET', '/v2.0/networks?revision_number=abc'), 400, 'InvalidInput');
      assertError(await s.req('GET', '/v2.0/networks?revision_number=99999999999999'), 400, 'InvalidInput');
      const r = await s.req('GET', '/v2.0/networks?mtu=1450&mtu=2147483647');
      assert.equal(r.status, 200, JSON.stringify(r.body));
    });

    it('JSON nested 20,000 deep is a 400 with a short message', async () => {
      const deep = '['.repeat(20000) + ']'.repeat(20000);
      const r = await s.req('POST', '/v2.0/networks', `{"network": {"name": ${deep}}}`);
      assertError(r, 400, 'HTTPBadRequest');
      assert.ok(r.body.NeutronError.message.length <= MESSAGE_BOUND, r.body.NeutronError.message.slice(0, 100));
      const objs = '{"a":'.repeat(20000) + '1' + '}'.repeat(20000);
      assertError(await s.req('POST', '/v2.0/ports', `{"port": {"binding:profile": ${objs}}}`), 400, 'HTTPBadRequest');
    });

    it('error messages do not echo over-long input in full', async () => {
      const huge = 'x'.repeat(1024 * 1024);
      const r = await s.req('POST', '/v2.0/networks', { network: { description: huge } });
      assertError(r, 400, 'HTTPBadRequest', 'exceeds maximum length of 255');
      assert.ok(r.body.NeutronError.message.length <= MESSAGE_BOUND, `message of ${r.body.NeutronError.message.length} chars`);
      const keys = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`unknown_attribute_${i}`, 1]));
      const u = await s.req('POST', '/v2.0/networks', { network: keys });
      assertError(u, 400, 'HTTPBadRequest', 'Unrecognized attribute');
      assert.ok(u.body.NeutronError.message.length <= MESSAGE_BOUND);
      const list = await s.req('POST', '/v2.0/ports', { port: { network_id: huge } });
      assert.ok(list.body.NeutronError.message.length <= MESSAGE_BOUND);
    });

    it('lengths count code points, as Python does: 255 astral characters are a valid name, 256 are not', async () => {
      const n = await createNet({ name: '😀'.repeat(255) });
      assert.equal(n.name, '😀'.repeat(255));
      assertError(
        await s.req('POST', '/v2.0/networks', { network: { name: '😀'.repeat(256) } }),
        400,
        'HTTPBadRequest',
        'exceeds maximum length of 255',
      );
      assertError(await s.req('POST', '/v2.0/networks', { network: { name: 'a'.repeat(256) } }), 400);
      const owned = await s.req('POST', '/v2.0/networks', { network: { project_id: '😀'.repeat(255) } }, ADMIN);
      assert.equal(owned.status, 201, JSON.stringify(owned.body));
      assertError(await s.req('POST', '/v2.0/networks', { network: { project_id: '😀'.repeat(256) } }, ADMIN), 400);
    });

    it('pagination links carry the last id even when fields leave id out', async () => {
      for (let i = 0; i < 3; i++) await createNet({ name: `page-${i}` });
      const r = await s.req('GET', '/v2.0/networks?fields=name&limit=2');
      assert.equal(r.status, 200);
      assert.deepEqual(Object.keys(r.body.networks[0]), ['name'], 'id is not shown when not asked for');
      const next = r.body.networks_links.find((l: any) => l.rel === 'next');
      assert.ok(next, JSON.stringify(r.body.networks_links));
      const marker = new URL(next.href).searchParams.get('marker');
      assert.match(marker ?? '', /^[0-9a-f-]{36}$/, next.href);
      const prev = r.body.networks_links.find((l: any) => l.rel === 'previous');
      assert.match(new URL(prev.href).searchParams.get('marker') ?? '', /^[0-9a-f-]{36}$/, prev.href);
      const page2 = await s.req('GET', new URL(next.href).pathname + new URL(next.href).search);
      assert.equal(page2.status, 200);
    });

    it('a port with explicit fixed_ips on a network with a SLAAC subnet also gets its SLAAC address', async () => {
      const net = await createNet();
      const v4 = await s.req('POST', '/v2.0/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '10.9.0.0/24' } });
      assert.equal(v4.status, 201);
      const v6 = await s.req('POST', '/v2.0/subnets', {
        subnet: { network_id: net.id, ip_version: 6, cidr: '2001:db8:9::/64', ipv6_address_mode: 'slaac', ipv6_ra_mode: 'slaac' },
      });
      assert.equal(v6.status, 201, JSON.stringify(v6.body));
      const p = await s.req('POST', '/v2.0/ports', {
        port: { network_id: net.id, mac_address: 'fa:16:3e:12:34:56', fixed_ips: [{ subnet_id: v4.body.subnet.id, ip_address: '10.9.0.10' }] },
      });
      assert.equal(p.status, 201, JSON.stringify(p.body));
      const ips = p.body.port.fixed_ips.map((f: any) => f.ip_address).sort();
      assert.deepEqual(ips, ['10.9.0.10', '2001:db8:9:0:f816:3eff:fe12:3456']);
      // Asking for the SLAAC subnet explicitly gives its address once.
      const q = await s.req('POST', '/v2.0/ports', {
        port: { network_id: net.id, mac_address: 'fa:16:3e:12:34:57', fixed_ips: [{ subnet_id: v6.body.subnet.id }] },
      });
      assert.equal(q.status, 201, JSON.stringify(q.body));
      assert.deepEqual(
        q.body.port.fixed_ips.map((f: any) => f.ip_address),
        ['2001:db8:9:0:f816:3eff:fe12:3457'],
      );
      // A router interface port does not get one (Neutron: router ports are not auto-addressed).
      const rp = await s.req(
        'POST',
        '/v2.0/ports',
        {
          port: {
            network_id: net.id,
            device_owner: 'network:router_interface',
            fixed_ips: [{ subnet_id: v4.body.subnet.id, ip_address: '10.9.0.1' }],
          },
        },
        ADMIN,
      );
      assert.equal(rp.status, 201, JSON.stringify(rp.body));
      assert.deepEqual(
        rp.body.port.fixed_ips.map((f: any) => f.ip_address),
        ['10.9.0.1'],
      );
    });

    it('a port updated with explicit fixed_ips keeps its SLAAC address, made anew with a new MAC', async () => {
      const net = await createNet();
      const v4 = await s.req('POST', '/v2.0/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '10.8.0.0/24' } });
      assert.equal(v4.status, 201);
      const v6 = await s.req('POST', '/v2.0/subnets', {
        subnet: {
          network_id: net.id,
          ip_version: 6,
          cidr: '2001:db8:8::/64',
          ipv6_address_mode: 'dhcpv6-stateless',
          ipv6_ra_mode: 'dhcpv6-stateless',
        },
      });
      assert.equal(v6.status, 201, JSON.stringify(v6.body));
      const p = await s.req('POST', '/v2.0/ports', { port: { network_id: net.id, mac_address: 'fa:16:3e:00:00:01' } });
      assert.equal(p.status, 201, JSON.stringify(p.body));
      const ipsOf = (r: { status: number; body: any }) => {
        assert.equal(r.status, 200, JSON.stringify(r.body));
        return r.body.port.fixed_ips.map((f: any) => f.ip_address).sort();
      };
      const url = `/v2.0/ports/${p.body.port.id}`;
      const v4only = { fixed_ips: [{ subnet_id: v4.body.subnet.id, ip_address: '10.8.0.20' }] };
      assert.deepEqual(ipsOf(await s.req('PUT', url, { port: v4only })), ['10.8.0.20', '2001:db8:8:0:f816:3eff:fe00:1']);
      // An empty list drops the addresses set by hand, not the one the host makes itself.
      assert.deepEqual(ipsOf(await s.req('PUT', url, { port: { fixed_ips: [] } })), ['2001:db8:8:0:f816:3eff:fe00:1']);
      // With a new MAC the auto address follows it.
      assert.deepEqual(ipsOf(await s.req('PUT', url, { port: { ...v4only, mac_address: 'fa:16:3e:00:00:02' } }, ADMIN)), [
        '10.8.0.20',
        '2001:db8:8:0:f816:3eff:fe00:2',
      ]);
      const shown = await s.req('GET', url);
      assert.equal(shown.body.port.fixed_ips.length, 2, 'no address left behind from the old MAC');
      // A router's port is not auto-addressed, on update either.
      const rp = await s.req(
        'POST',
        '/v2.0/ports',
        {
          port: {
            network_id: net.id,
            device_owner: 'network:router_interface',
            fixed_ips: [{ subnet_id: v4.body.subnet.id, ip_address: '10.8.0.1' }],
          },
        },
        ADMIN,
      );
      assert.equal(rp.status, 201, JSON.stringify(rp.body));
      const ru = await s.req(
        'PUT',
        `/v2.0/ports/${rp.body.port.id}`,
        { port: { fixed_ips: [{ subnet_id: v4.body.subnet.id, ip_address: '10.8.0.2' }] } },
        ADMIN,
      );
      assert.deepEqual(ipsOf(ru), ['10.8.0.2']);
    });

    it('a tag of 255 characters, astral ones too, can be set through its URL', async () => {
      const n = await createNet();
      for (const tag of ['t'.repeat(255), '😀'.repeat(255)]) {
        const r = await s.req('PUT', `/v2.0/networks/${n.id}/tags/${encodeURIComponent(tag)}`);
        assert.equal(r.status, 201, JSON.stringify(r.body));
        assert.equal((await s.req('GET', `/v2.0/networks/${n.id}/tags/${encodeURIComponent(tag)}`)).status, 204);
      }
      assertError(await s.req('PUT', `/v2.0/networks/${n.id}/tags/${'t'.repeat(256)}`), 400);
    });

    it('a 22 KB query string answers 431 with a NeutronError', async () => {
      const r = await s.req('GET', `/v2.0/networks?name=${'x'.repeat(22 * 1024)}`);
      assertError(r, 431, 'HTTPRequestHeaderFieldsTooLarge');
    });

    it('bulk creates are capped by [DEFAULT] max_bulk_items', async () => {
      const items = (n: number) => ({ networks: Array.from({ length: n }, (_, i) => ({ name: `bulk-${i}` })) });
      const ok = await s.req('POST', '/v2.0/networks', items(50));
      assert.equal(ok.status, 201, JSON.stringify(ok.body).slice(0, 300));
      assert.equal(ok.body.networks.length, 50);
      const over = await s.req('POST', '/v2.0/networks', items(51));
      assertError(over, 400, 'HTTPBadRequest', 'max_bulk_items');
      const names = await s.req('GET', '/v2.0/networks?name=bulk-50');
      assert.equal(names.body.networks.length, 0, 'nothing of the refused request was written');
    });
  });
}

describe('allow_bulk = false', { skip: await skipUnless(BACKENDS[0]!) }, () => {
  it('refuses bulk creates with 400 and still takes single ones', async () => {
    const s = await startServer(BACKENDS[0]!, { DEFAULT: { allow_bulk: 'false' } });
    try {
      assertError(await s.req('POST', '/v2.0/networks', { networks: [{ name: 'a' }] }), 400, 'HTTPBadRequest', 'Bulk operation not supported');
      assert.equal((await s.req('POST', '/v2.0/networks', { network: { name: 'a' } })).status, 201);
    } finally {
      await s.stop();
    }
  });
});

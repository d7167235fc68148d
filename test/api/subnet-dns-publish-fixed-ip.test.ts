// subnet-dns-publish-fixed-ip on every backend: listed (with dns-integration and dns-domain-ports,
// as Neutron's driver brings them) only when [ml2] extension_drivers names
// subnet_dns_publish_fixed_ip; the subnet flag's default, create, update, list and bad values.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { ALICE, startServer, type TestServer } from '../helpers/server.js';

const ALIAS = 'subnet-dns-publish-fixed-ip';

const aliases = async (s: TestServer): Promise<string[]> =>
  (await s.req('GET', '/v2.0/extensions', undefined, ALICE)).body.extensions.map((e: any) => e.alias);

const network = async (s: TestServer): Promise<string> => {
  const n = await s.req('POST', '/v2.0/networks', { network: { name: 'pub' } }, ALICE);
  assert.equal(n.status, 201, JSON.stringify(n.body));
  return n.body.network.id as string;
};

const badRequest = (r: { status: number; body: any }) => {
  assert.equal(r.status, 400, JSON.stringify(r.body));
  assert.ok(r.body.NeutronError?.type && r.body.NeutronError.message !== undefined, JSON.stringify(r.body));
};

for (const backend of BACKENDS) {
  describe(`${ALIAS} not loaded on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(backend, { ml2: { extension_drivers: 'port_security,dns_domain_ports' } });
    });
    after(async () => {
      await s?.stop();
    });

    it('is not listed, subnets do not show the flag and refuse it', async () => {
      const list = await aliases(s);
      assert.ok(list.includes('dns-domain-ports'));
      assert.ok(!list.includes(ALIAS));
      const net = await network(s);
      const sn = await s.req('POST', '/v2.0/subnets', { subnet: { network_id: net, cidr: '10.40.0.0/24', ip_version: 4 } }, ALICE);
      assert.equal(sn.status, 201, JSON.stringify(sn.body));
      assert.ok(!('dns_publish_fixed_ip' in sn.body.subnet));
      badRequest(
        await s.req('POST', '/v2.0/subnets', { subnet: { network_id: net, cidr: '10.40.1.0/24', ip_version: 4, dns_publish_fixed_ip: true } }, ALICE),
      );
    });
  });

  describe(`${ALIAS} on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(backend, { ml2: { extension_drivers: 'port_security,subnet_dns_publish_fixed_ip' } });
    });
    after(async () => {
      await s?.stop();
    });

    it('is listed with the DNS extensions it brings', async () => {
      const list = await aliases(s);
      for (const a of [ALIAS, 'dns-integration', 'dns-domain-ports']) assert.ok(list.includes(a), a);
    });

    it('defaults to false; set on create, changed and cleared on update, shown in lists', async () => {
      const net = await network(s);
      const plain = await s.req('POST', '/v2.0/subnets', { subnet: { network_id: net, cidr: '10.41.0.0/24', ip_version: 4 } }, ALICE);
      assert.equal(plain.status, 201, JSON.stringify(plain.body));
      assert.equal(plain.body.subnet.dns_publish_fixed_ip, false);
      // Neutron needs no dns_domain on the network for it.
      const pub = await s.req(
        'POST',
        '/v2.0/subnets',
        { subnet: { network_id: net, cidr: '10.41.1.0/24', ip_version: 4, dns_publish_fixed_ip: 'True' } },
        ALICE,
      );
      assert.equal(pub.status, 201, JSON.stringify(pub.body));
      assert.equal(pub.body.subnet.dns_publish_fixed_ip, true);
      const listed = await s.req('GET', `/v2.0/subnets?network_id=${net}`, undefined, ALICE);
      const byId = new Map(listed.body.subnets.map((x: any) => [x.id, x.dns_publish_fixed_ip]));
      assert.equal(byId.get(plain.body.subnet.id), false);
      assert.equal(byId.get(pub.body.subnet.id), true);

      const on = await s.req('PUT', `/v2.0/subnets/${plain.body.subnet.id}`, { subnet: { dns_publish_fixed_ip: true } }, ALICE);
      assert.equal(on.status, 200, JSON.stringify(on.body));
      assert.equal(on.body.subnet.dns_publish_fixed_ip, true);
      const off = await s.req('PUT', `/v2.0/subnets/${pub.body.subnet.id}`, { subnet: { dns_publish_fixed_ip: false } }, ALICE);
      assert.equal(off.status, 200, JSON.stringify(off.body));
      assert.equal(off.body.subnet.dns_publish_fixed_ip, false);
      // Another update leaves it as it is.
      await s.req('PUT', `/v2.0/subnets/${plain.body.subnet.id}`, { subnet: { name: 'renamed' } }, ALICE);
      const got = await s.req('GET', `/v2.0/subnets/${plain.body.subnet.id}?fields=dns_publish_fixed_ip`, undefined, ALICE);
      assert.deepEqual(got.body.subnet, { dns_publish_fixed_ip: true });
      const back = await s.req('GET', `/v2.0/subnets/${pub.body.subnet.id}`, undefined, ALICE);
      assert.equal(back.body.subnet.dns_publish_fixed_ip, false);
    });

    it('refuses values that are not booleans with 400', async () => {
      const net = await network(s);
      for (const v of ['maybe', 7, null, { a: 1 }]) {
        badRequest(
          await s.req('POST', '/v2.0/subnets', { subnet: { network_id: net, cidr: '10.42.0.0/24', ip_version: 4, dns_publish_fixed_ip: v } }, ALICE),
        );
      }
      const sn = await s.req('POST', '/v2.0/subnets', { subnet: { network_id: net, cidr: '10.42.0.0/24', ip_version: 4 } }, ALICE);
      assert.equal(sn.status, 201, JSON.stringify(sn.body));
      badRequest(await s.req('PUT', `/v2.0/subnets/${sn.body.subnet.id}`, { subnet: { dns_publish_fixed_ip: 'nope' } }, ALICE));
      const after = await s.req('GET', `/v2.0/subnets/${sn.body.subnet.id}`, undefined, ALICE);
      assert.equal(after.body.subnet.dns_publish_fixed_ip, false);
    });
  });
}

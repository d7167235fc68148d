// dns-integration and dns-domain-ports on every backend (on through [ml2] extension_drivers, off
// by default as in Neutron): name validation, networks' dns_domain,
// ports' dns_name/dns_domain/dns_assignment with the default [DEFAULT] dns_domain (names not
// kept, host-<ip> names) and with a domain of its own (names kept, checked against the domain),
// floating IPs' dns attributes, and what the DHCP agent is given.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { ADMIN, ALICE, startServer, type TestServer } from '../helpers/server.js';

const net = async (s: TestServer, cidr: string) => {
  const n = await s.req('POST', '/v2.0/networks', { network: { name: 'dns' } }, ALICE);
  assert.equal(n.status, 201, JSON.stringify(n.body));
  const sn = await s.req('POST', '/v2.0/subnets', { subnet: { network_id: n.body.network.id, cidr, ip_version: 4 } }, ALICE);
  assert.equal(sn.status, 201, JSON.stringify(sn.body));
  return n.body.network.id as string;
};

for (const backend of BACKENDS) {
  describe(`DNS integration off (no extension driver) on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(backend);
    });
    after(async () => {
      await s?.stop();
    });

    it('is not listed and its attributes are unknown', async () => {
      const aliases = (await s.req('GET', '/v2.0/extensions', undefined, ALICE)).body.extensions.map((e: any) => e.alias);
      assert.ok(!aliases.includes('dns-integration'));
      assert.ok(!aliases.includes('dns-domain-ports'));
      const n = await s.req('POST', '/v2.0/networks', { network: { name: 'x' } }, ALICE);
      assert.ok(!('dns_domain' in n.body.network));
      const p = await s.req('POST', '/v2.0/ports', { port: { network_id: n.body.network.id } }, ALICE);
      assert.ok(!('dns_assignment' in p.body.port) && !('dns_name' in p.body.port));
      const bad = await s.req('POST', '/v2.0/ports', { port: { network_id: n.body.network.id, dns_name: 'vm' } }, ALICE);
      assert.equal(bad.status, 400);
    });
  });

  describe(`DNS integration (default dns_domain) on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(backend, { ml2: { extension_drivers: 'port_security,dns_domain_ports' } });
    });
    after(async () => {
      await s?.stop();
    });

    it('lists dns-integration and dns-domain-ports', async () => {
      const aliases = (await s.req('GET', '/v2.0/extensions', undefined, ALICE)).body.extensions.map((e: any) => e.alias);
      assert.ok(aliases.includes('dns-integration'));
      assert.ok(aliases.includes('dns-domain-ports'));
    });

    it('networks keep a dns_domain (a FQDN, lower-cased); it can be changed and cleared', async () => {
      const n = await s.req('POST', '/v2.0/networks', { network: { name: 'd', dns_domain: 'Example.ORG.' } }, ALICE);
      assert.equal(n.status, 201, JSON.stringify(n.body));
      assert.equal(n.body.network.dns_domain, 'example.org.');
      const id = n.body.network.id;
      assert.equal((await s.req('GET', `/v2.0/networks/${id}`, undefined, ALICE)).body.network.dns_domain, 'example.org.');
      const u = await s.req('PUT', `/v2.0/networks/${id}`, { network: { dns_domain: 'other.example.' } }, ALICE);
      assert.equal(u.body.network.dns_domain, 'other.example.');
      const cleared = await s.req('PUT', `/v2.0/networks/${id}`, { network: { dns_domain: '' } }, ALICE);
      assert.equal(cleared.body.network.dns_domain, '');
      const plain = await s.req('POST', '/v2.0/networks', { network: { name: 'p' } }, ALICE);
      assert.equal(plain.body.network.dns_domain, '');
      for (const [v, reason] of [
        ['example.org', "'example.org' is not a FQDN"],
        ['-bad.example.', "'-bad.example.' not a valid PQDN or FQDN. Reason: Name '-bad' must not start or end with a hyphen"],
        ['a..b.', "'a..b.' not a valid PQDN or FQDN. Reason: Encountered an empty component"],
        ['host.123.', "'host.123.' not a valid PQDN or FQDN. Reason: TLD '123' must not be all numeric"],
        [
          'under_score.org.',
          "'under_score.org.' not a valid PQDN or FQDN. Reason: Name 'under_score' must be 1-63 characters long, each of which can only be alphanumeric or a hyphen",
        ],
      ]) {
        const r = await s.req('POST', '/v2.0/networks', { network: { name: 'bad', dns_domain: v } }, ALICE);
        assert.equal(r.status, 400, v);
        assert.equal(r.body.NeutronError.message, `Invalid input for dns_domain. Reason: ${reason}.`);
      }
      const notString = await s.req('POST', '/v2.0/networks', { network: { dns_domain: 5 } }, ALICE);
      assert.equal(notString.status, 400);
      assert.equal(notString.body.NeutronError.type, 'InvalidInput');
    });

    it('ports: dns_name is validated but not kept with the default domain; dns_assignment is host-<ip>.openstacklocal.', async () => {
      const n = await net(s, '10.30.0.0/24');
      const p = await s.req('POST', '/v2.0/ports', { port: { network_id: n, dns_name: 'MyVM', dns_domain: 'zone.example.' } }, ALICE);
      assert.equal(p.status, 201, JSON.stringify(p.body));
      const ip = p.body.port.fixed_ips[0].ip_address as string;
      const host = `host-${ip.replace(/\./g, '-')}`;
      assert.equal(p.body.port.dns_name, '');
      assert.equal(p.body.port.dns_domain, '');
      assert.deepEqual(p.body.port.dns_assignment, [{ hostname: host, ip_address: ip, fqdn: `${host}.openstacklocal.` }]);
      const shown = (await s.req('GET', `/v2.0/ports/${p.body.port.id}`, undefined, ALICE)).body.port;
      assert.deepEqual(shown.dns_assignment, p.body.port.dns_assignment);
      // Only dns_assignment asked for: the addresses are read for it all the same.
      const only = (await s.req('GET', `/v2.0/ports?network_id=${n}&fields=dns_assignment`, undefined, ALICE)).body.ports;
      assert.deepEqual(only, [{ dns_assignment: p.body.port.dns_assignment }]);
      for (const [v, reason] of [
        ['-vm', "'-vm' not a valid PQDN or FQDN. Reason: Name '-vm' must not start or end with a hyphen"],
        [
          'a'.repeat(64),
          `'${'a'.repeat(64)}' not a valid PQDN or FQDN. Reason: Name '${'a'.repeat(64)}' must be 1-63 characters long, each of which can only be alphanumeric or a hyphen`,
        ],
        [
          `${'a'.repeat(63)}.`.repeat(5),
          `'${`${'a'.repeat(63)}.`.repeat(5)}' not a valid PQDN or FQDN. Reason: '${`${'a'.repeat(63)}.`.repeat(5).slice(0, -1)}' exceeds the 255 character FQDN limit`,
        ],
      ]) {
        const r = await s.req('POST', '/v2.0/ports', { port: { network_id: n, dns_name: v } }, ALICE);
        assert.equal(r.status, 400, v);
        assert.equal(r.body.NeutronError.message, `Invalid input for dns_name. Reason: ${reason}.`);
      }
      const u = await s.req('PUT', `/v2.0/ports/${p.body.port.id}`, { port: { dns_name: 'renamed' } }, ALICE);
      assert.equal(u.status, 200);
      assert.equal(u.body.port.dns_name, '');
    });

    it('floating IPs take dns_name/dns_domain (validated) and show them empty without an external DNS service', async () => {
      const ext = await s.req('POST', '/v2.0/networks', { network: { name: 'ext', 'router:external': true } }, ADMIN);
      await s.req('POST', '/v2.0/subnets', { subnet: { network_id: ext.body.network.id, cidr: '172.30.0.0/24', ip_version: 4 } }, ADMIN);
      const f = await s.req(
        'POST',
        '/v2.0/floatingips',
        { floatingip: { floating_network_id: ext.body.network.id, dns_name: 'web', dns_domain: 'example.org.' } },
        ALICE,
      );
      assert.equal(f.status, 201, JSON.stringify(f.body));
      assert.equal(f.body.floatingip.dns_name, '');
      assert.equal(f.body.floatingip.dns_domain, '');
      const bad = await s.req(
        'POST',
        '/v2.0/floatingips',
        { floatingip: { floating_network_id: ext.body.network.id, dns_name: 'web.example.org.' } },
        ALICE,
      );
      assert.equal(bad.status, 400);
      assert.equal(
        bad.body.NeutronError.message,
        "Invalid input for dns_name. Reason: 'web.example.org.' is a FQDN. It should be a relative domain name.",
      );
      const put = await s.req('PUT', `/v2.0/floatingips/${f.body.floatingip.id}`, { floatingip: { dns_name: 'x' } }, ALICE);
      assert.equal(put.status, 400);
    });
  });

  describe(`DNS integration (dns_domain = example.org) on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(backend, { DEFAULT: { dns_domain: 'example.org' }, ml2: { extension_drivers: 'dns_domain_ports' } });
    });
    after(async () => {
      await s?.stop();
    });

    it('ports keep dns_name and dns_domain; dns_assignment uses the name', async () => {
      const n = await net(s, '10.31.0.0/24');
      const p = await s.req('POST', '/v2.0/ports', { port: { network_id: n, dns_name: 'VM1', dns_domain: 'zone.example.org.' } }, ALICE);
      assert.equal(p.status, 201, JSON.stringify(p.body));
      const ip = p.body.port.fixed_ips[0].ip_address;
      assert.equal(p.body.port.dns_name, 'vm1');
      assert.equal(p.body.port.dns_domain, 'zone.example.org.');
      assert.deepEqual(p.body.port.dns_assignment, [{ hostname: 'vm1', ip_address: ip, fqdn: 'vm1.example.org.' }]);
      const id = p.body.port.id;
      const renamed = await s.req('PUT', `/v2.0/ports/${id}`, { port: { dns_name: 'vm2' } }, ALICE);
      assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
      assert.equal(renamed.body.port.dns_name, 'vm2');
      assert.equal(renamed.body.port.dns_domain, 'zone.example.org.');
      assert.equal(renamed.body.port.dns_assignment[0].fqdn, 'vm2.example.org.');
      const fqdn = await s.req('PUT', `/v2.0/ports/${id}`, { port: { dns_name: 'vm3.example.org.' } }, ALICE);
      assert.equal(fqdn.status, 200, JSON.stringify(fqdn.body));
      assert.deepEqual(fqdn.body.port.dns_assignment[0], { hostname: 'vm3.example.org.', ip_address: ip, fqdn: 'vm3.example.org.' });
      const cleared = await s.req('PUT', `/v2.0/ports/${id}`, { port: { dns_name: '' } }, ALICE);
      assert.equal(cleared.body.port.dns_name, '');
      assert.equal(cleared.body.port.dns_assignment[0].fqdn, `host-${ip.replace(/\./g, '-')}.example.org.`);
      // A later port without a name: nothing kept for it.
      const plain = await s.req('POST', '/v2.0/ports', { port: { network_id: n } }, ALICE);
      assert.equal(plain.body.port.dns_name, '');
      const listed = (await s.req('GET', `/v2.0/ports?network_id=${n}`, undefined, ALICE)).body.ports;
      assert.deepEqual(listed.map((x: any) => x.dns_name).sort(), ['', '']);
    });

    it('a FQDN dns_name must end in the configured domain; a PQDN must fit with it', async () => {
      const n = await net(s, '10.32.0.0/24');
      const other = await s.req('POST', '/v2.0/ports', { port: { network_id: n, dns_name: 'vm.other.org.' } }, ALICE);
      assert.equal(other.status, 400);
      assert.equal(
        other.body.NeutronError.message,
        "Invalid input for dns_name. Reason: The dns_name passed is a FQDN. Its higher level labels must be equal to the dns_domain option in neutron.conf, that has been set to 'example.org'. It must also include one or more valid DNS labels to the left of 'example.org'.",
      );
      const long = `${'a'.repeat(60)}.`.repeat(4) + 'b';
      const tooLong = await s.req('POST', '/v2.0/ports', { port: { network_id: n, dns_name: long } }, ALICE);
      assert.equal(tooLong.status, 400);
      assert.match(tooLong.body.NeutronError.message, /The dns_name passed is a PQDN and its size is '245'/);
      // Nothing was created by the refused requests.
      assert.deepEqual((await s.req('GET', `/v2.0/ports?network_id=${n}`, undefined, ALICE)).body.ports, []);
    });
  });
}

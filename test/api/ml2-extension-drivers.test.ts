// The ML2 extension drivers together on every backend (availability zones, DNS integration, QoS,
// trunk details): a new network's or port's dict carries every driver's attributes as a later GET
// shows them (one or several fixed IPs, bulk creates), a list's ?fields= reaches each driver, and
// a refusal by one driver leaves nothing of another's behind.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { ADMIN, ALICE, startServer, type TestServer, okCalls } from '../helpers/server.js';
import { assertError } from '../helpers/assert-error.js';

const NETWORK_ATTRS = ['availability_zone_hints', 'availability_zones', 'dns_domain', 'qos_policy_id'];
const PORT_ATTRS = ['dns_assignment', 'dns_domain', 'dns_name', 'qos_network_policy_id', 'qos_policy_id', 'trunk_details'];

/** The extension attributes a dict has, and only those. */
const pick = (d: any, attrs: string[]) => Object.fromEntries(attrs.filter((a) => a in d).map((a) => [a, d[a]]));

for (const backend of BACKENDS) {
  describe(`ML2 extension drivers together on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let s: TestServer;
    let policyId: string;
    before(async () => {
      s = await startServer(backend, { DEFAULT: { dns_domain: 'example.org' }, ml2: { extension_drivers: 'port_security,dns_domain_ports' } });
      policyId = (await ok('POST', '/v2.0/qos/policies', { policy: { name: 'shared', shared: true } }, ADMIN, 201)).policy.id;
    });
    after(async () => {
      await s?.stop();
    });

    const ok = okCalls(() => s, ALICE);
    const subnet = async (networkId: string, cidr: string) =>
      (await ok('POST', '/v2.0/subnets', { subnet: { network_id: networkId, cidr, ip_version: 4 } }, ALICE, 201)).subnet.id as string;
    const shownPort = async (id: string) => (await ok('GET', `/v2.0/ports/${id}`)).port;

    it("a new network shows every driver's attributes as GET does", async () => {
      const n = (
        await ok('POST', '/v2.0/networks', { network: { name: 'all', qos_policy_id: policyId, dns_domain: 'zone.example.org.' } }, ALICE, 201)
      ).network;
      assert.deepEqual(pick(n, NETWORK_ATTRS), {
        availability_zone_hints: [],
        availability_zones: [],
        dns_domain: 'zone.example.org.',
        qos_policy_id: policyId,
      });
      assert.deepEqual(pick((await ok('GET', `/v2.0/networks/${n.id}`)).network, NETWORK_ATTRS), pick(n, NETWORK_ATTRS));
    });

    it("a new port shows every driver's attributes as GET does, with one or several fixed IPs and in bulk", async () => {
      const n = (await ok('POST', '/v2.0/networks', { network: { name: 'ports', qos_policy_id: policyId } }, ALICE, 201)).network.id as string;
      const [a, b] = [await subnet(n, '10.61.0.0/24'), await subnet(n, '10.62.0.0/24')];
      const one = (
        await ok(
          'POST',
          '/v2.0/ports',
          { port: { network_id: n, dns_name: 'vm1', qos_policy_id: policyId, fixed_ips: [{ subnet_id: a }] } },
          ALICE,
          201,
        )
      ).port;
      const ip = one.fixed_ips[0].ip_address;
      assert.deepEqual(pick(one, PORT_ATTRS), {
        dns_assignment: [{ hostname: 'vm1', ip_address: ip, fqdn: 'vm1.example.org.' }],
        dns_domain: '',
        dns_name: 'vm1',
        qos_network_policy_id: policyId,
        qos_policy_id: policyId,
      });
      assert.deepEqual(pick(await shownPort(one.id), PORT_ATTRS), pick(one, PORT_ATTRS));
      // Several fixed IPs: the port is read back rather than built from what its create wrote.
      const two = (
        await ok('POST', '/v2.0/ports', { port: { network_id: n, dns_name: 'vm2', fixed_ips: [{ subnet_id: a }, { subnet_id: b }] } }, ALICE, 201)
      ).port;
      assert.equal(two.dns_assignment.length, 2);
      assert.equal(two.qos_policy_id, null);
      assert.deepEqual(pick(await shownPort(two.id), PORT_ATTRS), pick(two, PORT_ATTRS));
      const bulk = (
        await ok(
          'POST',
          '/v2.0/ports',
          {
            ports: [
              { network_id: n, dns_name: 'vm3' },
              { network_id: n, qos_policy_id: policyId },
            ],
          },
          ALICE,
          201,
        )
      ).ports;
      assert.deepEqual(
        bulk.map((p: any) => [p.dns_name, p.qos_policy_id]),
        [
          ['vm3', null],
          ['', policyId],
        ],
      );
      for (const p of bulk) assert.deepEqual(pick(await shownPort(p.id), PORT_ATTRS), pick(p, PORT_ATTRS));
    });

    it("a list's ?fields= reaches every driver", async () => {
      const n = (await ok('POST', '/v2.0/networks', { network: { name: 'fields' } }, ALICE, 201)).network.id as string;
      await subnet(n, '10.63.0.0/24');
      const parent = (await ok('POST', '/v2.0/ports', { port: { network_id: n, dns_name: 'parent', qos_policy_id: policyId } }, ALICE, 201)).port;
      const trunk = (await ok('POST', '/v2.0/trunks', { trunk: { port_id: parent.id } }, ALICE, 201)).trunk;
      const listed = (await ok('GET', `/v2.0/ports?network_id=${n}&fields=trunk_details&fields=dns_name&fields=qos_policy_id`)).ports;
      assert.deepEqual(listed, [{ trunk_details: { trunk_id: trunk.id, sub_ports: [] }, dns_name: 'parent', qos_policy_id: policyId }]);
      const onlyDns = (await ok('GET', `/v2.0/ports?network_id=${n}&fields=dns_assignment`)).ports;
      assert.deepEqual(onlyDns, [{ dns_assignment: parent.dns_assignment }]);
    });

    it('a refusal by one driver leaves nothing of the others behind', async () => {
      // Availability zones refuse before the network is written; QoS writes nothing either.
      const earlier = (await ok('GET', '/v2.0/networks?name=refused')).networks;
      assertError(
        await s.req('POST', '/v2.0/networks', { network: { name: 'refused', availability_zone_hints: ['nowhere'], qos_policy_id: policyId } }, ALICE),
        404,
        'AvailabilityZoneNotFound',
      );
      assert.deepEqual((await ok('GET', '/v2.0/networks?name=refused')).networks, earlier);
      // DNS keeps the port's name, then QoS refuses an unknown policy: neither the port nor its name stays.
      const n = (await ok('POST', '/v2.0/networks', { network: { name: 'refused-port' } }, ALICE, 201)).network.id as string;
      await subnet(n, '10.64.0.0/24');
      const unknown = '6f3a0d54-50a4-4b5e-9d8c-7b1e2f3a4c5d';
      assertError(
        await s.req('POST', '/v2.0/ports', { port: { network_id: n, dns_name: 'gone', qos_policy_id: unknown } }, ALICE),
        404,
        'QosPolicyNotFound',
      );
      assert.deepEqual((await ok('GET', `/v2.0/ports?network_id=${n}`)).ports, []);
      const again = (await ok('POST', '/v2.0/ports', { port: { network_id: n, dns_name: 'gone' } }, ALICE, 201)).port;
      assert.equal(again.dns_name, 'gone');
      assert.equal(again.qos_policy_id, null);
    });
  });
}

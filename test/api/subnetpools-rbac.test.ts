// Address management and RBAC on every backend, through the real HTTP server: subnet pools and
// allocation from them (also concurrent), prefix operations, default pools, address scopes,
// network IP availability, and rbac-policies with the sharing they stand for.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { ADMIN, ALICE, BOB, startServer, type Caller, type TestServer } from '../helpers/server.js';
import { parseCidr } from '../../src/ipam/cidr.js';
import { allocateAny, cidrTexts, difference, prefixSet } from '../../src/ipam/prefix-set.js';
import { assertError } from '../helpers/assert-error.js';

const set = (...cidrs: string[]) =>
  prefixSet(
    parseCidr(cidrs[0]).version,
    cidrs.map((c) => parseCidr(c)),
  );

describe('prefix sets (pure)', () => {
  it('compacts prefixes and decomposes ranges into CIDRs', () => {
    assert.deepEqual(cidrTexts(set('10.0.0.0/25', '10.0.0.128/25', '10.0.1.0/24')), ['10.0.0.0/23']);
    assert.deepEqual(cidrTexts(set('10.0.0.0/24', '10.0.0.64/26')), ['10.0.0.0/24']);
    assert.deepEqual(cidrTexts(difference(set('10.0.0.0/24'), set('10.0.0.0/26'))), ['10.0.0.64/26', '10.0.0.128/25']);
    assert.deepEqual(cidrTexts(set('2001:db8::/64', '2001:db8:0:1::/64')), ['2001:db8::/63']);
  });

  it('allocates best fit: the smallest free block that can hold the prefix', () => {
    const free = difference(set('10.0.0.0/16'), set('10.0.0.0/25'));
    assert.equal(cidrTexts(prefixSet(4, [allocateAny(free, 26)!]))[0], '10.0.0.128/26');
    assert.equal(cidrTexts(prefixSet(4, [allocateAny(free, 24)!]))[0], '10.0.1.0/24');
    assert.equal(allocateAny(set('10.0.0.0/24'), 23), null);
  });
});

for (const backend of BACKENDS) {
  describe(`subnet pools, address scopes and RBAC on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(backend);
    });
    after(async () => {
      await s?.stop();
    });

    const create = async (path: string, item: string, body: object, as: Caller = ALICE) => {
      const r = await s.req('POST', `/v2.0/${path}`, { [item]: body }, as);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body[item];
    };
    const net = (as: Caller = ALICE, body: object = {}) => create('networks', 'network', { name: 'n', ...body }, as);
    const pool = (body: object, as: Caller = ALICE) => create('subnetpools', 'subnetpool', { name: 'p', ...body }, as);

    it('lists the extensions that work', async () => {
      const e = await s.req('GET', '/v2.0/extensions');
      const aliases = e.body.extensions.map((x: any) => x.alias);
      for (const a of [
        'subnet_allocation',
        'default-subnetpools',
        'subnetpool-prefix-ops',
        'address-scope',
        'network-ip-availability',
        'rbac-policies',
        'rbac-address-scope',
        'rbac-subnetpool',
        'rbac-security-groups',
      ]) {
        assert.ok(aliases.includes(a), a);
      }
    });

    it('creates, shows, lists, updates and deletes a subnet pool', async () => {
      const p = await pool({ prefixes: ['10.1.0.0/25', '10.1.0.128/25', '10.2.0.0/16'], default_prefixlen: 26, description: 'd' });
      assert.deepEqual(p.prefixes, ['10.1.0.0/24', '10.2.0.0/16']);
      assert.equal(p.ip_version, 4);
      // Neutron's create/show/list give the prefix lengths as strings.
      assert.equal(p.default_prefixlen, '26');
      assert.equal(p.min_prefixlen, '8');
      assert.equal(p.max_prefixlen, '32');
      assert.equal(p.shared, false);
      assert.equal(p.is_default, false);
      assert.equal(p.default_quota, null);
      assert.equal(p.address_scope_id, null);
      assert.equal(p.tenant_id, ALICE.project);
      assert.equal(p.revision_number, 0);
      const shown = await s.req('GET', `/v2.0/subnetpools/${p.id}`);
      assert.equal(shown.body.subnetpool.name, 'p');
      const listed = await s.req('GET', '/v2.0/subnetpools?ip_version=4');
      assert.ok(listed.body.subnetpools.some((x: any) => x.id === p.id));
      assert.deepEqual((await s.req('GET', `/v2.0/subnetpools?id=${p.id}&ip_version=6`)).body.subnetpools, []);
      assertError(await s.req('GET', `/v2.0/subnetpools/${p.id}`, undefined, BOB), 404, 'SubnetPoolNotFound');
      const upd = await s.req('PUT', `/v2.0/subnetpools/${p.id}`, {
        subnetpool: { name: 'p2', prefixes: ['10.1.0.0/24', '10.2.0.0/16', '10.3.0.0/16'], min_prefixlen: 20 },
      });
      assert.equal(upd.status, 200, JSON.stringify(upd.body));
      assert.equal(upd.body.subnetpool.name, 'p2');
      assert.equal(upd.body.subnetpool.min_prefixlen, 20);
      assert.deepEqual(upd.body.subnetpool.prefixes, ['10.1.0.0/24', '10.2.0.0/15']);
      assert.equal(upd.body.subnetpool.revision_number, 1);
      assertError(
        await s.req('PUT', `/v2.0/subnetpools/${p.id}`, { subnetpool: { prefixes: ['10.1.0.0/24'] } }),
        400,
        'IllegalSubnetPoolPrefixUpdate',
      );
      assertError(
        await s.req('PUT', `/v2.0/subnetpools/${p.id}`, { subnetpool: { default_prefixlen: 12 } }),
        400,
        'IllegalSubnetPoolPrefixBounds',
        'default_prefixlen=12, min_prefixlen=20',
      );
      assertError(await s.req('PUT', `/v2.0/subnetpools/${p.id}`, { subnetpool: { shared: true } }), 400);
      assert.equal((await s.req('DELETE', `/v2.0/subnetpools/${p.id}`)).status, 204);
      assertError(await s.req('GET', `/v2.0/subnetpools/${p.id}`), 404, 'SubnetPoolNotFound');
    });

    it('validates pools as Neutron does', async () => {
      const post = (body: object, as: Caller = ALICE) => s.req('POST', '/v2.0/subnetpools', { subnetpool: { name: 'bad', ...body } }, as);
      assertError(await post({ prefixes: [] }), 400, 'EmptySubnetPoolPrefixList');
      assertError(await post({ prefixes: ['10.0.0.0/8', '2001:db8::/32'] }), 400, 'PrefixVersionMismatch');
      assertError(await post({ prefixes: ['10.0.0.0/8'], min_prefixlen: 24, max_prefixlen: 16 }), 400, 'IllegalSubnetPoolPrefixBounds');
      assertError(await post({ prefixes: ['10.0.0.0/8'], max_prefixlen: 33 }), 400, 'IllegalSubnetPoolPrefixBounds', 'ip_version_max=32');
      assertError(await post({ prefixes: ['10.0.0.0/8'], default_prefixlen: -1 }), 400);
      assertError(await post({ prefixes: ['not-a-cidr'] }), 400);
      assertError(await s.req('POST', '/v2.0/subnetpools', { subnetpool: { prefixes: ['10.0.0.0/8'] } }), 400, undefined, 'name');
      // Sharing and the default flag are the admin's.
      assertError(await post({ prefixes: ['10.0.0.0/8'], shared: true }), 403, 'PolicyNotAuthorized');
      assertError(await post({ prefixes: ['10.0.0.0/8'], is_default: true }), 403, 'PolicyNotAuthorized');
      const v6 = await pool({ prefixes: ['2001:db8:1::/48'] });
      assert.equal(v6.ip_version, 6);
      assert.equal(v6.min_prefixlen, '64');
      assert.equal(v6.default_prefixlen, '64');
      assert.equal(v6.max_prefixlen, '128');
    });

    it('allocates subnets from a pool by prefix length, or checks a requested cidr against it', async () => {
      const p = await pool({ prefixes: ['10.20.0.0/16'], default_prefixlen: 24, min_prefixlen: 22, max_prefixlen: 28 });
      const n = await net();
      const a = await create('subnets', 'subnet', { network_id: n.id, ip_version: 4, subnetpool_id: p.id, prefixlen: 26 });
      assert.equal(a.cidr, '10.20.0.0/26');
      assert.equal(a.subnetpool_id, p.id);
      assert.equal(a.gateway_ip, '10.20.0.1');
      assert.deepEqual(a.allocation_pools, [{ start: '10.20.0.2', end: '10.20.0.62' }]);
      const b = await create('subnets', 'subnet', { network_id: n.id, ip_version: 4, subnetpool_id: p.id });
      assert.equal(b.cidr, '10.20.1.0/24', 'the default prefix length, best fit');
      const c = await create('subnets', 'subnet', { network_id: n.id, ip_version: 4, subnetpool_id: p.id, prefixlen: 26 });
      assert.equal(c.cidr, '10.20.0.64/26', 'the smallest free block first');
      const d = await create('subnets', 'subnet', {
        network_id: n.id,
        ip_version: 4,
        subnetpool_id: p.id,
        cidr: '10.20.8.0/24',
        gateway_ip: '10.20.8.254',
      });
      assert.equal(d.cidr, '10.20.8.0/24');
      assert.equal(d.gateway_ip, '10.20.8.254');
      const shown = await s.req('GET', `/v2.0/subnets/${d.id}`);
      assert.equal(shown.body.subnet.subnetpool_id, p.id);
      assert.equal((await s.req('GET', `/v2.0/subnets?subnetpool_id=${p.id}`)).body.subnets.length, 4);

      const post = (body: object) => s.req('POST', '/v2.0/subnets', { subnet: { network_id: n.id, ip_version: 4, subnetpool_id: p.id, ...body } });
      assertError(await post({ cidr: '10.20.8.0/24' }), 409, 'SubnetAllocationError');
      assertError(await post({ cidr: '192.168.0.0/24' }), 409, 'SubnetAllocationError');
      assertError(await post({ prefixlen: 20 }), 400, 'MinPrefixSubnetAllocationError');
      assertError(await post({ prefixlen: 29 }), 400, 'MaxPrefixSubnetAllocationError');
      assertError(await post({ cidr: '10.20.9.0/24', prefixlen: 24 }), 400, 'BadRequest', 'cidr and prefixlen');
      assertError(await post({ prefixlen: 24, allocation_pools: [{ start: '10.20.9.2', end: '10.20.9.9' }] }), 400, 'BadRequest');
      assertError(await post({ ip_version: 6 }), 400, 'BadRequest', 'Cannot allocate IPv6 subnet from IPv4 subnet pool');
      assertError(await s.req('POST', '/v2.0/subnets', { subnet: { network_id: n.id, ip_version: 4, subnetpool_id: p.id } }, BOB), 404);
      assertError(
        await s.req('POST', '/v2.0/subnets', { subnet: { network_id: n.id, ip_version: 4 } }),
        400,
        undefined,
        'subnetpool must be specified',
      );
      // A network's subnets of one family come from one pool (or none).
      assertError(
        await s.req('POST', '/v2.0/subnets', { subnet: { network_id: n.id, ip_version: 4, cidr: '172.16.0.0/24' } }),
        400,
        'NetworkSubnetPoolAffinityError',
      );

      // In use: the pool cannot go, nor the prefix its subnets came from.
      assertError(await s.req('DELETE', `/v2.0/subnetpools/${p.id}`), 400, 'SubnetPoolDeleteError');
      for (const x of [a, b, c, d]) assert.equal((await s.req('DELETE', `/v2.0/subnets/${x.id}`)).status, 204);
      assert.equal((await s.req('DELETE', `/v2.0/subnetpools/${p.id}`)).status, 204);
    });

    it('never hands out one prefix twice to concurrent allocations from a pool', async () => {
      const p = await pool({ prefixes: ['10.30.0.0/20'], default_prefixlen: 26 });
      const nets = await Promise.all(Array.from({ length: 12 }, () => net()));
      const results = await Promise.all(
        nets.map((n) => s.req('POST', '/v2.0/subnets', { subnet: { network_id: n.id, ip_version: 4, subnetpool_id: p.id, prefixlen: 26 } })),
      );
      for (const r of results) assert.equal(r.status, 201, JSON.stringify(r.body));
      const cidrs = results.map((r) => r.body.subnet.cidr as string);
      assert.equal(new Set(cidrs).size, cidrs.length, cidrs.join(' '));
      assert.deepEqual(cidrTexts(set(...cidrs)), ['10.30.0.0/23', '10.30.2.0/24'], 'twelve /26 blocks packed from the start');
      // The pool's space runs out with a 409, also under concurrency.
      const more = await Promise.all(
        nets.map((n) => s.req('POST', '/v2.0/subnets', { subnet: { network_id: n.id, ip_version: 4, subnetpool_id: p.id, prefixlen: 22 } })),
      );
      const ok = more.filter((r) => r.status === 201);
      assert.equal(ok.length, 3, 'room for 3 /22s next to the /23 in a /20');
      for (const r of more.filter((x) => x.status !== 201)) assertError(r, 409, 'SubnetAllocationError');
    });

    it('adds and removes prefixes, refusing to remove one in use', async () => {
      const p = await pool({ prefixes: ['10.40.0.0/24'], min_prefixlen: 24 });
      const added = await s.req('PUT', `/v2.0/subnetpools/${p.id}/add_prefixes`, { prefixes: ['10.40.1.0/24', '10.41.0.0/24'] });
      assert.equal(added.status, 200, JSON.stringify(added.body));
      assert.deepEqual(added.body.prefixes, ['10.40.0.0/23', '10.41.0.0/24']);
      const n = await net();
      await create('subnets', 'subnet', { network_id: n.id, ip_version: 4, subnetpool_id: p.id, cidr: '10.41.0.0/24' });
      assertError(
        await s.req('PUT', `/v2.0/subnetpools/${p.id}/remove_prefixes`, { prefixes: ['10.41.0.0/24'] }),
        400,
        'IllegalSubnetPoolPrefixUpdate',
        'in use',
      );
      const removed = await s.req('PUT', `/v2.0/subnetpools/${p.id}/remove_prefixes`, { prefixes: ['10.40.1.0/24'] });
      assert.equal(removed.status, 200, JSON.stringify(removed.body));
      assert.deepEqual(removed.body.prefixes, ['10.40.0.0/24', '10.41.0.0/24']);
      assertError(await s.req('PUT', `/v2.0/subnetpools/${p.id}/add_prefixes`, { prefixes: [] }), 400);
      assertError(await s.req('PUT', `/v2.0/subnetpools/${p.id}/add_prefixes`, { prefixes: ['2001:db8::/64'] }), 400, 'PrefixVersionMismatch');
      assertError(await s.req('PUT', `/v2.0/subnetpools/${p.id}/add_prefixes`, { prefixes: ['10.50.0.0/24'] }, BOB), 404);
      assert.equal((await s.req('GET', `/v2.0/subnetpools/${p.id}`)).body.subnetpool.revision_number, 2);
    });

    it('onboards the subnets of a network into a pool', async () => {
      const n = await net();
      const sub = await create('subnets', 'subnet', { network_id: n.id, ip_version: 4, cidr: '10.95.0.0/24' });
      const p = await pool({ prefixes: ['10.96.0.0/16'] });
      assertError(await s.req('PUT', `/v2.0/subnetpools/${p.id}/onboard_network_subnets`, {}), 400, 'InvalidInput');
      const r = await s.req('PUT', `/v2.0/subnetpools/${p.id}/onboard_network_subnets`, { network_id: n.id });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(r.body, [{ id: sub.id, cidr: '10.95.0.0/24' }]);
      assert.deepEqual((await s.req('GET', `/v2.0/subnetpools/${p.id}`)).body.subnetpool.prefixes, ['10.95.0.0/24', '10.96.0.0/16']);
      assert.equal((await s.req('GET', `/v2.0/subnets/${sub.id}`)).body.subnet.subnetpool_id, p.id);
      const other = await net(BOB);
      assertError(await s.req('PUT', `/v2.0/subnetpools/${p.id}/onboard_network_subnets`, { network_id: other.id }), 403);
    });

    it('allocates from the default pool of the IP version with use_default_subnetpool', async () => {
      const n = await net();
      assertError(
        await s.req('POST', '/v2.0/subnets', { subnet: { network_id: n.id, ip_version: 6, use_default_subnetpool: true } }),
        400,
        'BadRequest',
        'No default subnetpool found for IPv6',
      );
      const p = await pool({ prefixes: ['2001:db8:100::/56'], is_default: true, shared: true }, ADMIN);
      assert.equal(p.is_default, true);
      assert.equal(p.shared, true);
      assertError(
        await s.req('POST', '/v2.0/subnetpools', { subnetpool: { name: 'd2', prefixes: ['2001:db8:200::/56'], is_default: true } }, ADMIN),
        400,
        'InvalidInput',
        'default subnetpool',
      );
      const sub = await create('subnets', 'subnet', { network_id: n.id, ip_version: 6, use_default_subnetpool: true });
      assert.equal(sub.cidr, '2001:db8:100::/64');
      assert.equal(sub.subnetpool_id, p.id);
      assert.equal(sub.gateway_ip, '2001:db8:100::1');
      // Shared with everyone: BOB sees it, as shared, and allocates from it too.
      const seen = await s.req('GET', `/v2.0/subnetpools/${p.id}`, undefined, BOB);
      assert.equal(seen.status, 200);
      assert.equal(seen.body.subnetpool.shared, true);
      const bobNet = await net(BOB);
      const bobSub = await create('subnets', 'subnet', { network_id: bobNet.id, ip_version: 6, subnetpool_id: p.id }, BOB);
      assert.equal(bobSub.cidr, '2001:db8:100:1::/64');
      const wild = (await s.req('GET', `/v2.0/rbac-policies?object_id=${p.id}`, undefined, ADMIN)).body.rbac_policies;
      assert.equal(wild.length, 1);
      // BOB's subnet depends on the wildcard entry.
      assertError(await s.req('DELETE', `/v2.0/rbac-policies/${wild[0].id}`, undefined, ADMIN), 409, 'RbacPolicyInUse');
      for (const x of [sub, bobSub]) assert.equal((await s.req('DELETE', `/v2.0/subnets/${x.id}`, undefined, ADMIN)).status, 204);
      assert.equal((await s.req('PUT', `/v2.0/subnetpools/${p.id}`, { subnetpool: { is_default: false } }, ADMIN)).status, 200);
    });

    it('keeps pools of an address scope apart and shows networks their scopes', async () => {
      const scope = await create('address-scopes', 'address_scope', { name: 's4', ip_version: 4 });
      assert.equal(scope.shared, false);
      assert.equal(scope.ip_version, 4);
      assertError(
        await s.req('POST', '/v2.0/subnetpools', { subnetpool: { name: 'x', prefixes: ['2001:db8:9::/48'], address_scope_id: scope.id } }),
        400,
        'IllegalSubnetPoolIpVersionAssociationToAddressScope',
      );
      const p1 = await pool({ prefixes: ['10.60.0.0/16'], address_scope_id: scope.id });
      assert.equal(p1.address_scope_id, scope.id);
      assertError(
        await s.req('POST', '/v2.0/subnetpools', { subnetpool: { name: 'x', prefixes: ['10.60.128.0/17'], address_scope_id: scope.id } }),
        409,
        'AddressScopePrefixConflict',
      );
      assertError(
        await s.req('POST', '/v2.0/subnetpools', { subnetpool: { name: 'x', prefixes: ['10.61.0.0/16'], address_scope_id: scope.id } }, BOB),
        404,
        'AddressScopeNotFound',
      );
      const n = await net();
      await create('subnets', 'subnet', { network_id: n.id, ip_version: 4, subnetpool_id: p1.id, prefixlen: 24 });
      const shown = (await s.req('GET', `/v2.0/networks/${n.id}`)).body.network;
      assert.equal(shown.ipv4_address_scope, scope.id);
      assert.equal(shown.ipv6_address_scope, null);
      assertError(await s.req('DELETE', `/v2.0/address-scopes/${scope.id}`), 409, 'AddressScopeInUse');
      assertError(await s.req('PUT', `/v2.0/address-scopes/${scope.id}`, { address_scope: { shared: true } }), 403, 'PolicyNotAuthorized');
      const shared = await s.req('PUT', `/v2.0/address-scopes/${scope.id}`, { address_scope: { shared: true, name: 's4b' } }, ADMIN);
      assert.equal(shared.status, 200, JSON.stringify(shared.body));
      assert.equal(shared.body.address_scope.shared, true);
      assert.equal(shared.body.address_scope.name, 's4b');
      assertError(
        await s.req('PUT', `/v2.0/address-scopes/${scope.id}`, { address_scope: { shared: false } }, ADMIN),
        400,
        'AddressScopeUpdateError',
      );
      assert.equal((await s.req('GET', `/v2.0/address-scopes/${scope.id}`, undefined, BOB)).body.address_scope.shared, true);
    });

    it('reports IP availability per network and subnet to admins', async () => {
      const n = await net();
      const sub = await create('subnets', 'subnet', { network_id: n.id, ip_version: 4, cidr: '10.70.0.0/28' });
      await create('ports', 'port', { network_id: n.id });
      await create('ports', 'port', { network_id: n.id });
      const r = await s.req('GET', `/v2.0/network-ip-availabilities/${n.id}`, undefined, ADMIN);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const a = r.body.network_ip_availability;
      assert.equal(a.network_id, n.id);
      assert.equal(a.tenant_id, ALICE.project);
      assert.equal(a.total_ips, 13, '10.70.0.2-14');
      assert.equal(a.used_ips, 2);
      assert.deepEqual(a.subnet_ip_availability, [
        { subnet_id: sub.id, ip_version: 4, cidr: '10.70.0.0/28', subnet_name: '', used_ips: 2, total_ips: 13 },
      ]);
      const list = await s.req('GET', `/v2.0/network-ip-availabilities?network_id=${n.id}&ip_version=4`, undefined, ADMIN);
      assert.equal(list.body.network_ip_availabilities.length, 1);
      assert.equal(
        (await s.req('GET', `/v2.0/network-ip-availabilities?network_id=${n.id}&ip_version=6`, undefined, ADMIN)).body.network_ip_availabilities
          .length,
        0,
      );
      assertError(await s.req('GET', `/v2.0/network-ip-availabilities/${n.id}`), 404);
      assert.deepEqual((await s.req('GET', '/v2.0/network-ip-availabilities')).body.network_ip_availabilities, []);
    });

    it('counts an IPv6 /64 exactly: integers beyond 2^53 are written as JSON digits', async () => {
      const n = await net();
      const sub = await create('subnets', 'subnet', { network_id: n.id, ip_version: 6, cidr: '2001:db8:70::/64', gateway_ip: '2001:db8:70::1' });
      await create('subnets', 'subnet', { network_id: n.id, ip_version: 4, cidr: '10.71.0.0/28' });
      await create('ports', 'port', { network_id: n.id });
      const raw = await fetch(`${s.url}/v2.0/network-ip-availabilities/${n.id}`, {
        headers: { 'x-project-id': ADMIN.project!, 'x-roles': ADMIN.roles!, 'x-user-id': ADMIN.user! },
      });
      assert.equal(raw.status, 200);
      const text = await raw.text();
      // The pool ::2 to the end (2^64 - 2, the gateway is ::1); the network adds 13 IPv4 addresses.
      assert.ok(text.includes('"total_ips":18446744073709551614'), text);
      assert.ok(text.includes('"total_ips":18446744073709551627'), text);
      assert.ok(text.includes(`"subnet_id":"${sub.id}"`), text);
      const list = await s.req('GET', `/v2.0/network-ip-availabilities?network_id=${n.id}&ip_version=4`, undefined, ADMIN);
      assert.equal(list.body.network_ip_availabilities[0].total_ips, 13, 'a small count stays a plain number');
    });

    it('shares a network through rbac-policies, consistently with its shared attribute', async () => {
      const n = await net();
      const sub = await create('subnets', 'subnet', { network_id: n.id, ip_version: 4, cidr: '10.80.0.0/24' });
      assertError(await s.req('GET', `/v2.0/networks/${n.id}`, undefined, BOB), 404);
      const p = await create('rbac-policies', 'rbac_policy', {
        object_type: 'network',
        object_id: n.id,
        action: 'access_as_shared',
        target_tenant: BOB.project,
      });
      assert.equal(p.target_tenant, BOB.project);
      assert.equal(p.tenant_id, ALICE.project);
      assert.equal(p.object_type, 'network');
      const bobView = await s.req('GET', `/v2.0/networks/${n.id}`, undefined, BOB);
      assert.equal(bobView.status, 200);
      assert.equal(bobView.body.network.shared, true, 'shared with BOB');
      assert.equal((await s.req('GET', `/v2.0/networks/${n.id}`)).body.network.shared, false, 'not with everyone');
      assert.equal((await s.req('GET', `/v2.0/subnets/${sub.id}`, undefined, BOB)).status, 200);
      assertError(
        await s.req('POST', '/v2.0/rbac-policies', {
          rbac_policy: { object_type: 'network', object_id: n.id, action: 'access_as_shared', target_tenant: BOB.project },
        }),
        409,
        'DuplicateRbacPolicy',
      );
      // BOB's port depends on the policy.
      const port = await create('ports', 'port', { network_id: n.id }, BOB);
      assertError(await s.req('DELETE', `/v2.0/rbac-policies/${p.id}`), 409, 'RbacPolicyInUse');
      assertError(await s.req('PUT', `/v2.0/rbac-policies/${p.id}`, { rbac_policy: { target_tenant: 'someone-else' } }), 409, 'RbacPolicyInUse');
      assert.equal((await s.req('DELETE', `/v2.0/ports/${port.id}`, undefined, BOB)).status, 204);
      const moved = await s.req('PUT', `/v2.0/rbac-policies/${p.id}`, { rbac_policy: { target_tenant: 'someone-else' } });
      assert.equal(moved.status, 200, JSON.stringify(moved.body));
      assert.equal(moved.body.rbac_policy.target_tenant, 'someone-else');
      assertError(await s.req('GET', `/v2.0/networks/${n.id}`, undefined, BOB), 404);
      assert.equal((await s.req('DELETE', `/v2.0/rbac-policies/${p.id}`)).status, 204);

      // Sharing with everyone is the admin's, and is the network's shared attribute.
      assertError(
        await s.req('POST', '/v2.0/rbac-policies', {
          rbac_policy: { object_type: 'network', object_id: n.id, action: 'access_as_shared', target_tenant: '*' },
        }),
        403,
        'PolicyNotAuthorized',
      );
      const w = await create(
        'rbac-policies',
        'rbac_policy',
        { object_type: 'network', object_id: n.id, action: 'access_as_shared', target_tenant: '*' },
        ADMIN,
      );
      assert.equal((await s.req('GET', `/v2.0/networks/${n.id}`, undefined, BOB)).body.network.shared, true);
      assert.ok((await s.req('GET', '/v2.0/networks?shared=true', undefined, BOB)).body.networks.some((x: any) => x.id === n.id));
      const unshared = await s.req('PUT', `/v2.0/networks/${n.id}`, { network: { shared: false } }, ADMIN);
      assert.equal(unshared.status, 200, JSON.stringify(unshared.body));
      assertError(await s.req('GET', `/v2.0/rbac-policies/${w.id}`, undefined, ADMIN), 404, 'RbacPolicyNotFound');
      const reshared = await s.req('PUT', `/v2.0/networks/${n.id}`, { network: { shared: true } }, ADMIN);
      assert.equal(reshared.body.network.shared, true);
      const entries = (await s.req('GET', `/v2.0/rbac-policies?object_id=${n.id}`)).body.rbac_policies;
      assert.equal(entries.length, 1, 'the network owner sees the entry the shared flag made');
      assert.equal(entries[0].target_tenant, '*');
      assert.equal(entries[0].action, 'access_as_shared');
    });

    it('refuses what Neutron refuses on rbac-policies', async () => {
      const n = await net();
      const post = (body: object, as: Caller = ALICE) =>
        s.req(
          'POST',
          '/v2.0/rbac-policies',
          { rbac_policy: { object_type: 'network', object_id: n.id, action: 'access_as_shared', target_tenant: 'x', ...body } },
          as,
        );
      assertError(await post({ action: 'access_as_owner' }), 400, 'InvalidActionForType');
      assertError(await post({ object_type: 'router' }), 400, 'InvalidInput');
      assertError(await post({}, BOB), 400, 'InvalidInput', 'could not be found');
      assertError(await post({ object_id: '00000000-0000-0000-0000-000000000000' }), 400, 'InvalidInput');
      const shared = await net(ADMIN, { shared: true });
      assertError(
        await s.req(
          'POST',
          '/v2.0/rbac-policies',
          { rbac_policy: { object_type: 'network', object_id: shared.id, action: 'access_as_shared', target_tenant: 'y' } },
          BOB,
        ),
        400,
        'InvalidInput',
        'Only admins can manipulate policies on networks they do not own',
      );
      // Policies are their owner's to see.
      const mine = await post({});
      assert.equal(mine.status, 201);
      assertError(await s.req('GET', `/v2.0/rbac-policies/${mine.body.rbac_policy.id}`, undefined, BOB), 404);
      assert.ok(!(await s.req('GET', '/v2.0/rbac-policies', undefined, BOB)).body.rbac_policies.some((x: any) => x.id === mine.body.rbac_policy.id));
    });

    it('makes a network external through an access_as_external policy', async () => {
      const n = await net(ADMIN);
      const r = await s.req(
        'POST',
        '/v2.0/rbac-policies',
        { rbac_policy: { object_type: 'network', object_id: n.id, action: 'access_as_external', target_tenant: BOB.project } },
        ADMIN,
      );
      assert.equal(r.status, 201, JSON.stringify(r.body));
      const seen = await s.req('GET', `/v2.0/networks/${n.id}`, undefined, BOB);
      assert.equal(seen.status, 200);
      assert.equal(seen.body.network['router:external'], true);
      assertError(await s.req('GET', `/v2.0/networks/${n.id}`, undefined, ALICE), 404);
      assert.equal((await s.req('DELETE', `/v2.0/rbac-policies/${r.body.rbac_policy.id}`, undefined, ADMIN)).status, 204);
      assert.equal((await s.req('GET', `/v2.0/networks/${n.id}`, undefined, ADMIN)).body.network['router:external'], false);
    });

    it('keeps an access_as_external policy that a router gateway depends on', async () => {
      const n = await net(ADMIN);
      await create('subnets', 'subnet', { network_id: n.id, ip_version: 4, cidr: '10.85.0.0/24' }, ADMIN);
      const pol = await create(
        'rbac-policies',
        'rbac_policy',
        { object_type: 'network', object_id: n.id, action: 'access_as_external', target_tenant: BOB.project },
        ADMIN,
      );
      const router = await create('routers', 'router', { name: 'r', external_gateway_info: { network_id: n.id } }, BOB);
      assertError(await s.req('DELETE', `/v2.0/rbac-policies/${pol.id}`, undefined, ADMIN), 409, 'RbacPolicyInUse', 'routers attached');
      assert.equal((await s.req('PUT', `/v2.0/routers/${router.id}`, { router: { external_gateway_info: {} } }, BOB)).status, 200);
      assert.equal((await s.req('DELETE', `/v2.0/rbac-policies/${pol.id}`, undefined, ADMIN)).status, 204);
    });

    it('shares subnet pools and address scopes with one project', async () => {
      const p = await pool({ prefixes: ['10.90.0.0/16'] });
      assertError(await s.req('GET', `/v2.0/subnetpools/${p.id}`, undefined, BOB), 404);
      const r = await s.req('POST', '/v2.0/rbac-policies', {
        rbac_policy: { object_type: 'subnetpool', object_id: p.id, action: 'access_as_shared', target_tenant: BOB.project },
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      const seen = await s.req('GET', `/v2.0/subnetpools/${p.id}`, undefined, BOB);
      assert.equal(seen.status, 200);
      assert.equal(seen.body.subnetpool.shared, true);
      assert.ok((await s.req('GET', '/v2.0/subnetpools?shared=true', undefined, BOB)).body.subnetpools.some((x: any) => x.id === p.id));
      const bobNet = await net(BOB);
      const sub = await create('subnets', 'subnet', { network_id: bobNet.id, ip_version: 4, subnetpool_id: p.id, prefixlen: 24 }, BOB);
      assertError(await s.req('DELETE', `/v2.0/rbac-policies/${r.body.rbac_policy.id}`), 409, 'RbacPolicyInUse');
      assert.equal((await s.req('DELETE', `/v2.0/subnets/${sub.id}`, undefined, BOB)).status, 204);
      assert.equal((await s.req('DELETE', `/v2.0/rbac-policies/${r.body.rbac_policy.id}`)).status, 204);
      assertError(await s.req('GET', `/v2.0/subnetpools/${p.id}`, undefined, BOB), 404);

      const scope = await create('address-scopes', 'address_scope', { name: 'sc', ip_version: 4 });
      const rs = await s.req('POST', '/v2.0/rbac-policies', {
        rbac_policy: { object_type: 'address_scope', object_id: scope.id, action: 'access_as_shared', target_tenant: BOB.project },
      });
      assert.equal(rs.status, 201, JSON.stringify(rs.body));
      const bobScope = await s.req('GET', `/v2.0/address-scopes/${scope.id}`, undefined, BOB);
      assert.equal(bobScope.body.address_scope.shared, true);
      // BOB's pool in the scope keeps BOB's access.
      const bobPool = await pool({ prefixes: ['10.91.0.0/16'], address_scope_id: scope.id }, BOB);
      assertError(await s.req('DELETE', `/v2.0/rbac-policies/${rs.body.rbac_policy.id}`), 409, 'RbacPolicyInUse');
      assert.equal((await s.req('DELETE', `/v2.0/subnetpools/${bobPool.id}`, undefined, BOB)).status, 204);
      assert.equal((await s.req('DELETE', `/v2.0/rbac-policies/${rs.body.rbac_policy.id}`)).status, 204);
    });

    it('shares a security group with a project whose ports then depend on it', async () => {
      const sg = await create('security-groups', 'security_group', { name: 'web' });
      assertError(await s.req('GET', `/v2.0/security-groups/${sg.id}`, undefined, BOB), 404);
      const r = await s.req('POST', '/v2.0/rbac-policies', {
        rbac_policy: { object_type: 'security_group', object_id: sg.id, action: 'access_as_shared', target_tenant: BOB.project },
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      const seen = await s.req('GET', `/v2.0/security-groups/${sg.id}`, undefined, BOB);
      assert.equal(seen.status, 200, JSON.stringify(seen.body));
      assert.equal(seen.body.security_group.shared, true);
      const bobNet = await net(BOB);
      const port = await create('ports', 'port', { network_id: bobNet.id, security_groups: [sg.id] }, BOB);
      assertError(await s.req('DELETE', `/v2.0/rbac-policies/${r.body.rbac_policy.id}`), 409, 'RbacPolicyInUse');
      assert.equal((await s.req('DELETE', `/v2.0/ports/${port.id}`, undefined, BOB)).status, 204);
      assert.equal((await s.req('DELETE', `/v2.0/rbac-policies/${r.body.rbac_policy.id}`)).status, 204);
      assertError(await s.req('GET', `/v2.0/security-groups/${sg.id}`, undefined, BOB), 404);
      assertError(
        await s.req('POST', '/v2.0/rbac-policies', {
          rbac_policy: { object_type: 'security_group', object_id: sg.id, action: 'access_as_external', target_tenant: BOB.project },
        }),
        400,
        'InvalidActionForType',
        "Valid actions: ('access_as_shared',)",
      );
    });

    it('counts subnetpool and rbac_policy quotas', async () => {
      const q = await s.req('GET', `/v2.0/quotas/${ALICE.project}`, undefined, ADMIN);
      assert.equal(q.body.quota.subnetpool, -1);
      assert.equal(q.body.quota.rbac_policy, 10);
      const set = await s.req('PUT', '/v2.0/quotas/quota-proj', { quota: { subnetpool: 1 } }, ADMIN);
      assert.equal(set.status, 200, JSON.stringify(set.body));
      const who: Caller = { project: 'quota-proj', roles: 'member,reader', user: 'q' };
      await pool({ prefixes: ['10.99.0.0/16'] }, who);
      assertError(await s.req('POST', '/v2.0/subnetpools', { subnetpool: { name: 'q2', prefixes: ['10.98.0.0/16'] } }, who), 409, 'OverQuota');
    });
  });
}

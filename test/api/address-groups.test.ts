// Address groups (address-group, rbac-address-group, security-groups-remote-address-group) and
// the default security group rules template (security-groups-default-rules) on every backend,
// through the real HTTP server: CRUD, addresses normalized to CIDRs, add_addresses and
// remove_addresses with Neutron's errors (also under concurrency), sharing by RBAC, rules naming
// an address group (one remote only, the group kept while in use), what the L2 agents are sent
// and told; templates deciding the rules of new default and non-default groups.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { ADMIN, ALICE, BOB, startServer, type Caller, type TestServer } from '../helpers/server.js';
import { assertError } from '../helpers/assert-error.js';
import { MemoryBroker, MemoryBus, silentLogger, type RpcBus } from '../../src/rpc/index.js';
import { sleep } from '../helpers/wait.js';

const AG = '/v2.0/address-groups';
const DR = '/v2.0/default-security-group-rules';
const tap = (id: string) => `tap${id.slice(0, 11)}`;
const pick = (r: any, keys: string[]) => Object.fromEntries(keys.map((k) => [k, r[k]]));
const RULE_KEYS = [
  'direction',
  'ethertype',
  'protocol',
  'port_range_min',
  'port_range_max',
  'remote_ip_prefix',
  'remote_group_id',
  'remote_address_group_id',
];
const sortRules = (l: any[]) => l.map((r) => JSON.stringify(pick(r, RULE_KEYS))).sort();

for (const backend of BACKENDS) {
  describe(`address groups and default security group rules on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let s: TestServer;
    let serverBus: RpcBus;
    let agentBus: RpcBus;
    const got: Array<{ method: string; groups: string[] }> = [];
    before(async () => {
      const broker = new MemoryBroker();
      serverBus = new MemoryBus({ broker, logger: silentLogger });
      agentBus = new MemoryBus({ broker, logger: silentLogger });
      s = await startServer(backend, {}, { bus: serverBus });
      const record = (method: string) => (_ctx: unknown, args: { security_groups: string[] }) => {
        got.push({ method, groups: args.security_groups });
      };
      await agentBus.serve('q-agent-notifier-security_group-update', 'host-a', {
        security_groups_rule_updated: record('security_groups_rule_updated'),
        security_groups_member_updated: record('security_groups_member_updated'),
      });
    });
    after(async () => {
      await s?.stop();
      await agentBus?.close();
      await serverBus?.close();
    });

    const api = async (method: string, path: string, body?: unknown, expect = 200, as: Caller = ADMIN) => {
      const r = await s.req(method, path, body, as);
      assert.equal(r.status, expect, `${method} ${path}: ${JSON.stringify(r.body)}`);
      return r.body;
    };
    const group = async (body: object = {}, as: Caller = ALICE) =>
      (await api('POST', AG, { address_group: { name: 'ag', ...body } }, 201, as)).address_group;
    const ruleUpdates = async () => {
      await s.server.settled();
      await sleep(20);
      return got
        .splice(0)
        .filter((g) => g.method === 'security_groups_rule_updated')
        .flatMap((g) => g.groups)
        .sort();
    };

    it('lists the extensions, with the port filtering alias neutron-lib uses', async () => {
      const aliases = (await api('GET', '/v2.0/extensions')).extensions.map((e: any) => e.alias);
      for (const a of [
        'address-group',
        'rbac-address-group',
        'security-groups-remote-address-group',
        'security-groups-default-rules',
        'port-security-groups-filtering',
      ])
        assert.ok(aliases.includes(a), a);
      assert.ok(!aliases.includes('security-groups-port-filtering'));
    });

    it('creates a group with its addresses normalized to CIDRs, shows, lists, updates and deletes it', async () => {
      const g = await group({ name: 'web', description: 'web hosts', addresses: ['10.1.2.3/24', '192.0.2.7/32', '2001:db8::5/64'] });
      assert.deepEqual(g.addresses, ['10.1.2.0/24', '192.0.2.7/32', '2001:db8::/64'].sort());
      assert.equal(g.project_id, 'project-alice');
      assert.equal(g.tenant_id, 'project-alice');
      assert.equal(g.description, 'web hosts');
      assert.equal(g.shared, undefined, 'shared is not shown');
      assert.equal(g.revision_number, 0);
      assert.deepEqual((await api('GET', `${AG}/${g.id}`, undefined, 200, ALICE)).address_group, g);
      const listed = (await api('GET', `${AG}?name=web`, undefined, 200, ALICE)).address_groups;
      assert.deepEqual(
        listed.map((x: any) => x.id),
        [g.id],
      );
      // Another project neither sees nor changes it.
      await assertError(await s.req('GET', `${AG}/${g.id}`, undefined, BOB), 404, 'AddressGroupNotFound');
      assert.deepEqual((await api('GET', AG, undefined, 200, BOB)).address_groups, []);
      await assertError(await s.req('PUT', `${AG}/${g.id}/add_addresses`, { addresses: ['10.9.0.0/16'] }, BOB), 404, 'AddressGroupNotFound');
      const up = (await api('PUT', `${AG}/${g.id}`, { address_group: { name: 'web2' } }, 200, ALICE)).address_group;
      assert.equal(up.name, 'web2');
      assert.equal(up.revision_number, 1);
      // Addresses change through the member actions only.
      assertError(await s.req('PUT', `${AG}/${g.id}`, { address_group: { addresses: [] } }, ALICE), 400);
      await api('DELETE', `${AG}/${g.id}`, undefined, 204, ALICE);
      await assertError(
        await s.req('GET', `${AG}/${g.id}`, undefined, ALICE),
        404,
        'AddressGroupNotFound',
        `Address group ${g.id} could not be found.`,
      );
    });

    it('refuses bad addresses with 400', async () => {
      assertError(await s.req('POST', AG, { address_group: { addresses: ['10.0.0.300/24'] } }, ALICE), 400, 'HTTPBadRequest');
      assertError(await s.req('POST', AG, { address_group: { addresses: 'x' } }, ALICE), 400);
      assertError(await s.req('POST', AG, { address_group: { addresses: ['10.0.0.0/24', '10.0.0.0/24'] } }, ALICE), 400);
      const g = await group();
      assertError(await s.req('PUT', `${AG}/${g.id}/add_addresses`, { addresses: ['nonsense'] }, ALICE), 400);
      assertError(await s.req('PUT', `${AG}/${g.id}/add_addresses`, { nothing: [] }, ALICE), 400);
      assertError(await s.req('PUT', `${AG}/${g.id}/remove_addresses`, 'x', ALICE), 400);
    });

    it('adds and removes addresses with Neutron answers and errors', async () => {
      const g = await group({ addresses: ['10.0.0.0/24'] });
      const added = (await api('PUT', `${AG}/${g.id}/add_addresses`, { addresses: ['10.0.1.1/24', '2001:db8:1::1/128'] }, 200, ALICE)).address_group;
      assert.deepEqual(added.addresses, ['10.0.0.0/24', '10.0.1.0/24', '2001:db8:1::1/128'].sort());
      await assertError(
        await s.req('PUT', `${AG}/${g.id}/add_addresses`, { addresses: ['10.0.0.9/24'] }, ALICE),
        400,
        'AddressesAlreadyExist',
        `Addresses ['10.0.0.0/24'] already exist in the address group ${g.id}.`,
      );
      await assertError(
        await s.req('PUT', `${AG}/${g.id}/remove_addresses`, { addresses: ['10.0.0.0/24', '172.16.0.0/12'] }, ALICE),
        404,
        'AddressesNotFound',
        `Addresses ['172.16.0.0/12'] not found in the address group ${g.id}.`,
      );
      const removed = (await api('PUT', `${AG}/${g.id}/remove_addresses`, { addresses: ['10.0.0.1/24'] }, 200, ALICE)).address_group;
      assert.deepEqual(removed.addresses, ['10.0.1.0/24', '2001:db8:1::1/128'].sort());
      assert.equal(removed.revision_number, 2);
      // The actions read addresses as netaddr does: a bare address is a host route.
      const host = (await api('PUT', `${AG}/${g.id}/add_addresses`, { addresses: ['192.0.2.9', '192.0.2.9/32'] }, 200, ALICE)).address_group;
      assert.ok(host.addresses.includes('192.0.2.9/32'));
      // On create they are a subnet list, as Neutron validates them.
      assertError(await s.req('POST', AG, { address_group: { addresses: ['192.0.2.9'] } }, ALICE), 400, 'HTTPBadRequest', '192.0.2.9/32');
    });

    it('adds the same address concurrently once: one 200, the others AddressesAlreadyExist', async () => {
      const g = await group();
      const rs = await Promise.all(
        Array.from({ length: 6 }, () => s.req('PUT', `${AG}/${g.id}/add_addresses`, { addresses: ['198.51.100.0/24'] }, ALICE)),
      );
      assert.deepEqual(rs.map((r) => r.status).sort(), [200, 400, 400, 400, 400, 400], JSON.stringify(rs.map((r) => r.body)));
      for (const r of rs.filter((x) => x.status === 400)) assert.equal(r.body.NeutronError.type, 'AddressesAlreadyExist');
      assert.deepEqual((await api('GET', `${AG}/${g.id}`, undefined, 200, ALICE)).address_group.addresses, ['198.51.100.0/24']);
      // Different addresses at once all land.
      const many = await Promise.all(
        Array.from({ length: 6 }, (_, i) => s.req('PUT', `${AG}/${g.id}/add_addresses`, { addresses: [`203.0.113.${i}/32`] }, ALICE)),
      );
      assert.deepEqual(
        many.map((r) => r.status),
        [200, 200, 200, 200, 200, 200],
      );
      assert.equal((await api('GET', `${AG}/${g.id}`, undefined, 200, ALICE)).address_group.addresses.length, 7);
    });

    it('shares a group by RBAC (object_type address_group), and keeps a policy a rule depends on', async () => {
      const g = await group({ addresses: ['10.20.0.0/16'] });
      const sg = (await api('POST', '/v2.0/security-groups', { security_group: { name: 'bob-sg' } }, 201, BOB)).security_group;
      const body = { security_group_rule: { security_group_id: sg.id, direction: 'ingress', remote_address_group_id: g.id } };
      await assertError(await s.req('POST', '/v2.0/security-group-rules', body, BOB), 404, 'AddressGroupNotFound');
      const rbac = (
        await api(
          'POST',
          '/v2.0/rbac-policies',
          { rbac_policy: { object_type: 'address_group', object_id: g.id, action: 'access_as_shared', target_tenant: 'project-bob' } },
          201,
          ALICE,
        )
      ).rbac_policy;
      assert.deepEqual((await api('GET', `${AG}/${g.id}`, undefined, 200, BOB)).address_group.addresses, ['10.20.0.0/16']);
      // Bob reads it but may not change it (the default rule: admin or owner).
      assertError(await s.req('PUT', `${AG}/${g.id}/add_addresses`, { addresses: ['10.30.0.0/16'] }, BOB), 403);
      // An update is a 404 to him (Neutron checks get_address_group on the object it prefetched,
      // which lacks `shared`), a delete a 403 (the whole object is fetched); the group is unchanged.
      await assertError(await s.req('PUT', `${AG}/${g.id}`, { address_group: { name: 'bobs' } }, BOB), 404, 'AddressGroupNotFound');
      await assertError(await s.req('DELETE', `${AG}/${g.id}`, undefined, BOB), 403);
      assert.equal((await api('GET', `${AG}/${g.id}`, undefined, 200, ALICE)).address_group.name, 'ag');
      const rule = (await api('POST', '/v2.0/security-group-rules', body, 201, BOB)).security_group_rule;
      assert.equal(rule.remote_address_group_id, g.id);
      await assertError(await s.req('DELETE', `/v2.0/rbac-policies/${rbac.id}`, undefined, ALICE), 409, 'RbacPolicyInUse');
      await assertError(
        await s.req('DELETE', `${AG}/${g.id}`, undefined, ALICE),
        409,
        'AddressGroupInUse',
        `Address group ${g.id} is in use on one or more security group rules.`,
      );
      await api('DELETE', `/v2.0/security-group-rules/${rule.id}`, undefined, 204, BOB);
      await api('DELETE', `/v2.0/rbac-policies/${rbac.id}`, undefined, 204, ALICE);
      await assertError(await s.req('GET', `${AG}/${g.id}`, undefined, BOB), 404, 'AddressGroupNotFound');
      await api('DELETE', `${AG}/${g.id}`, undefined, 204, ALICE);
    });

    it('allows one remote per rule and refuses unknown address groups', async () => {
      const g = await group({ addresses: ['10.40.0.0/16'] });
      const sg = (await api('POST', '/v2.0/security-groups', { security_group: { name: 'one-remote' } }, 201, ALICE)).security_group;
      const post = (extra: object) =>
        s.req('POST', '/v2.0/security-group-rules', { security_group_rule: { security_group_id: sg.id, direction: 'ingress', ...extra } }, ALICE);
      for (const extra of [{ remote_ip_prefix: '10.0.0.0/8' }, { remote_group_id: sg.id }])
        assertError(await post({ remote_address_group_id: g.id, ...extra }), 400, 'SecurityGroupMultipleRemoteEntites');
      await assertError(await post({ remote_address_group_id: '6b3b9a43-2f4b-4f8f-9d1c-0d8c3a5b7e11' }), 404, 'AddressGroupNotFound');
      const r = await post({ remote_address_group_id: g.id, protocol: 'tcp', port_range_min: 22, port_range_max: 22 });
      assert.equal(r.status, 201);
      assertError(
        await post({ remote_address_group_id: g.id, protocol: 'tcp', port_range_min: 22, port_range_max: 22 }),
        409,
        'SecurityGroupRuleExists',
      );
      const filtered = (await api('GET', `/v2.0/security-group-rules?remote_address_group_id=${g.id}`, undefined, 200, ALICE)).security_group_rules;
      assert.deepEqual(
        filtered.map((x: any) => x.id),
        [r.body.security_group_rule.id],
      );
    });

    it("sends the agents a group's addresses as remote members, and tells them when they change", async () => {
      const net = (await api('POST', '/v2.0/networks', { network: { name: 'ag-rpc' } }, 201)).network;
      await api('POST', '/v2.0/subnets', { subnet: { network_id: net.id, cidr: '10.77.0.0/24', ip_version: 4, enable_dhcp: false } }, 201);
      const g = await group({ addresses: ['192.0.2.0/28', '2001:db8:77::/64'] }, ADMIN);
      const sg = (await api('POST', '/v2.0/security-groups', { security_group: { name: 'ag-rpc' } }, 201)).security_group;
      await api(
        'POST',
        '/v2.0/security-group-rules',
        { security_group_rule: { security_group_id: sg.id, direction: 'ingress', remote_address_group_id: g.id } },
        201,
      );
      const port = (await api('POST', '/v2.0/ports', { port: { network_id: net.id, device_owner: 'compute:nova', security_groups: [sg.id] } }, 201))
        .port;
      await ruleUpdates();
      const info = await agentBus.call<any>('q-plugin', 'security_group_info_for_devices', { devices: [tap(port.id)] });
      assert.deepEqual(info.devices[port.id].security_group_remote_address_groups, [g.id]);
      assert.ok(info.security_groups[sg.id].some((r: any) => r.remote_address_group_id === g.id && r.direction === 'ingress'));
      assert.deepEqual(info.sg_member_ips[g.id], { IPv4: [['192.0.2.0/28', null]] });
      await api('PUT', `${AG}/${g.id}/add_addresses`, { addresses: ['198.51.100.9/32'] }, 200);
      assert.deepEqual(await ruleUpdates(), [sg.id]);
      const again = await agentBus.call<any>('q-plugin', 'security_group_info_for_devices', { devices: [tap(port.id)] });
      assert.deepEqual(again.sg_member_ips[g.id].IPv4, [
        ['192.0.2.0/28', null],
        ['198.51.100.9/32', null],
      ]);
      // A rename changes no addresses: nothing to tell.
      await api('PUT', `${AG}/${g.id}`, { address_group: { name: 'renamed' } }, 200);
      assert.deepEqual(await ruleUpdates(), []);
      const legacy = await agentBus.call<any>('q-plugin', 'security_group_rules_for_devices', { devices: [tap(port.id)] });
      const prefixes = legacy[port.id].security_group_rules
        .filter((r: any) => r.remote_address_group_id === g.id)
        .map((r: any) => r.source_ip_prefix);
      assert.deepEqual(prefixes.sort(), ['192.0.2.0/28', '198.51.100.9/32']);
    });

    // ---- default security group rules --------------------------------------------------------

    it("is seeded with Neutron's legacy rules, which new groups get", async () => {
      const all = (await api('GET', DR)).default_security_group_rules;
      const legacy = all
        .map((r: any) => JSON.stringify(pick(r, [...RULE_KEYS, 'used_in_default_sg', 'used_in_non_default_sg', 'description'])))
        .sort();
      const want = [
        ['egress', 'IPv4', null, true, true, 'Legacy default SG rule for egress traffic'],
        ['egress', 'IPv6', null, true, true, 'Legacy default SG rule for egress traffic'],
        ['ingress', 'IPv4', 'PARENT', true, false, 'Legacy default SG rule for ingress traffic'],
        ['ingress', 'IPv6', 'PARENT', true, false, 'Legacy default SG rule for ingress traffic'],
      ].map(([direction, ethertype, remote, d, n, description]) =>
        JSON.stringify({
          direction,
          ethertype,
          protocol: null,
          port_range_min: null,
          port_range_max: null,
          remote_ip_prefix: null,
          remote_group_id: remote,
          remote_address_group_id: null,
          used_in_default_sg: d,
          used_in_non_default_sg: n,
          description,
        }),
      );
      assert.deepEqual(legacy, want.sort());
      assert.equal(all[0].tenant_id, undefined);
      // A regular project reads the template but may not change it.
      assert.equal((await api('GET', DR, undefined, 200, ALICE)).default_security_group_rules.length, 4);
      assertError(
        await s.req(
          'POST',
          DR,
          { default_security_group_rule: { direction: 'ingress', used_in_default_sg: true, used_in_non_default_sg: true } },
          ALICE,
        ),
        403,
      );
      assertError(await s.req('DELETE', `${DR}/${all[0].id}`, undefined, ALICE), 403);
    });

    it('creates, shows, filters and deletes templates with Neutron errors', async () => {
      const body = {
        direction: 'ingress',
        ethertype: 'IPv4',
        protocol: 'tcp',
        port_range_min: 443,
        port_range_max: 443,
        used_in_default_sg: false,
        used_in_non_default_sg: true,
      };
      const t = (await api('POST', DR, { default_security_group_rule: { ...body, description: 'https' } }, 201)).default_security_group_rule;
      assert.deepEqual(pick(t, [...RULE_KEYS, 'used_in_default_sg', 'used_in_non_default_sg', 'description']), {
        direction: 'ingress',
        ethertype: 'IPv4',
        protocol: 'tcp',
        port_range_min: 443,
        port_range_max: 443,
        remote_ip_prefix: null,
        remote_group_id: null,
        remote_address_group_id: null,
        used_in_default_sg: false,
        used_in_non_default_sg: true,
        description: 'https',
      });
      assert.deepEqual((await api('GET', `${DR}/${t.id}`)).default_security_group_rule, t);
      const filtered = (await api('GET', `${DR}?used_in_default_sg=false`)).default_security_group_rules;
      assert.deepEqual(
        filtered.map((x: any) => x.id),
        [t.id],
      );
      // The same rule with other used_in_* flags conflicts.
      await assertError(
        await s.req('POST', DR, { default_security_group_rule: { ...body, used_in_default_sg: true, used_in_non_default_sg: false } }, ADMIN),
        409,
        'DefaultSecurityGroupRuleExists',
        `Default Security group rule already exists. Rule id is ${t.id}.`,
      );
      await assertError(
        await s.req(
          'POST',
          DR,
          {
            default_security_group_rules: [
              { ...body, port_range_min: 80, port_range_max: 80 },
              { ...body, port_range_min: 80, port_range_max: 80 },
            ],
          },
          ADMIN,
        ),
        409,
        'DuplicateDefaultSgRuleInPost',
      );
      // Validated as group rules are; used_in_* are required, as in Neutron's definition.
      assertError(
        await s.req('POST', DR, { default_security_group_rule: { ...body, port_range_min: 500, port_range_max: 400 } }, ADMIN),
        400,
        'SecurityGroupInvalidPortRange',
      );
      assertError(await s.req('POST', DR, { default_security_group_rule: { direction: 'ingress', used_in_default_sg: true } }, ADMIN), 400);
      await api('DELETE', `${DR}/${t.id}`, undefined, 204);
      await assertError(
        await s.req('GET', `${DR}/${t.id}`, undefined, ADMIN),
        404,
        'DefaultSecurityGroupRuleNotFound',
        `Default Security Group rule ${t.id} does not exist`,
      );
    });

    it('decides the rules of new default and non-default groups (PARENT is the new group)', async () => {
      const mk = async (b: object) =>
        (await api('POST', DR, { default_security_group_rule: { direction: 'ingress', ethertype: 'IPv4', ...b } }, 201)).default_security_group_rule;
      const ssh = await mk({ protocol: 'tcp', port_range_min: 22, port_range_max: 22, used_in_default_sg: true, used_in_non_default_sg: true });
      const icmp = await mk({ protocol: 'icmp', remote_group_id: 'PARENT', used_in_default_sg: false, used_in_non_default_sg: true });
      const who: Caller = { project: 'project-template', roles: 'member,reader', user: 'carol' };
      const def = (await api('GET', '/v2.0/security-groups?name=default', undefined, 200, who)).security_groups[0];
      const other = (await api('POST', '/v2.0/security-groups', { security_group: { name: 'other' } }, 201, who)).security_group;
      const templates = (await api('GET', DR)).default_security_group_rules;
      const expect = (forDefault: boolean, id: string) =>
        sortRules(
          templates
            .filter((t: any) => (forDefault ? t.used_in_default_sg : t.used_in_non_default_sg))
            .map((t: any) => ({ ...t, remote_group_id: t.remote_group_id === 'PARENT' ? id : t.remote_group_id })),
        );
      assert.deepEqual(sortRules(def.security_group_rules), expect(true, def.id));
      assert.deepEqual(sortRules(other.security_group_rules), expect(false, other.id));
      assert.ok(other.security_group_rules.some((r: any) => r.protocol === 'icmp' && r.remote_group_id === other.id));
      assert.ok(!def.security_group_rules.some((r: any) => r.protocol === 'icmp'));
      await api('DELETE', `${DR}/${ssh.id}`, undefined, 204);
      await api('DELETE', `${DR}/${icmp.id}`, undefined, 204);
    });

    it('a template naming a group: 404 for an unknown one; once the group is gone, new groups do without the rule', async () => {
      await assertError(
        await s.req(
          'POST',
          DR,
          {
            default_security_group_rule: {
              direction: 'ingress',
              remote_group_id: '0e4b3c4e-5d38-4f6f-9a1e-3a2b1c0d9e8f',
              used_in_default_sg: false,
              used_in_non_default_sg: true,
            },
          },
          ADMIN,
        ),
        404,
        'SecurityGroupNotFound',
      );
      const peer = (await api('POST', '/v2.0/security-groups', { security_group: { name: 'peer' } }, 201)).security_group;
      const t = (
        await api(
          'POST',
          DR,
          {
            default_security_group_rule: {
              direction: 'ingress',
              ethertype: 'IPv6',
              remote_group_id: peer.id,
              used_in_default_sg: false,
              used_in_non_default_sg: true,
            },
          },
          201,
        )
      ).default_security_group_rule;
      const one = (await api('POST', '/v2.0/security-groups', { security_group: { name: 'with-peer' } }, 201)).security_group;
      assert.ok(one.security_group_rules.some((r: any) => r.remote_group_id === peer.id));
      await api('DELETE', `/v2.0/security-groups/${one.id}`, undefined, 204);
      await api('DELETE', `/v2.0/security-groups/${peer.id}`, undefined, 204);
      const two = (await api('POST', '/v2.0/security-groups', { security_group: { name: 'without-peer' } }, 201)).security_group;
      assert.ok(!two.security_group_rules.some((r: any) => r.remote_group_id === peer.id));
      await api('DELETE', `${DR}/${t.id}`, undefined, 204);
    });

    it('creates the same template concurrently once', async () => {
      const body = {
        direction: 'egress',
        ethertype: 'IPv6',
        protocol: 'udp',
        port_range_min: 53,
        port_range_max: 53,
        used_in_default_sg: true,
        used_in_non_default_sg: false,
      };
      const rs = await Promise.all(Array.from({ length: 6 }, () => s.req('POST', DR, { default_security_group_rule: body }, ADMIN)));
      assert.deepEqual(rs.map((r) => r.status).sort(), [201, 409, 409, 409, 409, 409], JSON.stringify(rs.map((r) => r.body)));
      const id = rs.find((r) => r.status === 201)!.body.default_security_group_rule.id;
      for (const r of rs.filter((x) => x.status === 409))
        assert.equal(r.body.NeutronError.message, `Default Security group rule already exists. Rule id is ${id}.`);
      await api('DELETE', `${DR}/${id}`, undefined, 204);
    });
  });
}

// Quality of Service on every backend, through the real HTTP server: policies (sharing through
// RBAC, the project default), rules under a policy and by alias with Neutron's conflicts, rule
// types from the Linux-bridge QoS driver, qos_policy_id on networks, ports and floating IPs, and
// the guarantees under concurrency (one rule per type and direction, one default per project).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { ADMIN, ALICE, BOB, startServer, type Caller, type TestServer, okCalls } from '../helpers/server.js';
import { QosDrivers } from '../../src/plugins/qos/drivers.js';
import { assertError } from '../helpers/assert-error.js';

describe('QoS drivers (pure)', () => {
  const d = new QosDrivers();
  it('reports what the Linux-bridge driver supports', () => {
    assert.deepEqual(d.supportedRuleTypes(), ['bandwidth_limit', 'dscp_marking']);
    assert.deepEqual(d.supportedRuleTypes({ allSupported: true }), ['bandwidth_limit', 'dscp_marking']);
    assert.deepEqual(d.supportedRuleTypes({ allRules: true }), [
      'bandwidth_limit',
      'dscp_marking',
      'minimum_bandwidth',
      'minimum_packet_rate',
      'packet_rate_limit',
    ]);
    assert.deepEqual(d.ruleTypeDetails('minimum_bandwidth'), []);
    assert.deepEqual(d.ruleTypeDetails('dscp_marking')[0]!.supported_parameters, [
      {
        parameter_name: 'dscp_mark',
        parameter_type: 'choices',
        parameter_values: [0, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36, 38, 40, 46, 48, 56],
      },
    ]);
  });
  it('judges bound ports by vif_type and unbound ones by vnic_type', () => {
    const bw = { type: 'bandwidth_limit', max_kbps: 100, max_burst_kbps: 0, direction: 'ingress' };
    assert.ok(d.ruleFitsPort(bw, { vifType: 'bridge', vnicType: 'direct' }));
    assert.ok(d.ruleFitsPort(bw, { vifType: 'unbound', vnicType: 'normal' }));
    assert.ok(!d.ruleFitsPort(bw, { vifType: 'unbound', vnicType: 'direct' }));
    assert.ok(!d.ruleFitsPort(bw, { vifType: 'ovs', vnicType: 'normal' }));
    assert.ok(!d.ruleFitsPort({ type: 'minimum_bandwidth', min_kbps: 10, direction: 'egress' }, { vifType: 'bridge', vnicType: 'normal' }));
    assert.ok(!d.ruleFitsNetwork({ type: 'minimum_bandwidth', min_kbps: 10, direction: 'egress' }));
  });
});

for (const backend of BACKENDS) {
  describe(`QoS on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(backend);
    });
    after(async () => {
      await s?.stop();
    });

    /** A request, as the admin unless told otherwise. */
    const req = (method: string, path: string, body?: unknown, as: Caller = ADMIN) => s.req(method, path, body, as);
    const ok = okCalls(() => s, ADMIN);
    const policy = async (body: object = {}, as: Caller = ADMIN) =>
      (await ok('POST', '/v2.0/qos/policies', { policy: { name: 'qp', ...body } }, as, 201)).policy;
    const rule = async (policyId: string, type: string, body: object) =>
      (await ok('POST', `/v2.0/qos/policies/${policyId}/${type}_rules`, { [`${type}_rule`]: body }, ADMIN, 201))[`${type}_rule`];
    const net = async (body: object = {}, as: Caller = ALICE) =>
      (await ok('POST', '/v2.0/networks', { network: { name: 'n', ...body } }, as, 201)).network;
    const port = async (networkId: string, body: object = {}, as: Caller = ALICE) =>
      (await ok('POST', '/v2.0/ports', { port: { network_id: networkId, ...body } }, as, 201)).port;

    it('lists the QoS extensions', async () => {
      const aliases = (await ok('GET', '/v2.0/extensions')).extensions.map((e: any) => e.alias);
      for (const a of [
        'qos',
        'qos-bw-limit-direction',
        'qos-default',
        'qos-rule-type-details',
        'qos-rule-type-filter',
        'qos-bw-minimum-ingress',
        'qos-rules-alias',
        'qos-port-network-policy',
        'qos-fip',
      ]) {
        assert.ok(aliases.includes(a), a);
      }
    });

    it('creates, shows, lists, updates, tags and deletes policies; only admins write them', async () => {
      const p = await policy({ description: 'ten megabits' });
      assert.deepEqual(Object.keys(p).sort(), [
        'created_at',
        'description',
        'id',
        'is_default',
        'name',
        'project_id',
        'revision_number',
        'rules',
        'shared',
        'tags',
        'tenant_id',
        'updated_at',
      ]);
      assert.equal(p.shared, false);
      assert.equal(p.is_default, false);
      assert.deepEqual(p.rules, []);
      assert.equal(p.project_id, ADMIN.project);
      assertError(await req('POST', '/v2.0/qos/policies', { policy: { name: 'x' } }, ALICE), 403, 'PolicyNotAuthorized');
      assertError(await req('PUT', `/v2.0/qos/policies/${p.id}`, { policy: { name: 'x' } }, ALICE), 404, 'QosPolicyNotFound');
      const upd = await ok('PUT', `/v2.0/qos/policies/${p.id}`, { policy: { name: 'renamed', description: 'd2' } });
      assert.equal(upd.policy.name, 'renamed');
      assert.equal(upd.policy.revision_number, 1);
      assert.equal((await ok('GET', `/v2.0/qos/policies/${p.id}`)).policy.description, 'd2');
      assert.ok((await ok('GET', '/v2.0/qos/policies?name=renamed')).policies.some((x: any) => x.id === p.id));
      await ok('PUT', `/v2.0/qos/policies/${p.id}/tags/gold`, undefined, ADMIN, 201);
      assert.deepEqual(
        (await ok('GET', `/v2.0/qos/policies?tags=gold`)).policies.map((x: any) => x.id),
        [p.id],
      );
      // Neutron's tagging extension puts them at /v2.0/policies/{id}/tags (tempest's TagQosPolicy).
      await ok('PUT', `/v2.0/policies/${p.id}/tags`, { tags: ['silver', 'bronze'] }, ADMIN, 200);
      assert.deepEqual((await ok('GET', `/v2.0/policies/${p.id}/tags`)).tags.sort(), ['bronze', 'silver']);
      assert.deepEqual(
        (await ok('GET', `/v2.0/qos/policies?tags-any=bronze,nothing`)).policies.map((x: any) => x.id),
        [p.id],
      );
      assertError(await req('PUT', `/v2.0/policies/${p.id}/tags/x`, undefined, ALICE), 404);
      // Shared, it is seen (and its tags read) by every project, but tagged by admins (or its
      // project's managers) only: current Neutron's update_policy:tags, which Zed did not check
      // (neutron-tempest-plugin changed its QoS tag tests to the admin client for it).
      const sh = await policy({ name: 'shared-tags', shared: true });
      await ok('PUT', `/v2.0/policies/${sh.id}/tags`, { tags: ['red'] }, ADMIN, 200);
      assert.deepEqual((await ok('GET', `/v2.0/policies/${sh.id}/tags`, undefined, ALICE)).tags, ['red']);
      assertError(await req('PUT', `/v2.0/policies/${sh.id}/tags`, { tags: ['blue'] }, ALICE), 403, 'PolicyNotAuthorized');
      assertError(await req('PUT', `/v2.0/policies/${sh.id}/tags/blue`, undefined, ALICE), 403, 'PolicyNotAuthorized');
      assertError(await req('DELETE', `/v2.0/policies/${sh.id}/tags/red`, undefined, ALICE), 403, 'PolicyNotAuthorized');
      assert.deepEqual((await ok('GET', `/v2.0/qos/policies/${sh.id}/tags`)).tags, ['red']);
      assert.equal((await req('DELETE', `/v2.0/policies/${p.id}/tags`)).status, 204);
      assert.deepEqual((await ok('GET', `/v2.0/qos/policies/${p.id}/tags`)).tags, []);
      assertError(await req('POST', '/v2.0/qos/policies', { policy: { name: 'x', bogus: 1 } }), 400);
      assert.equal((await req('DELETE', `/v2.0/qos/policies/${p.id}`)).status, 204);
      assertError(await req('GET', `/v2.0/qos/policies/${p.id}`), 404, 'QosPolicyNotFound');
    });

    it('shows a policy to its project and, when shared, to everyone; sharing is an RBAC entry', async () => {
      const mine = await policy({ name: 'alice-own', tenant_id: ALICE.project });
      const open = await policy({ name: 'open', shared: true });
      const closed = await policy({ name: 'closed' });
      const seen = (await ok('GET', '/v2.0/qos/policies', undefined, ALICE)).policies.map((x: any) => x.id);
      assert.ok(seen.includes(mine.id) && seen.includes(open.id) && !seen.includes(closed.id));
      assertError(await req('GET', `/v2.0/qos/policies/${closed.id}`, undefined, ALICE), 404, 'QosPolicyNotFound');
      assert.equal((await ok('GET', `/v2.0/qos/policies/${open.id}`, undefined, BOB)).policy.shared, true);
      const sharedOnly = (await ok('GET', '/v2.0/qos/policies?shared=true', undefined, ALICE)).policies.map((x: any) => x.id);
      assert.ok(sharedOnly.includes(open.id) && !sharedOnly.includes(mine.id));
      // An RBAC policy shares with one project only.
      const rbac = await ok(
        'POST',
        '/v2.0/rbac-policies',
        {
          rbac_policy: { object_type: 'qos_policy', object_id: closed.id, action: 'access_as_shared', target_tenant: BOB.project },
        },
        ADMIN,
        201,
      );
      assert.equal((await ok('GET', `/v2.0/qos/policies/${closed.id}`, undefined, BOB)).policy.shared, true);
      assertError(await req('GET', `/v2.0/qos/policies/${closed.id}`, undefined, ALICE), 404);
      // Bob's network uses it: the entry cannot go, nor can the wildcard of `open` once Bob uses that.
      const n = await net({ qos_policy_id: closed.id }, BOB);
      assertError(await req('DELETE', `/v2.0/rbac-policies/${rbac.rbac_policy.id}`), 409, 'RbacPolicyInUse');
      await net({ qos_policy_id: open.id }, BOB);
      assertError(await req('PUT', `/v2.0/qos/policies/${open.id}`, { policy: { shared: false } }), 409, 'RbacPolicyInUse');
      await ok('PUT', `/v2.0/networks/${n.id}`, { network: { qos_policy_id: null } }, BOB);
      assert.equal((await req('DELETE', `/v2.0/rbac-policies/${rbac.rbac_policy.id}`)).status, 204);
    });

    it("counts the owner's own use and ignores an update's new target, as Neutron's RBAC checks do", async () => {
      // The admin's own network on its shared policy: unsharing would strand the owner's binding.
      const mine = await policy({ shared: true });
      const n = await net({ qos_policy_id: mine.id }, ADMIN);
      assertError(await req('PUT', `/v2.0/qos/policies/${mine.id}`, { policy: { shared: false } }), 409, 'RbacPolicyInUse');
      await ok('DELETE', `/v2.0/networks/${n.id}`, undefined, ADMIN, 204);
      assert.equal((await ok('PUT', `/v2.0/qos/policies/${mine.id}`, { policy: { shared: false } })).policy.shared, false);
      // Bob uses it through the wildcard only: moving the wildcard to Bob is checked as its delete.
      const p = await policy();
      const wild = (
        await ok(
          'POST',
          '/v2.0/rbac-policies',
          { rbac_policy: { object_type: 'qos_policy', object_id: p.id, action: 'access_as_shared', target_tenant: '*' } },
          ADMIN,
          201,
        )
      ).rbac_policy;
      await net({ qos_policy_id: p.id }, BOB);
      assertError(await req('DELETE', `/v2.0/rbac-policies/${wild.id}`), 409, 'RbacPolicyInUse');
      assertError(await req('PUT', `/v2.0/rbac-policies/${wild.id}`, { rbac_policy: { target_tenant: BOB.project } }), 409, 'RbacPolicyInUse');
    });

    it('manages rules under a policy with Neutron validation and conflicts', async () => {
      const p = await policy();
      const bw = await rule(p.id, 'bandwidth_limit', { max_kbps: 10000 });
      assert.deepEqual(Object.keys(bw).sort(), ['direction', 'id', 'max_burst_kbps', 'max_kbps']);
      assert.equal(bw.direction, 'egress');
      assert.equal(bw.max_burst_kbps, 0);
      const ingress = await rule(p.id, 'bandwidth_limit', { max_kbps: '2000', max_burst_kbps: 200, direction: 'ingress' });
      assert.equal(ingress.max_kbps, 2000);
      assertError(
        await req('POST', `/v2.0/qos/policies/${p.id}/bandwidth_limit_rules`, { bandwidth_limit_rule: { max_kbps: 5 } }),
        409,
        'QoSRulesConflict',
        `Rule bandwidth_limit conflicts with rule ${bw.id} which already exists in QoS Policy ${p.id}.`,
      );
      assertError(
        await req('POST', `/v2.0/qos/policies/${p.id}/bandwidth_limit_rules`, { bandwidth_limit_rule: { max_kbps: -1 } }),
        400,
        undefined,
        'max_kbps',
      );
      assertError(
        await req('POST', `/v2.0/qos/policies/${p.id}/bandwidth_limit_rules`, { bandwidth_limit_rule: { max_kbps: 1, direction: 'up' } }),
        400,
        undefined,
        'direction',
      );
      assertError(await req('POST', `/v2.0/qos/policies/${p.id}/bandwidth_limit_rules`, { bandwidth_limit_rule: {} }), 400, undefined, 'max_kbps');
      assertError(
        await req('POST', `/v2.0/qos/policies/${p.id}/dscp_marking_rules`, { dscp_marking_rule: { dscp_mark: 9 } }),
        400,
        undefined,
        'dscp_mark',
      );
      const dscp = await rule(p.id, 'dscp_marking', { dscp_mark: 26 });
      assertError(
        await req('POST', `/v2.0/qos/policies/${p.id}/dscp_marking_rules`, { dscp_marking_rule: { dscp_mark: 46 } }),
        409,
        'QoSRulesConflict',
      );
      // A minimum above an existing limit, or a limit below an existing minimum.
      assertError(
        await req('POST', `/v2.0/qos/policies/${p.id}/minimum_bandwidth_rules`, { minimum_bandwidth_rule: { min_kbps: 20000 } }),
        409,
        'QoSRuleParameterConflict',
        `Unable to add the rule with value 20000 to the policy ${p.id} as the existing rule of type bandwidth_limit has value `,
      );
      const min = await rule(p.id, 'minimum_bandwidth', { min_kbps: 1000, direction: 'ingress' });
      assert.equal(min.direction, 'ingress');
      assertError(
        await req('PUT', `/v2.0/qos/policies/${p.id}/bandwidth_limit_rules/${bw.id}`, { bandwidth_limit_rule: { max_kbps: 500 } }),
        409,
        'QoSRuleParameterConflict',
      );
      assertError(
        await req('PUT', `/v2.0/qos/policies/${p.id}/bandwidth_limit_rules/${ingress.id}`, { bandwidth_limit_rule: { direction: 'egress' } }),
        409,
        'QoSRulesConflict',
      );
      const upd = await ok('PUT', `/v2.0/qos/policies/${p.id}/bandwidth_limit_rules/${bw.id}`, {
        bandwidth_limit_rule: { max_kbps: 20000, max_burst_kbps: 1600 },
      });
      assert.equal(upd.bandwidth_limit_rule.max_burst_kbps, 1600);
      // Rules show in the policy, with their type, in Neutron's order.
      const shown = (await ok('GET', `/v2.0/qos/policies/${p.id}`)).policy;
      assert.deepEqual(
        shown.rules.map((r: any) => r.type),
        ['bandwidth_limit', 'bandwidth_limit', 'dscp_marking', 'minimum_bandwidth'],
      );
      assert.deepEqual(
        shown.rules.find((r: any) => r.id === dscp.id),
        { id: dscp.id, qos_policy_id: p.id, type: 'dscp_marking', dscp_mark: 26 },
      );
      assert.equal(shown.revision_number, 5);
      const listed = (await ok('GET', `/v2.0/qos/policies/${p.id}/bandwidth_limit_rules?direction=ingress`)).bandwidth_limit_rules;
      assert.deepEqual(
        listed.map((r: any) => r.id),
        [ingress.id],
        JSON.stringify([listed, shown.rules]),
      );
      assert.equal((await ok('GET', `/v2.0/qos/policies/${p.id}/dscp_marking_rules/${dscp.id}`)).dscp_marking_rule.dscp_mark, 26);
      const page = await ok('GET', `/v2.0/qos/policies/${p.id}/bandwidth_limit_rules?limit=1&sort_key=max_kbps&sort_dir=asc`);
      assert.deepEqual(
        page.bandwidth_limit_rules.map((r: any) => r.id),
        [ingress.id],
      );
      const next = page.bandwidth_limit_rules_links.find((l: any) => l.rel === 'next').href as string;
      assert.ok(next.includes(`/v2.0/qos/policies/${p.id}/bandwidth_limit_rules?`) && next.includes(`marker=${ingress.id}`), next);
      assert.deepEqual(
        (await ok('GET', next.slice(next.indexOf('/v2.0')))).bandwidth_limit_rules.map((r: any) => r.id),
        [bw.id],
      );
      // Wrong policy in the URL, a missing rule, a missing policy.
      const other = await policy();
      assertError(
        await req('GET', `/v2.0/qos/policies/${other.id}/dscp_marking_rules/${dscp.id}`),
        404,
        'QosRuleNotFound',
        `QoS rule ${dscp.id} for policy ${other.id} could not be found.`,
      );
      assertError(await req('GET', `/v2.0/qos/policies/${p.id}/dscp_marking_rules/${bw.id}`), 404, 'QosRuleNotFound');
      assertError(await req('GET', `/v2.0/qos/policies/${ALICE.project}x/dscp_marking_rules`), 404, 'QosPolicyNotFound');
      // Reading rules follows the policy's visibility; writing them is the admin's.
      assertError(await req('GET', `/v2.0/qos/policies/${p.id}/dscp_marking_rules`, undefined, ALICE), 404, 'QosPolicyNotFound');
      const open = await policy({ shared: true });
      await rule(open.id, 'dscp_marking', { dscp_mark: 8 });
      assert.equal((await ok('GET', `/v2.0/qos/policies/${open.id}/dscp_marking_rules`, undefined, ALICE)).dscp_marking_rules.length, 1);
      assertError(
        await req('POST', `/v2.0/qos/policies/${open.id}/bandwidth_limit_rules`, { bandwidth_limit_rule: { max_kbps: 1 } }, ALICE),
        403,
        'PolicyNotAuthorized',
      );
      // The rule is admin-only, so a project hears 403 before the policy is looked for (Neutron's order).
      for (const parent of ['policy', p.id]) {
        assertError(
          await req('POST', `/v2.0/qos/policies/${parent}/bandwidth_limit_rules`, { bandwidth_limit_rule: { max_kbps: 1 } }, ALICE),
          403,
          'PolicyNotAuthorized',
        );
      }
      assert.equal((await req('DELETE', `/v2.0/qos/policies/${p.id}/minimum_bandwidth_rules/${min.id}`)).status, 204);
      assert.equal((await ok('GET', `/v2.0/qos/policies/${p.id}`)).policy.rules.length, 3);
    });

    it('reaches rules by id through the alias API', async () => {
      const p = await policy();
      const bw = await rule(p.id, 'bandwidth_limit', { max_kbps: 100 });
      const got = await ok('GET', `/v2.0/qos/alias-bandwidth-limit-rules/${bw.id}`);
      assert.deepEqual(got, { alias_bandwidth_limit_rule: { id: bw.id, max_kbps: 100, max_burst_kbps: 0, direction: 'egress' } });
      const upd = await ok('PUT', `/v2.0/qos/alias-bandwidth-limit-rules/${bw.id}`, { alias_bandwidth_limit_rule: { max_kbps: 300 } });
      assert.equal(upd.alias_bandwidth_limit_rule.max_kbps, 300);
      assertError(
        await req('PUT', `/v2.0/qos/alias-bandwidth-limit-rules/${bw.id}`, { alias_bandwidth_limit_rule: { max_kbps: 3 } }, ALICE),
        404,
        'QosPolicyNotFound',
      );
      assertError(
        await req('GET', `/v2.0/qos/alias-dscp-marking-rules/${bw.id}`),
        404,
        'QosRuleNotFound',
        `QoS rule ${bw.id} for policy  could not be found.`,
      );
      assert.equal((await req('DELETE', `/v2.0/qos/alias-bandwidth-limit-rules/${bw.id}`)).status, 204);
      assert.deepEqual((await ok('GET', `/v2.0/qos/policies/${p.id}`)).policy.rules, []);
      assert.equal((await req('POST', '/v2.0/qos/alias-bandwidth-limit-rules', { alias_bandwidth_limit_rule: { max_kbps: 1 } })).status, 404);
    });

    it('lists rule types and shows their driver details to admins', async () => {
      assert.deepEqual((await ok('GET', '/v2.0/qos/rule-types', undefined, ALICE)).rule_types, [
        { type: 'bandwidth_limit' },
        { type: 'dscp_marking' },
      ]);
      assert.equal((await ok('GET', '/v2.0/qos/rule-types?all_rules=true')).rule_types.length, 5);
      assert.equal((await ok('GET', '/v2.0/qos/rule-types?all_supported=true')).rule_types.length, 2);
      const bw = (await ok('GET', '/v2.0/qos/rule-types/bandwidth_limit')).rule_type;
      assert.equal(bw.type, 'bandwidth_limit');
      assert.deepEqual(
        bw.drivers.map((d: any) => d.name),
        ['linuxbridge'],
      );
      assert.deepEqual(
        bw.drivers[0].supported_parameters.map((p: any) => p.parameter_name),
        ['max_kbps', 'max_burst_kbps', 'direction'],
      );
      assert.deepEqual((await ok('GET', '/v2.0/qos/rule-types/minimum_bandwidth')).rule_type.drivers, []);
      assertError(await req('GET', '/v2.0/qos/rule-types/bandwidth_limit', undefined, ALICE), 403, 'NotAuthorized');
      assertError(await req('GET', '/v2.0/qos/rule-types/nonsense'), 404);
    });

    it('attaches policies to networks and ports, and keeps a policy in use', async () => {
      const p = await policy({ shared: true });
      await rule(p.id, 'bandwidth_limit', { max_kbps: 1000 });
      const n = await net({ qos_policy_id: p.id });
      assert.equal(n.qos_policy_id, p.id);
      const pt = await port(n.id);
      assert.equal(pt.qos_policy_id, null);
      assert.equal(pt.qos_network_policy_id, p.id);
      const own = await policy({ shared: true });
      const pt2 = await port(n.id, { qos_policy_id: own.id });
      assert.equal(pt2.qos_policy_id, own.id);
      const listed = (await ok('GET', `/v2.0/ports?network_id=${n.id}`, undefined, ALICE)).ports;
      assert.deepEqual(
        listed.map((x: any) => x.qos_network_policy_id),
        [p.id, p.id],
      );
      assert.deepEqual(
        (await ok('GET', `/v2.0/ports?network_id=${n.id}&fields=id&fields=qos_policy_id`, undefined, ALICE)).ports.map((x: any) =>
          Object.keys(x).sort(),
        ),
        [
          ['id', 'qos_policy_id'],
          ['id', 'qos_policy_id'],
        ],
      );
      assertError(await req('DELETE', `/v2.0/qos/policies/${own.id}`), 409, 'QosPolicyInUse', `QoS Policy ${own.id} is used by port ${pt2.id}.`);
      assertError(await req('DELETE', `/v2.0/qos/policies/${p.id}`), 409, 'QosPolicyInUse', `is used by network ${n.id}.`);
      // Policies the caller cannot see do not exist for it.
      const hidden = await policy();
      assertError(await req('PUT', `/v2.0/ports/${pt.id}`, { port: { qos_policy_id: hidden.id } }, ALICE), 404, 'QosPolicyNotFound');
      assertError(await req('POST', '/v2.0/networks', { network: { name: 'x', qos_policy_id: hidden.id } }, ALICE), 404, 'QosPolicyNotFound');
      assertError(
        await req('POST', '/v2.0/networks', { network: { name: 'x', qos_policy_id: 'not-a-uuid' } }, ALICE),
        400,
        undefined,
        'qos_policy_id',
      );
      // Nothing half-written: the failed creates left no network.
      assert.equal((await ok('GET', '/v2.0/networks?name=x', undefined, ALICE)).networks.length, 0);
      // Detached, the policies can go; a network's update shows the new binding.
      const upd = await ok('PUT', `/v2.0/ports/${pt2.id}`, { port: { qos_policy_id: null } }, ALICE);
      assert.equal(upd.port.qos_policy_id, null);
      assert.equal((await req('DELETE', `/v2.0/qos/policies/${own.id}`)).status, 204);
      assert.equal((await ok('PUT', `/v2.0/networks/${n.id}`, { network: { qos_policy_id: null } }, ALICE)).network.qos_policy_id, null);
      assert.equal((await ok('GET', `/v2.0/ports/${pt.id}`, undefined, ALICE)).port.qos_network_policy_id, null);
      assert.equal((await req('DELETE', `/v2.0/qos/policies/${p.id}`)).status, 204);
      // Deleting a port or network drops its binding with it.
      const q = await policy({ shared: true });
      const n2 = await net({ qos_policy_id: q.id });
      await ok('DELETE', `/v2.0/networks/${n2.id}`, undefined, ALICE, 204);
      assert.equal((await req('DELETE', `/v2.0/qos/policies/${q.id}`)).status, 204);
    });

    it('refuses to let go of a policy the caller has no access to', async () => {
      const p = await policy();
      const n = await net({ qos_policy_id: p.id, tenant_id: ALICE.project }, ADMIN);
      assert.equal(n.qos_policy_id, p.id);
      assertError(
        await req('PUT', `/v2.0/networks/${n.id}`, { network: { qos_policy_id: null } }, ALICE),
        403,
        'PolicyRemoveAuthorizationError',
        `Failed to remove provided policy ${p.id} because you are not authorized.`,
      );
      assert.equal((await ok('GET', `/v2.0/networks/${n.id}`, undefined, ALICE)).network.qos_policy_id, p.id);
    });

    it('gives new networks the project default policy; one default per project', async () => {
      const d = await policy({ is_default: true, tenant_id: BOB.project });
      assert.equal(d.is_default, true);
      assertError(
        await req('POST', '/v2.0/qos/policies', { policy: { name: 'd2', is_default: true, tenant_id: BOB.project } }),
        409,
        'QoSPolicyDefaultAlreadyExists',
        `A default QoS policy exists for project ${BOB.project}.`,
      );
      const other = await policy({ tenant_id: BOB.project });
      assertError(await req('PUT', `/v2.0/qos/policies/${other.id}`, { policy: { is_default: true } }), 409, 'QoSPolicyDefaultAlreadyExists');
      assert.equal((await net({}, BOB)).qos_policy_id, d.id);
      assert.equal((await net({ qos_policy_id: other.id }, BOB)).qos_policy_id, other.id);
      assert.deepEqual(
        (await ok('GET', `/v2.0/qos/policies?is_default=true&tenant_id=${BOB.project}`)).policies.map((x: any) => x.id),
        [d.id],
      );
      await ok('PUT', `/v2.0/qos/policies/${d.id}`, { policy: { is_default: false } });
      assert.equal((await net({}, BOB)).qos_policy_id, null);
      assert.equal((await ok('PUT', `/v2.0/qos/policies/${other.id}`, { policy: { is_default: true } })).policy.is_default, true);
    });

    it('refuses rules the Linux-bridge driver cannot apply where the policy is used', async () => {
      const p = await policy({ shared: true });
      await rule(p.id, 'minimum_bandwidth', { min_kbps: 100 });
      assertError(
        await req('POST', '/v2.0/networks', { network: { name: 'mb', qos_policy_id: p.id } }, ALICE),
        409,
        'QosRuleNotSupportedByNetwork',
        'Rule minimum_bandwidth is not supported by network',
      );
      const n = await net();
      assertError(
        await req('POST', '/v2.0/ports', { port: { network_id: n.id, qos_policy_id: p.id } }, ALICE),
        409,
        'QosRuleNotSupported',
        'Rule minimum_bandwidth is not supported by port',
      );
      assert.equal((await ok('GET', `/v2.0/ports?network_id=${n.id}`, undefined, ALICE)).ports.length, 0);
      // A policy already on a port cannot gain such a rule.
      const q = await policy({ shared: true });
      const pt = await port(n.id, { qos_policy_id: q.id });
      assertError(
        await req('POST', `/v2.0/qos/policies/${q.id}/minimum_bandwidth_rules`, { minimum_bandwidth_rule: { min_kbps: 5 } }),
        409,
        'QosRuleNotSupported',
        `Rule minimum_bandwidth is not supported by port ${pt.id}`,
      );
      // Not even through its network, and not for a vnic_type no Linux-bridge driver serves.
      const r = await net({ qos_policy_id: q.id });
      await port(r.id);
      assertError(
        await req('POST', `/v2.0/qos/policies/${q.id}/minimum_bandwidth_rules`, { minimum_bandwidth_rule: { min_kbps: 5 } }),
        409,
        'QosRuleNotSupported',
      );
      assert.deepEqual((await ok('GET', `/v2.0/qos/policies/${q.id}`)).policy.rules, []);
      const bw = await policy({ shared: true });
      await rule(bw.id, 'bandwidth_limit', { max_kbps: 100 });
      assertError(
        await req('POST', '/v2.0/ports', { port: { network_id: n.id, qos_policy_id: bw.id, 'binding:vnic_type': 'direct' } }, ADMIN),
        409,
        'QosRuleNotSupported',
        'Rule bandwidth_limit is not supported by port',
      );
      assert.equal((await port(n.id, { qos_policy_id: bw.id })).qos_policy_id, bw.id);
    });

    it('puts policies on floating IPs (qos-fip)', async () => {
      const ext = await net({ name: 'public', 'router:external': true }, ADMIN);
      await ok('POST', '/v2.0/subnets', { subnet: { network_id: ext.id, ip_version: 4, cidr: '172.30.0.0/24' } }, ADMIN, 201);
      const p = await policy({ shared: true });
      const fip = (await ok('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext.id, qos_policy_id: p.id } }, ALICE, 201))
        .floatingip;
      assert.equal(fip.qos_policy_id, p.id);
      assertError(await req('DELETE', `/v2.0/qos/policies/${p.id}`), 409, 'QosPolicyInUse', `is used by fip ${fip.id}.`);
      assert.equal((await ok('PUT', `/v2.0/floatingips/${fip.id}`, { floatingip: { description: 'd' } }, ALICE)).floatingip.qos_policy_id, p.id);
      assert.equal((await ok('PUT', `/v2.0/floatingips/${fip.id}`, { floatingip: { qos_policy_id: null } }, ALICE)).floatingip.qos_policy_id, null);
      assert.equal((await req('DELETE', `/v2.0/qos/policies/${p.id}`)).status, 204);
    });

    it('keeps one rule per type and direction, and one default, under concurrent requests', async () => {
      const p = await policy();
      const rs = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          req(
            'POST',
            `/v2.0/qos/policies/${p.id}/bandwidth_limit_rules`,
            { bandwidth_limit_rule: { max_kbps: 100 + i, direction: 'ingress' } },
            ADMIN,
          ),
        ),
      );
      assert.equal(rs.filter((r) => r.status === 201).length, 1, JSON.stringify(rs.map((r) => r.status)));
      for (const r of rs.filter((x) => x.status !== 201)) assertError(r, 409, 'QoSRulesConflict');
      assert.equal((await ok('GET', `/v2.0/qos/policies/${p.id}`)).policy.rules.length, 1);
      const project = 'project-concurrent';
      const ds = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          req('POST', '/v2.0/qos/policies', { policy: { name: `d${i}`, is_default: true, tenant_id: project } }, ADMIN),
        ),
      );
      assert.equal(ds.filter((r) => r.status === 201).length, 1, JSON.stringify(ds.map((r) => r.body)));
      for (const r of ds.filter((x) => x.status !== 201)) assertError(r, 409, 'QoSPolicyDefaultAlreadyExists');
      assert.equal((await ok('GET', `/v2.0/qos/policies?tenant_id=${project}`)).policies.length, 1);
    });

    it('never lets a policy being deleted gain a port', async () => {
      const p = await policy({ shared: true });
      const n = await net();
      const [del, ...ports] = await Promise.all([
        req('DELETE', `/v2.0/qos/policies/${p.id}`),
        ...Array.from({ length: 4 }, () => req('POST', '/v2.0/ports', { port: { network_id: n.id, qos_policy_id: p.id } }, ALICE)),
      ]);
      const created = ports.filter((r) => r.status === 201);
      if (del!.status === 204) {
        // Deleted first: every port create then found no policy.
        assert.equal(created.length, 0);
        for (const r of ports) assertError(r, 404, 'QosPolicyNotFound');
      } else {
        assertError(del!, 409, 'QosPolicyInUse');
        assert.ok(created.length > 0);
        for (const r of created) assert.equal(r.body.port.qos_policy_id, p.id);
      }
    });
  });
}

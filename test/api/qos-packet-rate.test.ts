// QoS packet rates (qos-pps, qos-pps-minimum, qos-pps-minimum-rule-alias) and ports' resource
// requests (port-resource-request, port-resource-request-groups) on every backend: the rules'
// validation and conflicts (a minimum packet rate rule of direction 'any' clashes with every
// direction, also under concurrent requests), the alias API, the Linux-bridge driver refusing
// them where the policy is used, and the resource_request computed as Neutron's QoS plugin does.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { ADMIN, ALICE, startServer, type Caller, type TestServer, okCalls } from '../helpers/server.js';
import { assertError } from '../helpers/assert-error.js';
import { customTrait, resourceRequest, uuid5 } from '../../src/plugins/qos/resource-request.js';

describe('port resource requests (pure)', () => {
  it('makes RFC 4122 version 5 UUIDs', () => {
    assert.equal(uuid5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'python.org'), '886313e1-3b8a-5372-9b90-0c9aee199e5d');
  });

  it('normalizes trait names as os_traits does', () => {
    assert.equal(customTrait('CUSTOM_PHYSNET_', 'phys-net.1'), 'CUSTOM_PHYSNET_PHYS_NET_1');
    assert.equal(customTrait('CUSTOM_VNIC_TYPE_', 'direct-physical'), 'CUSTOM_VNIC_TYPE_DIRECT_PHYSICAL');
  });

  it('groups minimum bandwidth (with the physnet) and minimum packet rate rules; none gives null', () => {
    const port = { id: '3f1a3bc8-2b6a-4f55-8c8f-5b7e8e1f0d11', vnicType: 'normal' };
    const bwE = { id: 'a', qos_policy_id: 'p', type: 'minimum_bandwidth', min_kbps: 1000, direction: 'egress' };
    const bwI = { id: 'b', qos_policy_id: 'p', type: 'minimum_bandwidth', min_kbps: 2000, direction: 'ingress' };
    const pps = { id: 'c', qos_policy_id: 'p', type: 'minimum_packet_rate', min_kpps: 300, direction: 'any' };
    const limit = { id: 'd', qos_policy_id: 'p', type: 'bandwidth_limit', max_kbps: 1, direction: 'egress' };
    const r = resourceRequest(port, [bwE, bwI, pps, limit], 'physnet1')!;
    assert.deepEqual(r.request_groups, [
      {
        id: uuid5(port.id, 'a:b'),
        required: ['CUSTOM_PHYSNET_PHYSNET1', 'CUSTOM_VNIC_TYPE_NORMAL'],
        resources: { NET_BW_EGR_KILOBIT_PER_SEC: 1000, NET_BW_IGR_KILOBIT_PER_SEC: 2000 },
      },
      { id: uuid5(port.id, 'c'), required: ['CUSTOM_VNIC_TYPE_NORMAL'], resources: { NET_PACKET_RATE_KILOPACKET_PER_SEC: 300 } },
    ]);
    assert.deepEqual(
      r.same_subtree,
      r.request_groups.map((g) => g.id),
    );
    // A network without a physnet (VXLAN) asks no bandwidth; packet rates stay.
    assert.deepEqual(resourceRequest(port, [bwE, pps], null)!.request_groups.length, 1);
    assert.equal(resourceRequest(port, [bwE], null), null);
    assert.equal(resourceRequest(port, [limit], 'physnet1'), null);
  });
});

for (const backend of BACKENDS) {
  describe(`QoS packet rates and port resource requests on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(backend);
    });
    after(async () => {
      await s?.stop();
    });

    const req = (method: string, path: string, body?: unknown, as: Caller = ADMIN) => s.req(method, path, body, as);
    const ok = okCalls(() => s, ADMIN);
    const policy = async (body: object = {}) => (await ok('POST', '/v2.0/qos/policies', { policy: { name: 'pps', ...body } }, ADMIN, 201)).policy;
    const rulePath = (policyId: string, type: string) => `/v2.0/qos/policies/${policyId}/${type}_rules`;
    const rule = async (policyId: string, type: string, body: object) =>
      (await ok('POST', rulePath(policyId, type), { [`${type}_rule`]: body }, ADMIN, 201))[`${type}_rule`];

    it('lists the extensions', async () => {
      const aliases = (await ok('GET', '/v2.0/extensions')).extensions.map((e: any) => e.alias);
      for (const a of ['qos-pps', 'qos-pps-minimum', 'qos-pps-minimum-rule-alias', 'port-resource-request', 'port-resource-request-groups']) {
        assert.ok(aliases.includes(a), a);
      }
    });

    it('manages packet rate limit rules: defaults, one per direction, validation, only admins', async () => {
      const p = await policy();
      const r = await rule(p.id, 'packet_rate_limit', { max_kpps: 1000 });
      assert.deepEqual(r, { id: r.id, max_kpps: 1000, max_burst_kpps: 0, direction: 'egress' });
      await rule(p.id, 'packet_rate_limit', { max_kpps: 10, max_burst_kpps: 20, direction: 'ingress' });
      assertError(await req('POST', rulePath(p.id, 'packet_rate_limit'), { packet_rate_limit_rule: { max_kpps: 5 } }), 409, 'QoSRulesConflict');
      for (const bad of [{}, { max_kpps: -1 }, { max_kpps: 1, direction: 'any' }, { max_kpps: 'x' }]) {
        assertError(await req('POST', rulePath(p.id, 'packet_rate_limit'), { packet_rate_limit_rule: bad }), 400);
      }
      assertError(await req('POST', rulePath(p.id, 'packet_rate_limit'), { packet_rate_limit_rule: { max_kpps: 1 } }, ALICE), 403);
      const updated = (await ok('PUT', `${rulePath(p.id, 'packet_rate_limit')}/${r.id}`, { packet_rate_limit_rule: { max_kpps: 2000 } }))
        .packet_rate_limit_rule;
      assert.equal(updated.max_kpps, 2000);
      const listed = (await ok('GET', `${rulePath(p.id, 'packet_rate_limit')}?direction=egress`)).packet_rate_limit_rules;
      assert.deepEqual(
        listed.map((x: any) => x.id),
        [r.id],
      );
      const types = (await ok('GET', `/v2.0/qos/policies/${p.id}`)).policy.rules.map((x: any) => x.type);
      assert.deepEqual(types, ['packet_rate_limit', 'packet_rate_limit']);
      assert.equal((await req('DELETE', `${rulePath(p.id, 'packet_rate_limit')}/${r.id}`)).status, 204);
    });

    it("manages minimum packet rate rules: 'any' clashes with either direction, both ways", async () => {
      const p = await policy();
      const egress = await rule(p.id, 'minimum_packet_rate', { min_kpps: 200 });
      assert.deepEqual(egress, { id: egress.id, min_kpps: 200, direction: 'egress' });
      assertError(
        await req('POST', rulePath(p.id, 'minimum_packet_rate'), { minimum_packet_rate_rule: { min_kpps: 1, direction: 'any' } }),
        409,
        'QoSRulesConflict',
      );
      // As neutron-tempest-plugin's negative tests expect: a regular project is refused, a missing policy or rule is 404.
      const body = { minimum_packet_rate_rule: { min_kpps: 300, direction: 'egress' } };
      assertError(await req('POST', rulePath('policy', 'minimum_packet_rate'), body, ALICE), 403);
      assertError(await req('POST', rulePath('qos_policy-missing', 'minimum_packet_rate'), body), 404, 'QosPolicyNotFound');
      assertError(await req('PUT', `${rulePath('qos_policy-missing', 'minimum_packet_rate')}/${egress.id}`, body), 404);
      assertError(await req('PUT', `${rulePath(p.id, 'minimum_packet_rate')}/00000000-0000-4000-8000-000000000000`, body), 404, 'QosRuleNotFound');
      const ingress = await rule(p.id, 'minimum_packet_rate', { min_kpps: 300, direction: 'ingress' });
      assertError(
        await req('PUT', `${rulePath(p.id, 'minimum_packet_rate')}/${ingress.id}`, { minimum_packet_rate_rule: { direction: 'any' } }),
        409,
        'QoSRulesConflict',
      );
      const q = await policy();
      await rule(q.id, 'minimum_packet_rate', { min_kpps: 200, direction: 'any' });
      assertError(
        await req('POST', rulePath(q.id, 'minimum_packet_rate'), { minimum_packet_rate_rule: { min_kpps: 1, direction: 'egress' } }),
        409,
        'QoSRulesConflict',
      );
      assertError(await req('POST', rulePath(q.id, 'minimum_packet_rate'), { minimum_packet_rate_rule: { direction: 'egress' } }), 400);
      assertError(await req('POST', rulePath(q.id, 'minimum_packet_rate'), { minimum_packet_rate_rule: { min_kpps: 1, direction: 'both' } }), 400);
      const shown = (await ok('GET', `/v2.0/qos/policies/${p.id}`)).policy.rules.map((x: any) => `${x.type}/${x.direction}`);
      assert.deepEqual(shown.sort(), ['minimum_packet_rate/egress', 'minimum_packet_rate/ingress']);
    });

    it('reaches minimum packet rate rules by id through /v2.0/qos/alias-minimum-packet-rate-rules', async () => {
      const p = await policy();
      const r = await rule(p.id, 'minimum_packet_rate', { min_kpps: 10 });
      const path = `/v2.0/qos/alias-minimum-packet-rate-rules/${r.id}`;
      assert.deepEqual((await ok('GET', path)).alias_minimum_packet_rate_rule, { id: r.id, min_kpps: 10, direction: 'egress' });
      assert.equal(
        (await ok('PUT', path, { alias_minimum_packet_rate_rule: { min_kpps: 20, direction: 'any' } })).alias_minimum_packet_rate_rule.min_kpps,
        20,
      );
      assert.equal((await ok('GET', `${rulePath(p.id, 'minimum_packet_rate')}/${r.id}`)).minimum_packet_rate_rule.direction, 'any');
      assertError(await req('PUT', path, { alias_minimum_packet_rate_rule: { min_kpps: 1 } }, ALICE), 404);
      assert.equal((await req('DELETE', path)).status, 204);
      assertError(await req('GET', path), 404, 'QosRuleNotFound');
      // Packet rate limit rules have no alias in Neutron.
      assert.equal((await req('GET', `/v2.0/qos/alias-packet-rate-limit-rules/${r.id}`)).status, 404);
    });

    it('rule types: the Linux-bridge driver supports neither packet rate rule, so they are refused where used', async () => {
      const types = (await ok('GET', '/v2.0/qos/rule-types')).rule_types.map((t: any) => t.type);
      assert.ok(!types.includes('packet_rate_limit') && !types.includes('minimum_packet_rate'));
      const all = (await ok('GET', '/v2.0/qos/rule-types?all_rules=true')).rule_types.map((t: any) => t.type);
      assert.ok(all.includes('packet_rate_limit') && all.includes('minimum_packet_rate'));
      assert.deepEqual((await ok('GET', '/v2.0/qos/rule-types/minimum_packet_rate')).rule_type.drivers, []);
      const p = await policy({ shared: true });
      await rule(p.id, 'minimum_packet_rate', { min_kpps: 10 });
      const n = (await ok('POST', '/v2.0/networks', { network: { name: 'pps' } }, ALICE, 201)).network;
      assertError(await req('POST', '/v2.0/ports', { port: { network_id: n.id, qos_policy_id: p.id } }, ALICE), 409, 'QosRuleNotSupported');
      assertError(await req('PUT', `/v2.0/networks/${n.id}`, { network: { qos_policy_id: p.id } }, ALICE), 409, 'QosRuleNotSupportedByNetwork');
      const q = await policy({ shared: true });
      const port = (await ok('POST', '/v2.0/ports', { port: { network_id: n.id, qos_policy_id: q.id } }, ALICE, 201)).port;
      assertError(await req('POST', rulePath(q.id, 'packet_rate_limit'), { packet_rate_limit_rule: { max_kpps: 5 } }), 409, 'QosRuleNotSupported');
      assert.deepEqual((await ok('GET', `/v2.0/qos/policies/${q.id}`)).policy.rules, []);
      assert.equal((await ok('GET', `/v2.0/ports/${port.id}`)).port.resource_request, null);
    });

    it('resource_request: null without minimum rules, shown to admins only', async () => {
      const n = (await ok('POST', '/v2.0/networks', { network: { name: 'rr' } }, ALICE, 201)).network;
      const p = await policy({ shared: true });
      await rule(p.id, 'bandwidth_limit', { max_kbps: 1000 });
      const created = (await ok('POST', '/v2.0/ports', { port: { network_id: n.id, qos_policy_id: p.id, tenant_id: ALICE.project } }, ADMIN, 201))
        .port;
      assert.equal(created.resource_request, null);
      assert.equal((await ok('GET', `/v2.0/ports/${created.id}`)).port.resource_request, null);
      assert.equal((await ok('GET', `/v2.0/ports?id=${created.id}&fields=resource_request`)).ports[0].resource_request, null);
      assert.ok(!('resource_request' in (await ok('GET', `/v2.0/ports/${created.id}`, undefined, ALICE)).port));
    });

    it('keeps one minimum packet rate rule per direction (any clashing with all) under concurrent requests', async () => {
      const p = await policy();
      const rs = await Promise.all(
        ['any', 'egress', 'ingress', 'any', 'egress', 'ingress'].map((direction, i) =>
          req('POST', rulePath(p.id, 'minimum_packet_rate'), { minimum_packet_rate_rule: { min_kpps: 10 + i, direction } }),
        ),
      );
      const created = rs.filter((r) => r.status === 201).map((r) => r.body.minimum_packet_rate_rule.direction);
      for (const r of rs.filter((x) => x.status !== 201)) assertError(r, 409, 'QoSRulesConflict');
      // Either 'any' alone, or one egress and/or one ingress rule.
      assert.ok(
        (created.length === 1 && created[0] === 'any') ||
          (created.length <= 2 && !created.includes('any') && new Set(created).size === created.length),
        JSON.stringify(created),
      );
      assert.equal((await ok('GET', `/v2.0/qos/policies/${p.id}`)).policy.rules.length, created.length);
    });
  });
}

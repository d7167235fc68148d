// The port list the database writes (PortHandler.listJson, issue 14) is byte for byte the generic
// path's, on every backend, for ports with every kind of attribute: fixed IPs on two subnets,
// tags, security groups, extra DHCP options, bindings, allowed address pairs, QoS, trunk details,
// names with escapes and non-ASCII text. The generic path is asked for with `fields` naming every
// attribute (a list with fields never takes the database-written path), which gives the same keys
// in the same (definition) order.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { ADMIN, ALICE, startServer, type Caller, type TestServer } from '../helpers/server.js';

for (const backend of BACKENDS) {
  describe(`port list written by the database on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let s: TestServer;
    let netId: string;

    before(async () => {
      s = await startServer(backend);
      const ok = async (method: string, path: string, body: unknown, as: Caller, status: number) => {
        const r = await s.req(method, path, body, as);
        assert.equal(r.status, status, JSON.stringify(r.body));
        return r.body;
      };
      netId = (await ok('POST', '/v2.0/networks', { network: { name: 'n' } }, ALICE, 201)).network.id;
      const sub4 = (await ok('POST', '/v2.0/subnets', { subnet: { network_id: netId, ip_version: 4, cidr: '10.9.0.0/24' } }, ALICE, 201)).subnet.id;
      await ok('POST', '/v2.0/subnets', { subnet: { network_id: netId, ip_version: 6, cidr: 'fd00:9::/64' } }, ALICE, 201);
      const sg1 = (await ok('POST', '/v2.0/security-groups', { security_group: { name: 'a' } }, ALICE, 201)).security_group.id;
      const sg2 = (await ok('POST', '/v2.0/security-groups', { security_group: { name: 'b' } }, ALICE, 201)).security_group.id;
      const qos = (await ok('POST', '/v2.0/qos/policies', { policy: { name: 'q', shared: true } }, ADMIN, 201)).policy.id;
      const port = (p: Record<string, unknown>, as: Caller = ALICE) => ok('POST', '/v2.0/ports', { port: { network_id: netId, ...p } }, as, 201);
      // First, so that no randomly allocated address takes the fixed ones it asks for.
      await port({
        name: 'quote " backslash \\ tab \t nl \n é 😀 \u2028',
        description: 'ctl \u0001\u001f',
        fixed_ips: [
          { subnet_id: sub4, ip_address: '10.9.0.77' },
          { subnet_id: sub4, ip_address: '10.9.0.5' },
        ],
        tags: ['zeta', 'alpha', 'Mid', 'ünï'],
        security_groups: [sg2, sg1],
        extra_dhcp_opts: [
          { opt_name: 'tftp-server', opt_value: '10.0.0.1' },
          { opt_name: 'bootfile-name', opt_value: 'pxelinux.0', ip_version: 4 },
          { opt_name: 'dns-server', opt_value: 'fd00::1', ip_version: 6 },
        ],
        allowed_address_pairs: [{ ip_address: '10.9.0.200' }, { ip_address: '192.0.2.0/24', mac_address: 'fa:16:3e:00:00:01' }],
        qos_policy_id: qos,
        device_owner: 'compute:nova',
        device_id: 'vm-1',
      });
      await port({ name: 'plain' });
      await port(
        {
          name: 'bound',
          'binding:host_id': 'host-1',
          'binding:profile': { z: 1, a: [true, null, 'x'], 'k"': { n: 2.5 } },
          'binding:vnic_type': 'direct',
        },
        ADMIN,
      );
      await port({ name: 'no-security', port_security_enabled: false, security_groups: [], admin_state_up: false });
      // The ML2 extension drivers' attributes; trusted is mirrored into binding:profile (appended, or in its place).
      await port(
        {
          name: 'attributes',
          device_profile: 'dp-1',
          numa_affinity_policy: 'preferred',
          hints: { openvswitch: { other_config: { 'tx-steering': 'hash' } } },
          trusted: true,
          propagate_uplink_status: false,
          'binding:profile': { z: 1, 'k"': { n: 2.5, s: 'é\u0001' } },
        },
        ADMIN,
      );
      await port({ name: 'trusted in place', trusted: false, 'binding:profile': { a: 1, trusted: false, b: [2] } }, ADMIN);
      await port({ name: 'trusted, empty profile', trusted: true }, ADMIN);
      await port({ name: 'no address', fixed_ips: [] });
      const parent = (await port({ name: 'trunk parent' })).port.id;
      const sub1 = (await port({ name: 'sub1' })).port.id;
      const sub2 = (await port({ name: 'sub2' })).port.id;
      await ok(
        'POST',
        '/v2.0/trunks',
        {
          trunk: {
            port_id: parent,
            sub_ports: [
              { port_id: sub2, segmentation_type: 'vlan', segmentation_id: 20 },
              { port_id: sub1, segmentation_type: 'vlan', segmentation_id: 3 },
            ],
          },
        },
        ALICE,
        201,
      );
      await ok('PUT', `/v2.0/ports/${sub1}`, { port: { name: 'renamed', tags: undefined } }, ALICE, 200);
      await ok('PUT', `/v2.0/ports/${sub2}/tags/t2`, undefined, ALICE, 201);
    });

    after(async () => {
      await s?.stop();
    });

    /** The body's text as sent, and the generic path's for the same list (every attribute by `fields`). */
    async function both(as: Caller, query: string): Promise<{ fast: string; generic: string }> {
      const get = async (path: string) => {
        const r = await fetch(s.url + path, { headers: { 'x-project-id': as.project!, 'x-roles': as.roles!, 'x-user-id': as.user! } });
        assert.equal(r.status, 200, `${path}: ${r.status === 200 ? '' : await r.text()}`);
        assert.match(r.headers.get('content-type') ?? '', /^application\/json; charset=utf-8$/);
        return r.text();
      };
      const fast = await get(`/v2.0/ports${query}`);
      const keys = new Set<string>();
      for (const p of JSON.parse(fast).ports) for (const k of Object.keys(p)) keys.add(k);
      const fields = [...keys].map((k) => `fields=${encodeURIComponent(k)}`).join('&');
      const generic = await get(`/v2.0/ports${query}${query ? '&' : '?'}${fields}`);
      return { fast, generic };
    }

    for (const [who, as] of [
      ['admin', ADMIN],
      ['non-admin', ALICE],
    ] as const) {
      it(`gives the generic path's bytes (${who})`, async () => {
        const { fast, generic } = await both(as, `?network_id=${netId}`);
        assert.equal(fast, generic);
        const ports = JSON.parse(fast).ports as Array<Record<string, unknown>>;
        assert.equal(ports.length, 11);
        const attrs = ports.find((p) => p.name === 'attributes')!;
        assert.equal(attrs.device_profile, 'dp-1');
        assert.equal(attrs.propagate_uplink_status, false);
        assert.equal(ports.find((p) => p.name === 'no address')!.ip_allocation, 'none');
        if (who === 'admin') {
          assert.deepEqual(attrs['binding:profile'], { z: 1, 'k"': { n: 2.5, s: 'é\u0001' }, trusted: true });
          assert.deepEqual(Object.keys(ports.find((p) => p.name === 'trusted in place')!['binding:profile'] as object), ['a', 'trusted', 'b']);
          assert.deepEqual(ports.find((p) => p.name === 'trusted, empty profile')!['binding:profile'], { trusted: true });
        }
        // The mixed set really has what it is meant to show.
        const rich = ports.find((p) => p.device_id === 'vm-1')!;
        assert.equal((rich.fixed_ips as unknown[]).length, 2);
        assert.equal((ports.find((p) => p.name === 'plain')!.fixed_ips as unknown[]).length, 2, 'an address on each subnet');
        assert.equal((rich.extra_dhcp_opts as unknown[]).length, 3);
        assert.equal((rich.allowed_address_pairs as unknown[]).length, 2);
        assert.equal((rich.security_groups as unknown[]).length, 2);
        assert.deepEqual(rich.tags, ['Mid', 'alpha', 'zeta', 'ünï']);
        assert.ok(rich.qos_policy_id);
        assert.ok(
          ports.some((p) => p.trunk_details),
          'a trunk parent',
        );
      });
    }

    it('is written by the database on SQLite and PostgreSQL (a new port attribute needs its SQL: see portJson)', async () => {
      // admin_state_up stored as 2: the database writes true (<> 0), the generic path false (i2b),
      // which shows the path that answered.
      const id = (await s.req('GET', `/v2.0/ports?network_id=${netId}&name=plain`, undefined, ADMIN)).body.ports[0].id as string;
      await s.server.db.kysely.updateTable('ports').set({ admin_state_up: 2 }).where('id', '=', id).execute();
      try {
        const text = await (
          await fetch(`${s.url}/v2.0/ports?network_id=${netId}`, { headers: { 'x-project-id': ADMIN.project!, 'x-roles': ADMIN.roles! } })
        ).text();
        const listed = JSON.parse(text).ports.find((p: { id: string }) => p.id === id);
        assert.equal(listed.admin_state_up, backend.name !== 'mysql', 'the admin list took the other path');
      } finally {
        await s.server.db.kysely.updateTable('ports').set({ admin_state_up: 1 }).where('id', '=', id).execute();
      }
    });

    it('is written by the database for a non-admin too, whose scope policy allows whole', async () => {
      // admin_state_up stored as 2: the database writes true (<> 0), the generic path false (i2b),
      // which shows the path that answered. ALICE sees her own ports and the admin's on her network.
      const id = (await s.req('GET', `/v2.0/ports?network_id=${netId}&name=plain`, undefined, ADMIN)).body.ports[0].id as string;
      await s.server.db.kysely.updateTable('ports').set({ admin_state_up: 2 }).where('id', '=', id).execute();
      try {
        const headers = { 'x-project-id': ALICE.project!, 'x-roles': ALICE.roles!, 'x-user-id': ALICE.user! };
        const list = JSON.parse(await (await fetch(`${s.url}/v2.0/ports?network_id=${netId}`, { headers })).text()).ports;
        const fast = backend.name !== 'mysql';
        assert.equal(list.find((p: { id: string }) => p.id === id).admin_state_up, fast, 'the non-admin list took the other path');
        const shown = JSON.parse(await (await fetch(`${s.url}/v2.0/ports/${id}`, { headers })).text()).port;
        assert.equal(shown.admin_state_up, fast, 'the non-admin show took the other path');
        assert.equal(shown['binding:host_id'], undefined);
      } finally {
        await s.server.db.kysely.updateTable('ports').set({ admin_state_up: 1 }).where('id', '=', id).execute();
      }
    });

    it("shows each port with the generic path's bytes, and 404s as it does", async () => {
      const get = async (path: string, as: Caller) => {
        const r = await fetch(s.url + path, { headers: { 'x-project-id': as.project!, 'x-roles': as.roles!, 'x-user-id': as.user! } });
        return { status: r.status, type: r.headers.get('content-type'), text: await r.text() };
      };
      const ports = (await s.req('GET', `/v2.0/ports?network_id=${netId}`, undefined, ADMIN)).body.ports as Array<Record<string, unknown>>;
      for (const p of ports) {
        const fields = Object.keys(p)
          .map((k) => `fields=${encodeURIComponent(k)}`)
          .join('&');
        for (const as of [ADMIN, ALICE]) {
          const fast = await get(`/v2.0/ports/${p.id}`, as);
          const generic = await get(`/v2.0/ports/${p.id}?${fields}`, as);
          assert.equal(fast.status, 200);
          assert.equal(fast.type, generic.type);
          // The generic path's fields name the admin's keys: the policy drops the same ones for both.
          assert.equal(fast.text, generic.text);
        }
      }
      const missing = await get('/v2.0/ports/00000000-0000-0000-0000-000000000000', ADMIN);
      assert.equal(missing.status, 404);
      assert.equal(JSON.parse(missing.text).NeutronError.type, 'PortNotFound');
    });

    it("gives the generic path's bytes when sorted, filtered and for all networks", async () => {
      for (const q of ['?sort_key=name&sort_dir=desc', '?device_owner=compute:nova', '?tags-any=t2', '']) {
        const { fast, generic } = await both(ADMIN, q);
        assert.equal(fast, generic, q);
      }
    });

    it("gives the generic path's bytes for ports on a network with a QoS policy, and for a few ports among many", async () => {
      // The ports' lists and lookups are read for all the listed ports at once on PostgreSQL
      // (grouped and joined by port or by network): the network's policy is one row for many ports.
      const qos = (await s.req('POST', '/v2.0/qos/policies', { policy: { name: 'net' } }, ADMIN)).body.policy.id as string;
      const net = (await s.req('POST', '/v2.0/networks', { network: { name: 'with policy', qos_policy_id: qos } }, ADMIN)).body.network.id as string;
      await s.req('POST', '/v2.0/subnets', { subnet: { network_id: net, ip_version: 4, cidr: '10.29.0.0/24' } }, ADMIN);
      const made = await s.req(
        'POST',
        '/v2.0/ports',
        { ports: [1, 2, 3].map((i) => ({ network_id: net, name: `np${i}`, device_id: `few-${i % 2}`, tags: [`t${i}`, 'all'] })) },
        ADMIN,
      );
      assert.equal(made.status, 201, JSON.stringify(made.body));
      for (const q of [
        `?network_id=${net}`,
        '?device_id=few-1',
        `?network_id=${net}&tags=all&sort_key=name&sort_dir=desc`,
        '?fixed_ips=ip_address_substr=10.29.',
      ]) {
        const { fast, generic } = await both(ADMIN, q);
        assert.equal(fast, generic, q);
        assert.ok(JSON.parse(fast).ports.length > 0, q);
      }
      const ports = JSON.parse((await both(ADMIN, `?network_id=${net}&sort_key=name&sort_dir=asc`)).fast).ports as Array<Record<string, unknown>>;
      assert.deepEqual(
        ports.map((p) => p.name),
        ['np1', 'np2', 'np3'],
      );
      assert.deepEqual(ports[0]!.tags, ['all', 't1']);
      if ('qos_network_policy_id' in ports[0]!) assert.equal(ports[0]!.qos_network_policy_id, qos);
      assert.equal(JSON.parse((await both(ADMIN, '?device_id=few-1')).fast).ports.length, 2);
    });

    // Last: it adds a network whose port takes the generic path (resource_request is computed in code).
    it("gives the generic path's bytes for a port whose QoS policy has a minimum rule", async () => {
      const net = (await s.req('POST', '/v2.0/networks', { network: { name: 'min' } }, ADMIN)).body.network.id as string;
      await s.req('POST', '/v2.0/subnets', { subnet: { network_id: net, ip_version: 4, cidr: '10.19.0.0/24' } }, ADMIN);
      const qos = (await s.req('POST', '/v2.0/qos/policies', { policy: { name: 'min' } }, ADMIN)).body.policy.id as string;
      const rule = await s.req('POST', `/v2.0/qos/policies/${qos}/minimum_bandwidth_rules`, { minimum_bandwidth_rule: { min_kbps: 1000 } }, ADMIN);
      assert.equal(rule.status, 201, JSON.stringify(rule.body));
      // Bound in the table: the Linux bridge driver refuses minimum rules on a port through the API.
      const withPolicy = (await s.req('POST', '/v2.0/ports', { port: { network_id: net, name: 'with policy' } }, ADMIN)).body.port.id as string;
      await s.server.db.kysely.insertInto('qos_port_policy_bindings').values({ port_id: withPolicy, policy_id: qos }).execute();
      await s.req('POST', '/v2.0/ports', { port: { network_id: net, name: 'without' } }, ADMIN);
      const { fast, generic } = await both(ADMIN, `?network_id=${net}`);
      assert.equal(JSON.parse(fast).ports.length, 2);
      assert.equal(fast, generic);
      for (const p of JSON.parse(fast).ports) {
        const shown = await fetch(`${s.url}/v2.0/ports/${p.id}`, { headers: { 'x-project-id': ADMIN.project!, 'x-roles': ADMIN.roles! } });
        assert.deepEqual(JSON.parse(await shown.text()).port, p);
      }
    });
  });
}

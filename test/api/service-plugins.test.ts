// The server is what `[DEFAULT] service_plugins` says: a plugin left out lists none of its
// extensions, serves none of its routes (404) and accepts none of its attributes (400), as
// Neutron does; Neutron's names and class paths are accepted, an unknown name stops start-up.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS } from '../helpers/backends.js';
import { ADMIN, startServer, type TestServer } from '../helpers/server.js';
import { assertError } from '../helpers/assert-error.js';
import { loadConfig } from '../../src/config/index.js';
import { pluginsFor } from '../../src/server/plugins.js';

const sqlite = BACKENDS[0]!;
const aliasesOf = async (s: TestServer): Promise<Set<string>> =>
  new Set((await s.req('GET', '/v2.0/extensions')).body.extensions.map((e: { alias: string }) => e.alias));

describe('service_plugins: without router, qos and trunk', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer(sqlite, { DEFAULT: { service_plugins: 'segments,metering' } });
  });
  after(async () => {
    await s?.stop();
  });

  it('lists none of their extensions, and those of the plugins named', async () => {
    const aliases = await aliasesOf(s);
    for (const a of ['router', 'ext-gw-mode', 'extraroute', 'l3_agent_scheduler', 'qos', 'qos-fip', 'qos-default', 'trunk', 'trunk-details']) {
      assert.ok(!aliases.has(a), `${a} listed`);
    }
    for (const a of ['segment', 'metering', 'network', 'security-group', 'network-ip-availability', 'dhcp_agent_scheduler'].filter(
      (x) => x !== 'network',
    )) {
      assert.ok(aliases.has(a), `${a} not listed`);
    }
    assertError(await s.req('GET', '/v2.0/extensions/router'), 404);
  });

  it('404s their routes', async () => {
    for (const path of ['/v2.0/routers', '/v2.0/floatingips', '/v2.0/qos/policies', '/v2.0/qos/rule-types', '/v2.0/trunks']) {
      assertError(await s.req('GET', path, undefined, ADMIN), 404, 'HTTPNotFound');
    }
    const id = '8b2f8ab5-1f5e-4c2f-9a3b-0d7a4b5c6d7e';
    assertError(await s.req('PUT', `/v2.0/routers/${id}/add_router_interface`, { subnet_id: id }, ADMIN), 404);
    assertError(await s.req('GET', `/v2.0/agents/${id}/l3-routers`, undefined, ADMIN), 404);
    assertError(await s.req('PUT', `/v2.0/trunks/${id}/add_subports`, { sub_ports: [] }, ADMIN), 404);
  });

  it('rejects their attributes and shows none of them', async () => {
    const policy = '8b2f8ab5-1f5e-4c2f-9a3b-0d7a4b5c6d7f';
    assertError(await s.req('POST', '/v2.0/networks', { network: { name: 'n', qos_policy_id: policy } }, ADMIN), 400, undefined, 'qos_policy_id');
    const net = await s.req('POST', '/v2.0/networks', { network: { name: 'n' } }, ADMIN);
    assert.equal(net.status, 201);
    assert.ok(!('qos_policy_id' in net.body.network));
    const port = await s.req('POST', '/v2.0/ports', { port: { network_id: net.body.network.id } }, ADMIN);
    assert.equal(port.status, 201);
    assert.ok(!('trunk_details' in port.body.port));
    assert.ok(!('qos_policy_id' in port.body.port));
    assertError(await s.req('PUT', `/v2.0/ports/${port.body.port.id}`, { port: { qos_policy_id: null } }, ADMIN), 400);
  });

  it('has none of their default policy rules (and its own)', () => {
    for (const rule of ['create_router', 'get_floatingip', 'create_policy', 'get_policy_bandwidth_limit_rule', 'create_trunk', 'add_subports']) {
      assert.ok(!s.server.policy.has(rule), `${rule} defined`);
    }
    for (const rule of ['create_segment', 'create_metering_label', 'create_network', 'create_security_group'])
      assert.ok(s.server.policy.has(rule), `${rule} missing`);
  });

  it('serves what it loaded', async () => {
    assert.equal((await s.req('GET', '/v2.0/segments', undefined, ADMIN)).status, 200);
    assert.equal((await s.req('GET', '/v2.0/metering/metering-labels', undefined, ADMIN)).status, 200);
  });
});

describe('service_plugins: only the router (by its Neutron class path)', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer(sqlite, { DEFAULT: { service_plugins: 'neutron.services.l3_router.l3_router_plugin.L3RouterPlugin' } });
  });
  after(async () => {
    await s?.stop();
  });

  it('has routers but no QoS (so no qos-fip either), trunks, segments or metering', async () => {
    const aliases = await aliasesOf(s);
    assert.ok(aliases.has('router') && aliases.has('l3_agent_scheduler'));
    for (const a of ['qos', 'qos-fip', 'trunk', 'segment', 'metering']) assert.ok(!aliases.has(a), `${a} listed`);
    assert.equal((await s.req('GET', '/v2.0/routers', undefined, ADMIN)).status, 200);
    assertError(await s.req('GET', '/v2.0/segments', undefined, ADMIN), 404);
    assert.ok(s.server.policy.has('create_router') && s.server.policy.has('create_router:tags'));
    assert.ok(!s.server.policy.has('create_policy') && !s.server.policy.has('create_segment'));
    assertError(
      await s.req('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: 'x', qos_policy_id: null } }, ADMIN),
      400,
      undefined,
      'qos_policy_id',
    );
  });
});

describe('service_plugins: the configuration', () => {
  const names = (service_plugins?: string) =>
    pluginsFor(loadConfig([], service_plugins === undefined ? {} : { DEFAULT: { service_plugins } })).map((p) => p.name);

  it('loads every service plugin when unset, the core always, RBAC last', () => {
    const all = names();
    for (const n of ['ml2', 'router', 'qos', 'trunk', 'segments', 'metering', 'network_ip_availability', 'flavors']) assert.ok(all.includes(n), n);
    assert.equal(all.at(-1), 'rbac');
  });

  it("loads Neutron's default service plugins whatever the list says, and accepts the built-in names", () => {
    assert.deepEqual(
      names('tag,timestamp,revisions').filter(
        (n) => !['ml2', 'security-group', 'agents', 'dhcp', 'metadata', 'address-management', 'rbac'].includes(n),
      ),
      ['network_ip_availability', 'flavors'],
    );
  });

  it('refuses an unknown plugin at start-up, naming it and what exists', () => {
    assert.throws(() => names('router,firewall_v2'), /service_plugins: firewall_v2 not available; neutrino has router, qos/);
  });
});

describe('[ml2] mechanism_drivers', () => {
  it('refuses drivers neutrino does not have, and a list without linuxbridge', async () => {
    await assert.rejects(
      startServer(sqlite, { ml2: { mechanism_drivers: 'openvswitch,linuxbridge' } }),
      /mechanism_drivers: openvswitch not supported/,
    );
    await assert.rejects(startServer(sqlite, { ml2: { mechanism_drivers: 'l2population' } }), /linuxbridge is required/);
  });
});

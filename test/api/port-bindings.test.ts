// Port bindings (binding-extended) as Nova's live migration uses them: an INACTIVE binding for
// the destination host, its activation (the agents are told), the source binding's deletion;
// Neutron's errors for each wrong call, the admin-only default policy, and concurrent creates and
// activations on one port.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { ADMIN, ALICE, BOB, startServer, type Caller, type TestServer } from '../helpers/server.js';
import { assertError } from '../helpers/assert-error.js';
import { waitFor } from '../helpers/wait.js';
import { createOrUpdateAgent } from '../../src/plugins/agents/report-state.js';
import { MemoryBroker, MemoryBus, silentLogger, type RpcBus } from '../../src/rpc/index.js';

const lbAgent = (host: string, tunnelingIp: string) => ({
  agent_type: 'Linux bridge agent',
  binary: 'neutron-linuxbridge-agent',
  host,
  topic: 'N/A',
  configurations: { tunnel_types: ['vxlan'], tunneling_ip: tunnelingIp, interface_mappings: {} },
});
const BRIDGE_DETAILS = { port_filter: true, connectivity: 'l2' };
const SERVICE: Caller = { project: 'service-project', roles: 'service', user: 'nova' };

for (const backend of BACKENDS) {
  describe(`port bindings (binding-extended) on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let s: TestServer;
    let serverBus: RpcBus;
    let agentBus: RpcBus;
    let netId: string;
    const updates: any[] = [];

    before(async () => {
      const broker = new MemoryBroker();
      serverBus = new MemoryBus({ broker, logger: silentLogger });
      agentBus = new MemoryBus({ broker, logger: silentLogger });
      s = await startServer(backend, {}, { bus: serverBus });
      const opts = { agentDownTime: 75 };
      for (const [i, host] of ['compute-1', 'compute-2', 'compute-3'].entries())
        await createOrUpdateAgent(s.server.db, lbAgent(host, `10.0.0.${i + 1}`), opts);
      await createOrUpdateAgent(s.server.db, lbAgent('compute-dead', '10.0.0.9'), { agentDownTime: 75, now: () => Date.now() - 3_600_000 });
      await agentBus.serve('q-agent-notifier-port-update', 'compute-2', { port_update: (_ctx: unknown, args: unknown) => void updates.push(args) });
      const n = await s.req('POST', '/v2.0/networks', { network: { name: 'migrations', shared: true } }, ADMIN);
      assert.equal(n.status, 201, JSON.stringify(n.body));
      netId = n.body.network.id;
    });
    after(async () => {
      await s?.stop();
      await agentBus?.close();
      await serverBus?.close();
    });

    const newPort = async (host: string, deviceOwner = 'compute:nova') => {
      const r = await s.req('POST', '/v2.0/ports', { port: { network_id: netId, 'binding:host_id': host, device_owner: deviceOwner } }, ADMIN);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body.port;
    };
    const bindings = (id: string, query = '', as: Caller = ADMIN) => s.req('GET', `/v2.0/ports/${id}/bindings${query}`, undefined, as);
    const bind = (id: string, binding: unknown, as: Caller = ADMIN) => s.req('POST', `/v2.0/ports/${id}/bindings`, { binding }, as);
    const activate = (id: string, host: string, as: Caller = ADMIN) => s.req('PUT', `/v2.0/ports/${id}/bindings/${host}/activate`, undefined, as);
    const unbind = (id: string, host: string, as: Caller = ADMIN) => s.req('DELETE', `/v2.0/ports/${id}/bindings/${host}`, undefined, as);
    const port = async (id: string) => (await s.req('GET', `/v2.0/ports/${id}`, undefined, ADMIN)).body.port;

    it('lists binding-extended among the extensions', async () => {
      const r = await s.req('GET', '/v2.0/extensions/binding-extended', undefined, ADMIN);
      assert.equal(r.status, 200);
      assert.equal(r.body.extension.alias, 'binding-extended');
    });

    it('live-migrates a port: inactive binding on the destination, activation, deletion of the source binding', async () => {
      const p = await newPort('compute-1');
      const first = await bindings(p.id);
      assert.equal(first.status, 200, JSON.stringify(first.body));
      assert.deepEqual(first.body.bindings, [
        { host: 'compute-1', vif_type: 'bridge', vif_details: BRIDGE_DETAILS, vnic_type: 'normal', profile: {}, status: 'ACTIVE' },
      ]);

      const created = await bind(p.id, { host: 'compute-2', profile: { migrating_to: 'compute-2' } });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.deepEqual(created.body.binding, {
        host: 'compute-2',
        vif_type: 'bridge',
        vif_details: BRIDGE_DETAILS,
        vnic_type: 'normal',
        profile: { migrating_to: 'compute-2' },
        status: 'INACTIVE',
      });
      // The port itself still runs on the source.
      assert.equal((await port(p.id))['binding:host_id'], 'compute-1');
      const shown = await s.req('GET', `/v2.0/ports/${p.id}/bindings/compute-2`, undefined, ADMIN);
      assert.deepEqual(shown.body.binding, created.body.binding);
      const both = await bindings(p.id);
      assert.deepEqual(
        both.body.bindings.map((b: any) => [b.host, b.status]),
        [
          ['compute-1', 'ACTIVE'],
          ['compute-2', 'INACTIVE'],
        ],
      );
      assert.deepEqual(
        (await bindings(p.id, '?status=INACTIVE')).body.bindings.map((b: any) => b.host),
        ['compute-2'],
      );
      assert.deepEqual(
        (await bindings(p.id, '?host=compute-1&vif_type=bridge')).body.bindings.map((b: any) => b.host),
        ['compute-1'],
      );
      assert.deepEqual((await bindings(p.id, '?vnic_type=direct')).body.bindings, []);
      assert.deepEqual((await bindings(p.id, '?fields=host&fields=status')).body.bindings, [
        { host: 'compute-1', status: 'ACTIVE' },
        { host: 'compute-2', status: 'INACTIVE' },
      ]);
      assert.deepEqual((await s.req('GET', `/v2.0/ports/${p.id}/bindings/compute-2?fields=vif_type`, undefined, ADMIN)).body.binding, {
        vif_type: 'bridge',
      });
      assertError(await bindings(p.id, '?name=x'), 400, 'HTTPBadRequest', "'name'");

      const revision = (await port(p.id)).revision_number;
      updates.length = 0;
      const act = await activate(p.id, 'compute-2');
      assert.equal(act.status, 200, JSON.stringify(act.body));
      assert.equal(act.body.binding.host, 'compute-2');
      assert.equal(act.body.binding.status, 'ACTIVE');
      assert.deepEqual(act.body.binding.profile, { migrating_to: 'compute-2' });
      const moved = await port(p.id);
      assert.equal(moved['binding:host_id'], 'compute-2');
      assert.equal(moved['binding:vif_type'], 'bridge');
      assert.deepEqual(moved['binding:profile'], { migrating_to: 'compute-2' });
      assert.equal(moved.status, 'DOWN');
      assert.ok(moved.revision_number > revision);
      // The agents hear of it as of a host change.
      const told = await waitFor('port_update', () => updates.find((u) => u.port.id === p.id));
      assert.equal(told.port['binding:host_id'], 'compute-2');
      assert.equal(told.network_type, 'vxlan');
      const swapped = await bindings(p.id);
      assert.deepEqual(
        swapped.body.bindings.map((b: any) => [b.host, b.status]),
        [
          ['compute-2', 'ACTIVE'],
          ['compute-1', 'INACTIVE'],
        ],
      );

      const del = await unbind(p.id, 'compute-1');
      assert.equal(del.status, 204);
      assert.deepEqual(
        (await bindings(p.id)).body.bindings.map((b: any) => b.host),
        ['compute-2'],
      );
      assertError(
        await s.req('GET', `/v2.0/ports/${p.id}/bindings/compute-1`, undefined, ADMIN),
        404,
        'PortBindingNotFound',
        `Binding for port ${p.id} for host compute-1 could not be found.`,
      );
    });

    it('refuses a second binding for a host, on the active host too (409 PortBindingAlreadyExists)', async () => {
      const p = await newPort('compute-1');
      assert.equal((await bind(p.id, { host: 'compute-2' })).status, 201);
      assertError(
        await bind(p.id, { host: 'compute-2' }),
        409,
        'PortBindingAlreadyExists',
        `Binding for port ${p.id} on host compute-2 already exists.`,
      );
      assertError(await bind(p.id, { host: 'compute-1' }), 409, 'PortBindingAlreadyExists');
    });

    it('fails with PortBindingError where the mechanism driver cannot bind, and stores nothing', async () => {
      const p = await newPort('compute-1');
      for (const host of ['nowhere', 'compute-dead']) {
        assertError(await bind(p.id, { host }), 500, 'PortBindingError', `Binding for port ${p.id} on host ${host} could not be created or updated.`);
      }
      assertError(await bind(p.id, { host: 'compute-2', vnic_type: 'direct' }), 500, 'PortBindingError');
      assert.equal((await bindings(p.id)).body.bindings.length, 1);
    });

    it('answers a missing port with PortNotFound and a non-instance port with BadRequest', async () => {
      const missing = '6f1a1cb4-1f7e-4b1c-9e0a-3b5f0b1f0c11';
      assertError(await bindings(missing), 404, 'PortNotFound');
      assertError(await bind(missing, { host: 'compute-2' }), 404, 'PortNotFound');
      assertError(await activate(missing, 'compute-2'), 404, 'PortNotFound');
      assertError(await unbind(missing, 'compute-2'), 404, 'PortNotFound');
      const dhcp = await newPort('compute-1', 'network:dhcp');
      assertError(await bindings(dhcp.id), 400, 'BadRequest', 'Operation only valid on compute and shared filesystem ports');
      assertError(await bind(dhcp.id, { host: 'compute-2' }), 400, 'BadRequest');
    });

    it('validates the request body', async () => {
      const p = await newPort('compute-1');
      assertError(
        await s.req('POST', `/v2.0/ports/${p.id}/bindings`, { host: 'compute-2' }, ADMIN),
        400,
        'HTTPBadRequest',
        "Unable to find 'binding'",
      );
      assertError(await bind(p.id, {}), 400, 'HTTPBadRequest', "Required attribute 'host' not specified");
      assertError(await bind(p.id, { host: '' }), 400, 'HTTPBadRequest', 'host');
      assertError(await bind(p.id, { host: 'compute-2', vnic_type: 'bogus' }), 400, 'HTTPBadRequest', 'vnic_type');
      assertError(await bind(p.id, { host: 'compute-2', profile: 'x' }), 400, 'HTTPBadRequest', 'profile');
      assertError(await bind(p.id, { host: 'compute-2', vif_type: 'bridge' }), 400, 'HTTPBadRequest', "Attribute 'vif_type' not allowed in POST");
      assertError(await bind(p.id, { host: 'compute-2', colour: 'red' }), 400, 'HTTPBadRequest', "Unrecognized attribute(s) 'colour'");
    });

    it('refuses to activate the active binding (409) or an absent one (404); deleting the active binding unbinds the port', async () => {
      const p = await newPort('compute-1');
      assertError(
        await activate(p.id, 'compute-1'),
        409,
        'PortBindingAlreadyActive',
        `Binding for port ${p.id} on host compute-1 is already active.`,
      );
      assertError(await activate(p.id, 'compute-2'), 404, 'PortBindingNotFound');
      assertError(await unbind(p.id, 'compute-2'), 404, 'PortBindingNotFound');
      assert.equal((await unbind(p.id, 'compute-1')).status, 204);
      const after = await port(p.id);
      assert.equal(after['binding:host_id'], '');
      assert.equal(after['binding:vif_type'], 'unbound');
      assert.deepEqual(after['binding:vif_details'], {});
      // An unbound port can still get a binding for a host, and activating it binds the port there.
      assert.equal((await bind(p.id, { host: 'compute-3' })).status, 201);
      assert.equal((await activate(p.id, 'compute-3')).status, 200);
      assert.equal((await port(p.id))['binding:host_id'], 'compute-3');
      assert.deepEqual(
        (await bindings(p.id)).body.bindings.map((b: any) => [b.host, b.status]),
        [['compute-3', 'ACTIVE']],
      );
    });

    it('keeps bindings to admins and the service: non-admins get 404, or 403 where Neutron gives it', async () => {
      // Alice's own instance port on the shared network, with an inactive binding the admin made.
      const mine = await s.req('POST', '/v2.0/ports', { port: { network_id: netId, device_owner: 'compute:nova' } }, ALICE);
      assert.equal(mine.status, 201, JSON.stringify(mine.body));
      const id = mine.body.port.id;
      assert.equal((await bind(id, { host: 'compute-2' })).status, 201);
      const listed = await bindings(id, '', ALICE);
      assert.equal(listed.status, 200);
      assert.deepEqual(listed.body.bindings, []);
      assertError(await s.req('GET', `/v2.0/ports/${id}/bindings/compute-2`, undefined, ALICE), 404, 'HTTPNotFound');
      assertError(await bind(id, { host: 'compute-3' }, ALICE), 403, 'PolicyNotAuthorized', 'create_port_binding');
      assertError(await activate(id, 'compute-2', ALICE), 404, 'HTTPNotFound');
      assertError(await unbind(id, 'compute-2', ALICE), 404, 'HTTPNotFound');
      // Bob does not see Alice's port at all.
      assertError(await bindings(id, '', BOB), 404, 'PortNotFound');
      assertError(await bind(id, { host: 'compute-3' }, BOB), 403, 'PolicyNotAuthorized');
      assert.deepEqual(
        (await bindings(id)).body.bindings.map((b: any) => b.host),
        ['', 'compute-2'],
        'nothing changed',
      );
    });

    it('lets the service role (Nova) do the whole migration on a port it sees', async () => {
      const r = await s.req(
        'POST',
        '/v2.0/ports',
        { port: { network_id: netId, device_owner: 'compute:nova', 'binding:host_id': 'compute-1' } },
        SERVICE,
      );
      assert.equal(r.status, 201, JSON.stringify(r.body));
      const id = r.body.port.id;
      assert.equal((await bind(id, { host: 'compute-3' }, SERVICE)).status, 201);
      assert.equal((await activate(id, 'compute-3', SERVICE)).status, 200);
      assert.equal((await unbind(id, 'compute-1', SERVICE)).status, 204);
      assert.deepEqual(
        (await bindings(id, '', SERVICE)).body.bindings.map((b: any) => [b.host, b.status]),
        [['compute-3', 'ACTIVE']],
      );
    });

    it('gives one 201 and one 409 to two concurrent creates for a host', async () => {
      for (let round = 0; round < 3; round++) {
        const p = await newPort('compute-1');
        const rs = await Promise.all([bind(p.id, { host: 'compute-2' }), bind(p.id, { host: 'compute-2' })]);
        assert.deepEqual(rs.map((r) => r.status).sort(), [201, 409], JSON.stringify(rs.map((r) => r.body)));
        assertError(rs.find((r) => r.status === 409)!, 409, 'PortBindingAlreadyExists');
        assert.equal((await bindings(p.id)).body.bindings.length, 2);
      }
    });

    it('leaves exactly one ACTIVE binding after concurrent activations', async () => {
      for (let round = 0; round < 3; round++) {
        const p = await newPort('compute-1');
        for (const host of ['compute-2', 'compute-3']) assert.equal((await bind(p.id, { host })).status, 201);
        const rs = await Promise.all([
          activate(p.id, 'compute-2'),
          activate(p.id, 'compute-3'),
          activate(p.id, 'compute-2'),
          activate(p.id, 'compute-3'),
        ]);
        for (const r of rs) assert.ok(r.status === 200 || r.status === 409, JSON.stringify(r.body));
        assert.ok(rs.some((r) => r.status === 200));
        const all = (await bindings(p.id)).body.bindings as any[];
        assert.deepEqual(all.map((b) => b.host).sort(), ['compute-1', 'compute-2', 'compute-3']);
        const active = all.filter((b) => b.status === 'ACTIVE');
        assert.equal(active.length, 1, JSON.stringify(all));
        assert.equal((await port(p.id))['binding:host_id'], active[0].host);
      }
    });
  });
}

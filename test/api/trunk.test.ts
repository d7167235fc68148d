// Trunks on every backend, through the real HTTP server: CRUD, add/remove/get subports with
// Neutron's validation and conflicts, trunk_details on the parent port, the port delete rules,
// bound parents, and the guarantees under concurrency (a segmentation id once per trunk, a port
// the parent of one trunk).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { ADMIN, ALICE, BOB, startServer, type Caller, type TestServer, okCalls } from '../helpers/server.js';
import { subportsProblem } from '../../src/definitions/trunk.js';
import { assertError } from '../helpers/assert-error.js';
import { registerLinuxBridgeAgent } from '../helpers/agents.js';

const U1 = '11111111-1111-1111-1111-111111111111';
const U2 = '22222222-2222-2222-2222-222222222222';

describe('sub_ports validation (pure)', () => {
  it('is validate_subports', () => {
    assert.equal(subportsProblem([]), null);
    assert.equal(subportsProblem([{ port_id: U1, segmentation_type: 'vlan', segmentation_id: 10 }]), null);
    assert.equal(subportsProblem([{ port_id: U1 }]), null);
    assert.match(subportsProblem('x')!, /is not a list/);
    assert.match(subportsProblem([1])!, /is not a dict/);
    assert.equal(subportsProblem([{}]), 'A valid port UUID must be specified');
    assert.match(subportsProblem([{ port_id: 'nope' }])!, /Invalid UUID for subport: 'nope'/);
    assert.match(subportsProblem([{ port_id: U1 }, { port_id: U1 }])!, /Non unique UUID/);
    assert.match(subportsProblem([{ port_id: U1, segmentation_type: 'vlan' }])!, /missing segmentation information/);
    assert.match(
      subportsProblem([
        { port_id: U1, segmentation_type: 'vlan', segmentation_id: 5 },
        { port_id: U2, segmentation_type: 'vlan', segmentation_id: 5 },
      ])!,
      /Segmentation ID '5' for '2222.*' is not unique/,
    );
  });
});

for (const backend of BACKENDS) {
  describe(`trunks on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let s: TestServer;
    let netId: string;
    before(async () => {
      s = await startServer(backend);
      await registerLinuxBridgeAgent(s.server.db, 'compute-1', '10.0.0.1');
      await ok('PUT', `/v2.0/quotas/${ALICE.project}`, { quota: { port: -1 } }, ADMIN);
      netId = (await ok('POST', '/v2.0/networks', { network: { name: 'n' } }, ALICE, 201)).network.id;
    });
    after(async () => {
      await s?.stop();
    });

    const ok = okCalls(() => s, ALICE);
    const port = async (body: object = {}, as: Caller = ALICE) =>
      (await ok('POST', '/v2.0/ports', { port: { network_id: netId, ...body } }, as, 201)).port;
    const trunk = async (body: object, as: Caller = ALICE) => (await ok('POST', '/v2.0/trunks', { trunk: body }, as, 201)).trunk;
    const vlan = (portId: string, id: number | string) => ({ port_id: portId, segmentation_type: 'vlan', segmentation_id: id });
    const add = (id: string, subports: unknown[], as: Caller = ALICE) => s.req('PUT', `/v2.0/trunks/${id}/add_subports`, { sub_ports: subports }, as);
    const remove = (id: string, subports: unknown[], as: Caller = ALICE) =>
      s.req('PUT', `/v2.0/trunks/${id}/remove_subports`, { sub_ports: subports }, as);

    it('lists the trunk extensions', async () => {
      const aliases = (await ok('GET', '/v2.0/extensions')).extensions.map((e: any) => e.alias);
      assert.ok(aliases.includes('trunk') && aliases.includes('trunk-details'));
    });

    it('creates, shows, lists, updates and deletes a trunk', async () => {
      const parent = await port();
      const sp = await port();
      const t = await trunk({ name: 't', port_id: parent.id, sub_ports: [vlan(sp.id, '100')] });
      assert.deepEqual(Object.keys(t).sort(), [
        'admin_state_up',
        'created_at',
        'description',
        'id',
        'name',
        'port_id',
        'project_id',
        'revision_number',
        'status',
        'sub_ports',
        'tags',
        'tenant_id',
        'updated_at',
      ]);
      assert.equal(t.status, 'DOWN');
      assert.equal(t.admin_state_up, true);
      assert.deepEqual(t.sub_ports, [{ segmentation_type: 'vlan', port_id: sp.id, segmentation_id: 100 }]);
      assert.equal((await ok('GET', `/v2.0/trunks/${t.id}`)).trunk.port_id, parent.id);
      assert.deepEqual(
        (await ok('GET', `/v2.0/trunks?port_id=${parent.id}`)).trunks.map((x: any) => x.id),
        [t.id],
      );
      assertError(await s.req('GET', `/v2.0/trunks/${t.id}`, undefined, BOB), 404, 'TrunkNotFound', `Trunk ${t.id} could not be found.`);
      assert.deepEqual((await ok('GET', '/v2.0/trunks', undefined, BOB)).trunks, []);
      const upd = await ok('PUT', `/v2.0/trunks/${t.id}`, { trunk: { name: 't2', description: 'd' } });
      assert.equal(upd.trunk.name, 't2');
      assert.equal(upd.trunk.revision_number, 1);
      assertError(await s.req('PUT', `/v2.0/trunks/${t.id}`, { trunk: { port_id: sp.id } }), 400);
      assert.equal((await s.req('DELETE', `/v2.0/trunks/${t.id}`)).status, 204);
      assertError(await s.req('GET', `/v2.0/trunks/${t.id}`), 404, 'TrunkNotFound');
      // The ports are free again.
      await ok('DELETE', `/v2.0/ports/${sp.id}`, undefined, ALICE, 204);
      await ok('DELETE', `/v2.0/ports/${parent.id}`, undefined, ALICE, 204);
    });

    it('validates parents and subports as Neutron does', async () => {
      const parent = await port();
      const sp = await port();
      const post = (body: object, as: Caller = ALICE) => s.req('POST', '/v2.0/trunks', { trunk: body }, as);
      assertError(await post({ port_id: parent.id, sub_ports: 'x' }), 400, undefined, 'Invalid input for sub_ports');
      assertError(
        await post({ port_id: parent.id, sub_ports: [{ port_id: sp.id, segmentation_type: 'vlan' }] }),
        400,
        undefined,
        'missing segmentation information',
      );
      assertError(
        await post({ port_id: parent.id, sub_ports: [{ port_id: sp.id, segmentation_type: 'vxlan', segmentation_id: 5 }] }),
        400,
        'InvalidInput',
        "Unknown segmentation_type 'vxlan'",
      );
      assertError(await post({ port_id: parent.id, sub_ports: [vlan(sp.id, 4095)] }), 400, 'InvalidInput', "Segmentation ID '4095' is not in range");
      assertError(await post({ port_id: parent.id, sub_ports: [vlan(sp.id, 0)] }), 400, 'InvalidInput', "Segmentation ID '0' is not in range");
      assertError(
        await post({ port_id: parent.id, sub_ports: [vlan(sp.id, 'ten')] }),
        400,
        'InvalidInput',
        "segmentation_id 'ten' is not an integer",
      );
      assertError(await post({ port_id: parent.id, sub_ports: [{ port_id: sp.id }] }), 400, 'InvalidInput', 'missing segmentation information');
      assertError(await post({ port_id: parent.id, sub_ports: [vlan(parent.id, 10)] }), 409, 'ParentPortInUse');
      assertError(await post({ port_id: U1 }), 404, 'PortNotFound', `Port ${U1} could not be found.`);
      assertError(await post({ port_id: parent.id, sub_ports: [vlan(U1, 10)] }), 404, 'PortNotFound');
      // Bob's port: not visible to Alice, whichever role it would play.
      const bobNet = (await ok('POST', '/v2.0/networks', { network: { name: 'b' } }, BOB, 201)).network;
      const bobPort = (await ok('POST', '/v2.0/ports', { port: { network_id: bobNet.id } }, BOB, 201)).port;
      assertError(await post({ port_id: bobPort.id }), 404, 'PortNotFound');
      assertError(await post({ port_id: parent.id, sub_ports: [vlan(bobPort.id, 10)] }), 404, 'PortNotFound');
      // A port with a device is in use; a port already trunked cannot be reused either way.
      const vm = await port({ device_id: 'vm-1' });
      assertError(
        await post({ port_id: parent.id, sub_ports: [vlan(vm.id, 10)] }),
        409,
        'PortInUse',
        `Unable to complete operation on port ${vm.id} for network ${netId}. Port already has an attached device vm-1.`,
      );
      const t = await trunk({ port_id: parent.id, sub_ports: [vlan(sp.id, 10)] });
      assertError(
        await post({ port_id: parent.id }),
        409,
        'ParentPortInUse',
        `Port ${parent.id} is currently in use and is not eligible for use as a parent port.`,
      );
      assertError(await post({ port_id: sp.id }), 409, 'TrunkPortInUse', `Port ${sp.id} is in use by another trunk.`);
      const other = await port();
      assertError(await post({ port_id: other.id, sub_ports: [vlan(sp.id, 10)] }), 409, 'TrunkPortInUse');
      assertError(await post({ port_id: other.id, sub_ports: [vlan(parent.id, 10)] }), 409, 'ParentPortInUse');
      // Nothing half-written: other is still free.
      assert.deepEqual((await ok('GET', `/v2.0/trunks?port_id=${other.id}`)).trunks, []);
      await ok('DELETE', `/v2.0/trunks/${t.id}`, undefined, ALICE, 204);
    });

    it('refuses a subport whose network has a larger MTU than the parent', async () => {
      const small = (await ok('POST', '/v2.0/networks', { network: { name: 'small', mtu: 1400 } }, ALICE, 201)).network;
      const parent = (await ok('POST', '/v2.0/ports', { port: { network_id: small.id } }, ALICE, 201)).port;
      const sp = await port();
      const mtu = (await ok('GET', `/v2.0/networks/${netId}`)).network.mtu;
      assertError(
        await s.req('POST', '/v2.0/trunks', { trunk: { port_id: parent.id, sub_ports: [vlan(sp.id, 7)] } }),
        409,
        'SubPortMtuGreaterThanTrunkPortMtu',
        `MTU ${mtu} of subport ${sp.id} cannot be greater than MTU 1400 of trunk ${parent.id}.`,
      );
    });

    it('adds, lists and removes subports; a segmentation id once per trunk', async () => {
      const parent = await port();
      const [a, b, c] = [await port(), await port(), await port()];
      const t = await trunk({ port_id: parent.id });
      assert.deepEqual(t.sub_ports, []);
      const r = await add(t.id, [vlan(a.id, 10), vlan(b.id, 11)]);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(
        r.body.sub_ports.map((x: any) => x.segmentation_id),
        [10, 11],
      );
      assert.equal(r.body.status, 'DOWN');
      assert.equal(r.body.revision_number, 1);
      assertError(
        await add(t.id, [vlan(c.id, 10)]),
        409,
        'DuplicateSubPort',
        `segmentation_type vlan and segmentation_id 10 already in use on trunk ${t.id}.`,
      );
      assertError(await add(t.id, [vlan(a.id, 12)]), 409, 'TrunkPortInUse');
      assertError(await add(t.id, [vlan(c.id, 12), vlan(parent.id, 13)]), 409, 'ParentPortInUse');
      assertError(await add(t.id, 'x' as never), 400, 'InvalidInput');
      assertError(await s.req('PUT', `/v2.0/trunks/${t.id}/add_subports`, {}), 400, 'InvalidInput');
      assertError(await add(t.id, [{ port_id: c.id, segmentation_type: 'vlan' }]), 400, 'InvalidInput');
      const got = await ok('GET', `/v2.0/trunks/${t.id}/get_subports`);
      assert.deepEqual(got, {
        sub_ports: [vlan(a.id, 10), vlan(b.id, 11)].map((x) => ({
          segmentation_type: x.segmentation_type,
          port_id: x.port_id,
          segmentation_id: x.segmentation_id,
        })),
      });
      // Parent port: trunk_details with the subports' MACs; other ports have none.
      const p = (await ok('GET', `/v2.0/ports/${parent.id}`)).port;
      assert.equal(p.trunk_details.trunk_id, t.id);
      assert.deepEqual(p.trunk_details.sub_ports, [
        { segmentation_id: 10, segmentation_type: 'vlan', port_id: a.id, mac_address: a.mac_address },
        { segmentation_id: 11, segmentation_type: 'vlan', port_id: b.id, mac_address: b.mac_address },
      ]);
      assert.ok(!('trunk_details' in (await ok('GET', `/v2.0/ports/${a.id}`)).port));
      const listed = (await ok('GET', `/v2.0/ports?id=${parent.id}&id=${a.id}`)).ports;
      assert.deepEqual(listed.map((x: any) => x.trunk_details?.trunk_id ?? null).sort(), [null, t.id].sort());
      // Removing: by port id; a port not on the trunk is SubPortNotFound and nothing goes.
      assertError(
        await remove(t.id, [{ port_id: a.id }, { port_id: c.id }]),
        404,
        'SubPortNotFound',
        `SubPort ${c.id} on trunk ${t.id} could not be found.`,
      );
      const rm = await remove(t.id, [{ port_id: a.id }]);
      assert.equal(rm.status, 200, JSON.stringify(rm.body));
      assert.deepEqual(
        rm.body.sub_ports.map((x: any) => x.port_id),
        [b.id],
      );
      assert.equal((await add(t.id, [vlan(c.id, 10)])).status, 200);
      // Another project cannot see the trunk, let alone change it.
      assertError(await add(t.id, [vlan(a.id, 20)], BOB), 404, 'TrunkNotFound');
      assertError(await s.req('GET', `/v2.0/trunks/${t.id}/get_subports`, undefined, BOB), 404, 'TrunkNotFound');
    });

    it('keeps trunk ports from being deleted; a disabled trunk cannot change', async () => {
      const parent = await port();
      const sp = await port();
      const t = await trunk({ port_id: parent.id, sub_ports: [vlan(sp.id, 30)] });
      assertError(
        await s.req('DELETE', `/v2.0/ports/${parent.id}`),
        409,
        'PortInUseAsTrunkParent',
        `Port ${parent.id} is currently a parent port for trunk ${t.id}.`,
      );
      assertError(
        await s.req('DELETE', `/v2.0/ports/${sp.id}`),
        409,
        'PortInUseAsSubPort',
        `Port ${sp.id} is currently a subport for trunk ${t.id}.`,
      );
      assert.equal((await ok('PUT', `/v2.0/trunks/${t.id}`, { trunk: { admin_state_up: false } })).trunk.admin_state_up, false);
      const other = await port();
      assertError(await add(t.id, [vlan(other.id, 31)]), 409, 'TrunkDisabled', `Trunk ${t.id} is currently disabled.`);
      assertError(await remove(t.id, [{ port_id: sp.id }]), 409, 'TrunkDisabled');
      assertError(await s.req('DELETE', `/v2.0/trunks/${t.id}`), 409, 'TrunkDisabled');
      await ok('PUT', `/v2.0/trunks/${t.id}`, { trunk: { admin_state_up: true } });
      await ok('DELETE', `/v2.0/trunks/${t.id}`, undefined, ALICE, 204);
      await ok('DELETE', `/v2.0/ports/${parent.id}`, undefined, ALICE, 204);
    });

    it('trunks bound ports only where the Linux-bridge trunk driver serves them', async () => {
      const bound = await port({ 'binding:host_id': 'compute-1' }, ADMIN);
      assert.equal(bound['binding:vif_type'], 'bridge');
      const t = await trunk({ port_id: bound.id }, ADMIN);
      const failed = await port({ 'binding:host_id': 'no-agent-here' }, ADMIN);
      assert.equal(failed['binding:vif_type'], 'binding_failed');
      assertError(await s.req('POST', '/v2.0/trunks', { trunk: { port_id: failed.id } }, ADMIN), 409, 'ParentPortInUse');
      // A parent that moves to a host no driver serves keeps its trunk.
      const later = await port();
      const t2 = await trunk({ port_id: later.id });
      await ok('PUT', `/v2.0/ports/${later.id}`, { port: { 'binding:host_id': 'no-agent-here' } }, ADMIN);
      assertError(await s.req('DELETE', `/v2.0/trunks/${t2.id}`), 409, 'TrunkInUse', `Trunk ${t2.id} is currently in use.`);
      await ok('PUT', `/v2.0/ports/${later.id}`, { port: { 'binding:host_id': '' } }, ADMIN);
      await ok('DELETE', `/v2.0/trunks/${t2.id}`, undefined, ALICE, 204);
      await ok('DELETE', `/v2.0/trunks/${t.id}`, undefined, ADMIN, 204);
    });

    it('inherits the segmentation of a subport on a VLAN network (of a smaller MTU than the parent VXLAN one)', async () => {
      const vnet = (
        await ok(
          'POST',
          '/v2.0/networks',
          {
            network: {
              name: 'v',
              'provider:network_type': 'vlan',
              'provider:physical_network': 'physnet1',
              'provider:segmentation_id': 150,
              mtu: 1400,
              tenant_id: ALICE.project,
            },
          },
          ADMIN,
          201,
        )
      ).network;
      const sp = (await ok('POST', '/v2.0/ports', { port: { network_id: vnet.id } }, ALICE, 201)).port;
      const parent = await port();
      const t = await trunk({ port_id: parent.id, sub_ports: [{ port_id: sp.id, segmentation_type: 'inherit' }] });
      assert.deepEqual(t.sub_ports, [{ segmentation_type: 'vlan', port_id: sp.id, segmentation_id: 150 }]);
      // On a VXLAN network there is nothing to inherit a VLAN from.
      const sp2 = await port();
      assertError(await add(t.id, [{ port_id: sp2.id, segmentation_type: 'inherit' }]), 400, 'InvalidInput', "Unknown segmentation_type 'vxlan'");
    });

    it('under concurrency: one segmentation id per trunk, one trunk per parent, a port in one trunk', async () => {
      const parent = await port();
      const t = await trunk({ port_id: parent.id });
      const subs = await Promise.all(Array.from({ length: 5 }, () => port()));
      const rs = await Promise.all(subs.map((sp) => add(t.id, [vlan(sp.id, 42)])));
      assert.equal(rs.filter((r) => r.status === 200).length, 1, JSON.stringify(rs.map((r) => r.body)));
      for (const r of rs.filter((x) => x.status !== 200)) assertError(r, 409, 'DuplicateSubPort');
      assert.equal((await ok('GET', `/v2.0/trunks/${t.id}`)).trunk.sub_ports.length, 1);

      const p2 = await port();
      const cs = await Promise.all(Array.from({ length: 5 }, () => s.req('POST', '/v2.0/trunks', { trunk: { port_id: p2.id } })));
      assert.equal(cs.filter((r) => r.status === 201).length, 1, JSON.stringify(cs.map((r) => r.body)));
      for (const r of cs.filter((x) => x.status !== 201)) assertError(r, 409, 'ParentPortInUse');

      // One free port offered to several trunks at once, and as a parent: it ends up in one place.
      const free = await port();
      const trunks = await Promise.all(Array.from({ length: 3 }, async () => trunk({ port_id: (await port()).id })));
      const race = await Promise.all([
        ...trunks.map((x, i) => add(x.id, [vlan(free.id, 100 + i)])),
        s.req('POST', '/v2.0/trunks', { trunk: { port_id: free.id } }),
      ]);
      assert.equal(race.filter((r) => r.status === 200 || r.status === 201).length, 1, JSON.stringify(race.map((r) => r.body)));
      for (const r of race.filter((x) => x.status >= 300))
        assert.ok(['TrunkPortInUse', 'ParentPortInUse'].includes(r.body.NeutronError.type), JSON.stringify(r.body));
    });
  });
}

// Port binding with the Linux-bridge mechanism driver: a port on a host with a live Linux bridge
// agent that reaches the network's segment is bound (vif_type 'bridge'), otherwise
// 'binding_failed'; moving the port rebinds it; the binding fields are admin-only.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { ADMIN, ALICE, startServer, type TestServer } from '../helpers/server.js';
import { createOrUpdateAgent } from '../../src/plugins/agents/report-state.js';
import { decideBinding, type AgentInfo } from '../../src/plugins/ml2/binding.js';

const lbAgent = (host: string, configurations: Record<string, unknown>) => ({
  agent_type: 'Linux bridge agent',
  binary: 'neutron-linuxbridge-agent',
  host,
  topic: 'N/A',
  configurations,
});

describe('binding decision (pure)', () => {
  const agent = (c: Record<string, unknown>, alive = true): AgentInfo => ({ id: 'a', host: 'h1', alive, admin_state_up: true, configurations: c });
  const vx = { id: 's1', network_type: 'vxlan', physical_network: null, segmentation_id: 5 };
  const vlan = { id: 's2', network_type: 'vlan', physical_network: 'physnet1', segmentation_id: 100 };
  it('binds a vxlan segment when the agent has the vxlan tunnel type', () => {
    const r = decideBinding('h1', 'normal', [agent({ tunnel_types: ['vxlan'] })], [vx]);
    assert.equal(r.vif_type, 'bridge');
    assert.deepEqual(r.vif_details, { port_filter: true, connectivity: 'l2' });
    assert.equal(r.segment?.id, 's1');
  });
  it('fails without the tunnel type, for a dead agent, another host, or an unmapped physnet', () => {
    assert.equal(decideBinding('h1', 'normal', [agent({})], [vx]).vif_type, 'binding_failed');
    assert.equal(decideBinding('h1', 'normal', [agent({ tunnel_types: ['vxlan'] }, false)], [vx]).vif_type, 'binding_failed');
    assert.equal(decideBinding('h2', 'normal', [agent({ tunnel_types: ['vxlan'] })], [vx]).vif_type, 'binding_failed');
    assert.equal(decideBinding('h1', 'normal', [agent({ interface_mappings: { physnet2: 'eth1' } })], [vlan]).vif_type, 'binding_failed');
    assert.equal(decideBinding('h1', 'direct', [agent({ tunnel_types: ['vxlan'] })], [vx]).vif_type, 'binding_failed');
  });
  it('maps flat/vlan physnets through interface_mappings or bridge_mappings; picks the first reachable segment', () => {
    assert.equal(decideBinding('h1', 'normal', [agent({ interface_mappings: { physnet1: 'eth1' } })], [vlan]).vif_type, 'bridge');
    assert.equal(decideBinding('h1', 'normal', [agent({ bridge_mappings: { physnet1: 'br-eth1' } })], [vlan]).vif_type, 'bridge');
    assert.equal(decideBinding('h1', 'normal', [agent({ interface_mappings: { physnet1: 'eth1' } })], [vx, vlan]).segment?.id, 's2');
    assert.equal(decideBinding('', 'normal', [agent({ tunnel_types: ['vxlan'] })], [vx]).vif_type, 'unbound');
  });
});

for (const backend of BACKENDS) {
  describe(`port binding on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let s: TestServer;
    let netId: string;
    let vlanNetId: string;

    before(async () => {
      s = await startServer(backend);
      const db = s.server.db;
      const opts = { agentDownTime: 75 };
      await createOrUpdateAgent(db, lbAgent('compute-1', { tunnel_types: ['vxlan'], tunneling_ip: '10.0.0.1', interface_mappings: {} }), opts);
      await createOrUpdateAgent(
        db,
        lbAgent('compute-2', { tunnel_types: ['vxlan'], tunneling_ip: '10.0.0.2', interface_mappings: { physnet1: 'eth1' } }),
        opts,
      );
      // A dead agent: its heartbeat is older than agent_down_time.
      await createOrUpdateAgent(db, lbAgent('compute-dead', { tunnel_types: ['vxlan'] }), { agentDownTime: 75, now: () => Date.now() - 3_600_000 });
      const n = await s.req('POST', '/v2.0/networks', { network: { name: 'vx' } }, ALICE);
      assert.equal(n.status, 201, JSON.stringify(n.body));
      netId = n.body.network.id;
      assert.equal(n.body.network['provider:network_type'] ?? 'vxlan', 'vxlan');
      const v = await s.req(
        'POST',
        '/v2.0/networks',
        { network: { name: 'vl', 'provider:network_type': 'vlan', 'provider:physical_network': 'physnet1' } },
        ADMIN,
      );
      assert.equal(v.status, 201, JSON.stringify(v.body));
      vlanNetId = v.body.network.id;
    });
    after(async () => {
      await s?.stop();
    });

    it('binds a port created on a host with a live agent', async () => {
      const r = await s.req('POST', '/v2.0/ports', { port: { network_id: netId, 'binding:host_id': 'compute-1' } }, ADMIN);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.port['binding:vif_type'], 'bridge');
      assert.deepEqual(r.body.port['binding:vif_details'], { port_filter: true, connectivity: 'l2' });
      assert.equal(r.body.port.status, 'DOWN');
      const shown = await s.req('GET', `/v2.0/ports/${r.body.port.id}`, undefined, ADMIN);
      assert.equal(shown.body.port['binding:vif_type'], 'bridge');
    });

    it('fails the binding without an agent, with a dead agent, or without a mapping; unbound without a host', async () => {
      for (const host of ['nowhere', 'compute-dead']) {
        const r = await s.req('POST', '/v2.0/ports', { port: { network_id: netId, 'binding:host_id': host } }, ADMIN);
        assert.equal(r.body.port['binding:vif_type'], 'binding_failed', host);
      }
      const unmapped = await s.req('POST', '/v2.0/ports', { port: { network_id: vlanNetId, 'binding:host_id': 'compute-1' } }, ADMIN);
      assert.equal(unmapped.body.port['binding:vif_type'], 'binding_failed');
      const mapped = await s.req('POST', '/v2.0/ports', { port: { network_id: vlanNetId, 'binding:host_id': 'compute-2' } }, ADMIN);
      assert.equal(mapped.body.port['binding:vif_type'], 'bridge');
      const none = await s.req('POST', '/v2.0/ports', { port: { network_id: netId } }, ADMIN);
      assert.equal(none.body.port['binding:vif_type'], 'unbound');
    });

    it('rebinds when the host changes, and unbinds when it is cleared', async () => {
      const r = await s.req('POST', '/v2.0/ports', { port: { network_id: vlanNetId, 'binding:host_id': 'compute-2' } }, ADMIN);
      const id = r.body.port.id;
      assert.equal(r.body.port['binding:vif_type'], 'bridge');
      const moved = await s.req('PUT', `/v2.0/ports/${id}`, { port: { 'binding:host_id': 'compute-1' } }, ADMIN);
      assert.equal(moved.status, 200, JSON.stringify(moved.body));
      assert.equal(moved.body.port['binding:vif_type'], 'binding_failed');
      const back = await s.req('PUT', `/v2.0/ports/${id}`, { port: { 'binding:host_id': 'compute-2' } }, ADMIN);
      assert.equal(back.body.port['binding:vif_type'], 'bridge');
      assert.ok(back.body.port.revision_number > moved.body.port.revision_number);
      const cleared = await s.req('PUT', `/v2.0/ports/${id}`, { port: { 'binding:host_id': '' } }, ADMIN);
      assert.equal(cleared.body.port['binding:vif_type'], 'unbound');
      assert.deepEqual(cleared.body.port['binding:vif_details'], {});
    });

    it('retries a failed binding on the next update once the agent is there', async () => {
      const r = await s.req('POST', '/v2.0/ports', { port: { network_id: netId, 'binding:host_id': 'compute-3' } }, ADMIN);
      assert.equal(r.body.port['binding:vif_type'], 'binding_failed');
      await createOrUpdateAgent(s.server.db, lbAgent('compute-3', { tunnel_types: ['vxlan'] }), { agentDownTime: 75 });
      const u = await s.req('PUT', `/v2.0/ports/${r.body.port.id}`, { port: { name: 'again' } }, ADMIN);
      assert.equal(u.body.port['binding:vif_type'], 'bridge');
    });

    it('shows binding:vif_type and vif_details to admins only', async () => {
      const p = await s.req('POST', '/v2.0/ports', { port: { network_id: netId } }, ALICE);
      assert.equal(p.status, 201);
      assert.equal('binding:vif_type' in p.body.port, false);
      assert.equal('binding:vif_details' in p.body.port, false);
    });
  });
}

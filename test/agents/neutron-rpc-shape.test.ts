// What neutrino's agents put on the wire for Neutron's server (see
// test/e2e/neutron-server.root.test.ts for the real one): oslo's message `version` as Neutron's
// agents prepare it (the L2, DHCP, L3 and metadata agents), an admin context, and report_state's arguments.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decodeRequest, encodeRequest } from '../../src/rpc/wire.js';
import { agentRpcContext, MemoryBroker, MemoryBus, silentLogger, type CallOptions, type RpcBus, type RpcContext } from '../../src/rpc/index.js';
import { rpcVersion } from '../../src/agents/rpc-versions.js';
import { StateReporter } from '../../src/agents/state-reporter.js';
import { waitFor } from '../helpers/wait.js';
import { L3_PLUGIN_TOPIC, PLUGIN_TOPIC, REPORTS_TOPIC } from '../../src/core/wire.js';
import { L3Agent } from '../../src/agents/l3/agent.js';
import { MetadataAgent } from '../../src/agents/metadata/agent.js';

describe("agents' RPC as Neutron's server reads it", () => {
  it("carries oslo's `version` when given, and none otherwise", () => {
    const ctx = agentRpcContext();
    const withVersion = JSON.parse(
      JSON.parse(encodeRequest({ method: 'update_device_list', args: {}, context: ctx, version: '1.9', msgId: null, replyQueue: null }))[
        'oslo.message'
      ],
    );
    assert.equal(withVersion.version, '1.9');
    assert.equal(withVersion.namespace, undefined, 'neutron-lib namespaces are all None: no key');
    assert.equal(withVersion._context_is_admin, true);
    assert.deepEqual(withVersion._context_roles, ['admin']);
    const bare = encodeRequest({ method: 'x', args: {}, context: ctx, msgId: null, replyQueue: null });
    assert.equal(JSON.parse(JSON.parse(bare)['oslo.message']).version, undefined);
    assert.equal(decodeRequest(bare).version, null);
    assert.equal(decodeRequest(encodeRequest({ method: 'x', args: {}, context: ctx, version: '1.2', msgId: null, replyQueue: null })).version, '1.2');
  });

  it("versions are those of Neutron's agent clients", () => {
    assert.equal(rpcVersion('get_devices_details_list'), '1.9');
    assert.equal(rpcVersion('update_device_list'), '1.9');
    assert.equal(rpcVersion('security_group_info_for_devices'), '1.3');
    assert.equal(rpcVersion('get_active_networks_info'), '1.1');
    assert.equal(rpcVersion('dhcp_ready_on_ports'), '1.5');
    assert.equal(rpcVersion('report_state'), '1.2');
    assert.equal(rpcVersion('get_fdb_entries'), undefined, "neutrino's own method: no Neutron version");
    // The L3 agent's L3PluginApi and the metadata agent's MetadataPluginAPI.
    assert.equal(rpcVersion('sync_routers'), '1.0');
    assert.equal(rpcVersion('get_router_ids'), '1.9');
    assert.equal(rpcVersion('update_floatingip_statuses'), '1.1');
    assert.equal(rpcVersion('update_ha_routers_states'), '1.5');
    assert.equal(rpcVersion('get_ports'), '1.0');
  });

  it('report_state: an admin context, the state with a uuid of its own each time, and the time as Neutron parses it', async () => {
    const broker = new MemoryBroker();
    const server = new MemoryBus({ broker, logger: silentLogger });
    const agent = new MemoryBus({ broker, logger: silentLogger });
    const seen: Array<{ ctx: RpcContext; args: any }> = [];
    await server.serve(REPORTS_TOPIC, 'server', {
      report_state: (ctx, args) => {
        seen.push({ ctx, args });
        return 'alive';
      },
    });
    const r = new StateReporter({
      bus: agent,
      agentType: 'DHCP agent',
      binary: 'neutron-dhcp-agent',
      host: 'h1',
      topic: 'dhcp_agent',
      reportInterval: 30,
    });
    try {
      assert.equal(await r.reportOnce(), 'alive');
      assert.equal(await r.reportOnce(), 'alive');
      assert.equal(seen.length, 2);
      const [a, b] = seen.map((s) => s.args.agent_state.agent_state);
      assert.equal(seen[0]!.ctx.isAdmin, true);
      assert.match(a.uuid, /^[0-9a-f-]{36}$/);
      assert.notEqual(a.uuid, b.uuid);
      assert.equal(a.start_flag, true);
      assert.equal(b.start_flag, undefined);
      // neutron_lib ISO8601_TIME_FORMAT, '%Y-%m-%dT%H:%M:%S.%f'.
      assert.match(seen[0]!.args.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
    } finally {
      await r.stop();
      await agent.close();
      await server.close();
    }
  });
});

/** A bus that records the version and context of each call and cast made through it. */
type Sent = { kind: 'call' | 'cast'; method: string; version: string | undefined; admin: boolean | undefined };
function recording(bus: RpcBus): { bus: RpcBus; sent: Sent[] } {
  const sent: Sent[] = [];
  const wrapped = new Proxy(bus, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (prop !== 'call' && prop !== 'cast') return typeof v === 'function' ? v.bind(target) : v;
      return (topic: string, method: string, args: Record<string, unknown>, opts?: CallOptions) => {
        sent.push({ kind: prop, method, version: opts?.version, admin: opts?.context?.isAdmin });
        return (v as (...a: unknown[]) => unknown).call(target, topic, method, args, opts);
      };
    },
  });
  return { bus: wrapped, sent };
}

describe("the L3 and metadata agents' RPC as Neutron's server reads it", () => {
  it("the L3 agent calls the L3 plugin with an admin context at those versions, and casts HA states as Neutron's does", async () => {
    const broker = new MemoryBroker();
    const server = new MemoryBus({ broker, logger: silentLogger });
    const rec = recording(new MemoryBus({ broker, logger: silentLogger }));
    const haStates: unknown[] = [];
    await server.serve(L3_PLUGIN_TOPIC, 'server', {
      sync_routers: () => [],
      update_floatingip_statuses: () => null,
      update_ha_routers_states: (_c, a) => {
        haStates.push(a);
        return null;
      },
    });
    const agent = new L3Agent({ bus: rec.bus, host: 'h1', statePath: '/nonexistent', reportInterval: 30 });
    // The agent's one way to the server (its passes need a kernel; the calls they make go through it).
    const call = (agent as unknown as { call(m: string, a: Record<string, unknown>): Promise<unknown> }).call.bind(agent);
    // HA states go through what the agent gives its HaRouters (the keepalived state watcher) to report with.
    const reportHa = (agent.ha as unknown as { o: { report(s: Record<string, string>): Promise<void> } }).o.report;
    try {
      await call('sync_routers', { host: 'h1', router_ids: null });
      await call('update_floatingip_statuses', { router_id: 'r', fip_statuses: {} });
      await reportHa({ r1: 'active' });
      // Neutron's L3PluginApi casts update_ha_routers_states (neutron/agent/l3/agent.py).
      assert.deepEqual(rec.sent, [
        { kind: 'call', method: 'sync_routers', version: '1.0', admin: true },
        { kind: 'call', method: 'update_floatingip_statuses', version: '1.1', admin: true },
        { kind: 'cast', method: 'update_ha_routers_states', version: '1.5', admin: true },
      ]);
      await waitFor('the cast handled', () => haStates.length === 1);
      assert.deepEqual(haStates, [{ host: 'h1', states: { r1: 'active' } }], 'the server got the states');
    } finally {
      await rec.bus.close();
      await server.close();
    }
  });

  it("the metadata agent's get_ports: an admin context at version 1.0", async () => {
    const broker = new MemoryBroker();
    const server = new MemoryBus({ broker, logger: silentLogger });
    const rec = recording(new MemoryBus({ broker, logger: silentLogger }));
    await server.serve(PLUGIN_TOPIC, 'server', { get_ports: () => [] });
    await server.serve(REPORTS_TOPIC, 'server', { report_state: () => 'alive' });
    const dir = await mkdtemp(join(tmpdir(), 'neutrino-mdrpc-'));
    const socketPath = join(dir, 'metadata_proxy');
    const md = new MetadataAgent({
      bus: rec.bus,
      host: 'h1',
      socketPath,
      novaHost: '127.0.0.1',
      novaPort: 9,
      novaProtocol: 'http',
      sharedSecret: 's',
      reportInterval: 30,
    });
    try {
      await md.start();
      // A request as haproxy forwards it: no port has the address, so 404 after one get_ports.
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.request(
          {
            socketPath,
            path: '/openstack/latest/meta_data.json',
            headers: { 'X-Forwarded-For': '10.0.0.5', 'X-Neutron-Network-ID': 'aaaaaaaa-1111-2222-3333-444444444444' },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end();
      });
      assert.equal(status, 404);
      assert.deepEqual(
        rec.sent.filter((s) => s.method === 'get_ports'),
        [{ kind: 'call', method: 'get_ports', version: '1.0', admin: true }],
      );
    } finally {
      await md.stop();
      await rec.bus.close();
      await server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

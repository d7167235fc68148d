// What neutrino's agents put on the wire for Neutron's server (see
// test/e2e/neutron-server.root.test.ts for the real one): oslo's message `version` as Neutron's
// agents prepare it, an admin context, and report_state's arguments.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeRequest, encodeRequest } from '../../src/rpc/wire.js';
import { agentRpcContext, MemoryBroker, MemoryBus, silentLogger, type RpcContext } from '../../src/rpc/index.js';
import { rpcVersion } from '../../src/agents/rpc-versions.js';
import { StateReporter } from '../../src/agents/state-reporter.js';
import { L3_PLUGIN_TOPIC, PLUGIN_TOPIC, REPORTS_TOPIC } from '../../src/core/wire.js';
import { L3Agent } from '../../src/agents/l3/agent.js';
import { MetadataAgent } from '../../src/agents/metadata/agent.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

  it("the L3 and metadata agents ask with an admin context (Neutron's server scopes get_ports and floating IP updates by it)", async () => {
    const broker = new MemoryBroker();
    const server = new MemoryBus({ broker, logger: silentLogger });
    const agentBus = new MemoryBus({ broker, logger: silentLogger });
    const seen: Array<{ method: string; ctx: RpcContext }> = [];
    const record =
      (method: string, answer: unknown) =>
      (ctx: RpcContext): unknown => {
        seen.push({ method, ctx });
        return answer;
      };
    await server.serve(L3_PLUGIN_TOPIC, 'server', { sync_routers: record('sync_routers', []) });
    await server.serve(PLUGIN_TOPIC, 'server', { get_ports: record('get_ports', []) });
    const dir = await mkdtemp(join(tmpdir(), 'neutrino-rpc-shape-'));
    // No kernel here: every command fails, after the sync's call went out.
    const l3 = new L3Agent({
      bus: agentBus,
      host: 'h1',
      statePath: dir,
      reportInterval: 0,
      exec: async () => {
        throw new Error('no kernel in a unit test');
      },
    });
    const md = new MetadataAgent({
      bus: agentBus,
      host: 'h1',
      socketPath: join(dir, 'md.sock'),
      novaHost: '127.0.0.1',
      novaPort: 1,
      novaProtocol: 'http',
      sharedSecret: 's',
      reportInterval: 0,
    });
    try {
      await l3.sync().catch(() => undefined);
      assert.equal(await md.findPort({ ip: '10.0.0.5', mac: null, networkId: null, routerId: 'r1' }), null);
      assert.deepEqual(
        seen.map((s) => [s.method, s.ctx.isAdmin]),
        [
          ['sync_routers', true],
          ['get_ports', true],
        ],
      );
    } finally {
      await l3.stop();
      await md.stop();
      await agentBus.close();
      await server.close();
      await rm(dir, { recursive: true, force: true });
    }
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

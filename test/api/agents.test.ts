// Agents: state reports over the RPC bus create and refresh rows, the admin-only /v2.0/agents
// API shows them (alive from the heartbeat age), on every backend; and over a real RabbitMQ.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { ADMIN, ALICE, startServer, type TestServer } from '../helpers/server.js';
import { MemoryBroker, MemoryBus, silentLogger, type RpcBus } from '../../src/rpc/index.js';
import { StateReporter } from '../../src/agents/state-reporter.js';
import { isoAt } from '../../src/plugins/agents/agents.js';
import { createOrUpdateAgent } from '../../src/plugins/agents/report-state.js';
import { rabbitHarness, skipUnlessRabbit, type RabbitHarness } from '../rpc/rabbit.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { assertError } from '../helpers/assert-error.js';

const NEUTRON_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

for (const backend of BACKENDS) {
  describe(`agents on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let s: TestServer;
    let broker: MemoryBroker;
    let serverBus: RpcBus;
    let agentBus: RpcBus;
    const reporters: StateReporter[] = [];
    const reporter = (host: string, extra: Partial<ConstructorParameters<typeof StateReporter>[0]> = {}) => {
      const r = new StateReporter({
        bus: agentBus,
        agentType: 'Linux bridge agent',
        binary: 'neutron-linuxbridge-agent',
        host,
        topic: 'N/A',
        configurations: { devices: 3, interface_mappings: { physnet1: 'eth1' } },
        reportInterval: 0.2,
        ...extra,
      });
      reporters.push(r);
      return r;
    };
    const agentsOf = async (host: string) => (await s.req('GET', `/v2.0/agents?host=${host}`, undefined, ADMIN)).body.agents as any[];

    before(async () => {
      broker = new MemoryBroker();
      serverBus = new MemoryBus({ broker, logger: silentLogger });
      agentBus = new MemoryBus({ broker, logger: silentLogger });
      s = await startServer(backend, {}, { bus: serverBus });
    });
    after(async () => {
      for (const r of reporters) await r.stop();
      await s?.stop();
      await agentBus?.close();
      await serverBus?.close();
    });

    it('lists the agent extension', async () => {
      const r = await s.req('GET', '/v2.0/extensions/agent', undefined, ADMIN);
      assert.equal(r.status, 200);
      assert.equal(r.body.extension.alias, 'agent');
    });

    it("a reporting agent shows up alive to an admin, with Neutron's attributes", async () => {
      const r = reporter('host-a', { availabilityZone: 'nova' });
      r.start();
      // The row is committed before the reply reaches the reporter: wait for both.
      const [a] = await waitFor('agent on host-a', async () => {
        const l = await agentsOf('host-a');
        return l.length && r.lastStatus ? l : null;
      });
      assert.equal(r.lastStatus, 'new');
      assert.deepEqual(Object.keys(a).sort(), [
        'admin_state_up',
        'agent_type',
        'alive',
        'availability_zone',
        'binary',
        'configurations',
        'created_at',
        'description',
        'heartbeat_timestamp',
        'host',
        'id',
        'resources_synced',
        'started_at',
        'topic',
      ]);
      // agent-resources-synced without Placement reporting: null, as Neutron without its placement plugin.
      assert.equal(a.resources_synced, null);
      assert.ok((await s.req('GET', '/v2.0/extensions')).body.extensions.some((e: any) => e.alias === 'agent-resources-synced'));
      assertError(await s.req('PUT', `/v2.0/agents/${a.id}`, { agent: { resources_synced: true } }, ADMIN), 400);
      assert.equal(a.agent_type, 'Linux bridge agent');
      assert.equal(a.binary, 'neutron-linuxbridge-agent');
      assert.equal(a.topic, 'N/A');
      assert.equal(a.alive, true);
      assert.equal(a.admin_state_up, true);
      assert.equal(a.description, null);
      assert.equal(a.availability_zone, 'nova');
      assert.deepEqual(a.configurations, { devices: 3, interface_mappings: { physnet1: 'eth1' } });
      for (const k of ['created_at', 'started_at', 'heartbeat_timestamp']) assert.match(a[k], NEUTRON_TIME);
      // Later reports are refreshes of the same row, without start_flag.
      await waitFor('three reports', async () => r.reports >= 3);
      assert.equal(r.lastStatus, 'alive');
      assert.equal(r.state().start_flag, undefined);
      const again = await agentsOf('host-a');
      assert.equal(again.length, 1);
      assert.equal(again[0].id, a.id);
      assert.equal(again[0].started_at, a.started_at);

      const shown = await s.req('GET', `/v2.0/agents/${a.id}`, undefined, ADMIN);
      assert.equal(shown.status, 200);
      assert.equal(shown.body.agent.id, a.id);
      const f = await s.req('GET', `/v2.0/agents/${a.id}?fields=host&fields=alive`, undefined, ADMIN);
      assert.deepEqual(f.body.agent, { host: 'host-a', alive: true });
    });

    it('filters: agent_type, binary, topic, alive, admin_state_up; unknown filters are 400', async () => {
      const r = reporter('host-f', { agentType: 'DHCP agent', binary: 'neutrino-dhcp-agent', topic: 'dhcp_agent', configurations: { networks: 4 } });
      await r.reportOnce();
      const q = async (qs: string) => ((await s.req('GET', `/v2.0/agents?${qs}`, undefined, ADMIN)).body.agents as any[]).map((a) => a.host).sort();
      assert.deepEqual(await q('agent_type=DHCP%20agent'), ['host-f']);
      assert.deepEqual(await q('binary=neutrino-dhcp-agent'), ['host-f']);
      assert.deepEqual(await q('topic=dhcp_agent&host=host-f'), ['host-f']);
      assert.ok((await q('alive=true')).includes('host-f'));
      assert.ok(!(await q('alive=false')).includes('host-f'));
      assert.ok((await q('admin_state_up=true')).includes('host-f'));
      const bad = await s.req('GET', '/v2.0/agents?load=1', undefined, ADMIN);
      assert.equal(bad.status, 400);
    });

    it('members: empty list, 404 on show/update/delete (admin-only API); nobody may create agents', async () => {
      const a = (await agentsOf('host-a'))[0];
      const list = await s.req('GET', '/v2.0/agents', undefined, ALICE);
      assert.equal(list.status, 200);
      assert.deepEqual(list.body.agents, []);
      for (const [m, body] of [
        ['GET', undefined],
        ['PUT', { agent: { description: 'x' } }],
        ['DELETE', undefined],
      ] as const) {
        const r = await s.req(m, `/v2.0/agents/${a.id}`, body, ALICE);
        assert.equal(r.status, 404, `${m}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.NeutronError.type, 'AgentNotFound');
      }
      assert.equal((await s.req('POST', '/v2.0/agents', { agent: {} }, ALICE)).status, 403);
      const admin = await s.req('POST', '/v2.0/agents', { agent: {} }, ADMIN);
      assert.equal(admin.status, 400);
      const withAttr = await s.req('POST', '/v2.0/agents', { agent: { host: 'h' } }, ADMIN);
      assert.equal(withAttr.status, 400);
    });

    it('PUT changes admin_state_up and description only', async () => {
      const a = (await agentsOf('host-a'))[0];
      const r = await s.req('PUT', `/v2.0/agents/${a.id}`, { agent: { admin_state_up: false, description: 'rack 7' } }, ADMIN);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.agent.admin_state_up, false);
      assert.equal(r.body.agent.description, 'rack 7');
      const after = (await agentsOf('host-a'))[0];
      assert.equal(after.admin_state_up, false);
      assert.equal(after.description, 'rack 7');
      // Reports do not switch an operator's admin_state_up back on.
      await sleep(500);
      assert.equal((await agentsOf('host-a'))[0].admin_state_up, false);
      const ro = await s.req('PUT', `/v2.0/agents/${a.id}`, { agent: { host: 'elsewhere' } }, ADMIN);
      assert.equal(ro.status, 400);
      const missing = await s.req('PUT', '/v2.0/agents/00000000-0000-0000-0000-000000000000', { agent: { description: '' } }, ADMIN);
      assert.equal(missing.status, 404);
      assert.equal(missing.body.NeutronError.type, 'AgentNotFound');
    });

    it('a heartbeat older than agent_down_time reads alive=false; the next report revives it', async () => {
      const r = reporter('host-stale', { reportInterval: 3600 });
      await r.reportOnce();
      const a = (await agentsOf('host-stale'))[0];
      assert.equal(a.alive, true);
      await s.server.db.kysely
        .updateTable('agents')
        .set({ heartbeat_timestamp: isoAt(Date.now() - 76_000) })
        .where('id', '=', a.id)
        .execute();
      const stale = (await agentsOf('host-stale'))[0];
      assert.equal(stale.alive, false);
      const dead = (await s.req('GET', '/v2.0/agents?alive=false', undefined, ADMIN)).body.agents.map((x: any) => x.host);
      assert.deepEqual(dead, ['host-stale']);
      assert.equal(await r.reportOnce(), 'revived');
      assert.equal((await agentsOf('host-stale'))[0].alive, true);
    });

    it('DELETE forgets the agent (404 afterwards)', async () => {
      const r = reporter('host-del', { reportInterval: 3600 });
      await r.reportOnce();
      const a = (await agentsOf('host-del'))[0];
      assert.equal((await s.req('DELETE', `/v2.0/agents/${a.id}`, undefined, ADMIN)).status, 204);
      assert.equal((await s.req('GET', `/v2.0/agents/${a.id}`, undefined, ADMIN)).status, 404);
      assert.equal((await s.req('DELETE', `/v2.0/agents/${a.id}`, undefined, ADMIN)).status, 404);
      assert.deepEqual(await agentsOf('host-del'), []);
    });

    it('20 concurrent first reports from one host make one row', async () => {
      const rs = Array.from({ length: 20 }, () => reporter('host-race', { reportInterval: 3600 }));
      const statuses = await Promise.all(rs.map((r) => r.reportOnce()));
      assert.ok(statuses.filter((x) => x === 'new').length >= 1, JSON.stringify(statuses));
      assert.equal(statuses.filter((x) => x === 'new').length + statuses.filter((x) => x === 'alive').length, 20);
      assert.equal((await agentsOf('host-race')).length, 1);
      // And straight into the store, bypassing the bus's ordering.
      const direct = await Promise.all(
        Array.from({ length: 20 }, () =>
          createOrUpdateAgent(
            s.server.db,
            { agent_type: 'L3 agent', binary: 'l3', host: 'host-race2', topic: 'l3_agent', configurations: { routers: 2 } },
            { agentDownTime: 75 },
          ),
        ),
      );
      assert.equal(direct.filter((x) => x === 'new').length, 1, JSON.stringify(direct));
      const rows = await s.server.db.kysely.selectFrom('agents').selectAll().where('host', '=', 'host-race2').execute();
      assert.equal(rows.length, 1);
      assert.equal(Number(rows[0]!.load), 2);
    });

    it('a stopped reporter stops reporting', async () => {
      const r = reporter('host-stop', { reportInterval: 0.05 });
      r.start();
      await waitFor('a report', async () => r.reports >= 2);
      await r.stop();
      const n = r.reports;
      await sleep(300);
      assert.equal(r.reports, n);
    });
  });
}

describe('agents over RabbitMQ', { skip: await skipUnlessRabbit() }, () => {
  let h: RabbitHarness;
  let s: TestServer;
  let r: StateReporter | undefined;
  before(async () => {
    h = await rabbitHarness('agents');
    const serverBus = await h.bus();
    s = await startServer(BACKENDS[0]!, {}, { bus: serverBus });
  });
  after(async () => {
    await r?.stop();
    await s?.stop();
    await h?.close();
  });

  it('an agent reporting through one connection appears in a server on another', async () => {
    const agentBus = await h.bus();
    r = new StateReporter({
      bus: agentBus,
      agentType: 'Open vSwitch agent',
      binary: 'neutrino-ovs-agent',
      host: 'rabbit-host',
      topic: 'N/A',
      configurations: { bridge_mappings: {} },
      reportInterval: 0.3,
    });
    r.start();
    const list = await waitFor(
      'agent via RabbitMQ',
      async () => {
        const l = (await s.req('GET', '/v2.0/agents?host=rabbit-host', undefined, ADMIN)).body.agents as any[];
        return l.length ? l : null;
      },
      20_000,
    );
    assert.equal(list[0].agent_type, 'Open vSwitch agent');
    assert.equal(list[0].alive, true);
    // The row can show before the call's answer has travelled back.
    await waitFor('the answer to a report', async () => r!.reports >= 1, 20_000);
    assert.ok(r.lastStatus === 'new' || r.lastStatus === 'alive', String(r.lastStatus));
  });
});

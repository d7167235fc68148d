// neutrino on a broker shared with OpenStack: a real oslo.messaging peer (Debian's
// python3-oslo.messaging, test/rpc/oslo_peer.py) declares Neutron's names first, in a vhost of
// this run with the real names (`neutron`, q-reports-plugin, q-agent-notifier-port-update...);
// then a neutrino server and agent start on them (a flag that differs would be a 406), the
// Python client calls and casts to the neutrino server, neutrino's fanouts and calls reach the
// Python side, and a slow neutrino method keeps an oslo call alive with heartbeats.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import { AGENT_BINARY } from '../../src/agents/linuxbridge/agent.js';
import { DHCP_AGENT_BINARY } from '../../src/agents/dhcp/agent.js';
import { StateReporter } from '../../src/agents/state-reporter.js';
import { DHCP_AGENT_TOPIC, PLUGIN_TOPIC, PORT_DELETE_TOPIC, PORT_UPDATE_TOPIC, REPORTS_TOPIC, SG_UPDATE_TOPIC } from '../../src/core/wire.js';
import { AmqpBus, createBus, parseTransportUrl, RpcRemoteError, silentLogger, type RpcBus, type RpcContext } from '../../src/rpc/index.js';
import { BACKENDS } from '../helpers/backends.js';
import { ADMIN, startServer, type TestServer } from '../helpers/server.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { OsloPeer, osloMissing, type PeerEvent } from './oslo-peer.js';
import { haveRabbitmqctl, RABBIT_URL, runId, skipUnlessRabbit } from './rabbit.js';

const run = promisify(execFile);

async function prerequisites(): Promise<false | string> {
  const rabbit = await skipUnlessRabbit();
  if (rabbit) return rabbit;
  const why = (await osloMissing()) ?? (await haveRabbitmqctl());
  if (!why) return false;
  if (process.env.CI) throw new Error(`the oslo.messaging interop test needs it in CI: ${why}`);
  console.error(`\n!!! SKIPPING the oslo.messaging interop test: ${why} (this would FAIL in CI) !!!\n`);
  return why;
}

const skip = await prerequisites();
const VHOST = `neutrino_oslo_${runId}`;
const URL_ = `${RABBIT_URL.replace(/\/[^/@]*$/, '')}/${VHOST}`;
// Neutron's report_state 'time' (an isoformat without zone).
const neutronNow = () => new Date().toISOString().replace('Z', '');
// What a Neutron agent's context looks like on the wire (neutron_lib Context.to_dict, trimmed).
const NEUTRON_CONTEXT = { user_id: null, project_id: null, tenant_id: null, is_admin: true, roles: ['admin'], request_id: 'req-oslo-peer-1' };

interface Row {
  name: string;
  [k: string]: string;
}

/** rabbitmqctl's table of the vhost's exchanges or queues, one object per row. */
async function brokerTable(kind: 'exchanges' | 'queues', columns: string[]): Promise<Row[]> {
  const { stdout } = await run('rabbitmqctl', ['-q', `list_${kind}`, '-p', VHOST, '--no-table-headers', ...columns], { timeout: 15_000 });
  return stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => Object.fromEntries(l.split('\t').map((v, i) => [columns[i]!, v])) as Row);
}

describe('oslo.messaging interop on RabbitMQ', { skip }, () => {
  let peer: OsloPeer;
  let s: TestServer | undefined;
  const buses: RpcBus[] = [];
  const agentGot: { topic: string; method: string; args: Record<string, unknown> }[] = [];
  let reporter: StateReporter | undefined;

  const bus = (name: string, rabbit = {}, controlExchange = 'neutron') => {
    const b = createBus(URL_, { controlExchange, logger: silentLogger, connectionName: `neutrino-test-${runId}-oslo-${name}`, rabbit });
    buses.push(b);
    return b as AmqpBus;
  };
  const agentHandlers = (topic: string, methods: string[]) =>
    Object.fromEntries(methods.map((m) => [m, (_c: RpcContext, args: Record<string, unknown>) => void agentGot.push({ topic, method: m, args })]));

  before(async () => {
    await run('rabbitmqctl', ['-q', 'add_vhost', VHOST], { timeout: 15_000 });
    await run('rabbitmqctl', ['-q', 'set_permissions', '-p', VHOST, parseTransportUrl(RABBIT_URL).hosts[0]!.username, '.*', '.*', '.*'], {
      timeout: 15_000,
    });
    peer = new OsloPeer(URL_);
    // oslo declares first: a Neutron server's topics and an agent's fanouts and casts.
    await peer.serve(REPORTS_TOPIC, 'oslo-server');
    await peer.serve(PLUGIN_TOPIC, 'oslo-server');
    await peer.serve(PORT_UPDATE_TOPIC, 'oslo-agent');
    await peer.serve(SG_UPDATE_TOPIC, 'oslo-agent');
    await peer.serve(DHCP_AGENT_TOPIC, 'oslo-agent');
    // A call to itself gives it its reply queue (and proves the peer works on its own).
    const self = await peer.call(PLUGIN_TOPIC, 'ping', {}, { server: 'oslo-server' });
    assert.ok(self.ok, JSON.stringify(self));
    // The server topics' queues stay, as oslo declared them; neutrino alone consumes them now.
    await peer.stop(REPORTS_TOPIC, 'oslo-server');
    await peer.stop(PLUGIN_TOPIC, 'oslo-server');
  });

  after(async () => {
    await reporter?.stop();
    await s?.stop();
    for (const b of buses) await b.close();
    await peer?.close();
    await run('rabbitmqctl', ['-q', 'delete_vhost', VHOST], { timeout: 15_000 }).catch(() => undefined);
  });

  it('a neutrino server and agent start on the names oslo.messaging declared first', async () => {
    const serverBus = bus('server');
    s = await startServer(BACKENDS[0]!, { DEFAULT: { host: 'neutrino-server' } }, { bus: serverBus });
    // It serves in the background (a refusal there is only logged): wait for its queues.
    const serverQueues = [REPORTS_TOPIC, PLUGIN_TOPIC].map((t) => `${t}.neutrino-server`);
    await waitFor('the neutrino server to consume its topics', async () => {
      const qs = await brokerTable('queues', ['name', 'consumers']);
      return serverQueues.every((n) => qs.some((q) => q.name === n && q.consumers === '1'));
    });
    const agentBus = bus('agent');
    await agentBus.serve(PORT_UPDATE_TOPIC, 'neutrino-agent', agentHandlers(PORT_UPDATE_TOPIC, ['port_update']));
    await agentBus.serve(PORT_DELETE_TOPIC, 'neutrino-agent', agentHandlers(PORT_DELETE_TOPIC, ['port_delete']));
    await agentBus.serve(SG_UPDATE_TOPIC, 'neutrino-agent', agentHandlers(SG_UPDATE_TOPIC, ['security_groups_rule_updated']));
    await agentBus.serve(DHCP_AGENT_TOPIC, 'neutrino-agent', agentHandlers(DHCP_AGENT_TOPIC, ['network_create_end']));
    await agentBus.serve('neutrino-slow', 'neutrino-agent', {
      slow: async (_c: RpcContext, a: { ms: number }) => {
        await sleep(a.ms);
        return 'slow done';
      },
    });
    reporter = new StateReporter({
      bus: agentBus,
      agentType: 'Linux bridge agent',
      binary: AGENT_BINARY,
      host: 'neutrino-agent',
      topic: 'N/A',
      configurations: {},
      reportInterval: 1,
    });
    reporter.start();
    await waitFor('the neutrino agent to report', () => reporter!.reports >= 1, 20_000);
    assert.ok(serverBus.connected && agentBus.connected, 'no channel error dropped a connection');

    // Every name in the vhost carries oslo's flags, whoever declared it.
    const exchanges = await brokerTable('exchanges', ['name', 'type', 'durable', 'auto_delete']);
    const fanouts = exchanges.filter((x) => x.name.endsWith('_fanout'));
    assert.ok(fanouts.some((x) => x.name === `${PORT_UPDATE_TOPIC}_fanout`));
    for (const x of fanouts) assert.deepEqual([x.name, x.type, x.durable, x.auto_delete], [x.name, 'fanout', 'false', 'true']);
    assert.deepEqual(
      exchanges.filter((x) => x.name === 'neutron').map((x) => [x.type, x.durable, x.auto_delete]),
      [['topic', 'false', 'false']],
    );
    const queues = await brokerTable('queues', ['name', 'durable', 'auto_delete', 'exclusive', 'arguments']);
    const portUpdate = queues.filter((q) => q.name.startsWith(`${PORT_UPDATE_TOPIC}_fanout_`));
    assert.equal(portUpdate.length, 2, 'one fanout queue for the oslo listener, one for neutrino');
    const transient = queues.filter((q) => q.name.includes('_fanout_') || q.name.startsWith('reply_'));
    assert.ok(transient.filter((q) => q.name.startsWith('reply_')).length >= 3, 'the peer, the server and the agent have reply queues');
    for (const q of transient)
      assert.deepEqual([q.name, q.durable, q.auto_delete, q.exclusive, q.arguments], [q.name, 'false', 'false', 'false', '[{"x-expires",1800000}]']);
    for (const q of queues.filter((q) => !transient.includes(q)))
      assert.deepEqual([q.name, q.durable, q.auto_delete, q.exclusive, q.arguments], [q.name, 'false', 'false', 'false', '[]']);
  });

  it("the oslo client's calls and casts are answered by the neutrino server", async () => {
    assert.ok(s, 'the server started');
    const state = (host: string) => ({
      agent_state: {
        agent_state: {
          binary: 'neutron-openvswitch-agent',
          host,
          topic: 'N/A',
          agent_type: 'Open vSwitch agent',
          configurations: {},
          start_flag: true,
        },
      },
      time: neutronNow(),
    });
    const called = await peer.call(REPORTS_TOPIC, 'report_state', state('oslo-host-1'), { context: NEUTRON_CONTEXT });
    assert.deepEqual(called, { ok: true, result: 'new' });
    await peer.cast(REPORTS_TOPIC, 'report_state', state('oslo-host-2'), { context: NEUTRON_CONTEXT });
    const agents = await waitFor('both oslo agents in /v2.0/agents', async () => {
      const l = (await s!.req('GET', '/v2.0/agents?agent_type=Open vSwitch agent', undefined, ADMIN)).body.agents as {
        host: string;
        binary: string;
      }[];
      return l.length === 2 ? l : null;
    });
    assert.deepEqual(agents.map((a) => [a.host, a.binary]).sort(), [
      ['oslo-host-1', 'neutron-openvswitch-agent'],
      ['oslo-host-2', 'neutron-openvswitch-agent'],
    ]);

    // A DHCP agent's question with a real answer.
    const net = (await s.req('POST', '/v2.0/networks', { network: { name: 'oslo-net' } }, ADMIN)).body.network;
    const sub = (await s.req('POST', '/v2.0/subnets', { subnet: { network_id: net.id, cidr: '10.77.0.0/24', ip_version: 4 } }, ADMIN)).body.subnet;
    const info = await peer.call(PLUGIN_TOPIC, 'get_network_info', { network_id: net.id }, { context: NEUTRON_CONTEXT });
    assert.ok(info.ok, JSON.stringify(info));
    const result = info.result as { id: string; subnets: { id: string; cidr: string }[] };
    assert.equal(result.id, net.id);
    assert.deepEqual(
      result.subnets.map((x) => [x.id, x.cidr]),
      [[sub.id, '10.77.0.0/24']],
    );

    // neutrino's failures reach oslo as RemoteError naming the remote class.
    const missing = await peer.call(PLUGIN_TOPIC, 'no_such_method', {}, { context: NEUTRON_CONTEXT });
    assert.equal(missing.ok, false);
    assert.equal(!missing.ok && missing.error.type, 'RemoteError');
    assert.equal(!missing.ok && missing.error.exc_type, 'NoSuchMethod');
  });

  it('a slow neutrino method keeps an oslo call alive with heartbeats (call_monitor_timeout)', async () => {
    // Without a heartbeat every 0.5 s, oslo gives up after 1 s; the method takes 2.5 s.
    const r = await peer.call('neutrino-slow', 'slow', { ms: 2500 }, { server: 'neutrino-agent', timeout: 20, monitor: 1 });
    assert.deepEqual(r, { ok: true, result: 'slow done' }, peer.log);
  });

  it("neutrino's fanouts, casts and calls reach the oslo side, and oslo's fanouts reach neutrino", async () => {
    assert.ok(s, 'the server started');
    const net = (await s.req('POST', '/v2.0/networks', { network: { name: 'oslo-ports' } }, ADMIN)).body.network;
    const port = (await s.req('POST', '/v2.0/ports', { port: { network_id: net.id } }, ADMIN)).body.port;
    const upd = await s.req('PUT', `/v2.0/ports/${port.id}`, { port: { name: 'renamed' } }, ADMIN);
    assert.equal(upd.status, 200);
    const isUpdate = (e: { topic: string; method: string; args: Record<string, unknown> }) =>
      e.topic === PORT_UPDATE_TOPIC && e.method === 'port_update' && (e.args.port as { id?: string; name?: string })?.name === 'renamed';
    const got: PeerEvent = await peer.received('port_update from the neutrino server', isUpdate);
    assert.equal((got.args.port as { id: string }).id, port.id);
    assert.ok('network_type' in got.args && 'segmentation_id' in got.args);
    assert.equal(typeof got.context.request_id, 'string', 'the context travels as _context_* keys');
    await waitFor('the same fanout at the neutrino agent', () => agentGot.some(isUpdate));

    const agentBus = buses[1]!;
    assert.deepEqual(await agentBus.call({ topic: DHCP_AGENT_TOPIC, server: 'oslo-agent' }, 'echo', { x: 1 }, { timeoutMs: 10_000 }), {
      echo: { x: 1 },
      from: 'oslo:oslo-agent',
    });
    const err = await agentBus
      .call({ topic: DHCP_AGENT_TOPIC, server: 'oslo-agent' }, 'fail', { why: 'no' }, { timeoutMs: 10_000 })
      .catch((e: unknown) => e);
    assert.ok(err instanceof RpcRemoteError, String(err));
    assert.equal(err.remoteType, 'ValueError');
    assert.match(err.remoteMessage, /oslo peer refuses: no/);

    await buses[0]!.cast({ topic: DHCP_AGENT_TOPIC, server: 'oslo-agent' }, 'network_create_end', { payload: { network: { id: net.id } } });
    await peer.received('a cast from neutrino', (e) => e.topic === DHCP_AGENT_TOPIC && e.method === 'network_create_end');

    await peer.fanout(SG_UPDATE_TOPIC, 'security_groups_rule_updated', { security_groups: ['sg-1'] }, { context: NEUTRON_CONTEXT });
    await waitFor('an oslo fanout at the neutrino agent', () =>
      agentGot.some((e) => e.topic === SG_UPDATE_TOPIC && (e.args.security_groups as string[])?.[0] === 'sg-1'),
    );
    await peer.received('its own fanout', (e) => e.topic === SG_UPDATE_TOPIC);
  });

  it('a declaration that differs from oslo.messaging is refused (what used to break a shared vhost)', async () => {
    // neutrino's old fanout exchange: not auto-delete.
    const u = parseTransportUrl(URL_);
    const h = u.hosts[0]!;
    const c = await amqp.connect({ hostname: h.hostname, port: h.port, username: h.username, password: h.password, vhost: u.virtualHost });
    c.on('error', () => undefined);
    try {
      const ch = await c.createChannel();
      ch.on('error', () => undefined);
      await assert.rejects(
        ch.assertExchange(`${PORT_UPDATE_TOPIC}_fanout`, 'fanout', { durable: false, autoDelete: false }),
        /PRECONDITION_FAILED.*auto_delete/,
      );
    } finally {
      await c.close().catch(() => undefined);
    }
    // neutrino set up with amqp_durable_queues=True where oslo runs with False (on an exchange of
    // its own: a refused control exchange would only be retried, connection after connection).
    const durable = bus('durable', { durableQueues: true }, 'neutron_durable');
    await assert.rejects(durable.serve(PLUGIN_TOPIC, 'neutrino-durable', {}), /PRECONDITION_FAILED/);
  });

  it(`agents report Neutron's binary names (${AGENT_BINARY}, ${DHCP_AGENT_BINARY})`, async () => {
    assert.ok(s, 'the server started');
    const l = (await s.req('GET', '/v2.0/agents?host=neutrino-agent', undefined, ADMIN)).body.agents as { binary: string }[];
    assert.deepEqual(
      l.map((a) => a.binary),
      ['neutron-linuxbridge-agent'],
    );
    assert.equal(DHCP_AGENT_BINARY, 'neutron-dhcp-agent');
  });
});

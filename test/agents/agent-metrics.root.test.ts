// As root: agents with their metrics endpoint on ([agent] metrics_bind_port). A Linux-bridge
// agent wiring one tap in a host namespace: its /metrics shows the passes and their durations,
// the full resyncs, the queue, and the kernel commands: a full pass over a host already right
// reads the kernel and writes nothing. A DHCP agent: dnsmasq started once, reloaded for a new
// port, and a full sync that finds everything right writes nothing.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DhcpAgent } from '../../src/agents/dhcp/agent.js';
import { MemoryBroker, MemoryBus, silentLogger, type RpcBus } from '../../src/rpc/index.js';
import { LinuxBridgeAgent } from '../../src/agents/linuxbridge/agent.js';
import { AgentMetrics } from '../../src/agents/metrics.js';
import { plug } from '../../src/cli/vif-plug.js';
import { BACKENDS } from '../helpers/backends.js';
import { ADMIN, startServer, type TestServer } from '../helpers/server.js';
import { Namespaces, rootGate, suffix } from '../dataplane/root-helpers.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { parseMetricsText } from '../../bench/metrics-text.js';
import { removeDhcpNetwork } from '../helpers/agents.js';

const gate = rootGate('agent metrics', ['ip', 'bridge', 'nsenter']);
const dhcpGate = rootGate('DHCP agent metrics', ['ip', 'nsenter', 'dnsmasq']);

/** Reads one agent's /metrics: a function summing the samples of a name whose labels include the given ones. */
async function scrapeAt(url: string) {
  const r = await fetch(url);
  assert.equal(r.status, 200);
  const samples = parseMetricsText(await r.text());
  return (name: string, labels: Record<string, string> = {}) =>
    samples.filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v)).reduce((n, x) => n + x.value, 0);
}

describe('Linux-bridge agent metrics endpoint (root)', { skip: gate.skip }, () => {
  const s = suffix();
  const nss = new Namespaces();
  const HOSTNS = `nt${s}mh`;
  const HOST = `metrics-${s}`;
  const broker = new MemoryBroker();
  const buses: RpcBus[] = [];
  let srv: TestServer;
  let agent: LinuxBridgeAgent;
  let url = '';

  const scrape = () => scrapeAt(url);

  before(async () => {
    gate.check();
    await nss.add(HOSTNS);
    const serverBus = new MemoryBus({ broker, logger: silentLogger });
    const agentBus = new MemoryBus({ broker, logger: silentLogger });
    buses.push(serverBus, agentBus);
    srv = await startServer(BACKENDS[0]!, { ml2: { tenant_network_types: 'local', mechanism_drivers: 'linuxbridge' } }, { bus: serverBus });
    const metrics = new AgentMetrics();
    const listening = await metrics.listen('127.0.0.1', 0);
    url = `http://127.0.0.1:${listening.port}/metrics`;
    agent = new LinuxBridgeAgent({
      bus: agentBus,
      host: HOST,
      netns: HOSTNS,
      localIp: null,
      enableVxlan: false,
      interfaceMappings: {},
      bridgeMappings: {},
      arpResponder: false,
      l2Population: false,
      reportInterval: 1,
      pollingInterval: 3600,
      logger: silentLogger,
      metrics,
    });
    await agent.start();
    await agent.ready;
    const api = async (method: string, path: string, body?: unknown) => {
      const r = await srv.req(method, path, body, ADMIN);
      assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    };
    const net = (await api('POST', '/v2.0/networks', { network: { name: `metrics-${s}` } })).network;
    await api('POST', '/v2.0/subnets', { subnet: { network_id: net.id, cidr: '10.67.0.0/24', ip_version: 4, enable_dhcp: false } });
    const port = (await api('POST', '/v2.0/ports', { port: { network_id: net.id, device_owner: 'compute:test' } })).port;
    await plug({
      action: 'plug',
      portId: port.id,
      netns: await nss.add(`nt${s}mv`),
      host: HOST,
      hostNetns: HOSTNS,
      ifname: 'eth0',
      static: true,
      unbind: false,
      endpoint: srv.url,
    });
    await waitFor('port ACTIVE', async () => (await api('GET', `/v2.0/ports/${port.id}`)).port.status === 'ACTIVE', 30_000, 100);
  });

  after(async () => {
    await agent?.stop().catch(() => {});
    await srv?.stop();
    for (const b of buses) await b.close().catch(() => {});
    await nss.deleteAll();
  });

  it('shows pass durations and resyncs, and 0 kernel writes for a full pass that finds everything in place', async () => {
    await agent.sync();
    const before = await scrape();
    assert.ok(before('neutrino_agent_pass_duration_seconds_count', { agent: 'linuxbridge', outcome: 'ok' }) >= 2, 'the first passes');
    assert.ok(before('neutrino_agent_pass_duration_seconds_sum', { agent: 'linuxbridge' }) > 0);
    const result = await agent.sync();
    assert.equal(result?.linkOps, 0);
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) => after(name, labels) - before(name, labels);
    assert.equal(delta('neutrino_agent_pass_duration_seconds_count', { agent: 'linuxbridge', kind: 'full', outcome: 'ok' }), 1);
    assert.equal(delta('neutrino_agent_resyncs_total', { agent: 'linuxbridge' }), 1);
    assert.ok(delta('neutrino_agent_kernel_commands_total', { kind: 'read' }) > 0, 'the pass read the kernel');
    assert.equal(delta('neutrino_agent_kernel_commands_total', { kind: 'write' }), 0, 'and wrote nothing');
    assert.equal(after('neutrino_agent_queue_depth', { agent: 'linuxbridge' }), 0);
    assert.ok(after('neutrino_agent_process_cpu_seconds_total') > 0);
  });
});

describe('DHCP agent metrics endpoint (root)', { skip: dhcpGate.skip }, () => {
  const s = suffix();
  const buses: RpcBus[] = [];
  let srv: TestServer;
  let agent: DhcpAgent;
  let dir = '';
  let netId = '';
  let url = '';
  const HOST = `dhcp-metrics-${s}`;
  const api = async (method: string, path: string, body?: unknown) => {
    const r = await srv.req(method, path, body, ADMIN);
    assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const quiet = async () => {
    await srv.server.settled();
    await sleep(30);
    await agent.idle();
  };

  before(async () => {
    dhcpGate.check();
    dir = await mkdtemp(join(tmpdir(), 'neutrino-dhcp-metrics-'));
    await chmod(dir, 0o755); // dnsmasq reads its files as 'nobody'
    const broker = new MemoryBroker();
    const serverBus = new MemoryBus({ broker, logger: silentLogger });
    const agentBus = new MemoryBus({ broker, logger: silentLogger });
    buses.push(serverBus, agentBus);
    srv = await startServer(BACKENDS[0]!, {}, { bus: serverBus });
    const metrics = new AgentMetrics();
    url = `http://127.0.0.1:${(await metrics.listen('127.0.0.1', 0)).port}/metrics`;
    agent = new DhcpAgent({ bus: agentBus, host: HOST, statePath: join(dir, 'state'), reportInterval: 5, resyncInterval: 1, metrics });
    await agent.start();
  });

  after(async () => {
    await agent?.stop().catch(() => {});
    if (netId) {
      await removeDhcpNetwork(join(dir, 'state', 'dhcp'), netId);
    }
    await srv?.stop();
    for (const b of buses) await b.close().catch(() => {});
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('counts dnsmasq started and reloaded, network passes, and 0 writes for a full sync with nothing new', async () => {
    const start = await scrapeAt(url);
    assert.equal(start('neutrino_agent_resyncs_total', { agent: 'dhcp' }), 1, 'the full sync at start');
    netId = (await api('POST', '/v2.0/networks', { network: { name: `dhcp-metrics-${s}` } })).network.id;
    await api('POST', '/v2.0/subnets', { subnet: { network_id: netId, cidr: '10.78.0.0/24', ip_version: 4 } });
    await quiet();
    const served = await scrapeAt(url);
    assert.equal(served('neutrino_agent_dnsmasq_actions_total', { action: 'started' }), 1);
    assert.ok(served('neutrino_agent_pass_duration_seconds_count', { agent: 'dhcp', kind: 'network', outcome: 'ok' }) >= 1);

    await api('POST', '/v2.0/ports', { port: { network_id: netId, device_owner: 'compute:test' } });
    await quiet();
    const before = await scrapeAt(url);
    assert.ok(before('neutrino_agent_dnsmasq_actions_total', { action: 'reloaded' }) >= 1, 'the new port reloads dnsmasq');

    await agent.sync();
    const after = await scrapeAt(url);
    const delta = (name: string, labels: Record<string, string> = {}) => after(name, labels) - before(name, labels);
    assert.equal(delta('neutrino_agent_resyncs_total', { agent: 'dhcp' }), 1);
    assert.ok(delta('neutrino_agent_pass_duration_seconds_count', { agent: 'dhcp', kind: 'network' }) >= 1, 'the sync passed the network');
    assert.equal(delta('neutrino_agent_kernel_commands_total', { kind: 'write' }), 0, 'and wrote nothing');
    assert.equal(delta('neutrino_agent_dnsmasq_actions_total'), 0);
  });
});

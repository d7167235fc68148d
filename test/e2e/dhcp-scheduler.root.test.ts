// As root, end to end: the API server and a real DHCP agent in-process on the in-memory bus.
// Taking a network from the agent through the dhcp_agent_scheduler API stops its dnsmasq and
// removes its namespace while the DHCP port stays (reserved, same address); giving it back
// starts dnsmasq again on that same port.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dnsmasqStatus, listLinks, netnsExists } from '../../src/dataplane/index.js';
import { MemoryBroker, MemoryBus, silentLogger, type RpcBus } from '../../src/rpc/index.js';
import { DhcpAgent } from '../../src/agents/dhcp/agent.js';
import { namespaceOf } from '../../src/agents/dhcp/render.js';
import { BACKENDS } from '../helpers/backends.js';
import { ADMIN, startServer, type TestServer } from '../helpers/server.js';
import { rootGate, suffix } from '../dataplane/root-helpers.js';
import { sleep } from '../helpers/wait.js';
import { removeDhcpNetwork } from '../helpers/agents.js';

const gate = rootGate('DHCP agent scheduling end-to-end', ['ip', 'nsenter', 'dnsmasq']);

describe('DHCP agent scheduling end-to-end (root)', { skip: gate.skip }, () => {
  const s = suffix();
  let serverBus: RpcBus;
  let agentBus: RpcBus;
  let srv: TestServer;
  let agent: DhcpAgent;
  let dir = '';
  let netId = '';
  let agentId = '';
  let dhcpPort: any;
  const HOST = `dhcp-sched-${s}`;

  const api = async (method: string, path: string, body?: unknown, expect = 200) => {
    const r = await srv.req(method, path, body, ADMIN);
    assert.equal(r.status, expect, `${method} ${path}: ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const quiet = async () => {
    await srv.server.settled();
    await sleep(30);
    await agent.idle();
  };
  const dnsmasqPid = async () => (await dnsmasqStatus(agent.dhcpDir, netId))?.pid ?? null;
  const dhcpPorts = async () => (await api('GET', `/v2.0/ports?network_id=${netId}&device_owner=network:dhcp`)).ports as any[];

  before(async () => {
    gate.check();
    dir = await mkdtemp(join(tmpdir(), 'neutrino-dhcp-sched-'));
    await chmod(dir, 0o755); // dnsmasq reads its files as 'nobody'
    const broker = new MemoryBroker();
    serverBus = new MemoryBus({ broker, logger: silentLogger });
    agentBus = new MemoryBus({ broker, logger: silentLogger });
    srv = await startServer(BACKENDS.find((b) => b.name === 'sqlite')!, {}, { bus: serverBus });
    agent = new DhcpAgent({ bus: agentBus, host: HOST, statePath: join(dir, 'state'), reportInterval: 5, resyncInterval: 1 });
    await agent.start();
    agentId = (await api('GET', `/v2.0/agents?host=${HOST}`)).agents[0].id;
  });

  after(async () => {
    await agent?.stop().catch(() => {});
    if (netId) {
      await removeDhcpNetwork(join(dir, 'state', 'dhcp'), netId);
    }
    await srv?.stop();
    await agentBus?.close();
    await serverBus?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a network with a DHCP subnet is served by the agent', async () => {
    netId = (await api('POST', '/v2.0/networks', { network: { name: `sched-${s}` } }, 201)).network.id;
    await api('POST', '/v2.0/subnets', { subnet: { network_id: netId, cidr: '10.79.0.0/24', ip_version: 4 } }, 201);
    await quiet();
    assert.deepEqual(
      (await api('GET', `/v2.0/networks/${netId}/dhcp-agents`)).agents.map((a: any) => a.id),
      [agentId],
    );
    assert.ok(await netnsExists(namespaceOf(netId)));
    assert.ok(await dnsmasqPid(), 'dnsmasq runs');
    [dhcpPort] = await dhcpPorts();
    assert.ok(dhcpPort);
  });

  it('removed from the agent: dnsmasq and the namespace go, the DHCP port stays reserved with its address', async () => {
    await api('DELETE', `/v2.0/agents/${agentId}/dhcp-networks/${netId}`, undefined, 204);
    await quiet();
    assert.equal(await dnsmasqPid(), null, 'dnsmasq stopped');
    assert.equal(await netnsExists(namespaceOf(netId)), false, 'namespace removed');
    assert.ok(!agent.networks.has(netId));
    const ports = await dhcpPorts();
    assert.deepEqual(
      ports.map((p) => [p.id, p.device_id, p.fixed_ips]),
      [[dhcpPort.id, 'reserved_dhcp_port', dhcpPort.fixed_ips]],
    );
  });

  it('added back: the agent serves it again on the same port and address', async () => {
    await api('POST', `/v2.0/agents/${agentId}/dhcp-networks`, { network_id: netId }, 201);
    await quiet();
    assert.ok(await netnsExists(namespaceOf(netId)));
    assert.ok(await dnsmasqPid(), 'dnsmasq runs again');
    const ports = await dhcpPorts();
    assert.equal(ports.length, 1);
    assert.equal(ports[0].id, dhcpPort.id);
    assert.equal(ports[0].device_id, dhcpPort.device_id);
    assert.deepEqual(ports[0].fixed_ips, dhcpPort.fixed_ips);
    const nsIf = (await listLinks({ netns: namespaceOf(netId) })).find((l) => l.name.startsWith('ns-'))!;
    assert.deepEqual(nsIf.addresses, [`${dhcpPort.fixed_ips[0].ip_address}/24`]);
  });
});

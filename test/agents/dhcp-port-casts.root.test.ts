// As root, with real dnsmasq: the DHCP agent applies a port created, updated or deleted from the
// server's cast (its payload carries the port) to its cache and dnsmasq's files, without asking
// the server for the network (get_network_info, every port of it) again; a cast whose payload
// lacks what the cache needs makes it fetch the network instead. get_network_info calls are
// counted on the agent's bus, where they leave for the server.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dnsmasqPaths } from '../../src/dataplane/index.js';
import { DhcpAgent } from '../../src/agents/dhcp/agent.js';
import { DHCP_AGENT_TOPIC } from '../../src/core/wire.js';
import { MemoryBroker, MemoryBus, newRpcContext, silentLogger, type RpcBus } from '../../src/rpc/index.js';
import { BACKENDS } from '../helpers/backends.js';
import { ADMIN, startServer, type TestServer } from '../helpers/server.js';
import { rootGate, suffix } from '../dataplane/root-helpers.js';
import { waitFor } from '../helpers/wait.js';
import { removeDhcpNetwork } from '../helpers/agents.js';

const gate = rootGate('DHCP agent port casts', ['ip', 'nsenter', 'dnsmasq']);

describe('DHCP agent: ports applied from the casts (root)', { skip: gate.skip }, () => {
  const s = suffix();
  const host = `dhcp-casts-${s}`;
  const buses: RpcBus[] = [];
  let serverBus: MemoryBus;
  let srv: TestServer;
  let agent: DhcpAgent;
  let dir = '';
  let netId = '';
  let subnetId = '';
  let fetches = 0;
  const api = async (method: string, path: string, body?: unknown) => {
    const r = await srv.req(method, path, body, ADMIN);
    assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const hosts = async () => (await readFile(dnsmasqPaths(agent.dhcpDir, netId).hosts, 'utf8').catch(() => '')).toLowerCase();
  /** Waits for the server's casts and the agent's passes they made. */
  const settle = async () => {
    await srv.server.settled();
    await agent.idle();
  };

  before(async () => {
    gate.check();
    dir = await mkdtemp(join(tmpdir(), 'neutrino-dhcp-casts-'));
    await chmod(dir, 0o755); // dnsmasq reads its files as 'nobody'
    const broker = new MemoryBroker();
    serverBus = new MemoryBus({ broker, logger: silentLogger });
    const agentBus = new MemoryBus({ broker, logger: silentLogger });
    buses.push(serverBus, agentBus);
    const counted = new Proxy(agentBus, {
      get(t, p) {
        if (p !== 'call') return Reflect.get(t, p, t);
        return (...a: Parameters<RpcBus['call']>) => {
          if (a[1] === 'get_network_info') fetches++;
          return t.call(...a);
        };
      },
    });
    srv = await startServer(BACKENDS[0]!, {}, { bus: serverBus });
    agent = new DhcpAgent({ bus: counted, host, statePath: join(dir, 'state'), reportInterval: 5, checkInterval: 3600, monitor: false });
    await agent.start();
    netId = (await api('POST', '/v2.0/networks', { network: { name: `dhcp-casts-${s}` } })).network.id;
    subnetId = (await api('POST', '/v2.0/subnets', { subnet: { network_id: netId, cidr: '10.78.0.0/24', ip_version: 4 } })).subnet.id;
    await waitFor('dnsmasq serving the network', async () => agent.networks.get(netId)?.portId != null, 30_000);
    await settle();
  });

  after(async () => {
    await agent?.stop().catch(() => {});
    if (netId) await removeDhcpNetwork(join(dir, 'state', 'dhcp'), netId);
    await srv?.stop();
    for (const b of buses) await b.close().catch(() => {});
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("puts a created port in dnsmasq's hosts file without fetching the network", async () => {
    const fetches0 = fetches;
    const casts0 = agent.counters.portCasts;
    const port = (await api('POST', '/v2.0/ports', { port: { network_id: netId, device_owner: 'compute:test' } })).port;
    const ip = port.fixed_ips[0].ip_address as string;
    await waitFor('the port in the hosts file', async () => (await hosts()).includes(`${port.mac_address},host-${ip.replace(/\./g, '-')}`), 10_000);
    await settle();
    assert.equal(fetches - fetches0, 0, 'no get_network_info call');
    assert.ok(agent.counters.portCasts > casts0, 'applied from the cast');
  });

  it("reflects a port's new MAC and address, and drops a deleted port's line, without fetching", async () => {
    const port = (await api('POST', '/v2.0/ports', { port: { network_id: netId, device_owner: 'compute:test' } })).port;
    await waitFor('the port in the hosts file', async () => (await hosts()).includes(port.mac_address), 10_000);
    await settle();
    const fetches0 = fetches;
    const mac = 'fa:16:3e:78:00:42';
    await api('PUT', `/v2.0/ports/${port.id}`, { port: { mac_address: mac, fixed_ips: [{ subnet_id: subnetId, ip_address: '10.78.0.242' }] } });
    await waitFor('the new MAC and address in the hosts file', async () => (await hosts()).includes(`${mac},host-10-78-0-242`), 10_000);
    const text = await hosts();
    assert.ok(!text.includes(port.mac_address), `the old MAC is gone:\n${text}`);
    assert.ok(!text.includes(`,${port.fixed_ips[0].ip_address}\n`), `the old address is gone:\n${text}`);
    await api('DELETE', `/v2.0/ports/${port.id}`);
    await waitFor('the line gone', async () => !(await hosts()).includes(mac), 10_000);
    await settle();
    assert.equal(fetches - fetches0, 0, 'no get_network_info call');
  });

  it('fetches the network when a cast lacks what the cache needs, and ignores a stale one', async () => {
    const port = (await api('POST', '/v2.0/ports', { port: { network_id: netId, device_owner: 'compute:test' } })).port;
    await waitFor('the port in the hosts file', async () => (await hosts()).includes(port.mac_address), 10_000);
    await settle();
    const cast = (method: string, payload: unknown) =>
      serverBus.cast({ topic: DHCP_AGENT_TOPIC, server: host }, method, { payload }, { context: newRpcContext() });
    // An older copy of the port (another MAC) must not undo the newer one.
    const fetches0 = fetches;
    await cast('port_update_end', { port: { ...port, mac_address: 'fa:16:3e:78:00:99', revision_number: port.revision_number - 1 }, priority: 2 });
    await settle();
    assert.ok((await hosts()).includes(port.mac_address), 'the stale cast changed nothing');
    assert.equal(fetches - fetches0, 0);
    // No revision_number: the cast cannot be ordered; the network is fetched (and the port stays as the server has it).
    const { revision_number: _, ...bare } = port;
    await cast('port_update_end', { port: { ...bare, mac_address: 'fa:16:3e:78:00:98' } });
    await waitFor('a get_network_info call', async () => fetches > fetches0, 10_000);
    await settle();
    const text = await hosts();
    assert.ok(text.includes(port.mac_address) && !text.includes('fa:16:3e:78:00:98'), `the server's copy stands:\n${text}`);
  });
});

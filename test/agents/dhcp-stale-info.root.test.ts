// As root: the DHCP agent never applies network info older than what it already applied. The
// kernel check (check_child_processes_interval) re-applies the info of the last pass; one that
// fired while a pass was still fetching used to run right after it with the info from before a
// port, and took the port out of dnsmasq's hosts file again, for good: its VM's DHCP REQUEST got
// a NAK, then no offer (seen once in the kernel-drift test on a loaded machine). A port's cast
// is applied to the agent's cache without a fetch; here a subnet update makes the agent fetch
// the network, the answer (read before the port existed) is held, and the port's cast and a
// check land meanwhile: the port must survive the answer and the check.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dnsmasqPaths } from '../../src/dataplane/index.js';
import { DhcpAgent } from '../../src/agents/dhcp/agent.js';
import { MemoryBroker, MemoryBus, silentLogger, type RpcBus } from '../../src/rpc/index.js';
import { BACKENDS } from '../helpers/backends.js';
import { ADMIN, startServer, type TestServer } from '../helpers/server.js';
import { rootGate, suffix } from '../dataplane/root-helpers.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { removeDhcpNetwork } from '../helpers/agents.js';

const gate = rootGate('DHCP agent stale info', ['ip', 'nsenter', 'dnsmasq']);

describe('DHCP agent: a kernel check during a port pass (root)', { skip: gate.skip }, () => {
  const s = suffix();
  const buses: RpcBus[] = [];
  let srv: TestServer;
  let agent: DhcpAgent;
  let dir = '';
  let netId = '';
  /** Set: get_network_info answers are held this long; the promise resolves when one is asked. */
  let slow: { ms: number; asked: () => void } | null = null;
  const infos: string[] = [];
  const api = async (method: string, path: string, body?: unknown) => {
    const r = await srv.req(method, path, body, ADMIN);
    assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };

  before(async () => {
    gate.check();
    dir = await mkdtemp(join(tmpdir(), 'neutrino-dhcp-stale-'));
    await chmod(dir, 0o755); // dnsmasq reads its files as 'nobody'
    const broker = new MemoryBroker();
    const serverBus = new MemoryBus({ broker, logger: silentLogger });
    const agentBus = new MemoryBus({ broker, logger: silentLogger });
    buses.push(serverBus, agentBus);
    const held = new Proxy(agentBus, {
      get(t, p) {
        if (p !== 'call') return Reflect.get(t, p, t);
        return async (...a: Parameters<RpcBus['call']>) => {
          const answer = await t.call(...a);
          if (slow && a[1] === 'get_network_info') {
            const { ms, asked } = slow;
            asked();
            await sleep(ms);
          }
          return answer;
        };
      },
    });
    srv = await startServer(BACKENDS[0]!, {}, { bus: serverBus });
    // No check of its own (an hour): the test fires it.
    agent = new DhcpAgent({
      bus: held,
      host: `dhcp-stale-${s}`,
      statePath: join(dir, 'state'),
      reportInterval: 5,
      checkInterval: 3600,
      monitor: false,
      progressMinNetworks: 1,
      logger: { ...silentLogger, info: (_o, msg) => void infos.push(msg) },
    });
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

  it("keeps a new port in dnsmasq's hosts file when a fetch read before it and a check land after its cast", async () => {
    netId = (await api('POST', '/v2.0/networks', { network: { name: `dhcp-stale-${s}` } })).network.id;
    const subnet = (await api('POST', '/v2.0/subnets', { subnet: { network_id: netId, cidr: '10.79.0.0/24', ip_version: 4 } })).subnet;
    await waitFor('dnsmasq serving the network', async () => agent.networks.get(netId)?.portId != null, 30_000);
    await srv.server.settled();
    await agent.idle();

    const asked = new Promise<void>((asked) => (slow = { ms: 500, asked }));
    await api('PUT', `/v2.0/subnets/${subnet.id}`, { subnet: { dns_nameservers: ['10.79.0.53'] } });
    await asked; // the subnet's pass has its answer and is held
    const port = (await api('POST', '/v2.0/ports', { port: { network_id: netId, device_owner: 'compute:test' } })).port;
    await srv.server.settled();
    await sleep(50); // the port's cast is applied
    agent.check(netId);
    slow = null;
    await sleep(600);
    await agent.idle();
    const paths = dnsmasqPaths(agent.dhcpDir, netId);
    const hosts = (await readFile(paths.hosts, 'utf8')).toLowerCase();
    assert.ok(hosts.includes(port.mac_address.toLowerCase()), `the new port stays in the hosts file:\n${hosts}`);
    assert.match(await readFile(paths.opts, 'utf8'), /dns-server,10\.79\.0\.53/, 'the subnet update is applied too');
  });

  it('reports the progress of a full sync', async () => {
    infos.length = 0;
    await agent.sync();
    await waitFor('the full sync done line', async () => infos.some((m) => /^DHCP full sync done: 1 networks, [1-9]\d* ports$/.test(m)), 5_000);
  });
});

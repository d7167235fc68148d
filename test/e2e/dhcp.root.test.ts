// As root, end to end: the API server and the DHCP agent in-process on the in-memory bus, a
// network with a subnet (host routes, DNS servers) and an MTU, ports plugged into "VM" namespaces
// through veths in the network's bridge with the ports' MACs; a real DHCP client (busybox udhcpc)
// gets exactly the port's address, router, DNS, classless static routes (121) and MTU. Port
// changes are a SIGHUP (same dnsmasq pid), an agent restart adopts dnsmasq and writes nothing,
// stale network state is torn down on restart, and deleting the network removes everything.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deleteLink, deleteNetns, dnsmasqPaths, dnsmasqStatus, listLinks, netnsExists, reconcileLinks, runInNetns, stats, stopDnsmasq } from '../../src/dataplane/index.js';
import { MemoryBroker, MemoryBus, silentLogger, type RpcBus } from '../../src/rpc/index.js';
import { DhcpAgent, type DhcpAgentOptions } from '../../src/agents/dhcp/agent.js';
import { bridgeOf, namespaceOf } from '../../src/agents/dhcp/render.js';
import { BACKENDS } from '../helpers/backends.js';
import { ADMIN, startServer, type TestServer } from '../helpers/server.js';
import { Namespaces, rootGate, suffix } from '../dataplane/root-helpers.js';

const gate = rootGate('DHCP agent end-to-end', ['ip', 'nsenter', 'dnsmasq', 'busybox']);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

describe('DHCP agent end-to-end (root)', { skip: gate.skip }, () => {
  const s = suffix();
  const nss = new Namespaces();
  let broker: MemoryBroker;
  let serverBus: RpcBus;
  let agentBus: RpcBus;
  let srv: TestServer;
  let agent: DhcpAgent;
  let agentOpts: DhcpAgentOptions;
  let dir = '';
  let netId = '';
  let subnetId = '';
  const ports: Record<string, any> = {};
  const HOST = `dhcp-e2e-${s}`;

  const api = async (method: string, path: string, body?: unknown, expect = 200) => {
    const r = await srv.req(method, path, body, ADMIN);
    assert.equal(r.status, expect, `${method} ${path}: ${JSON.stringify(r.body)}`);
    return r.body;
  };
  /** Everything the server cast has been handled by the agent. */
  const quiet = async () => {
    await srv.server.dhcpNotifier!.settled();
    await sleep(30);
    await agent.idle();
  };
  const hostsFile = () => readFile(dnsmasqPaths(agent.dhcpDir, netId).hosts, 'utf8').catch(() => '');
  const pid = async () => (await dnsmasqStatus(agent.dhcpDir, netId))?.pid ?? null;

  /** A "VM": namespace, veth with the port's MAC whose host end is in the network's bridge. */
  async function plug(name: string, port: any): Promise<string> {
    const ns = await nss.add(`nt${s}${name}`);
    const hostEnd = `tv${s}${name}`;
    await reconcileLinks([{ kind: 'veth', name: hostEnd, peer: 'eth0', peerNetns: ns, master: bridgeOf(netId), up: true }]);
    await reconcileLinks([{ kind: 'external', name: 'eth0', address: port.mac_address, up: true }], { netns: ns });
    return ns;
  }

  /** One DHCP exchange; the variables udhcpc passed to its script on "bound". */
  async function lease(ns: string): Promise<Record<string, string>> {
    const out = join(dir, `bound-${ns}-${Date.now()}`);
    const script = join(dir, 'udhcpc.sh');
    await writeFile(script, `#!/bin/sh\n[ "$1" = bound ] && env > ${out}\nexit 0\n`, { mode: 0o755 });
    await runInNetns(ns, {
      argv: ['busybox', 'udhcpc', '-i', 'eth0', '-f', '-q', '-n', '-t', '6', '-T', '1', '-O', 'mtu', '-O', 'staticroutes', '-O', 'dns', '-O', 'ntpsrv', '-s', script],
      timeoutMs: 30_000,
    });
    const env: Record<string, string> = {};
    for (const line of (await readFile(out, 'utf8')).split('\n')) {
      const i = line.indexOf('=');
      if (i > 0) env[line.slice(0, i)] = line.slice(i + 1);
    }
    return env;
  }

  before(async () => {
    gate.check();
    dir = await mkdtemp(join(tmpdir(), 'neutrino-dhcp-e2e-'));
    await chmod(dir, 0o755); // dnsmasq reads its files as 'nobody'
    broker = new MemoryBroker();
    serverBus = new MemoryBus({ broker, logger: silentLogger });
    agentBus = new MemoryBus({ broker, logger: silentLogger });
    srv = await startServer(BACKENDS.find((b) => b.name === 'sqlite')!, {}, { bus: serverBus });
    agentOpts = { bus: agentBus, host: HOST, statePath: join(dir, 'state'), reportInterval: 5, resyncInterval: 1 };
    agent = new DhcpAgent(agentOpts);
    await agent.start();
  });

  after(async () => {
    await agent?.stop().catch(() => {});
    if (netId) {
      await stopDnsmasq(join(dir, 'state', 'dhcp'), netId).catch(() => {});
      await deleteNetns(namespaceOf(netId)).catch(() => {});
      if ((await listLinks()).some((l) => l.name === bridgeOf(netId))) await deleteLink(bridgeOf(netId)).catch(() => {});
    }
    await nss.deleteAll();
    await srv?.stop();
    await agentBus?.close();
    await serverBus?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the agent registered itself as a DHCP agent', async () => {
    const agents = (await api('GET', `/v2.0/agents?host=${HOST}`)).agents;
    assert.equal(agents.length, 1);
    assert.equal(agents[0].agent_type, 'DHCP agent');
    assert.equal(agents[0].binary, 'neutron-dhcp-agent');
    assert.equal(agents[0].topic, 'dhcp_agent');
    assert.equal(agents[0].alive, true);
  });

  it('a subnet with DHCP gets a qdhcp namespace, a DHCP port and dnsmasq', async () => {
    netId = (await api('POST', '/v2.0/networks', { network: { name: `dhcp-${s}`, mtu: 1400 } }, 201)).network.id;
    subnetId = (await api('POST', '/v2.0/subnets', { subnet: {
      network_id: netId, cidr: '10.77.0.0/24', ip_version: 4, dns_nameservers: ['10.77.0.53', '10.77.0.54'],
      host_routes: [{ destination: '192.168.77.0/24', nexthop: '10.77.0.254' }],
    } }, 201)).subnet.id;
    await quiet();
    assert.ok(await netnsExists(namespaceOf(netId)), 'namespace');
    assert.ok(await pid(), 'dnsmasq runs');
    const dhcpPorts = (await api('GET', `/v2.0/ports?network_id=${netId}&device_owner=network:dhcp`)).ports;
    assert.equal(dhcpPorts.length, 1);
    assert.match(dhcpPorts[0].device_id, new RegExp(`^dhcp[0-9a-f-]{36}-${netId}$`));
    assert.equal(dhcpPorts[0]['binding:host_id'], HOST);
    const inNs = await listLinks({ netns: namespaceOf(netId) });
    const nsIf = inNs.find((l) => l.name.startsWith('ns-'))!;
    assert.equal(nsIf.address, dhcpPorts[0].mac_address);
    assert.deepEqual(nsIf.addresses, [`${dhcpPorts[0].fixed_ips[0].ip_address}/24`]);
    assert.equal(nsIf.mtu, 1400);
    const tap = (await listLinks()).find((l) => l.name === `tap${dhcpPorts[0].id.slice(0, 11)}`)!;
    assert.equal(tap.master, bridgeOf(netId));
  });

  it('a VM gets exactly its port\'s address, the router, DNS, host routes (121) and the MTU', async () => {
    const pid0 = await pid();
    ports.vm1 = (await api('POST', '/v2.0/ports', { port: { network_id: netId, name: 'vm1' } }, 201)).port;
    await quiet();
    assert.match(await hostsFile(), new RegExp(`${ports.vm1.mac_address},host-[0-9-]+\\.openstacklocal,${ports.vm1.fixed_ips[0].ip_address.replace(/\./g, '\\.')}`));
    assert.equal(await pid(), pid0, 'a new port is a SIGHUP, not a restart');
    const t0 = Date.now();
    const env = await lease(await plug('v1', ports.vm1));
    process.stderr.write(`[dhcp e2e] first lease in ${Date.now() - t0} ms\n`);
    assert.equal(env.ip, ports.vm1.fixed_ips[0].ip_address);
    assert.equal(env.subnet, '255.255.255.0');
    assert.equal(env.router, '10.77.0.1');
    assert.equal(env.dns, '10.77.0.53 10.77.0.54');
    assert.equal(env.mtu, '1400');
    assert.equal(env.staticroutes, '192.168.77.0/24 10.77.0.254 0.0.0.0/0 10.77.0.1');
  });

  it('a second port is served by the same dnsmasq', async () => {
    const pid0 = await pid();
    ports.vm2 = (await api('POST', '/v2.0/ports', { port: { network_id: netId, name: 'vm2' } }, 201)).port;
    await quiet();
    assert.equal(await pid(), pid0, 'a SIGHUP, not a restart');
    assert.equal(agent.networks.get(netId)?.action, 'reloaded');
    const env = await lease(await plug('v2', ports.vm2));
    assert.equal(env.ip, ports.vm2.fixed_ips[0].ip_address);
    assert.equal(env.router, '10.77.0.1');
  });

  it('extra_dhcp_opts reach the VM (a restart: dnsmasq 2.90 crashes on SIGHUP with tagged hosts)', async () => {
    const pid0 = await pid();
    await api('PUT', `/v2.0/ports/${ports.vm1.id}`, { port: { extra_dhcp_opts: [{ opt_name: 'ntp-server', opt_value: '10.77.0.123' }] } });
    await quiet();
    assert.notEqual(await pid(), pid0, 'restarted (see the agent: tagged hosts lines)');
    assert.equal(agent.networks.get(netId)?.action, 'restarted');
    const env = await lease(`nt${s}v1`);
    assert.equal(env.ip, ports.vm1.fixed_ips[0].ip_address);
    assert.equal(env.ntpsrv, '10.77.0.123');
  });

  it('an agent restart adopts dnsmasq (same pid, no write) and tears down stale networks', async () => {
    const pid0 = await pid();
    await agent.stop();
    // A network this host once served but no longer does (Neutron's existing_dhcp_networks).
    const stale = randomUUID();
    await mkdir(join(agent.dhcpDir, stale), { recursive: true });
    const w0 = stats().writes;
    agent = new DhcpAgent(agentOpts);
    const t0 = Date.now();
    await agent.start();
    const ms = Date.now() - t0;
    await agent.idle();
    const writes = stats().writes - w0;
    process.stderr.write(`[dhcp e2e] restart: full sync in ${ms} ms, ${writes} kernel/file writes (stale network teardown included)\n`);
    assert.equal(await pid(), pid0, 'dnsmasq kept running and was adopted');
    assert.equal(agent.networks.get(netId)?.action, 'none');
    assert.ok(!existsSync(join(agent.dhcpDir, stale)), 'stale state removed');
    // The teardown of the stale network: its dnsmasq (none), namespace (none), directory: no kernel write.
    assert.equal(writes, 0);
    const env = await lease(`nt${s}v2`);
    assert.equal(env.ip, ports.vm2.fixed_ips[0].ip_address);
  });

  it('deleting the network removes dnsmasq, the namespace and the state directory', async () => {
    const pid0 = (await pid())!;
    for (const p of Object.values(ports)) await api('DELETE', `/v2.0/ports/${p.id}`, undefined, 204);
    await api('DELETE', `/v2.0/networks/${netId}`, undefined, 204);
    await quiet();
    await waitFor('namespace gone', async () => !(await netnsExists(namespaceOf(netId))));
    assert.ok(!existsSync(join(agent.dhcpDir, netId)));
    assert.ok(!existsSync(`/proc/${pid0}/cmdline`) || !(await readFile(`/proc/${pid0}/cmdline`, 'utf8')).includes(netId));
    assert.equal(agent.networks.size, 0);
  });
});

// As root, end to end: instance metadata on an isolated network (no router), as cloud-init gets
// it. The API server, a DHCP agent with enable_isolated_metadata and the metadata agent run
// in-process on the in-memory bus; the test plays Nova's metadata API (an HTTP server that checks
// the four headers and the signature as Nova does) and a VM (a namespace plugged into the
// network's bridge). The VM's lease carries the 169.254.169.254 host route via the DHCP port; curl
// in the VM reaches Nova through haproxy in qdhcp-<network> and the agent's Unix socket, and so
// does curl to fe80::a9fe:a9fe (Neutron's IPv6 metadata address, on the DHCP port's link). A wrong
// shared secret gets Nova's 403 through to the VM, an unknown source address a 404, an unreachable
// Nova a 500, each as Neutron's agent words them. Figures: request latency through the chain.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IpBatch, deleteNetns, httpProxyPid, listLinks, runInNetns, stats, stopDnsmasq } from '../../src/dataplane/index.js';
import { MemoryBroker, MemoryBus, silentLogger, type RpcBus } from '../../src/rpc/index.js';
import { DhcpAgent } from '../../src/agents/dhcp/agent.js';
import { bridgeOf, namespaceOf } from '../../src/agents/dhcp/render.js';
import { MetadataAgent } from '../../src/agents/metadata/agent.js';
import { METADATA_V6_IP, PROXY_DIR, stopMetadataProxy } from '../../src/agents/metadata/proxy.js';
import { BACKENDS } from '../helpers/backends.js';
import { ADMIN, startServer, type TestServer } from '../helpers/server.js';
import { Namespaces, rootGate, suffix, udhcpcLease } from '../dataplane/root-helpers.js';
import { sleep, waitFor } from '../helpers/wait.js';

const gate = rootGate('metadata on an isolated network end-to-end', ['ip', 'nsenter', 'dnsmasq', 'busybox', 'haproxy', 'curl']);

const SECRET = 'neutrino-metadata-secret';
const INSTANCE = '5b1f3c0e-8c2a-4d7e-9f61-2a3b4c5d6e7f';
const PATH = '/openstack/latest/meta_data.json';

interface NovaSeen {
  path: string;
  headers: http.IncomingHttpHeaders;
}

describe('metadata on an isolated network (root)', { skip: gate.skip }, () => {
  const s = suffix();
  const nss = new Namespaces();
  const HOSTNS = `nt${s}mdh`;
  const VM = `nt${s}mdv`;
  const HOST = `md-${s}`;
  const buses: RpcBus[] = [];
  let srv: TestServer;
  let dhcp: DhcpAgent;
  let md: MetadataAgent;
  let nova: http.Server;
  let novaSecret = SECRET;
  const seen: NovaSeen[] = [];
  let dir = '';
  let netId = '';
  let vmIp = '';
  let dhcpIp = '';
  let projectId = '';
  const proxyOpts = () => ({ statePath: join(dir, 'state'), socketPath: join(dir, 'metadata_proxy') });
  const broker = new MemoryBroker();
  const bus = () => {
    const b = new MemoryBus({ broker, logger: silentLogger });
    buses.push(b);
    return b;
  };
  const dhcpOptions = () => ({
    host: HOST,
    netns: HOSTNS,
    statePath: join(dir, 'state'),
    reportInterval: 5,
    resyncInterval: 1,
    metadata: { ...proxyOpts(), enableIsolatedMetadata: true, forceMetadata: false },
  });

  const api = async (method: string, path: string, body?: unknown, expect = 200) => {
    const r = await srv.req(method, path, body, ADMIN);
    assert.equal(r.status, expect, `${method} ${path}: ${JSON.stringify(r.body)}`);
    return r.body;
  };
  /** curl in the VM: status, body and curl's own timing. */
  const curl = async (extra: string[] = [], path = PATH) => {
    const r = await runInNetns(VM, {
      argv: ['curl', '-s', '-m', '10', '-w', '\n%{http_code} %{time_total}', ...extra, `http://169.254.169.254${path}`],
      timeoutMs: 20_000,
    });
    const lines = r.stdout.split('\n');
    const [code, time] = lines.pop()!.split(' ');
    return { status: Number(code), body: lines.join('\n'), seconds: Number(time) };
  };

  before(async () => {
    gate.check();
    dir = await mkdtemp(join(tmpdir(), 'neutrino-md-'));
    await chmod(dir, 0o755); // dnsmasq reads its files as 'nobody'
    await nss.add(HOSTNS);
    // Nova's metadata API as Nova checks a proxied request (nova/api/metadata/handler.py).
    nova = http.createServer((req, res) => {
      seen.push({ path: req.url ?? '', headers: req.headers });
      const id = String(req.headers['x-instance-id'] ?? '');
      const want = createHmac('sha256', novaSecret).update(id).digest('hex');
      if (req.headers['x-instance-id-signature'] !== want) {
        res.writeHead(403, { 'content-type': 'text/plain' }).end('Invalid proxy request signature.');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ uuid: id, project_id: req.headers['x-tenant-id'], name: 'vm' }));
    });
    await new Promise<void>((r) => nova.listen(0, '127.0.0.1', () => r()));
    srv = await startServer(BACKENDS.find((b) => b.name === 'sqlite')!, {}, { bus: bus() });
    md = new MetadataAgent({
      bus: bus(),
      host: HOST,
      socketPath: proxyOpts().socketPath,
      novaHost: '127.0.0.1',
      novaPort: (nova.address() as { port: number }).port,
      novaProtocol: 'http',
      sharedSecret: SECRET,
      reportInterval: 5,
    });
    await md.start();
    dhcp = new DhcpAgent({ ...dhcpOptions(), bus: bus() });
    await dhcp.start();
  });

  after(async () => {
    await dhcp?.stop().catch(() => {});
    await md?.stop().catch(() => {});
    if (netId) {
      await stopMetadataProxy(proxyOpts(), netId).catch(() => {});
      await stopDnsmasq(join(dir, 'state', 'dhcp'), netId).catch(() => {});
      await deleteNetns(namespaceOf(netId)).catch(() => {});
    }
    await nss.deleteAll();
    await srv?.stop();
    for (const b of buses) await b.close();
    await new Promise((r) => nova?.close(r));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the metadata agent reports itself', async () => {
    const agents = (await api('GET', `/v2.0/agents?host=${HOST}`)).agents as any[];
    const mine = agents.find((a) => a.agent_type === 'Metadata agent');
    assert.ok(mine, JSON.stringify(agents));
    assert.equal(mine.binary, 'neutron-metadata-agent');
    assert.equal(mine.configurations.metadata_proxy_socket, proxyOpts().socketPath);
  });

  it('a VM on an isolated network gets the 169.254.169.254 route via the DHCP port in its lease', async () => {
    const net = (await api('POST', '/v2.0/networks', { network: { name: `md-${s}` } }, 201)).network;
    netId = net.id;
    projectId = net.project_id;
    await api('POST', '/v2.0/subnets', { subnet: { network_id: netId, cidr: '10.77.0.0/24', ip_version: 4 } }, 201);
    const port = (await api('POST', '/v2.0/ports', { port: { network_id: netId, device_id: INSTANCE, device_owner: 'compute:nova' } }, 201)).port;
    vmIp = port.fixed_ips[0].ip_address;
    await srv.server.settled();
    await waitFor('network served', async () => (dhcp.networks.has(netId) ? true : null), 15_000);
    await dhcp.idle();
    const dhcpPort = ((await api('GET', `/v2.0/ports?network_id=${netId}&device_owner=network:dhcp`)).ports as any[])[0];
    dhcpIp = dhcpPort.fixed_ips[0].ip_address;
    const nsIf = (await listLinks({ netns: namespaceOf(netId) })).find((l) => l.name.startsWith('ns-'))!;
    assert.deepEqual([...nsIf.addresses].sort(), [`${dhcpIp}/24`, '169.254.169.254/32'].sort());
    assert.ok(await httpProxyPid(join(dir, 'state', PROXY_DIR), netId), 'haproxy runs for the network');

    // The VM: a veth whose host end is in the network's bridge (the L2 agent's job; done by hand here).
    await nss.add(VM);
    const tap = `tap${port.id.slice(0, 11)}`;
    await new IpBatch().addVeth(tap, 'eth0', { peerNetns: VM }).setMaster(tap, bridgeOf(netId)).setUp(tap, true).apply({ netns: HOSTNS });
    await new IpBatch().setAddress('eth0', port.mac_address).setUp('eth0', true).setUp('lo', true).apply({ netns: VM });
    const lease = await udhcpcLease(VM);
    assert.equal(lease.ip, vmIp);
    assert.equal(lease.staticroutes, `169.254.169.254/32 ${dhcpIp} 0.0.0.0/0 10.77.0.1`);
    // What the DHCP client does with it (udhcpc's script is the test's, so configure as it would).
    await new IpBatch().addAddr('eth0', `${vmIp}/24`).apply({ netns: VM });
    await runInNetns(VM, { argv: ['ip', 'route', 'add', '169.254.169.254/32', 'via', dhcpIp], write: true });
  });

  it("curl from the VM reaches Nova with the four headers and a valid signature, and gets Nova's answer", async () => {
    const r = await curl();
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(JSON.parse(r.body), { uuid: INSTANCE, project_id: projectId, name: 'vm' });
    const last = seen.at(-1)!;
    assert.equal(last.path, PATH);
    assert.equal(last.headers['x-instance-id'], INSTANCE);
    assert.equal(last.headers['x-tenant-id'], projectId);
    assert.equal(last.headers['x-forwarded-for'], vmIp);
    assert.equal(last.headers['x-instance-id-signature'], createHmac('sha256', SECRET).update(INSTANCE).digest('hex'));
  });

  it('over IPv6: curl to [fe80::a9fe:a9fe%eth0] reaches Nova too; the agent finds the VM by the MAC in its link-local address', async () => {
    // The VM's own link-local address must have passed DAD before it can speak from it.
    const linkLocal = await waitFor(
      "the VM's link-local address",
      async () => {
        const r = await runInNetns(VM, { argv: ['ip', '-json', '-6', 'addr', 'show', 'dev', 'eth0', 'scope', 'link'] });
        const a = (JSON.parse(r.stdout || '[]') as any[]).flatMap((l) => l.addr_info ?? []).find((i: any) => i.local && !i.tentative);
        return a ? String(a.local) : null;
      },
      10_000,
    );
    const r = await runInNetns(VM, {
      argv: ['curl', '-g', '-s', '-m', '10', '-w', '\n%{http_code}', `http://[${METADATA_V6_IP}%eth0]${PATH}`],
      timeoutMs: 20_000,
    });
    const lines = r.stdout.split('\n');
    assert.equal(lines.pop(), '200', r.stdout);
    assert.deepEqual(JSON.parse(lines.join('\n')), { uuid: INSTANCE, project_id: projectId, name: 'vm' });
    const last = seen.at(-1)!;
    assert.equal(last.headers['x-instance-id'], INSTANCE);
    assert.equal(last.headers['x-forwarded-for'], linkLocal);
    assert.equal(last.headers['x-instance-id-signature'], createHmac('sha256', SECRET).update(INSTANCE).digest('hex'));
  });

  it('a spoofed X-Forwarded-For or network id from the VM changes nothing', async () => {
    const r = await curl(['-H', 'X-Forwarded-For: 10.77.0.99', '-H', 'X-Neutron-Router-ID: 00000000-0000-0000-0000-000000000000']);
    assert.equal(r.status, 200, r.body);
    assert.equal(seen.at(-1)!.headers['x-forwarded-for'], vmIp);
  });

  it("a wrong shared secret: Nova's 403 reaches the VM as Neutron's Forbidden page", async () => {
    novaSecret = 'not-the-agents-secret';
    try {
      const r = await curl();
      assert.equal(r.status, 403);
      assert.match(r.body, /<title>403 Forbidden<\/title>/);
      assert.match(r.body, /Access was denied to this resource\./);
      assert.doesNotMatch(r.body, /Invalid proxy request signature/, "Nova's own text is not passed on");
    } finally {
      novaSecret = SECRET;
    }
  });

  it('an address no port has: 404, and Nova is not asked', async () => {
    await new IpBatch().addAddr('eth0', '10.77.0.250/24').apply({ netns: VM });
    const before = seen.length;
    const r = await curl(['--interface', '10.77.0.250']);
    assert.equal(r.status, 404);
    assert.match(r.body, /<title>404 Not Found<\/title>/);
    assert.equal(seen.length, before);
  });

  it('Nova unreachable: 500 with the unknown-error page', async () => {
    const port = (nova.address() as { port: number }).port;
    await new Promise((r) => nova.close(r));
    try {
      const r = await curl();
      assert.equal(r.status, 500);
      assert.match(r.body, /An unknown error has occurred\. Please try your request again\./);
    } finally {
      await new Promise<void>((r) => nova.listen(port, '127.0.0.1', () => r()));
    }
    assert.equal((await curl()).status, 200);
  });

  it('figures: latency through haproxy, the agent (cached lookups) and Nova', async () => {
    const times: number[] = [];
    for (let i = 0; i < 30; i++) times.push((await curl()).seconds * 1000);
    times.sort((a, b) => a - b);
    const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))]!.toFixed(1);
    process.stdout.write(`# metadata request through the proxy chain (curl time_total): p50 ${q(0.5)} ms, p90 ${q(0.9)} ms, max ${q(1)} ms\n`);
    assert.equal(times.length, 30);
  });

  it('a restarted DHCP agent adopts the running proxy and writes nothing', async () => {
    const pid = await httpProxyPid(join(dir, 'state', PROXY_DIR), netId);
    await dhcp.stop();
    const before = stats().writes;
    dhcp = new DhcpAgent({ ...dhcpOptions(), bus: bus() });
    await dhcp.start();
    assert.equal(stats().writes - before, 0, 'kernel writes of the restart');
    assert.equal(await httpProxyPid(join(dir, 'state', PROXY_DIR), netId), pid);
    assert.equal(dhcp.networks.get(netId)?.action, 'none');
    assert.equal((await curl()).status, 200);
  });

  it('a router interface at the gateway: no longer isolated, the proxy stops and the route goes via the gateway', async () => {
    const router = (await api('POST', '/v2.0/routers', { router: { name: `md-${s}` } }, 201)).router;
    const subnetId = ((await api('GET', `/v2.0/subnets?network_id=${netId}`)).subnets as any[])[0].id;
    await api('PUT', `/v2.0/routers/${router.id}/add_router_interface`, { subnet_id: subnetId });
    await srv.server.settled();
    await waitFor('proxy stopped', async () => ((await httpProxyPid(join(dir, 'state', PROXY_DIR), netId)) === null ? true : null), 15_000);
    await dhcp.idle();
    const lease = await udhcpcLease(VM, 'eth0', { request: vmIp });
    assert.equal(lease.staticroutes, '169.254.169.254/32 10.77.0.1 0.0.0.0/0 10.77.0.1');
    await api('PUT', `/v2.0/routers/${router.id}/remove_router_interface`, { subnet_id: subnetId });
    await api('DELETE', `/v2.0/routers/${router.id}`, undefined, 204);
    await srv.server.settled();
    await waitFor('proxy back', async () => ((await httpProxyPid(join(dir, 'state', PROXY_DIR), netId)) !== null ? true : null), 15_000);
  });

  it('the network deleted: its proxy stops with its dnsmasq', async () => {
    for (const p of (await api('GET', `/v2.0/ports?network_id=${netId}&device_owner=compute:nova`)).ports as any[])
      await api('DELETE', `/v2.0/ports/${p.id}`, undefined, 204);
    await api('DELETE', `/v2.0/networks/${netId}`, undefined, 204);
    await srv.server.settled();
    await waitFor('proxy stopped', async () => ((await httpProxyPid(join(dir, 'state', PROXY_DIR), netId)) === null ? true : null), 15_000);
    await sleep(50);
  });
});

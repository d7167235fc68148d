// As root: `neutrino aio` with `[aio] agents = linuxbridge,dhcp,metadata` runs the API server and
// the three agents in one process on the in-memory bus. The agents manage a namespace made for the test
// (--netns, as a simulated host); a VM plugged there gets ACTIVE and its address by DHCP.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deleteNetns, runInNetns, stopDnsmasq } from '../../src/dataplane/index.js';
import { stopMetadataProxy } from '../../src/agents/metadata/proxy.js';
import { namespaceOf } from '../../src/agents/dhcp/render.js';
import { plug } from '../../src/cli/vif-plug.js';
import { Namespaces, rootGate, suffix, udhcpcLease } from '../dataplane/root-helpers.js';
import { Proc } from '../e2e/two-hosts.js';
import { waitThroughErrors } from '../helpers/wait.js';
import { createHmac } from 'node:crypto';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';

const gate = rootGate('aio with agents', ['ip', 'bridge', 'nsenter', 'busybox', 'dnsmasq', 'haproxy', 'curl']);

describe('neutrino aio with [aio] agents (root)', { skip: gate.skip }, () => {
  const s = suffix();
  const nss = new Namespaces();
  const HOST = `aio-${s}`;
  const NS = `nt${s}aio`;
  const VM = `nt${s}avm`;
  const dir = mkdtempSync(join(tmpdir(), 'neutrino-aio-agents-'));
  let aio: Proc;
  let nova: HttpServer;
  const SECRET = 'aio-metadata-secret';
  let url = '';
  const api = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${url}/v2.0${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: r.status, body: (await r.json().catch(() => null)) as any };
  };

  before(async () => {
    gate.check();
    chmodSync(dir, 0o755); // dnsmasq reads its files as 'nobody'
    // Nova's metadata API for the aio's metadata agent: answers when the signature is right.
    nova = createHttpServer((req, res) => {
      const id = String(req.headers['x-instance-id'] ?? '');
      const ok = req.headers['x-instance-id-signature'] === createHmac('sha256', SECRET).update(id).digest('hex');
      res.writeHead(ok ? 200 : 403, { 'content-type': 'application/json' }).end(JSON.stringify({ uuid: id }));
    });
    await new Promise<void>((r) => nova.listen(0, '127.0.0.1', () => r()));
    await nss.add(NS);
    writeFileSync(
      join(dir, 'aio.conf'),
      [
        '[DEFAULT]',
        `host = ${HOST}`,
        'enable_isolated_metadata = true',
        `nova_metadata_port = ${(nova.address() as { port: number }).port}`,
        `metadata_proxy_shared_secret = ${SECRET}`,
        '[aio]',
        'agents = linuxbridge,dhcp,metadata',
        '[agent]',
        'report_interval = 2',
        '',
      ].join('\n'),
    );
    const { createServer } = await import('node:net');
    const port = await new Promise<number>((res) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => res(p));
      });
    });
    url = `http://127.0.0.1:${port}`;
    aio = new Proc('aio', [
      'aio',
      '--bind-host',
      '127.0.0.1',
      '--bind-port',
      String(port),
      '--state-path',
      join(dir, 'state'),
      '--config-file',
      join(dir, 'aio.conf'),
      '--netns',
      NS,
    ]);
    await aio.logLine(/aio: agents started in-process/, 20_000).catch((e) => {
      throw new Error(`${(e as Error).message}\n${aio.out}`);
    });
  });

  after(async () => {
    await aio?.stop();
    await new Promise((r) => nova?.close(r));
    const dhcp = join(dir, 'state', 'dhcp');
    if (existsSync(dhcp)) {
      for (const id of readdirSync(dhcp).filter((d) => /^[0-9a-f-]{36}$/.test(d))) {
        await stopDnsmasq(dhcp, id).catch(() => {});
        await stopMetadataProxy({ statePath: join(dir, 'state'), socketPath: '' }, id).catch(() => {});
        await deleteNetns(namespaceOf(id)).catch(() => {});
      }
    }
    await nss.deleteAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the three agents report alive for this host from the aio process', async () => {
    const types = await waitThroughErrors(
      'agents alive',
      async () => {
        const r = await api('GET', `/agents?host=${HOST}`);
        const alive = r.body.agents
          .filter((a: any) => a.alive)
          .map((a: any) => a.agent_type)
          .sort();
        return alive.length === 3 ? alive : null;
      },
      15_000,
    );
    assert.deepEqual(types, ['DHCP agent', 'Linux bridge agent', 'Metadata agent']);
    assert.match(aio.out, /"rpc":"memory"/, 'the in-memory bus');
  });

  it('a VM on a network with DHCP goes ACTIVE, gets its address and its metadata', async () => {
    const net = (await api('POST', '/networks', { network: { name: 'aio-net' } })).body.network;
    assert.equal(net['provider:network_type'], 'local');
    const sn = await api('POST', '/subnets', { subnet: { network_id: net.id, cidr: '10.78.0.0/24', ip_version: 4 } });
    assert.equal(sn.status, 201, JSON.stringify(sn.body));
    const port = (await api('POST', '/ports', { port: { network_id: net.id, name: 'vm', device_id: '3c9a7e10-5b2d-4f8e-9a1c-6d0e2f4b8a7c' } })).body
      .port;
    await nss.add(VM);
    await plug({
      action: 'plug',
      portId: port.id,
      netns: VM,
      host: HOST,
      hostNetns: NS,
      ifname: 'eth0',
      static: false,
      unbind: false,
      endpoint: url,
    });
    await waitThroughErrors('port ACTIVE', async () => (await api('GET', `/ports/${port.id}`)).body.port.status === 'ACTIVE', 15_000).catch((e) => {
      throw new Error(`${(e as Error).message}\n${aio.out.slice(-3000)}`);
    });
    const env = await udhcpcLease(VM);
    assert.equal(env.ip, port.fixed_ips[0].ip_address);
    assert.equal(env.router, '10.78.0.1');
    // Metadata on this isolated network: the route DHCP gave, then curl through the aio's proxy and agent.
    const [dest, via] = env.staticroutes!.split(' ');
    assert.equal(dest, '169.254.169.254/32');
    await runInNetns(VM, { argv: ['ip', 'addr', 'add', `${env.ip}/24`, 'dev', 'eth0'], write: true });
    await runInNetns(VM, { argv: ['ip', 'route', 'add', dest!, 'via', via!], write: true });
    const r = await runInNetns(VM, { argv: ['curl', '-s', '-m', '10', 'http://169.254.169.254/openstack/latest/meta_data.json'], timeoutMs: 20_000 });
    assert.deepEqual(JSON.parse(r.stdout), { uuid: port.device_id });
  });

  it("the agents' metrics are on the server's /metrics, labelled by agent", async () => {
    // After the VM test: the DHCP agent has started a dnsmasq, both agents have run passes.
    const text = await (await fetch(`${url}/metrics`)).text();
    const count = (re: RegExp) => [...text.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0);
    assert.ok(count(/^neutrino_agent_pass_duration_seconds_count\{agent="linuxbridge",[^}]*outcome="ok"\} (\d+)$/gm) > 0, 'L2 agent passes');
    assert.ok(count(/^neutrino_agent_pass_duration_seconds_count\{agent="dhcp",kind="network",[^}]*\} (\d+)$/gm) > 0, 'DHCP network passes');
    assert.ok(count(/^neutrino_agent_dnsmasq_actions_total\{action="started"\} (\d+)$/gm) >= 1, 'a dnsmasq started');
    assert.match(text, /^neutrino_agent_queue_depth\{agent="linuxbridge"\} \d+$/m);
    assert.match(text, /^neutrino_agent_kernel_commands_total\{kind="write"\} \d+$/m);
    assert.match(text, /^neutrino_http_requests_total\{/m, "the server's own metrics too");
    assert.doesNotMatch(text, /^neutrino_agent_process_cpu/m, 'the process is counted once, as the server');
  });
});

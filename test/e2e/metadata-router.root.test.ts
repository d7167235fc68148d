// As root, end to end on RabbitMQ: the router side of metadata as the L3 agent will use it, with
// `neutrino agent metadata` as its own process with two node:cluster workers. The test stands in
// for the L3 agent: a router namespace with the qr- interface of a real router port (made through
// the API), the nftables rules of routerMetadataNftRules() and startRouterMetadataProxy(). A VM
// behind the router fetches its metadata from 169.254.169.254 through its default gateway; the
// agent finds it by X-Neutron-Router-ID (the router's networks, then the address) through the
// server's get_ports; the test plays Nova. Port 9697 itself is closed to the VM. A killed worker
// is replaced and requests keep being answered.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { IpBatch, runInNetns } from '../../src/dataplane/index.js';
import { createBus, silentLogger, type RpcBus } from '../../src/rpc/index.js';
import { routerMetadataNftRules, startRouterMetadataProxy, stopMetadataProxy } from '../../src/agents/metadata/proxy.js';
import { BACKENDS } from '../helpers/backends.js';
import { ADMIN, startServer, type TestServer } from '../helpers/server.js';
import { Namespaces, rootGate, suffix } from '../dataplane/root-helpers.js';
import { RABBIT_URL, skipUnlessRabbit } from '../rpc/rabbit.js';
import { Proc } from './two-hosts.js';
import { waitFor } from '../helpers/wait.js';

const run = promisify(execFile);
const gate = rootGate('metadata through a router end-to-end', ['ip', 'nsenter', 'nft', 'haproxy', 'curl', 'rabbitmqctl']);
const rabbitSkip = gate.skip ? false : await skipUnlessRabbit();

const SECRET = 'router-metadata-secret';
const INSTANCE = '7d2e4f60-1a2b-4c3d-8e9f-0a1b2c3d4e5f';
const PATH = '/openstack/latest/meta_data.json';

describe('metadata through a router, agent process with 2 workers on RabbitMQ (root)', { skip: gate.skip || rabbitSkip }, () => {
  const s = suffix();
  const nss = new Namespaces();
  const RNS = `nt${s}mdr`;
  const VM = `nt${s}mdw`;
  const vhost = `neutrino-md-${s}`;
  const transportUrl = `${RABBIT_URL.replace(/\/+$/, '')}/${vhost}`;
  let bus: RpcBus;
  let srv: TestServer;
  let agent: Proc;
  let nova: http.Server;
  const seen: http.IncomingHttpHeaders[] = [];
  let dir = '';
  let routerId = '';
  let vmIp = '';
  let projectId = '';
  const opts = () => ({ statePath: join(dir, 'state'), socketPath: join(dir, 'metadata_proxy') });

  const api = async (method: string, path: string, body?: unknown, expect = 200) => {
    const r = await srv.req(method, path, body, ADMIN);
    assert.equal(r.status, expect, `${method} ${path}: ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const curl = async (url: string, extra: string[] = []) => {
    const r = await runInNetns(VM, {
      argv: ['curl', '-s', '-m', '3', '-w', '\n%{http_code} %{time_total}', ...extra, url],
      timeoutMs: 20_000,
      okCodes: [0, 7, 28],
    });
    const lines = r.stdout.split('\n');
    const [code, time] = lines.pop()!.split(' ');
    return { status: Number(code), body: lines.join('\n'), seconds: Number(time) };
  };
  /** The agent's worker processes (children of the primary). */
  const workers = async () =>
    (await readFile(`/proc/${agent.child.pid}/task/${agent.child.pid}/children`, 'utf8').catch(() => '')).split(/\s+/).filter(Boolean).map(Number);

  before(async () => {
    gate.check();
    dir = await mkdtemp(join(tmpdir(), 'neutrino-mdr-'));
    await chmod(dir, 0o755);
    await run('rabbitmqctl', ['add_vhost', vhost]);
    await run('rabbitmqctl', ['set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*']);
    nova = http.createServer((req, res) => {
      seen.push(req.headers);
      const id = String(req.headers['x-instance-id'] ?? '');
      if (req.headers['x-instance-id-signature'] !== createHmac('sha256', SECRET).update(id).digest('hex')) {
        res.writeHead(403).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ uuid: id }));
    });
    await new Promise<void>((r) => nova.listen(0, '127.0.0.1', () => r()));
    bus = createBus(transportUrl, { logger: silentLogger });
    srv = await startServer(BACKENDS.find((b) => b.name === 'sqlite')!, {}, { bus });
    await writeFile(
      join(dir, 'metadata_agent.ini'),
      [
        '[DEFAULT]',
        `host = md-${s}`,
        `transport_url = ${transportUrl}`,
        `state_path = ${join(dir, 'state')}`,
        `metadata_proxy_socket = ${opts().socketPath}`,
        'nova_metadata_host = 127.0.0.1',
        `nova_metadata_port = ${(nova.address() as { port: number }).port}`,
        `metadata_proxy_shared_secret = ${SECRET}`,
        'metadata_workers = 2',
        '[agent]',
        'report_interval = 2',
        '',
      ].join('\n'),
    );
    agent = new Proc('metadata', ['agent', 'metadata', '--config-file', join(dir, 'metadata_agent.ini')]);
    await waitFor('two workers listening', () => agent.logs().filter((l) => l.msg === 'metadata agent listening').length === 2, 30_000).catch((e) => {
      throw new Error(`${(e as Error).message}\n${agent.out}`);
    });
  });

  after(async () => {
    if (routerId && dir) await stopMetadataProxy(opts(), routerId).catch(() => {});
    await agent?.stop();
    await nss.deleteAll();
    await srv?.stop();
    await bus?.close();
    await new Promise((r) => nova?.close(r));
    await run('rabbitmqctl', ['delete_vhost', vhost]).catch(() => {});
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the agent process reports itself over RabbitMQ', async () => {
    const a = await waitFor(
      'metadata agent registered',
      async () => ((await api('GET', `/v2.0/agents?host=md-${s}`)).agents as any[]).find((x) => x.agent_type === 'Metadata agent' && x.alive),
      15_000,
    );
    assert.equal(a.binary, 'neutron-metadata-agent');
    assert.equal((await workers()).length, 2, 'two worker processes');
    assert.ok(existsSync(opts().socketPath));
  });

  it('a VM behind a router reaches Nova through the redirect, the router proxy and the agent', async () => {
    const net = (await api('POST', '/v2.0/networks', { network: { name: `mdr-${s}` } }, 201)).network;
    projectId = net.project_id;
    const subnet = (await api('POST', '/v2.0/subnets', { subnet: { network_id: net.id, cidr: '10.76.0.0/24', ip_version: 4 } }, 201)).subnet;
    routerId = (await api('POST', '/v2.0/routers', { router: { name: `mdr-${s}` } }, 201)).router.id;
    const itf = await api('PUT', `/v2.0/routers/${routerId}/add_router_interface`, { subnet_id: subnet.id });
    const vmPort = (await api('POST', '/v2.0/ports', { port: { network_id: net.id, device_id: INSTANCE, device_owner: 'compute:nova' } }, 201)).port;
    vmIp = vmPort.fixed_ips[0].ip_address;

    // What the L3 agent does for the router (here by hand): namespace, qr- interface, rules, proxy.
    await nss.add(RNS);
    await nss.add(VM);
    const qr = `qr-${String(itf.port_id).slice(0, 11)}`;
    await new IpBatch().addVeth(qr, 'eth0', { peerNetns: VM }).addAddr(qr, '10.76.0.1/24').setUp(qr, true).apply({ netns: RNS });
    await new IpBatch()
      .setAddress('eth0', vmPort.mac_address)
      .addAddr('eth0', `${vmIp}/24`)
      .setUp('eth0', true)
      .setUp('lo', true)
      .apply({ netns: VM });
    await runInNetns(VM, { argv: ['ip', 'route', 'add', 'default', 'via', '10.76.0.1'], write: true });
    const rules = routerMetadataNftRules();
    const table = [
      `table ip nt_md_${s} {`,
      '  chain prerouting {',
      '    type nat hook prerouting priority dstnat;',
      ...rules.nat.map((r) => `    ${r}`),
      '  }',
      '  chain input {',
      '    type filter hook input priority filter;',
      ...rules.filter.map((r) => `    ${r}`),
      '  }',
      '}',
      '',
    ].join('\n');
    await runInNetns(RNS, { argv: ['nft', '-f', '-'], input: table, write: true });
    assert.equal(await startRouterMetadataProxy(opts(), routerId, RNS), 'started');
    assert.equal(await startRouterMetadataProxy(opts(), routerId, RNS), 'none', 'a second pass writes nothing');

    const r = await curl(`http://169.254.169.254${PATH}`);
    assert.equal(r.status, 200, r.body + agent.out.slice(-2000));
    assert.deepEqual(JSON.parse(r.body), { uuid: INSTANCE });
    const h = seen.at(-1)!;
    assert.equal(h['x-instance-id'], INSTANCE);
    assert.equal(h['x-tenant-id'], projectId);
    assert.equal(h['x-forwarded-for'], vmIp);
  });

  it('the proxy port itself is closed to the VM (only redirected connections reach it)', async () => {
    const r = await curl(`http://10.76.0.1:9697${PATH}`, ['-m', '2']);
    assert.equal(r.status, 0, `expected no answer, got ${r.status} ${r.body}`);
  });

  it('a killed worker is replaced; requests keep being answered', async () => {
    const [first] = await workers();
    process.kill(first!, 'SIGKILL');
    await waitFor('a new worker', async () => {
      const w = await workers();
      return w.length === 2 && !w.includes(first!) ? w : null;
    });
    for (let i = 0; i < 4; i++) assert.equal((await curl(`http://169.254.169.254${PATH}`)).status, 200);
  });

  it('figures: latency through redirect, haproxy, agent workers (RabbitMQ lookups, cached) and Nova', async () => {
    const times: number[] = [];
    for (let i = 0; i < 30; i++) {
      const r = await curl(`http://169.254.169.254${PATH}`);
      assert.equal(r.status, 200);
      times.push(r.seconds * 1000);
    }
    times.sort((a, b) => a - b);
    const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))]!.toFixed(1);
    process.stdout.write(`# metadata via router, 2 workers on RabbitMQ (curl time_total): p50 ${q(0.5)} ms, p90 ${q(0.9)} ms, max ${q(1)} ms\n`);
  });

  it('stopping the router proxy closes 169.254.169.254 for the VM', async () => {
    assert.equal(await stopMetadataProxy(opts(), routerId), true);
    const r = await curl(`http://169.254.169.254${PATH}`, ['-m', '2']);
    assert.equal(r.status, 0);
  });
});

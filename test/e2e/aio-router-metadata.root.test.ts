// As root: `neutrino aio --agents linuxbridge,dhcp,l3,metadata` (one process: API, in-memory bus,
// the four agents, driving a host namespace of its own with --netns) serves metadata to a VM
// behind a router: the VM, on an all-in-one's `local` network, curls 169.254.169.254 through its
// default gateway (the router's qr- interface), the router's haproxy forwards to the in-process
// metadata agent, which asks a Nova played by the test.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createServer as netServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { deleteNetns, IpBatch, runInNetns } from '../../src/dataplane/index.js';
import { routerNamespace } from '../../src/agents/l3/model.js';
import { plug } from '../../src/cli/vif-plug.js';
import { Namespaces, rootGate, suffix } from '../dataplane/root-helpers.js';
import { Proc } from './two-hosts.js';
import { waitFor, waitThroughErrors } from '../helpers/wait.js';

const run = promisify(execFile);
const gate = rootGate('aio router metadata', ['ip', 'bridge', 'nsenter', 'nft', 'haproxy', 'curl', 'dnsmasq', 'conntrack', 'arping']);
const SECRET = 'aio-router-metadata';
const INSTANCE = '0b6f2d7c-9e41-4a3b-8c5d-6e7f8a9b0c1d';
const PATH = '/openstack/latest/meta_data.json';

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = netServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
    s.on('error', rej);
  });
}

describe('aio --agents linuxbridge,dhcp,l3,metadata: metadata through a router (root)', { skip: gate.skip }, () => {
  const s = suffix();
  const nss = new Namespaces();
  const HOST_NS = `nt${s}ah`;
  const VM = `nt${s}av`;
  const host = `aio-${s}`;
  let dir = '';
  let url = '';
  let aio: Proc;
  let nova: http.Server;
  let routerId = '';
  const seen: http.IncomingHttpHeaders[] = [];

  const api = async (method: string, path: string, body?: unknown, expect = 200) => {
    const r = await fetch(`${url}/v2.0${path}`, {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: { 'content-type': 'application/json', 'x-project-id': 'aio-project', 'x-roles': 'admin,member', 'x-user-id': 'aio' },
    });
    const text = await r.text();
    assert.equal(r.status, expect, `${method} ${path}: ${text}\n${aio.out.slice(-3000)}`);
    return text ? JSON.parse(text) : null;
  };

  before(async () => {
    gate.check();
    dir = mkdtempSync(join(tmpdir(), 'neutrino-aio-md-'));
    chmodSync(dir, 0o755);
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
    await nss.add(HOST_NS);
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    writeFileSync(
      join(dir, 'aio.ini'),
      [
        '[DEFAULT]',
        `host = ${host}`,
        'nova_metadata_host = 127.0.0.1',
        `nova_metadata_port = ${(nova.address() as { port: number }).port}`,
        `metadata_proxy_shared_secret = ${SECRET}`,
        '[agent]',
        'report_interval = 2',
        '',
      ].join('\n'),
    );
    aio = new Proc('aio', [
      'aio',
      '--config-file',
      join(dir, 'aio.ini'),
      '--agents',
      'linuxbridge,dhcp,l3,metadata',
      '--netns',
      HOST_NS,
      '--bind-host',
      '127.0.0.1',
      '--bind-port',
      String(port),
      '--state-path',
      join(dir, 'state'),
    ]);
    await aio.logLine(/aio: agents started in-process/, 60_000).catch((e) => {
      throw new Error(`${(e as Error).message}\n${aio.out.slice(-3000)}`);
    });
  });

  after(async () => {
    await aio?.stop();
    if (routerId) {
      const pids = await run('ip', ['netns', 'pids', routerNamespace(routerId)]).catch(() => ({ stdout: '' }));
      for (const pid of pids.stdout.split(/\s+/).filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // gone
        }
      }
      await deleteNetns(routerNamespace(routerId)).catch(() => {});
    }
    await nss.deleteAll();
    await new Promise((r) => nova?.close(r));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a VM behind a router fetches its metadata; the router leaving takes its proxy along', async () => {
    const net = (await api('POST', '/networks', { network: { name: 'aio-md' } }, 201)).network;
    const subnet = (await api('POST', '/subnets', { subnet: { network_id: net.id, cidr: '10.74.1.0/24', ip_version: 4, enable_dhcp: false } }, 201))
      .subnet;
    routerId = (await api('POST', '/routers', { router: { name: 'aio-md' } }, 201)).router.id;
    await api('PUT', `/routers/${routerId}/add_router_interface`, { subnet_id: subnet.id });
    const p = (
      await api(
        'POST',
        '/ports',
        { port: { network_id: net.id, device_id: INSTANCE, device_owner: 'compute:nova', port_security_enabled: false } },
        201,
      )
    ).port;
    await nss.add(VM);
    await plug({ action: 'plug', portId: p.id, netns: VM, host, hostNetns: HOST_NS, ifname: 'eth0', static: true, unbind: false, endpoint: url });
    await new IpBatch().line('route', 'add', 'default', 'via', '10.74.1.1').apply({ netns: VM });
    const curl = async () => {
      const r = await runInNetns(VM, {
        argv: ['curl', '-s', '-m', '1', '-w', '\n%{http_code}', `http://169.254.169.254${PATH}`],
        okCodes: [0, 7, 28],
      });
      const lines = r.stdout.split('\n');
      return { status: Number(lines.pop()), body: lines.join('\n') };
    };
    const r = await waitThroughErrors(
      'metadata through the aio router',
      async () => ((await curl()).status === 200 ? curl() : null),
      30_000,
      200,
    ).catch((e) => {
      throw new Error(`${(e as Error).message}\n${aio.out.slice(-3000)}`);
    });
    assert.deepEqual(JSON.parse(r.body), { uuid: INSTANCE });
    assert.equal(seen.at(-1)!['x-forwarded-for'], p.fixed_ips[0].ip_address);
    // The L3 and metadata agents count on the server's /metrics too (labelled by agent).
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const sum = (re: RegExp) => [...metrics.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0);
    assert.ok(sum(/^neutrino_agent_pass_duration_seconds_count\{agent="l3",kind="router",[^}]*outcome="ok"\} (\d+)$/gm) > 0, 'L3 router passes');
    assert.ok(sum(/^neutrino_agent_resyncs_total\{agent="l3"\} (\d+)$/gm) >= 1, 'the L3 full sync at start');
    assert.match(metrics, /^neutrino_agent_queue_depth\{agent="l3"\} \d+$/m);
    assert.ok(sum(/^neutrino_agent_metadata_requests_total\{status="200"\} (\d+)$/gm) >= 1, 'metadata answers');

    await api('PUT', `/routers/${routerId}/remove_router_interface`, { subnet_id: subnet.id });
    await api('DELETE', `/routers/${routerId}`, undefined, 204);
    await waitFor(
      'router namespace and proxy gone',
      async () => {
        const ns = await run('ip', ['netns', 'list']);
        return !ns.stdout.includes(routerNamespace(routerId));
      },
      15_000,
      100,
    );
    const left = await run('pgrep', ['-f', join(dir, 'state', 'ns-metadata-proxy')]).catch(() => ({ stdout: '' }));
    assert.equal(left.stdout.trim(), '', 'the router proxy is still running');
  });
});

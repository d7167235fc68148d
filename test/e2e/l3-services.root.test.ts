// End to end, as root, on the in-memory bus and on RabbitMQ with the server and agents as processes
// (`neutrino agent metadata` among them): what the L3 agent runs in a router besides routing
// (two-hosts.ts with its L3 agent on host A, enable_metadata_proxy on, radvd intervals 3-10 s).
//   - metadata: a VM on host B, on a tenant network whose router is on host A (VXLAN between),
//     fetches http://169.254.169.254/openstack/latest/meta_data.json through its default gateway:
//     the router's redirect, its haproxy, a metadata agent (in-process, on the same bus) and a Nova
//     played by the test, which checks the headers and the signature;
//   - IPv6: a VM on a SLAAC subnet (plugged with no address; its port in the default security
//     group, whose firewall lets router advertisements in) gets, once the subnet is added to the
//     router, the EUI-64 address the API shows on its port from the router's radvd, and pings the
//     router's qr- address;
//   - an L3 agent restart adopts the running haproxy and radvd (same pids) and writes nothing;
//   - removing the interfaces and the router stops radvd and the proxy.
// Figures are printed (`# two-hosts e2e figures`), not asserted.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { httpProxyPid, IpBatch, radvdPid, runInNetns } from '../../src/dataplane/index.js';
import { MetadataAgent } from '../../src/agents/metadata/agent.js';
import { PROXY_DIR } from '../../src/agents/metadata/proxy.js';
import { RA_DIR } from '../../src/agents/l3/services.js';
import { rootGate } from '../dataplane/root-helpers.js';
import { skipUnlessRabbit } from '../rpc/rabbit.js';
import { Proc, TwoHosts, type BusMode } from './two-hosts.js';
import { waitFor, waitThroughErrors } from '../helpers/wait.js';

const gate = rootGate('L3 router services end-to-end', ['ip', 'bridge', 'nsenter', 'nft', 'haproxy', 'radvd', 'curl', 'busybox', 'rabbitmqctl']);
const rabbitSkip = gate.skip ? false : await skipUnlessRabbit();
const modes = (['memory', 'rabbit'] as BusMode[]).filter((m) => !process.env.NEUTRINO_E2E_BUS || process.env.NEUTRINO_E2E_BUS === m);

const SECRET = 'l3-services-secret';
const INSTANCE = '3f0c9a8e-5b7d-4e21-9c6a-8d4f2e1b7a90';
const PATH = '/openstack/latest/meta_data.json';

for (const mode of modes)
  describe(`L3 e2e (root, ${mode} bus): router metadata proxy and IPv6 router advertisements`, {
    skip: gate.skip || (mode === 'rabbit' && rabbitSkip),
  }, () => {
    let t: TwoHosts;
    let nova: http.Server;
    let md: MetadataAgent | null = null;
    let mdProc: Proc | null = null;
    const seen: http.IncomingHttpHeaders[] = [];
    let router: any;
    let v4Subnet: any;
    let v6Subnet: any;
    let v6Net: any;
    let vmIp = '';
    let projectId = '';
    const vm4 = () => `nt${t.s}s4`;
    const vm6 = () => `nt${t.s}s6`;
    const vm7 = () => `nt${t.s}s7`;
    const l3State = () => join(t.dir, 'l3-state');
    const ok = async (method: string, path: string, body?: unknown, status = 200) => {
      const r = await t.api(method, path, body);
      assert.equal(r.status, status, `${method} ${path}: ${JSON.stringify(r.body)}`);
      return r.body;
    };
    const fail = (e: unknown): never => {
      throw new Error(`${(e as Error).message}\n${t.dump()}${mdProc ? `\n--- metadata ---\n${mdProc.out.slice(-2000)}` : ''}`);
    };
    const curl = async (url: string, maxS = 3) => {
      const r = await runInNetns(vm4(), {
        argv: ['curl', '-s', '-m', String(maxS), '-w', '\n%{http_code} %{time_total}', url],
        timeoutMs: 20_000,
        okCodes: [0, 7, 28],
      });
      const lines = r.stdout.split('\n');
      const [code, time] = lines.pop()!.split(' ');
      return { status: Number(code), body: lines.join('\n'), ms: Number(time) * 1000 };
    };
    const globalV6 = async (ns: string) => {
      const r = await runInNetns(ns, { argv: ['ip', '-json', '-6', 'addr', 'show', 'dev', 'eth0', 'scope', 'global'] });
      const infos = (JSON.parse(r.stdout || '[]') as any[]).flatMap((l) => l.addr_info ?? []);
      return infos.filter((a: any) => a.local && !a.tentative).map((a: any) => String(a.local));
    };

    before(async () => {
      gate.check();
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
      t = new TwoHosts(mode, { l3: true, l3Metadata: true });
      await t.start();
      const novaPort = (nova.address() as { port: number }).port;
      if (mode === 'memory') {
        md = new MetadataAgent({
          bus: t.bus(),
          host: t.host[0],
          socketPath: t.metadataSocket,
          novaHost: '127.0.0.1',
          novaPort,
          novaProtocol: 'http',
          sharedSecret: SECRET,
          reportInterval: 0,
        });
        await md.start();
      } else {
        const ini = join(t.dir, 'metadata_agent.ini');
        writeFileSync(
          ini,
          [
            '[DEFAULT]',
            `host = ${t.host[0]}`,
            `metadata_proxy_socket = ${t.metadataSocket}`,
            'nova_metadata_host = 127.0.0.1',
            `nova_metadata_port = ${novaPort}`,
            `metadata_proxy_shared_secret = ${SECRET}`,
            'metadata_workers = 1',
            '',
          ].join('\n'),
        );
        mdProc = new Proc('metadata', ['agent', 'metadata', '--config-file', join(t.dir, 'common.conf'), '--config-file', ini]);
        await mdProc.logLine(/metadata agent listening/).catch((e) => {
          throw new Error(`${(e as Error).message}\n${mdProc?.out}`);
        });
      }
    });

    after(async () => {
      await md?.stop();
      await mdProc?.stop();
      await t?.stop();
      await new Promise((r) => nova?.close(r));
    });

    it('a VM behind a router fetches its metadata from 169.254.169.254 through the router', async () => {
      const net = (await ok('POST', '/networks', { network: { name: 'svc-v4' } }, 201)).network;
      projectId = net.project_id;
      v4Subnet = (await ok('POST', '/subnets', { subnet: { network_id: net.id, cidr: '10.73.1.0/24', ip_version: 4, enable_dhcp: false } }, 201))
        .subnet;
      router = (await ok('POST', '/routers', { router: { name: 'svc-r' } }, 201)).router;
      t.routerIds.add(router.id);
      await ok('PUT', `/routers/${router.id}/add_router_interface`, { subnet_id: v4Subnet.id });
      const p = (
        await ok(
          'POST',
          '/ports',
          { port: { network_id: net.id, device_id: INSTANCE, device_owner: 'compute:nova', port_security_enabled: false } },
          201,
        )
      ).port;
      vmIp = p.fixed_ips[0].ip_address;
      await t.plug(p.id, vm4(), 1, { static: true });
      await new IpBatch().line('route', 'add', 'default', 'via', '10.73.1.1').apply({ netns: vm4() });
      const t0 = Date.now();
      const r = await waitThroughErrors(
        'metadata through the router',
        async () => {
          const x = await curl(`http://169.254.169.254${PATH}`, 1);
          return x.status === 200 ? x : null;
        },
        30_000,
        100,
      ).catch(fail);
      t.figures.push(`router interface added → first metadata answer through the router ${Date.now() - t0} ms`);
      assert.deepEqual(JSON.parse(r.body), { uuid: INSTANCE });
      const h = seen.at(-1)!;
      assert.equal(h['x-instance-id'], INSTANCE);
      assert.equal(h['x-tenant-id'], projectId);
      assert.equal(h['x-forwarded-for'], vmIp);
      assert.ok(await httpProxyPid(join(l3State(), PROXY_DIR), router.id), 'the router proxy runs under state_path/ns-metadata-proxy');
    });

    it('the proxy port itself is closed to the VM; figures: metadata latency through the router', async () => {
      assert.equal((await curl(`http://10.73.1.1:9697${PATH}`, 1)).status, 0, 'port 9697 answered without the redirect');
      const times: number[] = [];
      for (let i = 0; i < 20; i++) {
        const r = await curl(`http://169.254.169.254${PATH}`);
        assert.equal(r.status, 200);
        times.push(r.ms);
      }
      times.sort((a, b) => a - b);
      const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))]!.toFixed(1);
      t.figures.push(`metadata through the router (curl time_total, 20 requests): p50 ${q(0.5)} ms, p90 ${q(0.9)} ms, max ${q(1)} ms`);
    });

    it('a VM on a SLAAC subnet gets its EUI-64 address from the router advertisements and pings the router', async () => {
      const net = (await ok('POST', '/networks', { network: { name: 'svc-v6' } }, 201)).network;
      v6Net = net;
      v6Subnet = (
        await ok(
          'POST',
          '/subnets',
          { subnet: { network_id: net.id, cidr: '2001:db8:73::/64', ip_version: 6, ipv6_ra_mode: 'slaac', ipv6_address_mode: 'slaac' } },
          201,
        )
      ).subnet;
      const p = (await ok('POST', '/ports', { port: { network_id: net.id } }, 201)).port;
      const eui64 = p.fixed_ips.find((f: any) => f.subnet_id === v6Subnet.id).ip_address;
      await t.plug(p.id, vm6(), 1);
      await new IpBatch().setUp('lo', true).apply({ netns: vm6() });
      assert.deepEqual(await globalV6(vm6()), [], 'an address before the router advertises');
      const t0 = Date.now();
      await ok('PUT', `/routers/${router.id}/add_router_interface`, { subnet_id: v6Subnet.id });
      void waitFor('radvd', () => radvdPid(join(l3State(), RA_DIR), router.id), 30_000, 20).then(
        () => t.figures.push(`IPv6 router interface added → radvd running ${Date.now() - t0} ms`),
        () => {},
      );
      const addrs = await waitFor('SLAAC address on the VM', async () => ((await globalV6(vm6())).length ? globalV6(vm6()) : null), 60_000, 50).catch(
        fail,
      );
      t.figures.push(`IPv6 router interface added → VM has its SLAAC address ${Date.now() - t0} ms`);
      assert.deepEqual(addrs, [eui64], 'the address the API shows on the port');
      assert.ok(await radvdPid(join(l3State(), RA_DIR), router.id), 'radvd runs for the router');
      const gw = v6Subnet.gateway_ip;
      const ping = await runInNetns(vm6(), { argv: ['busybox', 'ping', '-6', '-c', '1', '-W', '2', gw], okCodes: [0, 1] });
      assert.equal(ping.code, 0, `ping6 ${gw}: ${ping.stdout}`);
      // The default route the advertisements gave points at the router.
      const routes = await runInNetns(vm6(), { argv: ['ip', '-6', 'route', 'show', 'default'] });
      assert.match(routes.stdout, /default via fe80::/);
    });

    it('a VM plugged once the router advertises gets its address from the answer to its solicitation', async () => {
      const p = (await ok('POST', '/ports', { port: { network_id: v6Net.id } }, 201)).port;
      const eui64 = p.fixed_ips.find((f: any) => f.subnet_id === v6Subnet.id).ip_address;
      const t0 = Date.now();
      await t.plug(p.id, vm7(), 1);
      const addrs = await waitFor(
        'SLAAC address on the second VM',
        async () => ((await globalV6(vm7())).length ? globalV6(vm7()) : null),
        30_000,
        20,
      ).catch(fail);
      t.figures.push(`VM plugged (interface up) on an advertised subnet → SLAAC address ${Date.now() - t0} ms`);
      assert.deepEqual(addrs, [eui64]);
    });

    it('an L3 agent restart adopts haproxy and radvd (same processes) and writes nothing', async () => {
      const proxy = await httpProxyPid(join(l3State(), PROXY_DIR), router.id);
      const radvd = await radvdPid(join(l3State(), RA_DIR), router.id);
      const r = await t.restartL3();
      t.figures.push(`L3 agent restart with haproxy and radvd: ${r.ms} ms, kernel ${JSON.stringify(r.kernel)}`);
      assert.equal(r.kernel.writes, 0, `the restart wrote: ${JSON.stringify(r.detail)}`);
      assert.equal(await httpProxyPid(join(l3State(), PROXY_DIR), router.id), proxy);
      assert.equal(await radvdPid(join(l3State(), RA_DIR), router.id), radvd);
      assert.equal((await curl(`http://169.254.169.254${PATH}`)).status, 200);
    });

    it('removing the IPv6 interface stops radvd; deleting the router stops the proxy', async () => {
      await ok('PUT', `/routers/${router.id}/remove_router_interface`, { subnet_id: v6Subnet.id });
      await waitFor('radvd gone', async () => (await radvdPid(join(l3State(), RA_DIR), router.id)) === null, 10_000, 50).catch(fail);
      assert.ok(await httpProxyPid(join(l3State(), PROXY_DIR), router.id), 'the proxy stays while the router does');
      await ok('PUT', `/routers/${router.id}/remove_router_interface`, { subnet_id: v4Subnet.id });
      await ok('DELETE', `/routers/${router.id}`, undefined, 204);
      await waitFor('router proxy gone', async () => (await httpProxyPid(join(l3State(), PROXY_DIR), router.id)) === null, 10_000, 50).catch(fail);
    });
  });

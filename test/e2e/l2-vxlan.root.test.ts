// End to end, as root, on RabbitMQ: the API server and two L2 agents as separate processes.
//
// Two "hosts" are network namespaces joined by an underlay veth (172.31.250.1/.2). Each agent
// process runs in the root namespace (so it reaches the server's RabbitMQ on 127.0.0.1) and
// manages the links of its host namespace with --netns; that is simpler than giving every host
// namespace a route to the broker, and the agent code is the same either way (a dataplane
// Target). Through the API: a VXLAN network with a subnet, four ports bound to the two hosts by
// `neutrino vif plug` into four "VM" namespaces (static addresses from their fixed IPs), and a
// fifth port on another network with the same CIDR. Real pings show: within a host, across hosts
// over VXLAN, no reach from the other network; ports go ACTIVE; unplugging withdraws the FDB
// entry; restarting an agent writes nothing and loses no ping. Times are printed, not asserted.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as netServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { IpBatch, listFdb, listLinks, runInNetns } from '../../src/dataplane/index.js';
import { Namespaces, rootGate, suffix } from '../dataplane/root-helpers.js';
import { RABBIT_URL, skipUnlessRabbit } from '../rpc/rabbit.js';

const run = promisify(execFile);
const gate = rootGate('L2 VXLAN end-to-end', ['ip', 'bridge', 'nsenter', 'busybox', 'rabbitmqctl']);
const rabbitSkip = gate.skip ? false : await skipUnlessRabbit();
const ROOT = resolve(import.meta.dirname, '../../..');
const BIN = join(ROOT, 'bin/neutrino');
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

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

async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 20_000, every = 20): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => null);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(every);
  }
}

/** A child process with its output kept (and shown when a test fails). */
class Proc {
  out = '';
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  constructor(readonly name: string, argv: string[]) {
    this.child = spawn(process.execPath, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NEUTRINO_DATAPLANE_TRACE: '' } });
    this.child.stdout!.on('data', (b: Buffer) => (this.out += b.toString()));
    this.child.stderr!.on('data', (b: Buffer) => (this.out += b.toString()));
    this.exited = new Promise((r) => this.child.on('exit', (code) => r(code)));
  }
  /** The pino log lines (JSON) printed so far. */
  logs(): any[] {
    return this.out.split('\n').filter((l) => l.startsWith('{')).map((l) => { try { return JSON.parse(l); } catch { return null; } }).filter(Boolean);
  }
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(t);
  }
}

describe('e2e (root, RabbitMQ): L2 agents, VXLAN between two hosts, VMs ping', { skip: gate.skip || rabbitSkip }, () => {
  const s = suffix();
  const nss = new Namespaces();
  const H = [`nt${s}ha`, `nt${s}hb`];
  const HOST = [`e2e-${s}-a`, `e2e-${s}-b`];
  const UNDER = ['172.31.250.1', '172.31.250.2'];
  const VM = [1, 2, 3, 4, 5].map((i) => `nt${s}vm${i}`);
  const vhost = `neutrino-e2e-${s}`;
  const transportUrl = `${RABBIT_URL.replace(/\/+$/, '')}/${vhost}`;
  const dir = mkdtempSync(join(tmpdir(), 'neutrino-e2e-'));
  let url = '';
  let server: Proc;
  const agents: Proc[] = [];
  let net1: any;
  let net2: any;
  const ports: any[] = [];
  const ips: string[] = [];
  const figures: string[] = [];

  const api = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${url}/v2.0${path}`, {
      method, body: body === undefined ? undefined : JSON.stringify(body),
      headers: { 'content-type': 'application/json', 'x-project-id': 'e2e-project', 'x-roles': 'admin,member', 'x-user-id': 'e2e' },
    });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : null };
  };
  const portStatus = async (id: string) => (await api('GET', `/ports/${id}`)).body.port.status as string;
  const ping = async (vm: string, ip: string, count = 1) => {
    const r = await runInNetns(vm, { argv: ['busybox', 'ping', '-c', String(count), '-i', '0.2', '-W', '1', '-w', String(count + 1), ip], okCodes: [0, 1], timeoutMs: 20_000 });
    return r.code === 0;
  };
  const startAgent = (i: number) => {
    const p = new Proc(`agent-${i}`, [BIN, 'agent', 'linuxbridge', '--config-file', join(dir, 'common.conf'), '--config-file', join(dir, `lb${i}.ini`), '--netns', H[i]!, ...(process.env.NEUTRINO_E2E_DEBUG ? ['--debug'] : [])]);
    agents[i] = p;
    return p;
  };
  const agentReady = (p: Proc) => waitFor(`${p.name} first pass`, async () => p.logs().find((l) => /first full pass done/.test(l.msg)), 20_000);

  before(async () => {
    gate.check();
    await run('rabbitmqctl', ['add_vhost', vhost]);
    await run('rabbitmqctl', ['set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*']);
    for (const n of [...H, ...VM]) await nss.add(n);
    // The underlay: one veth between the two host namespaces.
    await new IpBatch().addVeth('ul0', 'ul0', { peerNetns: H[1]! }).addAddr('ul0', `${UNDER[0]}/24`).setUp('ul0', true).apply({ netns: H[0]! });
    await new IpBatch().addAddr('ul0', `${UNDER[1]}/24`).setUp('ul0', true).apply({ netns: H[1]! });

    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    writeFileSync(join(dir, 'common.conf'), `[DEFAULT]\ntransport_url = ${transportUrl}\n`);
    writeFileSync(join(dir, 'neutron.conf'), [
      '[DEFAULT]', 'auth_strategy = noauth', 'bind_host = 127.0.0.1', `bind_port = ${port}`, `state_path = ${dir}/state`, 'agent_down_time = 20',
      '[ml2]', 'tenant_network_types = vxlan', 'mechanism_drivers = linuxbridge,l2population', '[ml2_type_vxlan]', 'vni_ranges = 7000:7999', '',
    ].join('\n'));
    for (const i of [0, 1]) {
      writeFileSync(join(dir, `lb${i}.ini`), [
        '[DEFAULT]', `host = ${HOST[i]}`, '[vxlan]', 'enable_vxlan = true', `local_ip = ${UNDER[i]}`, 'l2_population = true',
        '[agent]', 'report_interval = 2', 'polling_interval = 2', '',
      ].join('\n'));
    }
    server = new Proc('server', [BIN, 'server', '--config-file', join(dir, 'common.conf'), '--config-file', join(dir, 'neutron.conf')]);
    await waitFor('API server', async () => (await fetch(`${url}/v2.0/networks`, { headers: { 'x-project-id': 'p', 'x-roles': 'admin' } })).ok);
    for (const i of [0, 1]) startAgent(i);
    await waitFor('both agents alive', async () => {
      const r = await api('GET', '/agents?agent_type=Linux+bridge+agent');
      return HOST.every((h) => r.body.agents.some((a: any) => a.host === h && a.alive));
    });
  });

  after(async () => {
    if (figures.length) process.stdout.write(`\n# l2-vxlan e2e figures\n${figures.map((f) => `#   ${f}`).join('\n')}\n`);
    for (const p of agents) await p?.stop();
    await server?.stop();
    await nss.deleteAll();
    await run('rabbitmqctl', ['delete_vhost', vhost]).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });

  const dump = () => [server, ...agents].map((p) => `--- ${p?.name} ---\n${p?.out.slice(-3000)}`).join('\n');

  it('creates two networks (same CIDR) and five ports through the API', async () => {
    const n1 = await api('POST', '/networks', { network: { name: 'e2e-net1' } });
    assert.equal(n1.status, 201, JSON.stringify(n1.body));
    net1 = n1.body.network;
    assert.equal(net1['provider:network_type'], 'vxlan');
    assert.equal(net1.mtu, 1450);
    const n2 = await api('POST', '/networks', { network: { name: 'e2e-net2' } });
    net2 = n2.body.network;
    for (const n of [net1, net2]) {
      const sn = await api('POST', '/subnets', { subnet: { network_id: n.id, cidr: '10.77.0.0/24', ip_version: 4, enable_dhcp: false } });
      assert.equal(sn.status, 201, JSON.stringify(sn.body));
    }
    for (let i = 0; i < 5; i++) {
      const body: any = { network_id: i < 4 ? net1.id : net2.id, name: `vm${i + 1}`, device_owner: 'compute:nova', device_id: `vm-${s}-${i + 1}` };
      if (i === 4) body.fixed_ips = [{ ip_address: '10.77.0.250' }];
      const p = await api('POST', '/ports', { port: body });
      assert.equal(p.status, 201, JSON.stringify(p.body));
      assert.equal(p.body.port.status, 'DOWN');
      ports.push(p.body.port);
      ips.push(p.body.port.fixed_ips[0].ip_address);
    }
  });

  it('plugs four VMs (two per host): ports bind, go ACTIVE, and ping within and across hosts', async () => {
    for (let i = 0; i < 5; i++) {
      const host = i === 0 || i === 1 ? 0 : 1;
      const t0 = Date.now();
      const { stdout } = await run(process.execPath, [BIN, 'vif', 'plug', ports[i].id, '--netns', VM[i]!, '--host', HOST[host]!, '--host-netns', H[host]!, '--static', '--endpoint', url]);
      const plugged = JSON.parse(stdout);
      assert.equal(plugged.tap, `tap${ports[i].id.slice(0, 11)}`);
      const active = await waitFor(`port ${i + 1} ACTIVE`, async () => ((await portStatus(ports[i].id)) === 'ACTIVE' ? Date.now() : null), 15_000, 5).catch((e) => {
        throw new Error(`${(e as Error).message}\n${dump()}`);
      });
      let firstPing: number | null = null;
      if (i > 0 && i < 4) {
        // The first ping to a VM already up (on host A): vm2 within the host, vm3/vm4 across.
        firstPing = await waitFor(`vm${i + 1} first ping`, async () => ((await ping(VM[i]!, ips[0]!)) ? Date.now() : null), 15_000, 0);
      }
      figures.push(`vm${i + 1} (${HOST[host]}): plug → ACTIVE ${active - plugged.plugged_at} ms` +
        (firstPing ? `, plug → first ping reply ${firstPing - plugged.plugged_at} ms` : '') + ` (vif plug command ${plugged.plugged_at - t0} ms)`);
      const shown = (await api('GET', `/ports/${ports[i].id}`)).body.port;
      assert.equal(shown['binding:host_id'], HOST[host]);
      assert.equal(shown['binding:vif_type'], 'bridge');
    }
    // Every pair of net1's VMs, both directions.
    for (const [a, b] of [[0, 1], [2, 3], [0, 2], [0, 3], [1, 2], [1, 3], [3, 0]] as const) {
      assert.ok(await ping(VM[a]!, ips[b]!, 2), `vm${a + 1} → vm${b + 1} (${ips[b]})`);
    }
  });

  it('wires the kernel as Neutron would: brq bridge, vxlan device, l2pop FDB entries', async () => {
    const vni = net1['provider:segmentation_id'];
    const links = await listLinks({ netns: H[0]! });
    const br = links.find((l) => l.name === `brq${net1.id.slice(0, 11)}`);
    assert.ok(br && br.kind === 'bridge');
    const vx = links.find((l) => l.name === `vxlan-${vni}`);
    assert.ok(vx && vx.vxlan, 'vxlan device');
    assert.equal(vx.master, br.name);
    assert.equal(vx.vxlan.local, UNDER[0]);
    assert.equal(vx.vxlan.learning, false);
    assert.equal(vx.vxlan.dstport, 4789);
    assert.equal(links.find((l) => l.name === `tap${ports[0].id.slice(0, 11)}`)?.master, br.name);
    const fdb = (await listFdb(`vxlan-${vni}`, { netns: H[0]! })).filter((r) => r.table === 'self' && r.dst);
    assert.ok(fdb.some((r) => r.mac === '00:00:00:00:00:00' && r.dst === UNDER[1]), 'flood entry to host B');
    for (const i of [2, 3]) assert.ok(fdb.some((r) => r.mac === ports[i].mac_address && r.dst === UNDER[1]), `vm${i + 1} MAC pinned to host B`);
    // The other network has its own bridge and VXLAN device on host B only.
    const linksB = await listLinks({ netns: H[1]! });
    assert.ok(linksB.some((l) => l.name === `vxlan-${net2['provider:segmentation_id']}`));
  });

  it('a VM on another network (same CIDR) cannot reach them', async () => {
    assert.equal(await portStatus(ports[4].id), 'ACTIVE');
    for (const i of [0, 2, 3]) assert.equal(await ping(VM[4]!, ips[i]!, 2), false, `vm5 must not reach vm${i + 1}`);
    assert.equal(await ping(VM[2]!, ips[4]!, 2), false, 'vm3 must not reach vm5');
  });

  it('restarting an agent writes nothing to the kernel and loses no ping', async () => {
    // 50 ms pings from host A's vm1 to host B's vm3 across the restart of host A's agent.
    const pinger = runInNetns(VM[0]!, { argv: ['busybox', 'ping', '-c', '80', '-i', '0.05', '-W', '1', ips[2]!], okCodes: [0, 1], timeoutMs: 30_000 });
    await sleep(300);
    const t0 = Date.now();
    await agents[0]!.stop();
    const p = startAgent(0);
    const ready = await agentReady(p);
    const restartMs = Date.now() - t0;
    const r = await pinger;
    const m = /(\d+) packets transmitted, (\d+) packets received/.exec(r.stdout);
    assert.ok(m, r.stdout);
    const lost = Number(m[1]) - Number(m[2]);
    figures.push(`agent restart on ${HOST[0]}: first full pass after ${ready.ms} ms (stop → ready ${restartMs} ms), kernel commands ${JSON.stringify(ready.kernel)}, pings lost ${lost}/${m[1]}`);
    assert.equal(ready.kernel.writes, 0, `a restart must not write: ${JSON.stringify(ready)}`);
    assert.equal(ready.devices, 2);
    assert.equal(lost, 0, r.stdout);
  });

  it('unplugging a VM takes its port DOWN and withdraws its FDB entry from the other host', async () => {
    const vni = net1['provider:segmentation_id'];
    const t0 = Date.now();
    await run(process.execPath, [BIN, 'vif', 'unplug', ports[3].id, '--host-netns', H[1]!, '--endpoint', url]);
    await waitFor('port 4 DOWN', async () => (await portStatus(ports[3].id)) === 'DOWN', 10_000, 5);
    const down = Date.now() - t0;
    await waitFor('vm4 MAC gone from host A', async () => {
      // The tunnel entries (the vxlan device's own table); the bridge's learned ones age out.
      const fdb = await listFdb(`vxlan-${vni}`, { netns: H[0]! });
      return !fdb.some((r) => r.table === 'self' && r.mac === ports[3].mac_address);
    }, 10_000).catch((e) => {
      throw new Error(`${(e as Error).message}\n${dump()}`);
    });
    figures.push(`unplug → DOWN ${down} ms; FDB withdrawn on the other host ${Date.now() - t0} ms`);
    // Host B still has vm3 on the network: the flood entry to B stays, and vm1 still reaches vm3.
    assert.ok((await listFdb(`vxlan-${vni}`, { netns: H[0]! })).some((r) => r.mac === '00:00:00:00:00:00' && r.dst === UNDER[1]));
    assert.ok(await ping(VM[0]!, ips[2]!, 2));
  });
});

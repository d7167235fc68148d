// L2 agent benchmark (needs root): the API server, the in-memory RPC bus and one Linux-bridge
// agent per simulated host, all in this process; hosts and VMs are network namespaces, the hosts
// joined by an underlay bridge. Prints figures; asserts nothing about timing.
//
//   npm run bench:agents -- [--hosts 2] [--plugs 20] [--ports 1000] [--networks 10]
//                           [--restarts 3] [--loaded-plugs 10] [--fips 20] [--router-fips 100]
//                           [--json out.json] [--debug]
//
// (a) plug → ACTIVE and plug → first ping: a port is created through the API, then plugged as
//     `neutrino vif plug` does (binding:host_id, a veth whose host end is the tap, the VM end in
//     its own namespace with the port's MAC and address); "plugged" is when the tap exists. A VM
//     already up on another host pings the new one every 10 ms from before the plug; its ARP
//     retransmit time is lowered to 10 ms so the figure measures the wiring, not the kernel's 1 s
//     ARP timer. Ports alternate between hosts; median and p90 are printed.
// (b) one host with --ports taps (veth pairs made with `ip -batch`, the VM ends in one namespace)
//     on --networks VXLAN networks (each also has a port on another host, so there are l2pop
//     entries to keep): the time until they are all ACTIVE; a full pass of the running agent with
//     nothing changed; then --restarts restarts of that agent: time from start to the end of
//     its first full pass, kernel commands (reads, writes) and RPC calls it made.
// (a') --loaded-plugs more plugs on the loaded host, measured as in (a).
// (c) the L3 agent on host 0, whose L2 agent maps the physical network `extnet` to a veth into an
//     "outside" namespace (the external subnet's gateway, 100.64.0.1 of 100.64.0.0/16): a router with a gateway
//     there and an interface on a VXLAN network, a VM on host 1; --fips times a floating IP is
//     associated with the VM's port while the outside pings it every 10 ms: associate (the API
//     call) → first echo reply, median and p90; then it is let go and the next round starts.
//     Then --router-fips floating IPs on the router (ports not plugged) and --restarts restarts of
//     the L3 agent: time to the end of its full sync, kernel reads and writes.
// (d) --routers N more routers (each with a gateway and an interface on a network of its own),
//     then a new L3 agent: its first full sync (building them all), a restart (nothing to do),
//     and the JS heap per router.
//
// To see where the time goes: node --cpu-prof --cpu-prof-dir=/tmp/prof dist/bench/agents-bench.js
// then node dist/bench/cpuprofile-top.js /tmp/prof/*.cpuprofile --inclusive. When no echo reply
// comes, the error shows the hosts' links and FDBs; BENCH_PAUSE_ON_ERROR=SECONDS keeps the
// namespaces that long for a look.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { loadConfig } from '../src/config/index.js';
import { createServer, type NeutrinoServer } from '../src/server/neutron-server.js';
import { MemoryBroker, MemoryBus, silentLogger, type RpcBus, type RpcLogger } from '../src/rpc/index.js';
import { LinuxBridgeAgent } from '../src/agents/linuxbridge/agent.js';
import { L3Agent } from '../src/agents/l3/agent.js';
import { routerNamespace } from '../src/agents/l3/model.js';
import { plug, tapOf } from '../src/cli/vif-plug.js';
import { ensureNetns, exec, IpBatch, runInNetns, type Exec } from '../src/dataplane/index.js';
import { intOption, parseOptions } from '../src/config/command-line.js';
import { waitFor } from './wait.js';

interface Options {
  hosts: number;
  plugs: number;
  ports: number;
  networks: number;
  restarts: number;
  loadedPlugs: number;
  fips: number;
  routerFips: number;
  manyRouters: number;
  firewall: 'nftables' | 'noop';
  json?: string;
  debug: boolean;
}

const USAGE = `usage: node dist/bench/agents-bench.js [options]   (as root)
  --hosts N          simulated hosts, one agent each (default 2, at least 2)
  --plugs N          ports plugged one by one for (a) (default 20; 0 skips)
  --ports N          taps on the loaded host for (b) (default 1000; 0 skips (b) and (a'))
  --networks N       VXLAN networks those taps are spread over (default 10)
  --restarts N       agent restarts measured in (b) (default 3)
  --loaded-plugs N   plugs on the loaded host after (b) (default 10)
  --fips N           floating IP associations measured in (c) (default 20; 0 skips (c))
  --router-fips N    floating IPs on the router for the L3 agent restarts of (c) (default 100)
  --routers N        routers for (d) (default 0: skipped; needs --fips)
  --firewall F       the agents' security group firewall: nftables (default, as the CLI) or noop
  --json FILE        also write the figures as JSON
  --debug            agent and server logs on stderr
`;

function badFirewall(v: string): never {
  throw new Error(`--firewall takes nftables or noop, got ${v}`);
}

function optionsFrom(argv: string[]): Options {
  const spec = {
    hosts: { type: 'string' },
    plugs: { type: 'string' },
    ports: { type: 'string' },
    networks: { type: 'string' },
    restarts: { type: 'string' },
    'loaded-plugs': { type: 'string' },
    fips: { type: 'string' },
    'router-fips': { type: 'string' },
    routers: { type: 'string' },
    firewall: { type: 'string' },
    json: { type: 'string' },
    debug: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  } as const;
  const { values: v } = parseOptions(argv, spec, USAGE, (m) => new Error(m));
  if (v.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  return {
    hosts: intOption(v.hosts, 'hosts', 2, 2),
    plugs: intOption(v.plugs, 'plugs', 0, 20),
    ports: intOption(v.ports, 'ports', 0, 1000),
    networks: intOption(v.networks, 'networks', 1, 10),
    restarts: intOption(v.restarts, 'restarts', 1, 3),
    loadedPlugs: intOption(v['loaded-plugs'], 'loaded-plugs', 0, 10),
    fips: intOption(v.fips, 'fips', 0, 20),
    routerFips: intOption(v['router-fips'], 'router-fips', 0, 100),
    manyRouters: intOption(v.routers, 'routers', 0, 0),
    firewall: v.firewall === undefined || v.firewall === 'nftables' ? 'nftables' : v.firewall === 'noop' ? 'noop' : badFirewall(v.firewall),
    debug: v.debug ?? false,
    ...(v.json !== undefined ? { json: v.json } : {}),
  };
}

// ---- small helpers ----------------------------------------------------------------------------

const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const SBIN_PATH = `${process.env.PATH ?? ''}:/usr/local/sbin:/usr/sbin:/sbin`;

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

function summary(xs: number[]): { n: number; median: number; p90: number; min: number; max: number } {
  return { n: xs.length, median: quantile(xs, 0.5), p90: quantile(xs, 0.9), min: Math.min(...xs), max: Math.max(...xs) };
}

const steps = (m: Record<string, number> | undefined) =>
  m
    ? Object.entries(m)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')
    : '?';
const fmt = (s: ReturnType<typeof summary>) => `median ${s.median} ms, p90 ${s.p90} ms (min ${s.min}, max ${s.max}, n=${s.n})`;

/** Kernel commands of one agent (the dataplane's global stats() mix every agent of the process). */
function countingExec(): { exec: Exec; reads: number; writes: number } {
  const c = {
    reads: 0,
    writes: 0,
    exec: ((cmd) => {
      if (cmd.write) c.writes++;
      else c.reads++;
      return exec(cmd);
    }) as Exec,
  };
  return c;
}

/** RPC calls an agent made, by method. */
class CountingBus implements RpcBus {
  readonly calls = new Map<string, number>();
  constructor(private readonly b: RpcBus) {}
  get transport() {
    return this.b.transport;
  }
  call<T>(...a: Parameters<RpcBus['call']>): Promise<T> {
    if (a[1] !== 'report_state') this.calls.set(a[1], (this.calls.get(a[1]) ?? 0) + 1);
    return this.b.call<T>(...a);
  }
  cast(...a: Parameters<RpcBus['cast']>) {
    return this.b.cast(...a);
  }
  fanout(...a: Parameters<RpcBus['fanout']>) {
    return this.b.fanout(...a);
  }
  serve(...a: Parameters<RpcBus['serve']>) {
    return this.b.serve(...a);
  }
  close() {
    return this.b.close();
  }
  text(): string {
    return [...this.calls].map(([m, n]) => `${m} ×${n}`).join(', ') || 'none';
  }
}

/** The namespaces this run made; removed at the end, also on a crash or Ctrl-C. */
class Namespaces {
  readonly names: string[] = [];
  constructor() {
    process.once('exit', () => this.removeSync());
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));
  }
  async add(name: string): Promise<string> {
    this.names.push(name);
    await ensureNetns(name);
    return name;
  }
  removeSync(): void {
    while (this.names.length) spawnSync('ip', ['netns', 'delete', this.names.pop()!], { env: { ...process.env, PATH: SBIN_PATH } });
  }
}

// ---- the setup --------------------------------------------------------------------------------

interface Host {
  name: string;
  netns: string;
  ip: string;
  agent: LinuxBridgeAgent;
  counter: ReturnType<typeof countingExec>;
  bus: CountingBus;
}

class Bench {
  readonly sfx = randomBytes(2).toString('hex');
  readonly nss = new Namespaces();
  readonly broker = new MemoryBroker();
  readonly dir = mkdtempSync(join(tmpdir(), 'neutrino-agents-bench-'));
  readonly log: RpcLogger;
  server!: NeutrinoServer;
  serverBus!: RpcBus;
  url = '';
  readonly hosts: Host[] = [];
  l3: L3Agent | null = null;
  readonly routers: string[] = [];
  readonly figures: Record<string, unknown> = {};
  private vmCount = 0;

  constructor(readonly o: Options) {
    this.log = o.debug ? pino({ level: 'info' }, pino.destination(2)) : silentLogger;
  }

  ns(tag: string): string {
    return `nb${this.sfx}${tag}`;
  }

  async api(method: string, path: string, body?: unknown): Promise<any> {
    const r = await fetch(`${this.url}/v2.0${path}`, {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: { 'content-type': 'application/json', 'x-project-id': 'bench', 'x-roles': 'admin,member', 'x-user-id': 'bench' },
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path}: HTTP ${r.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }

  async start(): Promise<void> {
    const cfg = loadConfig([], {
      DEFAULT: { auth_strategy: 'noauth', state_path: this.dir, bind_host: '127.0.0.1', bind_port: '0', agent_down_time: '600' },
      ml2: { tenant_network_types: 'vxlan', mechanism_drivers: 'linuxbridge,l2population' },
      ml2_type_vxlan: { vni_ranges: '6000:6999' },
      quotas: { quota_network: '-1', quota_subnet: '-1', quota_port: '-1', quota_router: '-1', quota_floatingip: '-1' },
    });
    this.serverBus = new MemoryBus({ broker: this.broker, logger: this.log });
    this.server = await createServer(cfg, { bus: this.serverBus });
    this.url = await this.server.app.listen({ host: '127.0.0.1', port: 0 });

    // The underlay: a bridge in a namespace of its own, one veth to each host.
    const under = await this.nss.add(this.ns('u'));
    await new IpBatch().addBridge('ul').setUp('ul', true).apply({ netns: under });
    for (let i = 0; i < this.o.hosts; i++) {
      const netns = await this.nss.add(this.ns(`h${i}`));
      const ip = `172.31.251.${i + 1}`;
      await new IpBatch().addVeth('ul0', `h${i}`, { peerNetns: under }).addAddr('ul0', `${ip}/24`).setUp('ul0', true).apply({ netns });
      await new IpBatch().setMaster(`h${i}`, 'ul').setUp(`h${i}`, true).apply({ netns: under });
      if (i === 0 && this.o.fips) {
        // (c): host 0's wire to the outside (its L2 agent maps extnet to ext0).
        const outside = await this.nss.add(this.ns('o'));
        await new IpBatch().addVeth('ext0', 'eth0', { peerNetns: outside }).setUp('ext0', true).apply({ netns });
        await new IpBatch().addAddr('eth0', '100.64.0.1/16').setUp('eth0', true).apply({ netns: outside });
      }
      const host: Host = { name: `bench-${this.sfx}-${i}`, netns, ip, counter: countingExec(), bus: null as never, agent: null as never };
      this.startAgent(host);
      this.hosts.push(host);
    }
    for (const h of this.hosts) await h.agent.start();
    await waitFor(
      'agents alive',
      async () => {
        const agents = (await this.api('GET', '/agents?agent_type=Linux+bridge+agent')).agents as Array<{ host: string; alive: boolean }>;
        return this.hosts.every((h) => agents.some((a) => a.host === h.name && a.alive));
      },
      20_000,
      50,
    );
  }

  /** A new agent object for the host (fresh counters); start() is up to the caller. */
  startAgent(h: Host): void {
    h.counter = countingExec();
    h.bus = new CountingBus(new MemoryBus({ broker: this.broker, logger: this.log }));
    h.agent = new LinuxBridgeAgent({
      bus: h.bus,
      host: h.name,
      netns: h.netns,
      exec: h.counter.exec,
      localIp: h.ip,
      enableVxlan: true,
      interfaceMappings: this.o.fips && h.netns === this.ns('h0') ? { extnet: 'ext0' } : {},
      bridgeMappings: {},
      arpResponder: false,
      l2Population: true,
      reportInterval: 5,
      pollingInterval: 2,
      firewall: this.o.firewall,
      logger: this.log,
    });
  }

  async network(name: string, cidr: string): Promise<{ id: string; subnet: string }> {
    const net = (await this.api('POST', '/networks', { network: { name } })).network;
    const sn = (await this.api('POST', '/subnets', { subnet: { network_id: net.id, cidr, ip_version: 4, enable_dhcp: false } })).subnet;
    return { id: net.id, subnet: sn.id };
  }

  /** A VM namespace whose eth0 resolves neighbours quickly (set after eth0 exists). */
  async vmNetns(): Promise<string> {
    return this.nss.add(this.ns(`v${this.vmCount++}`));
  }

  async fastArp(vm: string): Promise<void> {
    await runInNetns(vm, { argv: ['sysctl', '-qw', 'net.ipv4.neigh.eth0.retrans_time_ms=10', 'net.ipv4.neigh.eth0.mcast_solicit=10'], write: true });
  }

  async plugPort(portId: string, host: Host, vm: string) {
    return plug({
      action: 'plug',
      portId,
      netns: vm,
      host: host.name,
      hostNetns: host.netns,
      ifname: 'eth0',
      static: true,
      unbind: false,
      endpoint: `${this.url}`,
    });
  }

  async waitActive(portId: string, timeoutMs = 30_000): Promise<number> {
    return waitFor(
      `port ${portId} ACTIVE`,
      async () => ((await this.api('GET', `/ports/${portId}?fields=status`)).port.status === 'ACTIVE' ? Date.now() : null),
      timeoutMs,
      5,
    );
  }

  /** Anchors: one VM per host on the network, already up; they ping the new VMs. */
  async anchors(netId: string): Promise<Array<{ vm: string; ip: string }>> {
    const out = [];
    for (const h of this.hosts) {
      const port = (await this.api('POST', '/ports', { port: { network_id: netId, device_owner: 'compute:bench', device_id: `anchor-${h.name}` } }))
        .port;
      const vm = await this.vmNetns();
      await this.plugPort(port.id, h, vm);
      await this.fastArp(vm);
      await this.waitActive(port.id);
      out.push({ vm, ip: port.fixed_ips[0].ip_address as string });
    }
    return out;
  }

  /**
   * One measured plug on `host`, pinged from `from` (a VM on another host): ms from the tap's
   * creation to ACTIVE and to the first echo reply.
   */
  async measuredPlug(netId: string, host: Host, from: { vm: string }): Promise<{ active: number; ping: number }> {
    const port = (await this.api('POST', '/ports', { port: { network_id: netId, device_owner: 'compute:bench', device_id: `vm-${this.vmCount}` } }))
      .port;
    const ip = port.fixed_ips[0].ip_address as string;
    const vm = await this.vmNetns();
    const pinger = spawn('nsenter', [`--net=/run/netns/${from.vm}`, '--', 'busybox', 'ping', '-i', '0.01', '-w', '20', ip], {
      stdio: ['ignore', 'pipe', 'ignore'],
      env: { ...process.env, PATH: SBIN_PATH },
    });

    const firstReply = new Promise<number>((resolve, reject) => {
      let buf = '';
      pinger.stdout!.on('data', (b: Buffer) => {
        const t = Date.now();
        buf += b.toString();
        if (/bytes from/.test(buf)) resolve(t);
      });
      pinger.on('exit', () => reject(new Error(`no echo reply from ${ip} (port ${port.id})`)));
    });
    firstReply.catch(() => {});
    try {
      // busybox prints its header only with the first reply: give it a moment to start sending.
      await sleep(50);
      const p = await this.plugPort(port.id, host, vm);
      const active = await this.waitActive(port.id);
      const ping = await firstReply.catch(async (e) => {
        const msg = `${(e as Error).message}\n${await this.dump([...this.hosts.map((x) => x.netns), from.vm, vm])}`;
        if (process.env.BENCH_PAUSE_ON_ERROR) {
          process.stderr.write(`${msg}\npausing ${process.env.BENCH_PAUSE_ON_ERROR} s for a look\n`);
          await sleep(Number(process.env.BENCH_PAUSE_ON_ERROR) * 1000);
        }
        throw new Error(msg);
      });
      return { active: active - p.plugged_at, ping: ping - p.plugged_at };
    } finally {
      pinger.kill('SIGKILL');
    }
  }

  async plugSeries(label: string, netId: string, anchors: Array<{ vm: string }>, n: number, hostOf: (i: number) => number): Promise<void> {
    const active: number[] = [];
    const ping: number[] = [];
    const loadBefore = load();
    for (let i = 0; i < n; i++) {
      const h = hostOf(i);
      const from = anchors[(h + 1) % this.hosts.length]!;
      const r = await this.measuredPlug(netId, this.hosts[h]!, from);
      active.push(r.active);
      ping.push(r.ping);
      if (this.o.debug) process.stderr.write(`${label} #${i} host ${h}: ACTIVE ${r.active} ms, ping ${r.ping} ms\n`);
    }
    const a = summary(active);
    const p = summary(ping);
    this.print(`${label}`, [`plug → ACTIVE:     ${fmt(a)}`, `plug → first ping: ${fmt(p)}`, `load average ${loadBefore} → ${load()}`]);
    this.figures[label] = { plugToActiveMs: a, plugToFirstPingMs: p, samplesActive: active, samplesPing: ping, load: [loadBefore, load()] };
  }

  /** What the kernel looks like, for an error message. */
  async dump(netns: string[]): Promise<string> {
    const out: string[] = [];
    for (const n of netns) {
      for (const argv of [
        ['ip', '-br', 'link'],
        ['ip', '-br', 'addr'],
        ['bridge', 'fdb', 'show'],
        ['ip', 'neigh'],
      ]) {
        const r = spawnSync(argv[0]!, ['-n', n, ...argv.slice(1)], { env: { ...process.env, PATH: SBIN_PATH }, encoding: 'utf8' });
        out.push(`--- ${n}: ${argv.join(' ')}\n${r.stdout}${r.stderr}`);
      }
    }
    return out.join('\n');
  }

  print(title: string, lines: string[]): void {
    process.stdout.write(`\n${title}\n${lines.map((l) => `  ${l}`).join('\n')}\n`);
  }

  // ---- (b) ------------------------------------------------------------------------------------

  async loadedHost(): Promise<void> {
    const o = this.o;
    const big = this.hosts[0]!;
    const other = this.hosts[1]!;
    const peers = await this.nss.add(this.ns('p'));
    const nets: Array<{ id: string; subnet: string }> = [];
    for (let k = 0; k < o.networks; k++) nets.push(await this.network(`bulk-${k}`, `10.${100 + Math.floor(k / 16)}.${(k % 16) * 16}.0/20`));
    // The ports, bound to the loaded host (and one per network on another host, for l2pop).
    const t0 = Date.now();
    const ports: Array<{ id: string; host: Host }> = [];
    const perNet = Math.ceil(o.ports / o.networks);
    for (let k = 0; k < o.networks; k++) {
      const n = Math.min(perNet, o.ports - k * perNet);
      for (let off = 0; off < n; off += 200) {
        const bodies = Array.from({ length: Math.min(200, n - off) }, (_, j) => ({
          network_id: nets[k]!.id,
          device_owner: 'compute:bench',
          device_id: `bulk-${k}-${off + j}`,
          'binding:host_id': big.name,
        }));
        for (const p of (await this.api('POST', '/ports', { ports: bodies })).ports) ports.push({ id: p.id, host: big });
      }
      const p = (
        await this.api('POST', '/ports', {
          port: { network_id: nets[k]!.id, device_owner: 'compute:bench', device_id: `remote-${k}`, 'binding:host_id': other.name },
        })
      ).port;
      ports.push({ id: p.id, host: other });
    }
    const apiMs = Date.now() - t0;
    // The taps: veth pairs made in batches, their VM ends (up) in one namespace.
    const t1 = Date.now();
    const byHost = new Map<Host, string[]>();
    for (const p of ports) (byHost.get(p.host) ?? byHost.set(p.host, []).get(p.host)!).push(p.id);
    let peer = 0;
    for (const [h, ids] of byHost) {
      for (let off = 0; off < ids.length; off += 250) {
        const b = new IpBatch();
        const up = new IpBatch();
        for (const id of ids.slice(off, off + 250)) {
          b.addVeth(tapOf(id), `p${peer}`, { peerNetns: peers });
          up.setUp(`p${peer++}`, true);
        }
        await b.apply({ netns: h.netns });
        await up.apply({ netns: peers });
      }
    }
    const tapsMs = Date.now() - t1;
    const netIds = nets.map((n) => n.id);
    const q = netIds.map((id) => `network_id=${id}`).join('&');
    await waitFor(
      'every bulk port ACTIVE',
      async () => (await this.api('GET', `/ports?${q}&status=DOWN&fields=id`)).ports.length === 0,
      300_000,
      100,
    );
    const wiredMs = Date.now() - t1;
    this.print(`(b) ${o.ports} ports on ${big.name} over ${o.networks} VXLAN networks`, [
      `API: ${ports.length} ports created (bulk, bound) in ${apiMs} ms; ${ports.length} veth pairs in ${tapsMs} ms`,
      `taps created → all ACTIVE: ${wiredMs} ms (load average ${load()})`,
    ]);
    this.figures.bulkWiring = { ports: o.ports, networks: o.networks, apiMs, tapsMs, wiredMs };

    // A full pass of the running agent with nothing to change, once the kernel has settled
    // (after 1,000 taps come up, IPv6 autoconfiguration and bridge port states keep it busy).
    await sleep(10_000);
    const steady = [];
    for (let i = 0; i < 3; i++) {
      const r0 = { ...big.counter };
      big.bus.calls.clear();
      const t = performance.now();
      const pass = await big.agent.sync();
      steady.push({
        ms: Math.round(performance.now() - t),
        reads: big.counter.reads - r0.reads,
        writes: big.counter.writes - r0.writes,
        rpc: big.bus.text(),
        linkOps: pass?.linkOps,
        steps: pass?.ms,
      });
    }
    this.print(
      '(b) full pass of the running agent, nothing changed',
      steady.map((s) => `${s.ms} ms (${steps(s.steps)}), kernel reads ${s.reads}, writes ${s.writes}, RPC calls: ${s.rpc}`),
    );
    this.figures.steadyFullPass = steady;

    // Restarts: stop the agent, start a new one, time its first full pass.
    const restarts = [];
    for (let i = 0; i < o.restarts; i++) {
      await big.agent.stop();
      await (big.bus as CountingBus).close();
      this.startAgent(big);
      const loadBefore = load();
      const t = performance.now();
      await big.agent.start();
      await big.agent.ready;
      const ms = Math.round(performance.now() - t);
      const lp = big.agent.lastPass;
      restarts.push({
        ms,
        reads: big.counter.reads,
        writes: big.counter.writes,
        rpc: big.bus.text(),
        devices: big.agent.devices.size,
        linkOps: lp?.linkOps,
        fdbOps: lp?.fdbOps,
        steps: lp?.ms,
        load: loadBefore,
      });
      await sleep(1000);
    }
    this.print(
      `(b) agent restart with ${o.ports} ports: start → first full pass done`,
      restarts.map(
        (r) =>
          `${r.ms} ms (first pass: ${steps(r.steps)}), ${r.devices} devices, kernel reads ${r.reads}, writes ${r.writes}, RPC calls: ${r.rpc} (load average ${r.load})`,
      ),
    );
    this.figures.restarts = restarts;
  }

  // ---- (c) ------------------------------------------------------------------------------------

  /** A new L3 agent on host 0 (fresh counters), started: resolves after its full sync. */
  async startL3(): Promise<{ ms: number; reads: number; writes: number; changed: number; rpc: string }> {
    const counter = countingExec();
    const bus = new CountingBus(new MemoryBus({ broker: this.broker, logger: this.log }));
    const h = this.hosts[0]!;
    this.l3 = new L3Agent({
      bus,
      host: h.name,
      netns: h.netns,
      statePath: join(this.dir, 'l3'),
      reportInterval: 5,
      exec: counter.exec,
      logger: this.log,
    });
    const t0 = Date.now();
    await this.l3.start();
    await this.l3.idle();
    const ms = Date.now() - t0;
    const changed = [...this.l3.routers.values()].filter((r) => r.changes > 0).length;
    return { ms, reads: counter.reads, writes: counter.writes, changed, rpc: bus.text() };
  }

  async floatingIps(): Promise<void> {
    const o = this.o;
    const outside = this.ns('o');
    const ext = (
      await this.api('POST', '/networks', {
        network: { name: 'ext', 'router:external': true, 'provider:network_type': 'flat', 'provider:physical_network': 'extnet' },
      })
    ).network;
    await this.api('POST', '/subnets', {
      subnet: { network_id: ext.id, cidr: '100.64.0.0/16', ip_version: 4, gateway_ip: '100.64.0.1', enable_dhcp: false },
    });
    const inner = await this.network('fip', '10.98.0.0/16');
    const router = (await this.api('POST', '/routers', { router: { name: 'bench', external_gateway_info: { network_id: ext.id } } })).router;
    this.routers.push(router.id);
    await this.api('PUT', `/routers/${router.id}/add_router_interface`, { subnet_id: inner.subnet });
    await this.startL3();
    const port = (await this.api('POST', '/ports', { port: { network_id: inner.id, port_security_enabled: false, device_owner: 'compute:bench' } }))
      .port;
    const vm = await this.vmNetns();
    await this.plugPort(port.id, this.hosts[1]!, vm);
    await new IpBatch().line('route', 'add', 'default', 'via', '10.98.0.1').apply({ netns: vm });
    await this.fastArp(vm);
    await this.waitActive(port.id);
    const fip = (await this.api('POST', '/floatingips', { floatingip: { floating_network_id: ext.id } })).floatingip;
    const ip = fip.floating_ip_address as string;
    const samples: number[] = [];
    const api: number[] = [];
    const loadBefore = load();
    for (let i = 0; i < o.fips; i++) {
      const pinger = spawn('nsenter', [`--net=/run/netns/${outside}`, '--', 'busybox', 'ping', '-i', '0.01', '-w', '20', ip], {
        stdio: ['ignore', 'pipe', 'ignore'],
        env: { ...process.env, PATH: SBIN_PATH },
      });
      const firstReply = new Promise<number>((resolve, reject) => {
        let buf = '';
        pinger.stdout!.on('data', (b: Buffer) => {
          const t = Date.now();
          buf += b.toString();
          if (/bytes from/.test(buf)) resolve(t);
        });
        pinger.on('exit', () => reject(new Error(`no echo reply from floating IP ${ip}`)));
      });
      firstReply.catch(() => {});
      try {
        await sleep(50);
        const t0 = Date.now();
        await this.api('PUT', `/floatingips/${fip.id}`, { floatingip: { port_id: port.id } });
        api.push(Date.now() - t0);
        samples.push((await firstReply) - t0);
      } finally {
        pinger.kill('SIGKILL');
      }
      await this.api('PUT', `/floatingips/${fip.id}`, { floatingip: { port_id: null } });
      await this.l3!.idle();
      await sleep(100);
    }
    const s = summary(samples);
    this.print(`(c) ${o.fips} floating IP associations, pinged from the outside every 10 ms`, [
      `associate → first echo reply: ${fmt(s)}`,
      `associate → API answer:       ${fmt(summary(api))}`,
      `load average ${loadBefore} → ${load()}`,
    ]);
    this.figures.fipAssociate = { associateToFirstReplyMs: s, apiMs: summary(api), samples, load: [loadBefore, load()] };

    if (o.routerFips) await this.routerWithFips(router.id, ext.id, inner.id);
    if (o.manyRouters) await this.manyRouters(ext.id);
  }

  async routerWithFips(routerId: string, extId: string, innerId: string): Promise<void> {
    const o = this.o;
    const router = { id: routerId };
    const ext = { id: extId };
    const inner = { id: innerId };
    // Many floating IPs on the router (ports not plugged: the router's kernel state is what counts).
    for (let i = 0; i < o.routerFips; i += 50) {
      const n = Math.min(50, o.routerFips - i);
      const ports = (
        await this.api('POST', '/ports', { ports: Array.from({ length: n }, () => ({ network_id: inner.id, device_owner: 'compute:bench' })) })
      ).ports as Array<{ id: string }>;
      await this.api('POST', '/floatingips', { floatingips: ports.map((p) => ({ floating_network_id: ext.id, port_id: p.id })) });
    }
    const t1 = Date.now();
    await waitFor(
      'router floating IPs ACTIVE',
      async () => {
        const all = (await this.api('GET', `/floatingips?router_id=${router.id}&fields=status`)).floatingips as Array<{ status: string }>;
        return all.length === o.routerFips && all.every((f) => f.status === 'ACTIVE');
      },
      60_000,
      50,
    );
    const toActive = Date.now() - t1;
    const restarts = [];
    for (let r = 0; r < o.restarts; r++) {
      await this.l3!.stop();
      restarts.push({ ...(await this.startL3()), load: load() });
    }
    this.print(`(c) L3 agent restart with ${o.routerFips} floating IPs on the router: start → full sync done`, [
      `${o.routerFips} floating IPs created in bulk → all ACTIVE: ${toActive} ms`,
      ...restarts.map(
        (r) => `${r.ms} ms, routers changed ${r.changed}, kernel reads ${r.reads}, writes ${r.writes}, RPC calls: ${r.rpc} (load average ${r.load})`,
      ),
    ]);
    this.figures.l3Restarts = { routerFips: o.routerFips, toActiveMs: toActive, restarts };
  }

  /** (d): many routers on one L3 agent. */
  async manyRouters(extId: string): Promise<void> {
    const n = this.o.manyRouters;
    // Made while no L3 agent runs: the next one's first full sync builds them all.
    await this.l3!.stop();
    const t0 = Date.now();
    for (let i = 0; i < n; i++) {
      const net = await this.network(`r${i}`, `10.${100 + Math.floor(i / 250)}.${i % 250}.0/24`);
      const r = (await this.api('POST', '/routers', { router: { name: `r${i}`, external_gateway_info: { network_id: extId } } })).router;
      this.routers.push(r.id);
      await this.api('PUT', `/routers/${r.id}/add_router_interface`, { subnet_id: net.subnet });
    }
    const apiMs = Date.now() - t0;
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const heap0 = process.memoryUsage().heapUsed;
    const first = await this.startL3();
    gc?.();
    const heap1 = process.memoryUsage().heapUsed;
    await this.l3!.stop();
    const again = await this.startL3();
    const total = this.l3!.routers.size;
    this.print(`(d) ${total} routers on one L3 agent (${n} made through the API in ${apiMs} ms)`, [
      `first full sync (builds those not built yet): ${first.ms} ms, kernel reads ${first.reads}, writes ${first.writes}, routers changed ${first.changed}`,
      `restart: ${again.ms} ms, kernel reads ${again.reads}, writes ${again.writes}, routers changed ${again.changed}`,
      `JS heap per router: ${Math.round((heap1 - heap0) / total / 1024)} KiB${gc ? '' : ' (without --expose-gc: rough)'} (load average ${load()})`,
    ]);
    this.figures.manyRouters = { routers: total, apiMs, first, again, heapPerRouterBytes: Math.round((heap1 - heap0) / total) };
  }

  async stop(): Promise<void> {
    await this.l3?.stop().catch(() => {});
    for (const id of this.routers) spawnSync('ip', ['netns', 'delete', routerNamespace(id)], { env: { ...process.env, PATH: SBIN_PATH } });
    for (const h of this.hosts) {
      await h.agent.stop().catch(() => {});
      await h.bus.close().catch(() => {});
    }
    await this.server?.close().catch(() => {});
    await this.serverBus?.close().catch(() => {});
    this.nss.removeSync();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const o = optionsFrom(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('the agent benchmark needs root (namespaces, veths, bridges)');
  const b = new Bench(o);
  process.stdout.write(`# neutrino L2 and L3 agent benchmark — ${o.hosts} hosts, load average ${load()}\n`);
  try {
    await b.start();
    const plugNet = await b.network('plug', '10.99.0.0/16');
    const anchors = o.plugs || (o.ports && o.loadedPlugs) ? await b.anchors(plugNet.id) : [];
    if (o.plugs)
      await b.plugSeries(
        `(a) ${o.plugs} plugs, alternating over ${o.hosts} hosts, pinged from another host`,
        plugNet.id,
        anchors,
        o.plugs,
        (i) => i % o.hosts,
      );
    if (o.ports) {
      await b.loadedHost();
      if (o.loadedPlugs)
        await b.plugSeries(
          `(a') ${o.loadedPlugs} plugs on the host with ${o.ports} ports, pinged from another host`,
          plugNet.id,
          anchors,
          o.loadedPlugs,
          () => 0,
        );
    }
    if (o.fips) await b.floatingIps();
    if (o.json) writeFileSync(o.json, `${JSON.stringify({ options: o, figures: b.figures }, null, 2)}\n`);
  } finally {
    await b.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`agents-bench: ${err instanceof Error ? err.stack : err}\n`);
    process.exit(1);
  },
);

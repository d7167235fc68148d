// The end-to-end fixture: two simulated hosts, each a network namespace, joined by an underlay
// veth (172.31.250.1 / .2); a Linux-bridge agent per host and a DHCP agent on host A, each
// managing its host's namespace (the agents' --netns / netns option); VMs are namespaces plugged
// with `neutrino vif plug` (its code, in-process). Two ways to run the control plane:
//   'memory': the API server and all three agents in this process, on one in-memory broker (an
//             all-in-one); an agent restart stops the agent object and starts a new one;
//   'rabbit': the server and each agent as its own `bin/neutrino` process on a RabbitMQ vhost
//             made for the run; an agent restart is SIGTERM and a new process.
// The agents run in the root namespace (so they reach the server and the broker on 127.0.0.1)
// and drive their host's namespace; the agent code is the same either way (a dataplane Target).
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as netServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { deleteNetns, dnsmasqStatus, IpBatch, stats, stopDnsmasq, strayProcesses, terminate } from '../../src/dataplane/index.js';
import { MemoryBroker, MemoryBus, type RpcBus, type RpcLogger } from '../../src/rpc/index.js';
import { LinuxBridgeAgent } from '../../src/agents/linuxbridge/agent.js';
import { DhcpAgent } from '../../src/agents/dhcp/agent.js';
import { L3Agent } from '../../src/agents/l3/agent.js';
import { routerNamespace } from '../../src/agents/l3/model.js';
import { exec as realExec, type Exec } from '../../src/dataplane/index.js';
import { namespaceOf } from '../../src/agents/dhcp/render.js';
import { plug, unplug, type PlugResult } from '../../src/cli/vif-plug.js';
import { BACKENDS } from '../helpers/backends.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { Namespaces, suffix } from '../dataplane/root-helpers.js';
import { RABBIT_URL } from '../rpc/rabbit.js';
import { waitThroughErrors } from '../helpers/wait.js';

export type BusMode = 'memory' | 'rabbit';

export interface TwoHostsOptions {
  /**
   * An L3 agent on host A, and an "outside" namespace (`outsideNs`) on the physical network
   * `extnet`: its eth0 is the peer of host A's `ext0`, which host A's L2 agent maps extnet to
   * (physical_interface_mappings), so a flat network on extnet is that wire.
   */
  l3?: boolean;
  /**
   * With l3: an L3 agent on host B too, for HA routers (VRRP every HA_ADVERT_INT s); the outside
   * namespace bridges two wires, one to each host's ext0. Each host's router namespaces are its
   * own (`haNamespace`; a process's --router-netns-prefix), as two machines' would be.
   */
  ha?: boolean;
  /** The L3 agent runs a metadata proxy per router (enable_metadata_proxy), to `metadataSocket`. */
  l3Metadata?: boolean;
  /**
   * With l3 (not ha): a second physical network `extnet2` (host A's `ext1`), whose wire ends in
   * a second outside namespace (`outside2Ns`, on its eth0): for routers with two external gateways.
   */
  l3SecondExternal?: boolean;
}

/** Kernel commands of one agent, counted by an Exec wrapper (in-process agents share stats()). */
export function countingExec(): Exec & { reads: number; writes: number; writeLog: string[] } {
  const f = (async (cmd) => {
    if (cmd.write) {
      f.writes++;
      f.writeLog.push(cmd.argv.join(' ') + (cmd.input ? ` <<${cmd.input.slice(0, 300)}` : ''));
    } else f.reads++;
    return realExec(cmd);
  }) as Exec & { reads: number; writes: number; writeLog: string[] };
  f.reads = 0;
  f.writes = 0;
  f.writeLog = [];
  return f;
}

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../../..');
const BIN = join(ROOT, 'bin/neutrino');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

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

/** A `bin/neutrino` child process with its output kept (shown when a test fails). */
let jsonLogs: string | null = null;
/** A config file that turns on use_json, written once per test process. */
function jsonLogsConf(): string {
  if (!jsonLogs) {
    jsonLogs = join(mkdtempSync(join(tmpdir(), 'neutrino-proc-')), 'json-logs.conf');
    writeFileSync(jsonLogs, '[DEFAULT]\nuse_json = true\n');
  }
  return jsonLogs;
}

export class Proc {
  out = '';
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  constructor(
    readonly name: string,
    argv: string[],
  ) {
    // Its log lines as JSON (use_json), for logs() to read: one more config file, last so it wins.
    this.child = spawn(process.execPath, [BIN, ...argv, '--config-file', jsonLogsConf()], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NEUTRINO_DATAPLANE_TRACE: '' },
    });
    this.child.stdout!.on('data', (b: Buffer) => (this.out += b.toString()));
    this.child.stderr!.on('data', (b: Buffer) => (this.out += b.toString()));
    this.exited = new Promise((r) => this.child.on('exit', (code) => r(code)));
  }
  /** The log lines printed so far (use_json: oslo.log's JSON), as { msg, time, ...their fields }. */
  logs(): any[] {
    return this.out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => {
        try {
          const o = JSON.parse(l);
          return { ...o.extra, msg: o.message, time: Math.round(o.created * 1000), level: o.levelname, name: o.name };
        } catch {
          return null;
        }
      })
      .filter(Boolean);
  }
  /** The first log line whose msg matches, once it is there. */
  logLine(re: RegExp, timeoutMs = 20_000): Promise<any> {
    return waitThroughErrors(`${this.name}: ${re}`, async () => this.logs().find((l) => re.test(l.msg)), timeoutMs);
  }
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(t);
  }
}

/**
 * `bin/neutrino agent <kind>` as a process with these configuration files, driving the links of
 * host namespace `netns` when given (the agents' --netns): how the rabbit-mode fixtures here and
 * in mixed/ start neutrino's agents.
 */
export function agentProc(
  name: string,
  kind: 'linuxbridge' | 'dhcp' | 'l3' | 'metadata',
  confs: string[],
  netns?: string,
  extra: string[] = [],
): Proc {
  return new Proc(name, ['agent', kind, ...confs.flatMap((c) => ['--config-file', c]), ...(netns ? ['--netns', netns] : []), ...extra]);
}

/**
 * Plugs the port into a new VM namespace (added to `nss`, so it goes with them) on a simulated
 * host, as Nova's os-vif would: the tap in `hostNetns`, binding:host_id `host`, the port's MAC
 * and MTU; its fixed IPs on the VM's eth0 too with `static`.
 */
export async function plugVm(
  nss: Namespaces,
  o: { portId: string; vmNs: string; host: string; hostNetns: string; endpoint: string; static?: boolean },
): Promise<PlugResult> {
  await nss.add(o.vmNs);
  return plug({
    action: 'plug',
    portId: o.portId,
    netns: o.vmNs,
    host: o.host,
    hostNetns: o.hostNetns,
    ifname: 'eth0',
    static: !!o.static,
    unbind: false,
    endpoint: o.endpoint,
  });
}

/** A logger for in-process agents that keeps the last lines for failure dumps. */
function keepingLogger(name: string, lines: string[]): RpcLogger {
  const add = (level: string) => (obj: object, msg: string) => {
    lines.push(`${name} ${level} ${msg} ${JSON.stringify(obj)}`);
    if (lines.length > 400) lines.splice(0, lines.length - 400);
  };
  return { debug: () => {}, info: add('info'), warn: add('warn'), error: add('error') };
}

/** What an agent restart did: time from stop to its first full pass, and the kernel commands of that start. */
export interface Restart {
  ms: number;
  kernel: { reads: number; writes: number };
  /** L2: devices wired after the first pass; DHCP: what the sync did to each network's dnsmasq. */
  detail: Record<string, unknown>;
}

/** Agent settings a test may change (the in-process 'memory' mode only). */
export interface TwoHostsOptions {
  /** The L2 agents' polling_interval, seconds (default 2). */
  pollingInterval?: number;
  /** The DHCP agent's check_child_processes_interval, seconds (default: the agent's). */
  dhcpCheckInterval?: number;
}

/**
 * The HA fixture's ha_vrrp_advert_int: half a second (VRRPv3, so no authentication) puts a lost
 * host's takeover at 3 × 0.5 s + skew ≈ 1.9 s after its last advertisement.
 */
export const HA_ADVERT_INT = 0.5;

export class TwoHosts {
  readonly s = suffix();
  readonly nss = new Namespaces();
  /** Host namespaces, agent host names, underlay addresses. */
  readonly ns: [string, string];
  readonly host: [string, string];
  readonly underlay = ['172.31.250.1', '172.31.250.2'] as const;
  readonly dir: string;
  /** Where the DHCP agent keeps dnsmasq's files (state_path/dhcp). */
  readonly dhcpDir: string;
  url = '';
  readonly figures: string[] = [];
  private readonly logLines: string[] = [];
  // memory mode
  private broker: MemoryBroker | null = null;
  private readonly buses: RpcBus[] = [];
  private srv: TestServer | null = null;
  private l2: Array<LinuxBridgeAgent | null> = [null, null];
  private dhcpAgent: DhcpAgent | null = null;
  // rabbit mode
  private readonly vhost: string;
  private server: Proc | null = null;
  private l2Procs: Array<Proc | null> = [null, null];
  private dhcpProc: Proc | null = null;
  // L3 (opts.l3)
  readonly outsideNs: string;
  /** opts.l3SecondExternal: the outside namespace of extnet2. */
  readonly outside2Ns: string;
  l3Agent: L3Agent | null = null;
  l3Exec = countingExec();
  private l3Proc: Proc | null = null;
  private readonly haL3Procs: Array<Proc | null> = [null, null];
  /** Where the routers' metadata proxies forward (a test's metadata agent listens there). */
  readonly metadataSocket: string;
  /** Routers whose namespaces stop() removes. */
  readonly routerIds = new Set<string>();

  constructor(
    readonly mode: BusMode,
    readonly opts: TwoHostsOptions = {},
  ) {
    this.outsideNs = `nt${this.s}ho`;
    this.outside2Ns = `nt${this.s}hp`;
    this.ns = [`nt${this.s}ha`, `nt${this.s}hb`];
    this.host = [`e2e-${this.s}-a`, `e2e-${this.s}-b`];
    this.vhost = `neutrino-e2e-${this.s}`;
    this.dir = mkdtempSync(join(tmpdir(), `neutrino-e2e-${mode}-`));
    chmodSync(this.dir, 0o755); // dnsmasq reads its files as 'nobody'
    this.dhcpDir = join(this.dir, 'dhcp-state', 'dhcp');
    this.metadataSocket = join(this.dir, 'metadata_proxy');
  }

  private get transportUrl(): string {
    return `${RABBIT_URL.replace(/\/+$/, '')}/${this.vhost}`;
  }

  /** Hosts, underlay, server and the three agents, all reporting alive. */
  async start(): Promise<void> {
    for (const n of this.ns) await this.nss.add(n);
    await new IpBatch()
      .addVeth('ul0', 'ul0', { peerNetns: this.ns[1] })
      .addAddr('ul0', `${this.underlay[0]}/24`)
      .setUp('ul0', true)
      .apply({ netns: this.ns[0] });
    await new IpBatch().addAddr('ul0', `${this.underlay[1]}/24`).setUp('ul0', true).apply({ netns: this.ns[1] });
    if (this.opts.l3) {
      await this.nss.add(this.outsideNs);
      await new IpBatch().addVeth('ext0', 'eth0', { peerNetns: this.outsideNs }).setUp('ext0', true).apply({ netns: this.ns[0] });
      await new IpBatch().setUp('eth0', true).setUp('lo', true).apply({ netns: this.outsideNs });
      if (this.opts.l3SecondExternal) {
        await this.nss.add(this.outside2Ns);
        await new IpBatch().addVeth('ext1', 'eth0', { peerNetns: this.outside2Ns }).setUp('ext1', true).apply({ netns: this.ns[0] });
        await new IpBatch().setUp('eth0', true).setUp('lo', true).apply({ netns: this.outside2Ns });
      }
      if (this.opts.ha) {
        // eth0 becomes a port of the outside host's bridge br0 (which takes its address), with eth1 to host B.
        await new IpBatch().addVeth('ext0', 'eth1', { peerNetns: this.outsideNs }).setUp('ext0', true).apply({ netns: this.ns[1] });
        await new IpBatch()
          .addBridge('br0')
          .setMaster('eth0', 'br0')
          .setMaster('eth1', 'br0')
          .setUp('eth1', true)
          .setUp('br0', true)
          .apply({ netns: this.outsideNs });
      }
    }
    if (this.mode === 'memory') await this.startMemoryServer();
    else await this.startRabbitServer();
    for (const i of [0, 1] as const) await this.startL2(i);
    await this.agentsAlive('Linux bridge agent', this.host);
    await this.startDhcp();
    await this.agentsAlive('DHCP agent', [this.host[0]]);
    if (this.opts.l3 && this.opts.ha) {
      for (const i of [0, 1] as const) await this.startHaL3(i);
      await this.agentsAlive('L3 agent', this.host);
    } else if (this.opts.l3) {
      await this.startL3();
      await this.agentsAlive('L3 agent', [this.host[0]]);
    }
  }

  /** Host i's router namespace for a router (opts.ha). */
  haNamespace(i: 0 | 1, routerId: string): string {
    return `qr${this.s}${'ab'[i]}-${routerId}`;
  }

  /** opts.ha: host i's L3 agent (in-process), with its own router namespaces and keepalived files. */
  readonly haAgents: Array<L3Agent | null> = [null, null];

  async startHaL3(i: 0 | 1): Promise<void> {
    if (this.mode === 'rabbit') {
      const confs = [join(this.dir, 'common.conf'), join(this.dir, `l3-ha-${i}.ini`)];
      const p = agentProc(`l3-${'ab'[i]}`, 'l3', confs, this.ns[i], ['--router-netns-prefix', this.haNamespace(i, '')]);
      this.haL3Procs[i] = p;
      await p.logLine(/L3 agent started/);
      return;
    }
    const agent = new L3Agent({
      bus: this.bus(),
      host: this.host[i],
      netns: this.ns[i],
      statePath: join(this.dir, `l3-state-${i}`),
      reportInterval: 2,
      resyncInterval: 1,
      namespaceOf: (id) => this.haNamespace(i, id),
      vrrp: { authType: 'PASS', authPassword: '', advertInt: HA_ADVERT_INT },
      logger: keepingLogger(`l3-${'ab'[i]}`, this.logLines),
    });
    this.haAgents[i] = agent;
    await agent.start();
  }

  /** The pid of host i's keepalived for the router (signalled if `signal`), or null. */
  keepalivedPid(i: 0 | 1, routerId: string, signal?: NodeJS.Signals): number | null {
    try {
      const pid = Number(readFileSync(join(this.dir, `l3-state-${i}`, 'ha_confs', routerId, 'keepalived.pid'), 'utf8').trim());
      process.kill(pid, signal ?? 0);
      return pid;
    } catch {
      return null;
    }
  }

  /** opts.ha: stops host i's L3 agent (keepalived and namespaces stay, as with a real agent). */
  async stopHaL3(i: 0 | 1): Promise<void> {
    await this.haAgents[i]?.stop();
    this.haAgents[i] = null;
    await this.haL3Procs[i]?.stop();
    this.haL3Procs[i] = null;
  }

  /** The flat physical networks (extnet, and extnet2 with l3SecondExternal). */
  private get flatNetworks(): string {
    return this.opts.l3SecondExternal ? 'extnet,extnet2' : 'extnet';
  }

  /** Host i's physical_interface_mappings under opts.l3. */
  private physMappings(i: number): Record<string, string> {
    return { extnet: 'ext0', ...(this.opts.l3SecondExternal && i === 0 ? { extnet2: 'ext1' } : {}) };
  }

  private async startMemoryServer(): Promise<void> {
    this.broker = new MemoryBroker();
    const bus = this.bus();
    this.srv = await startServer(
      BACKENDS.find((b) => b.name === 'sqlite')!,
      {
        DEFAULT: { agent_down_time: '20' },
        ml2: { tenant_network_types: 'vxlan', mechanism_drivers: 'linuxbridge,l2population' },
        ml2_type_vxlan: { vni_ranges: '7000:7999' },
        ...(this.opts.l3 ? { ml2_type_flat: { flat_networks: this.flatNetworks } } : {}),
      },
      { bus },
    );
    this.url = this.srv.url;
  }

  private async startRabbitServer(): Promise<void> {
    await run('rabbitmqctl', ['add_vhost', this.vhost]);
    await run('rabbitmqctl', ['set_permissions', '-p', this.vhost, 'guest', '.*', '.*', '.*']);
    const port = await freePort();
    this.url = `http://127.0.0.1:${port}`;
    writeFileSync(
      join(this.dir, 'common.conf'),
      `[DEFAULT]\ntransport_url = ${this.transportUrl}\n[agent]\nreport_interval = 2\npolling_interval = 2\n`,
    );
    writeFileSync(
      join(this.dir, 'neutron.conf'),
      [
        '[DEFAULT]',
        'auth_strategy = noauth',
        'bind_host = 127.0.0.1',
        `bind_port = ${port}`,
        `state_path = ${this.dir}/server-state`,
        'agent_down_time = 20',
        // One process, as before workers existed (test/scale covers API and RPC workers).
        'api_workers = 1',
        'rpc_workers = 0',
        '[ml2]',
        'tenant_network_types = vxlan',
        'mechanism_drivers = linuxbridge,l2population',
        '[ml2_type_vxlan]',
        'vni_ranges = 7000:7999',
        ...(this.opts.l3 ? ['[ml2_type_flat]', `flat_networks = ${this.flatNetworks}`] : []),
        '',
      ].join('\n'),
    );
    for (const i of [0, 1]) {
      writeFileSync(
        join(this.dir, `lb${i}.ini`),
        [
          '[DEFAULT]',
          `host = ${this.host[i]}`,
          ...(this.opts.l3 && (i === 0 || this.opts.ha)
            ? [
                '[linux_bridge]',
                `physical_interface_mappings = ${Object.entries(this.physMappings(i))
                  .map(([k, v]) => `${k}:${v}`)
                  .join(',')}`,
              ]
            : []),
          '[vxlan]',
          'enable_vxlan = true',
          `local_ip = ${this.underlay[i]}`,
          'l2_population = true',
          '',
        ].join('\n'),
      );
    }
    writeFileSync(
      join(this.dir, 'l3.ini'),
      [
        '[DEFAULT]',
        `host = ${this.host[0]}`,
        `state_path = ${join(this.dir, 'l3-state')}`,
        `enable_metadata_proxy = ${!!this.opts.l3Metadata}`,
        `metadata_proxy_socket = ${this.metadataSocket}`,
        'min_rtr_adv_interval = 3',
        'max_rtr_adv_interval = 10',
        '',
      ].join('\n'),
    );
    for (const i of [0, 1])
      writeFileSync(
        join(this.dir, `l3-ha-${i}.ini`),
        [
          '[DEFAULT]',
          `host = ${this.host[i]}`,
          `state_path = ${join(this.dir, `l3-state-${i}`)}`,
          'enable_metadata_proxy = false',
          `ha_vrrp_advert_int = ${HA_ADVERT_INT}`,
          '',
        ].join('\n'),
      );
    writeFileSync(
      join(this.dir, 'dhcp.ini'),
      ['[DEFAULT]', `host = ${this.host[0]}`, `state_path = ${join(this.dir, 'dhcp-state')}`, 'resync_interval = 1', ''].join('\n'),
    );
    this.server = new Proc('server', ['server', '--config-file', join(this.dir, 'common.conf'), '--config-file', join(this.dir, 'neutron.conf')]);
    await waitThroughErrors(
      'API server',
      async () => (await fetch(`${this.url}/v2.0/networks`, { headers: { 'x-project-id': 'p', 'x-roles': 'admin' } })).ok,
      // Start-up (migrations on a fresh database, then the broker) took over 20 s on a loaded machine.
      60_000,
    );
  }

  /** A bus on this run's in-memory broker ('memory' mode), for agents a test starts itself. */
  bus(): RpcBus {
    const b = new MemoryBus({ broker: this.broker!, logger: keepingLogger('bus', this.logLines) });
    this.buses.push(b);
    return b;
  }

  /** Starts host i's L2 agent; resolves after its first full pass, with the kernel commands it took. */
  private async startL2(i: 0 | 1): Promise<Restart> {
    if (this.mode === 'memory') {
      const agent = new LinuxBridgeAgent({
        bus: this.bus(),
        host: this.host[i],
        netns: this.ns[i],
        localIp: this.underlay[i],
        enableVxlan: true,
        interfaceMappings: this.opts.l3 && (i === 0 || this.opts.ha) ? this.physMappings(i) : {},
        bridgeMappings: {},
        arpResponder: false,
        l2Population: true,
        reportInterval: 2,
        pollingInterval: this.opts.pollingInterval ?? 2,
        firewall: 'nftables',
        logger: keepingLogger(`l2-${i}`, this.logLines),
      });
      this.l2[i] = agent;
      const k0 = stats();
      const t0 = Date.now();
      await agent.start();
      await agent.ready;
      const k1 = stats();
      return { ms: Date.now() - t0, kernel: { reads: k1.reads - k0.reads, writes: k1.writes - k0.writes }, detail: { devices: agent.devices.size } };
    }
    const p = agentProc(`l2-${i}`, 'linuxbridge', [join(this.dir, 'common.conf'), join(this.dir, `lb${i}.ini`)], this.ns[i]);
    this.l2Procs[i] = p;
    const line = await p.logLine(/first full pass done/);
    return { ms: line.ms, kernel: line.kernel, detail: { devices: line.devices } };
  }

  private async startDhcp(): Promise<Restart> {
    if (this.mode === 'memory') {
      const agent = new DhcpAgent({
        bus: this.bus(),
        host: this.host[0],
        netns: this.ns[0],
        statePath: join(this.dir, 'dhcp-state'),
        reportInterval: 2,
        resyncInterval: 1,
        ...(this.opts.dhcpCheckInterval !== undefined ? { checkInterval: this.opts.dhcpCheckInterval } : {}),
        logger: keepingLogger('dhcp', this.logLines),
      });
      this.dhcpAgent = agent;
      const k0 = stats();
      const t0 = Date.now();
      await agent.start(); // returns after the full sync
      await agent.idle();
      const k1 = stats();
      return { ms: Date.now() - t0, kernel: { reads: k1.reads - k0.reads, writes: k1.writes - k0.writes }, detail: agent.actions() };
    }
    const p = agentProc('dhcp', 'dhcp', [join(this.dir, 'common.conf'), join(this.dir, 'dhcp.ini')], this.ns[0]);
    this.dhcpProc = p;
    const line = await p.logLine(/DHCP agent started/);
    return { ms: line.ms, kernel: line.kernel, detail: line.actions };
  }

  /** Starts host A's L3 agent; resolves after its full sync, with this agent's own kernel commands. */
  private async startL3(): Promise<Restart> {
    if (this.mode === 'memory') {
      this.l3Exec = countingExec();
      const agent = new L3Agent({
        bus: this.bus(),
        host: this.host[0],
        netns: this.ns[0],
        statePath: join(this.dir, 'l3-state'),
        reportInterval: 2,
        resyncInterval: 1,
        exec: this.l3Exec,
        logger: keepingLogger('l3', this.logLines),
        ...(this.opts.l3Metadata ? { metadataProxy: { statePath: join(this.dir, 'l3-state'), socketPath: this.metadataSocket } } : {}),
        raOptions: { minInterval: 3, maxInterval: 10 },
      });
      this.l3Agent = agent;
      const t0 = Date.now();
      await agent.start();
      await agent.idle();
      const changed = [...agent.routers.values()].filter((r) => r.changes > 0).length;
      return {
        ms: Date.now() - t0,
        kernel: { reads: this.l3Exec.reads, writes: this.l3Exec.writes },
        detail: { routers: agent.routers.size, changed, writeLog: this.l3Exec.writeLog },
      };
    }
    const p = agentProc('l3', 'l3', [join(this.dir, 'common.conf'), join(this.dir, 'l3.ini')], this.ns[0]);
    this.l3Proc = p;
    const line = await p.logLine(/L3 agent started/);
    return { ms: line.ms, kernel: line.kernel, detail: { routers: line.routers, changed: line.changed } };
  }

  private async stopL3(): Promise<void> {
    if (this.mode === 'memory') {
      await this.l3Agent?.stop();
      this.l3Agent = null;
    } else {
      await this.l3Proc?.stop();
    }
  }

  /** Stops the L3 agent and starts a new one; `ms` runs from the stop to the end of the new one's full sync. */
  async restartL3(): Promise<Restart> {
    await this.l3Agent?.idle();
    const t0 = Date.now();
    await this.stopL3();
    const r = await this.startL3();
    return { ...r, detail: { ...r.detail, syncMs: r.ms }, ms: Date.now() - t0 };
  }

  private async stopL2(i: 0 | 1): Promise<void> {
    if (this.mode === 'memory') {
      await this.l2[i]?.stop();
      this.l2[i] = null;
    } else {
      await this.l2Procs[i]?.stop();
    }
  }

  private async stopDhcp(): Promise<void> {
    if (this.mode === 'memory') {
      await this.dhcpAgent?.stop();
      this.dhcpAgent = null;
    } else {
      await this.dhcpProc?.stop();
    }
  }

  /** Stops host i's L2 agent and starts a new one; `ms` runs from the stop to the new one's first full pass. */
  async restartL2(i: 0 | 1): Promise<Restart> {
    // A change still being applied when the agent stops is (rightly) applied by the next one:
    // restart an agent that has nothing left to do, so that the restart alone is measured.
    await this.quietL2(i);
    const t0 = Date.now();
    await this.stopL2(i);
    const mark = `l2-${i} restart ${t0}`;
    this.logLines.push(mark);
    const r = await this.startL2(i);
    const changes: Array<{ fdbOps?: number; neighOps?: number }> =
      this.mode === 'memory'
        ? this.logLines
            .slice(this.logLines.lastIndexOf(mark))
            .filter((l) => l.startsWith(`l2-${i} `) && l.includes('agent pass changed things'))
            .map((l) => JSON.parse(l.slice(l.indexOf('{'))))
        : this.l2Procs[i]!.logs().filter((l) => l.msg === 'agent pass changed things');
    // Forwarding entries the new agent put right (see the restart test).
    const fdbRepairs = changes.reduce((n, c) => n + (c.fdbOps ?? 0) + (c.neighOps ?? 0), 0);
    return { ...r, detail: { ...r.detail, firstPassMs: r.ms, fdbRepairs, changes }, ms: Date.now() - t0 };
  }

  /** Until the L2 agent has no pass to run: idle in-process; as a process, no change logged for a polling interval and a half. */
  private async quietL2(i: 0 | 1): Promise<void> {
    if (this.mode === 'memory') return this.l2[i]?.idle();
    const proc = this.l2Procs[i]!;
    await waitThroughErrors(
      `l2-${i} quiet`,
      async () => {
        const last = proc
          .logs()
          .filter((l) => l.msg === 'agent pass changed things')
          .at(-1);
        return !last || Date.now() - Number(last.time) > 3000;
      },
      20_000,
    );
  }

  /** The same for the DHCP agent; `ms` runs from the stop to the end of the new one's full sync. */
  async restartDhcp(): Promise<Restart> {
    const t0 = Date.now();
    await this.stopDhcp();
    const r = await this.startDhcp();
    return { ...r, detail: { ...r.detail, syncMs: r.ms }, ms: Date.now() - t0 };
  }

  async agentsAlive(type: string, hosts: readonly string[]): Promise<void> {
    await waitThroughErrors(
      `${type} alive on ${hosts.join(', ')}`,
      async () => {
        const r = await this.api('GET', `/agents?agent_type=${encodeURIComponent(type)}`);
        return hosts.every((h) => r.body.agents.some((a: any) => a.host === h && a.alive));
      },
      20_000,
      50,
    ).catch((e) => {
      throw new Error(`${(e as Error).message}\n${this.dump()}`);
    });
  }

  async api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const r = await fetch(`${this.url}/v2.0${path}`, {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: { 'content-type': 'application/json', 'x-project-id': 'e2e-project', 'x-roles': 'admin,member', 'x-user-id': 'e2e' },
    });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : null };
  }

  /** Plugs the port into a new VM namespace on host i, as Nova would (binding:host_id, tap, MAC, MTU; no address). */
  async plug(portId: string, vmNs: string, i: 0 | 1, o: { static?: boolean } = {}): Promise<PlugResult> {
    return plugVm(this.nss, { portId, vmNs, host: this.host[i], hostNetns: this.ns[i], endpoint: this.url, static: !!o.static });
  }

  async unplug(portId: string, i: 0 | 1): Promise<void> {
    await unplug({
      action: 'unplug',
      portId,
      host: this.host[i],
      hostNetns: this.ns[i],
      ifname: 'eth0',
      static: false,
      unbind: false,
      endpoint: this.url,
    });
  }

  /** The in-process agents ('memory' mode). */
  get agents(): { l2: ReadonlyArray<LinuxBridgeAgent | null>; dhcp: DhcpAgent | null } {
    return { l2: this.l2, dhcp: this.dhcpAgent };
  }

  async dnsmasqPid(networkId: string): Promise<number | null> {
    return (await dnsmasqStatus(this.dhcpDir, networkId))?.pid ?? null;
  }

  /** Server and agent logs, for failure messages. */
  dump(): string {
    if (this.mode === 'memory') return `--- in-process logs ---\n${this.logLines.slice(-60).join('\n')}`;
    return [this.server, ...this.l2Procs, this.dhcpProc, this.l3Proc, ...this.haL3Procs]
      .map((p) => `--- ${p?.name} ---\n${p?.out.slice(-3000)}`)
      .join('\n');
  }

  /** Live processes started with a file of this run's directory on their command line (keepalived, radvd, haproxy, dnsmasq, dhclient). */
  daemons(): Promise<number[]> {
    return strayProcesses((argv) => argv.some((a) => a.startsWith(`${this.dir}/`)) && !argv.includes(BIN), process.pid);
  }

  /** Stops everything and removes what the run made: dnsmasq instances, qdhcp and host/VM namespaces, the vhost. */
  async stop(): Promise<void> {
    if (this.figures.length) process.stdout.write(`\n# two-hosts e2e figures (${this.mode})\n${this.figures.map((f) => `#   ${f}`).join('\n')}\n`);
    await this.stopL3().catch(() => {});
    for (const i of [0, 1] as const) {
      await this.stopHaL3(i).catch(() => {});
      // keepalived outlives its agent: stop it here.
      for (const id of this.routerIds) this.keepalivedPid(i, id, 'SIGTERM');
    }
    await this.stopDhcp().catch(() => {});
    for (const i of [0, 1] as const) await this.stopL2(i).catch(() => {});
    if (this.srv) await this.srv.stop().catch(() => {});
    await this.server?.stop();
    for (const b of this.buses) await b.close().catch(() => {});
    if (existsSync(this.dhcpDir)) {
      for (const id of readdirSync(this.dhcpDir).filter((d) => UUID.test(d))) {
        await stopDnsmasq(this.dhcpDir, id).catch(() => {});
        await deleteNetns(namespaceOf(id)).catch(() => {});
      }
    }
    for (const id of this.routerIds) {
      // What the L3 agent left running in the router (haproxy, radvd, an arping) goes with it.
      const pids = await run('ip', ['netns', 'pids', routerNamespace(id)]).catch(() => ({ stdout: '' }));
      for (const pid of pids.stdout.split(/\s+/).filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // gone
        }
      }
      await deleteNetns(routerNamespace(id)).catch(() => {});
    }
    if (this.opts.ha)
      for (const id of this.routerIds)
        for (const i of [0, 1] as const) {
          // A keepalived that had not finished stopping (or was being started again) goes too.
          const pids = await run('ip', ['netns', 'pids', this.haNamespace(i, id)]).catch(() => ({ stdout: '' }));
          for (const pid of pids.stdout.split(/\s+/).filter(Boolean)) {
            try {
              process.kill(Number(pid), 'SIGKILL');
            } catch {
              // gone
            }
          }
          await deleteNetns(this.haNamespace(i, id)).catch(() => {});
        }
    // Last: whatever still runs with this run's files (a keepalived the agent started again, a
    // radvd or haproxy of a router the test did not delete, a dhclient): the agents leave their
    // daemons running on stop, on purpose, for the next start to adopt.
    await terminate(await this.daemons(), 3000);
    await this.nss.deleteAll();
    if (this.mode === 'rabbit') await run('rabbitmqctl', ['delete_vhost', this.vhost]).catch(() => {});
    rmSync(this.dir, { recursive: true, force: true });
  }
}

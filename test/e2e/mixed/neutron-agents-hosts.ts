// The fixture of the mixed-deployment test: a neutrino server (its own process, SQLite) on a
// RabbitMQ vhost made for the run, and two simulated hosts, each a network namespace running
// Debian's Neutron agents unchanged (neutron-linuxbridge-agent on both, neutron-dhcp-agent and
// neutron-l3-agent on host A), as root, with configuration files of their own passed with
// --config-file (nothing under /etc/neutron is read or touched). The hosts are joined by an
// underlay veth that carries VXLAN (local_ip 172.31.248.1 / .2). Host A's Linux-bridge agent maps
// the flat physical network `extnet` to `ext0`, whose peer is eth0 of an "outside" namespace
// (`outsideNs`). Debian's neutron-metadata-agent runs in the root namespace (it touches no link:
// it listens on the Unix socket the L3 agent's haproxy instances forward to, and asks FakeNova on
// 127.0.0.1).
//
// Neutron's agents act on the namespace they run in and reach the broker at 127.0.0.1:5672 of
// that namespace: a socat there forwards to a Unix socket of this process, which connects to the
// real broker. No address or route is added to the root namespace.
//
// Root helpers: root_helper is empty (commands run directly, as root); oslo.privsep starts its
// daemons with `sudo privsep-helper`, which root may run. dnsmasq runs in qdhcp-<network>
// namespaces the DHCP agent makes, haproxy in the L3 agent's qrouter-<router> (global names, so
// only one DHCP and one L3 agent here).
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { parseTransportUrl } from '../../../src/rpc/index.js';
import type { PlugResult } from '../../../src/cli/vif-plug.js';
import { Namespaces, suffix } from '../../dataplane/root-helpers.js';
import { plugVm } from '../two-hosts.js';
import { FakeNova } from './fake-nova.js';
import { adminReq, spawnServer, writeIni, type ServerProcess } from '../../helpers/process-server.js';
import { waitThroughErrors } from '../../helpers/wait.js';
import { RABBIT_URL } from '../../rpc/rabbit.js';

const run = promisify(execFile);
const PATH = `${process.env.PATH ?? ''}:/usr/sbin:/sbin`;
/** The secret the metadata agent signs instance ids with, for FakeNova to check. */
const METADATA_SECRET = 'mixed-agents-metadata-secret';

/** Debian's agents, started with `ip netns exec`; their logs are files in the run's directory. */
interface AgentProc {
  name: string;
  proc: ChildProcess;
  log: string;
  out: string;
}

export class NeutronAgentHosts {
  readonly s = suffix();
  /** Host namespaces and the agents' host names. */
  readonly ns: [string, string] = [`mxa${this.s}a`, `mxa${this.s}b`];
  readonly host: [string, string] = [`mixed-${this.s}-a`, `mixed-${this.s}-b`];
  readonly vtep: [string, string] = ['172.31.248.1', '172.31.248.2'];
  readonly dir = mkdtempSync(join(tmpdir(), 'neutrino-mixed-agents-'));
  readonly nss = new Namespaces();
  /** The run's RabbitMQ virtual host (made with rabbitmqctl, deleted at the end). */
  readonly vhost = `neutrino_mixed_agents_${randomBytes(4).toString('hex')}`;
  private server: ServerProcess | null = null;
  private sock: Server | null = null;
  private socats: ChildProcess[] = [];
  private agents: AgentProc[] = [];
  /** Networks whose qdhcp- namespace (and dnsmasq) the run must remove. */
  readonly networks = new Set<string>();
  /** Routers whose qrouter- namespace the run must remove. */
  readonly routers = new Set<string>();
  /** The outside host on extnet (its eth0 is the peer of host A's ext0). */
  readonly outsideNs = `mxa${this.s}o`;
  readonly nova = new FakeNova(METADATA_SECRET);

  get url(): string {
    return this.server!.url;
  }

  async start(): Promise<void> {
    chmodSync(this.dir, 0o755); // dnsmasq reads its files as 'nobody'
    await run('rabbitmqctl', ['-q', 'add_vhost', this.vhost]);
    await run('rabbitmqctl', ['-q', 'set_permissions', '-p', this.vhost, parseTransportUrl(RABBIT_URL).hosts[0]!.username, '.*', '.*', '.*']);
    const serverDir = join(this.dir, 'server');
    mkdirSync(serverDir);
    this.server = await spawnServer(serverDir, {
      DEFAULT: { transport_url: `${RABBIT_URL.replace(/\/[^/]*$/, '')}/${this.vhost}`, agent_down_time: '75', debug: 'true' },
      ml2: { type_drivers: 'vxlan,flat', tenant_network_types: 'vxlan', mechanism_drivers: 'linuxbridge,l2population' },
      ml2_type_vxlan: { vni_ranges: '3000:3100' },
      ml2_type_flat: { flat_networks: 'extnet' },
    });
    await this.nova.start();
    await this.bridgeBroker();
    for (const i of [0, 1] as const) {
      await this.nss.add(this.ns[i]);
      await ip('-n', this.ns[i], 'link', 'set', 'lo', 'up');
    }
    const [ua, ub] = [`mxa${this.s}ua`, `mxa${this.s}ub`];
    await ip('link', 'add', ua, 'netns', this.ns[0], 'type', 'veth', 'peer', 'name', ub, 'netns', this.ns[1]);
    for (const [i, dev] of [ua, ub].entries()) {
      await ip('-n', this.ns[i]!, 'addr', 'add', `${this.vtep[i]}/24`, 'dev', dev);
      await ip('-n', this.ns[i]!, 'link', 'set', dev, 'up');
    }
    await this.nss.add(this.outsideNs);
    await ip('link', 'add', 'ext0', 'netns', this.ns[0], 'type', 'veth', 'peer', 'name', 'eth0', 'netns', this.outsideNs);
    await ip('-n', this.ns[0], 'link', 'set', 'ext0', 'up');
    for (const dev of ['eth0', 'lo']) await ip('-n', this.outsideNs, 'link', 'set', dev, 'up');
    for (const i of [0, 1] as const) {
      const h = join(this.dir, `host${i}`);
      mkdirSync(h);
      chmodSync(h, 0o755);
      // The broker at 127.0.0.1:5672 inside the host, forwarded to this process's socket.
      const socat = spawn(
        'ip',
        ['netns', 'exec', this.ns[i], 'socat', 'TCP-LISTEN:5672,bind=127.0.0.1,fork,reuseaddr', `UNIX-CONNECT:${join(this.dir, 'rabbit.sock')}`],
        { stdio: 'ignore', env: { ...process.env, PATH } },
      );
      this.socats.push(socat);
      writeIni(join(h, 'neutron.conf'), {
        DEFAULT: {
          host: this.host[i],
          transport_url: `rabbit://${this.brokerCredentials()}@127.0.0.1:5672/${this.vhost}`,
          state_path: h,
          debug: 'true',
        },
        // Commands run as root without a wrapper; privsep's daemons through sudo (root may).
        agent: { root_helper: '', report_interval: '5' },
        oslo_concurrency: { lock_path: join(h, 'lock') },
      });
      writeIni(join(h, 'linuxbridge_agent.ini'), {
        linux_bridge: { physical_interface_mappings: i === 0 ? 'extnet:ext0' : '' },
        vxlan: { enable_vxlan: 'true', local_ip: this.vtep[i], l2_population: 'true' },
        securitygroup: { enable_security_group: 'true', firewall_driver: 'iptables' },
        agent: { polling_interval: '1' },
      });
    }
    writeIni(join(this.dir, 'host0', 'dhcp_agent.ini'), {
      DEFAULT: { interface_driver: 'linuxbridge', enable_isolated_metadata: 'false', resync_interval: '2' },
    });
    const h0 = join(this.dir, 'host0');
    writeIni(join(h0, 'l3_agent.ini'), {
      DEFAULT: {
        interface_driver: 'linuxbridge',
        agent_mode: 'legacy',
        enable_metadata_proxy: 'true',
        metadata_proxy_socket: join(h0, 'metadata_proxy'),
      },
    });
    // The metadata agent, in the root namespace, reaches the broker directly.
    writeIni(join(h0, 'metadata.conf'), {
      DEFAULT: {
        host: this.host[0],
        transport_url: `${RABBIT_URL.replace(/\/[^/]*$/, '')}/${this.vhost}`,
        state_path: join(h0, 'metadata-state'),
        debug: 'true',
      },
      agent: { root_helper: '', report_interval: '5' },
      oslo_concurrency: { lock_path: join(h0, 'lock') },
    });
    writeIni(join(h0, 'metadata_agent.ini'), {
      DEFAULT: {
        metadata_proxy_socket: join(h0, 'metadata_proxy'),
        nova_metadata_host: '127.0.0.1',
        nova_metadata_port: String(this.nova.port),
        metadata_proxy_shared_secret: METADATA_SECRET,
        metadata_workers: '1',
      },
    });
    // Once socat listens in both hosts, the agents (a Python start takes a while on a busy machine).
    await waitThroughErrors(
      'socat listening in the hosts',
      async () => {
        for (const n of this.ns) {
          const r = await run('ip', ['netns', 'exec', n, 'ss', '-ltn'], { env: { ...process.env, PATH } });
          if (!r.stdout.includes('127.0.0.1:5672')) return false;
        }
        return true;
      },
      20_000,
      100,
    );
    for (const i of [0, 1] as const) this.startAgent(i, 'linuxbridge', 'neutron-linuxbridge-agent', ['neutron.conf', 'linuxbridge_agent.ini']);
    this.startAgent(0, 'dhcp', 'neutron-dhcp-agent', ['neutron.conf', 'dhcp_agent.ini']);
    this.startAgent(0, 'l3', 'neutron-l3-agent', ['neutron.conf', 'l3_agent.ini']);
    this.startAgent(0, 'metadata', 'neutron-metadata-agent', ['metadata.conf', 'metadata_agent.ini'], { rootNamespace: true });
    await this.agentsAlive([
      ['Linux bridge agent', this.host[0]],
      ['Linux bridge agent', this.host[1]],
      ['DHCP agent', this.host[0]],
      ['L3 agent', this.host[0]],
      ['Metadata agent', this.host[0]],
    ]);
  }

  private brokerCredentials(): string {
    const h = parseTransportUrl(RABBIT_URL).hosts[0]!;
    return `${encodeURIComponent(h.username)}:${encodeURIComponent(h.password)}`;
  }

  /** A Unix socket whose connections go to the real broker (the hosts' socats connect to it). */
  private async bridgeBroker(): Promise<void> {
    const h = parseTransportUrl(RABBIT_URL).hosts[0]!;
    const path = join(this.dir, 'rabbit.sock');
    this.sock = createServer((c) => {
      const up = connect(h.port, h.hostname);
      c.pipe(up).pipe(c);
      c.on('error', () => up.destroy());
      up.on('error', () => c.destroy());
    });
    await new Promise<void>((res, rej) => {
      this.sock!.once('error', rej);
      this.sock!.listen(path, () => res());
    });
    chmodSync(path, 0o777);
  }

  /** Starts a Neutron agent of host i, in its namespace (or, with rootNamespace, in this process's). */
  private startAgent(i: 0 | 1, name: string, binary: string, confs: string[], o: { rootNamespace?: boolean } = {}): void {
    const h = join(this.dir, `host${i}`);
    const log = join(h, `${name}.log`);
    const argv = [binary, ...confs.flatMap((c) => ['--config-file', join(h, c)]), '--log-file', log];
    const [cmd, ...args] = o.rootNamespace ? argv : ['ip', 'netns', 'exec', this.ns[i], ...argv];
    const proc = spawn(cmd!, args, { cwd: h, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PATH } });
    const a: AgentProc = { name: `${name}@${this.host[i]}`, proc, log, out: '' };
    proc.stdout!.on('data', (d) => (a.out += d));
    proc.stderr!.on('data', (d) => (a.out += d));
    this.agents.push(a);
  }

  /** Waits (generously: Python starts slowly on a loaded machine) until each [type, host] is alive. */
  async agentsAlive(which: Array<[string, string]>): Promise<void> {
    await waitThroughErrors(
      `${which.map(([t, h]) => `${t} on ${h}`).join(', ')} alive`,
      async () => {
        for (const a of this.agents) if (a.proc.exitCode !== null) throw new Error(`${a.name} exited with ${a.proc.exitCode}`);
        const r = await this.api('GET', '/agents');
        return which.every(([t, h]) => r.body.agents.some((a: any) => a.agent_type === t && a.host === h && a.alive));
      },
      420_000,
      1000,
    ).catch((e) => {
      throw new Error(`${(e as Error).message}\n${this.dump()}`);
    });
  }

  async api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    return adminReq(this.url, method, `/v2.0${path}`, body);
  }

  /**
   * Plugs the port into a new VM namespace on host i as Nova does with Linux bridge: os-vif makes
   * the network's bridge (brq + the network id's first 11 characters, forward delay 0, no STP)
   * and libvirt's tap joins it. Neutron's agent does not add a compute port's tap to the bridge
   * ("added elsewhere"); it only filters it and reports it up. The tap and the VM's end are
   * `neutrino vif plug`'s (binding:host_id, the port's MAC, the network's MTU).
   */
  async plug(portId: string, networkId: string, vmNs: string, i: 0 | 1): Promise<PlugResult> {
    const bridge = `brq${networkId.slice(0, 11)}`;
    const has = await run('ip', ['-n', this.ns[i], 'link', 'show', bridge], { env: { ...process.env, PATH } }).then(
      () => true,
      () => false,
    );
    // The agent may be making it at the same moment: "File exists" is fine.
    if (!has) await ip('-n', this.ns[i], 'link', 'add', bridge, 'type', 'bridge', 'forward_delay', '0', 'stp_state', '0').catch(() => {});
    await ip('-n', this.ns[i], 'link', 'set', bridge, 'up');
    const r = await plugVm(this.nss, { portId, vmNs, host: this.host[i], hostNetns: this.ns[i], endpoint: this.url });
    await ip('-n', this.ns[i], 'link', 'set', r.tap, 'master', bridge);
    return r;
  }

  /** The neutrino server's output so far (debug: every RPC it failed to answer is there). */
  serverLog(): string {
    return this.server?.output() ?? '';
  }

  /** iptables-save of host i (Neutron's firewall lives there). */
  async iptables(i: 0 | 1): Promise<string> {
    return (await run('ip', ['netns', 'exec', this.ns[i], 'iptables-save'], { env: { ...process.env, PATH } })).stdout;
  }

  /** The agents' logs (their non-DEBUG lines, and the last lines whatever they are) and the server's output. */
  dump(): string {
    const parts: string[] = [];
    for (const a of this.agents) {
      const text = existsSync(a.log) ? readFileSync(a.log, 'utf8') : '';
      const lines = text.split('\n');
      const notDebug = lines.filter((l) => /^\d{4}-\d\d-\d\d \S+ \d+ (INFO|WARNING|ERROR|CRITICAL) /.test(l)).slice(-40);
      parts.push(`--- ${a.name} (${a.log}) ---\n${notDebug.join('\n')}\n... last lines:\n${lines.slice(-15).join('\n')}\n${a.out.slice(-2000)}`);
    }
    parts.push(`--- neutrino server ---\n${this.server?.output().slice(-6000) ?? ''}`);
    return parts.join('\n');
  }

  /**
   * Runs argv in the DHCP agent's qdhcp-<network> namespace. The agent runs under `ip netns exec`,
   * which gives it a mount namespace of its own: the namespaces it makes are mounted there only,
   * so they are entered through its mount namespace.
   */
  async inDhcpNamespace(networkId: string, argv: string[]): Promise<string> {
    const dhcp = this.agents.find((a) => a.name.startsWith('dhcp@'))!;
    const r = await run('nsenter', ['-t', String(dhcp.proc.pid), '-m', '--', 'ip', 'netns', 'exec', `qdhcp-${networkId}`, ...argv], {
      env: { ...process.env, PATH },
    });
    return r.stdout;
  }

  /** The pid of the DHCP agent's dnsmasq for the network (its pid file), when it runs. */
  dnsmasqPid(networkId: string): number | null {
    try {
      const pid = Number(readFileSync(join(this.dir, 'host0', 'dhcp', networkId, 'pid'), 'utf8').trim());
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('dnsmasq') ? pid : null;
    } catch {
      return null;
    }
  }

  /** Stops the agents and what they left (privsep daemons, dnsmasq, qdhcp- namespaces), the server, the vhost. */
  async stop(): Promise<void> {
    const hold = Number(process.env.NEUTRINO_MIXED_HOLD ?? 0);
    if (hold > 0) {
      process.stderr.write(`# holding the mixed-agents setup for ${hold}s (${this.dir}, namespaces ${this.ns.join(', ')})\n`);
      await new Promise((r) => setTimeout(r, hold * 1000));
    }
    for (const a of [...this.agents].reverse()) {
      if (a.proc.exitCode === null && a.proc.signalCode === null) {
        a.proc.kill('SIGTERM');
        await Promise.race([new Promise((r) => a.proc.once('exit', r)), new Promise((r) => setTimeout(r, 10_000))]);
        if (a.proc.exitCode === null && a.proc.signalCode === null) a.proc.kill('SIGKILL');
      }
    }
    // What outlives the agents (privsep daemons, dnsmasq) names the run's directory on its command line.
    killNamingDir(this.dir);
    for (const n of this.ns) await killNetnsProcesses(n);
    for (const id of this.networks) await run('ip', ['netns', 'delete', `qdhcp-${id}`], { env: { ...process.env, PATH } }).catch(() => {});
    for (const id of this.routers) await run('ip', ['netns', 'delete', `qrouter-${id}`], { env: { ...process.env, PATH } }).catch(() => {});
    await this.nova.stop();
    for (const s of this.socats) s.kill('SIGKILL');
    await this.server?.kill();
    await new Promise<void>((r) => (this.sock ? this.sock.close(() => r()) : r()));
    await this.nss.deleteAll();
    await run('rabbitmqctl', ['-q', 'delete_vhost', this.vhost]).catch(() => {});
    if (!process.env.NEUTRINO_KEEP_MIXED) rmSync(this.dir, { recursive: true, force: true });
  }
}

async function ip(...args: string[]): Promise<void> {
  await run('ip', args, { env: { ...process.env, PATH } });
}

/** SIGKILLs every process whose command line names `dir`. */
function killNamingDir(dir: string): void {
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    if (Number(pid) === process.pid) continue;
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (!cmd.includes(dir)) continue;
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

/** SIGKILLs every process in a namespace (the privsep daemons and dnsmasq outlive their agents). */
async function killNetnsProcesses(ns: string): Promise<void> {
  const r = await run('ip', ['netns', 'pids', ns], { env: { ...process.env, PATH } }).catch(() => ({ stdout: '' }));
  for (const pid of r.stdout.split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

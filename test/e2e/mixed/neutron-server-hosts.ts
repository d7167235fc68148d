// The mixed-deployment fixture the other way round from mixedagents: Neutron's own server
// (Debian's neutron-server: ML2 with the linuxbridge and l2population mechanism drivers, VXLAN
// tenant networks, a flat physical network `extnet`, the router service plugin, noauth) drives
// neutrino's agents over RabbitMQ. Two simulated hosts, each a network namespace, joined by an
// underlay veth; each runs `bin/neutrino agent linuxbridge` as its own process (nftables security
// groups), host A also `bin/neutrino agent dhcp` and `bin/neutrino agent l3` (with a metadata
// proxy per router), in the root namespace driving its host's namespace (--netns), as
// test/e2e/two-hosts.ts runs them, and `bin/neutrino agent metadata`, which the routers' proxies
// reach on a Unix socket and which asks a fake Nova (FakeNova). Host A's L2 agent maps extnet to
// `ext0`, whose peer is eth0 of an "outside" namespace (`outsideNs`). The broker is a vhost made
// for the run and deleted at the end.
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { deleteNetns, IpBatch, stopDnsmasq, strayProcesses, terminate } from '../../../src/dataplane/index.js';
import { namespaceOf } from '../../../src/agents/dhcp/render.js';
import { routerNamespace } from '../../../src/agents/l3/model.js';
import type { PlugResult } from '../../../src/cli/vif-plug.js';
import { Namespaces, suffix } from '../../dataplane/root-helpers.js';
import { startNeutronServer, type NeutronServer } from '../../helpers/neutron-server.js';
import { RABBIT_URL } from '../../rpc/rabbit.js';
import { waitThroughErrors } from '../../helpers/wait.js';
import { agentProc, plugVm, type Proc } from '../two-hosts.js';
import { FakeNova } from './fake-nova.js';

const run = promisify(execFile);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** The project the test's resources belong to (noauth: X-Project-Id). */
export const PROJECT = '5a1c0de5e77e4d0a9f3b2c1d0e9f8a7b';
/** The secret the metadata agent signs instance ids with, for FakeNova to check. */
const METADATA_SECRET = 'mixed-server-metadata-secret';

export class NeutronServerHosts {
  readonly s = suffix();
  readonly nss = new Namespaces();
  /** Host namespaces and the agents' host names. */
  readonly ns: [string, string];
  readonly host: [string, string];
  readonly underlay = ['172.31.251.1', '172.31.251.2'] as const;
  readonly dir: string;
  readonly vhost: string;
  neutron: NeutronServer | null = null;
  private readonly l2: Array<Proc | null> = [null, null];
  private dhcp: Proc | null = null;
  private l3: Proc | null = null;
  private metadata: Proc | null = null;
  readonly nova = new FakeNova(METADATA_SECRET);
  /** The outside host on extnet (its eth0 is the peer of host A's ext0). */
  readonly outsideNs: string;
  /** Routers whose namespaces (and their haproxy) stop() removes. */
  readonly routerIds = new Set<string>();

  constructor() {
    this.ns = [`ms${this.s}ha`, `ms${this.s}hb`];
    this.outsideNs = `ms${this.s}ho`;
    this.host = [`mixed-${this.s}-a`, `mixed-${this.s}-b`];
    this.vhost = `neutrino-mixedserver-${this.s}`;
    this.dir = mkdtempSync(join(tmpdir(), 'neutrino-mixedserver-'));
    chmodSync(this.dir, 0o755); // dnsmasq reads its files as 'nobody'
  }

  get url(): string {
    return this.neutron?.url ?? '';
  }

  private get transportUrl(): string {
    return `${RABBIT_URL.replace(/\/+$/, '')}/${this.vhost}`;
  }

  get dhcpDir(): string {
    return join(this.dir, 'dhcp-state', 'dhcp');
  }

  async start(): Promise<void> {
    for (const n of this.ns) await this.nss.add(n);
    await new IpBatch()
      .addVeth('ul0', 'ul0', { peerNetns: this.ns[1] })
      .addAddr('ul0', `${this.underlay[0]}/24`)
      .setUp('ul0', true)
      .apply({ netns: this.ns[0] });
    await new IpBatch().addAddr('ul0', `${this.underlay[1]}/24`).setUp('ul0', true).apply({ netns: this.ns[1] });
    await this.nss.add(this.outsideNs);
    await new IpBatch().addVeth('ext0', 'eth0', { peerNetns: this.outsideNs }).setUp('ext0', true).apply({ netns: this.ns[0] });
    await new IpBatch().setUp('eth0', true).setUp('lo', true).apply({ netns: this.outsideNs });
    await this.nova.start();
    await run('rabbitmqctl', ['add_vhost', this.vhost]);
    await run('rabbitmqctl', ['set_permissions', '-p', this.vhost, 'guest', '.*', '.*', '.*']);
    this.neutron = await startNeutronServer({
      dir: join(this.dir, 'neutron'),
      database: `neutron_mixed_${this.s}_${process.pid}`,
      transportUrl: this.transportUrl,
      ini: {
        DEFAULT: { service_plugins: 'router', agent_down_time: '20', dhcp_agents_per_network: '1' },
        ml2: {
          type_drivers: 'flat,vlan,vxlan',
          tenant_network_types: 'vxlan',
          mechanism_drivers: 'linuxbridge,l2population',
          extension_drivers: 'port_security',
        },
        ml2_type_vxlan: { vni_ranges: '7100:7199' },
        ml2_type_flat: { flat_networks: 'extnet' },
        securitygroup: { enable_security_group: 'true' },
        // Zed's linuxbridge mechanism driver is experimental: it refuses to load without this.
        experimental: { linuxbridge: 'true' },
      },
    });
    writeFileSync(
      join(this.dir, 'common.conf'),
      `[DEFAULT]\ntransport_url = ${this.transportUrl}\n[agent]\nreport_interval = 2\npolling_interval = 2\n`,
    );
    for (const i of [0, 1]) {
      writeFileSync(
        join(this.dir, `lb${i}.ini`),
        [
          '[DEFAULT]',
          `host = ${this.host[i]}`,
          ...(i === 0 ? ['[linux_bridge]', 'physical_interface_mappings = extnet:ext0'] : []),
          '[vxlan]',
          'enable_vxlan = true',
          `local_ip = ${this.underlay[i]}`,
          'l2_population = true',
          '[securitygroup]',
          'firewall_driver = nftables',
          '',
        ].join('\n'),
      );
    }
    writeFileSync(
      join(this.dir, 'dhcp.ini'),
      ['[DEFAULT]', `host = ${this.host[0]}`, `state_path = ${join(this.dir, 'dhcp-state')}`, 'resync_interval = 1', ''].join('\n'),
    );
    const socket = join(this.dir, 'metadata_proxy');
    writeFileSync(
      join(this.dir, 'l3.ini'),
      [
        '[DEFAULT]',
        `host = ${this.host[0]}`,
        `state_path = ${join(this.dir, 'l3-state')}`,
        'enable_metadata_proxy = true',
        `metadata_proxy_socket = ${socket}`,
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(this.dir, 'metadata.ini'),
      [
        '[DEFAULT]',
        `host = ${this.host[0]}`,
        `metadata_proxy_socket = ${socket}`,
        'nova_metadata_host = 127.0.0.1',
        `nova_metadata_port = ${this.nova.port}`,
        `metadata_proxy_shared_secret = ${METADATA_SECRET}`,
        'metadata_workers = 1',
        '',
      ].join('\n'),
    );
    const common = join(this.dir, 'common.conf');
    for (const i of [0, 1] as const) {
      const p = agentProc(`neutrino-l2-${'ab'[i]}`, 'linuxbridge', [common, join(this.dir, `lb${i}.ini`)], this.ns[i]);
      this.l2[i] = p;
      await p.logLine(/first full pass done/, 60_000);
    }
    this.dhcp = agentProc('neutrino-dhcp', 'dhcp', [common, join(this.dir, 'dhcp.ini')], this.ns[0]);
    this.l3 = agentProc('neutrino-l3', 'l3', [common, join(this.dir, 'l3.ini')], this.ns[0]);
    this.metadata = agentProc('neutrino-metadata', 'metadata', [common, join(this.dir, 'metadata.ini')]);
    await this.dhcp.logLine(/DHCP agent started/, 60_000);
    await this.l3.logLine(/L3 agent started/, 60_000);
    await this.metadata.logLine(/metadata agent listening/, 60_000);
  }

  /** neutron-server's API, as an admin of PROJECT (noauth reads the identity from these headers). */
  async api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const r = await fetch(`${this.url}/v2.0${path}`, {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: { 'content-type': 'application/json', 'x-project-id': PROJECT, 'x-roles': 'admin,member', 'x-user-id': 'mixed' },
    });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : null };
  }

  /** Plugs the port into a new VM namespace on host i, as Nova's os-vif would (vif-plug.ts, through neutron-server's API). */
  async plug(portId: string, vmNs: string, i: 0 | 1): Promise<PlugResult> {
    return plugVm(this.nss, { portId, vmNs, host: this.host[i], hostNetns: this.ns[i], endpoint: this.url });
  }

  /** Waits until neutron-server's GET /v2.0/agents shows the agent alive on each host. */
  async agentsAlive(type: string, hosts: readonly string[], timeoutMs = 60_000): Promise<any[]> {
    return waitThroughErrors(
      `${type} alive on ${hosts.join(', ')} in neutron-server`,
      async () => {
        const r = await this.api('GET', `/agents?agent_type=${encodeURIComponent(type)}`);
        const found = hosts.map((h) => r.body.agents.find((a: any) => a.host === h && a.alive));
        return found.every(Boolean) ? found : null;
      },
      timeoutMs,
      200,
    );
  }

  /** neutron-server's log and the agents' output, for failure messages. */
  dump(): string {
    return [
      ...[...this.l2, this.dhcp, this.l3, this.metadata].map((p) => (p ? `--- ${p.name} ---\n${p.out.slice(-4000)}` : '')),
      this.neutron?.log(15_000) ?? '(neutron-server not started)',
    ].join('\n');
  }

  async stop(): Promise<void> {
    // A copy of neutron-server's log for a look after the run (the run's directory goes).
    if (process.env.NEUTRINO_KEEP_NEUTRON_LOG && this.neutron) writeFileSync(process.env.NEUTRINO_KEEP_NEUTRON_LOG, this.neutron.log(10_000_000));
    await this.metadata?.stop();
    await this.l3?.stop();
    await this.dhcp?.stop();
    for (const p of this.l2) await p?.stop();
    await this.nova.stop();
    for (const id of this.routerIds) {
      // The router's haproxy (and an arping) run in its namespace.
      const pids = await run('ip', ['netns', 'pids', routerNamespace(id)]).catch(() => ({ stdout: '' }));
      await terminate(pids.stdout.split(/\s+/).filter(Boolean).map(Number), 3000);
      await deleteNetns(routerNamespace(id)).catch(() => {});
    }
    await this.neutron?.stop().catch(() => {});
    if (existsSync(this.dhcpDir)) {
      for (const id of readdirSync(this.dhcpDir).filter((d) => UUID.test(d))) {
        await stopDnsmasq(this.dhcpDir, id).catch(() => {});
        await deleteNetns(namespaceOf(id)).catch(() => {});
      }
    }
    // Whatever still runs with this run's files (the agents leave their daemons for the next start).
    await terminate(
      await strayProcesses((argv) => argv.some((a) => a.startsWith(`${this.dir}/`)) && !argv.some((a) => a.endsWith('bin/neutrino')), process.pid),
      3000,
    );
    await this.nss.deleteAll();
    await run('rabbitmqctl', ['delete_vhost', this.vhost]).catch(() => {});
    rmSync(this.dir, { recursive: true, force: true });
  }
}

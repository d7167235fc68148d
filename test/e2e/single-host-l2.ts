// One simulated compute host for root end-to-end tests of the Linux-bridge agent's firewall: the
// API server and one L2 agent (nftables firewall) in this process on the in-memory bus, the agent
// managing a "host" namespace with a VXLAN underlay address, and VMs as namespaces plugged with
// `vif plug` (static addresses from their fixed IPs).
import assert from 'node:assert/strict';
import type { ConfigOverrides } from '../../src/config/index.js';
import { IpBatch, runInNetns } from '../../src/dataplane/index.js';
import { MemoryBroker, MemoryBus, silentLogger, type RpcBus } from '../../src/rpc/index.js';
import { LinuxBridgeAgent, type LinuxBridgeAgentOptions } from '../../src/agents/linuxbridge/agent.js';
import { plug } from '../../src/cli/vif-plug.js';
import { BACKENDS } from '../helpers/backends.js';
import { ADMIN, startServer, type TestServer } from '../helpers/server.js';
import { Namespaces, suffix } from '../dataplane/root-helpers.js';
import { waitFor } from '../helpers/wait.js';

export interface SingleHostOptions {
  /** Two letters in the namespace names (`nt<suffix><tag>h`, `…v1`, …) and the host's name. */
  tag: string;
  /** The host's VXLAN underlay address (a /24 on a veth: some kernels lack the dummy module). */
  underlay: string;
  vms: number;
  /** Configuration of the server besides ML2 linuxbridge + l2population. */
  server?: ConfigOverrides;
  /** Agent options besides the fixture's (e.g. networkLog). */
  agent?: Partial<LinuxBridgeAgentOptions>;
}

export class SingleHostL2 {
  readonly s = suffix();
  readonly hostNs: string;
  readonly host: string;
  readonly vms: string[];
  srv!: TestServer;
  agent: LinuxBridgeAgent | undefined;
  private readonly nss = new Namespaces();
  private serverBus: RpcBus | undefined;
  private agentBus: RpcBus | undefined;

  constructor(private readonly o: SingleHostOptions) {
    this.hostNs = `nt${this.s}${o.tag}h`;
    this.host = `${o.tag}-e2e-${this.s}`;
    this.vms = Array.from({ length: o.vms }, (_, i) => `nt${this.s}${o.tag}v${i + 1}`);
  }

  async start(): Promise<void> {
    const broker = new MemoryBroker();
    this.serverBus = new MemoryBus({ broker, logger: silentLogger });
    this.agentBus = new MemoryBus({ broker, logger: silentLogger });
    for (const n of [this.hostNs, ...this.vms]) await this.nss.add(n);
    await runInNetns(this.hostNs, { argv: ['ip', 'link', 'add', 'ul0', 'type', 'veth', 'peer', 'name', 'ul0p'] });
    await new IpBatch().addAddr('ul0', `${this.o.underlay}/24`).setUp('ul0', true).apply({ netns: this.hostNs });
    const server = this.o.server ?? {};
    this.srv = await startServer(
      BACKENDS.find((b) => b.name === 'sqlite')!,
      { ...server, ml2: { mechanism_drivers: 'linuxbridge,l2population', ...(server.ml2 ?? {}) } },
      { bus: this.serverBus },
    );
    this.agent = new LinuxBridgeAgent({
      bus: this.agentBus,
      host: this.host,
      netns: this.hostNs,
      localIp: this.o.underlay,
      enableVxlan: true,
      l2Population: true,
      arpResponder: false,
      interfaceMappings: {},
      bridgeMappings: {},
      reportInterval: 1,
      pollingInterval: 2,
      firewall: 'nftables',
      logger: silentLogger,
      ...this.o.agent,
    });
    await this.agent.start();
    await waitFor('agent alive', async () =>
      (await this.api('GET', '/v2.0/agents?agent_type=Linux+bridge+agent')).agents.some((a: any) => a.host === this.host && a.alive),
    );
  }

  async stop(): Promise<void> {
    await this.agent?.stop().catch(() => {});
    await this.nss.deleteAll();
    await this.srv?.stop();
    await this.agentBus?.close();
    await this.serverBus?.close();
  }

  /** A request as the admin that must answer `expect`; its body. */
  async api(method: string, path: string, body?: unknown, expect = 200): Promise<any> {
    const r = await this.srv.req(method, path, body, ADMIN);
    assert.equal(r.status, expect, `${method} ${path}: ${JSON.stringify(r.body)}`);
    return r.body;
  }

  /** Whether `count` pings from VM `vm` (0-based) to `ip` get an answer. */
  async ping(vm: number, ip: string, count = 2): Promise<boolean> {
    const r = await runInNetns(this.vms[vm]!, {
      argv: ['busybox', 'ping', '-c', String(count), '-i', '0.2', '-W', '1', '-w', String(count + 1), ip],
      okCodes: [0, 1],
      timeoutMs: 20_000,
    });
    return r.code === 0;
  }

  /** Until the agent has handled what the server sent: a pass with no new firewall transaction. */
  async quiet(): Promise<void> {
    await this.srv.server.settled();
    for (let last = -1; ; ) {
      await new Promise((r) => setTimeout(r, 100));
      this.agent!.schedule('quick');
      await this.agent!.idle();
      const now = this.agent!.firewall!.counts.transactions;
      if (now === last) return;
      last = now;
    }
  }

  /** One port per security group on the network, the i-th plugged into VM i; once all are ACTIVE. */
  async plugVms(networkId: string, groups: Array<{ id: string }>): Promise<any[]> {
    const ports: any[] = [];
    for (const [i, g] of groups.entries()) {
      const p = (
        await this.api(
          'POST',
          '/v2.0/ports',
          { port: { network_id: networkId, name: `vm${i + 1}`, device_owner: 'compute:nova', security_groups: [g.id] } },
          201,
        )
      ).port;
      ports.push(p);
      await plug({
        action: 'plug',
        portId: p.id,
        netns: this.vms[i],
        host: this.host,
        hostNetns: this.hostNs,
        ifname: 'eth0',
        static: true,
        unbind: false,
        endpoint: this.srv.url,
      } as Parameters<typeof plug>[0]);
    }
    for (const p of ports) await waitFor(`${p.name} ACTIVE`, async () => (await this.api('GET', `/v2.0/ports/${p.id}`)).port.status === 'ACTIVE');
    return ports;
  }
}

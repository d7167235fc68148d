// The start-up the broker fault tests share: `neutrino server` as a child process and the real
// DHCP agent in this process (dnsmasq in its qdhcp- namespaces), both on a given RabbitMQ URL, a
// network with a subnet the agent serves; cleanup() takes down whatever got started.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createBus, silentLogger, type RpcBus } from '../../src/rpc/index.js';
import { DhcpAgent, type DhcpAgentOptions } from '../../src/agents/dhcp/agent.js';
import { dnsmasqPaths } from '../../src/dataplane/index.js';
import { adminReq, spawnServer, type Ini, type ServerProcess } from '../helpers/process-server.js';
import { waitFor } from '../helpers/wait.js';
import { removeDhcpNetwork } from '../helpers/agents.js';

export interface DhcpRigOptions {
  /** Where the server's and the agent's state go (mode 0755: dnsmasq reads it as 'nobody'). */
  dir: string;
  serverUrl: string;
  /** The agent's transport_url (default: the server's). */
  agentUrl?: string;
  host: string;
  /** `rabbitmqctl list_queues name consumers` on the broker's vhost, tab-separated. */
  listQueues(): Promise<string>;
  agent?: Partial<DhcpAgentOptions>;
  /** More of the server's configuration. */
  ini?: Ini;
}

export class DhcpRig {
  s!: ServerProcess;
  agentBus!: RpcBus;
  agent!: DhcpAgent;
  private readonly networks: string[] = [];
  /** When the agent's bus last came back after a loss (epoch ms; 0: never). */
  agentReconnectedAt = 0;

  constructor(private readonly o: DhcpRigOptions) {}

  /** Server up and consuming, agent up and seen alive by the server. */
  async start(): Promise<this> {
    const o = this.o;
    this.s = await spawnServer(o.dir, {
      ...o.ini,
      DEFAULT: { transport_url: o.serverUrl, ...o.ini?.DEFAULT },
      quotas: { quota_port: '-1', ...o.ini?.quotas },
    });
    // The server serves its RPC topics in the background: the agent's first call needs them.
    await this.serverConsuming();
    // Reconnection attempts at most 1 s apart, so the time to converge is not the backoff's.
    this.agentBus = createBus(o.agentUrl ?? o.serverUrl, {
      logger: silentLogger,
      connectionName: `neutrino-${o.host}`,
      reconnect: { initialDelayMs: 100, maxDelayMs: 1000 },
    });
    this.agentBus.onReconnect?.(() => (this.agentReconnectedAt = Date.now()));
    this.agent = new DhcpAgent({
      bus: this.agentBus,
      host: o.host,
      statePath: join(o.dir, 'agent'),
      reportInterval: 1,
      resyncInterval: 1,
      ...o.agent,
    });
    await this.agent.start();
    await waitFor(
      'the agent to be alive',
      async () => (await adminReq(this.s.url, 'GET', `/v2.0/agents?host=${o.host}`)).body.agents?.[0]?.alive === true,
    );
    return this;
  }

  /** Resolves once the server consumes q-plugin (again, after a broker restart). */
  async serverConsuming(): Promise<void> {
    await waitFor('the server to consume q-plugin', async () => (await this.o.listQueues()).includes('q-plugin\t1'), 60_000, 200);
  }

  /** A network with one IPv4 subnet; torn down by cleanup(). */
  async network(name: string, cidr: string): Promise<string> {
    const id = (await adminReq(this.s.url, 'POST', '/v2.0/networks', { network: { name } })).body.network.id as string;
    this.networks.push(id);
    const sub = await adminReq(this.s.url, 'POST', '/v2.0/subnets', { subnet: { network_id: id, ip_version: 4, cidr } });
    assert.equal(sub.status, 201, JSON.stringify(sub.body));
    return id;
  }

  /** The network's dnsmasq hosts file, lower case ('' while there is none). */
  async hosts(netId: string): Promise<string> {
    return (await readFile(dnsmasqPaths(this.agent.dhcpDir, netId).hosts, 'utf8').catch(() => '')).toLowerCase();
  }

  async cleanup(): Promise<void> {
    await this.agent?.stop().catch(() => {});
    for (const id of this.networks) {
      await removeDhcpNetwork(join(this.o.dir, 'agent', 'dhcp'), id);
    }
    await this.agentBus?.close();
    await this.s?.kill();
  }
}

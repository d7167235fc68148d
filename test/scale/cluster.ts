// What the scale-out tests share: a RabbitMQ vhost of the run's own on the shared broker, and a
// DHCP agent's RPC side on it (heartbeats by call, so some server must answer; a consumer of
// dhcp_agent.<host> that counts each port_create_end) — without dnsmasq: what these tests check
// is who answers and how often the agent is told, not the dataplane.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { createBus, silentLogger, type RpcBus, type RpcHandlers } from '../../src/rpc/index.js';
import { StateReporter } from '../../src/agents/state-reporter.js';
import { AGENT_TYPE_DHCP, DHCP_AGENT_EVENTS, DHCP_AGENT_TOPIC } from '../../src/core/wire.js';
import { RABBIT_URL } from '../rpc/rabbit.js';
import { adminReq } from '../helpers/process-server.js';
import { waitFor } from '../helpers/wait.js';

const run = promisify(execFile);

export class RunVhost {
  readonly name = `neutrino_scale_${randomBytes(4).toString('hex')}`;

  async create(): Promise<this> {
    await run('rabbitmqctl', ['-q', 'add_vhost', this.name]);
    await run('rabbitmqctl', ['-q', 'set_permissions', '-p', this.name, 'guest', '.*', '.*', '.*']);
    return this;
  }

  get url(): string {
    return `${RABBIT_URL.replace(/\/[^/]*$/, '')}/${this.name}`;
  }

  /** Consumers of a queue, as the broker counts them. */
  async consumers(queue: string): Promise<number> {
    const { stdout } = await run('rabbitmqctl', ['-q', 'list_queues', '-p', this.name, 'name', 'consumers']);
    const line = stdout.split('\n').find((l) => l.split('\t')[0] === queue);
    return line ? Number(line.split('\t')[1]) : 0;
  }

  async destroy(): Promise<void> {
    await run('rabbitmqctl', ['-q', 'delete_vhost', this.name]).catch(() => {});
  }
}

export class FakeDhcpAgent {
  /** port id -> how many port_create_end casts named it. */
  readonly created = new Map<string, number>();
  private bus: RpcBus | null = null;
  private reporter: StateReporter | null = null;

  constructor(
    readonly url: string,
    readonly host = `scale-dhcp-${randomBytes(3).toString('hex')}`,
  ) {}

  async start(serverUrl: string): Promise<this> {
    this.bus = createBus(this.url, {
      logger: silentLogger,
      connectionName: `neutrino-${this.host}`,
      reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
    });
    const handlers: RpcHandlers = {};
    for (const m of DHCP_AGENT_EVENTS) handlers[m] = () => undefined;
    handlers.port_create_end = (_ctx, args: { payload: { port: { id: string } } }) => {
      const id = args.payload.port.id;
      this.created.set(id, (this.created.get(id) ?? 0) + 1);
    };
    await this.bus.serve(DHCP_AGENT_TOPIC, this.host, handlers);
    this.reporter = new StateReporter({
      bus: this.bus,
      agentType: AGENT_TYPE_DHCP,
      binary: 'neutron-dhcp-agent',
      host: this.host,
      topic: DHCP_AGENT_TOPIC,
      configurations: {},
      reportInterval: 1,
      useCall: true,
    });
    this.reporter.start();
    await waitFor(
      'the DHCP agent to be alive',
      async () => (await adminReq(serverUrl, 'GET', `/v2.0/agents?host=${this.host}`)).body.agents?.[0]?.alive === true,
      60_000,
      200,
    );
    return this;
  }

  /** Its heartbeat as a server reads it from the database. */
  async heartbeat(serverUrl: string): Promise<string | null> {
    return (await adminReq(serverUrl, 'GET', `/v2.0/agents?host=${this.host}`)).body.agents?.[0]?.heartbeat_timestamp ?? null;
  }

  async stop(): Promise<void> {
    await this.reporter?.stop();
    await this.bus?.close();
  }
}

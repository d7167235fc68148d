// A RabbitMQ node of the test's own (Debian's rabbitmq-server), so a test can really stop and
// start a broker — non-durable queues and their messages gone, every client reconnecting and
// redeclaring — without touching the shared broker on 5672 that other tests use.
//
// The node gets its own name, ports, mnesia/log directories, an empty plugin list and its own
// HOME (hence its own Erlang cookie); the Debian wrapper in /usr/sbin would `su rabbitmq`, so the
// scripts in /usr/lib/rabbitmq/bin are run directly. stop()/start() keep the mnesia directory
// (users, vhosts, durable definitions survive, as on a real restart); destroy() removes it all.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sleep } from './wait.js';
import { freePort } from './process-server.js';

const run = promisify(execFile);
const BIN = '/usr/lib/rabbitmq/bin';

/** null when a private node can be started here, else why not (rabbitmq-server not installed). */
export function privateRabbitUnavailable(): string | null {
  return existsSync(join(BIN, 'rabbitmq-server')) && existsSync(join(BIN, 'rabbitmqctl'))
    ? null
    : `rabbitmq-server is not installed (${BIN}/rabbitmq-server missing; apt-get install rabbitmq-server)`;
}

export class PrivateRabbit {
  readonly node = `neutrino-fault-${randomBytes(4).toString('hex')}@localhost`;
  private dir = '';
  private env: NodeJS.ProcessEnv = {};
  port = 0;

  /** transport_url for this node's default vhost, as guest (allowed from loopback). */
  get url(): string {
    return `rabbit://guest:guest@127.0.0.1:${this.port}/`;
  }

  /** Creates the node's directories and starts it. */
  async create(): Promise<this> {
    this.dir = await mkdtemp(join(tmpdir(), 'neutrino-rabbit-'));
    this.port = await freePort();
    const dist = await freePort();
    await writeFile(join(this.dir, 'enabled_plugins'), '[].\n');
    this.env = {
      ...process.env,
      HOME: this.dir,
      RABBITMQ_NODENAME: this.node,
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_NODE_PORT: String(this.port),
      RABBITMQ_DIST_PORT: String(dist),
      RABBITMQ_MNESIA_BASE: join(this.dir, 'mnesia'),
      RABBITMQ_LOG_BASE: join(this.dir, 'log'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(this.dir, 'enabled_plugins'),
      RABBITMQ_PID_FILE: join(this.dir, 'node.pid'),
      // Not the machine's /etc/rabbitmq/rabbitmq.conf (that one configures the shared broker).
      RABBITMQ_CONFIG_FILE: join(this.dir, 'rabbitmq'),
    };
    await this.start();
    return this;
  }

  /** Starts the node (again, on the same mnesia directory) and waits until it accepts clients. */
  async start(): Promise<void> {
    await run(join(BIN, 'rabbitmq-server'), ['-detached'], { env: this.env });
    // await_startup fails at once while the VM has not yet registered with epmd: ask again.
    const deadline = Date.now() + 120_000;
    for (;;) {
      try {
        await this.ctl('await_startup', '--timeout', '120');
        return;
      } catch (err) {
        if (Date.now() > deadline)
          throw new Error(`private RabbitMQ node ${this.node} did not start (logs in ${this.dir}/log): ${(err as Error).message}`);
        await sleep(500);
      }
    }
  }

  /** Really stops the node (the Erlang VM exits): what was not durable is gone. */
  async stop(): Promise<void> {
    // With the pid file, rabbitmqctl returns only once the VM has exited.
    await this.ctl('stop', join(this.dir, 'node.pid'));
  }

  async ctl(...args: string[]): Promise<string> {
    return (await run(join(BIN, 'rabbitmqctl'), ['-q', '-n', this.node, ...args], { env: this.env, timeout: 150_000 })).stdout;
  }

  /** Stops the node if it runs and removes its directories. */
  async destroy(): Promise<void> {
    if (!this.dir) return;
    await this.ctl('stop').catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
    this.dir = '';
  }
}

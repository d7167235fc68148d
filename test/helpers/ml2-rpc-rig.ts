// Common ground of the ML2 RPC tests: a server on the in-memory bus with Linux-bridge agents
// registered on host-a and host-b, an agent-side bus recording what host-b hears (l2population
// fanouts, port_update, port_delete), and a network with one IPv4 subnet.
import assert from 'node:assert/strict';
import { MemoryBroker, MemoryBus, silentLogger, type RpcBus } from '../../src/rpc/index.js';
import { registerLinuxBridgeAgent } from './agents.js';
import type { Backend } from './backends.js';
import { ADMIN, startServer, type TestServer } from './server.js';

export interface Heard {
  topic: 'l2pop' | 'port';
  method: string;
  args: any;
}

export class Ml2RpcRig {
  /** What host-b's agent heard, in order (tests empty it with `got.length = 0`). */
  readonly got: Heard[] = [];
  netId = '';
  subnetId = '';

  private constructor(
    readonly s: TestServer,
    readonly agentBus: RpcBus,
    private readonly serverBus: RpcBus,
  ) {}

  static async start(backend: Backend): Promise<Ml2RpcRig> {
    const broker = new MemoryBroker();
    const serverBus = new MemoryBus({ broker, logger: silentLogger });
    const agentBus = new MemoryBus({ broker, logger: silentLogger });
    const rig = new Ml2RpcRig(await startServer(backend, {}, { bus: serverBus }), agentBus, serverBus);
    await registerLinuxBridgeAgent(rig.s.server.db, 'host-a', '172.31.250.1');
    await registerLinuxBridgeAgent(rig.s.server.db, 'host-b', '172.31.250.2');
    const heard = (topic: Heard['topic'], method: string) => (_ctx: unknown, args: unknown) => {
      rig.got.push({ topic, method, args });
    };
    await agentBus.serve('q-agent-notifier-l2population-update', 'host-b', {
      add_fdb_entries: heard('l2pop', 'add'),
      remove_fdb_entries: heard('l2pop', 'remove'),
      update_fdb_entries: heard('l2pop', 'update'),
    });
    await agentBus.serve('q-agent-notifier-port-update', 'host-b', { port_update: heard('port', 'update') });
    await agentBus.serve('q-agent-notifier-port-delete', 'host-b', { port_delete: heard('port', 'delete') });
    const n = await rig.s.req('POST', '/v2.0/networks', { network: { name: 'n1' } }, ADMIN);
    rig.netId = n.body.network.id;
    const sn = await rig.s.req('POST', '/v2.0/subnets', { subnet: { network_id: rig.netId, cidr: '10.9.0.0/24', ip_version: 4 } }, ADMIN);
    rig.subnetId = sn.body.subnet.id;
    return rig;
  }

  /** A compute port on the network, bound to `host`. */
  async newPort(host: string): Promise<any> {
    const r = await this.s.req(
      'POST',
      '/v2.0/ports',
      { port: { network_id: this.netId, 'binding:host_id': host, device_owner: 'compute:nova' } },
      ADMIN,
    );
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.port;
  }

  async status(id: string): Promise<any> {
    return (await this.s.req('GET', `/v2.0/ports/${id}`, undefined, ADMIN)).body.port;
  }

  async stop(): Promise<void> {
    await this.s.stop();
    await this.agentBus.close();
    await this.serverBus.close();
  }
}

// The server's RPC endpoints, gathered per topic before anything is served. Several plugins
// answer on the same topic (Neutron's 'q-plugin' carries the L2 agents' device calls and the
// DHCP agents' calls alike), and the bus round-robins a topic among its servers: two serve()
// calls on one topic would split the calls between two handler maps, each missing the other's
// methods. So every plugin add()s its handlers here and the server serve()s each topic once.
import type { RpcBus, RpcHandlers, RpcServerHandle } from '../rpc/index.js';

export class RpcRegistry {
  private readonly topics = new Map<string, RpcHandlers>();

  /** Adds methods to a topic; a method name given twice on one topic is a programming error. */
  add(topic: string, handlers: RpcHandlers): this {
    const map = this.topics.get(topic) ?? {};
    for (const [name, fn] of Object.entries(handlers)) {
      if (Object.hasOwn(map, name)) throw new Error(`RPC method ${name} registered twice on topic ${topic}`);
      map[name] = fn;
    }
    this.topics.set(topic, map);
    return this;
  }

  /** The merged methods of a topic (a copy). */
  handlers(topic: string): RpcHandlers {
    return { ...(this.topics.get(topic) ?? {}) };
  }

  topicNames(): string[] {
    return [...this.topics.keys()];
  }

  /** One serve() per topic; resolves once every topic is being consumed. */
  async serveAll(bus: RpcBus, host: string): Promise<RpcServerHandle[]> {
    const handles: RpcServerHandle[] = [];
    try {
      for (const [topic, handlers] of this.topics) handles.push(await bus.serve(topic, host, { ...handlers }));
    } catch (err) {
      await Promise.all(handles.map((h) => h.stop().catch(() => {})));
      throw err;
    }
    return handles;
  }
}

// Serving the RPC endpoints without making the API wait for the broker: on RabbitMQ serve()
// waits for a connection, so it runs in the background (on the in-memory bus it is awaited, so
// that in-process agents can call at once). Closing stops what started, even if it starts later.
import type { RpcBus, RpcServerHandle } from '../rpc/index.js';

export interface Serving {
  stop(): Promise<void>;
}

export async function serveInBackground(bus: RpcBus, starters: Array<() => Promise<RpcServerHandle[]>>): Promise<Serving> {
  let closed = false;
  const started = starters.map((start) =>
    start().then(
      async (hs) => {
        if (closed) await Promise.all(hs.map((h) => h.stop()));
        return closed ? [] : hs;
      },
      () => [] as RpcServerHandle[],
    ),
  );
  if (bus.transport === 'memory') await Promise.all(started);
  return {
    async stop() {
      closed = true;
      // Only what has started: a server still waiting for the broker stops itself when it starts.
      const ready = await Promise.all(started.map((p) => Promise.race([p, Promise.resolve([] as RpcServerHandle[])])));
      for (const h of ready.flat()) await h.stop();
    },
  };
}

// How an agent process ends: on SIGINT or SIGTERM, stop the agent (the dataplane stays as it is, for
// the next start to adopt), close its bus, exit 0.
import type { RpcBus } from '../rpc/index.js';

export function exitOnSignals(stop: () => Promise<void>, bus: Pick<RpcBus, 'close'>): void {
  const exit = async () => {
    await stop();
    await bus.close();
    process.exit(0);
  };
  process.once('SIGINT', exit);
  process.once('SIGTERM', exit);
}

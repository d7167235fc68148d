// A burst of port creates on one network from a few concurrent clients, kept up until stopped: the
// load the broker fault tests put on a server. Every 201 is recorded with its MAC, anything else
// as a failure.
import { adminReq } from '../helpers/process-server.js';
import { sleep } from '../helpers/wait.js';

export interface PortBurst {
  /** port id -> MAC of every port the API answered 201 for. */
  readonly committed: Map<string, string>;
  /** "status body" of every answer that was not a 201. */
  readonly failures: string[];
  /** Stops the clients and waits for their last requests. */
  stop(): Promise<void>;
}

export function startPortBurst(serverUrl: string, networkId: string, clients = 4): PortBurst {
  const committed = new Map<string, string>();
  const failures: string[] = [];
  let stopped = false;
  const client = async () => {
    while (!stopped) {
      const r = await adminReq(serverUrl, 'POST', '/v2.0/ports', { port: { network_id: networkId } });
      if (r.status === 201) committed.set(r.body.port.id, r.body.port.mac_address);
      else failures.push(`${r.status} ${JSON.stringify(r.body)}`);
      await sleep(20);
    }
  };
  const running = Promise.all(Array.from({ length: clients }, client));
  return {
    committed,
    failures,
    async stop() {
      stopped = true;
      await running;
    },
  };
}

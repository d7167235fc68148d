// Agents as their state reports would register them, for tests that need a live one.
import type { Db } from '../../src/db/connection.js';
import { createOrUpdateAgent } from '../../src/plugins/agents/report-state.js';
import { AGENT_TYPE_LINUXBRIDGE } from '../../src/core/wire.js';

/** A live Linux-bridge agent on `host` with a VXLAN endpoint at `tunnelingIp`, using l2population. */
export async function registerLinuxBridgeAgent(db: Db, host: string, tunnelingIp: string): Promise<void> {
  await createOrUpdateAgent(
    db,
    {
      agent_type: AGENT_TYPE_LINUXBRIDGE,
      binary: 'neutron-linuxbridge-agent',
      host,
      topic: 'N/A',
      configurations: { tunnel_types: ['vxlan'], tunneling_ip: tunnelingIp, l2_population: true, interface_mappings: {} },
    },
    { agentDownTime: 75 },
  );
}

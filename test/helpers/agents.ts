// Agents as their state reports would register them, for tests that need a live one.
import type { Db } from '../../src/db/connection.js';
import { createOrUpdateAgent } from '../../src/plugins/agents/report-state.js';
import { AGENT_TYPE_LINUXBRIDGE } from '../../src/core/wire.js';
import { deleteLink, deleteNetns, listLinks, stopDnsmasq } from '../../src/dataplane/index.js';
import { bridgeOf, namespaceOf } from '../../src/agents/dhcp/render.js';

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

/**
 * What a DHCP agent leaves of a network after it stops (so that a restart can adopt it): its
 * dnsmasq (state under `dhcpDir`), its qdhcp- namespace and its bridge. Each step best effort.
 */
export async function removeDhcpNetwork(dhcpDir: string, networkId: string): Promise<void> {
  await stopDnsmasq(dhcpDir, networkId).catch(() => {});
  await deleteNetns(namespaceOf(networkId)).catch(() => {});
  if ((await listLinks()).some((l) => l.name === bridgeOf(networkId))) await deleteLink(bridgeOf(networkId)).catch(() => {});
}

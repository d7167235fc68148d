// Names that cross the wire between server and agents, spelled once: RPC topics (oslo.messaging
// target topics Neutron's agents and server use), agent types as agents report them, the device
// owners Neutron gives its own ports, and binding vif types. Server and agents both import these.

// RPC topics.
/** The core plugin's endpoint: L2 and DHCP agents' calls, security group info. */
export const PLUGIN_TOPIC = 'q-plugin';
/** The L3 service plugin's endpoint (sync_routers, floating IP statuses). */
export const L3_PLUGIN_TOPIC = 'q-l3-plugin';
/** Agents' report_state heartbeats. */
export const REPORTS_TOPIC = 'q-reports-plugin';
/** Casts to DHCP agents (server = the agent's host). */
export const DHCP_AGENT_TOPIC = 'dhcp_agent';
/** Casts to L3 agents (server = the agent's host). */
export const L3_AGENT_TOPIC = 'l3_agent';
/** Fanouts to the L2 agents. */
export const PORT_UPDATE_TOPIC = 'q-agent-notifier-port-update';
export const PORT_DELETE_TOPIC = 'q-agent-notifier-port-delete';
export const NETWORK_DELETE_TOPIC = 'q-agent-notifier-network-delete';
export const L2POP_TOPIC = 'q-agent-notifier-l2population-update';
export const SG_UPDATE_TOPIC = 'q-agent-notifier-security_group-update';

// Agent types (the `agent_type` of report_state and of /v2.0/agents).
export const AGENT_TYPE_LINUXBRIDGE = 'Linux bridge agent';
export const AGENT_TYPE_DHCP = 'DHCP agent';
export const AGENT_TYPE_L3 = 'L3 agent';
export const AGENT_TYPE_METADATA = 'Metadata agent';

// Device owners of the ports Neutron makes for itself.
export const DEVICE_OWNER_DHCP = 'network:dhcp';
export const DEVICE_OWNER_ROUTER_INTF = 'network:router_interface';
export const DEVICE_OWNER_ROUTER_GW = 'network:router_gateway';
export const DEVICE_OWNER_FLOATINGIP = 'network:floatingip';
export const DEVICE_OWNER_HA_REPLICATED_INT = 'network:ha_router_replicated_interface';
export const DEVICE_OWNER_DVR_INTERFACE = 'network:router_interface_distributed';
export const DEVICE_OWNER_ROUTER_SNAT = 'network:router_centralized_snat';
export const DEVICE_OWNER_ROUTER_HA_INTF = 'network:router_ha_interface';
/** The DHCP agent's placeholder device id for a port kept when its network left the agent. */
export const DEVICE_ID_RESERVED_DHCP_PORT = 'reserved_dhcp_port';

/** neutron_lib ROUTER_INTERFACE_OWNERS. */
export const ROUTER_INTERFACE_OWNERS: readonly string[] = [DEVICE_OWNER_ROUTER_INTF, DEVICE_OWNER_HA_REPLICATED_INT, DEVICE_OWNER_DVR_INTERFACE];
/** neutron_lib ROUTER_PORT_OWNERS: owners allowed to hold an IPv6 subnet's network address. */
export const ROUTER_PORT_OWNERS: readonly string[] = [...ROUTER_INTERFACE_OWNERS, DEVICE_OWNER_ROUTER_SNAT, DEVICE_OWNER_ROUTER_GW];

/** Ports Neutron owns itself (`network:*`, `neutron:*`): no security groups, never filtered. */
export function isNetworkOwned(deviceOwner: unknown): boolean {
  return typeof deviceOwner === 'string' && (deviceOwner.startsWith('network:') || deviceOwner.startsWith('neutron:'));
}

// Port binding.
export const VIF_TYPE_BRIDGE = 'bridge';
export const VIF_TYPE_UNBOUND = 'unbound';
export const VIF_TYPE_BINDING_FAILED = 'binding_failed';

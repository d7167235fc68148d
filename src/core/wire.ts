// Names that cross the wire between server and agents, spelled once: RPC topics (oslo.messaging
// target topics Neutron's agents and server use), agent types as agents report them, the device
// owners Neutron gives its own ports, the DHCP port device id, IP protocol names of rules, and
// binding vif types. Server and agents both import these.
import { createHash } from 'node:crypto';

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
/** The logging service plugin's endpoint (Neutron's log_const.LOGGING_PLUGIN): the L2 agents' log info calls. */
export const LOGGING_PLUGIN_TOPIC = 'logging-plugin';
/** Fanouts of changed network logs (Neutron's resource push topic of Log objects, version 1.0). */
export const LOG_PUSH_TOPIC = 'neutron-vo-Log-1.0';

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

/** The casts the DHCP agents hear on DHCP_AGENT_TOPIC (Neutron's DhcpAgentNotifyAPI). */
export const DHCP_AGENT_EVENTS = [
  'network_create_end',
  'network_update_end',
  'network_delete_end',
  'subnet_create_end',
  'subnet_update_end',
  'subnet_delete_end',
  'port_create_end',
  'port_update_end',
  'port_delete_end',
] as const;

/** neutron.common.utils.get_dhcp_agent_device_id and what it needs, as server and agent both compute it. */
/** uuid.uuid5(uuid.NAMESPACE_DNS, name), as Python computes it. */
export function uuid5Dns(name: string): string {
  const ns = Buffer.from('6ba7b8109dad11d180b400c04fd430c8', 'hex');
  const h = createHash('sha1').update(ns).update(Buffer.from(name, 'utf8')).digest().subarray(0, 16);
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** neutron.common.utils.get_dhcp_agent_device_id: 'dhcp<uuid5 of the short host name>-<network id>'. */
export function dhcpDeviceId(networkId: string, host: string): string {
  return `dhcp${uuid5Dns(host.split('.')[0]!)}-${networkId}`;
}

// Security group rules.
/** IP protocol names Neutron accepts in rules (neutron_lib IP_PROTOCOL_MAP), with their numbers. */
export const IP_PROTOCOLS: Readonly<Record<string, number>> = {
  ah: 51,
  dccp: 33,
  egp: 8,
  esp: 50,
  gre: 47,
  hopopt: 0,
  icmp: 1,
  igmp: 2,
  ip: 0,
  ipip: 4,
  'ipv6-encap': 41,
  'ipv6-frag': 44,
  'ipv6-icmp': 58,
  icmpv6: 58,
  'ipv6-nonxt': 59,
  'ipv6-opts': 60,
  'ipv6-route': 43,
  ospf: 89,
  pgm: 113,
  rsvp: 46,
  sctp: 132,
  tcp: 6,
  udp: 17,
  udplite: 136,
  vrrp: 112,
};

// Port binding.
export const VIF_TYPE_BRIDGE = 'bridge';
export const VIF_TYPE_UNBOUND = 'unbound';
export const VIF_TYPE_BINDING_FAILED = 'binding_failed';

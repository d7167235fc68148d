// The API version each RPC method is called at, as Neutron's own agents prepare their clients
// (neutron/agent/rpc.py PluginApi, the DHCP agent's DhcpPluginApi, SecurityGroupServerRpcApi,
// PluginReportStateAPI, the L3 agent's L3PluginApi, the metadata agent's MetadataPluginAPI), so that Neutron's server dispatches our calls exactly as theirs: oslo's
// dispatcher serves a call only from an endpoint whose major matches and whose minor is at
// least the one asked for. Namespaces are all None in neutron-lib (no `namespace` key is sent).
// A method not listed (neutrino's own get_fdb_entries) is sent without a version.
const VERSIONS: Readonly<Record<string, string>> = {
  // ML2's RpcCallbacks on q-plugin (PluginApi, target 1.9).
  get_device_details: '1.9',
  get_devices_details_list: '1.9',
  update_device_up: '1.9',
  update_device_down: '1.9',
  update_device_list: '1.9',
  tunnel_sync: '1.4',
  // SecurityGroupServerRpcCallback (SecurityGroupServerRpcApi).
  security_group_info_for_devices: '1.3',
  // DhcpRpcCallback (DhcpPluginApi, target 1.0).
  get_active_networks_info: '1.1',
  get_network_info: '1.0',
  create_dhcp_port: '1.1',
  update_dhcp_port: '1.1',
  release_dhcp_port: '1.0',
  get_dhcp_port: '1.8',
  dhcp_ready_on_ports: '1.5',
  // AgentExtRpcCallback on q-reports-plugin (PluginReportStateAPI, target 1.2).
  report_state: '1.2',
  // L3RpcCallback on q-l3-plugin (the L3 agent's L3PluginApi, target 1.0; sync_routers unprepared).
  sync_routers: '1.0',
  get_router_ids: '1.9',
  update_floatingip_statuses: '1.1',
  get_service_plugin_list: '1.3',
  update_ha_routers_states: '1.5',
  get_host_ha_router_count: '1.11',
  // MetadataRpcCallback on q-plugin (the metadata agent's MetadataPluginAPI, target 1.0).
  get_ports: '1.0',
};

/** The version to send `method` at, or undefined for none. */
export function rpcVersion(method: string): string | undefined {
  return VERSIONS[method];
}

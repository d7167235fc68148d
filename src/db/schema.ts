// Row types of every table, for Kysely's type checking. Booleans are stored as 0/1 integers on
// every backend (better-sqlite3 cannot bind booleans); JSON values as text; times as ISO strings.
import type { Generated } from 'kysely';

type Bool = number;

export interface StandardColumns {
  description: string;
  revision_number: number;
  created_at: string;
  updated_at: string;
}

export interface NetworkTable extends StandardColumns {
  id: string;
  project_id: string;
  name: string;
  status: string;
  admin_state_up: Bool;
  mtu: number;
  router_external: Bool;
  port_security_enabled: Bool;
  availability_zone_hints: string; // JSON list
  /** auto-allocated-topology: the default external network (migration 013). */
  is_default: Bool;
}

export interface SubnetServiceTypeTable {
  subnet_id: string;
  service_type: string;
}

export interface AutoAllocatedTopologyTable {
  project_id: string;
  network_id: string;
  router_id: string | null;
}

export interface NetworkSegmentTable {
  id: string;
  network_id: string;
  network_type: string;
  physical_network: string | null;
  segmentation_id: number | null;
  segment_index: number;
  is_dynamic: Bool;
  name: string | null;
  // Standard attributes (standard-attr-segment, migration 011).
  description: string;
  revision_number: number;
  created_at: string;
  updated_at: string;
}

export interface SegmentAllocationTable {
  network_type: string;
  physical_network: string; // '' where the type has none (vxlan, geneve)
  segmentation_id: number; // 0 for flat
  allocated: Bool;
}

export interface NetworkSegmentRangeTable extends StandardColumns {
  id: string;
  name: string;
  is_default: Bool;
  shared: Bool;
  /** null for shared ranges. */
  project_id: string | null;
  network_type: string;
  /** VLAN ranges only. */
  physical_network: string | null;
  minimum: number;
  maximum: number;
}

export interface RbacTable {
  id: string;
  object_type: string;
  object_id: string;
  project_id: string;
  target_project: string;
  action: string;
}

export interface SubnetTable extends StandardColumns {
  id: string;
  network_id: string;
  project_id: string;
  name: string;
  ip_version: number;
  cidr: string;
  gateway_ip: string | null;
  enable_dhcp: Bool;
  ipv6_ra_mode: string | null;
  ipv6_address_mode: string | null;
  subnetpool_id: string | null;
  segment_id: string | null;
  /** subnet-dns-publish-fixed-ip (migration 027). */
  dns_publish_fixed_ip: Bool;
}

export interface AllocationPoolTable {
  subnet_id: string;
  first_ip: string;
  last_ip: string;
}

export interface DnsNameserverTable {
  subnet_id: string;
  address: string;
  position: number;
}

export interface SubnetRouteTable {
  subnet_id: string;
  destination: string;
  nexthop: string;
}

export interface PortTable extends StandardColumns {
  id: string;
  network_id: string;
  project_id: string;
  name: string;
  mac_address: string;
  admin_state_up: Bool;
  status: string;
  device_id: string;
  device_owner: string;
  port_security_enabled: Bool;
  binding_host_id: string;
  binding_vnic_type: string;
  binding_profile: string; // JSON
  binding_vif_type: string;
  binding_vif_details: string; // JSON
}

/** A port's binding for a host other than its active one (binding-extended); see migration 012. */
export interface PortInactiveBindingTable {
  port_id: string;
  host: string;
  vnic_type: string;
  profile: string; // JSON
  vif_type: string;
  vif_details: string; // JSON
}

export interface IpAllocationTable {
  port_id: string;
  ip_address: string;
  subnet_id: string;
  network_id: string;
}

export interface AllowedAddressPairTable {
  port_id: string;
  mac_address: string;
  ip_address: string;
}

export interface ExtraDhcpOptTable {
  id: string;
  port_id: string;
  opt_name: string;
  opt_value: string;
  ip_version: number;
}

export interface TagTable {
  resource_id: string;
  resource_type: string;
  tag: string;
}

export interface QuotaTable {
  project_id: string;
  resource: string;
  hard_limit: number;
}

export interface ProjectLockTable {
  project_id: string;
  counter: Generated<number>;
}

export interface AgentTable {
  id: string;
  agent_type: string;
  binary: string;
  topic: string;
  host: string;
  availability_zone: string | null;
  admin_state_up: number;
  created_at: string;
  started_at: string;
  heartbeat_timestamp: string;
  description: string | null;
  /** JSON object. */
  configurations: string;
  /** JSON object or null. */
  resource_versions: string | null;
  load: number;
}

/** Which DHCP agents serve which network (Neutron's networkdhcpagentbindings). */
export interface NetworkDhcpAgentBindingTable {
  network_id: string;
  dhcp_agent_id: string;
}

export interface AddressScopeTable {
  id: string;
  project_id: string;
  name: string;
  ip_version: number;
}

export interface SubnetPoolTable extends StandardColumns {
  id: string;
  project_id: string;
  name: string;
  ip_version: number;
  default_prefixlen: number;
  min_prefixlen: number;
  max_prefixlen: number;
  default_quota: number | null;
  is_default: Bool;
  address_scope_id: string | null;
}

export interface SubnetPoolPrefixTable {
  subnetpool_id: string;
  cidr: string;
}

export interface SecurityGroupTable extends StandardColumns {
  id: string;
  project_id: string;
  name: string;
  stateful: Bool;
}

export interface DefaultSecurityGroupTable {
  project_id: string;
  security_group_id: string;
}

export interface SecurityGroupRuleTable extends StandardColumns {
  id: string;
  project_id: string;
  security_group_id: string;
  remote_group_id: string | null;
  remote_address_group_id: string | null;
  direction: string;
  ethertype: string;
  protocol: string | null;
  port_range_min: number | null;
  port_range_max: number | null;
  remote_ip_prefix: string | null;
  normalized_cidr: string | null;
}

export interface SecurityGroupPortBindingTable {
  port_id: string;
  security_group_id: string;
}

export interface RouterTable extends StandardColumns {
  id: string;
  project_id: string;
  name: string;
  status: string;
  admin_state_up: Bool;
  gw_port_id: string | null;
  enable_snat: Bool;
  availability_zone_hints: string; // JSON list
  /** l3-ha: the router runs on several L3 agents, with this VRRP id on its project's HA network. */
  ha: Bool;
  ha_vr_id: number | null;
  /** l3-flavors: the flavor the router was created with. */
  flavor_id: string | null;
  /** l3-ext-ndp-proxy: NDP proxies are served (shown only while the router has a gateway). */
  enable_ndp_proxy: Bool;
  /** enable-default-route-ecmp: default routes over every external gateway, not only the first. */
  enable_default_route_ecmp: Bool;
}

/** l3-ndp-proxy: an internal IPv6 address the router answers neighbour solicitations for. */
export interface NdpProxyTable extends StandardColumns {
  id: string;
  project_id: string;
  name: string;
  router_id: string;
  port_id: string;
  ip_address: string;
}

/** logs (logging): what a network log covers and which events it records. */
export interface LogTable extends StandardColumns {
  id: string;
  project_id: string;
  name: string;
  resource_type: string;
  resource_id: string | null;
  event: string;
  target_id: string | null;
  enabled: Bool;
}

/** flavors: a named choice of service profiles for one service type. */
export interface FlavorTable {
  id: string;
  name: string;
  description: string | null;
  enabled: Bool;
  service_type: string;
}

export interface ServiceProfileTable {
  id: string;
  description: string | null;
  driver: string;
  enabled: Bool;
  metainfo: string | null;
}

export interface FlavorServiceProfileBindingTable {
  flavor_id: string;
  service_profile_id: string;
}

export interface RouterPortTable {
  port_id: string;
  router_id: string;
  /** network:router_gateway or network:router_interface. */
  port_type: string;
}

export interface RouterRouteTable {
  router_id: string;
  destination: string;
  nexthop: string;
}

export interface FloatingIpTable extends StandardColumns {
  id: string;
  project_id: string;
  floating_ip_address: string;
  floating_network_id: string;
  floating_port_id: string;
  fixed_port_id: string | null;
  fixed_ip_address: string | null;
  router_id: string | null;
  last_known_router_id: string | null;
  status: string;
}

export interface MeteringLabelTable {
  id: string;
  project_id: string;
  name: string;
  description: string;
  shared: Bool;
}

export interface MeteringLabelRuleTable {
  id: string;
  metering_label_id: string;
  direction: string;
  remote_ip_prefix: string | null;
  source_ip_prefix: string | null;
  destination_ip_prefix: string | null;
  excluded: Bool;
}

export interface QosPolicyTable extends StandardColumns {
  id: string;
  project_id: string;
  name: string;
}

export interface QosPolicyDefaultTable {
  project_id: string;
  qos_policy_id: string;
}

export interface QosBandwidthLimitRuleTable {
  id: string;
  qos_policy_id: string;
  max_kbps: number | null;
  max_burst_kbps: number | null;
  direction: string;
}

export interface QosDscpMarkingRuleTable {
  id: string;
  qos_policy_id: string;
  dscp_mark: number | null;
}

export interface QosPacketRateLimitRuleTable {
  id: string;
  qos_policy_id: string;
  max_kpps: number | null;
  max_burst_kpps: number | null;
  direction: string;
}

export interface QosMinimumPacketRateRuleTable {
  id: string;
  qos_policy_id: string;
  min_kpps: number | null;
  direction: string;
}

export interface QosMinimumBandwidthRuleTable {
  id: string;
  qos_policy_id: string;
  min_kbps: number | null;
  direction: string;
}

export interface QosNetworkPolicyBindingTable {
  network_id: string;
  policy_id: string;
}

export interface QosPortPolicyBindingTable {
  port_id: string;
  policy_id: string;
}

export interface QosFipPolicyBindingTable {
  fip_id: string;
  policy_id: string;
}

export interface QosRouterGatewayPolicyBindingTable {
  router_id: string;
  policy_id: string;
}

export interface TrunkTable extends StandardColumns {
  id: string;
  project_id: string;
  name: string;
  admin_state_up: Bool;
  port_id: string;
  status: string;
}

export interface SubPortTable {
  port_id: string;
  trunk_id: string;
  segmentation_type: string;
  segmentation_id: number;
}

export interface AddressGroupTable extends StandardColumns {
  id: string;
  project_id: string;
  name: string;
}

export interface AddressAssociationTable {
  address_group_id: string;
  /** A CIDR, host bits cleared. */
  address: string;
}

export interface DefaultSecurityGroupRuleTable {
  id: string;
  direction: string;
  ethertype: string;
  /** A group id, or 'PARENT': the group the rule is made for. */
  remote_group_id: string | null;
  remote_address_group_id: string | null;
  protocol: string | null;
  port_range_min: number | null;
  port_range_max: number | null;
  remote_ip_prefix: string | null;
  used_in_default_sg: number;
  used_in_non_default_sg: number;
  description: string;
  created_at: string;
  rule_key: string;
}

export interface Database {
  ndp_proxies: NdpProxyTable;
  logs: LogTable;
  flavors: FlavorTable;
  service_profiles: ServiceProfileTable;
  flavor_service_profile_bindings: FlavorServiceProfileBindingTable;
  networks: NetworkTable;
  network_segments: NetworkSegmentTable;
  segment_allocations: SegmentAllocationTable;
  network_segment_ranges: NetworkSegmentRangeTable;
  rbac_entries: RbacTable;
  subnets: SubnetTable;
  allocation_pools: AllocationPoolTable;
  dns_nameservers: DnsNameserverTable;
  subnet_routes: SubnetRouteTable;
  ports: PortTable;
  ip_allocations: IpAllocationTable;
  allowed_address_pairs: AllowedAddressPairTable;
  extra_dhcp_opts: ExtraDhcpOptTable;
  tags: TagTable;
  quotas: QuotaTable;
  project_locks: ProjectLockTable;
  agents: AgentTable;
  security_groups: SecurityGroupTable;
  default_security_groups: DefaultSecurityGroupTable;
  security_group_rules: SecurityGroupRuleTable;
  security_group_port_bindings: SecurityGroupPortBindingTable;
  networkdhcpagentbindings: NetworkDhcpAgentBindingTable;
  address_scopes: AddressScopeTable;
  subnetpools: SubnetPoolTable;
  subnetpool_prefixes: SubnetPoolPrefixTable;
  routers: RouterTable;
  router_ports: RouterPortTable;
  router_routes: RouterRouteTable;
  floatingips: FloatingIpTable;
  metering_labels: MeteringLabelTable;
  address_groups: AddressGroupTable;
  address_associations: AddressAssociationTable;
  default_security_group_rules: DefaultSecurityGroupRuleTable;
  metering_label_rules: MeteringLabelRuleTable;
  qos_policies: QosPolicyTable;
  qos_policies_default: QosPolicyDefaultTable;
  qos_bandwidth_limit_rules: QosBandwidthLimitRuleTable;
  qos_dscp_marking_rules: QosDscpMarkingRuleTable;
  qos_minimum_bandwidth_rules: QosMinimumBandwidthRuleTable;
  qos_packet_rate_limit_rules: QosPacketRateLimitRuleTable;
  qos_minimum_packet_rate_rules: QosMinimumPacketRateRuleTable;
  qos_network_policy_bindings: QosNetworkPolicyBindingTable;
  qos_port_policy_bindings: QosPortPolicyBindingTable;
  qos_fip_policy_bindings: QosFipPolicyBindingTable;
  qos_router_gw_policy_bindings: QosRouterGatewayPolicyBindingTable;
  trunks: TrunkTable;
  subports: SubPortTable;
  routerl3agentbindings: RouterL3AgentBindingTable;
  ha_router_networks: HaRouterNetworkTable;
  ha_router_vrid_allocations: HaRouterVrIdAllocationTable;
  ha_router_agent_port_bindings: HaRouterAgentPortBindingTable;
  portdnses: PortDnsTable;
  port_attributes: PortAttributesTable;
  networkdnsdomains: NetworkDnsDomainTable;
  port_inactive_bindings: PortInactiveBindingTable;
  auto_allocated_topologies: AutoAllocatedTopologyTable;
  subnet_service_types: SubnetServiceTypeTable;
  portforwardings: PortForwardingTable;
  conntrack_helpers: ConntrackHelperTable;
}

/** A floating IP port forwarding (Neutron's portforwardings): a single port is a range of one. */
export interface PortForwardingTable {
  id: string;
  floatingip_id: string;
  internal_neutron_port_id: string;
  protocol: string;
  internal_ip_address: string;
  internal_port_start: number;
  internal_port_end: number;
  external_port_start: number;
  external_port_end: number;
  description: string;
}

/** A router's conntrack helper rule (Neutron's conntrack_helpers). */
export interface ConntrackHelperTable {
  id: string;
  router_id: string;
  protocol: string;
  port: number;
  helper: string;
}

/** A project's HA network (Neutron's ha_router_networks). */
export interface HaRouterNetworkTable {
  project_id: string;
  network_id: string;
}

/** A VRRP id taken on an HA network, by its router. */
export interface HaRouterVrIdAllocationTable {
  network_id: string;
  vr_id: number;
  router_id: string;
}

/** An HA router's port on an L3 agent and the state that agent reported. */
export interface HaRouterAgentPortBindingTable {
  port_id: string;
  router_id: string;
  l3_agent_id: string | null;
  state: string;
}

/** Which L3 agent hosts which router (Neutron's routerl3agentbindings). */
export interface RouterL3AgentBindingTable {
  router_id: string;
  l3_agent_id: string;
  binding_index: number;
}

/** Per-port values of the attribute-only ML2 extension drivers and routed networks (null: not set). */
export interface PortAttributesTable {
  port_id: string;
  device_profile: string | null;
  numa_affinity_policy: string | null;
  /** JSON. */
  hints: string | null;
  trusted: number | null;
  propagate_uplink_status: number | null;
  ip_allocation: string | null;
}

/** A port's dns_name/dns_domain (Neutron's portdnses, without the external-DNS columns). */
export interface PortDnsTable {
  port_id: string;
  dns_name: string;
  dns_domain: string;
}

/** A network's dns_domain (Neutron's networkdnsdomains). */
export interface NetworkDnsDomainTable {
  network_id: string;
  dns_domain: string;
}

// API extensions that neutrino implements. GET /v2.0/extensions lists exactly these; attributes
// that belong to an extension not listed here are dropped from the resource definitions.
export interface ExtensionInfo {
  alias: string;
  name: string;
  description: string;
  updated: string;
}

const ext = (alias: string, name: string, description: string, updated = '2023-01-01T10:00:00-00:00'): ExtensionInfo =>
  ({ alias, name, description, updated });

/** What /v2.0/extensions says of each extension neutrino has; the loaded plugins decide which are listed. */
export const KNOWN_EXTENSIONS: ExtensionInfo[] = [
  ext('project-id', 'project_id field enabled', 'Resources carry project_id beside the legacy tenant_id.'),
  ext('standard-attr-description', 'standard-attr-description', 'A description attribute on resources that have standard attributes.'),
  ext('standard-attr-timestamp', 'Resource timestamps', 'created_at and updated_at on resources, filterable.'),
  ext('standard-attr-revisions', 'Resource revision numbers', 'revision_number on resources, and If-Match revision constraints.'),
  ext('revision-if-match', 'If-Match constraints based on revision_number', 'Updates and deletes honour If-Match: revision_number=N.'),
  ext('standard-attr-tag', 'Tag support for resources with standard attributes', 'Tags on networks, subnets and ports, with tag filters.'),
  ext('tag-ports-during-bulk-creation', 'Tag Ports During Bulk Creation', 'Allow to tag ports during bulk creation', '2019-12-29T19:00:00-00:00'),
  ext('tag-ext', 'Tag support for resources', 'Tag sub-resource on standard-attribute resources.'),
  // The first tagging extension (networks only); clients such as Tempest still look for its alias.
  ext('tag', 'Tag support', 'Tags on networks through the /tags sub-resource.'),
  ext('provider', 'Provider Network', 'Physical network, network type and segmentation id of networks.'),
  ext('multi-provider', 'Multi Provider Network', 'Networks made of several segments.'),
  ext('external-net', 'Neutron external network', 'Networks that routers can use as external gateways.'),
  ext('net-mtu', 'Network MTU', 'The MTU of each network.'),
  ext('subnet-service-types', 'Subnet service types', 'Provides ability to set the subnet service_types field', '2016-03-03T00:00:00-00:00'),
  ext('net-mtu-writable', 'Network MTU (writable)', 'The MTU of a network can be set on create and update.'),
  ext('binding', 'Port Binding', 'Host, VIF type and VNIC type binding of ports.'),
  ext('binding-extended', 'Port Bindings Extended', 'Port binding attributes are exposed to administrators.'),
  ext('port-security', 'Port Security', 'Port security (anti-spoofing and security groups) on or off per network and port.'),
  ext('allowed-address-pairs', 'Allowed Address Pairs', 'Extra MAC/IP pairs a port may send from.'),
  ext('extra_dhcp_opt', 'Neutron Extra DHCP options', 'Extra DHCP options per port.'),
  ext('quotas', 'Quota management support', 'Per-project quotas of resources.'),
  ext('quota_details', 'Quota details management support', 'Used and reserved counts beside quota limits.'),
  ext('quota-check-limit', 'Quota engine limit check', 'Support for checking the resource usage before applying a new quota limit', '2021-09-08T16:00:00-00:00'),
  ext('quota-check-limit-default', 'Quota engine limit check by default',
    'By default, the Neutron quota engine checks the resource usage before applying a new quota limit', '2024-08-21T16:00:00-00:00'),
  ext('filter-validation', 'Filter parameters validation', 'Unknown filter parameters are rejected with 400.'),
  ext('empty-string-filtering', 'Empty String Filtering Extension', 'Filtering on attributes whose value is an empty string.'),
  ext('ip-substring-filtering', 'IP address substring filtering', 'Port fixed_ips can be filtered by IP address substring.'),
  ext('sorting', 'Sorting support', 'sort_key and sort_dir on list requests.'),
  ext('pagination', 'Pagination support', 'limit, marker and page_reverse on list requests.'),
  ext('security-group', 'security-group', 'The security groups extension.', '2012-10-05T10:00:00-00:00'),
  ext('stateful-security-group', 'Stateful security group', 'Indicates if the security group is stateful or not', '2019-11-26T09:00:00-00:00'),
  ext('security-groups-normalized-cidr', 'Normalized CIDR field for security group rules', 'Add new field with normalized remote_ip_prefix cidr in SG rule', '2020-07-28T10:00:00-00:00'),
  // neutron-lib's alias (port_security_groups_filtering); neutrino listed it as 'security-groups-port-filtering' before.
  ext('port-security-groups-filtering', 'Port filtering on security groups', 'Provides security groups filtering when listing ports', '2018-01-09T09:00:00-00:00'),
  ext('security-groups-remote-address-group', 'Remote address group id field for security group rules', 'Add new field of remote address group id in SG rules', '2020-08-25T10:00:00-00:00'),
  ext('security-groups-default-rules', 'Default rules for security groups', 'Configure set of security group rules used as default rules for every new security group', '2022-12-19T10:00:00-00:00'),
  ext('address-group', 'Address group', 'Support address group', '2020-07-15T10:00:00-00:00'),
  ext('security-groups-shared-filtering', 'Security group filtering on the shared field', 'Support filtering security groups on the shared field', '2021-10-05T09:00:00-00:00'),
  ext('agent', 'agent', 'The agent management extension.', '2013-02-03T10:00:00-00:00'),
  ext('router', 'Neutron L3 Router', 'Router abstraction for basic L3 forwarding between L2 Neutron networks and access to external networks via a NAT gateway.', '2012-07-20T10:00:00-00:00'),
  ext('ext-gw-mode', 'Neutron L3 Configurable external gateway mode', 'Extension of the router abstraction for specifying whether SNAT should occur on the external gateway', '2013-03-28T10:00:00-00:00'),
  ext('extraroute', 'Neutron Extra Route', 'Extra routes configuration for L3 router', '2013-02-01T10:00:00-00:00'),
  ext('extraroute-atomic', 'Atomically add/remove extra routes', 'Edit extra routes of a router on server side by atomically adding/removing extra routes', '2019-07-10T00:00:00+00:00'),
  ext('fip-port-details', 'Floating IP Port Details Extension', 'Add port_details attribute to Floating IP resource', '2018-04-09T10:00:00-00:00'),
  ext('floatingip-pools', 'Floating IP Pools Extension', 'Provides a floating IP pools API.', '2018-03-21T10:00:00-00:00'),
  // Address management and RBAC (src/plugins/subnetpools, src/plugins/rbac).
  ext('subnet_allocation', 'Subnet Allocation', 'Enables allocation of subnets from a subnet pool', '2015-03-30T10:00:00-00:00'),
  ext('auto-allocated-topology', 'Auto Allocated Topology Services', 'Auto Allocated Topology Services.', '2016-01-01T00:00:00-00:00'),
  ext('default-subnetpools', 'Default Subnetpools', 'Provides ability to mark and use a subnetpool as the default.', '2016-02-18T18:00:00-00:00'),
  ext('subnetpool-prefix-ops', 'Subnet Pool Prefix Operations', 'Provides support for adjusting the prefix list of subnet pools', '2019-02-08T10:00:00-00:00'),
  ext('subnet_onboard', 'Subnet Onboard', 'Provides support for onboarding subnets into subnet pools', '2018-12-18T09:00:00-00:00'),
  ext('address-scope', 'Address scope', 'Address scopes extension.', '2015-07-26T10:00:00-00:00'),
  ext('network-ip-availability', 'Network IP Availability', 'Provides IP availability data for each network and subnet.', '2015-09-24T00:00:00-00:00'),
  ext('rbac-policies', 'RBAC Policies', 'Allows creation and modification of policies that control tenant access to resources.', '2015-06-17T12:15:12-00:00'),
  ext('rbac-address-scope', 'Add address_scope type to RBAC', 'Add address_scope type to RBAC', '2020-02-12T00:00:00-00:00'),
  ext('rbac-subnetpool', 'Add subnetpool type to RBAC', 'Add subnetpool type to RBAC', '2020-02-05T00:00:00-00:00'),
  ext('rbac-security-groups', 'Add security_group type to network RBAC', 'Add security_group type to network RBAC', '2019-02-14T00:00:00-00:00'),
  ext('rbac-address-group', 'Add address_group type to RBAC', 'Add address_group type to network RBAC', '2021-01-20T00:00:00-00:00'),
  // Port forwarding and conntrack helpers (src/plugins/port-forwarding).
  ext('floating-ip-port-forwarding', 'Floating IP Port Forwarding', 'Allow port forwarding from floating IP port to an internal port', '2018-01-19T10:00:00-00:00'),
  ext('floating-ip-port-forwarding-description', 'Floating IP Port Forwarding new attribute description', 'Add a description field to Port Forwarding rules', '2019-11-01T10:00:00-00:00'),
  ext('floating-ip-port-forwarding-port-ranges', 'Floating IP Port Forwarding support port ranges', 'Add suport to port ranges', '2020-07-01T10:00:00-00:00'),
  ext('floating-ip-port-forwarding-detail', 'Floating IP port forwarding detail', "Allow list floating ip return more port forwarding data, include 'id' and 'internal_port_id'", '2022-05-06T10:00:00-00:00'),
  ext('expose-port-forwarding-in-fip', 'Expose Floating IP port forwardings', 'Expose port forwarding fields in floating IP response', '2018-06-28T16:00:00-00:00'),
  ext('l3-conntrack-helper', 'L3 Conntrack helper', 'Allow adding CT target rules for conntrack helper', '2019-04-04T10:00:00-00:00'),
  ext('expose-l3-conntrack-helper', 'Expose CT target rules for conntrack helper', 'Expose allow adding CT target rules for conntrack helper', '2019-04-04T10:00:00-00:00'),
  // Metering (src/plugins/metering) and segments (src/plugins/segments).
  ext('metering', 'Neutron Metering', 'Neutron Metering extension.', '2013-06-12T10:00:00-00:00'),
  ext('metering_source_and_destination_fields', 'Neutron Metering with source and destination filtering',
    'Neutron Metering extension that enables the use of source and destination IP prefixes to create metering label rules.', '2020-08-21T08:12:00-00:00'),
  ext('segment', 'Segment', 'Segments extension.', '2016-02-24T17:00:00-00:00'),
  ext('standard-attr-segment', 'Standard Attribute Segment Extension', 'Add standard attributes to Segment resource', '2018-04-09T10:00:00-00:00'),
  ext('network-segment-range', 'Neutron Network Segment Range', 'Provides support for the network segment range management', '2018-11-29T00:00:00-00:00'),
  ext('subnet-segmentid-writable', 'Subnet SegmentID (writable)', 'Provides a writable segment_id attribute for a subnet resource.', '2018-03-12T00:00:00-00:00'),
  // Quality of Service (src/plugins/qos): policies and rules in the API; the Linux-bridge QoS driver's rule types.
  ext('qos', 'Quality of Service', 'The Quality of Service extension.', '2015-06-08T10:00:00-00:00'),
  ext('qos-bw-limit-direction', 'Direction for QoS bandwidth limit rule', 'Allow to configure QoS bandwidth limit rule with specific direction: ingress or egress', '2017-04-10T10:00:00-00:00'),
  ext('qos-default', 'QoS default policy', 'Expose the QoS default policy per project', '2017-041-06T10:00:00-00:00'),
  ext('qos-rule-type-details', 'Details of QoS rule types', 'Expose details about QoS rule types supported by loaded backend drivers', '2017-06-22T10:00:00-00:00'),
  ext('qos-rule-type-filter', 'Allow to filter the list of QoS rule types', 'Allows to filter the QoS rule type list adding two new flags: all_rules and all_supported', '2022-02-02T10:00:00-00:00'),
  ext('qos-bw-minimum-ingress', 'Ingress direction for QoS minimum bandwidth rule', 'Allow to configure QoS minimum bandwidth rule with ingress direction.', '2018-07-09T10:00:00-00:00'),
  ext('qos-rules-alias', 'Quality of Service rules alias API', 'API to enable GET, PUT and DELETE operations on QoS policy rules without specifying policy ID', '2018-10-07T10:00:00-00:00'),
  ext('qos-port-network-policy', 'QoS port network policy ID', 'Adds the QoS network ID to the port definition', '2019-11-01T10:00:00-00:00'),
  ext('qos-fip', 'Floating IP QoS', 'The floating IP Quality of Service extension', '2017-07-20T00:00:00-00:00'),
  // Trunks (src/plugins/trunk): trunk ports with VLAN subports.
  ext('trunk', 'Trunk Extension', 'Provides support for trunk ports', '2016-01-01T10:00:00-00:00'),
  ext('trunk-details', 'Trunk port details', 'Expose trunk port details', '2016-01-01T10:00:00-00:00'),
  // Agent scheduling, availability zones, service providers, MAC regeneration, DNS (issue 3).
  ext('dhcp_agent_scheduler', 'DHCP Agent Scheduler', 'Schedule networks among dhcp agents', '2013-02-07T10:00:00-00:00'),
  ext('l3-ha', 'HA Router extension', 'Adds HA capability to routers.', '2014-04-26T00:00:00-00:00'),
  // Flavors (src/plugins/flavors) and the routers' flavor, DVR as an attribute only (issue 10).
  ext('flavors', 'Neutron Service Flavors', 'Flavor specification for Neutron advanced services.', '2015-09-17T10:00:00-00:00'),
  ext('l3-flavors', 'Router Flavor Extension', 'Flavor support for routers.', '2016-05-17T00:00:00-00:00'),
  ext('agent-resources-synced', "Agent's Resource View Synced to Placement", 'Stores success/failure of last sync to Placement', '2018-12-19T00:00:00-00:00'),
  ext('l3-ndp-proxy', 'L3 NDP Proxy', 'Router support for L3 NDP proxy.', '2021-06-29T10:00:00-00:00'),
  ext('l3-ext-ndp-proxy', 'Router support to enable NDP proxy', 'Router extension to enable ndp proxy', '2020-08-25T00:00:00-00:00'),
  ext('dvr', 'Distributed Virtual Router', 'Enables configuration of Distributed Virtual Routers.', '2014-06-1T10:00:00-00:00'),
  ext('l3_agent_scheduler', 'L3 Agent Scheduler', 'Schedule routers among l3 agents', '2013-02-07T10:00:00-00:00'),
  ext(
    'l3-port-ip-change-not-allowed',
    'Prevent L3 router ports IP address change extension',
    'Prevent change of IP address for some L3 router ports',
    '2018-10-09T10:00:00-00:00',
  ),
  ext('availability_zone', 'Availability Zone', 'The availability zone extension.', '2015-01-01T10:00:00-00:00'),
  ext('availability_zone_filter', 'Availability Zone Filter Extension', 'Add filter parameters to AvailabilityZone resource', '2018-06-22T10:00:00-00:00'),
  ext('network_availability_zone', 'Network Availability Zone', 'Availability zone support for network.', '2015-01-01T10:00:00-00:00'),
  ext('router_availability_zone', 'Router Availability Zone', 'Availability zone support for router.', '2015-01-01T10:00:00-00:00'),
  ext('service-type', 'Neutron Service Type Management', 'API for retrieving service providers for Neutron advanced services', '2013-01-20T00:00:00-00:00'),
  ext('port-mac-address-regenerate', 'Neutron Port MAC address regenerate', 'Network port MAC address regenerate', '2018-05-03T10:00:00-00:00'),
  ext('dns-integration', 'DNS Integration', 'Provides integration with DNS.', '2015-08-15T18:00:00-00:00'),
  ext('dns-domain-ports', 'dns_domain for ports', 'Allows the DNS domain to be specified for a network port.', '2017-04-24T10:00:00-00:00'),
];

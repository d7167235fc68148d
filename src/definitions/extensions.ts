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

export const CORE_EXTENSIONS: ExtensionInfo[] = [
  ext('project-id', 'project_id field enabled', 'Resources carry project_id beside the legacy tenant_id.'),
  ext('standard-attr-description', 'standard-attr-description', 'A description attribute on resources that have standard attributes.'),
  ext('standard-attr-timestamp', 'Resource timestamps', 'created_at and updated_at on resources, filterable.'),
  ext('standard-attr-revisions', 'Resource revision numbers', 'revision_number on resources, and If-Match revision constraints.'),
  ext('revision-if-match', 'If-Match constraints based on revision_number', 'Updates and deletes honour If-Match: revision_number=N.'),
  ext('standard-attr-tag', 'Tag support for resources with standard attributes', 'Tags on networks, subnets and ports, with tag filters.'),
  ext('tag-ext', 'Tag support for resources', 'Tag sub-resource on standard-attribute resources.'),
  ext('provider', 'Provider Network', 'Physical network, network type and segmentation id of networks.'),
  ext('multi-provider', 'Multi Provider Network', 'Networks made of several segments.'),
  ext('external-net', 'Neutron external network', 'Networks that routers can use as external gateways.'),
  ext('net-mtu', 'Network MTU', 'The MTU of each network.'),
  ext('net-mtu-writable', 'Network MTU (writable)', 'The MTU of a network can be set on create and update.'),
  ext('binding', 'Port Binding', 'Host, VIF type and VNIC type binding of ports.'),
  ext('binding-extended', 'Port Bindings Extended', 'Port binding attributes are exposed to administrators.'),
  ext('port-security', 'Port Security', 'Port security (anti-spoofing and security groups) on or off per network and port.'),
  ext('allowed-address-pairs', 'Allowed Address Pairs', 'Extra MAC/IP pairs a port may send from.'),
  ext('extra_dhcp_opt', 'Neutron Extra DHCP options', 'Extra DHCP options per port.'),
  ext('quotas', 'Quota management support', 'Per-project quotas of resources.'),
  ext('quota_details', 'Quota details management support', 'Used and reserved counts beside quota limits.'),
  ext('filter-validation', 'Filter parameters validation', 'Unknown filter parameters are rejected with 400.'),
  ext('empty-string-filtering', 'Empty String Filtering Extension', 'Filtering on attributes whose value is an empty string.'),
  ext('ip-substring-filtering', 'IP address substring filtering', 'Port fixed_ips can be filtered by IP address substring.'),
  ext('sorting', 'Sorting support', 'sort_key and sort_dir on list requests.'),
  ext('pagination', 'Pagination support', 'limit, marker and page_reverse on list requests.'),
  ext('agent', 'agent', 'The agent management extension.', '2013-02-03T10:00:00-00:00'),
];

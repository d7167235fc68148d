// Default rules for ports and port bindings (Neutron's port.py and
// port_bindings.py). Most port attributes are governed by the owner of the
// port's network (`network:project_id` in the target), not the port owner:
// a project can plug a port into a shared network but may not pick addresses
// or MACs on somebody else's network.
import {
  building,
  or,
  ADMIN,
  ADMIN_OR_NET_OWNER,
  ADMIN_OR_NET_OWNER_MEMBER,
  ADMIN_OR_NET_OWNER_READER,
  ADMIN_OR_OWNER,
  ADMIN_OR_PROJECT_MEMBER,
  ADMIN_OR_SERVICE,
  ADVSVC,
  ANY,
  NET_OWNER_MANAGER,
  NET_OWNER_MEMBER,
  NET_OWNER_READER,
  PROJECT_MEMBER,
  PROJECT_READER,
  SERVICE,
  type RuleSpec,
} from './common.js';

export const PORT_RULES: readonly RuleSpec[] = [
  // Ports whose device_owner starts with "network:" belong to Neutron itself
  // (router interfaces, DHCP, ...); only network owners may create those.
  building('network_device', 'field:port:device_owner=~^network:'),
  building('admin_or_data_plane_int', or('rule:context_is_admin', 'role:data_plane_integrator')),

  ['create_port', or(ADMIN_OR_SERVICE, NET_OWNER_MEMBER, 'rule:shared'), ANY],
  ['create_port:device_id', or(ADMIN_OR_PROJECT_MEMBER, SERVICE), ANY],
  [
    'create_port:device_owner',
    or('not rule:network_device', ADMIN_OR_SERVICE, NET_OWNER_MEMBER),
    or('not rule:network_device', ADVSVC, ADMIN_OR_NET_OWNER),
  ],
  ['create_port:mac_address', or(ADMIN_OR_SERVICE, NET_OWNER_MEMBER), or(ADVSVC, ADMIN_OR_NET_OWNER)],
  ['create_port:fixed_ips', or(ADMIN_OR_SERVICE, NET_OWNER_MEMBER, 'rule:shared'), or(ADVSVC, ADMIN_OR_NET_OWNER, 'rule:shared')],
  ['create_port:fixed_ips:ip_address', or(ADMIN_OR_SERVICE, NET_OWNER_MEMBER), or(ADVSVC, ADMIN_OR_NET_OWNER)],
  ['create_port:fixed_ips:subnet_id', or(ADMIN_OR_SERVICE, NET_OWNER_MEMBER, 'rule:shared'), or(ADVSVC, ADMIN_OR_NET_OWNER, 'rule:shared')],
  ['create_port:port_security_enabled', or(ADMIN_OR_SERVICE, NET_OWNER_MEMBER), or(ADVSVC, ADMIN_OR_NET_OWNER)],
  ['create_port:binding:host_id', ADMIN_OR_SERVICE, ADMIN],
  ['create_port:binding:profile', SERVICE, ADMIN],
  ['create_port:binding:vnic_type', or(ADMIN_OR_PROJECT_MEMBER, SERVICE), ANY],
  ['create_port:allowed_address_pairs', or(ADMIN_OR_NET_OWNER_MEMBER, SERVICE), ADMIN_OR_NET_OWNER],
  ['create_port:allowed_address_pairs:mac_address', or(ADMIN_OR_NET_OWNER_MEMBER, SERVICE), ADMIN_OR_NET_OWNER],
  ['create_port:allowed_address_pairs:ip_address', or(ADMIN_OR_NET_OWNER_MEMBER, SERVICE), ADMIN_OR_NET_OWNER],
  ['create_port:hints', ADMIN],
  ['create_port:trusted', ADMIN],
  ['create_port:tags', or(ADMIN_OR_PROJECT_MEMBER, ADVSVC)],

  // Port owners and the network's owner can read a port; binding details
  // describe the hypervisor and stay with admins and services.
  ['get_port', or(ADMIN_OR_SERVICE, NET_OWNER_READER, PROJECT_READER), or(ADVSVC, 'rule:admin_owner_or_network_owner')],
  ['get_port:binding:vif_type', ADMIN_OR_SERVICE, ADMIN],
  ['get_port:binding:vif_details', ADMIN_OR_SERVICE, ADMIN],
  ['get_port:binding:host_id', ADMIN_OR_SERVICE, ADMIN],
  ['get_port:binding:profile', ADMIN_OR_SERVICE, ADMIN],
  ['get_port:resource_request', ADMIN],
  ['get_port:hints', ADMIN],
  ['get_port:trusted', ADMIN],
  ['get_port:tags', or(ADVSVC, ADMIN_OR_NET_OWNER_READER, PROJECT_READER)],

  ['update_port', or(ADMIN_OR_SERVICE, PROJECT_MEMBER), or(ADMIN_OR_OWNER, ADVSVC)],
  ['update_port:device_id', or(ADMIN_OR_PROJECT_MEMBER, SERVICE), ANY],
  [
    'update_port:device_owner',
    or('not rule:network_device', ADMIN_OR_SERVICE, NET_OWNER_MEMBER),
    or('not rule:network_device', ADVSVC, ADMIN_OR_NET_OWNER),
  ],
  ['update_port:mac_address', or(ADMIN_OR_SERVICE, NET_OWNER_MANAGER), or(ADMIN, ADVSVC)],
  ['update_port:fixed_ips', or(ADMIN_OR_SERVICE, NET_OWNER_MEMBER), or(ADVSVC, ADMIN_OR_NET_OWNER)],
  ['update_port:fixed_ips:ip_address', or(ADMIN_OR_SERVICE, NET_OWNER_MEMBER), or(ADVSVC, ADMIN_OR_NET_OWNER)],
  ['update_port:fixed_ips:subnet_id', or(ADMIN_OR_SERVICE, NET_OWNER_MEMBER, 'rule:shared'), or(ADVSVC, ADMIN_OR_NET_OWNER, 'rule:shared')],
  ['update_port:port_security_enabled', or(ADMIN_OR_SERVICE, NET_OWNER_MEMBER), or(ADVSVC, ADMIN_OR_NET_OWNER)],
  ['update_port:binding:host_id', ADMIN_OR_SERVICE, ADMIN],
  ['update_port:binding:profile', SERVICE, ADMIN],
  ['update_port:binding:vnic_type', or(ADMIN_OR_SERVICE, PROJECT_MEMBER), or(ADMIN_OR_OWNER, ADVSVC)],
  ['update_port:allowed_address_pairs', or(ADMIN_OR_NET_OWNER_MEMBER, SERVICE), ADMIN_OR_NET_OWNER],
  ['update_port:allowed_address_pairs:mac_address', or(ADMIN_OR_NET_OWNER_MEMBER, SERVICE), ADMIN_OR_NET_OWNER],
  ['update_port:allowed_address_pairs:ip_address', or(ADMIN_OR_NET_OWNER_MEMBER, SERVICE), ADMIN_OR_NET_OWNER],
  ['update_port:data_plane_status', or(ADMIN, 'role:data_plane_integrator'), 'rule:admin_or_data_plane_int'],
  ['update_port:hints', ADMIN],
  ['update_port:trusted', ADMIN],
  ['update_port:tags', or(ADMIN_OR_PROJECT_MEMBER, ADVSVC)],

  ['delete_port', or(ADMIN_OR_SERVICE, NET_OWNER_MEMBER, PROJECT_MEMBER), or(ADVSVC, 'rule:admin_owner_or_network_owner')],
  ['delete_port:tags', or(ADVSVC, PROJECT_MEMBER, ADMIN_OR_NET_OWNER_MEMBER)],

  // Multiple port bindings (used by Nova during live migration). Neutron's rules were admin-only
  // (2023.1) before secure RBAC made the writes the service's; the admin-only form is the legacy one.
  ['get_port_binding', ADMIN_OR_SERVICE],
  ['create_port_binding', SERVICE, ADMIN],
  ['delete_port_binding', SERVICE, ADMIN],
  ['activate', SERVICE, ADMIN],
];

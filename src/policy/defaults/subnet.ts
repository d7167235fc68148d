// Default rules for subnets, subnet pools and address scopes (Neutron's
// subnet.py, subnetpool.py and address_scope.py). Subnet rules mostly hinge on
// owning the subnet's network (`network:project_id` in the target).
import {
  building,
  or,
  ADMIN,
  ADMIN_OR_NET_OWNER,
  ADMIN_OR_NET_OWNER_MEMBER,
  ADMIN_OR_NET_OWNER_READER,
  ADMIN_OR_OWNER,
  ADMIN_OR_PROJECT_MEMBER,
  ADMIN_OR_PROJECT_READER,
  ANY,
  PROJECT_MEMBER,
  PROJECT_READER,
  SERVICE,
  type RuleSpec,
} from './common.js';

export const SUBNET_RULES: readonly RuleSpec[] = [
  // True when the subnet's network is external; the caller copies the
  // network's router:external flag into the subnet target.
  building('external_network', 'field:subnets:router:external=True'),

  ['create_subnet', ADMIN_OR_NET_OWNER_MEMBER, ADMIN_OR_NET_OWNER],
  ['create_subnet:segment_id', ADMIN],
  ['create_subnet:service_types', ADMIN],
  ['create_subnet:tags', or(PROJECT_MEMBER, ADMIN_OR_NET_OWNER_MEMBER)],

  // Subnets of shared or external networks are visible to everyone.
  [
    'get_subnet',
    or(PROJECT_READER, 'rule:shared', 'rule:external_network', ADMIN_OR_NET_OWNER_READER, SERVICE),
    or('rule:shared', 'rule:external_network', ADMIN_OR_OWNER),
  ],
  ['get_subnet:segment_id', ADMIN],
  ['get_subnet:tags', or(PROJECT_READER, 'rule:shared', 'rule:external_network', ADMIN_OR_NET_OWNER_READER)],

  ['update_subnet', or(PROJECT_MEMBER, ADMIN_OR_NET_OWNER_MEMBER), ADMIN_OR_NET_OWNER],
  ['update_subnet:segment_id', ADMIN],
  ['update_subnet:service_types', ADMIN],
  ['update_subnet:tags', or(PROJECT_MEMBER, ADMIN_OR_NET_OWNER_MEMBER)],

  ['delete_subnet', or(PROJECT_MEMBER, ADMIN_OR_NET_OWNER_MEMBER), ADMIN_OR_NET_OWNER],
  ['delete_subnet:tags', or(PROJECT_MEMBER, ADMIN_OR_NET_OWNER_MEMBER)],

  // Subnet pools: shared pools are readable by all projects.
  building('shared_subnetpools', 'field:subnetpools:shared=True'),
  ['create_subnetpool', ADMIN_OR_PROJECT_MEMBER, ANY],
  ['create_subnetpool:shared', ADMIN],
  ['create_subnetpool:is_default', ADMIN],
  ['create_subnetpool:tags', ADMIN_OR_PROJECT_MEMBER],
  ['get_subnetpool', or(ADMIN_OR_PROJECT_READER, 'rule:shared_subnetpools'), or(ADMIN_OR_OWNER, 'rule:shared_subnetpools')],
  ['get_subnetpool:tags', or(ADMIN_OR_PROJECT_READER, 'rule:shared_subnetpools')],
  ['update_subnetpool', ADMIN_OR_PROJECT_MEMBER, ADMIN_OR_OWNER],
  ['update_subnetpool:is_default', ADMIN],
  ['update_subnetpool:tags', ADMIN_OR_PROJECT_MEMBER],
  ['delete_subnetpool', ADMIN_OR_PROJECT_MEMBER, ADMIN_OR_OWNER],
  ['delete_subnetpool:tags', ADMIN_OR_PROJECT_MEMBER],
  ['onboard_network_subnets', ADMIN_OR_PROJECT_MEMBER, ADMIN_OR_OWNER],
  ['add_prefixes', ADMIN_OR_PROJECT_MEMBER, ADMIN_OR_OWNER],
  ['remove_prefixes', ADMIN_OR_PROJECT_MEMBER, ADMIN_OR_OWNER],

  // Address scopes: shared scopes are readable by all projects.
  building('shared_address_scopes', 'field:address_scopes:shared=True'),
  ['create_address_scope', ADMIN_OR_PROJECT_MEMBER, ANY],
  ['create_address_scope:shared', ADMIN],
  ['get_address_scope', or(ADMIN, PROJECT_READER, 'rule:shared_address_scopes'), or(ADMIN_OR_OWNER, 'rule:shared_address_scopes')],
  ['update_address_scope', ADMIN_OR_PROJECT_MEMBER, ADMIN_OR_OWNER],
  ['update_address_scope:shared', ADMIN],
  ['delete_address_scope', ADMIN_OR_PROJECT_MEMBER, ADMIN_OR_OWNER],
];

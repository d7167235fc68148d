// Default rules for networks, segments and network IP availability
// (Neutron's network.py, segment.py and network_ip_availability.py).
import {
  building,
  or,
  ADMIN,
  ADMIN_OR_OWNER,
  ADMIN_OR_PROJECT_MEMBER,
  ADMIN_OR_PROJECT_READER,
  ADMIN_OR_SERVICE,
  ADVSVC,
  ANY,
  SERVICE,
  type RuleSpec,
} from './common.js';

export const NETWORK_RULES: readonly RuleSpec[] = [
  // True when the target network is external (router:external).
  building('external', 'field:networks:router:external=True'),

  // Any project member may create networks; the attributes that reach into
  // the physical fabric or other projects are admin-only.
  ['create_network', ADMIN_OR_PROJECT_MEMBER, ANY],
  ['create_network:shared', ADMIN],
  ['create_network:router:external', ADMIN],
  ['create_network:is_default', ADMIN],
  ['create_network:port_security_enabled', ADMIN_OR_PROJECT_MEMBER, ANY],
  ['create_network:segments', ADMIN],
  ['create_network:provider:network_type', ADMIN],
  ['create_network:provider:physical_network', ADMIN],
  ['create_network:provider:segmentation_id', ADMIN],
  ['create_network:tags', ADMIN_OR_PROJECT_MEMBER],

  // Shared and external networks are visible to every project.
  [
    'get_network',
    or(ADMIN_OR_PROJECT_READER, SERVICE, 'rule:shared', 'rule:external', ADVSVC),
    or(ADMIN_OR_OWNER, 'rule:shared', 'rule:external', ADVSVC),
  ],
  // Removed from Neutron after Zed (where it let everybody see the flag);
  // kept so that attribute filtering never falls back to `default` for it.
  ['get_network:router:external', ADMIN_OR_PROJECT_READER, ANY],
  ['get_network:segments', ADMIN],
  ['get_network:provider:network_type', ADMIN],
  ['get_network:provider:physical_network', ADMIN],
  ['get_network:provider:segmentation_id', ADMIN],
  ['get_network:tags', or(ADMIN_OR_PROJECT_READER, 'rule:shared', 'rule:external', ADVSVC), ADMIN_OR_PROJECT_READER],

  ['update_network', ADMIN_OR_PROJECT_MEMBER, ADMIN_OR_OWNER],
  ['update_network:segments', ADMIN],
  ['update_network:shared', ADMIN],
  ['update_network:provider:network_type', ADMIN],
  ['update_network:provider:physical_network', ADMIN],
  ['update_network:provider:segmentation_id', ADMIN],
  ['update_network:router:external', ADMIN],
  ['update_network:is_default', ADMIN],
  ['update_network:port_security_enabled', ADMIN_OR_PROJECT_MEMBER, ADMIN_OR_OWNER],
  ['update_network:tags', ADMIN_OR_PROJECT_MEMBER],

  ['delete_network', ADMIN_OR_PROJECT_MEMBER, ADMIN_OR_OWNER],
  ['delete_network:tags', ADMIN_OR_PROJECT_MEMBER],

  // Per-network address usage; operators and services only.
  ['get_network_ip_availability', ADMIN_OR_SERVICE, ADMIN],
];

// Default rules for the smaller admin-facing APIs: agents and their
// scheduling, quotas, RBAC, availability zones, service providers
// (Neutron's agent.py, quotas.py, rbac.py, availability_zone.py,
// service_type.py), plus
// the extension list, which Neutron does not guard by policy at all.
import {
  building,
  or,
  ADMIN,
  ADMIN_OR_OWNER,
  ADMIN_OR_PROJECT_MANAGER,
  ADMIN_OR_PROJECT_MEMBER,
  ADMIN_OR_PROJECT_READER,
  ANY,
  type RuleSpec,
} from './common.js';

export const MISC_RULES: readonly RuleSpec[] = [
  // Not a Neutron rule: GET /v2.0/extensions is open to every authenticated
  // user in Neutron, whatever the token's scope. Defined so a policy check on
  // it does not fall back to `default` (which would deny, extensions having no
  // project_id).
  ['get_extension', ANY, undefined, { unscoped: true }],

  // Agents, and the DHCP/L3 scheduling sub-resources hanging off them.
  ['create_agent', ADMIN],
  ['get_agent', ADMIN],
  ['update_agent', ADMIN],
  ['delete_agent', ADMIN],
  ['create_dhcp-network', ADMIN],
  ['get_dhcp-networks', ADMIN],
  ['delete_dhcp-network', ADMIN],
  ['create_l3-router', ADMIN],
  ['get_l3-routers', ADMIN],
  ['update_l3-router', ADMIN],
  ['delete_l3-router', ADMIN],
  ['get_dhcp-agents', ADMIN],
  ['get_l3-agents', ADMIN],

  // Quotas: a project manager may read its own project's quota.
  ['get_quota', ADMIN_OR_PROJECT_MANAGER, ADMIN],
  ['update_quota', ADMIN],
  ['delete_quota', ADMIN],

  // RBAC: sharing with every project ("*") is admin-only.
  building('restrict_wildcard', or('(not field:rbac_policy:target_tenant=* and not field:rbac_policy:target_project=*)', ADMIN)),
  ['create_rbac_policy', ADMIN_OR_PROJECT_MEMBER, ANY],
  [
    'create_rbac_policy:target_tenant',
    or(ADMIN, '(not field:rbac_policy:target_tenant=* and not field:rbac_policy:target_project=*)'),
    'rule:restrict_wildcard',
  ],
  ['create_rbac_policy:target_project', or(ADMIN, 'not field:rbac_policy:target_project=*')],
  ['update_rbac_policy', ADMIN_OR_PROJECT_MEMBER, ADMIN_OR_OWNER],
  [
    'update_rbac_policy:target_tenant',
    or(ADMIN, '(not field:rbac_policy:target_tenant=* and not field:rbac_policy:target_project=*)'),
    'rule:restrict_wildcard and rule:admin_or_owner',
  ],
  ['update_rbac_policy:target_project', or(ADMIN, 'not field:rbac_policy:target_project=*')],
  ['get_rbac_policy', ADMIN_OR_PROJECT_READER, ADMIN_OR_OWNER],
  ['delete_rbac_policy', ADMIN_OR_PROJECT_MEMBER, ADMIN_OR_OWNER],

  // Read-only catalogues.
  ['get_availability_zone', 'role:reader', ANY],
  ['get_service_provider', 'role:reader', ANY],
];

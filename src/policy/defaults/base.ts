// Building-block rules that the per-resource defaults refer to (Neutron's
// conf/policies/base.py, current release; no scope check). Ownership is by project_id.
// Parent-owner rules read target keys such as `network:project_id`: Neutron
// looks the parent up lazily, our API layer must put them in the target
// before checking (PolicyEngine.targetKeys() tells which ones a rule needs).
import { building, or, ADMIN_OR_NET_OWNER, ADMIN_OR_OWNER, type RuleSpec } from './common.js';

export const BASE_RULES: readonly RuleSpec[] = [
  // Personas derived from roles alone; computeIsAdmin()/computeIsAdvsvc() use these.
  building('context_is_admin', 'role:admin'),
  building('context_is_advsvc', 'role:advsvc'),
  building('service_api', 'role:service'),
  building('context_with_global_access', '!'),
  building('admin_only', 'rule:context_is_admin'),
  building('regular_user', ''),

  // Ownership of the target itself.
  building('owner', 'project_id:%(project_id)s'),
  building('admin_or_owner', or('rule:context_is_admin', 'rule:owner')),
  // What oslo evaluates for actions that have no rule of their own.
  building('default', ADMIN_OR_OWNER),

  // Ownership of the network a subnet or port belongs to.
  building('network_owner', 'project_id:%(network:project_id)s'),
  building('admin_or_network_owner', or('rule:context_is_admin', 'project_id:%(network:project_id)s')),
  building('admin_owner_or_network_owner', or('rule:owner', ADMIN_OR_NET_OWNER)),

  // Ownership of a generic extension parent, and of a security group.
  building('ext_parent_owner', 'project_id:%(ext_parent:project_id)s'),
  building('admin_or_ext_parent_owner', or('rule:context_is_admin', 'project_id:%(ext_parent:project_id)s')),
  building('sg_owner', 'project_id:%(security_group:project_id)s'),

  // True when the target (a network, or a subnet/port carrying its network's
  // `shared` flag) is on a shared network.
  building('shared', 'field:networks:shared=True'),
];

// Default rules for security groups, their rules, and the admin-managed
// template of default security group rules (Neutron's security_group.py and
// default_security_group_rules.py). Rules of a group are governed by the
// group's owner (`security_group:project_id` in the target).
import {
  building,
  or,
  ADMIN,
  ADMIN_OR_OWNER,
  ADMIN_OR_PROJECT_MEMBER,
  ADMIN_OR_PROJECT_READER,
  ADMIN_OR_SG_OWNER_MEMBER,
  ADMIN_OR_SG_OWNER_READER,
  ANY,
  type RuleSpec,
} from './common.js';

export const SECURITY_GROUP_RULES: readonly RuleSpec[] = [
  building('admin_or_sg_owner', or('rule:context_is_admin', 'project_id:%(security_group:project_id)s')),
  building('admin_owner_or_sg_owner', or('rule:owner', 'rule:admin_or_sg_owner')),
  building('shared_security_group', 'field:security_groups:shared=True'),
  building('rule_default_sg', 'field:security_group_rules:belongs_to_default_sg=True'),

  ['create_security_group', ADMIN_OR_PROJECT_MEMBER, ADMIN_OR_OWNER],
  ['create_security_group:tags', ADMIN_OR_PROJECT_MEMBER],
  // The legacy form let anyone read any group; it stays OR-ed in, as in Neutron.
  ['get_security_group', or(ADMIN_OR_PROJECT_READER, 'rule:shared_security_group'), ANY],
  ['get_security_group:tags', or(ADMIN_OR_PROJECT_READER, 'rule:shared_security_group')],
  ['update_security_group', ADMIN_OR_PROJECT_MEMBER, ADMIN_OR_OWNER],
  ['update_security_group:tags', ADMIN_OR_PROJECT_MEMBER],
  ['delete_security_group', ADMIN_OR_PROJECT_MEMBER, ADMIN_OR_OWNER],
  ['delete_security_group:tags', ADMIN_OR_PROJECT_MEMBER],

  ['create_security_group_rule', ADMIN_OR_SG_OWNER_MEMBER, ADMIN_OR_OWNER],
  ['get_security_group_rule', ADMIN_OR_SG_OWNER_READER, 'rule:admin_owner_or_sg_owner'],
  ['delete_security_group_rule', ADMIN_OR_SG_OWNER_MEMBER, ADMIN_OR_OWNER],

  // Address groups (Neutron's address_group.py): reads are defined; the writes and the
  // add_addresses / remove_addresses actions fall to the `default` rule (admin or owner).
  building('shared_address_groups', 'field:address_groups:shared=True'),
  ['get_address_group', or(ADMIN_OR_PROJECT_READER, 'rule:shared_address_groups'), or(ADMIN_OR_OWNER, 'rule:shared_address_groups')],

  ['create_default_security_group_rule', ADMIN],
  ['get_default_security_group_rule', 'role:reader', ANY],
  ['delete_default_security_group_rule', ADMIN],
];

// Default rules for QoS and trunks (Neutron's qos.py and trunk.py). Under secure RBAC a project's
// managers manage its QoS policies and their rules, its readers read them, and everybody reads
// shared policies; the rules of a policy are governed by the policy's owner
// (`ext_parent:project_id` in the target). The legacy rules leave changes to admins and reading to
// anyone. Showing one rule type's driver details is for admins (the plugin itself refuses
// others). Trunks belong to their project.
import {
  building,
  either,
  or,
  widened,
  ADMIN,
  ADMIN_OR_OWNER,
  ADMIN_OR_PARENT_OWNER_MANAGER,
  ADMIN_OR_PARENT_OWNER_READER,
  ADMIN_OR_PROJECT_MANAGER,
  ADMIN_OR_PROJECT_MEMBER,
  ADMIN_OR_PROJECT_READER,
  ANY,
  type RuleSpec,
} from './common.js';

const RULE_TYPES = ['bandwidth_limit', 'dscp_marking', 'minimum_bandwidth', 'packet_rate_limit', 'minimum_packet_rate'];

// What neutrino enforced for reading QoS objects before Neutron's newer personas: anyone.
const LEGACY_READ = either(ADMIN_OR_PROJECT_READER, ANY);

export const QOS_RULES: readonly RuleSpec[] = [
  building('shared_qos_policy', 'field:policies:shared=True'),
  widened('get_policy', or(ADMIN_OR_PROJECT_READER, 'rule:shared_qos_policy'), LEGACY_READ),
  widened('create_policy', ADMIN_OR_PROJECT_MANAGER, ADMIN),
  widened('update_policy', ADMIN_OR_PROJECT_MANAGER, ADMIN),
  widened('delete_policy', ADMIN_OR_PROJECT_MANAGER, ADMIN),
  widened('get_rule_type', 'role:reader', either(ADMIN, ANY)),
  ...RULE_TYPES.flatMap((t): RuleSpec[] => [
    widened(`get_policy_${t}_rule`, ADMIN_OR_PARENT_OWNER_READER, LEGACY_READ),
    widened(`create_policy_${t}_rule`, ADMIN_OR_PARENT_OWNER_MANAGER, ADMIN),
    widened(`update_policy_${t}_rule`, ADMIN_OR_PARENT_OWNER_MANAGER, ADMIN),
    widened(`delete_policy_${t}_rule`, ADMIN_OR_PARENT_OWNER_MANAGER, ADMIN),
    widened(`get_alias_${t}_rule`, ADMIN_OR_PARENT_OWNER_READER, LEGACY_READ),
    widened(`update_alias_${t}_rule`, ADMIN_OR_PARENT_OWNER_MANAGER, ADMIN),
    widened(`delete_alias_${t}_rule`, ADMIN_OR_PARENT_OWNER_MANAGER, ADMIN),
  ]),
];

export const TRUNK_RULES: readonly RuleSpec[] = [
  ['create_trunk', ADMIN_OR_PROJECT_MEMBER, ANY],
  ['get_trunk', ADMIN_OR_PROJECT_READER, ADMIN_OR_OWNER],
  ['update_trunk', ADMIN_OR_PROJECT_MEMBER, ADMIN_OR_OWNER],
  ['delete_trunk', ADMIN_OR_PROJECT_MEMBER, ADMIN_OR_OWNER],
  ['get_subports', ADMIN_OR_PROJECT_READER, ANY],
  ['add_subports', ADMIN_OR_PROJECT_MEMBER, ADMIN_OR_OWNER],
  ['remove_subports', ADMIN_OR_PROJECT_MEMBER, ADMIN_OR_OWNER],
];

// Default rules for QoS and trunks (Neutron's qos.py and trunk.py). QoS policies and rules are
// an operator's tools: only admins change them, while any project may read those it can see
// (its own and shared ones) and attach them to its networks and ports. Showing one rule type's
// driver details is for admins (the plugin itself refuses others). Trunks belong to their project.
import {
  ADMIN, ADMIN_OR_OWNER, ADMIN_OR_PROJECT_MEMBER, ADMIN_OR_PROJECT_READER, ANY, type RuleSpec,
} from './common.js';

const RULE_TYPES = ['bandwidth_limit', 'dscp_marking', 'minimum_bandwidth', 'packet_rate_limit', 'minimum_packet_rate'];

export const QOS_RULES: readonly RuleSpec[] = [
  ['get_policy', ADMIN_OR_PROJECT_READER, ANY],
  ['create_policy', ADMIN, ADMIN],
  ['update_policy', ADMIN, ADMIN],
  ['delete_policy', ADMIN, ADMIN],
  ['get_rule_type', ADMIN, ANY],
  ...RULE_TYPES.flatMap((t): RuleSpec[] => [
    [`get_policy_${t}_rule`, ADMIN_OR_PROJECT_READER, ANY],
    [`create_policy_${t}_rule`, ADMIN, ADMIN],
    [`update_policy_${t}_rule`, ADMIN, ADMIN],
    [`delete_policy_${t}_rule`, ADMIN, ADMIN],
    [`get_alias_${t}_rule`, ADMIN_OR_PROJECT_READER, ANY],
    [`update_alias_${t}_rule`, ADMIN, ADMIN],
    [`delete_alias_${t}_rule`, ADMIN, ADMIN],
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

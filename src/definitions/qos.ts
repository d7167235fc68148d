// Quality of Service (neutron_lib's qos, qos-default, qos-bw-limit-direction,
// qos-bw-minimum-ingress, qos-rule-type-details, qos-rule-type-filter and qos-rules-alias):
// policies under /v2.0/qos/policies, their rules as sub-resources of a policy, the same rules
// reachable by id alone (/v2.0/qos/alias-<type>-rules/{id}) and the rule types the drivers support.
import type { AttributeDef, ResourceDef, Validator } from '../core/definition.js';
import { COLUMN, idAttr, nameAttr, projectAttrs, standardAttrs } from './common.js';
import { boolean, filterBool, filterInt, intRange, oneOf, toBoolean, toInt } from './validators.js';

/** neutron_lib.constants.VALID_DSCP_MARKS: the class selectors, AF classes and EF. */
export const VALID_DSCP_MARKS = [0, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36, 38, 40, 46, 48, 56] as const;
export const DIRECTIONS = ['ingress', 'egress'] as const;
/** DB_INTEGER_MAX_VALUE: the upper bound of every kbps value. */
export const KBPS_MAX = 2147483647;

export const RULE_TYPE_BANDWIDTH_LIMIT = 'bandwidth_limit';
export const RULE_TYPE_DSCP_MARKING = 'dscp_marking';
export const RULE_TYPE_MINIMUM_BANDWIDTH = 'minimum_bandwidth';
export const RULE_TYPE_PACKET_RATE_LIMIT = 'packet_rate_limit';
export const RULE_TYPE_MINIMUM_PACKET_RATE = 'minimum_packet_rate';
/** VALID_DIRECTIONS_AND_ANY: minimum packet rate rules may count both directions together. */
export const DIRECTIONS_AND_ANY = ['ingress', 'egress', 'any'] as const;
/** neutron_lib's VALID_RULE_TYPES, in its order (rules of a policy are listed in this order). */
export const VALID_RULE_TYPES = [
  RULE_TYPE_BANDWIDTH_LIMIT, RULE_TYPE_DSCP_MARKING, RULE_TYPE_MINIMUM_BANDWIDTH, RULE_TYPE_MINIMUM_PACKET_RATE, RULE_TYPE_PACKET_RATE_LIMIT,
] as const;

const kbps: Validator = (v, attr) => intRange(0, KBPS_MAX)(v, attr);
const dscpMark: Validator = (v, attr) => oneOf(VALID_DSCP_MARKS)(toInt(v, attr), attr);
const direction: Validator = oneOf(DIRECTIONS);

export const qosPolicyDef: ResourceDef = {
  name: 'policy',
  collection: 'policies',
  path: 'qos/policies',
  table: 'qos_policies',
  taggable: true,
  attributes: {
    id: idAttr,
    name: nameAttr,
    ...projectAttrs,
    shared: {
      allowPost: true, allowPut: true, default: false, validate: boolean, visible: true, filter: true,
      filterConvert: filterBool, requiredByPolicy: true,
    },
    rules: { allowPost: false, allowPut: false, visible: true },
    is_default: {
      allowPost: true, allowPut: true, default: false, validate: boolean, visible: true, filter: true,
      filterConvert: filterBool, extension: 'qos-default',
    },
    ...standardAttrs,
  },
};

/** The attributes every rule has: its id and (input only, as in Neutron) the caller's project. */
const ruleCommon: Record<string, AttributeDef> = {
  id: idAttr,
  tenant_id: { allowPost: true, allowPut: false, visible: true, requiredByPolicy: true },
  project_id: { allowPost: true, allowPut: false, visible: true, requiredByPolicy: true, extension: 'project-id' },
  // The policy the rule belongs to: from the URL, not shown in the rule's own view.
  qos_policy_id: { allowPost: false, allowPut: false, visible: false, filter: true, column: COLUMN },
};

export interface RuleTypeSpec {
  /** bandwidth_limit, dscp_marking, minimum_bandwidth. */
  type: string;
  /** The rule's own attributes (besides the common ones). */
  attributes: Record<string, AttributeDef>;
  /** The extension that brings the rule type (none: qos itself). */
  extension?: string;
  /** The extension that serves the rule by id alone at /v2.0/qos/alias-<type>-rules/{id}. */
  aliasExtension?: string;
}

export const RULE_SPECS: readonly RuleTypeSpec[] = [
  {
    type: RULE_TYPE_BANDWIDTH_LIMIT,
    attributes: {
      max_kbps: { allowPost: true, allowPut: true, validate: kbps, visible: true, filter: true, filterConvert: filterInt, sortKey: true },
      max_burst_kbps: {
        allowPost: true, allowPut: true, default: 0, validate: kbps, visible: true, filter: true, filterConvert: filterInt, sortKey: true,
      },
      direction: {
        allowPost: true, allowPut: true, default: 'egress', validate: direction, visible: true, filter: true, sortKey: true,
        extension: 'qos-bw-limit-direction',
      },
    },
    aliasExtension: 'qos-rules-alias',
  },
  {
    type: RULE_TYPE_DSCP_MARKING,
    attributes: {
      dscp_mark: { allowPost: true, allowPut: true, validate: dscpMark, visible: true, filter: true, filterConvert: filterInt, sortKey: true },
    },
    aliasExtension: 'qos-rules-alias',
  },
  {
    type: RULE_TYPE_MINIMUM_BANDWIDTH,
    attributes: {
      min_kbps: { allowPost: true, allowPut: true, validate: kbps, visible: true, filter: true, filterConvert: filterInt, sortKey: true },
      // qos-bw-minimum-ingress widens Neutron's egress-only direction to both.
      direction: { allowPost: true, allowPut: true, default: 'egress', validate: direction, visible: true, filter: true, sortKey: true },
    },
    aliasExtension: 'qos-rules-alias',
  },
  {
    type: RULE_TYPE_PACKET_RATE_LIMIT,
    extension: 'qos-pps',
    attributes: {
      max_kpps: { allowPost: true, allowPut: true, validate: kbps, visible: true, filter: true, filterConvert: filterInt, sortKey: true },
      max_burst_kpps: {
        allowPost: true, allowPut: true, default: 0, validate: kbps, visible: true, filter: true, filterConvert: filterInt, sortKey: true,
      },
      direction: { allowPost: true, allowPut: true, default: 'egress', validate: direction, visible: true, filter: true, sortKey: true },
    },
  },
  {
    type: RULE_TYPE_MINIMUM_PACKET_RATE,
    extension: 'qos-pps-minimum',
    aliasExtension: 'qos-pps-minimum-rule-alias',
    attributes: {
      min_kpps: { allowPost: true, allowPut: true, validate: kbps, visible: true, filter: true, filterConvert: filterInt, sortKey: true },
      direction: {
        allowPost: true, allowPut: true, default: 'egress', validate: oneOf(DIRECTIONS_AND_ANY), visible: true, filter: true, sortKey: true,
      },
    },
  },
];

/** /v2.0/qos/policies/{policy_id}/<type>_rules, stored in qos_<type>_rules, a column per attribute. */
export function qosRuleDef(spec: RuleTypeSpec): ResourceDef {
  const own = Object.fromEntries(Object.entries(spec.attributes).map(([k, a]) => [k, { ...a, column: COLUMN }]));
  return {
    name: `${spec.type}_rule`,
    collection: `${spec.type}_rules`,
    table: `qos_${spec.type}_rules`,
    parentPath: 'qos/policies',
    parent: { resource: 'policy', idAttr: 'qos_policy_id' },
    attributes: { ...ruleCommon, ...own },
  };
}

/** qos-rules-alias: /v2.0/qos/alias-<type>-rules/{id}, show, update and delete only. */
export function qosRuleAliasDef(spec: RuleTypeSpec): ResourceDef {
  const attributes: Record<string, AttributeDef> = {
    id: idAttr,
    tenant_id: { allowPost: false, allowPut: false, visible: true, requiredByPolicy: true },
    project_id: { allowPost: false, allowPut: false, visible: true, requiredByPolicy: true, extension: 'project-id' },
  };
  for (const [k, a] of Object.entries(spec.attributes)) attributes[k] = { ...a, allowPost: false, extension: undefined };
  return {
    name: `alias_${spec.type}_rule`,
    collection: `alias_${spec.type}_rules`,
    path: `qos/alias-${spec.type.replace(/_/g, '-')}-rules`,
    operations: ['show', 'update', 'delete'],
    attributes,
  };
}

/** convert_to_boolean_if_not_none, for the rule-type filters. */
const boolFilter = (raw: string) => toBoolean(raw);

/** /v2.0/qos/rule-types (qos, qos-rule-type-details, qos-rule-type-filter). */
export const qosRuleTypeDef: ResourceDef = {
  name: 'rule_type',
  collection: 'rule_types',
  path: 'qos/rule-types',
  operations: ['list', 'show'],
  attributes: {
    type: { allowPost: false, allowPut: false, visible: true },
    drivers: { allowPost: false, allowPut: false, visible: true, extension: 'qos-rule-type-details' },
    all_rules: { allowPost: false, allowPut: false, visible: false, filter: true, filterConvert: boolFilter, extension: 'qos-rule-type-filter' },
    all_supported: {
      allowPost: false, allowPut: false, visible: false, filter: true, filterConvert: boolFilter, extension: 'qos-rule-type-filter',
    },
  },
};

// Neutron's default policy, as the engine loads it before any policy file.
//
// The tables under ./defaults/ hold [name, check, legacy?, traits?] specs
// taken from the current neutron/conf/policies/*.py (see defaults/common.ts).
// With [oslo_policy] enforce_new_defaults = True a default is its `check`
// alone: the secure-RBAC personas (project reader, member, manager; admin;
// service). With it False, as oslo.policy does for a default that has a
// deprecated rule, the effective rule is `(check) or (legacy)`, so persona
// checks such as `role:member and project_id:%(project_id)s` and old-style
// checks such as `rule:admin_or_owner` both grant access. A policy-file entry
// replaces the whole effective rule, as in oslo.

import { BASE_RULES } from './defaults/base.js';
import type { RuleSpec } from './defaults/common.js';
import { L3_RULES } from './defaults/l3.js';
import { MISC_RULES } from './defaults/misc.js';
import { METERING_RULES } from './defaults/metering.js';
import { NETWORK_RULES } from './defaults/network.js';
import { NETWORK_SEGMENT_RANGE_RULES } from './defaults/network-segment-range.js';
import { PORT_RULES } from './defaults/port.js';
import { QOS_RULES, TRUNK_RULES } from './defaults/qos-trunk.js';
import { SECURITY_GROUP_RULES } from './defaults/security_group.js';
import { SEGMENT_RULES } from './defaults/segment.js';
import { SUBNET_RULES } from './defaults/subnet.js';

export type { RuleSpec } from './defaults/common.js';

export const DEFAULT_RULE_SPECS: readonly RuleSpec[] = [
  ...BASE_RULES,
  ...NETWORK_RULES,
  ...SUBNET_RULES,
  ...PORT_RULES,
  ...L3_RULES,
  ...SECURITY_GROUP_RULES,
  ...MISC_RULES,
  ...METERING_RULES,
  ...QOS_RULES,
  ...TRUNK_RULES,
  ...SEGMENT_RULES,
  ...NETWORK_SEGMENT_RANGE_RULES,
];

/** The rule oslo enforces for a default, by the value of enforce_new_defaults. */
export function effectiveRule([, check, legacy, traits]: RuleSpec, enforceNewDefaults = false): string {
  if (enforceNewDefaults || legacy === undefined || legacy === check) return check;
  return traits?.legacyAlone ? legacy : `(${check}) or (${legacy})`;
}

// Tag rules were introduced as `<action>_<collection>_tags` and renamed to
// `<action>_<resource>:tags` in the same Neutron cycle. Both names work here:
// the old one is an alias of the new, and (like oslo's deprecated names) a
// policy-file entry for the old name also applies to the new one unless the
// file sets the new name itself.
const TAGGED_RESOURCES: ReadonlyArray<readonly [resource: string, collection: string]> = [
  ['network', 'networks'],
  ['subnet', 'subnets'],
  ['port', 'ports'],
  ['subnetpool', 'subnetpools'],
  ['router', 'routers'],
  ['floatingip', 'floatingips'],
  ['security_group', 'security_groups'],
  ['network_segment_range', 'network_segment_ranges'],
];

/** Old rule name -> current rule name. */
export const RENAMED_RULES: ReadonlyMap<string, string> = new Map(
  TAGGED_RESOURCES.flatMap(([res, coll]) =>
    ['create', 'get', 'update', 'delete'].map((a): [string, string] => [`${a}_${coll}_tags`, `${a}_${res}:tags`]),
  ),
);

/**
 * Rule name -> effective rule string for `specs` (the loaded plugins' defaults), with the
 * renamed-rule aliases of the rules among them.
 */
export function buildDefaults(specs: readonly RuleSpec[], enforceNewDefaults: boolean): ReadonlyMap<string, string> {
  const out = new Map<string, string>();
  for (const spec of specs) {
    if (out.has(spec[0])) throw new Error(`duplicate default policy rule "${spec[0]}"`);
    out.set(spec[0], effectiveRule(spec, enforceNewDefaults));
  }
  for (const [old, current] of RENAMED_RULES) {
    if (!out.has(old) && out.has(current)) out.set(old, `rule:${current}`);
  }
  return out;
}

/** Rule name -> effective rule string with enforce_new_defaults off, for every default (aliases included). */
export const DEFAULT_RULES: ReadonlyMap<string, string> = buildDefaults(DEFAULT_RULE_SPECS, false);

/** The same with enforce_new_defaults on: the secure-RBAC rules alone. */
export const NEW_DEFAULT_RULES: ReadonlyMap<string, string> = buildDefaults(DEFAULT_RULE_SPECS, true);

/**
 * Defaults that are API rules, scope_types=['project'] in Neutron (all of them
 * since 2023.2): with enforce_scope a token of another scope (system, domain)
 * is refused them. Building blocks and the renamed-rule aliases have no scope.
 */
export const PROJECT_SCOPED_RULES: ReadonlySet<string> = new Set(
  DEFAULT_RULE_SPECS.filter(([, , , traits]) => !traits?.unscoped).map(([name]) => name),
);

/** Default specs by rule name (aliases excluded). */
export const DEFAULT_SPECS_BY_NAME: ReadonlyMap<string, RuleSpec> = new Map(DEFAULT_RULE_SPECS.map((s) => [s[0], s]));

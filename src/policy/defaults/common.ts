// Building blocks for Neutron's default policy rules.
//
// Each default is a RuleSpec: [name, check, legacy?, traits?]. `check` is the
// current ("new defaults", secure-RBAC persona) rule, which oslo enforces alone
// with [oslo_policy] enforce_new_defaults = True (Neutron's default since
// 2023.2); `legacy` is the rule it replaced. With enforce_new_defaults = False
// (Neutron's behaviour up to Zed, and our default) the effective rule is
// `(check) or (legacy)`; see effectiveRule() in ../defaults.ts.
//
// The fragment names follow neutron-lib's persona vocabulary so the tables
// read like Neutron's own policy modules; the strings are the data that
// Neutron ships.

export interface RuleTraits {
  /**
   * A building block that other rules refer to (oslo RuleDefault without
   * scope_types), never enforced by itself: no token scope check. Every other
   * default is an API rule, and all of Neutron's are scope_types=['project'].
   */
  readonly unscoped?: true;
  /**
   * Neutron widened `check` (manager persona, shared QoS policies) after our
   * legacy behaviour was fixed: with enforce_new_defaults = False enforce
   * `legacy` alone, which is exactly the rule this default always had here,
   * rather than oslo's `(check) or (legacy)`.
   */
  readonly legacyAlone?: true;
}

export type RuleSpec = readonly [name: string, check: string, legacy?: string, traits?: RuleTraits];

/** A building-block rule (see RuleTraits.unscoped). */
export const building = (name: string, check: string): RuleSpec => [name, check, undefined, { unscoped: true }];

/** A default whose legacy-mode rule is `legacy` alone (see RuleTraits.legacyAlone). */
export const widened = (name: string, check: string, legacy: string): RuleSpec => [name, check, legacy, { legacyAlone: true }];

/** Joins alternatives the way Neutron composes its defaults (plain ' or ', no extra parentheses). */
export const or = (...parts: string[]): string => parts.join(' or ');

// Single-rule references.
export const ADMIN = 'rule:admin_only';
export const SERVICE = 'rule:service_api';
export const ANY = 'rule:regular_user';
export const ADVSVC = 'rule:context_is_advsvc';
export const ADMIN_OR_OWNER = 'rule:admin_or_owner';
export const ADMIN_OR_NET_OWNER = 'rule:admin_or_network_owner';

// Project personas: a role plus ownership of the target.
export const PROJECT_MANAGER = 'role:manager and project_id:%(project_id)s';
export const PROJECT_MEMBER = 'role:member and project_id:%(project_id)s';
export const PROJECT_READER = 'role:reader and project_id:%(project_id)s';

// Personas over the owner of the network a subnet/port lives on
// (the caller pre-fills `network:project_id` / `network:tenant_id`).
export const NET_OWNER_MANAGER = 'role:manager and rule:network_owner';
export const NET_OWNER_MEMBER = 'role:member and rule:network_owner';
export const NET_OWNER_READER = 'role:reader and rule:network_owner';

// Personas over the owner of a security group (for its rules).
export const SG_OWNER_MEMBER = 'role:member and rule:sg_owner';
export const SG_OWNER_READER = 'role:reader and rule:sg_owner';

export const either = (a: string, b: string): string => `(${a}) or (${b})`;
export const ADMIN_OR_SERVICE = either(ADMIN, SERVICE);
export const ADMIN_OR_PROJECT_MANAGER = either(ADMIN, PROJECT_MANAGER);
export const ADMIN_OR_PROJECT_MEMBER = either(ADMIN, PROJECT_MEMBER);
export const ADMIN_OR_PROJECT_READER = either(ADMIN, PROJECT_READER);
export const ADMIN_OR_NET_OWNER_MEMBER = either(ADMIN, NET_OWNER_MEMBER);
export const ADMIN_OR_NET_OWNER_READER = either(ADMIN, NET_OWNER_READER);
export const ADMIN_OR_SG_OWNER_MEMBER = either(ADMIN, SG_OWNER_MEMBER);
export const ADMIN_OR_SG_OWNER_READER = either(ADMIN, SG_OWNER_READER);

// Personas over a generic extension parent (a QoS policy for its rules); the
// caller pre-fills `ext_parent:project_id`.
export const ADMIN_OR_PARENT_OWNER_MANAGER = either(ADMIN, 'role:manager and rule:ext_parent_owner');
export const ADMIN_OR_PARENT_OWNER_READER = either(ADMIN, 'role:reader and rule:ext_parent_owner');

// The policy engine: Neutron's defaults, overlaid with an operator policy
// file and programmatic overrides, compiled once at construction.
//
// Semantics follow oslo.policy's Enforcer as Neutron configures it:
//   * an action with no rule of its own is judged by the `default` rule, and
//     so is a `rule:NAME` reference to an undefined rule;
//   * a policy-file entry replaces the default rule of that name entirely;
//     several files (policy_file, then the policy_dirs files) apply in order;
//   * with enforce_new_defaults off, callers whose credentials say is_admin
//     are let through without looking at the rule (Neutron's policy.check and
//     enforce do this); with it on, the secure-RBAC defaults are enforced for
//     everybody;
//   * with enforce_scope on, a token that is not project-scoped (system or
//     domain) is refused every project-scoped default (oslo's InvalidScope),
//     before the rule is looked at; only the action's own scope counts, not
//     that of rules it refers to.
// The rule table is immutable: to reload a policy file, build a new engine
// (compiled rules are cached by text, so that is cheap).

import type { RequestContext } from '../core/context.js';
import {
  alwaysFalse,
  describeNode,
  targetKeysOf,
  walkNode,
  type CheckNode,
  type Creds,
  type Evaluator,
  type RuleResolver,
  type Target,
} from './checks.js';
import {
  buildDefaults,
  DEFAULT_RULES,
  DEFAULT_SPECS_BY_NAME,
  NEW_DEFAULT_RULES,
  PROJECT_SCOPED_RULES,
  RENAMED_RULES,
  type RuleSpec,
} from './defaults.js';
import { PolicyFileError, readPolicyFile, type RuleSource } from './file.js';
import { compileRule, PolicyRuleError, type CompiledRule } from './parser.js';

/** What a rule sees of the caller; mirrors neutron-lib's Context.to_policy_values(). */
export interface PolicyCredentials {
  user_id: string | null;
  project_id: string | null;
  /** Same as project_id; legacy rules (and operator files) still say tenant_id. */
  tenant_id: string | null;
  roles: string[];
  /** Compute with computeIsAdmin(); true skips rule evaluation in check(). */
  is_admin: boolean;
  [k: string]: unknown;
}

export interface PolicyEngineOptions {
  /** YAML or JSON file of rule name -> rule string, overriding defaults. */
  policyFile?: string;
  /** More such files, applied after policyFile in order: a later file's rule wins. */
  policyFiles?: readonly string[];
  /** Applied after the policy files; same format. */
  overrides?: Record<string, string>;
  /** The default rules of the loaded plugins (default: every rule neutrino has). */
  defaults?: readonly RuleSpec[];
  /** [oslo_policy] enforce_new_defaults: the secure-RBAC defaults alone. Default false. */
  enforceNewDefaults?: boolean;
  /** [oslo_policy] enforce_scope: refuse project-scoped rules to system/domain-scoped tokens. Default false. */
  enforceScope?: boolean;
  /**
   * Let is_admin credentials pass every check. Default: true unless
   * enforceNewDefaults (Neutron skips the rules for admins only in legacy mode).
   */
  adminBypass?: boolean;
}

const DEFAULT_RULE = 'default';

export class PolicyEngine implements RuleResolver {
  private readonly compiled = new Map<string, CompiledRule>();
  // Hot-path table: rule name -> evaluator, separate so lookups touch one Map.
  private readonly evaluators = new Map<string, Evaluator>();
  private readonly fallback: Evaluator;
  private readonly adminBypass: boolean;
  private readonly enforceScope: boolean;
  private readonly keyCache = new Map<string, ReadonlySet<string>>();
  private readonly notCache = new Map<string, boolean>();

  constructor(opts: PolicyEngineOptions = {}) {
    const newDefaults = opts.enforceNewDefaults ?? false;
    this.adminBypass = opts.adminBypass ?? !newDefaults;
    this.enforceScope = opts.enforceScope ?? false;
    const custom: CustomRules = new Map();
    const files = opts.policyFile === undefined ? [...(opts.policyFiles ?? [])] : [opts.policyFile, ...(opts.policyFiles ?? [])];
    for (const file of files) {
      for (const [name, rule] of readPolicyFile(file)) custom.set(name, { rule, file });
    }
    for (const [name, rule] of Object.entries(opts.overrides ?? {})) custom.set(name, { rule });

    const defaults = opts.defaults ? buildDefaults(opts.defaults, newDefaults) : newDefaults ? NEW_DEFAULT_RULES : DEFAULT_RULES;
    for (const [name, text] of defaults) this.compiled.set(name, compileRule(text, name));
    for (const [name, { rule, file }] of custom) this.compiled.set(name, compileCustom(name, rule, file));
    this.applyRenamedOverrides(custom);

    for (const [name, c] of this.compiled) this.evaluators.set(name, c.evaluate);
    this.fallback = this.evaluators.get(DEFAULT_RULE) ?? alwaysFalse;
    this.assertNoCycles(custom);
  }

  /**
   * May `creds` perform `action` on `target`? `target` is the resource (or,
   * for a create, the request body plus project_id) with any parent-owner keys
   * the rule needs (see targetKeys()) already filled in.
   */
  check(action: string, target: Target, creds: PolicyCredentials): boolean {
    if (this.adminBypass && creds.is_admin === true) return true;
    if (this.enforceScope && !this.inScope(action, creds)) return false;
    return this.resolve(action)(target, creds, this);
  }

  /**
   * Whether `creds` may perform `action` on any target at all: true only when the rule passes
   * without reading the target (so a list can decide it once per request, not per row).
   */
  allowsAnyTarget(action: string, creds: PolicyCredentials): boolean {
    if (this.adminBypass && creds.is_admin === true) return true;
    if (this.enforceScope && !this.inScope(action, creds)) return false;
    const r = this.withoutTarget(action, creds);
    return r === true;
  }

  /**
   * Whether `action` refuses `creds` every target: false without reading the target (so a
   * list can leave that attribute out once per request, not per row).
   */
  deniesEveryTarget(action: string, creds: PolicyCredentials): boolean {
    if (this.adminBypass && creds.is_admin === true) return false;
    if (this.enforceScope && !this.inScope(action, creds)) return true;
    return this.withoutTarget(action, creds) === false;
  }

  /** The rule's answer when it does not read the target, else undefined. */
  private withoutTarget(action: string, creds: PolicyCredentials): boolean | undefined {
    let read = false;
    const probe = new Proxy({} as Target, {
      get: () => ((read = true), undefined),
      has: () => ((read = true), false),
      ownKeys: () => ((read = true), []),
      getOwnPropertyDescriptor: () => ((read = true), undefined),
    });
    const answer = this.resolve(action)(probe, creds, this);
    return read ? undefined : answer;
  }

  /**
   * Whether `action` allows `creds` every target of a set that `samples` stand for: each sample
   * gives the keys every target of the set shares (the caller's project as owner, say), and a
   * value of its own that no check can match (an unknown owner) for each key that varies. Sound
   * only for rules without `not` that read no other target key: with neither, a rule that passes
   * with the unmatchable values passes with any value in their place.
   */
  allowsEveryTargetLike(action: string, creds: PolicyCredentials, samples: readonly Target[]): boolean {
    if (this.adminBypass && creds.is_admin === true) return true;
    if (this.enforceScope && !this.inScope(action, creds)) return false;
    if (!samples.length || this.negates(action)) return false;
    for (const k of this.targetKeys(action)) if (!samples.every((t) => k in t)) return false;
    const rule = this.resolve(action);
    return samples.every((t) => rule(t, creds, this));
  }

  /** Whether a `not` check is among the rules `action` may evaluate (following references). */
  private negates(action: string): boolean {
    let found = this.notCache.get(action);
    if (found === undefined) {
      found = false;
      const seen = new Set<string>();
      const visitRule = (name: string): void => {
        const resolved = this.resolvedName(name);
        if (resolved === undefined || seen.has(resolved)) return;
        seen.add(resolved);
        walkNode(this.compiled.get(resolved)!.node, (n) => {
          if (n.kind === 'rule') visitRule(n.name);
          else if (n.kind === 'not') found = true;
        });
      };
      visitRule(action);
      this.notCache.set(action, found);
    }
    return found;
  }

  /**
   * Whether the token's scope fits `action` (oslo's scope_types check): true
   * for a project-scoped token, or an action that is not a project-scoped
   * default. Consulted by check() only when enforce_scope is on.
   */
  inScope(action: string, creds: Creds): boolean {
    return tokenScope(creds) === 'project' || !PROJECT_SCOPED_RULES.has(action);
  }

  /** Evaluates the rule itself, without the is_admin shortcut of check(). */
  evaluate(action: string, target: Target, creds: Creds): boolean {
    return this.resolve(action)(target, creds, this);
  }

  /** Whether `action` has a rule of its own (rather than falling back to `default`). */
  has(action: string): boolean {
    return this.evaluators.has(action);
  }

  /** @internal Rule lookup used by `rule:NAME` checks during evaluation. */
  resolve(name: string): Evaluator {
    return this.evaluators.get(name) ?? this.fallback;
  }

  /** The rule text in force for `name` (after file and overrides), if defined. */
  ruleText(name: string): string | undefined {
    return this.compiled.get(name)?.text;
  }

  ruleNames(): string[] {
    return [...this.compiled.keys()];
  }

  /**
   * Every target key that evaluating `action` may read, following rule
   * references. The API layer uses it to decide which parent-owner keys
   * (e.g. `network:project_id`) it must look up before checking.
   */
  targetKeys(action: string): ReadonlySet<string> {
    let keys = this.keyCache.get(action);
    if (keys === undefined) {
      const found = new Set<string>();
      const seen = new Set<string>();
      const visitRule = (name: string): void => {
        const resolved = this.resolvedName(name);
        if (resolved === undefined || seen.has(resolved)) return;
        seen.add(resolved);
        walkNode(this.compiled.get(resolved)!.node, (n) => {
          if (n.kind === 'rule') visitRule(n.name);
          else targetKeysOf(n, found);
        });
      };
      visitRule(action);
      keys = found;
      this.keyCache.set(action, keys);
    }
    return keys;
  }

  /** Rule names referenced by `rule:` checks that are not defined (they act as `default`). */
  undefinedReferences(): string[] {
    const missing = new Set<string>();
    for (const c of this.compiled.values()) {
      walkNode(c.node, (n) => {
        if (n.kind === 'rule' && !this.compiled.has(n.name)) missing.add(n.name);
      });
    }
    return [...missing];
  }

  private resolvedName(name: string): string | undefined {
    if (this.compiled.has(name)) return name;
    return this.compiled.has(DEFAULT_RULE) ? DEFAULT_RULE : undefined;
  }

  // oslo: a file entry under a rule's old name applies to the new name,
  // unless the file also sets the new name, or the entry merely restates the
  // old default or points at the new rule.
  private applyRenamedOverrides(custom: CustomRules): void {
    for (const [oldName, newName] of RENAMED_RULES) {
      const entry = custom.get(oldName);
      if (entry === undefined || custom.has(newName)) continue;
      const spec = DEFAULT_SPECS_BY_NAME.get(newName);
      const given = describeNode(this.compiled.get(oldName)!.node);
      const oldDefault = spec === undefined ? undefined : describeNode(compileRule(spec[2] ?? spec[1], newName).node);
      if (given !== oldDefault && given !== `rule:${newName}`) this.compiled.set(newName, this.compiled.get(oldName)!);
    }
  }

  // A reference cycle would recurse forever at evaluation time; refuse it at
  // load time instead, naming the rules involved.
  private assertNoCycles(custom: CustomRules): void {
    const state = new Map<string, 'active' | 'done'>();
    const path: string[] = [];
    const visit = (name: string): void => {
      const s = state.get(name);
      if (s === 'done') return;
      if (s === 'active') {
        const cycle = [...path.slice(path.indexOf(name)), name];
        const msg = `rule references form a cycle: ${cycle.join(' -> ')}`;
        const where = cycle.find((n) => custom.has(n));
        if (where === undefined) throw new Error(`policy defaults: ${msg}`);
        const file = custom.get(where)!.file;
        throw file !== undefined ? new PolicyFileError(file, where, msg) : new PolicyRuleError(where, this.compiled.get(where)!.text, msg);
      }
      state.set(name, 'active');
      path.push(name);
      walkNode(this.compiled.get(name)!.node, (n: CheckNode) => {
        if (n.kind !== 'rule') return;
        const next = this.resolvedName(n.name);
        if (next !== undefined) visit(next);
      });
      path.pop();
      state.set(name, 'done');
    };
    for (const name of this.compiled.keys()) visit(name);
  }
}

/** Operator-supplied rules, with the file they came from (none for `overrides`). */
type CustomRules = Map<string, { rule: RuleSource; file?: string }>;

// Parse errors in a policy file are reported against the file; errors in
// programmatic overrides keep their PolicyRuleError (which names the rule).
function compileCustom(name: string, rule: RuleSource, file: string | undefined): CompiledRule {
  try {
    return compileRule(rule, name);
  } catch (e) {
    if (e instanceof PolicyRuleError && file !== undefined) {
      throw new PolicyFileError(file, name, `${e.reason} in ${JSON.stringify(e.ruleText)}`);
    }
    throw e;
  }
}

/** oslo's reading of a token's scope from the credentials. */
export function tokenScope(creds: Creds): 'system' | 'domain' | 'project' {
  if (creds['system_scope']) return 'system';
  if (creds['domain_id']) return 'domain';
  return 'project';
}

/**
 * Neutron's check_is_admin(): evaluates `context_is_admin` with the
 * credentials as both target and credentials; false if the rule is absent.
 */
export function computeIsAdmin(engine: PolicyEngine, creds: Creds): boolean {
  return credentialRule(engine, 'context_is_admin', creds);
}

/** Neutron's check_is_advsvc(), on `context_is_advsvc`. */
export function computeIsAdvsvc(engine: PolicyEngine, creds: Creds): boolean {
  return credentialRule(engine, 'context_is_advsvc', creds);
}

/** Whether the caller is a service user (`service_api`, i.e. role:service). */
export function computeIsServiceRole(engine: PolicyEngine, creds: Creds): boolean {
  return credentialRule(engine, 'service_api', creds);
}

function credentialRule(engine: PolicyEngine, rule: string, creds: Creds): boolean {
  return engine.has(rule) && engine.evaluate(rule, creds, creds);
}

/** Policy view of a request context (extra fields first, so they cannot shadow the core ones). */
export function toPolicyCredentials(ctx: RequestContext): PolicyCredentials {
  return {
    ...ctx.extra,
    user_id: ctx.userId,
    project_id: ctx.projectId,
    tenant_id: ctx.projectId,
    roles: ctx.roles,
    is_admin: ctx.isAdmin,
  };
}

// The check tree of the oslo.policy rule language, and its compilation into
// plain closures.
//
// A rule string is parsed once (parser.ts) into a CheckNode tree; the tree is
// then turned into an Evaluator closure that does no parsing, no string
// building and (for ordinary string/boolean values) no allocation when it
// runs. Listing 10,000 ports runs several attribute rules per port, so the
// per-call cost is what matters here, not the one-off compile cost.

/** The object being acted on (a resource dict, plus any pre-filled parent-owner keys). */
export type Target = Readonly<Record<string, unknown>>;
/** The caller's credentials (see PolicyCredentials in engine.ts). */
export type Creds = Readonly<Record<string, unknown>>;

/** Compiled form of a check: true when access is granted. */
export type Evaluator = (target: Target, creds: Creds, rules: RuleResolver) => boolean;

/**
 * Looks a rule up by name at evaluation time. `rule:NAME` is resolved late so
 * that one compiled tree (cached by rule text) can be shared by engines with
 * different rule tables. Unknown names must resolve to the `default` rule, as
 * oslo's Rules mapping does. A resolver must give the same answer for a name
 * for as long as it lives: `rule:` checks memoise the last resolver's answer.
 */
export interface RuleResolver {
  resolve(name: string): Evaluator;
}

/** Text with `%(key)s` substitutions from the target, pre-split at parse time. */
export type Template =
  | { readonly type: 'literal'; readonly text: string }
  | { readonly type: 'key'; readonly key: string }
  | { readonly type: 'mixed'; readonly parts: ReadonlyArray<string | { readonly key: string }> };

/** A parsed rule. Mirrors oslo's Check classes plus Neutron's FieldCheck. */
export type CheckNode =
  | { readonly kind: 'true' }
  | { readonly kind: 'false' }
  | { readonly kind: 'not'; readonly operand: CheckNode }
  | { readonly kind: 'and'; readonly operands: readonly CheckNode[] }
  | { readonly kind: 'or'; readonly operands: readonly CheckNode[] }
  | { readonly kind: 'rule'; readonly name: string }
  | { readonly kind: 'role'; readonly role: Template; readonly text: string }
  | {
      readonly kind: 'generic';
      /** Dotted path into the credentials, or null when the left side is a literal. */
      readonly credPath: readonly string[] | null;
      /** Python str() of the literal left side (`'True'`, `True`, `42`), when not a path. */
      readonly literal: string | null;
      readonly match: Template;
      readonly text: string;
    }
  | {
      readonly kind: 'field';
      readonly resource: string;
      readonly field: string;
      /** The raw text after `=`. */
      readonly value: string;
      readonly text: string;
    };

// ---------------------------------------------------------------------------
// Python str() for target and credential values. oslo compares everything as
// strings produced by Python's str(), so booleans must read "True"/"False" and
// null must read "None". Strings come back unchanged (no allocation).

export function pyStr(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return v;
    case 'boolean':
      return v ? 'True' : 'False';
    case 'number':
      return String(v);
    case 'bigint':
      return v.toString();
    default:
      return v === null || v === undefined ? 'None' : pyRepr(v);
  }
}

// Rough Python repr() for containers; only reached when a policy compares a
// list or dict, which no default rule does.
function pyRepr(v: unknown): string {
  if (typeof v === 'string') return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.entries(v)
      .map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`)
      .join(', ')}}`;
  }
  return pyStr(v);
}

// ---------------------------------------------------------------------------
// Compilation.

const ALWAYS: Evaluator = () => true;
const NEVER: Evaluator = () => false;
/** Evaluator that denies; what an engine without a `default` rule falls back to. */
export const alwaysFalse: Evaluator = NEVER;

export function compileNode(node: CheckNode): Evaluator {
  switch (node.kind) {
    case 'true':
      return ALWAYS;
    case 'false':
      return NEVER;
    case 'not': {
      const inner = compileNode(node.operand);
      return (t, c, r) => !inner(t, c, r);
    }
    case 'and':
      return compileAnd(node.operands.map(compileNode));
    case 'or':
      return compileOr(node.operands.map(compileNode));
    case 'rule': {
      // Remember the last resolver's answer: engines are immutable, and in
      // practice one engine evaluates everything, so this turns a Map lookup
      // per reference into an identity test.
      const name = node.name;
      let lastResolver: RuleResolver | undefined;
      let lastTarget: Evaluator = NEVER;
      return (t, c, r) => {
        if (r !== lastResolver) {
          lastTarget = r.resolve(name);
          lastResolver = r;
        }
        return lastTarget(t, c, r);
      };
    }
    case 'role':
      return compileRole(node.role);
    case 'generic':
      return compileGeneric(node);
    case 'field':
      return compileField(node);
  }
}

// Two-operand forms are by far the most common (`X and Y`, `(new) or (old)`),
// so they get a loop-free closure.
function compileAnd(fs: Evaluator[]): Evaluator {
  if (fs.length === 1) return fs[0]!;
  if (fs.length === 2) {
    const [a, b] = fs as [Evaluator, Evaluator];
    return (t, c, r) => a(t, c, r) && b(t, c, r);
  }
  return (t, c, r) => {
    for (let i = 0; i < fs.length; i++) if (!fs[i]!(t, c, r)) return false;
    return true;
  };
}

function compileOr(fs: Evaluator[]): Evaluator {
  if (fs.length === 1) return fs[0]!;
  if (fs.length === 2) {
    const [a, b] = fs as [Evaluator, Evaluator];
    return (t, c, r) => a(t, c, r) || b(t, c, r);
  }
  return (t, c, r) => {
    for (let i = 0; i < fs.length; i++) if (fs[i]!(t, c, r)) return true;
    return false;
  };
}

/**
 * Returns the substituted template text, or undefined when a referenced key is
 * missing from the target (oslo turns that KeyError into a failed check).
 */
function renderTemplate(tpl: Template, target: Target): string | undefined {
  switch (tpl.type) {
    case 'literal':
      return tpl.text;
    case 'key': {
      const v = target[tpl.key];
      return v === undefined ? undefined : pyStr(v);
    }
    case 'mixed': {
      let out = '';
      for (const p of tpl.parts) {
        if (typeof p === 'string') out += p;
        else {
          const v = target[p.key];
          if (v === undefined) return undefined;
          out += pyStr(v);
        }
      }
      return out;
    }
  }
}

// Role names compare case-insensitively. Roles from Keystone are normally
// lower case already, so the identity test usually decides; otherwise we fold
// ASCII case character by character, because toLowerCase() would allocate a
// new string on every mismatch (this runs per resource when listing).
function credsHaveRole(creds: Creds, wantLower: string): boolean {
  const roles = creds['roles'];
  if (!Array.isArray(roles)) return false;
  for (let i = 0; i < roles.length; i++) {
    const r: unknown = roles[i];
    if (typeof r === 'string' && r.length === wantLower.length && (r === wantLower || sameIgnoringCase(r, wantLower))) {
      return true;
    }
  }
  return false;
}

function sameIgnoringCase(s: string, lower: string): boolean {
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) c += 32;
    else if (c > 127) return s.toLowerCase() === lower; // non-ASCII: let Unicode rules decide
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

function compileRole(tpl: Template): Evaluator {
  if (tpl.type === 'literal') {
    const want = tpl.text.toLowerCase();
    return (_t, c) => credsHaveRole(c, want);
  }
  return (t, c) => {
    const want = renderTemplate(tpl, t);
    return want !== undefined && credsHaveRole(c, want.toLowerCase());
  };
}

/**
 * Walks a dotted credential path. Like oslo, a list met on the way (or at the
 * end) matches if any of its elements does.
 *
 * Deviation from oslo, on purpose: a null/missing credential value never
 * matches. oslo would compare str(None) == "None", so an unscoped token would
 * "own" every resource whose project_id is also None.
 */
function credPathMatches(value: unknown, path: readonly string[], depth: number, want: string): boolean {
  if (depth === path.length) {
    return value !== null && value !== undefined && pyStr(value) === want;
  }
  if (value === null || typeof value !== 'object') return false;
  const next = (value as Record<string, unknown>)[path[depth]!];
  if (Array.isArray(next)) {
    for (let i = 0; i < next.length; i++) if (credPathMatches(next[i], path, depth + 1, want)) return true;
    return false;
  }
  return credPathMatches(next, path, depth + 1, want);
}

function compileGeneric(node: Extract<CheckNode, { kind: 'generic' }>): Evaluator {
  const { match, literal, credPath } = node;
  if (literal !== null) {
    return (t) => renderTemplate(match, t) === literal;
  }
  const path = credPath!;
  // Fast path for the overwhelmingly common `project_id:%(project_id)s` shape.
  if (path.length === 1 && match.type === 'key') {
    const credKey = path[0]!;
    const targetKey = match.key;
    return (t, c) => {
      const tv = t[targetKey];
      if (tv === undefined) return false;
      const cv = c[credKey];
      if (cv === null || cv === undefined) return false;
      const want = pyStr(tv);
      if (Array.isArray(cv)) return credPathMatches(c, path, 0, want);
      return pyStr(cv) === want;
    };
  }
  return (t, c) => {
    const want = renderTemplate(match, t);
    return want !== undefined && credPathMatches(c, path, 0, want);
  };
}

/**
 * Neutron's `field:<collection>:<attr>=<value>`: true when target[attr] equals
 * value. Neutron converts the value with the attribute's converter, which for
 * the attributes used in default rules (shared, router:external, ...) means
 * "True"/"False" become booleans; `~regex` matches string values from their
 * start (Python re.match). We compare booleans as booleans, numbers as numbers
 * and strings as the raw text, so both converted and unconverted forms work.
 * A missing or null target value never matches. Neutron would look up the
 * network for `networks:shared` itself; our callers pre-fill `shared`.
 */
function compileField(node: Extract<CheckNode, { kind: 'field' }>): Evaluator {
  const { field, value } = node;
  if (value.startsWith('~')) {
    const re = new RegExp(`^(?:${value.slice(1)})`);
    return (t) => {
      const v = t[field];
      return typeof v === 'string' && re.test(v);
    };
  }
  const lower = value.toLowerCase();
  const asBool = lower === 'true' ? true : lower === 'false' ? false : undefined;
  const asNum = /^[+-]?\d+(\.\d+)?$/.test(value) ? Number(value) : undefined;
  return (t) => {
    const v = t[field];
    if (v === undefined || v === null) return false;
    if (typeof v === 'boolean') return v === asBool;
    if (typeof v === 'number') return v === asNum;
    return v === value;
  };
}

// ---------------------------------------------------------------------------
// Introspection helpers.

/** oslo-style text of a tree, fully parenthesised; used in tests and debug output. */
export function describeNode(node: CheckNode): string {
  switch (node.kind) {
    case 'true':
      return '@';
    case 'false':
      return '!';
    case 'not':
      return `not ${describeNode(node.operand)}`;
    case 'and':
    case 'or':
      return `(${node.operands.map(describeNode).join(` ${node.kind} `)})`;
    case 'rule':
      return `rule:${node.name}`;
    case 'role':
    case 'generic':
    case 'field':
      return node.text;
  }
}

/** Calls `visit` on every node of the tree (pre-order). */
export function walkNode(node: CheckNode, visit: (n: CheckNode) => void): void {
  visit(node);
  if (node.kind === 'not') walkNode(node.operand, visit);
  else if (node.kind === 'and' || node.kind === 'or') for (const o of node.operands) walkNode(o, visit);
}

/** Target keys a single node reads (not following rule references). */
export function targetKeysOf(node: CheckNode, into: Set<string>): void {
  const addTpl = (tpl: Template): void => {
    if (tpl.type === 'key') into.add(tpl.key);
    else if (tpl.type === 'mixed') for (const p of tpl.parts) if (typeof p !== 'string') into.add(p.key);
  };
  if (node.kind === 'role') addTpl(node.role);
  else if (node.kind === 'generic') addTpl(node.match);
  else if (node.kind === 'field') into.add(node.field);
}

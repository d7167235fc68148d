// Parser for the oslo.policy rule language.
//
// Grammar (oslo's shift-reduce parser yields exactly this precedence:
// `not` binds tightest, then `and`, then `or`):
//
//   expr    := andExpr ('or' andExpr)*
//   andExpr := unary ('and' unary)*
//   unary   := 'not' unary | '(' expr ')' | check
//   check   := '@' | '!' | kind ':' match
//
// Tokenising follows oslo: split on whitespace, peel '(' off the front and
// ')' off the back of each word, keywords are case-insensitive. That is why a
// match such as `%(network:tenant_id)s` survives: its parentheses are inside
// the word, never at its ends.
//
// Unlike oslo, which logs and silently fails closed, a malformed rule throws
// PolicyRuleError naming the rule, so a typo in policy.yaml is caught at
// start-up instead of turning into mysterious 403s.

import { compileNode, type CheckNode, type Evaluator, type Template } from './checks.js';

export class PolicyRuleError extends Error {
  constructor(
    readonly ruleName: string | undefined,
    readonly ruleText: string,
    readonly reason: string,
  ) {
    super(`${ruleName === undefined ? 'policy rule' : `policy rule "${ruleName}"`}: ${reason} in ${JSON.stringify(ruleText)}`);
    this.name = 'PolicyRuleError';
  }
}

type Token = { type: '(' | ')' | 'and' | 'or' | 'not' } | { type: 'check'; text: string };

function tokenize(text: string, fail: (reason: string) => never): Token[] {
  const out: Token[] = [];
  for (const word of text.split(/\s+/)) {
    if (word === '') continue;
    let start = 0;
    while (start < word.length && word[start] === '(') {
      out.push({ type: '(' });
      start++;
    }
    let end = word.length;
    while (end > start && word[end - 1] === ')') end--;
    const clean = word.slice(start, end);
    if (clean !== '') {
      const lower = clean.toLowerCase();
      if (lower === 'and' || lower === 'or' || lower === 'not') out.push({ type: lower });
      else if (clean.length >= 2 && (clean[0] === '"' || clean[0] === "'") && clean[clean.length - 1] === clean[0]) {
        // oslo tokenises a quoted word as a 'string', which no grammar rule accepts.
        fail(`quoted string ${clean} is not a check (quote the left side only, e.g. 'True':%(shared)s)`);
      } else out.push({ type: 'check', text: clean });
    }
    for (let i = end; i < word.length; i++) out.push({ type: ')' });
  }
  return out;
}

/** Parses `%(key)s` substitutions; only the `s` conversion is meaningful for policy. */
export function parseTemplate(text: string, fail: (reason: string) => never): Template {
  if (!text.includes('%')) return { type: 'literal', text };
  const parts: Array<string | { key: string }> = [];
  let lit = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch !== '%') {
      lit += ch;
      i++;
      continue;
    }
    const next = text[i + 1];
    if (next === '%') {
      lit += '%';
      i += 2;
      continue;
    }
    if (next !== '(') fail(`"${text}" has a bad substitution (expected %(name)s or %%)`);
    // Python matches nested parentheses when reading the key.
    let depth = 1;
    let j = i + 2;
    while (j < text.length && depth > 0) {
      if (text[j] === '(') depth++;
      else if (text[j] === ')') depth--;
      j++;
    }
    if (depth !== 0) fail(`"${text}" has an unterminated %(`);
    if (text[j] !== 's') fail(`"${text}" uses an unsupported conversion (only %(name)s is allowed)`);
    if (lit !== '') parts.push(lit);
    lit = '';
    parts.push({ key: text.slice(i + 2, j - 1) });
    i = j + 1;
  }
  if (lit !== '') parts.push(lit);
  if (parts.length === 0) return { type: 'literal', text: '' };
  if (parts.length === 1) {
    const only = parts[0]!;
    return typeof only === 'string' ? { type: 'literal', text: only } : { type: 'key', key: only.key };
  }
  return { type: 'mixed', parts };
}

/**
 * Python's str() of the left side of a generic check when it is a literal
 * (oslo runs ast.literal_eval on it); null when it is a credential path.
 */
function literalKind(kind: string): string | null {
  if (kind.length >= 2 && (kind[0] === "'" || kind[0] === '"') && kind[kind.length - 1] === kind[0]) {
    return kind.slice(1, -1).replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c));
  }
  if (kind === 'True' || kind === 'False' || kind === 'None') return kind;
  if (/^[+-]?\d+$/.test(kind)) return String(BigInt(kind));
  if (/^[+-]?(\d+\.\d*|\.\d+|\d+(\.\d*)?[eE][+-]?\d+)$/.test(kind)) {
    const n = Number(kind);
    return Number.isInteger(n) && Math.abs(n) < 1e16 ? `${n}.0` : String(n);
  }
  return null;
}

function parseCheck(text: string, fail: (reason: string) => never): CheckNode {
  if (text === '@') return { kind: 'true' };
  if (text === '!') return { kind: 'false' };
  const colon = text.indexOf(':');
  if (colon <= 0) fail(`"${text}" is not a check (expected kind:match, "@" or "!")`);
  const kind = text.slice(0, colon);
  const match = text.slice(colon + 1);
  switch (kind) {
    case 'rule':
      if (match === '') fail('"rule:" needs a rule name');
      return { kind: 'rule', name: match };
    case 'role':
      if (match === '') fail('"role:" needs a role name');
      return { kind: 'role', role: parseTemplate(match, fail), text };
    case 'field': {
      // field:<collection>:<attr>=<value>; attr may itself contain ':' (router:external).
      const c2 = match.indexOf(':');
      const eq = match.indexOf('=', c2 + 1);
      if (c2 <= 0 || eq <= c2 + 1) fail(`"${text}" must look like field:<collection>:<attribute>=<value>`);
      const value = match.slice(eq + 1);
      if (value.startsWith('~')) {
        try {
          new RegExp(value.slice(1));
        } catch (e) {
          fail(`bad regular expression in "${text}": ${(e as Error).message}`);
        }
      }
      return { kind: 'field', resource: match.slice(0, c2), field: match.slice(c2 + 1, eq), value, text };
    }
    default: {
      // Generic check, including tenant_id:/project_id: (Neutron's OwnerCheck,
      // which reduces to this comparison once parent owners are pre-filled).
      const literal = literalKind(kind);
      return {
        kind: 'generic',
        literal,
        credPath: literal === null ? kind.split('.') : null,
        match: parseTemplate(match, fail),
        text,
      };
    }
  }
}

class Parser {
  private pos = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly fail: (reason: string) => never,
  ) {}

  parse(): CheckNode {
    const node = this.expr();
    if (this.pos < this.tokens.length) this.fail(`unexpected ${this.describe(this.tokens[this.pos]!)}`);
    return node;
  }

  private expr(): CheckNode {
    const first = this.andExpr();
    if (!this.peek('or')) return first;
    const operands = flattenInto('or', [], first);
    while (this.take('or')) flattenInto('or', operands, this.andExpr());
    return { kind: 'or', operands };
  }

  private andExpr(): CheckNode {
    const first = this.unary();
    if (!this.peek('and')) return first;
    const operands = flattenInto('and', [], first);
    while (this.take('and')) flattenInto('and', operands, this.unary());
    return { kind: 'and', operands };
  }

  private unary(): CheckNode {
    const tok = this.tokens[this.pos];
    if (tok === undefined) return this.fail(this.pos === 0 ? 'empty expression' : `expected a check after "${this.prevText()}"`);
    this.pos++;
    switch (tok.type) {
      case 'not':
        return { kind: 'not', operand: this.unary() };
      case '(': {
        const inner = this.expr();
        if (!this.take(')')) this.fail('missing ")"');
        return inner;
      }
      case 'check':
        return parseCheck(tok.text, this.fail);
      default:
        return this.fail(`unexpected ${this.describe(tok)}${this.pos > 1 ? ` after "${this.textAt(this.pos - 2)}"` : ' at start'}`);
    }
  }

  private peek(type: Token['type']): boolean {
    return this.tokens[this.pos]?.type === type;
  }
  private take(type: Token['type']): boolean {
    if (!this.peek(type)) return false;
    this.pos++;
    return true;
  }
  private textAt(i: number): string {
    const t = this.tokens[i]!;
    return t.type === 'check' ? t.text : t.type;
  }
  private prevText(): string {
    return this.textAt(this.pos - 1);
  }
  private describe(t: Token): string {
    return t.type === 'check' ? `check "${t.text}" (missing "and"/"or"?)` : `"${t.type}"`;
  }
}

// `(a or b) or c` means the same as `a or b or c`; flattening keeps the
// evaluated tree shallow.
function flattenInto(kind: 'and' | 'or', list: CheckNode[], node: CheckNode): CheckNode[] {
  if (node.kind === kind) list.push(...node.operands);
  else list.push(node);
  return list;
}

/** Parses one rule string into a check tree; throws PolicyRuleError naming `ruleName`. */
export function parseRule(text: string, ruleName?: string): CheckNode {
  const fail = (reason: string): never => {
    throw new PolicyRuleError(ruleName, text, reason);
  };
  // oslo: an empty (or all-blank) rule always passes.
  if (text.trim() === '') return { kind: 'true' };
  return new Parser(tokenize(text, fail), fail).parse();
}

/**
 * oslo's legacy list form: [["a", "b"], ["c"]] means (a and b) or c, each
 * element being a single check (not an expression). An empty list always
 * passes; a list of only empty lists never does.
 */
export function parseListRule(rule: readonly unknown[], ruleName?: string): CheckNode {
  const text = JSON.stringify(rule);
  const fail = (reason: string): never => {
    throw new PolicyRuleError(ruleName, text, reason);
  };
  if (rule.length === 0) return { kind: 'true' };
  const alternatives: CheckNode[] = [];
  for (const inner of rule) {
    const conj = typeof inner === 'string' ? [inner] : inner;
    if (!Array.isArray(conj)) return fail('list rules must contain strings or lists of strings');
    if (conj.length === 0) continue;
    const checks = conj.map((c: unknown) => (typeof c === 'string' ? parseCheck(c, fail) : fail('list rules must contain strings')));
    alternatives.push(checks.length === 1 ? checks[0]! : { kind: 'and', operands: checks });
  }
  if (alternatives.length === 0) return { kind: 'false' };
  return alternatives.length === 1 ? alternatives[0]! : { kind: 'or', operands: alternatives };
}

export interface CompiledRule {
  readonly text: string;
  readonly node: CheckNode;
  readonly evaluate: Evaluator;
}

// Compiled rules are immutable and engine-independent (rule references are
// resolved at evaluation time), so one process-wide cache keyed by the rule
// text serves every engine and every reload. Rule texts come from defaults
// and operator files, so the cache stays small.
const cache = new Map<string, CompiledRule>();

/** Parses and compiles a rule, reusing an earlier compilation of the same text. */
export function compileRule(rule: string | readonly unknown[], ruleName?: string): CompiledRule {
  const key = typeof rule === 'string' ? rule : `\u0000list:${JSON.stringify(rule)}`;
  let hit = cache.get(key);
  if (hit === undefined) {
    const node = typeof rule === 'string' ? parseRule(rule, ruleName) : parseListRule(rule, ruleName);
    hit = { text: typeof rule === 'string' ? rule : JSON.stringify(rule), node, evaluate: compileNode(node) };
    cache.set(key, hit);
  }
  return hit;
}

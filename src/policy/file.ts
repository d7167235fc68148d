// Reading an operator policy file (policy.yaml / policy.json): a mapping of
// rule name -> rule string. Like oslo we accept JSON and YAML (JSON is tried
// first, being the cheaper parser). Every failure names the file, and the
// rule when there is one.

import { readFileSync } from 'node:fs';
import { isMap, isScalar, parseDocument } from 'yaml';

export class PolicyFileError extends Error {
  constructor(
    readonly file: string,
    readonly rule: string | undefined,
    reason: string,
  ) {
    super(`policy file ${file}${rule === undefined ? '' : `, rule "${rule}"`}: ${reason}`);
    this.name = 'PolicyFileError';
  }
}

/** A rule as written in a file: the policy language, or oslo's legacy list-of-lists form. */
export type RuleSource = string | readonly unknown[];

export function readPolicyFile(file: string): Map<string, RuleSource> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new PolicyFileError(file, undefined, `cannot read: ${(e as Error).message}`);
  }
  return parsePolicyText(text, file);
}

export function parsePolicyText(text: string, file: string): Map<string, RuleSource> {
  const data = parseData(text, file);
  const out = new Map<string, RuleSource>();
  if (data === null || data === undefined) return out; // empty file: no overrides
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new PolicyFileError(file, undefined, 'top level must be a mapping of rule name to rule string');
  }
  for (const [name, value] of Object.entries(data as Record<string, unknown>)) {
    if (typeof value === 'string' || Array.isArray(value)) out.set(name, value);
    else if (value === null) {
      // oslo would read a missing value as "always allow"; far more likely a mistake.
      throw new PolicyFileError(file, name, 'has no rule; write "" to allow everyone or "!" to allow no one');
    } else throw new PolicyFileError(file, name, `rule must be a string, not ${typeof value}`);
  }
  return out;
}

function parseData(text: string, file: string): unknown {
  if (/^\s*\{/.test(text)) {
    try {
      return JSON.parse(text);
    } catch {
      // Not JSON after all; YAML is a superset, let it report the problem.
    }
  }
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new PolicyFileError(file, undefined, `invalid YAML/JSON: ${doc.errors[0]!.message.split('\n')[0]}`);
  }
  // An unquoted `!` is a YAML tag, and `name: !` silently reads as an empty
  // rule, i.e. "allow everyone" -- the opposite of what was meant.
  if (isMap(doc.contents)) {
    for (const pair of doc.contents.items) {
      if (isScalar(pair.value) && pair.value.tag === '!' && isScalar(pair.key)) {
        throw new PolicyFileError(file, String(pair.key.value), 'unquoted "!" is a YAML tag; write "!" in quotes');
      }
    }
  }
  return doc.toJS();
}

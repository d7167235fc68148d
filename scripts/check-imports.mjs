#!/usr/bin/env node
// Fails when a layer under src/ imports a layer it must not (docs/DESIGN.md, "Layers"): the one
// table of which layer may import which is LAYERS below.
//
// A script rather than dependency-cruiser: that tool parses TypeScript with the `typescript`
// package's compiler API, which TypeScript 7 (the native compiler this repo builds with) no
// longer ships, and running it over dist/ would miss the type-only imports, which count here too.
//
// It reads the static `import … from '…'`, `import '…'`, `export … from '…'` and `import('…')`
// specifiers of src/**/*.ts. A line that starts an import or re-export this script cannot read is
// an error too, so an import is never skipped silently.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ALL = Symbol('any layer');

/** layer (folder under src/; `cli` also covers src/cli.ts) → the other layers it may import. */
export const LAYERS = {
  core: [],
  definitions: ['core', 'ipam'],
  db: ['core'],
  config: ['core'],
  // A bus is built from [DEFAULT] transport_url (rpc/from-config.ts).
  rpc: ['core', 'config'],
  dataplane: ['core'],
  ipam: ['core', 'db', 'definitions', 'config'],
  quota: ['core', 'db', 'definitions', 'config'],
  policy: ['core', 'db', 'definitions', 'config'],
  plugins: ['core', 'definitions', 'db', 'ipam', 'quota', 'policy', 'rpc', 'config'],
  api: ['core', 'definitions', 'policy', 'config'],
  agents: ['core', 'dataplane', 'rpc', 'config', 'ipam'],
  server: ['core', 'definitions', 'db', 'config', 'rpc', 'dataplane', 'ipam', 'quota', 'policy', 'plugins', 'api', 'agents'],
  cli: ALL,
};

// `import x, { y as z, type T } from '…'`, `import * as x from '…'`, `export { a } from '…'`,
// `export * from '…'`, `export type { T } from '…'`: only names, braces, commas and `*` come
// between the keyword and `from` (so `export const x = f('…')` cannot match).
const FROM = /^[ \t]*(?:import|export)\b[\w$\s{},*]*?\bfrom\s*(['"])([^'"\n]+)\1/gm;
const BARE = /^[ \t]*import\s*(['"])([^'"\n]+)\1/gm;
const DYNAMIC = /\bimport\s*\(\s*(['"])([^'"\n]+)\1\s*\)/g;
// Statement starts that must be one of the above (or a local `export { a, b };`).
const IMPORT_START = /^[ \t]*import\b(?!\s*\()/gm;
const REEXPORT_START = /^[ \t]*export\s+(?:type\s+)?[{*]/gm;
const LOCAL_EXPORT = /^[ \t]*export\s+(?:type\s+)?\{[\w$\s,]*\}\s*;/gm;

const lineOf = (text, index) => text.slice(0, index).split('\n').length;

/** Every static and literal dynamic specifier of one file, with its line; `unreadable` lists lines to fix. */
export function specifiers(text) {
  const found = [];
  const starts = new Set();
  for (const re of [FROM, BARE, DYNAMIC]) {
    for (const m of text.matchAll(re)) {
      found.push({ spec: m[2], line: lineOf(text, m.index) });
      starts.add(m.index);
    }
  }
  for (const m of text.matchAll(LOCAL_EXPORT)) starts.add(m.index);
  const unreadable = [];
  for (const re of [IMPORT_START, REEXPORT_START]) {
    for (const m of text.matchAll(re)) if (!starts.has(m.index)) unreadable.push(lineOf(text, m.index));
  }
  return { found, unreadable };
}

/** The layer of a path relative to src/, or null for a file directly in src/ other than cli.ts. */
function layerOf(rel) {
  const parts = rel.split(sep);
  if (parts.length > 1) return parts[0];
  return rel === 'cli.ts' ? 'cli' : null;
}

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Problems in the tree under srcDir, as `file:line → specifier (why)` lines. */
export function check(srcDir) {
  const problems = [];
  for (const file of walk(srcDir).sort()) {
    const rel = relative(srcDir, file);
    const from = layerOf(rel);
    const shown = join('src', rel);
    const allowed = from === null ? undefined : LAYERS[from];
    if (allowed === undefined) {
      problems.push(`${shown}: no layer rule for '${from ?? rel}'; add it to LAYERS in scripts/check-imports.mjs`);
      continue;
    }
    const text = readFileSync(file, 'utf8');
    const { found, unreadable } = specifiers(text);
    for (const line of unreadable) problems.push(`${shown}:${line}: cannot read this import/export; write it as \`import … from '…'\` on its own`);
    if (allowed === ALL) continue;
    for (const { spec, line } of found) {
      if (!spec.startsWith('.')) continue; // packages and node: builtins
      const target = relative(srcDir, resolve(dirname(file), spec));
      if (target.startsWith('..')) continue; // outside src/ (none today)
      const to = layerOf(target);
      if (to === from || allowed.includes(to)) continue;
      problems.push(`${shown}:${line} → '${spec}' (${from}/ may not import ${to ?? target})`);
    }
  }
  return problems;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const srcDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src');
  const problems = check(srcDir);
  if (problems.length > 0) {
    console.error(`check-imports: ${problems.length} import(s) against the layer rules (scripts/check-imports.mjs LAYERS):`);
    for (const p of problems) console.error(`  ${p}`);
    process.exit(1);
  }
  console.log('check-imports: every src/ import follows the layer rules');
}

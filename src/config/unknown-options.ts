// Names in config files that neutrino does not know, for `neutrino status`: the loader ignores
// them (as oslo.config does), so a typo'd option silently keeps its default.
import { readFileSync } from 'node:fs';
import { closest, distance } from 'fastest-levenshtein';
import { parseIni } from './ini.js';
import { findOption } from './load.js';
import { SCHEMA } from './schema.js';

export interface UnknownOption {
  file: string;
  line: number;
  section: string;
  name: string;
  /** The nearest known name ("[section] name"), when one is close enough to be a likely typo. */
  suggestion?: string;
}

const sections = SCHEMA as unknown as Record<string, Record<string, unknown>>;
/** Edits within which a known name is offered as what was meant. */
const NEAR = 3;

function nearest(candidates: string[], name: string): string | undefined {
  if (candidates.length === 0) return undefined;
  const best = closest(name, candidates);
  return distance(best, name) <= NEAR ? best : undefined;
}

/**
 * Options in known sections that neutrino does not read. A section neutrino does not know is left
 * alone (neutron.conf carries [nova], [oslo_concurrency] ... for other services) unless its name is
 * a near miss of a known one, e.g. [ml2_type_vlanx].
 */
export function unknownOptions(files: readonly string[]): UnknownOption[] {
  const out: UnknownOption[] = [];
  for (const file of files) {
    for (const e of parseIni(readFileSync(file, 'utf8'), file)) {
      if (findOption(e.section, e.key)) continue;
      const known = sections[e.section];
      if (known) {
        const s = nearest(Object.keys(known), e.key);
        out.push({ file, line: e.line, section: e.section, name: e.key, ...(s ? { suggestion: `[${e.section}] ${s}` } : {}) });
        continue;
      }
      const nearSection = nearest(Object.keys(sections), e.section);
      if (nearSection && nearSection !== e.section) {
        out.push({ file, line: e.line, section: e.section, name: e.key, suggestion: `[${nearSection}] ${e.key}` });
      }
    }
  }
  return out;
}

// Loads --config-file's in order into a typed, frozen Config. Like oslo.config the last file that
// sets an option wins (multi options accumulate), unknown sections/options are ignored, and only
// the winning value is validated.
import { readFileSync } from 'node:fs';
import { ConfigError } from './errors.js';
import { normalizeSection, parseIni } from './ini.js';
import { BAD, type OptDef } from './options.js';
import { SCHEMA, type Schema } from './schema.js';

type ValueOf<O> = O extends OptDef<infer T> ? T : never;
export type Config = {
  readonly [S in keyof Schema]: { readonly [K in keyof Schema[S]]: ValueOf<Schema[S][K]> };
};
export type ConfigOverrides = Partial<Record<string, Record<string, string>>>;

/** Shown as the "file" in errors about values given through loadConfig's overrides argument. */
export const OVERRIDES_SOURCE = '<overrides>';

interface Raw {
  value: string;
  file: string;
  line?: number;
}

type AnyOpt = OptDef<unknown>;
const sections = SCHEMA as unknown as Record<string, Record<string, AnyOpt>>;

/** The declaration of `[section] name`, following deprecated names; undefined when unknown. */
export function findOption(section: string, name: string): { name: string; opt: AnyOpt } | undefined {
  const opts = sections[normalizeSection(section)];
  if (!opts) return undefined;
  if (Object.hasOwn(opts, name)) return { name, opt: opts[name]! };
  for (const [canonical, opt] of Object.entries(opts)) {
    if (opt.deprecatedNames?.includes(name)) return { name: canonical, opt };
  }
  return undefined;
}

function convert(section: string, name: string, opt: AnyOpt, raw: Raw): unknown {
  const value = raw.value.trim();
  // An empty value means "not set" for typed options (oslo gives None); strings keep '' and lists
  // become [] because `flat_networks =` is how Neutron disables flat networks.
  if (value === '' && opt.kind !== 'string' && opt.kind !== 'list') return opt.default;
  const v = opt.convert(opt.kind === 'string' ? raw.value : value);
  if (v === BAD) {
    const shown = opt.secret ? '<secret>' : raw.value;
    throw new ConfigError(`${raw.file}: [${section}] ${name}: expected ${opt.expected}, got "${shown}"`, {
      file: raw.file,
      line: raw.line,
      section,
      option: name,
    });
  }
  return v;
}

/**
 * Reads the files in order, then applies `overrides` (the command line: they win over every file).
 * `defaults` replace the schema's defaults, for options no file or override sets (what `aio`
 * changes: noauth, ./state); a file's value is still read and checked.
 */
export function loadConfig(files: readonly string[], overrides: ConfigOverrides = {}, defaults: ConfigOverrides = {}): Config {
  const found = new Map<string, Raw[]>(); // "section\0name" -> occurrences in load order
  const record = (section: string, name: string, opt: AnyOpt, raw: Raw) => {
    const key = `${section}\0${name}`;
    const prev = opt.multi ? (found.get(key) ?? []) : [];
    found.set(key, [...prev, raw]);
  };

  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new ConfigError(`${file}: cannot read config file: ${(e as Error).message}`, { file });
    }
    for (const entry of parseIni(text, file)) {
      const hit = findOption(entry.section, entry.key);
      if (hit) record(entry.section, hit.name, hit.opt, { value: entry.value, file, line: entry.line });
    }
  }

  // Overrides and defaults come from code (the CLI), so an unknown name there is a bug worth failing on.
  for (const [sectionName, values] of Object.entries(defaults)) {
    const section = normalizeSection(sectionName);
    for (const [name, value] of Object.entries(values ?? {})) {
      const hit = findOption(section, name);
      if (!hit) throw new ConfigError(`${OVERRIDES_SOURCE}: [${section}] ${name}: unknown option`, { file: OVERRIDES_SOURCE, section, option: name });
      if (!found.has(`${section}\0${hit.name}`)) record(section, hit.name, hit.opt, { value, file: OVERRIDES_SOURCE });
    }
  }
  for (const [sectionName, values] of Object.entries(overrides)) {
    const section = normalizeSection(sectionName);
    for (const [name, value] of Object.entries(values ?? {})) {
      const hit = findOption(section, name);
      if (!hit) {
        throw new ConfigError(`${OVERRIDES_SOURCE}: [${section}] ${name}: unknown option`, {
          file: OVERRIDES_SOURCE,
          section,
          option: name,
        });
      }
      found.delete(`${section}\0${hit.name}`); // an override replaces even a multi option
      record(section, hit.name, hit.opt, { value, file: OVERRIDES_SOURCE });
    }
  }

  const out: Record<string, Record<string, unknown>> = {};
  for (const [section, opts] of Object.entries(sections)) {
    const values: Record<string, unknown> = {};
    for (const [name, opt] of Object.entries(opts)) {
      const raws = found.get(`${section}\0${name}`);
      if (!raws) values[name] = opt.default;
      else if (opt.multi) values[name] = Object.freeze(raws.flatMap((r) => convert(section, name, opt, r) as string[]));
      else values[name] = convert(section, name, opt, raws[raws.length - 1]!);
    }
    out[section] = Object.freeze(values);
  }
  return Object.freeze(out) as unknown as Config;
}

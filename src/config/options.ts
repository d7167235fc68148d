// Option declarations: each helper returns an OptDef whose type parameter is the value type the
// loaded Config exposes, so `cfg.DEFAULT.bind_port` is a number without casts.
export type OptKind = 'string' | 'int' | 'float' | 'bool' | 'list' | 'port' | 'enum' | 'url';

/** Returned by a converter for a value it rejects; the loader turns it into a ConfigError. */
export const BAD: unique symbol = Symbol('bad config value');

export interface OptDef<T> {
  readonly kind: OptKind;
  readonly default: T;
  readonly help: string;
  /** What a valid value looks like, for error messages ("an integer 0-65535"). */
  readonly expected: string;
  /** Converts a non-empty raw string (already trimmed of the file's quotes). */
  readonly convert: (raw: string) => T | typeof BAD;
  /** oslo MultiStrOpt: every occurrence, in every file, adds to the list instead of replacing it. */
  readonly multi?: boolean;
  /** Older names read from the same section (oslo deprecated_name), e.g. keystonemiddleware's auth_uri. */
  readonly deprecatedNames?: readonly string[];
  /** Never print the value (passwords, connection strings). */
  readonly secret?: boolean;
}

interface Common {
  help: string;
  deprecatedNames?: readonly string[];
  secret?: boolean;
}

const INT_RE = /^[+-]?\d+$/;
const FLOAT_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const TRUE = new Set(['true', 'yes', 'on', '1']);
const FALSE = new Set(['false', 'no', 'off', '0']);

function rangeText(min?: number, max?: number): string {
  if (min !== undefined && max !== undefined) return ` ${min}-${max}`;
  if (min !== undefined) return ` >= ${min}`;
  if (max !== undefined) return ` <= ${max}`;
  return '';
}

function inRange(n: number, min?: number, max?: number): boolean {
  return (min === undefined || n >= min) && (max === undefined || n <= max);
}

export function str<D extends string | null = null>(o: Common & { default?: D }): OptDef<string | D> {
  return { ...o, kind: 'string', default: (o.default ?? null) as D, expected: 'a string', convert: (raw) => raw };
}

export function int<D extends number | null = null>(
  o: Common & {
    default?: D;
    min?: number;
    max?: number;
    choices?: readonly number[];
    /** Words standing for a number, e.g. Neutron's pagination_max_limit = infinite (-1). */
    aliases?: Readonly<Record<string, number>>;
  },
): OptDef<number | D> {
  const expected = o.choices
    ? `one of ${o.choices.join(', ')}`
    : `an integer${rangeText(o.min, o.max)}` + (o.aliases ? ` or ${Object.keys(o.aliases).join(', ')}` : '');
  return {
    ...o,
    kind: 'int',
    default: (o.default ?? null) as D,
    expected,
    convert: (raw) => {
      const alias = o.aliases?.[raw.toLowerCase()];
      if (alias !== undefined) return alias;
      if (!INT_RE.test(raw)) return BAD;
      const n = Number(raw);
      if (!Number.isSafeInteger(n) || !inRange(n, o.min, o.max)) return BAD;
      if (o.choices && !o.choices.includes(n)) return BAD;
      return n;
    },
  };
}

export function float<D extends number | null = null>(o: Common & { default?: D; min?: number; max?: number }): OptDef<number | D> {
  return {
    ...o,
    kind: 'float',
    default: (o.default ?? null) as D,
    expected: `a number${rangeText(o.min, o.max)}`,
    convert: (raw) => {
      if (!FLOAT_RE.test(raw)) return BAD;
      const n = Number(raw);
      return inRange(n, o.min, o.max) ? n : BAD;
    },
  };
}

/** oslo PortOpt: 0 is allowed (bind to an ephemeral port, handy in tests). */
export function port<D extends number | null = null>(o: Common & { default?: D }): OptDef<number | D> {
  return { ...int({ ...o, min: 0, max: 65535 }), kind: 'port' };
}

export function bool(o: Common & { default: boolean }): OptDef<boolean> {
  return {
    ...o,
    kind: 'bool',
    expected: 'a boolean (true/false, yes/no, on/off, 1/0)',
    convert: (raw) => {
      const v = raw.toLowerCase();
      return TRUE.has(v) ? true : FALSE.has(v) ? false : BAD;
    },
  };
}

/** Comma-separated; items are trimmed and empty items dropped. An empty value is an empty list. */
export function list(o: Common & { default?: readonly string[]; multi?: boolean }): OptDef<readonly string[]> {
  return {
    ...o,
    kind: 'list',
    default: Object.freeze([...(o.default ?? [])]),
    expected: 'a comma-separated list',
    convert: (raw) => splitList(raw),
  };
}

export function splitList(raw: string): string[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export function enm<const C extends string, D extends C | null = null>(o: Common & { choices: readonly C[]; default?: D }): OptDef<C | D> {
  return {
    ...o,
    kind: 'enum',
    default: (o.default ?? null) as D,
    expected: `one of ${o.choices.join(', ')}`,
    convert: (raw) => ((o.choices as readonly string[]).includes(raw) ? (raw as C) : BAD),
  };
}

export function url<D extends string | null = null>(o: Common & { default?: D; schemes?: readonly string[] }): OptDef<string | D> {
  const schemes = o.schemes;
  return {
    ...o,
    kind: 'url',
    default: (o.default ?? null) as D,
    expected: schemes ? `a URL (${schemes.map((s) => s + '://').join(', ')})` : 'a URL',
    convert: (raw) => {
      let u: URL;
      try {
        u = new URL(raw);
      } catch {
        return BAD;
      }
      if (schemes && !schemes.includes(u.protocol.replace(/:$/, ''))) return BAD;
      return raw;
    },
  };
}

// Command-line options of every neutrino command on node:util's parseArgs (Node's own parser):
// `--opt value` and `--opt=value`, repeatable options, positionals. Its errors are rewritten to
// name the option plainly and followed by the command's usage.
import { parseArgs } from 'node:util';

type Spec = Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>;

type Values<S extends Spec> = {
  [K in keyof S]?: S[K]['type'] extends 'boolean' ? boolean : S[K]['multiple'] extends true ? string[] : string;
};

export interface ParsedOptions<S extends Spec> {
  values: Values<S>;
  positionals: string[];
}

/** Parses `argv` against `spec`; a bad option throws `fail(message + usage)`. */
export function parseOptions<S extends Spec>(argv: string[], spec: S, usage: string, fail: (message: string) => Error): ParsedOptions<S> {
  try {
    const r = parseArgs({ args: argv, options: spec, strict: true, allowPositionals: true });
    return { values: r.values as Values<S>, positionals: r.positionals };
  } catch (err) {
    const e = err as { code?: string; message: string };
    const named = /'(-[^' ]+)/.exec(e.message)?.[1] ?? '';
    const why =
      e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION'
        ? `unknown option ${named}`
        : e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && /argument missing/.test(e.message)
          ? `${named} needs a value`
          : e.message;
    throw fail(`${why}\n\n${usage}`);
  }
}

/** An integer option's value (`fallback` when absent); below `min` or not an integer throws. */
export function intOption(value: string | undefined, name: string, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} needs an integer >= ${min}, got ${value}`);
  return n;
}

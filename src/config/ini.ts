// oslo.config's own INI dialect (oslo_config/iniparser.py), not the `ini` package's.
// The `ini` package cuts values at inline ';'/'#', turns `key[]` into arrays and has no continuation lines or ':' separator.
import { ConfigError } from './errors.js';

export interface IniEntry {
  /** Section as oslo normalises it: `DEFAULT` kept, every other name lower-cased ([QUOTAS] == [quotas]). */
  section: string;
  key: string;
  value: string;
  line: number;
}

export function normalizeSection(name: string): string {
  return name === 'DEFAULT' ? name : name.toLowerCase();
}

/**
 * Parses one file's text into assignments in file order. Like oslo: comments are whole lines
 * starting with '#' or ';' (no inline comments), `key = value` or `key: value` (whichever comes
 * first), one pair of matching surrounding quotes is stripped, indented lines continue the previous
 * value (joined with '\n') and a blank line ends it.
 */
export function parseIni(text: string, file: string): IniEntry[] {
  const out: IniEntry[] = [];
  const fail = (msg: string, line: number): never => {
    throw new ConfigError(`${file}:${line}: ${msg}`, { file, line });
  };
  let section: string | null = null;
  let pending: IniEntry | null = null;
  let pendingParts: string[] = [];
  const flush = () => {
    if (pending) out.push({ ...pending, value: pendingParts.join('\n') });
    pending = null;
    pendingParts = [];
  };

  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i]!.trimEnd();
    if (line === '') {
      flush();
      continue;
    }
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (!pending) fail('unexpected continuation line', lineNo);
      pendingParts.push(line.trimStart());
      continue;
    }
    flush();
    if (line.startsWith('[')) {
      if (!line.endsWith(']')) fail('invalid section (must end with ])', lineNo);
      if (line.length <= 2) fail('empty section name', lineNo);
      section = normalizeSection(line.slice(1, -1));
    } else if (line.startsWith('#') || line.startsWith(';')) {
      continue;
    } else {
      const colon = line.indexOf(':');
      const equal = line.indexOf('=');
      if (colon < 0 && equal < 0) fail(`no ':' or '=' found in assignment "${line}"`, lineNo);
      const at = colon < 0 || (equal >= 0 && equal < colon) ? equal : colon;
      const key = line.slice(0, at).trim();
      let value = line.slice(at + 1).trim();
      if (value.length >= 2 && value[0] === value[value.length - 1] && (value[0] === '"' || value[0] === "'")) {
        value = value.slice(1, -1);
      }
      if (!key) fail('key cannot be empty', lineNo);
      if (section === null) fail('section must be started before assignment', lineNo);
      pending = { section: section!, key, value, line: lineNo };
      pendingParts = [value];
    }
  }
  flush();
  return out;
}

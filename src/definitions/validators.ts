// Attribute validators and converters, modelled on neutron_lib.api.validators/converters.
// Each returns the (converted) value or throws a 400 whose message names the attribute.
import { brief, invalidAttribute, invalidInput } from '../core/errors.js';
import type { Validator } from '../core/definition.js';

/** A value as error messages quote it, cut short (core/errors.ts brief()). */
const show = brief;

/** A string's length as Python's len() counts it (code points), which Neutron's max lengths use. */
export function codePoints(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length - 1; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

export const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

export function isUuid(v: unknown): v is string {
  return typeof v === 'string' && UUID_RE.test(v);
}

export const string = (maxLen?: number): Validator => (v, attr) => {
  if (typeof v !== 'string') throw invalidAttribute(attr, `'${show(v)}' is not a valid string`);
  if (maxLen !== undefined && v.length > maxLen && codePoints(v) > maxLen) throw invalidAttribute(attr, `'${show(v)}' exceeds maximum length of ${maxLen}`);
  return v;
};

export const stringOrNull = (maxLen?: number): Validator => (v, attr) => (v === null ? null : string(maxLen)(v, attr));

/** Neutron's convert_to_boolean: accepts booleans, 0/1 and the strings true/false/0/1. */
export function toBoolean(v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (v === 0 || v === 1) return v === 1;
  if (typeof v === 'string') {
    const s = v.toLowerCase();
    if (s === 'true' || s === '1') return true;
    if (s === 'false' || s === '0') return false;
  }
  throw invalidInput(`'${show(v)}' cannot be converted to boolean`);
}
export const boolean: Validator = (v) => toBoolean(v);
export const booleanOrNull: Validator = (v) => (v === null ? null : toBoolean(v));

export const uuid: Validator = (v, attr) => {
  if (!isUuid(v)) throw invalidAttribute(attr, `'${show(v)}' is not a valid UUID`);
  return v;
};
export const uuidOrNull: Validator = (v, attr) => (v === null ? null : uuid(v, attr));

export function toInt(v: unknown, _attr: string): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && /^[+-]?\d+$/.test(v.trim())) return parseInt(v, 10);
  throw invalidInput(`'${show(v)}' is not an integer`);
}

/** The range of the SQL `integer` columns integers are stored in (32 bits on every backend). */
export const INT_COLUMN_MIN = -(2 ** 31);
export const INT_COLUMN_MAX = 2 ** 31 - 1;

export const intRange = (min: number, max: number): Validator => (v, attr) => {
  const n = toInt(v, attr);
  if (n < min || n > max) throw invalidAttribute(attr, `'${n}' is not in range ${min} through ${max}`);
  return n;
};

export const oneOf = (values: readonly unknown[]): Validator => (v, attr) => {
  if (!values.includes(v)) throw invalidAttribute(attr, `'${show(v)}' is not in ${JSON.stringify(values).replace(/"/g, "'")}`);
  return v;
};

export const list = (item?: Validator): Validator => (v, attr) => {
  if (!Array.isArray(v)) throw invalidAttribute(attr, `'${show(v)}' is not a list`);
  return item ? v.map((x) => item(x, attr)) : v;
};

export const dict: Validator = (v, attr) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalidAttribute(attr, `'${show(v)}' is not a dictionary`);
  return v;
};

export const dictOrEmpty: Validator = (v, attr) => (v === null || v === '' ? {} : dict(v, attr));

/** Neutron's convert_kvp_list_to_dict-less "tags" list: unique strings up to 255 chars each. */
export const tagList: Validator = (v, attr) => {
  const l = list(string(255))(v, attr) as string[];
  for (const t of l) {
    if (t.length === 0 || t.includes(',')) throw invalidAttribute(attr, `'${t}' is not a valid tag`);
  }
  return [...new Set(l)];
};

export const MAC_RE = /^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$/i;
export const macAddress: Validator = (v, attr) => {
  if (typeof v !== 'string' || !MAC_RE.test(v)) throw invalidAttribute(attr, `'${show(v)}' is not a valid MAC address`);
  const mac = v.toLowerCase().replace(/-/g, ':');
  if (mac === '00:00:00:00:00:00' || mac === 'ff:ff:ff:ff:ff:ff' || (parseInt(mac.slice(0, 2), 16) & 1) === 1) {
    throw invalidAttribute(attr, `'${v}' is not a valid MAC address`);
  }
  return mac;
};

/** Query-string converters for filters. */
export const filterBool = (raw: string) => toBoolean(raw);
/**
 * An integer filter. Beyond the column's 32 bits no row can match; it is refused (PostgreSQL
 * would fail to bind it against the column's type).
 */
export const filterInt = (raw: string, attr: string) => {
  const n = toInt(raw, attr);
  if (n < INT_COLUMN_MIN || n > INT_COLUMN_MAX) throw invalidInput(`'${show(raw)}' is out of range for the integer filter ${attr}`);
  return n;
};

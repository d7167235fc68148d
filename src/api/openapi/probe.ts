// The JSON Schema of one attribute, learned from the attribute's own validator: it is run on
// sample values of every JSON type, and what it accepts is what the schema says (so the document
// cannot drift from the validation the server really does). The validators are pure functions
// (a value in, the converted value or a 400 out), which makes running them here harmless.
//
// From the accepted samples: the JSON types; for strings a maximum length (found by bisection),
// a format when only UUIDs or IP addresses pass, the enum when the refusal lists the choices;
// for integers the range (bisection again); for lists the item schema, probed the same way; and
// an example, the first accepted sample in the order below.
import { isIP } from 'node:net';
import type { Validator } from '../../core/definition.js';

export type JsonSchema = Record<string, unknown>;

const UUID = '5f5e6e1b-7a63-4b38-9b8e-0d3c3b3a4f10';
/** Strings that common validators take; ordered so the first accepted one makes a good example. */
const STRINGS = [
  'example',
  UUID,
  '10.0.0.5',
  '10.0.0.0/24',
  '2001:db8::5',
  '2001:db8::/64',
  'fa:16:3e:12:34:56',
  'ingress',
  'egress',
  'IPv4',
  'IPv6',
  'tcp',
  'vxlan',
  'vlan',
  'flat',
  'local',
  'normal',
  'physnet1',
  'compute:nova',
  'network',
  'access_as_shared',
  'slaac',
  'example.org.',
  'host-1',
  '80',
  '',
];
const INTEGERS = [1, 0, 4, 6, 24, 100, 1000, 1400, 1500, 4094, -1];
const DICTS: JsonSchema[] = [
  {},
  { network_id: UUID },
  { subnet_id: UUID },
  { ip_address: '10.0.0.5' },
  { ip_address: '10.0.0.5', mac_address: 'fa:16:3e:12:34:56' },
  { destination: '10.1.0.0/24', nexthop: '10.0.0.1' },
  { start: '10.0.0.10', end: '10.0.0.20' },
  { opt_name: 'mtu', opt_value: '1400' },
  { port_id: UUID, segmentation_type: 'vlan', segmentation_id: 100 },
  { network_type: 'vxlan' },
];

function accepts(validate: Validator, value: unknown): boolean {
  try {
    validate(structuredClone(value), 'probe');
    return true;
  } catch {
    return false;
  }
}

function refusal(validate: Validator, value: unknown): string {
  try {
    validate(value, 'probe');
    return '';
  } catch (e) {
    return (e as Error).message ?? '';
  }
}

/** The largest n in [lo, hi] with ok(n), given ok(lo) and ok being monotone (true then false). */
function lastTrue(lo: number, hi: number, ok: (n: number) => boolean): number {
  while (lo < hi) {
    const mid = Math.floor((lo + hi + 1) / 2);
    if (ok(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The choices a refusal lists, as oneOf words them: "... is not in ['a', 'b']". */
function enumFromRefusal(message: string): unknown[] | null {
  const m = /is not in \[(.*)\]/.exec(message);
  if (!m) return null;
  try {
    return JSON.parse(`[${m[1]!.replace(/'/g, '"')}]`) as unknown[];
  } catch {
    return null;
  }
}

function stringSchema(validate: Validator, accepted: string[]): JsonSchema {
  const schema: JsonSchema = { type: 'string' };
  const choices = enumFromRefusal(refusal(validate, '\u0000not-a-choice'));
  if (choices?.length) return { enum: choices };
  const free = accepts(validate, 'example');
  if (!free) {
    // The kind of text that passes, when the samples show one.
    if (accepted.every((s) => s === UUID)) schema.format = 'uuid';
    else if (accepted.every((s) => isIP(s) === 4)) schema.format = 'ipv4';
    else if (accepted.every((s) => isIP(s) !== 0)) schema.description = 'An IPv4 or IPv6 address.';
    else if (accepted.every((s) => s.includes('/') && isIP(s.split('/')[0]!) !== 0)) schema.description = 'A CIDR.';
    else if (accepted.every((s) => /^([\da-f]{2}:){5}[\da-f]{2}$/.test(s))) schema.description = 'A MAC address.';
  }
  if (free && !accepts(validate, 'x'.repeat(100_000))) {
    schema.maxLength = lastTrue(7, 100_000, (n) => accepts(validate, 'x'.repeat(n)));
  }
  return schema;
}

function integerSchema(validate: Validator, accepted: number[]): JsonSchema {
  const schema: JsonSchema = { type: 'integer' };
  const some = accepted[0]!;
  const BIG = 2 ** 40;
  if (!accepts(validate, -BIG)) schema.minimum = -lastTrue(-some, BIG, (n) => accepts(validate, -n));
  if (!accepts(validate, BIG)) schema.maximum = lastTrue(some, BIG, (n) => accepts(validate, n));
  return schema;
}

interface Probed {
  schema: JsonSchema;
  example?: unknown;
}

function probeValue(validate: Validator, depth: number): Probed | null {
  const alternatives: JsonSchema[] = [];
  let example: unknown;
  const note = (v: unknown) => {
    if (example === undefined) example = v;
  };
  if (accepts(validate, true) && accepts(validate, false)) {
    alternatives.push({ type: 'boolean' });
    note(true);
  } else {
    const ints = INTEGERS.filter((n) => accepts(validate, n));
    const strings = STRINGS.filter((s) => accepts(validate, s));
    if (strings.length) {
      alternatives.push(stringSchema(validate, strings));
      note(strings.find((s) => s !== '') ?? '');
    }
    // Strings of digits pass integer converters too; the integer type is what they mean then.
    if (ints.length && !accepts(validate, 0.5)) {
      if (strings.length && strings.every((s) => /^\d+$/.test(s))) alternatives.pop();
      alternatives.push(integerSchema(validate, ints));
      note(ints[0]);
    }
  }
  if (depth < 2) {
    const lists = [[], ...STRINGS.map((s) => [s]), ...DICTS.map((d) => [d]), [1]];
    const list = lists.find((l) => l.length > 0 && accepts(validate, l)) ?? (accepts(validate, []) ? [] : undefined);
    if (list !== undefined) {
      const item = probeValue((v, a) => validate([v], a), depth + 1);
      alternatives.push({ type: 'array', items: item?.schema ?? {} });
      note(list);
    }
    const dict = DICTS.find((d) => accepts(validate, d));
    if (dict !== undefined) {
      alternatives.push({ type: 'object' });
      note(dict);
    }
  }
  if (alternatives.length === 0) return null;
  const nullable = accepts(validate, null);
  const schema = alternatives.length === 1 ? alternatives[0]! : { anyOf: alternatives };
  return { schema: nullable ? withNull(schema) : schema, example };
}

/** The schema, also accepting null (unchanged when it already does). */
export function withNull(schema: JsonSchema): JsonSchema {
  if (typeof schema.type === 'string') return { ...schema, type: [schema.type, 'null'] };
  if (Array.isArray(schema.type)) return schema.type.includes('null') ? schema : { ...schema, type: [...schema.type, 'null'] };
  if (schema.enum) return (schema.enum as unknown[]).includes(null) ? schema : { ...schema, enum: [...(schema.enum as unknown[]), null] };
  const alternatives = (schema.anyOf as JsonSchema[] | undefined) ?? [schema];
  if (alternatives.some((a) => a.type === 'null' || (Array.isArray(a.type) && a.type.includes('null')))) return schema;
  return { anyOf: [...alternatives, { type: 'null' }] };
}

const cache = new WeakMap<Validator, Probed | null>();

/** What the validator accepts, as a JSON Schema, with an example; null when it accepts no sample. */
export function probeValidator(validate: Validator): Probed | null {
  let p = cache.get(validate);
  if (p === undefined) {
    p = probeValue(validate, 0);
    cache.set(validate, p);
  }
  return p;
}

/** The type a query-string filter converter turns its text into. */
export function probeFilter(convert: ((raw: string, attr: string) => unknown) | undefined): JsonSchema {
  if (!convert) return { type: 'string' };
  const ok = (raw: string) => {
    try {
      convert(raw, 'probe');
      return true;
    } catch {
      return false;
    }
  };
  if (ok('true') && ok('false') && !ok('maybe')) return { type: 'boolean' };
  if (ok('1') && !ok('x')) return { type: 'integer' };
  return { type: 'string' };
}

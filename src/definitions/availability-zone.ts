// availability_zones (neutron_lib/api/definitions/availability_zone.py, with the
// availability_zone_filter extension's filters) and the hints validator that networks and
// routers share (network_availability_zone, router_availability_zone).
import type { ResourceDef, Validator } from '../core/definition.js';
import { invalidAttribute, invalidInput } from '../core/errors.js';
import { pyStr } from '../ipam/index.js';

/** neutron_lib's AZ_HINTS_DB_LEN: the JSON text of the hints must fit the column. */
const AZ_HINTS_MAX_TEXT = 255;

/** type:availability_zone_hint_list: a list of unique strings whose JSON fits 255 characters. */
export const availabilityZoneHints: Validator = (v, attr) => {
  if (!Array.isArray(v)) throw invalidAttribute(attr, `'${pyStr(v)}' is not a list`);
  const seen = new Set<unknown>();
  const dups: unknown[] = [];
  for (const x of v) {
    if (seen.has(x) && !dups.includes(x)) dups.push(x);
    seen.add(x);
  }
  if (dups.length) throw invalidAttribute(attr, `Duplicate items in the list: '${dups.map((d) => pyStr(d)).join(', ')}'`);
  for (const x of v) if (typeof x !== 'string') throw invalidAttribute(attr, `'${pyStr(x)}' is not a valid string`);
  // The length Neutron checks is that of Python's json.dumps, which separates items with ', '.
  if (`[${(v as string[]).map((s) => JSON.stringify(s)).join(', ')}]`.length > AZ_HINTS_MAX_TEXT) {
    throw invalidInput('Too many availability_zone_hints specified');
  }
  return [...(v as string[])];
};

const ro = { allowPost: false, allowPut: false, visible: true, filter: true } as const;

/** Read-only catalogue: GET /v2.0/availability_zones (no id, no single-item GET). */
export const availabilityZoneDef: ResourceDef = {
  name: 'availability_zone',
  collection: 'availability_zones',
  attributes: { name: { ...ro }, resource: { ...ro }, state: { ...ro } },
};

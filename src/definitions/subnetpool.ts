// subnetpools (subnet_allocation, with address-scope's address_scope_id): pools of prefixes that
// subnets are allocated from. ip_version is derived from the prefixes; `shared` is an RBAC entry.
import type { ResourceDef, Validator } from '../core/definition.js';
import { BOOL_COLUMN, COLUMN, idAttr, NOT_SPECIFIED, projectAttrs, standardAttrs } from './common.js';
import { invalidAttribute } from '../core/errors.js';
import { boolean, filterBool, filterInt, list, string, toInt, uuidOrNull } from './validators.js';
import { validateSubnetText } from '../ipam/cidr.js';

/** validate_not_empty_string (here with the column's 255 characters). */
export const notEmptyString = (maxLen: number): Validator => (v, attr) => {
  const s = string(maxLen)(v, attr) as string;
  if (!s.trim()) throw invalidAttribute(attr, `'${s}' Blank strings are not permitted`);
  return s;
};

/** convert_to_int then validate_non_negative. */
export const nonNegative: Validator = (v, attr) => {
  const n = toInt(v, attr);
  if (n < 0) throw invalidAttribute(attr, `'${n}' should be non-negative`);
  return n;
};

/** validate_subnet_list: a list of distinct subnet CIDRs (host bits allowed, as for subnets). */
export const subnetList: Validator = (v, attr) => {
  const l = list()(v, attr) as unknown[];
  const seen = new Set<string>();
  const dups: string[] = [];
  for (const x of l) {
    const k = JSON.stringify(x);
    if (seen.has(k) && !dups.includes(String(x))) dups.push(String(x));
    seen.add(k);
  }
  if (dups.length) throw invalidAttribute(attr, `Duplicate items in the list: '${dups.join(', ')}'`);
  for (const x of l) {
    const reason = validateSubnetText(x);
    if (reason !== null) throw invalidAttribute(attr, reason);
  }
  return l as string[];
};

const prefixlenAttr = {
  allowPost: true, allowPut: true, default: NOT_SPECIFIED, validate: nonNegative, visible: true,
  filter: true, filterConvert: filterInt, sortKey: true, column: COLUMN,
} as const;

export const subnetpoolDef: ResourceDef = {
  name: 'subnetpool',
  collection: 'subnetpools',
  table: 'subnetpools',
  memberActions: [
    { name: 'add_prefixes', extension: 'subnetpool-prefix-ops' }, { name: 'remove_prefixes', extension: 'subnetpool-prefix-ops' },
    { name: 'onboard_network_subnets', extension: 'subnet_onboard' },
  ],
  taggable: true,
  attributes: {
    id: idAttr,
    name: { allowPost: true, allowPut: true, validate: notEmptyString(255), visible: true, filter: true, sortKey: true, column: COLUMN },
    ...projectAttrs,
    prefixes: { allowPost: true, allowPut: true, validate: subnetList, visible: true },
    default_quota: { ...prefixlenAttr },
    ip_version: { allowPost: false, allowPut: false, visible: true, filter: true, filterConvert: filterInt, sortKey: true, column: COLUMN },
    default_prefixlen: { ...prefixlenAttr },
    min_prefixlen: { ...prefixlenAttr },
    max_prefixlen: { ...prefixlenAttr },
    is_default: {
      allowPost: true, allowPut: true, default: false, validate: boolean, visible: true, filter: true,
      filterConvert: filterBool, sortKey: true, requiredByPolicy: true, enforcePolicy: true, column: BOOL_COLUMN,
    },
    shared: {
      allowPost: true, allowPut: false, default: false, validate: boolean, visible: true, filter: true,
      filterConvert: filterBool, sortKey: true, requiredByPolicy: true, enforcePolicy: true,
    },
    address_scope_id: {
      allowPost: true, allowPut: true, default: NOT_SPECIFIED, validate: uuidOrNull, visible: true, filter: true,
      sortKey: true, extension: 'address-scope', column: COLUMN,
    },
    ...standardAttrs,
  },
};

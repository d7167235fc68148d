// Address groups (address-group, shared through rbac-address-group): named lists of CIDRs that
// security group rules name as their remote (security-groups-remote-address-group). Addresses
// are given on create and changed by the add_addresses / remove_addresses member actions only.
import type { ResourceDef, Validator } from '../core/definition.js';
import { invalidAttribute } from '../core/errors.js';
import { COLUMN, idAttr, projectAttrs, standardAttrs } from './common.js';
import { parseIpPrefix } from './security-group.js';
import { subnetList } from './subnetpool.js';
import { string } from './validators.js';

const { tags: _tags, ...agStandardAttrs } = standardAttrs;
void _tags;

/** validate_subnet_list then normalized as Neutron stores them: "network/len", each once. */
export const addressList: Validator = (v, attr) => {
  const l = subnetList(v === null ? [] : v, attr) as string[];
  const out: string[] = [];
  for (const a of l) {
    const p = parseIpPrefix(a.trim());
    if (!p) throw invalidAttribute(attr, `'${a}' is not a valid IP subnet`);
    if (!out.includes(p.cidr)) out.push(p.cidr);
  }
  return out;
};

/**
 * The addresses of add_addresses / remove_addresses: Neutron reads them with netaddr.IPNetwork,
 * so a bare address is a host route (/32, /128) and repeats count once; anything else is a 400
 * here (Neutron's netaddr error would be a 500).
 */
export function actionAddresses(raw: unknown[], attr: string): string[] {
  const out: string[] = [];
  for (const a of raw) {
    const p = typeof a === 'string' ? parseIpPrefix(a.trim()) : null;
    if (!p) throw invalidAttribute(attr, `'${String(a)}' is not a valid IP address or CIDR`);
    if (!out.includes(p.cidr)) out.push(p.cidr);
  }
  return out;
}

export const addressGroupDef: ResourceDef = {
  name: 'address_group',
  collection: 'address_groups',
  path: 'address-groups',
  table: 'address_groups',
  memberActions: [{ name: 'add_addresses' }, { name: 'remove_addresses' }],
  attributes: {
    id: idAttr,
    name: { allowPost: true, allowPut: true, default: '', validate: string(255), visible: true, filter: true, sortKey: true, column: COLUMN },
    ...projectAttrs,
    ...agStandardAttrs,
    addresses: { allowPost: true, allowPut: false, default: [], validate: addressList, visible: true },
  },
};

// security groups and security group rules (Neutron's security-group extension, with
// stateful-security-group, security-groups-normalized-cidr and security-groups-shared-filtering),
// and the converters Neutron applies to rule attributes before the plugin sees them
// (neutron/extensions/securitygroup.py): protocol names/numbers, port numbers, ethertype, CIDR.
import type { AttributeDef, ResourceDef, Validator } from '../core/definition.js';
import { BOOL_COLUMN, COLUMN, idAttr, projectAttrs, standardAttrs } from './common.js';
import { invalidAttribute } from '../core/errors.js';
import { boolean, filterBool, filterInt, isUuid, list, oneOf, string } from './validators.js';
import { ADDRESS_BITS, formatIp, invalidCidr, tryParseIp } from '../ipam/index.js';
import {
  securityGroupDefaultAlreadyExists, securityGroupInvalidPortValue, securityGroupRuleInvalidEtherType, securityGroupRuleInvalidProtocol,
} from './errors.js';
import { IP_PROTOCOLS } from '../core/wire.js';


/** 'any' (newer Neutron) and null both mean every protocol: stored as null. */
export const PROTOCOL_ANY = 'any';

const pyList = (xs: readonly (string | null)[]) => `[${xs.map((x) => (x === null ? 'None' : `'${x}'`)).join(', ')}]`;
const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

export const ETHERTYPES = ['IPv4', 'IPv6'] as const;
export const DIRECTIONS = ['ingress', 'egress'] as const;

/** convert_protocol: a known name (any case), 'any', or a number 0-255 kept as its string. */
export const convertProtocol: Validator = (v) => {
  if (v === null || v === undefined) return null;
  const fail = () => securityGroupRuleInvalidProtocol(show(v), pyList([null, PROTOCOL_ANY, ...Object.keys(IP_PROTOCOLS)]));
  if (typeof v === 'number') {
    if (Number.isInteger(v) && v >= 0 && v <= 255) return String(v);
    throw fail();
  }
  if (typeof v !== 'string') throw fail();
  const t = v.trim();
  if (/^[+-]?\d+$/.test(t)) {
    const n = Number(t);
    if (n >= 0 && n <= 255) return String(n);
    throw fail();
  }
  const name = v.toLowerCase();
  if (name === PROTOCOL_ANY) return null;
  if (name in IP_PROTOCOLS) return name;
  throw fail();
};

/** convert_validate_port_value: null, or an integer 0-65535 (numbers or integer strings). */
export const convertPort: Validator = (v) => {
  if (v === null || v === undefined) return null;
  let n: number | null = null;
  if (typeof v === 'number' && Number.isInteger(v)) n = v;
  else if (typeof v === 'string' && /^\s*[+-]?\d+\s*$/.test(v)) n = Number(v.trim());
  if (n === null || n < 0 || n > 65535) {
    throw securityGroupInvalidPortValue(show(v));
  }
  return n;
};

/** convert_ethertype_to_case_insensitive. */
export const convertEthertype: Validator = (v) => {
  if (typeof v === 'string') {
    const found = ETHERTYPES.find((e) => e.toLowerCase() === v.toLowerCase());
    if (found) return found;
  }
  throw securityGroupRuleInvalidEtherType(show(v), pyList(ETHERTYPES));
};

/** A parsed remote_ip_prefix: as Neutron stores it (address as given plus length) and normalized. */
export interface IpPrefix {
  version: 4 | 6;
  /** "addr/len", the address as given (canonical spelling), a bare address getting /32 or /128. */
  prefix: string;
  /** "network/len", host bits cleared (normalized_cidr). */
  cidr: string;
}

export function parseIpPrefix(v: string): IpPrefix | null {
  const slash = v.indexOf('/');
  const addrText = slash < 0 ? v : v.slice(0, slash);
  const ip = tryParseIp(addrText);
  if (!ip) return null;
  const bits = ADDRESS_BITS[ip.version];
  let len = bits;
  if (slash >= 0) {
    const lenText = v.slice(slash + 1);
    if (!/^\d{1,3}$/.test(lenText)) return null;
    len = Number(lenText);
    if (len > bits) return null;
  }
  const hostMask = (1n << BigInt(bits - len)) - 1n;
  const all = (1n << BigInt(bits)) - 1n;
  const network = ip.value & (all ^ hostMask);
  return { version: ip.version, prefix: `${formatIp(ip.value, ip.version)}/${len}`, cidr: `${formatIp(network, ip.version)}/${len}` };
}

/** convert_ip_prefix_to_cidr: '' and null mean none; else an address or CIDR. */
export const convertIpPrefix: Validator = (v) => {
  if (v === null || v === undefined || v === '') return null;
  const p = typeof v === 'string' ? parseIpPrefix(v.trim()) : null;
  if (!p) throw invalidCidr(show(v));
  return p.prefix;
};

/** Security group names: 'default' (any case) is reserved for the group Neutron makes itself. */
export const nameNotDefault: Validator = (v, attr) => {
  const s = string(255)(v, attr) as string;
  if (s.toLowerCase() === 'default') {
    throw securityGroupDefaultAlreadyExists();
  }
  return s;
};

/** A port's security_groups: null means none; unique group ids (convert_none_to_empty_list + uuid_list). */
export const securityGroupIdList: Validator = (v, attr) => {
  if (v === null) return [];
  const l = list()(v, attr) as unknown[];
  for (const x of l) if (!isUuid(x)) throw invalidAttribute(attr, `'${show(x)}' is not a valid UUID`);
  const dups = l.filter((x, i) => l.indexOf(x) !== i);
  if (dups.length) throw invalidAttribute(attr, `Duplicate items in the list: '${[...new Set(dups)].join(', ')}'`);
  return l;
};

/** A free-form id that is looked up later (Neutron does not validate these: unknown ones are 404s). */
const idOrNull: Validator = (v, attr) => (v === null ? null : string(255)(v, attr));

const ro = { allowPost: false, allowPut: false, visible: true } as const;

const { tags: _tags, ...ruleStandardAttrs } = standardAttrs;
void _tags;

export const securityGroupDef: ResourceDef = {
  name: 'security_group',
  collection: 'security_groups',
  path: 'security-groups',
  table: 'security_groups',
  taggable: true,
  attributes: {
    id: idAttr,
    name: { allowPost: true, allowPut: true, default: '', validate: nameNotDefault, visible: true, filter: true, sortKey: true, column: COLUMN },
    stateful: {
      allowPost: true, allowPut: true, default: true, validate: boolean, visible: true, extension: 'stateful-security-group',
    },
    ...projectAttrs,
    ...standardAttrs,
    security_group_rules: { ...ro },
    shared: {
      ...ro, filter: true, filterConvert: filterBool, requiredByPolicy: true, enforcePolicy: true,
      extension: 'security-groups-shared-filtering',
    },
  },
};

const ruleAttr = (a: Partial<AttributeDef>): AttributeDef => ({
  allowPost: true, allowPut: false, visible: true, filter: true, sortKey: true, column: COLUMN, ...a,
});

export const securityGroupRuleDef: ResourceDef = {
  name: 'security_group_rule',
  collection: 'security_group_rules',
  path: 'security-group-rules',
  table: 'security_group_rules',
  parent: { resource: 'security_group', idAttr: 'security_group_id' },
  attributes: {
    id: idAttr,
    security_group_id: ruleAttr({ validate: string(36), requiredByPolicy: true }),
    remote_group_id: ruleAttr({ default: null, validate: idOrNull }),
    direction: ruleAttr({ validate: oneOf(DIRECTIONS) }),
    protocol: ruleAttr({ default: null, validate: convertProtocol, filterConvert: (raw) => raw.toLowerCase() }),
    port_range_min: ruleAttr({ default: null, validate: convertPort, filterConvert: filterInt }),
    port_range_max: ruleAttr({ default: null, validate: convertPort, filterConvert: filterInt }),
    ethertype: ruleAttr({ default: 'IPv4', validate: convertEthertype, filterConvert: (raw) => convertEthertype(raw, 'ethertype') }),
    remote_ip_prefix: ruleAttr({ default: null, validate: convertIpPrefix }),
    remote_address_group_id: ruleAttr({ default: null, validate: idOrNull, extension: 'security-groups-remote-address-group' }),
    normalized_cidr: { ...ro, filter: true, sortKey: true, extension: 'security-groups-normalized-cidr', column: COLUMN },
    ...projectAttrs,
    ...ruleStandardAttrs,
  },
};

/** The remote_group_id of a default rule that stands for the group being created. */
export const PARENT_SG = 'PARENT';

const invisibleOwner = { visible: false, filter: false, sortKey: false, column: undefined } as const;

/**
 * /v2.0/default-security-group-rules (security-groups-default-rules, Neutron 2023.2): the rules
 * a new group is created with, the default group's (used_in_default_sg) and the others'
 * (used_in_non_default_sg). Owned by no project; made and deleted by admins, never updated.
 */
export const defaultSecurityGroupRuleDef: ResourceDef = {
  name: 'default_security_group_rule',
  collection: 'default_security_group_rules',
  path: 'default-security-group-rules',
  table: 'default_security_group_rules',
  attributes: {
    id: idAttr,
    tenant_id: { ...projectAttrs.tenant_id!, ...invisibleOwner },
    project_id: { ...projectAttrs.project_id!, ...invisibleOwner },
    description: { allowPost: true, allowPut: false, default: '', validate: string(255), visible: true, filter: true, column: COLUMN },
    remote_group_id: ruleAttr({ default: null, validate: idOrNull }),
    remote_address_group_id: ruleAttr({ default: null, validate: idOrNull }),
    direction: ruleAttr({ validate: oneOf(DIRECTIONS) }),
    protocol: ruleAttr({ default: null, validate: convertProtocol, filterConvert: (raw) => raw.toLowerCase() }),
    port_range_min: ruleAttr({ default: null, validate: convertPort, filterConvert: filterInt }),
    port_range_max: ruleAttr({ default: null, validate: convertPort, filterConvert: filterInt }),
    ethertype: ruleAttr({ default: 'IPv4', validate: convertEthertype, filterConvert: (raw) => convertEthertype(raw, 'ethertype') }),
    remote_ip_prefix: ruleAttr({ default: null, validate: convertIpPrefix }),
    used_in_default_sg: {
      allowPost: true, allowPut: false, validate: boolean, visible: true, filter: true, filterConvert: filterBool, column: BOOL_COLUMN,
    },
    used_in_non_default_sg: {
      allowPost: true, allowPut: false, validate: boolean, visible: true, filter: true, filterConvert: filterBool, column: BOOL_COLUMN,
    },
  },
};

// subnets: core attributes (CIDR, gateway, pools, DNS, host routes, DHCP, IPv6 modes).
import type { ResourceDef } from '../core/definition.js';
import { BOOL_COLUMN, COLUMN, idAttr, ipAddressOrNull, nameAttr, NOT_SPECIFIED, projectAttrs, standardAttrs } from './common.js';
import { badRequest, invalidAttribute, NeutronError } from '../core/errors.js';
import { boolean, filterBool, filterInt, list, oneOf, string, toInt, uuid, uuidOrNull, dict } from './validators.js';

export const IPV6_MODES = ['dhcpv6-stateful', 'dhcpv6-stateless', 'slaac'] as const;

const ipVersion = (v: unknown, attr: string) => oneOf([4, 6])(toInt(v, attr), attr);
const v6mode = (v: unknown, attr: string) => (v === null ? null : oneOf(IPV6_MODES)(v, attr));
const poolList = (v: unknown, attr: string) => {
  const l = list(dict)(v, attr) as Record<string, unknown>[];
  for (const p of l) {
    const keys = Object.keys(p).sort().join(',');
    if (keys !== 'end,start') throw invalidAttribute(attr, `Unrecognized or missing keys in allocation pool ${JSON.stringify(p)}; expected 'start' and 'end'`);
  }
  return l;
};
const routeList = (v: unknown, attr: string) => {
  const l = list(dict)(v, attr) as Record<string, unknown>[];
  for (const r of l) {
    const keys = Object.keys(r).sort().join(',');
    if (keys !== 'destination,nexthop') throw invalidAttribute(attr, `Unrecognized or missing keys in host route ${JSON.stringify(r)}; expected 'destination' and 'nexthop'`);
  }
  return l;
};

/**
 * neutron-lib's validate_subnet_service_types as it behaves: it means to take device owners
 * ('network:', 'neutron:', 'compute:' prefixes) but adds 'compute:' to its prefix list letter by
 * letter, so any string starting with 'network:', 'neutron:' or one of c o m p u t e : passes
 * (tempest's 'test:type_1' among them). Clients rely on that; neutrino takes the same.
 */
const SERVICE_TYPE_PREFIXES = ['network:', 'neutron:', ...'compute:'];
function serviceTypes(v: unknown, attr: string): string[] {
  if (v === null || (Array.isArray(v) && v.length === 0)) return [];
  if (!Array.isArray(v)) throw badRequest('Subnet service types must be a list.');
  for (const t of v) {
    if (typeof t !== 'string') throw new NeutronError(400, 'InvalidInputSubnetServiceType', `Subnet service type ${JSON.stringify(t)} is not a string.`);
    if (t.length > 255 || !SERVICE_TYPE_PREFIXES.some((p) => t.startsWith(p))) {
      throw new NeutronError(400, 'InvalidSubnetServiceType', `Subnet service type ${t} does not correspond to a valid device owner.`);
    }
  }
  void attr;
  return v as string[];
}

export const subnetDef: ResourceDef = {
  name: 'subnet',
  collection: 'subnets',
  taggable: true,
  parent: { resource: 'network', idAttr: 'network_id' },
  attributes: {
    id: idAttr,
    name: nameAttr,
    ip_version: { allowPost: true, allowPut: false, validate: ipVersion, visible: true, filter: true, filterConvert: filterInt, sortKey: true, column: COLUMN },
    network_id: { allowPost: true, allowPut: false, validate: uuid, visible: true, filter: true, sortKey: true, requiredByPolicy: true, column: COLUMN },
    subnetpool_id: { allowPost: true, allowPut: false, default: NOT_SPECIFIED, validate: uuidOrNull, visible: true, filter: true, sortKey: true, column: COLUMN },
    prefixlen: { allowPost: true, allowPut: false, default: NOT_SPECIFIED, validate: (v, a) => toInt(v, a), visible: false, extension: 'subnet_allocation' },
    cidr: { allowPost: true, allowPut: false, default: NOT_SPECIFIED, validate: string(64), visible: true, filter: true, sortKey: true, column: COLUMN },
    gateway_ip: { allowPost: true, allowPut: true, default: NOT_SPECIFIED, validate: ipAddressOrNull, visible: true, filter: true, sortKey: true, column: COLUMN },
    allocation_pools: { allowPost: true, allowPut: true, default: NOT_SPECIFIED, validate: poolList, visible: true },
    dns_nameservers: { allowPost: true, allowPut: true, default: [], validate: list(string(255)), visible: true, filter: true },
    host_routes: { allowPost: true, allowPut: true, default: [], validate: routeList, visible: true },
    enable_dhcp: { allowPost: true, allowPut: true, default: true, validate: boolean, visible: true, filter: true, filterConvert: filterBool, sortKey: true, column: BOOL_COLUMN },
    ipv6_ra_mode: { allowPost: true, allowPut: false, default: null, validate: v6mode, visible: true, filter: true, sortKey: true, column: COLUMN },
    ipv6_address_mode: { allowPost: true, allowPut: false, default: null, validate: v6mode, visible: true, filter: true, sortKey: true, column: COLUMN },
    // Whether the subnet's network is shared with the caller: a filter only, never shown (Neutron's).
    shared: { allowPost: false, allowPut: false, default: false, visible: false, filter: true, filterConvert: filterBool, requiredByPolicy: true },
    ...projectAttrs,
    ...standardAttrs,
    segment_id: { allowPost: true, allowPut: true, default: null, validate: uuidOrNull, visible: true, filter: true, sortKey: true, enforcePolicy: true, extension: 'segment', column: COLUMN },
    // No enforce_policy in neutron-lib: its create/update_subnet:service_types rules never apply.
    service_types: { allowPost: true, allowPut: true, default: [], validate: serviceTypes, visible: true, filter: true, extension: 'subnet-service-types' },
    dns_publish_fixed_ip: { allowPost: true, allowPut: true, default: false, validate: boolean, visible: true, extension: 'subnet-dns-publish-fixed-ip' },
    use_default_subnetpool: { allowPost: true, allowPut: false, default: false, validate: boolean, visible: false, extension: 'default-subnetpools' },
  },
};

// networks: core attributes plus provider, multi-provider, external-net, net-mtu(-writable),
// port-security and the standard attributes.
import type { ResourceDef } from '../core/definition.js';
import { availabilityZoneHints } from './availability-zone.js';
import { networkDnsAttrs } from './dns.js';
import { adminStateAttr, BOOL_COLUMN, COLUMN, columnNamed, idAttr, nameAttr, NOT_SPECIFIED, projectAttrs, standardAttrs } from './common.js';
import { boolean, filterBool, filterInt, intRange, list, stringOrNull, uuidOrNull, dict } from './validators.js';

export const PROVIDER_TYPES = ['local', 'flat', 'vlan', 'vxlan', 'geneve', 'gre'] as const;

const segmentationId = (v: unknown, attr: string) => (v === null ? null : intRange(0, 16777215)(v, attr));

export const networkDef: ResourceDef = {
  name: 'network',
  collection: 'networks',
  taggable: true,
  attributes: {
    id: idAttr,
    name: nameAttr,
    subnets: { allowPost: false, allowPut: false, default: [], visible: true, filter: true },
    admin_state_up: adminStateAttr,
    status: { allowPost: false, allowPut: false, visible: true, filter: true, sortKey: true, column: COLUMN },
    shared: {
      allowPost: true, allowPut: true, default: false, validate: boolean, visible: true, filter: true,
      filterConvert: filterBool, enforcePolicy: true, requiredByPolicy: true,
    },
    ...projectAttrs,
    ...standardAttrs,
    mtu: {
      allowPost: true, allowPut: true, default: NOT_SPECIFIED, validate: intRange(68, 65535), visible: true,
      filter: true, filterConvert: filterInt, sortKey: true, extension: 'net-mtu-writable', column: COLUMN,
    },
    'provider:network_type': {
      allowPost: true, allowPut: true, default: NOT_SPECIFIED, validate: stringOrNull(255), visible: true,
      filter: true, enforcePolicy: true, extension: 'provider',
    },
    'provider:physical_network': {
      allowPost: true, allowPut: true, default: NOT_SPECIFIED, validate: stringOrNull(64), visible: true,
      filter: true, enforcePolicy: true, extension: 'provider',
    },
    'provider:segmentation_id': {
      allowPost: true, allowPut: true, default: NOT_SPECIFIED, validate: segmentationId, visible: true,
      filter: true, filterConvert: filterInt, enforcePolicy: true, extension: 'provider',
    },
    segments: {
      allowPost: true, allowPut: true, default: NOT_SPECIFIED, visible: true, enforcePolicy: true,
      validate: list(dict), extension: 'multi-provider',
    },
    'router:external': {
      allowPost: true, allowPut: true, default: NOT_SPECIFIED, validate: boolean, visible: true, filter: true,
      filterConvert: filterBool, enforcePolicy: true, requiredByPolicy: true, extension: 'external-net',
      column: columnNamed('router_external', BOOL_COLUMN),
    },
    // Routed networks (segments plugin): false once the network's subnets belong to segments.
    l2_adjacency: { allowPost: false, allowPut: false, visible: true, extension: 'l2_adjacency' },
    // The default external network of auto-allocation (Neutron keeps it with the external flag).
    is_default: {
      allowPost: true, allowPut: true, default: false, validate: boolean, visible: true, filter: true,
      filterConvert: filterBool, enforcePolicy: true, requiredByPolicy: true, extension: 'auto-allocated-topology',
      column: BOOL_COLUMN,
    },
    port_security_enabled: {
      allowPost: true, allowPut: true, default: true, validate: boolean, visible: true, filter: true,
      filterConvert: filterBool, enforcePolicy: true, extension: 'port-security', column: BOOL_COLUMN,
    },
    availability_zone_hints: {
      allowPost: true, allowPut: false, default: [], validate: availabilityZoneHints, visible: true,
      extension: 'network_availability_zone',
    },
    availability_zones: { allowPost: false, allowPut: false, visible: true, extension: 'network_availability_zone' },
    ipv4_address_scope: { allowPost: false, allowPut: false, visible: true, extension: 'address-scope' },
    ipv6_address_scope: { allowPost: false, allowPut: false, visible: true, extension: 'address-scope' },
    qos_policy_id: {
      allowPost: true, allowPut: true, default: null, validate: uuidOrNull, visible: true, enforcePolicy: true, extension: 'qos',
    },
    ...networkDnsAttrs,
  },
};

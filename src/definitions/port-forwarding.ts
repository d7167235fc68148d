// Floating IP port forwardings (neutron_lib's floating_ip_port_forwarding with fip_pf_description,
// fip_pf_port_range and fip_pf_detail) under /v2.0/floatingips/{id}/port_forwardings, and router
// conntrack helpers (l3_conntrack_helper) under /v2.0/routers/{id}/conntrack_helpers. Neither
// has an owner of its own in its view: the parent's owner decides (ext_parent in the policies).
import type { AttributeDef, ResourceDef, Validator } from '../core/definition.js';
import { invalidAttribute } from '../core/errors.js';
import { COLUMN, idAttr, ipAddress } from './common.js';
import { filterInt, intRange, oneOf, string, uuid } from './validators.js';

/** neutron_lib's IPTABLES_PROTOCOL_MAP keys, what both resources accept as `protocol`. */
export const PF_PROTOCOLS = ['dccp', 'icmp', 'ipv6-icmp', 'sctp', 'tcp', 'udp'] as const;

const port = intRange(1, 65535);
const portOrNull: Validator = (v, attr) => (v === null ? null : port(v, attr));

/** validate_port_range_or_none: 'N' or 'N:M' (N < M) within 1-65535; kept as given. */
export const portRangeOrNull: Validator = (v, attr) => {
  if (v === null) return null;
  const parts = String(v).split(':');
  if (parts.length > 2 || parts.some((p) => p === '')) throw invalidAttribute(attr, 'Port range must be two integers separated by a colon');
  for (const p of parts) {
    if (!/^\d+$/.test(p) || Number(p) > 65535) throw invalidAttribute(attr, `Invalid port: ${p}`);
    if (Number(p) < 1) throw invalidAttribute(attr, `Invalid port: ${p}, the port must be in the range [1, 65535]`);
  }
  if (parts.length === 2 && Number(parts[0]) >= Number(parts[1])) {
    throw invalidAttribute(attr, 'First port in a port range must be lower than the second port');
  }
  return String(v);
};

/** project_id: given (and checked by policy) on create, neither stored nor shown. */
const hiddenProject: Record<string, AttributeDef> = {
  tenant_id: { allowPost: true, allowPut: false, validate: string(255), visible: false, requiredByPolicy: true },
  project_id: { allowPost: true, allowPut: false, validate: string(255), visible: false, requiredByPolicy: true },
};

export const portForwardingDef: ResourceDef = {
  name: 'port_forwarding',
  collection: 'port_forwardings',
  table: 'portforwardings',
  parentPath: 'floatingips',
  parent: { resource: 'floatingip', idAttr: 'floatingip_id' },
  attributes: {
    id: idAttr,
    ...hiddenProject,
    floatingip_id: { allowPost: false, allowPut: false, visible: false, filter: true, column: COLUMN },
    // With port ranges these become optional (range_or_none); the plugin wants one of each pair.
    // Stored as ranges: filters on these are the handler's (filterRest).
    external_port: { allowPost: true, allowPut: true, default: null, validate: portOrNull, visible: true, filter: true, filterConvert: filterInt },
    internal_port: { allowPost: true, allowPut: true, default: null, validate: portOrNull, visible: true },
    internal_ip_address: { allowPost: true, allowPut: true, default: null, validate: (v, a) => (v === null ? null : ipAddress(v, a)), visible: true },
    protocol: {
      allowPost: true, allowPut: true, validate: oneOf(PF_PROTOCOLS), visible: true, filter: true, sortKey: true, column: COLUMN,
    },
    internal_port_id: {
      allowPost: true, allowPut: true, validate: uuid, visible: true, filter: true, sortKey: true,
      column: { name: 'internal_neutron_port_id' },
    },
    description: {
      allowPost: true, allowPut: true, default: '', validate: string(1024), visible: true, filter: true, column: COLUMN,
      extension: 'floating-ip-port-forwarding-description',
    },
    external_port_range: {
      allowPost: true, allowPut: true, default: null, validate: portRangeOrNull, visible: true, filter: true,
      extension: 'floating-ip-port-forwarding-port-ranges',
    },
    internal_port_range: {
      allowPost: true, allowPut: true, default: null, validate: portRangeOrNull, visible: true,
      extension: 'floating-ip-port-forwarding-port-ranges',
    },
  },
};

export const conntrackHelperDef: ResourceDef = {
  name: 'conntrack_helper',
  collection: 'conntrack_helpers',
  table: 'conntrack_helpers',
  parentPath: 'routers',
  parent: { resource: 'router', idAttr: 'router_id' },
  attributes: {
    id: idAttr,
    ...hiddenProject,
    router_id: { allowPost: false, allowPut: false, visible: false, filter: true, column: COLUMN },
    protocol: { allowPost: true, allowPut: true, validate: oneOf(PF_PROTOCOLS), visible: true, filter: true, sortKey: true, column: COLUMN },
    port: { allowPost: true, allowPut: true, validate: port, visible: true, filter: true, filterConvert: filterInt, sortKey: true, column: COLUMN },
    helper: { allowPost: true, allowPut: true, validate: string(64), visible: true, filter: true, sortKey: true, column: COLUMN },
  },
};

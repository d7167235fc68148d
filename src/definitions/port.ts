// ports: core attributes plus binding, port-security, allowed-address-pairs, extra_dhcp_opt
// and the standard attributes.
import type { ResourceDef } from '../core/definition.js';
import { adminStateAttr, BOOL_COLUMN, COLUMN, columnNamed, idAttr, nameAttr, NOT_SPECIFIED, projectAttrs, standardAttrs } from './common.js';
import { invalidAttribute } from '../core/errors.js';

/** neutron's tagging MAX_TAG_LEN. */
const MAX_TAG_LEN = 255;
import { boolean, dict, dictOrEmpty, filterBool, list, macAddress, oneOf, string, stringOrNull, uuid, uuidOrNull } from './validators.js';
import { securityGroupIdList } from './security-group.js';
import { portDnsAttrs } from './dns.js';

export const VNIC_TYPES = [
  'normal', 'direct', 'macvtap', 'baremetal', 'direct-physical', 'virtio-forwarder', 'smart-nic', 'vdpa',
  'accelerator-direct', 'accelerator-direct-physical', 'remote-managed',
] as const;

const fixedIps = (v: unknown, attr: string) => {
  const l = list(dict)(v, attr) as Record<string, unknown>[];
  for (const ip of l) {
    for (const k of Object.keys(ip)) {
      if (k !== 'ip_address' && k !== 'subnet_id') throw invalidAttribute(attr, `Unrecognized attribute '${k}' in fixed IP ${JSON.stringify(ip)}`);
    }
  }
  return l;
};

const addressPairs = (v: unknown, attr: string) => {
  if (v === null) return [];
  const l = list(dict)(v, attr) as Record<string, unknown>[];
  for (const p of l) {
    for (const k of Object.keys(p)) {
      if (k !== 'ip_address' && k !== 'mac_address') throw invalidAttribute(attr, `Unrecognized attribute(s) '${k}'`);
    }
  }
  return l;
};

const dhcpOpts = (v: unknown, attr: string) => {
  if (v === null) return [];
  const l = list(dict)(v, attr) as Record<string, unknown>[];
  for (const o of l) {
    for (const k of Object.keys(o)) {
      if (k !== 'opt_name' && k !== 'opt_value' && k !== 'ip_version') throw invalidAttribute(attr, `Unrecognized attribute '${k}' in extra DHCP option`);
    }
  }
  return l;
};

/** neutron_lib PORT_NUMA_POLICIES, with 'socket' (port-numa-affinity-policy-socket). */
export const NUMA_POLICIES = ['required', 'preferred', 'legacy', 'socket'] as const;

/**
 * port-hints' HINTS_SPEC: null or a dict whose only known key is openvswitch.other_config
 * .tx-steering (thread or hash); any other key is refused, at every level, as validate_dict does.
 */
function hints(v: unknown, attr: string): unknown {
  if (v === null) return null;
  const level = (x: unknown, keys: readonly string[]): Record<string, unknown> => {
    const d = dict(x, attr) as Record<string, unknown>;
    const unexpected = Object.keys(d).filter((k) => !keys.includes(k));
    if (unexpected.length) throw invalidAttribute(attr, `Unexpected keys supplied: ${unexpected.join(', ')}`);
    return d;
  };
  const top = level(v, ['openvswitch']);
  if ('openvswitch' in top) {
    const ovs = level(top.openvswitch, ['other_config']);
    if ('other_config' in ovs) {
      const other = level(ovs.other_config, ['tx-steering']);
      if ('tx-steering' in other) oneOf(['thread', 'hash'])(other['tx-steering'], attr);
    }
  }
  return v;
}

/** mac_address null: a new random MAC (Neutron's convert_to_mac_if_none, port-mac-address-regenerate). */
export const GENERATE_MAC = Symbol('GENERATE_MAC');
const macOrGenerate = (v: unknown, attr: string) => (v === null ? GENERATE_MAC : macAddress(v, attr));

/** type:list_of_unique_strings with tags' length limit. */
function portTags(v: unknown, attr: string): string[] {
  const tags = list(string(MAX_TAG_LEN))(v, attr) as string[];
  const dups = tags.filter((t, i) => tags.indexOf(t) !== i);
  if (dups.length) throw invalidAttribute(attr, `Duplicate items in the list: '${[...new Set(dups)].join(', ')}'`);
  return tags;
}

export const portDef: ResourceDef = {
  name: 'port',
  collection: 'ports',
  taggable: true,
  parent: { resource: 'network', idAttr: 'network_id' },
  attributes: {
    id: idAttr,
    name: nameAttr,
    network_id: { allowPost: true, allowPut: false, validate: uuid, visible: true, filter: true, sortKey: true, requiredByPolicy: true, column: COLUMN },
    admin_state_up: adminStateAttr,
    mac_address: { allowPost: true, allowPut: true, default: NOT_SPECIFIED, validate: macOrGenerate, visible: true, filter: true, sortKey: true, enforcePolicy: true, column: COLUMN },
    fixed_ips: { allowPost: true, allowPut: true, default: NOT_SPECIFIED, validate: fixedIps, visible: true, filter: true, enforcePolicy: true },
    device_id: { allowPost: true, allowPut: true, default: '', validate: string(255), visible: true, filter: true, sortKey: true, column: COLUMN },
    device_owner: { allowPost: true, allowPut: true, default: '', validate: string(255), visible: true, filter: true, sortKey: true, enforcePolicy: true, column: COLUMN },
    status: { allowPost: false, allowPut: false, visible: true, filter: true, sortKey: true, column: COLUMN },
    ...projectAttrs,
    ...standardAttrs,
    // tag-ports-during-bulk-creation: a port takes its tags on create too (Neutron's TAG_ATTRIBUTE_MAP_PORTS).
    tags: { allowPost: true, allowPut: false, default: [], validate: portTags, visible: true, extension: 'standard-attr-tag' },
    'binding:host_id': { allowPost: true, allowPut: true, default: '', validate: string(255), visible: true, filter: true, enforcePolicy: true, extension: 'binding',
      column: columnNamed('binding_host_id'),
    },
    'binding:vif_type': {
      allowPost: false, allowPut: false, visible: true, filter: true, enforcePolicy: true, extension: 'binding', column: columnNamed('binding_vif_type'),
    },
    'binding:vif_details': { allowPost: false, allowPut: false, visible: true, enforcePolicy: true, extension: 'binding' },
    'binding:vnic_type': { allowPost: true, allowPut: true, default: 'normal', validate: oneOf(VNIC_TYPES), visible: true, filter: true, enforcePolicy: true, extension: 'binding',
      column: columnNamed('binding_vnic_type'),
    },
    'binding:profile': { allowPost: true, allowPut: true, default: {}, validate: dictOrEmpty, visible: true, enforcePolicy: true, extension: 'binding' },
    port_security_enabled: { allowPost: true, allowPut: true, default: NOT_SPECIFIED, validate: boolean, visible: true, filter: true, filterConvert: filterBool, enforcePolicy: true, extension: 'port-security',
      column: BOOL_COLUMN,
    },
    allowed_address_pairs: { allowPost: true, allowPut: true, default: NOT_SPECIFIED, validate: addressPairs, visible: true, enforcePolicy: true, extension: 'allowed-address-pairs' },
    extra_dhcp_opts: { allowPost: true, allowPut: true, default: [], validate: dhcpOpts, visible: true, extension: 'extra_dhcp_opt' },
    security_groups: { allowPost: true, allowPut: true, default: NOT_SPECIFIED, validate: securityGroupIdList, visible: true, filter: true, extension: 'security-group' },
    qos_policy_id: { allowPost: true, allowPut: true, default: null, validate: uuidOrNull, visible: true, enforcePolicy: true, extension: 'qos' },
    qos_network_policy_id: { allowPost: false, allowPut: false, visible: true, extension: 'qos-port-network-policy' },
    resource_request: { allowPost: false, allowPut: false, visible: true, enforcePolicy: true, extension: 'port-resource-request' },
    trunk_details: { allowPost: false, allowPut: false, visible: true, enforcePolicy: true, requiredByPolicy: true, extension: 'trunk-details' },
    ...portDnsAttrs,
    device_profile: { allowPost: true, allowPut: false, default: null, validate: stringOrNull(255), visible: true, extension: 'port-device-profile' },
    numa_affinity_policy: {
      allowPost: true, allowPut: true, default: null, validate: oneOf([...NUMA_POLICIES, null]), visible: true, extension: 'port-numa-affinity-policy',
    },
    hints: { allowPost: true, allowPut: true, default: null, validate: hints, visible: true, enforcePolicy: true, extension: 'port-hints' },
    trusted: { allowPost: true, allowPut: true, default: NOT_SPECIFIED, validate: boolean, visible: true, enforcePolicy: true, extension: 'port-trusted-vif' },
    propagate_uplink_status: {
      allowPost: true, allowPut: false, default: true, validate: boolean, visible: true, extension: 'uplink-status-propagation',
      putWith: 'uplink-status-propagation-updatable',
    },
    // Routed networks: immediate, deferred (until the port is bound to a host) or none.
    ip_allocation: { allowPost: false, allowPut: false, visible: true, filter: true, sortKey: true, extension: 'ip_allocation' },
  },
};

// floatingips (Neutron's `router` extension, neutron_lib/api/definitions/l3.py) with
// fip-port-details (port_details), qos-fip (qos_policy_id) and the standard attributes.
import type { ResourceDef } from '../core/definition.js';
import { COLUMN, columnNamed, idAttr, ipAddressOrNull, projectAttrs, standardAttrs } from './common.js';
import { uuid, uuidOrNull } from './validators.js';
import { floatingipDnsAttrs } from './dns.js';

export const floatingipDef: ResourceDef = {
  name: 'floatingip',
  collection: 'floatingips',
  table: 'floatingips',
  taggable: true,
  attributes: {
    id: idAttr,
    floating_ip_address: {
      allowPost: true, allowPut: false, default: null, validate: ipAddressOrNull, visible: true, filter: true,
      sortKey: true, enforcePolicy: true, column: COLUMN,
    },
    // Input only: the external subnet to take the address from.
    subnet_id: { allowPost: true, allowPut: false, default: null, validate: uuidOrNull, visible: false },
    floating_network_id: { allowPost: true, allowPut: false, validate: uuid, visible: true, filter: true, sortKey: true, column: COLUMN },
    router_id: { allowPost: false, allowPut: false, default: null, visible: true, filter: true, sortKey: true, column: COLUMN },
    port_id: {
      allowPost: true, allowPut: true, default: null, validate: uuidOrNull, visible: true, filter: true, requiredByPolicy: true,
      column: columnNamed('fixed_port_id'),
    },
    fixed_ip_address: {
      allowPost: true, allowPut: true, default: null, validate: ipAddressOrNull, visible: true, filter: true, sortKey: true, column: COLUMN,
    },
    ...projectAttrs,
    status: { allowPost: false, allowPut: false, visible: true, filter: true, sortKey: true, column: COLUMN },
    ...standardAttrs,
    port_details: { allowPost: false, allowPut: false, visible: true, extension: 'fip-port-details' },
    qos_policy_id: { allowPost: true, allowPut: true, default: null, validate: uuidOrNull, visible: true, extension: 'qos-fip' },
    ...floatingipDnsAttrs,
    port_forwardings: { allowPost: false, allowPut: false, default: null, visible: true, extension: 'expose-port-forwarding-in-fip' },
  },
};

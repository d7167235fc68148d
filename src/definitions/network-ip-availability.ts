// network-ip-availabilities (network-ip-availability): read-only address usage per network and
// subnet, for operators. `ip_version` is a filter only. The network's own attributes come from
// (and filter on) the networks table.
import type { ResourceDef } from '../core/definition.js';
import { COLUMN, columnNamed } from './common.js';
import { filterInt } from './validators.js';

const ro = { allowPost: false, allowPut: false, visible: true } as const;

export const networkIpAvailabilityDef: ResourceDef = {
  name: 'network_ip_availability',
  collection: 'network_ip_availabilities',
  path: 'network-ip-availabilities',
  table: 'networks',
  attributes: {
    network_id: { ...ro, filter: true, primaryKey: true, sortKey: true, column: columnNamed('id') },
    network_name: { ...ro, filter: true, column: columnNamed('name') },
    tenant_id: { ...ro, filter: true, column: columnNamed('project_id') },
    project_id: { ...ro, filter: true, extension: 'project-id', column: COLUMN },
    total_ips: { ...ro },
    used_ips: { ...ro },
    subnet_ip_availability: { ...ro },
    ip_version: { allowPost: false, allowPut: false, visible: false, filter: true, filterConvert: filterInt },
  },
};

// network-ip-availabilities (network-ip-availability): read-only address usage per network and
// subnet, for operators. `ip_version` is a filter only.
import type { ResourceDef } from './types.js';
import { filterInt } from './validators.js';

const ro = { allowPost: false, allowPut: false, visible: true } as const;

export const networkIpAvailabilityDef: ResourceDef = {
  name: 'network_ip_availability',
  collection: 'network_ip_availabilities',
  path: 'network-ip-availabilities',
  attributes: {
    network_id: { ...ro, filter: true, primaryKey: true, sortKey: true },
    network_name: { ...ro, filter: true },
    tenant_id: { ...ro, filter: true },
    project_id: { ...ro, filter: true, extension: 'project-id' },
    total_ips: { ...ro },
    used_ips: { ...ro },
    subnet_ip_availability: { ...ro },
    ip_version: { allowPost: false, allowPut: false, visible: false, filter: true, filterConvert: filterInt },
  },
};

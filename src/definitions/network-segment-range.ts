// network_segment_ranges at /v2.0/network-segment-ranges (network-segment-range): the VLAN ids and VNIs that tenant networks take
// their segments from. Default ranges come from the ML2 configuration and cannot be changed; an
// admin adds shared ranges or ranges of one project. `used` (segmentation id -> owning project)
// and `available` (free ids) are computed from the allocations.
import type { ResourceDef } from '../core/definition.js';
import { BOOL_COLUMN, COLUMN, columnNamed, idAttr, NOT_SPECIFIED, projectAttrs, standardAttrs } from './common.js';
import { boolean, intRange, oneOf, string, stringOrNull } from './validators.js';

/** neutron-lib's NETWORK_SEGMENT_RANGE_TYPES. */
export const NETWORK_SEGMENT_RANGE_TYPES = ['vlan', 'vxlan', 'gre', 'geneve'] as const;
/** The largest id space of them (GRE's): the API's bounds; each type's own are checked after. */
const RANGE_LIMIT = intRange(1, 2 ** 32 - 1);

export const networkSegmentRangeDef: ResourceDef = {
  name: 'network_segment_range',
  collection: 'network_segment_ranges',
  // Neutron's extension serves it with dashes (build_resource_info's translate_name).
  path: 'network-segment-ranges',
  table: 'network_segment_ranges',
  taggable: true,
  attributes: {
    id: idAttr,
    name: { allowPost: true, allowPut: true, default: '', validate: string(255), visible: true, filter: true, sortKey: true, column: COLUMN },
    default: { allowPost: false, allowPut: false, visible: true, column: columnNamed('is_default', BOOL_COLUMN) },
    shared: { allowPost: true, allowPut: false, default: true, validate: boolean, visible: true, column: BOOL_COLUMN },
    // Neutron shows project_id alone (null for a shared range); tenant_id is taken as input.
    tenant_id: { ...projectAttrs.tenant_id!, visible: false },
    // null for a shared range (the controller checks what a request gives, a string).
    project_id: { ...projectAttrs.project_id!, validate: stringOrNull(255) },
    network_type: {
      allowPost: true, allowPut: false, validate: oneOf(NETWORK_SEGMENT_RANGE_TYPES), visible: true, filter: true, column: COLUMN,
    },
    physical_network: {
      allowPost: true, allowPut: false, default: NOT_SPECIFIED, validate: string(64), visible: true, filter: true, column: COLUMN,
    },
    minimum: { allowPost: true, allowPut: true, validate: RANGE_LIMIT, visible: true, column: COLUMN },
    maximum: { allowPost: true, allowPut: true, validate: RANGE_LIMIT, visible: true, column: COLUMN },
    used: { allowPost: false, allowPut: false, visible: true },
    available: { allowPost: false, allowPut: false, visible: true },
    ...standardAttrs,
  },
};

// segments (segment, standard-attr-segment): the network_segments rows of ML2 as a resource of
// their own. Only name and description change after create; the owner is taken on create (for
// policy) but is not a segment attribute anyone sees.
import type { ResourceDef } from '../core/definition.js';
import { COLUMN, idAttr, NOT_SPECIFIED, projectAttrs, standardAttrs } from './common.js';
import { string, stringOrNull, toInt, uuid } from './validators.js';

/** provider_net's NETWORK_TYPE_MAX_LEN and PHYSICAL_NETWORK_MAX_LEN. */
const NETWORK_TYPE_MAX_LEN = 32;
const PHYSICAL_NETWORK_MAX_LEN = 64;

export const segmentDef: ResourceDef = {
  name: 'segment',
  collection: 'segments',
  table: 'network_segments',
  taggable: true,
  attributes: {
    id: idAttr,
    // Input only: segments have no owner column.
    tenant_id: { ...projectAttrs.tenant_id!, visible: false, filter: false, sortKey: false, column: undefined },
    project_id: { ...projectAttrs.project_id!, visible: false, filter: false, sortKey: false, column: undefined },
    network_id: { allowPost: true, allowPut: false, validate: uuid, visible: true, filter: true, sortKey: true, column: COLUMN },
    // null is taken as "not given" (Neutron would refuse it as not a string).
    physical_network: {
      allowPost: true, allowPut: false, default: NOT_SPECIFIED, validate: stringOrNull(PHYSICAL_NETWORK_MAX_LEN), visible: true,
      filter: true, sortKey: true, column: COLUMN,
    },
    network_type: {
      allowPost: true, allowPut: false, validate: string(NETWORK_TYPE_MAX_LEN), visible: true, filter: true, sortKey: true, column: COLUMN,
    },
    segmentation_id: {
      allowPost: true, allowPut: false, default: NOT_SPECIFIED, validate: (v, a) => (v === null ? null : toInt(v, a)), visible: true,
      sortKey: true, column: COLUMN,
    },
    name: { allowPost: true, allowPut: true, default: null, validate: stringOrNull(255), visible: true, filter: true, sortKey: true, column: COLUMN },
    ...standardAttrs,
  },
};

// trunks (neutron_lib's trunk, with trunk-details on ports): a parent port that carries the
// traffic of its subports, each told apart by a segmentation type and id (VLAN tags).
import type { ResourceDef, Validator } from '../core/definition.js';
import { adminStateAttr, COLUMN, idAttr, nameAttr, projectAttrs, standardAttrs } from './common.js';
import { invalidAttribute } from '../core/errors.js';
import { isUuid, uuid } from './validators.js';
import { pyStr } from '../ipam/errors.js';

export const SEGMENTATION_TYPE_VLAN = 'vlan';
export const SEGMENTATION_TYPE_INHERIT = 'inherit';
export const MIN_VLAN_TAG = 1;
export const MAX_VLAN_TAG = 4094;

export interface SubPortRequest {
  port_id: string;
  segmentation_type?: unknown;
  segmentation_id?: unknown;
}

const show = pyStr;

/**
 * validate_subports: the reason a sub_ports list is malformed, or null. Each item is a dict with
 * a unique port UUID; segmentation details, when given, come as a pair and do not repeat.
 */
export function subportsProblem(data: unknown): string | null {
  if (!Array.isArray(data)) return `Invalid data format for subports: '${show(data)}' is not a list`;
  const ids = new Set<string>();
  const segmentations = new Map<unknown, Set<unknown>>();
  for (const sp of data) {
    if (typeof sp !== 'object' || sp === null || Array.isArray(sp)) return `Invalid data format for subport: '${show(sp)}' is not a dict`;
    const s = sp as Record<string, unknown>;
    if (!('port_id' in s)) return 'A valid port UUID must be specified';
    if (!isUuid(s.port_id)) return `Invalid UUID for subport: '${show(s.port_id)}'`;
    if (ids.has(s.port_id)) return `Non unique UUID for subport: '${s.port_id}'`;
    ids.add(s.port_id);
    const type = s.segmentation_type;
    // Neutron stops looking at the list once a subport asks to inherit its details.
    if (type === SEGMENTATION_TYPE_INHERIT) return null;
    const segId = s.segmentation_id;
    if ((!type || segId === undefined || segId === null) && Object.keys(s).length > 1) {
      return `Invalid subport details '${show(s)}': missing segmentation information. Must specify both segmentation_id and segmentation_type`;
    }
    const seen = segmentations.get(type);
    if (segId !== undefined && segId !== null && seen?.has(segId)) {
      return `Segmentation ID '${show(segId)}' for '${s.port_id}' is not unique`;
    }
    if (segId !== undefined && segId !== null) {
      if (seen) seen.add(segId);
      else segmentations.set(type, new Set([segId]));
    }
  }
  return null;
}

const subports: Validator = (v, attr) => {
  const problem = subportsProblem(v);
  if (problem) throw invalidAttribute(attr, problem);
  return v;
};

export const trunkDef: ResourceDef = {
  name: 'trunk',
  collection: 'trunks',
  table: 'trunks',
  memberActions: [{ name: 'add_subports' }, { name: 'remove_subports' }, { name: 'get_subports', method: 'get' }],
  taggable: true,
  attributes: {
    admin_state_up: adminStateAttr,
    id: idAttr,
    name: nameAttr,
    ...projectAttrs,
    port_id: { allowPost: true, allowPut: false, validate: uuid, visible: true, filter: true, sortKey: true, requiredByPolicy: true, column: COLUMN },
    status: { allowPost: false, allowPut: false, visible: true, filter: true, sortKey: true, column: COLUMN },
    sub_ports: { allowPost: true, allowPut: false, default: [], validate: subports, visible: true, enforcePolicy: true },
    ...standardAttrs,
  },
};

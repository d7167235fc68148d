// flavors and service_profiles (neutron_lib/api/definitions/flavors.py), and the flavor_id that
// l3-flavors adds to routers. Neither resource has an owner: tenant_id is taken on create (and
// checked by policy) but neither stored nor shown, as in Neutron. A flavor's service_type must
// name a loaded service plugin; the plugin checks that (the set depends on the configuration).
import type { AttributeDef, ResourceDef, Validator } from '../core/definition.js';
import { invalidAttribute } from '../core/errors.js';
import { BOOL_COLUMN, COLUMN, idAttr, projectAttrs } from './common.js';
import { filterBool, isUuid, list, string, stringOrNull, toBoolean } from './validators.js';

/** convert_to_boolean_if_not_none: null stays null (the plugin then keeps the default, true). */
const booleanIfNotNull: Validator = (v, attr) => {
  if (v === null) return null;
  try {
    return toBoolean(v);
  } catch {
    throw invalidAttribute(attr, `'${String(v)}' cannot be converted to boolean`);
  }
};

/** type:uuid_list. */
const uuidList: Validator = (v, attr) => {
  const l = list()(v, attr) as unknown[];
  for (const x of l) if (!isUuid(x)) throw invalidAttribute(attr, `'${String(x)}' is not a valid UUID`);
  return l;
};

const enabledAttr: AttributeDef = {
  allowPost: true, allowPut: true, default: true, validate: booleanIfNotNull, visible: true, filter: true, filterConvert: filterBool,
  sortKey: true, column: BOOL_COLUMN,
};
const descriptionAttr: AttributeDef = {
  allowPost: true, allowPut: true, default: '', validate: stringOrNull(1024), visible: true, filter: true, sortKey: true, column: COLUMN,
};
// Accepted on create for the policy check; no column, not shown.
const ownerAttrs: Record<string, AttributeDef> = {
  tenant_id: { ...projectAttrs.tenant_id!, visible: false, filter: false, sortKey: false, column: undefined },
  project_id: { ...projectAttrs.project_id!, visible: false, filter: false, sortKey: false, column: undefined },
};

export const flavorDef: ResourceDef = {
  name: 'flavor',
  collection: 'flavors',
  table: 'flavors',
  attributes: {
    id: idAttr,
    name: { allowPost: true, allowPut: true, default: '', validate: string(255), visible: true, filter: true, sortKey: true, column: COLUMN },
    description: descriptionAttr,
    service_type: { allowPost: true, allowPut: false, validate: string(36), visible: true, filter: true, sortKey: true, column: COLUMN },
    service_profiles: { allowPost: true, allowPut: true, default: [], validate: uuidList, visible: true },
    enabled: enabledAttr,
    ...ownerAttrs,
  },
};

export const serviceProfileDef: ResourceDef = {
  name: 'service_profile',
  collection: 'service_profiles',
  table: 'service_profiles',
  attributes: {
    id: idAttr,
    description: descriptionAttr,
    driver: { allowPost: true, allowPut: true, default: '', validate: string(1024), visible: true, filter: true, sortKey: true, column: COLUMN },
    metainfo: { allowPost: true, allowPut: true, default: '', validate: stringOrNull(4096), visible: true, sortKey: true, column: COLUMN },
    enabled: enabledAttr,
    flavors: { allowPost: false, allowPut: false, visible: true },
    ...ownerAttrs,
  },
};

/** l3-flavors: a router's flavor, chosen on create only. */
export const routerFlavorAttr: AttributeDef = {
  allowPost: true, allowPut: false, default: null, validate: (v, attr) => (v === null ? null : string(36)(v, attr)), visible: true,
  sortKey: true, enforcePolicy: true, extension: 'l3-flavors', column: COLUMN,
};

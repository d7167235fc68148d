// ndp_proxies (l3-ndp-proxy, neutron_lib/api/definitions/l3_ndp_proxy.py) and the routers'
// enable_ndp_proxy (l3-ext-ndp-proxy). Only name and description change after create; the plugin
// checks the router, the port and the address (which it picks when none is given).
import type { AttributeDef, ResourceDef, Validator } from '../core/definition.js';
import { invalidAttribute } from '../core/errors.js';
import { BOOL_COLUMN, COLUMN, idAttr, ipAddressOrNull, projectAttrs, standardAttrs } from './common.js';
import { filterBool, string, toBoolean, uuid } from './validators.js';

const booleanIfNotNull: Validator = (v, attr) => {
  if (v === null) return null;
  try {
    return toBoolean(v);
  } catch {
    throw invalidAttribute(attr, `'${String(v)}' cannot be converted to boolean`);
  }
};

export const ndpProxyDef: ResourceDef = {
  name: 'ndp_proxy',
  collection: 'ndp_proxies',
  table: 'ndp_proxies',
  attributes: {
    id: idAttr,
    name: { allowPost: true, allowPut: true, default: '', validate: string(255), visible: true, filter: true, sortKey: true, column: COLUMN },
    ...projectAttrs,
    router_id: { allowPost: true, allowPut: false, validate: uuid, visible: true, filter: true, sortKey: true, column: COLUMN },
    port_id: { allowPost: true, allowPut: false, validate: uuid, visible: true, filter: true, sortKey: true, column: COLUMN },
    ip_address: { allowPost: true, allowPut: false, default: null, validate: ipAddressOrNull, visible: true, filter: true, sortKey: true, column: COLUMN },
    ...standardAttrs,
    description: { ...standardAttrs.description!, validate: string(1024), extension: undefined },
    tags: { ...standardAttrs.tags!, visible: false },
  },
};

/** l3-ext-ndp-proxy: unset on create means [DEFAULT] enable_ndp_proxy_by_default (when the gateway allows). */
export const enableNdpProxyAttr: AttributeDef = {
  allowPost: true, allowPut: true, default: null, validate: booleanIfNotNull, visible: true, filter: true, filterConvert: filterBool,
  extension: 'l3-ext-ndp-proxy', column: BOOL_COLUMN,
};

// routers (Neutron's `router` extension, neutron_lib/api/definitions/l3.py) with ext-gw-mode
// (enable_snat in external_gateway_info), extraroute (routes) and the standard attributes.
import type { ResourceDef, Validator } from '../core/definition.js';
import { adminStateAttr, COLUMN, idAttr, nameAttr, NOT_SPECIFIED, projectAttrs, standardAttrs } from './common.js';
import { invalidAttribute } from '../core/errors.js';
import { isUuid, toBoolean } from './validators.js';
import { pyRepr, pyStr, validateIpAddress, validateRouteCidr, verifyDictKeys } from '../ipam/index.js';
import { availabilityZoneHints } from './availability-zone.js';
import { routerFlavorAttr } from './flavors.js';
import { enableNdpProxyAttr } from './ndp-proxy.js';

const show = (v: unknown) => pyStr(v);

/** convert_to_boolean_if_not_none: null stays null (then the default applies). */
const booleanOrNull: Validator = (v, attr) => {
  if (v === null) return null;
  try {
    return toBoolean(v);
  } catch {
    throw invalidAttribute(attr, `'${show(v)}' cannot be converted to boolean`);
  }
};

/** neutron_lib validate_fixed_ips: a list of {ip_address?, subnet_id?} without repeated addresses. */
export function fixedIpsReason(data: unknown): string | null {
  if (!Array.isArray(data)) return `Invalid data format for fixed IP: '${show(data)}'`;
  const ips: unknown[] = [];
  for (const ip of data) {
    if (typeof ip !== 'object' || ip === null || Array.isArray(ip)) return `Invalid data format for fixed IP: '${show(ip)}'`;
    const d = ip as Record<string, unknown>;
    if ('ip_address' in d) {
      if (ips.includes(d.ip_address)) return `Duplicate IP address '${show(d.ip_address)}'`;
      const bad = validateIpAddress(d.ip_address);
      if (bad) return bad;
      ips.push(d.ip_address);
    }
    if ('subnet_id' in d && !isUuid(d.subnet_id)) return `'${show(d.subnet_id)}' is not a valid UUID`;
  }
  return null;
}

const GW_KEYS = ['network_id', 'enable_snat', 'external_fixed_ips'];
/** qos-gateway-ip's key (neutron-lib qos_gateway_ip.py). */
const GW_QOS_KEY = 'qos_policy_id';

/**
 * external_gateway_info: type:dict_or_nodata with network_id (required UUID), enable_snat
 * (boolean) and external_fixed_ips (fixed IPs). An empty dict or null means "no gateway" (null).
 */
export const gatewayInfo: Validator = (v, attr) => gatewayInfoWith(v, attr, GW_KEYS);

/** The same with qos-gateway-ip listed: qos_policy_id, a UUID or null, may be given too. */
export const gatewayInfoWithQos: Validator = (v, attr) => {
  const out = gatewayInfoWith(v, attr, [...GW_KEYS, GW_QOS_KEY]) as Record<string, unknown> | null;
  if (out && v && GW_QOS_KEY in (v as Record<string, unknown>)) {
    const policy = (v as Record<string, unknown>)[GW_QOS_KEY];
    if (policy !== null && !isUuid(policy)) throw invalidAttribute(attr, `'${show(policy)}' is not a valid UUID`);
    out[GW_QOS_KEY] = policy;
  }
  return out;
};

function gatewayInfoWith(v: unknown, attr: string, keys: readonly string[]): unknown {
  if (v === null || v === undefined || v === '' || v === false) return null;
  if (typeof v !== 'object' || Array.isArray(v)) throw invalidAttribute(attr, `'${show(v)}' is not a dictionary`);
  const d = v as Record<string, unknown>;
  if (Object.keys(d).length === 0) return null;
  if (!('network_id' in d)) {
    throw invalidAttribute(attr, `Validation of dictionary's keys failed. Expected keys: ${pyRepr(new Set(['network_id']))} Provided keys: ${pyRepr(new Set(Object.keys(d).sort()))}`);
  }
  const unexpected = Object.keys(d).filter((k) => !keys.includes(k));
  if (unexpected.length) throw invalidAttribute(attr, `Unexpected keys supplied: ${unexpected.join(', ')}`);
  if (!isUuid(d.network_id)) throw invalidAttribute(attr, `'${show(d.network_id)}' is not a valid UUID`);
  const out: Record<string, unknown> = { network_id: d.network_id };
  if ('enable_snat' in d) {
    try {
      out.enable_snat = toBoolean(d.enable_snat);
    } catch {
      throw invalidAttribute(attr, `'${show(d.enable_snat)}' is not a valid boolean value`);
    }
  }
  if ('external_fixed_ips' in d) {
    const bad = fixedIpsReason(d.external_fixed_ips);
    if (bad) throw invalidAttribute(attr, bad);
    out.external_fixed_ips = d.external_fixed_ips;
  }
  return out;
}

/**
 * external_gateways of the multihoming member actions: type:list_of_dict_or_nodata, each item an
 * external_gateway_info dict (network_id required). null means an empty list.
 */
export const gatewayInfoList: Validator = (v, attr) => {
  if (v === null || v === undefined) return [];
  if (!Array.isArray(v)) throw invalidAttribute(attr, `'${show(v)}' is not a list`);
  return v.map((item) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) throw invalidAttribute(attr, `'${show(item)}' is not a dictionary`);
    const out = gatewayInfo(item, attr);
    if (out === null) throw invalidAttribute(attr, `Validation of dictionary's keys failed. Expected keys: ${pyRepr(new Set(['network_id']))} Provided keys: set()`);
    return out;
  });
};

/** neutron_lib validate_hostroutes, with None converted to [] (convert_none_to_empty_list). */
export const routeList: Validator = (v, attr) => {
  if (v === null) return [];
  if (!Array.isArray(v)) throw invalidAttribute(attr, `Invalid data format for hostroute: '${show(v)}'`);
  const seen: string[] = [];
  for (const r of v) {
    const keys = verifyDictKeys(['destination', 'nexthop'], r);
    if (keys) throw invalidAttribute(attr, keys);
    const { destination, nexthop } = r as Record<string, unknown>;
    const badDest = validateRouteCidr(destination);
    if (badDest) throw invalidAttribute(attr, badDest);
    const badHop = validateIpAddress(nexthop);
    if (badHop) throw invalidAttribute(attr, badHop);
    const key = JSON.stringify([destination, nexthop]);
    if (seen.includes(key)) throw invalidAttribute(attr, `Duplicate hostroute '${pyRepr({ destination, nexthop })}'`);
    seen.push(key);
  }
  return v;
};

export const routerDef: ResourceDef = {
  name: 'router',
  collection: 'routers',
  table: 'routers',
  memberActions: [
    { name: 'add_router_interface' }, { name: 'remove_router_interface' },
    { name: 'add_extraroutes', extension: 'extraroute-atomic' }, { name: 'remove_extraroutes', extension: 'extraroute-atomic' },
    // external-gateway-multihoming: the body is {"router": {"external_gateways": [...]}}, whose
    // attribute rules (add_external_gateways:external_gateways:enable_snat, ...) are checked too.
    ...['add_external_gateways', 'update_external_gateways', 'remove_external_gateways'].map((name) => ({
      name, extension: 'external-gateway-multihoming', bodyPolicy: true,
    })),
  ],
  taggable: true,
  attributes: {
    id: idAttr,
    name: nameAttr,
    admin_state_up: adminStateAttr,
    status: { allowPost: false, allowPut: false, visible: true, sortKey: true, column: COLUMN },
    ...projectAttrs,
    external_gateway_info: {
      allowPost: true, allowPut: true, default: null, validate: gatewayInfo, visible: true, enforcePolicy: true,
      widenedBy: { extension: 'qos-gateway-ip', validate: gatewayInfoWithQos },
    },
    routes: {
      allowPost: false, allowPut: true, default: NOT_SPECIFIED, validate: routeList, visible: true, extension: 'extraroute',
    },
    ...standardAttrs,
    availability_zone_hints: {
      allowPost: true, allowPut: false, default: [], validate: availabilityZoneHints, visible: true, extension: 'router_availability_zone',
    },
    availability_zones: { allowPost: false, allowPut: false, visible: true, extension: 'router_availability_zone' },
    conntrack_helpers: { allowPost: false, allowPut: false, default: null, visible: true, extension: 'expose-l3-conntrack-helper' },
    // l3-ha: unset on create means [DEFAULT] l3_ha; admins only (policy).
    ha: { allowPost: true, allowPut: true, default: NOT_SPECIFIED, validate: booleanOrNull, visible: true, enforcePolicy: true, extension: 'l3-ha' },
    // dvr: an attribute only (admins'; policy): false on every router, true refused by the plugin.
    distributed: {
      allowPost: true, allowPut: true, default: NOT_SPECIFIED, validate: booleanOrNull, visible: true, enforcePolicy: true, extension: 'dvr',
    },
    flavor_id: routerFlavorAttr,
    enable_ndp_proxy: enableNdpProxyAttr,
    // external-gateway-multihoming: every gateway, the first being external_gateway_info's;
    // changed only through the member actions.
    external_gateways: {
      allowPost: false, allowPut: false, default: null, visible: true, enforcePolicy: true, extension: 'external-gateway-multihoming',
    },
    enable_default_route_ecmp: {
      allowPost: true, allowPut: true, default: null, validate: booleanOrNull, visible: true, enforcePolicy: true,
      extension: 'enable-default-route-ecmp',
    },
  },
};

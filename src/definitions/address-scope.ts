// address_scopes (address-scope): a scope that subnet pools join; prefixes of the pools of one
// scope never overlap. No standard attributes in Neutron. `shared` is an RBAC entry.
import type { ResourceDef } from '../core/definition.js';
import { COLUMN, idAttr, nameAttr, projectAttrs } from './common.js';
import { boolean, filterBool, filterInt, oneOf, toInt } from './validators.js';

export const addressScopeDef: ResourceDef = {
  name: 'address_scope',
  collection: 'address_scopes',
  path: 'address-scopes',
  table: 'address_scopes',
  attributes: {
    id: idAttr,
    name: nameAttr,
    ...projectAttrs,
    shared: {
      allowPost: true, allowPut: true, default: false, validate: boolean, visible: true, filter: true,
      filterConvert: filterBool, sortKey: true, requiredByPolicy: true, enforcePolicy: true,
    },
    ip_version: {
      allowPost: true, allowPut: false, validate: (v, a) => oneOf([4, 6])(toInt(v, a), a), visible: true,
      filter: true, filterConvert: filterInt, sortKey: true, column: COLUMN,
    },
  },
};

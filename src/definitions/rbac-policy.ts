// rbac-policies (rbac-policies, rbac-address-scope, rbac-subnetpool, rbac-security-groups):
// who else may use a network, subnet pool, address scope or security group, and how.
import type { ResourceDef, Validator } from '../core/definition.js';
import { COLUMN, columnNamed, idAttr, projectAttrs } from './common.js';
import { invalidInput } from '../core/errors.js';
import { string, uuid } from './validators.js';

/** Object types the server knows; the wiring narrows it to those whose extension is on. */
export const RBAC_OBJECT_TYPES = ['network', 'subnetpool', 'address_scope', 'security_group', 'qos_policy', 'address_group'] as const;
export type RbacObjectType = (typeof RBAC_OBJECT_TYPES)[number];

export function rbacObjectType(known: readonly string[]): Validator {
  return (v) => {
    const s = typeof v === 'string' ? v.trim().toLowerCase() : null;
    if (s === null || !known.includes(s)) throw invalidInput(`'${typeof v === 'string' ? v : JSON.stringify(v)}' is not a valid RBAC object type`);
    return s;
  };
}

export function rbacPolicyDef(objectTypes: readonly string[]): ResourceDef {
  return {
    name: 'rbac_policy',
    collection: 'rbac_policies',
    path: 'rbac-policies',
    table: 'rbac_entries',
    attributes: {
      id: idAttr,
      object_type: {
        allowPost: true, allowPut: false, validate: rbacObjectType(objectTypes), visible: true, filter: true,
        sortKey: true, enforcePolicy: true, column: COLUMN,
      },
      object_id: {
        allowPost: true, allowPut: false, validate: uuid, visible: true, filter: true, sortKey: true, enforcePolicy: true, column: COLUMN,
      },
      target_tenant: {
        allowPost: true, allowPut: true, validate: string(255), visible: true, filter: true, sortKey: true, enforcePolicy: true,
        column: columnNamed('target_project'),
      },
      ...projectAttrs,
      action: {
        allowPost: true, allowPut: false, validate: string(255), visible: true, filter: true, sortKey: true, enforcePolicy: true,
        column: COLUMN,
      },
    },
  };
}

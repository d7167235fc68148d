// Attribute groups shared by many resources: ids, project ownership and the standard attributes
// (description, timestamps, revision number, tags).
import { isIP } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { AttributeDef, Validator } from './types.js';
import { boolean, filterBool, invalid, string, uuid } from './validators.js';

export const idAttr: AttributeDef = {
  allowPost: false, allowPut: false, visible: true, filter: true, sortKey: true, primaryKey: true,
  validate: uuid, defaultFn: () => randomUUID(),
};

export const nameAttr: AttributeDef = {
  allowPost: true, allowPut: true, default: '', validate: string(255), visible: true, filter: true, sortKey: true,
};

// Project ownership: tenant_id (legacy) and project_id (project-id extension) are the same value.
export const projectAttrs: Record<string, AttributeDef> = {
  tenant_id: {
    allowPost: true, allowPut: false, validate: string(255), visible: true, filter: true, sortKey: true,
    requiredByPolicy: true,
  },
  project_id: {
    allowPost: true, allowPut: false, validate: string(255), visible: true, filter: true, sortKey: true,
    requiredByPolicy: true, extension: 'project-id',
  },
};

export const standardAttrs: Record<string, AttributeDef> = {
  description: {
    allowPost: true, allowPut: true, default: '', validate: string(255), visible: true, filter: true,
    sortKey: true, extension: 'standard-attr-description',
  },
  created_at: { allowPost: false, allowPut: false, visible: true, filter: true, sortKey: true, extension: 'standard-attr-timestamp' },
  updated_at: { allowPost: false, allowPut: false, visible: true, filter: true, sortKey: true, extension: 'standard-attr-timestamp' },
  revision_number: {
    allowPost: false, allowPut: false, visible: true, filter: true, sortKey: true, extension: 'standard-attr-revisions',
  },
  tags: { allowPost: false, allowPut: false, visible: true, extension: 'standard-attr-tag' },
};

export const adminStateAttr: AttributeDef = {
  allowPost: true, allowPut: true, default: true, visible: true, filter: true, sortKey: true,
  validate: boolean, filterConvert: filterBool,
};

/** Marks "not given" so plugins can tell an absent attribute from an explicit null. */
export const NOT_SPECIFIED = Symbol('ATTR_NOT_SPECIFIED');

export const ipAddress: Validator = (v, attr) => {
  if (typeof v !== 'string' || isIP(v) === 0) throw invalid(attr, `'${typeof v === 'string' ? v : JSON.stringify(v)}' is not a valid IP address`);
  return v;
};
export const ipAddressOrNull: Validator = (v, attr) => (v === null ? null : ipAddress(v, attr));

// Attribute groups shared by many resources: ids, project ownership and the standard attributes
// (description, timestamps, revision number, tags).
import { isIP } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { AttributeDef, ColumnDef, Validator } from '../core/definition.js';
import { invalidAttribute } from '../core/errors.js';
import { boolean, filterBool, filterInt, string, uuid } from './validators.js';

/** Stored in the column of the attribute's name, as it is. */
export const COLUMN: ColumnDef = {};
/** A boolean stored as 0/1 (SQLite and MariaDB have no boolean type). */
export const BOOL_COLUMN: ColumnDef = { toDb: (v) => (v === true || v === 'true' || v === 1 ? 1 : 0) };
/** Stored in a column of another name (`as`: how, e.g. BOOL_COLUMN). */
export const columnNamed = (name: string, as: ColumnDef = COLUMN): ColumnDef => ({ ...as, name });

export const idAttr: AttributeDef = {
  allowPost: false, allowPut: false, visible: true, filter: true, sortKey: true, primaryKey: true,
  validate: uuid, defaultFn: () => randomUUID(), column: COLUMN,
};

export const nameAttr: AttributeDef = {
  allowPost: true, allowPut: true, default: '', validate: string(255), visible: true, filter: true, sortKey: true,
  column: COLUMN,
};

// Project ownership: tenant_id (legacy) and project_id (project-id extension) are the same value.
export const projectAttrs: Record<string, AttributeDef> = {
  tenant_id: {
    allowPost: true, allowPut: false, validate: string(255), visible: true, filter: true, sortKey: true,
    requiredByPolicy: true, column: columnNamed('project_id'),
  },
  project_id: {
    allowPost: true, allowPut: false, validate: string(255), visible: true, filter: true, sortKey: true,
    requiredByPolicy: true, extension: 'project-id', column: COLUMN,
  },
};

export const standardAttrs: Record<string, AttributeDef> = {
  description: {
    allowPost: true, allowPut: true, default: '', validate: string(255), visible: true, filter: true,
    sortKey: true, extension: 'standard-attr-description', column: COLUMN,
  },
  created_at: {
    allowPost: false, allowPut: false, visible: true, filter: true, sortKey: true, extension: 'standard-attr-timestamp', column: COLUMN,
  },
  updated_at: {
    allowPost: false, allowPut: false, visible: true, filter: true, sortKey: true, extension: 'standard-attr-timestamp', column: COLUMN,
  },
  revision_number: {
    allowPost: false, allowPut: false, visible: true, filter: true, sortKey: true, extension: 'standard-attr-revisions',
    filterConvert: filterInt, column: COLUMN,
  },
  tags: { allowPost: false, allowPut: false, visible: true, extension: 'standard-attr-tag' },
};

export const adminStateAttr: AttributeDef = {
  allowPost: true, allowPut: true, default: true, visible: true, filter: true, sortKey: true,
  validate: boolean, filterConvert: filterBool, column: BOOL_COLUMN,
};

/** Marks "not given" so plugins can tell an absent attribute from an explicit null. */
export const NOT_SPECIFIED = Symbol('ATTR_NOT_SPECIFIED');

export const ipAddress: Validator = (v, attr) => {
  if (typeof v !== 'string' || isIP(v) === 0) throw invalidAttribute(attr, `'${typeof v === 'string' ? v : JSON.stringify(v)}' is not a valid IP address`);
  return v;
};
export const ipAddressOrNull: Validator = (v, attr) => (v === null ? null : ipAddress(v, attr));

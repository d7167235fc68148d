// Network logs (logging, neutron_lib/api/definitions/logging.py) under /v2.0/log/: `logs`, which
// name what to log (resource_type; with a security group, a port, both or neither) and which
// events, and `loggable_resources`, the types the loaded log drivers support. Only name,
// description and enabled change after create. Logs carry description, timestamps and a revision
// number (standard attributes) but no tags, as in Neutron.
import type { ResourceDef } from '../core/definition.js';
import { BOOL_COLUMN, COLUMN, idAttr, projectAttrs, standardAttrs } from './common.js';
import { boolean, filterBool, oneOf, string, uuidOrNull } from './validators.js';

export const LOG_EVENTS = ['ACCEPT', 'DROP', 'ALL'] as const;
export type LogEvent = (typeof LOG_EVENTS)[number];
/** The one type the Linux-bridge log driver supports (Neutron's OVS driver's too). */
export const SECURITY_GROUP_LOG = 'security_group';

export const logDef: ResourceDef = {
  name: 'log',
  collection: 'logs',
  path: 'log/logs',
  table: 'logs',
  attributes: {
    id: idAttr,
    ...projectAttrs,
    name: { allowPost: true, allowPut: true, default: '', validate: string(255), visible: true, filter: true, sortKey: true, column: COLUMN },
    resource_type: {
      allowPost: true, allowPut: false, validate: string(36), visible: true, filter: true, sortKey: true, requiredByPolicy: true, column: COLUMN,
    },
    resource_id: { allowPost: true, allowPut: false, default: null, validate: uuidOrNull, visible: true, filter: true, sortKey: true, column: COLUMN },
    event: { allowPost: true, allowPut: false, default: 'ALL', validate: oneOf(LOG_EVENTS), visible: true, filter: true, column: COLUMN },
    target_id: { allowPost: true, allowPut: false, default: null, validate: uuidOrNull, visible: true, filter: true, sortKey: true, column: COLUMN },
    enabled: {
      allowPost: true, allowPut: true, default: true, validate: boolean, visible: true, filter: true, filterConvert: filterBool, sortKey: true,
      column: BOOL_COLUMN,
    },
    ...standardAttrs,
    tags: { ...standardAttrs.tags!, visible: false },
  },
};

/** /v2.0/log/loggable-resources: read-only, one `{type}` per supported logging type. */
export const loggableResourceDef: ResourceDef = {
  name: 'loggable_resource',
  collection: 'loggable_resources',
  path: 'log/loggable-resources',
  operations: ['list'],
  attributes: {
    type: { allowPost: false, allowPut: false, visible: true },
  },
};

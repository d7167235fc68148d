// metering_labels and metering_label_rules (metering, under /v2.0/metering/), with the source and
// destination prefixes of metering_source_and_destination_fields. Neither resource can be
// updated; labels have no standard attributes besides a (longer) description, rules no owner of
// their own. The prefixes are checked by the plugin, as Neutron's metering plugin does, because
// with the second extension none of them is required.
import type { AttributeDef, ResourceDef } from '../core/definition.js';
import { BOOL_COLUMN, COLUMN, idAttr, projectAttrs } from './common.js';
import { boolean, filterBool, oneOf, string, uuid } from './validators.js';

export const METERING_DIRECTIONS = ['ingress', 'egress'] as const;

const prefixAttr = (extension?: string): AttributeDef => ({
  allowPost: true, allowPut: false, default: null, visible: true, filter: true, sortKey: true, column: COLUMN, ...(extension ? { extension } : {}),
});

export const meteringLabelDef: ResourceDef = {
  name: 'metering_label',
  collection: 'metering_labels',
  path: 'metering/metering-labels',
  table: 'metering_labels',
  attributes: {
    id: idAttr,
    name: { allowPost: true, allowPut: false, default: '', validate: string(255), visible: true, filter: true, sortKey: true, column: COLUMN },
    description: {
      allowPost: true, allowPut: false, default: '', validate: string(1024), visible: true, filter: true, sortKey: true, column: COLUMN,
    },
    ...projectAttrs,
    shared: {
      allowPost: true, allowPut: false, default: false, validate: boolean, visible: true, filter: true, filterConvert: filterBool, sortKey: true,
      column: BOOL_COLUMN,
    },
  },
};

export const meteringLabelRuleDef: ResourceDef = {
  name: 'metering_label_rule',
  collection: 'metering_label_rules',
  path: 'metering/metering-label-rules',
  table: 'metering_label_rules',
  attributes: {
    id: idAttr,
    metering_label_id: {
      allowPost: true, allowPut: false, validate: uuid, visible: true, filter: true, sortKey: true, requiredByPolicy: true, column: COLUMN,
    },
    direction: {
      allowPost: true, allowPut: false, validate: oneOf(METERING_DIRECTIONS), visible: true, filter: true, sortKey: true, column: COLUMN,
    },
    excluded: {
      allowPost: true, allowPut: false, default: false, validate: boolean, visible: true, filter: true, filterConvert: filterBool, sortKey: true,
      column: BOOL_COLUMN,
    },
    remote_ip_prefix: prefixAttr(),
    source_ip_prefix: prefixAttr('metering_source_and_destination_fields'),
    destination_ip_prefix: prefixAttr('metering_source_and_destination_fields'),
    // Given on create (and checked by policy) but neither stored nor shown: a rule's owner is its label's.
    tenant_id: { ...projectAttrs.tenant_id!, filter: false, sortKey: false, column: undefined },
    project_id: { ...projectAttrs.project_id!, filter: false, sortKey: false, column: undefined },
  },
};

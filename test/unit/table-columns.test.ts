// Column mapping derived from the definitions: names, renames, converters, attributes that are
// no column, and the tables the definitions name.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { meteringLabelDef, meteringLabelRuleDef } from '../../src/definitions/metering.js';
import { networkDef } from '../../src/definitions/network.js';
import { qosRuleDef, RULE_SPECS } from '../../src/definitions/qos.js';
import { rbacPolicyDef } from '../../src/definitions/rbac-policy.js';
import { securityGroupDef } from '../../src/definitions/security-group.js';
import { segmentDef } from '../../src/definitions/segment.js';
import { columnsOf, tableOf } from '../../src/plugins/common/list-sql.js';
import { ruleKind } from '../../src/plugins/qos/store.js';
import { TABLE_DEFINITIONS } from '../helpers/table-definitions.js';

describe('columns from definitions', () => {
  test('an attribute maps to its own column unless it names another', () => {
    const rbac = columnsOf(rbacPolicyDef(['network']));
    assert.equal(rbac.target_tenant?.column, 'target_project');
    assert.equal(rbac.tenant_id?.column, 'project_id');
    assert.equal(rbac.project_id?.column, 'project_id');
    assert.equal(rbac.object_type?.column, 'object_type');
    assert.equal(tableOf(rbacPolicyDef(['network'])), 'rbac_entries');
  });

  test('booleans are compared as the 0/1 they are stored as', () => {
    const shared = columnsOf(meteringLabelDef).shared!;
    assert.equal(shared.toDb?.(true), 1);
    assert.equal(shared.toDb?.('true'), 1);
    assert.equal(shared.toDb?.(false), 0);
    const external = columnsOf(networkDef)['router:external']!;
    assert.equal(external.column, 'router_external');
    assert.equal(external.toDb?.(true), 1);
    assert.equal(columnsOf(meteringLabelDef).name?.toDb, undefined);
  });

  test('computed and input-only attributes are no column', () => {
    assert.deepEqual(Object.keys(columnsOf(meteringLabelRuleDef)).sort(), [
      'destination_ip_prefix',
      'direction',
      'excluded',
      'id',
      'metering_label_id',
      'remote_ip_prefix',
      'source_ip_prefix',
    ]);
    assert.equal(columnsOf(securityGroupDef).shared, undefined);
    assert.equal(columnsOf(securityGroupDef).tags, undefined);
    assert.equal(columnsOf(segmentDef).project_id, undefined);
    assert.equal(columnsOf(segmentDef).segmentation_id?.column, 'segmentation_id');
  });

  test('a QoS rule definition names the table its kind writes, with a column per field', () => {
    for (const spec of RULE_SPECS) {
      const def = qosRuleDef(spec);
      const kind = ruleKind(spec.type);
      assert.equal(tableOf(def), kind.table);
      assert.deepEqual(Object.keys(columnsOf(def)).sort(), ['id', 'qos_policy_id', ...kind.fields].sort());
    }
  });

  test('every table-backed definition has an id column', () => {
    for (const def of TABLE_DEFINITIONS) {
      const id = def.name === 'network_ip_availability' ? 'network_id' : 'id';
      assert.equal(columnsOf(def)[id]?.column, 'id', def.name);
    }
  });
});

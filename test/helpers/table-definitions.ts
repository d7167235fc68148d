// Every definition whose attributes declare columns, for the tests that check them.
import { addressScopeDef } from '../../src/definitions/address-scope.js';
import { agentDef } from '../../src/definitions/agent.js';
import { floatingipDef } from '../../src/definitions/floatingip.js';
import { meteringLabelDef, meteringLabelRuleDef } from '../../src/definitions/metering.js';
import { networkIpAvailabilityDef } from '../../src/definitions/network-ip-availability.js';
import { networkDef } from '../../src/definitions/network.js';
import { portDef } from '../../src/definitions/port.js';
import { qosPolicyDef, qosRuleDef, RULE_SPECS } from '../../src/definitions/qos.js';
import { RBAC_OBJECT_TYPES, rbacPolicyDef } from '../../src/definitions/rbac-policy.js';
import { routerDef } from '../../src/definitions/router.js';
import { defaultSecurityGroupRuleDef, securityGroupDef, securityGroupRuleDef } from '../../src/definitions/security-group.js';
import { addressGroupDef } from '../../src/definitions/address-group.js';
import { segmentDef } from '../../src/definitions/segment.js';
import { subnetDef } from '../../src/definitions/subnet.js';
import { subnetpoolDef } from '../../src/definitions/subnetpool.js';
import { trunkDef } from '../../src/definitions/trunk.js';
import type { ResourceDef } from '../../src/core/definition.js';

export const TABLE_DEFINITIONS: readonly ResourceDef[] = [
  addressScopeDef,
  agentDef,
  floatingipDef,
  meteringLabelDef,
  meteringLabelRuleDef,
  networkIpAvailabilityDef,
  networkDef,
  portDef,
  qosPolicyDef,
  ...RULE_SPECS.map(qosRuleDef),
  rbacPolicyDef(RBAC_OBJECT_TYPES),
  routerDef,
  securityGroupDef,
  securityGroupRuleDef,
  addressGroupDef,
  defaultSecurityGroupRuleDef,
  segmentDef,
  subnetDef,
  subnetpoolDef,
  trunkDef,
];

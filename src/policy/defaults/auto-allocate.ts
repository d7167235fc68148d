// Default rules of auto-allocated-topology (Neutron's conf/policies/auto_allocated_topology.py).
import { ADMIN_OR_PROJECT_MEMBER, ADMIN_OR_PROJECT_READER, type RuleSpec } from './common.js';

export const AUTO_ALLOCATE_RULES: readonly RuleSpec[] = [
  ['get_auto_allocated_topology', ADMIN_OR_PROJECT_READER],
  ['delete_auto_allocated_topology', ADMIN_OR_PROJECT_MEMBER],
];

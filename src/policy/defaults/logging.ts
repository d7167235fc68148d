// Default rules for network logs (Neutron's conf/policies/logging.py): admins only, under both
// the secure-RBAC defaults and the legacy ones.
import { ADMIN, type RuleSpec } from './common.js';

export const LOGGING_RULES: readonly RuleSpec[] = [
  ['get_loggable_resource', ADMIN, ADMIN],
  ['create_log', ADMIN, ADMIN],
  ['get_log', ADMIN, ADMIN],
  ['update_log', ADMIN, ADMIN],
  ['delete_log', ADMIN, ADMIN],
];

// Default rules for flavors, service profiles and their bindings (Neutron's flavor.py): anyone
// reads flavors and a flavor's bindings, only admins read profiles and write any of them.
import { ADMIN, ADMIN_OR_PROJECT_READER, ANY, type RuleSpec } from './common.js';

export const FLAVOR_RULES: readonly RuleSpec[] = [
  ['create_flavor', ADMIN],
  ['get_flavor', ADMIN_OR_PROJECT_READER, ANY],
  ['update_flavor', ADMIN],
  ['delete_flavor', ADMIN],
  ['create_service_profile', ADMIN],
  ['get_service_profile', ADMIN],
  ['update_service_profile', ADMIN],
  ['delete_service_profile', ADMIN],
  ['get_flavor_service_profile', ADMIN_OR_PROJECT_READER, ANY],
  ['create_flavor_service_profile', ADMIN],
  ['delete_flavor_service_profile', ADMIN],
];

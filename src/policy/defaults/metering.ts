// Default rules for metering labels and their rules (Neutron's metering.py). Secure RBAC lets a
// project's managers create and delete its labels and its readers read them (label rules carry
// the label's project); the legacy rules keep creation and deletion with admins.
import { widened, ADMIN, ADMIN_OR_PROJECT_MANAGER, ADMIN_OR_PROJECT_READER, type RuleSpec } from './common.js';

export const METERING_RULES: readonly RuleSpec[] = [
  widened('create_metering_label', ADMIN_OR_PROJECT_MANAGER, ADMIN),
  ['get_metering_label', ADMIN_OR_PROJECT_READER, ADMIN],
  widened('delete_metering_label', ADMIN_OR_PROJECT_MANAGER, ADMIN),
  widened('create_metering_label_rule', ADMIN_OR_PROJECT_MANAGER, ADMIN),
  ['get_metering_label_rule', ADMIN_OR_PROJECT_READER, ADMIN],
  widened('delete_metering_label_rule', ADMIN_OR_PROJECT_MANAGER, ADMIN),
];

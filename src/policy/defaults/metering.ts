// Default rules for metering labels and their rules (Neutron's metering.py): only admins create
// and delete them; a project's readers may also read its labels (rules carry no project, so
// reading them stays with admins).
import { ADMIN, ADMIN_OR_PROJECT_READER, type RuleSpec } from './common.js';

export const METERING_RULES: readonly RuleSpec[] = [
  ['create_metering_label', ADMIN],
  ['get_metering_label', ADMIN_OR_PROJECT_READER, ADMIN],
  ['delete_metering_label', ADMIN],
  ['create_metering_label_rule', ADMIN],
  ['get_metering_label_rule', ADMIN_OR_PROJECT_READER, ADMIN],
  ['delete_metering_label_rule', ADMIN],
];

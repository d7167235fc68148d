// Default rules for floating IP port forwardings and router conntrack helpers (Neutron's
// floatingip_port_forwarding.py and l3_conntrack_helper.py): the project's members (readers to
// read) or the owner of the parent floating IP or router (`ext_parent:project_id`, filled by the
// handlers); the legacy rules: admins or the parent's owner.
import { either, ADMIN_OR_PROJECT_MEMBER, ADMIN_OR_PROJECT_READER, type RuleSpec } from './common.js';

const PARENT_OWNER = 'rule:ext_parent_owner';
const LEGACY = 'rule:admin_or_ext_parent_owner';

function crud(resource: string): RuleSpec[] {
  return [
    [`create_${resource}`, either(ADMIN_OR_PROJECT_MEMBER, PARENT_OWNER), LEGACY],
    [`get_${resource}`, either(ADMIN_OR_PROJECT_READER, PARENT_OWNER), LEGACY],
    [`update_${resource}`, either(ADMIN_OR_PROJECT_MEMBER, PARENT_OWNER), LEGACY],
    [`delete_${resource}`, either(ADMIN_OR_PROJECT_MEMBER, PARENT_OWNER), LEGACY],
  ];
}

export const PORT_FORWARDING_RULES: readonly RuleSpec[] = crud('floatingip_port_forwarding');
export const CONNTRACK_HELPER_RULES: readonly RuleSpec[] = crud('router_conntrack_helper');

// Default rules for NDP proxies (Neutron's ndp_proxy.py): a project's members manage its proxies,
// its readers read them; the legacy rules are any user to create, owner or admin otherwise.
import { ADMIN_OR_OWNER, ANY, PROJECT_MEMBER, PROJECT_READER, type RuleSpec } from './common.js';

export const NDP_PROXY_RULES: readonly RuleSpec[] = [
  ['create_ndp_proxy', PROJECT_MEMBER, ANY],
  ['get_ndp_proxy', PROJECT_READER, ADMIN_OR_OWNER],
  ['update_ndp_proxy', PROJECT_MEMBER, ADMIN_OR_OWNER],
  ['delete_ndp_proxy', PROJECT_MEMBER, ADMIN_OR_OWNER],
];

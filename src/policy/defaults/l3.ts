// Default rules for routers, floating IPs and floating IP pools (Neutron's
// router.py, floatingip.py and floatingip_pools.py). Gateway details that
// touch the external network's addressing (SNAT, fixed IPs) are admin-only.
import { ADMIN, ADMIN_OR_OWNER, ADMIN_OR_PROJECT_MANAGER, ADMIN_OR_PROJECT_MEMBER, ADMIN_OR_PROJECT_READER, ANY, type RuleSpec } from './common.js';

export const L3_RULES: readonly RuleSpec[] = [
  ['create_router', ADMIN_OR_PROJECT_MEMBER, ANY],
  ['create_router:distributed', ADMIN],
  ['create_router:ha', ADMIN],
  ['create_router:external_gateway_info', ADMIN_OR_PROJECT_MEMBER, ADMIN_OR_OWNER],
  ['create_router:external_gateway_info:network_id', ADMIN_OR_PROJECT_MEMBER, ADMIN_OR_OWNER],
  ['create_router:external_gateway_info:enable_snat', ADMIN],
  ['create_router:external_gateway_info:external_fixed_ips', ADMIN],
  ['create_router:enable_default_route_bfd', ADMIN],
  ['create_router:enable_default_route_ecmp', ADMIN],
  ['create_router:tags', ADMIN_OR_PROJECT_MEMBER, ADMIN_OR_PROJECT_MANAGER],

  ['get_router', ADMIN_OR_PROJECT_READER, ADMIN_OR_OWNER],
  ['get_router:distributed', ADMIN],
  ['get_router:ha', ADMIN],
  ['get_router:tags', ADMIN_OR_PROJECT_READER],

  ['update_router', ADMIN_OR_PROJECT_MEMBER, ADMIN_OR_OWNER],
  ['update_router:distributed', ADMIN],
  ['update_router:ha', ADMIN],
  ['update_router:external_gateway_info', ADMIN_OR_PROJECT_MEMBER, ADMIN_OR_OWNER],
  ['update_router:external_gateway_info:network_id', ADMIN_OR_PROJECT_MEMBER, ADMIN_OR_OWNER],
  ['update_router:external_gateway_info:enable_snat', ADMIN],
  ['update_router:external_gateway_info:external_fixed_ips', ADMIN],
  ['update_router:enable_default_route_bfd', ADMIN],
  ['update_router:enable_default_route_ecmp', ADMIN],
  ['update_router:tags', ADMIN_OR_PROJECT_MEMBER, ADMIN_OR_PROJECT_MANAGER],

  ['delete_router', ADMIN_OR_PROJECT_MEMBER, ADMIN_OR_OWNER],
  ['delete_router:tags', ADMIN_OR_PROJECT_MEMBER, ADMIN_OR_PROJECT_MANAGER],

  // Member actions on a router (PUT /routers/{id}/<action>).
  ['add_router_interface', ADMIN_OR_PROJECT_MEMBER, ADMIN_OR_OWNER],
  ['remove_router_interface', ADMIN_OR_PROJECT_MEMBER, ADMIN_OR_OWNER],
  ['add_extraroutes', ADMIN_OR_PROJECT_MEMBER, ADMIN_OR_OWNER],
  ['remove_extraroutes', ADMIN_OR_PROJECT_MEMBER, ADMIN_OR_OWNER],
  ['add_external_gateways', ADMIN_OR_PROJECT_MEMBER],
  ['add_external_gateways:external_gateways', ADMIN_OR_PROJECT_MEMBER],
  ['add_external_gateways:external_gateways:network_id', ADMIN_OR_PROJECT_MEMBER],
  ['add_external_gateways:external_gateways:enable_snat', ADMIN],
  ['add_external_gateways:external_gateways:external_fixed_ips', ADMIN],
  ['update_external_gateways', ADMIN_OR_PROJECT_MEMBER],
  ['update_external_gateways:external_gateways', ADMIN_OR_PROJECT_MEMBER],
  ['update_external_gateways:external_gateways:network_id', ADMIN_OR_PROJECT_MEMBER],
  ['update_external_gateways:external_gateways:enable_snat', ADMIN],
  ['update_external_gateways:external_gateways:external_fixed_ips', ADMIN],
  ['remove_external_gateways', ADMIN_OR_PROJECT_MEMBER],
  ['remove_external_gateways:external_gateways', ADMIN_OR_PROJECT_MEMBER],

  // Floating IPs; choosing the exact address is reserved to admins/managers.
  ['create_floatingip', ADMIN_OR_PROJECT_MEMBER, ANY],
  ['create_floatingip:floating_ip_address', ADMIN_OR_PROJECT_MANAGER, ADMIN],
  ['create_floatingip:tags', ADMIN_OR_PROJECT_MEMBER],
  ['get_floatingip', ADMIN_OR_PROJECT_READER, ADMIN_OR_OWNER],
  ['get_floatingip:tags', ADMIN_OR_PROJECT_READER],
  ['update_floatingip', ADMIN_OR_PROJECT_MEMBER, ADMIN_OR_OWNER],
  ['update_floatingip:tags', ADMIN_OR_PROJECT_MEMBER],
  ['delete_floatingip', ADMIN_OR_PROJECT_MEMBER, ADMIN_OR_OWNER],
  ['delete_floatingip:tags', ADMIN_OR_PROJECT_MEMBER],
  ['get_floatingip_pool', ADMIN_OR_PROJECT_READER, ANY],
];

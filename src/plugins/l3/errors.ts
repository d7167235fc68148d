// L3's errors, named and worded as Neutron's (neutron_lib/exceptions/l3.py, extraroute.py,
// neutron/extensions/l3agentscheduler.py and the generic ones the L3 plugin raises; the core
// resources' NotFound errors are ML2's). The type is the Python class name; the status follows
// Neutron's FAULT_MAP (BadRequest 400, NotFound 404, InUse/Conflict 409).
import { NeutronError, conflict, notFound } from '../../core/errors.js';
import { pyRepr } from '../../ipam/index.js';

/** neutron_lib BadRequest: "Bad %(resource)s request: %(msg)s." */
export const badResource = (resource: 'router' | 'floatingip', msg: string) =>
  new NeutronError(400, 'BadRequest', `Bad ${resource} request: ${msg}.`);

export const routerNotFound = (id: string) => new NeutronError(404, 'RouterNotFound', `Router ${id} could not be found`);

export const floatingIpNotFound = (id: string) => new NeutronError(404, 'FloatingIPNotFound', `Floating IP ${id} could not be found`);

export const routerInUse = (id: string, reason = 'still has ports') => new NeutronError(409, 'RouterInUse', `Router ${id} ${reason}`);

export const routerInterfaceNotFound = (routerId: string, portId: string) =>
  new NeutronError(404, 'RouterInterfaceNotFound', `Router ${routerId} does not have an interface with id ${portId}`);

export const routerInterfaceNotFoundForSubnet = (routerId: string, subnetId: string) =>
  new NeutronError(404, 'RouterInterfaceNotFoundForSubnet', `Router ${routerId} has no interface on subnet ${subnetId}`);

export const routerInterfaceInUseByFloatingIp = (routerId: string, subnetId: string) =>
  new NeutronError(
    409,
    'RouterInterfaceInUseByFloatingIP',
    `Router interface for subnet ${subnetId} on router ${routerId} cannot be deleted, as it is required by one or more floating IPs.`,
  );

export const routerInterfaceInUseByRoute = (routerId: string, subnetId: string) =>
  new NeutronError(
    409,
    'RouterInterfaceInUseByRoute',
    `Router interface for subnet ${subnetId} on router ${routerId} cannot be deleted, as it is required by one or more routes.`,
  );

export const externalGatewayForFloatingIpNotFound = (externalNetworkId: string, subnetId: string, portId: string) =>
  new NeutronError(
    404,
    'ExternalGatewayForFloatingIPNotFound',
    `External network ${externalNetworkId} is not reachable from subnet ${subnetId}.  Therefore, cannot associate Port ${portId} with a Floating IP.`,
  );

export const floatingIpPortAlreadyAssociated = (a: { floatingIpAddress: string; fipId: string; portId: string; fixedIp: string; netId: string }) =>
  new NeutronError(
    409,
    'FloatingIPPortAlreadyAssociated',
    `Cannot associate floating IP ${a.floatingIpAddress} (${a.fipId}) with port ${a.portId} using fixed IP ${a.fixedIp}, as that fixed IP already has a floating IP on external network ${a.netId}.`,
  );

export const gatewayInUseByFloatingIp = (routerId: string, netId: string) =>
  new NeutronError(
    409,
    'RouterExternalGatewayInUseByFloatingIp',
    `Gateway cannot be updated for router ${routerId}, since a gateway to external network ${netId} is required by one or more floating IPs.`,
  );

export const portInUse = (portId: string, netId: string, deviceId: string) =>
  new NeutronError(
    409,
    'PortInUse',
    `Unable to complete operation on port ${portId} for network ${netId}. Port already has an attached device ${deviceId}.`,
  );

export const servicePortInUse = (portId: string, reason: string) =>
  new NeutronError(409, 'ServicePortInUse', `Port ${portId} cannot be deleted directly via the port API: ${reason}.`);

export const subnetMismatchForPort = (portId: string, subnetId: string) =>
  new NeutronError(400, 'SubnetMismatchForPort', `Subnet on port ${portId} does not match the requested subnet ${subnetId}.`);

export const externalIpAddressExhausted = (netId: string) =>
  new NeutronError(400, 'ExternalIpAddressExhausted', `Unable to find any IP address on external network ${netId}.`);

/** extraroute's InvalidRoutes (an InvalidInput): the routes are shown as Python shows the list. */
export const invalidRoutes = (routes: unknown[], reason: string) =>
  new NeutronError(400, 'InvalidRoutes', `Invalid format for routes: ${pyRepr(routes)}, ${reason}`);

export const routesExhausted = (routerId: string, quota: number) =>
  new NeutronError(400, 'RoutesExhausted', `Unable to complete operation for ${routerId}. The number of routes exceeds the maximum ${quota}.`);

/** An InvalidL3Agent is an AgentNotFound (404). */
export const invalidL3Agent = (agentId: string) => notFound('InvalidL3Agent', `Agent ${agentId} is not a L3 Agent or has been disabled`);

export const routerHostedByL3Agent = (routerId: string, agentId: string) =>
  conflict('RouterHostedByL3Agent', `The router ${routerId} has been already hosted by the L3 Agent ${agentId}.`);

export const dvrL3CannotAssignToDvrAgent = () =>
  conflict('DVRL3CannotAssignToDvrAgent', "Not allowed to manually assign a router to an agent in 'dvr' mode.");

export const dvrL3CannotRemoveFromDvrAgent = () =>
  conflict('DVRL3CannotRemoveFromDvrAgent', "Not allowed to manually remove a router from an agent in 'dvr' mode.");

/** neutron.ipam.exceptions.IPAddressChangeNotAllowed (a BadRequest). */
export const ipAddressChangeNotAllowed = (portId: string) =>
  new NeutronError(400, 'IPAddressChangeNotAllowed', `IP updates for port ${portId} are not allowed`);

/** l3_ext_ha_mode's migration rule: `ha` changes only on a router set down first. */
export const haChangeNeedsDisabledRouter = () =>
  badResource('router', 'Cannot change HA attribute of active routers. Please set router admin_state_up to False prior to upgrade');

// external-gateway-multihoming (neutron_lib/exceptions/l3_ext_gw_multihoming.py). Neutron lets
// them through as 500s with its message alone; here they are the request's fault (400), with the
// reason Neutron computes appended.
export const unableToAddExtraGateways = (routerId: string, reason: string) =>
  new NeutronError(400, 'UnableToAddExtraGateways', `Unable to add extra gateways to a router ${routerId}: ${reason}`);

export const unableToRemoveGateways = (routerId: string, reason: string) =>
  new NeutronError(400, 'UnableToRemoveGateways', `Unable to remove extra gateways from a router ${routerId}: ${reason}`);

export const unableToMatchGateways = (routerId: string, reason: string) =>
  new NeutronError(
    400,
    'UnableToMatchGateways',
    `Unable to match a requested gateway port to existing gateway ports for router ${routerId}: ${reason}`,
  );

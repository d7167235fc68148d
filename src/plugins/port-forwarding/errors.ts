// Port forwarding and conntrack helper errors, named and worded as Neutron's
// (neutron/services/portforwarding/common/exceptions.py, conntrack_helper/common/exceptions.py);
// neutron_lib's BadRequest for the plugins' other refusals.
import { NeutronError } from '../../core/errors.js';

export const portForwardingNotFound = (id: string) => new NeutronError(404, 'PortForwardingNotFound', `Port Forwarding ${id} could not be found.`);
export const conntrackHelperNotFound = (id: string) => new NeutronError(404, 'ConntrackHelperNotFound', `Conntrack Helper ${id} could not be found.`);

export const badRequest = (resource: 'port_forwarding' | 'conntrack_helper', msg: string) =>
  new NeutronError(400, 'BadRequest', `Bad ${resource} request: ${msg}.`);

export const fipInUseByPortForwarding = (id: string) =>
  new NeutronError(409, 'FipInUseByPortForwarding', `Floating IP ${id} in use by Port Forwarding resources.`);

export const portHasBindingFloatingIp = (a: { address: string; fipId: string; portId: string; fixedIp: string }) =>
  new NeutronError(
    409,
    'PortHasBindingFloatingIP',
    `Cannot create port forwarding to floating IP ${a.address} (${a.fipId}) with port ${a.portId} using fixed IP ${a.fixedIp}, as that port already has a binding floating IP.`,
  );

export const conntrackHelperNotAllowed = (helper: string) =>
  new NeutronError(400, 'ConntrackHelperNotAllowed', `Conntrack Helper ${helper} is not allowed.`);

export const invalidProtocolForHelper = (helper: string, protocol: string, supported: string[]) =>
  new NeutronError(
    400,
    'InvalidProtocolForHelper',
    `Conntrack Helper ${helper} does not support: ${protocol}. Supported protocols are: ${supported.join(', ')}`,
  );

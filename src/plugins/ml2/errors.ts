// The core plugin's errors (networks, subnets, ports, segments), named and worded as Neutron's
// exception classes (neutron_lib/exceptions/__init__.py, multiprovidernet.py,
// allowedaddresspairs.py, external_net.py). The body's type is the class name; the status follows
// Neutron's FAULT_MAP (BadRequest/InvalidInput 400, NotFound 404, Conflict/InUse 409,
// ResourceExhausted/ServiceUnavailable 503). IP allocation's errors are in ipam/errors.ts, the
// generic ones (invalidInput, invalidAttribute) in core/errors.ts.
import { NeutronError, conflict, notFound } from '../../core/errors.js';

export const networkNotFound = (id: string) => notFound('NetworkNotFound', `Network ${id} could not be found.`);
export const subnetNotFound = (id: string) => notFound('SubnetNotFound', `Subnet ${id} could not be found.`);
export const portNotFound = (id: string) => notFound('PortNotFound', `Port ${id} could not be found.`);

export const networkInUse = (id: string) =>
  conflict('NetworkInUse', `Unable to complete operation on network ${id}. There are one or more ports still in use on the network.`);

/** The reason defaults to Neutron's own. */
export const subnetInUse = (id: string, reason = 'One or more ports have an IP allocation from this subnet') =>
  conflict('SubnetInUse', `Unable to complete operation on subnet ${id}: ${reason}.`);

export const externalNetworkInUse = (id: string) =>
  conflict('ExternalNetworkInUse', `External network ${id} cannot be updated to be non-external, since it has existing gateway ports.`);

export const gatewayIpInUse = (ip: string, portId: string) =>
  conflict('GatewayIpInUse', `Gateway ip ${ip} conflicts with allocation pool or is in use by port ${portId}`);

export const macAddressInUse = (networkId: string, mac: string) =>
  conflict('MacAddressInUse', `Unable to complete operation for network ${networkId}. The mac address ${mac} is in use.`);

export const macAddressGenerationFailure = (networkId: string) =>
  new NeutronError(503, 'MacAddressGenerationFailure', `Unable to generate unique mac on network ${networkId}.`);

export const portBound = (portId: string, vifType: string, oldMac: string, newMac: string) =>
  conflict(
    'PortBound',
    `Unable to complete operation on port ${portId}, port is already bound, port type: ${vifType}, old_mac ${oldMac}, new_mac ${newMac}.`,
  );

export const unsupportedPortDeviceOwner = (op: string, deviceOwner: string, portId: string) =>
  conflict('UnsupportedPortDeviceOwner', `Operation ${op} is not supported for device_owner ${deviceOwner} on port ${portId}.`);

export const addressPairAndPortSecurityRequired = () =>
  conflict('AddressPairAndPortSecurityRequired', 'Port Security must be enabled in order to have allowed address pairs on a port.');

export const allowedAddressPairExhausted = (quota: number) =>
  new NeutronError(400, 'AllowedAddressPairExhausted', `The number of allowed address pair exceeds the maximum ${quota}.`);

export const allowedAddressPairsMissingIp = () => new NeutronError(400, 'AllowedAddressPairsMissingIP', 'AllowedAddressPair must contain ip_address');

export const duplicateAddressPairInRequest = (mac: string, ip: string) =>
  new NeutronError(400, 'DuplicateAddressPairInRequest', `Request contains duplicate address pair: mac_address ${mac} ip_address ${ip}.`);

export const segmentsContainDuplicateEntry = () => new NeutronError(400, 'SegmentsContainDuplicateEntry', 'Duplicate segment entry in request.');

export const flatNetworkInUse = (physicalNetwork: string) =>
  conflict('FlatNetworkInUse', `Unable to create the flat network. Physical network ${physicalNetwork} is in use.`);

export const vlanIdInUse = (vlanId: number, physicalNetwork: string) =>
  conflict('VlanIdInUse', `Unable to create the network. The VLAN ${vlanId} on physical network ${physicalNetwork} is in use.`);

export const tunnelIdInUse = (tunnelId: number) => conflict('TunnelIdInUse', `Unable to create the network. The tunnel ID ${tunnelId} is in use.`);

export const noNetworkAvailable = () =>
  new NeutronError(503, 'NoNetworkAvailable', 'Unable to create the network. No tenant network is available for allocation.');

/** Ours, not Neutron's (it retries the whole request): concurrent allocators kept taking the free ids. */
export const segmentAllocationContention = (networkType: string) =>
  conflict('SegmentAllocationContention', `Could not reserve a ${networkType} segment after repeated contention; retry the request.`);

// Port bindings (binding-extended). PortBindingError is a plain NeutronException in Neutron, which
// its fault map leaves at 500.
export const portBindingNotFound = (portId: string, host: string) =>
  notFound('PortBindingNotFound', `Binding for port ${portId} for host ${host} could not be found.`);

export const portBindingAlreadyActive = (portId: string, host: string) =>
  conflict('PortBindingAlreadyActive', `Binding for port ${portId} on host ${host} is already active.`);

export const portBindingAlreadyExists = (portId: string, host: string) =>
  conflict('PortBindingAlreadyExists', `Binding for port ${portId} on host ${host} already exists.`);

export const portBindingError = (portId: string, host: string) =>
  new NeutronError(500, 'PortBindingError', `Binding for port ${portId} on host ${host} could not be created or updated.`);

/** Neutron's BadRequest(resource='port'): only instance (and Manila) ports have several bindings. */
export const notMultipleBindingsPort = (portId: string) =>
  new NeutronError(400, 'BadRequest', `Bad port request: Invalid port ${portId}. Operation only valid on compute and shared filesystem ports.`);

export const defaultExternalNetworkExists = (netId: string) =>
  conflict('DefaultExternalNetworkExists', `A default external network already exists: ${netId}.`);

export const portBoundNumaAffinityPolicy = (portId: string, hostId: string, policy: unknown) =>
  conflict(
    'PortBoundNUMAAffinityPolicy',
    `Unable to complete operation on port ${portId}, port is already bound to host ${hostId}, numa_affinity_policy value given ${String(policy)}.`,
  );

// Routed networks (neutron/services/segments/exceptions.py).
export const hostConnectedToMultipleSegments = (host: string, networkId: string) =>
  conflict(
    'HostConnectedToMultipleSegments',
    `Host ${host} is connected to multiple segments on routed provider network '${networkId}'.  It should be connected to one.`,
  );
export const hostNotConnectedToAnySegment = (host: string, networkId: string) =>
  conflict(
    'HostNotConnectedToAnySegment',
    `Host ${host} is not connected to any segments on routed provider network '${networkId}'.  It should be connected to one.`,
  );
export const hostNotCompatibleWithFixedIps = (host: string, portId: string) =>
  conflict(
    'HostNotCompatibleWithFixedIps',
    `Host ${host} is not connected to a segment where the existing fixed_ips on port ${portId} will function given the routed network topology.`,
  );
export const fixedIpsSubnetsNotOnSameSegment = () =>
  new NeutronError(400, 'FixedIpsSubnetsNotOnSameSegment', 'Cannot allocate addresses from different segments.');

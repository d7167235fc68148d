// The exceptions of the trunk service, named and worded as Neutron's
// (neutron/services/trunk/exceptions.py; InUse and Conflict are 409, NotFound 404).
import { NeutronError } from '../../core/errors.js';

const inUse = (type: string, message: string) => new NeutronError(409, type, message);

export const trunkNotFound = (id: string) => new NeutronError(404, 'TrunkNotFound', `Trunk ${id} could not be found.`);
export const subPortNotFound = (trunkId: string, portId: string) =>
  new NeutronError(404, 'SubPortNotFound', `SubPort ${portId} on trunk ${trunkId} could not be found.`);
export const trunkPortInUse = (portId: string) => inUse('TrunkPortInUse', `Port ${portId} is in use by another trunk.`);
export const duplicateSubPort = (type: string, id: number, trunkId: string) =>
  inUse('DuplicateSubPort', `segmentation_type ${type} and segmentation_id ${id} already in use on trunk ${trunkId}.`);
export const parentPortInUse = (portId: string) =>
  inUse('ParentPortInUse', `Port ${portId} is currently in use and is not eligible for use as a parent port.`);
export const subPortMtuGreaterThanTrunkPortMtu = (portId: string, portMtu: number, trunkId: string, trunkMtu: number) =>
  inUse('SubPortMtuGreaterThanTrunkPortMtu', `MTU ${portMtu} of subport ${portId} cannot be greater than MTU ${trunkMtu} of trunk ${trunkId}.`);
export const portInUseAsTrunkParent = (portId: string, trunkId: string) =>
  inUse('PortInUseAsTrunkParent', `Port ${portId} is currently a parent port for trunk ${trunkId}.`);
export const portInUseAsSubPort = (portId: string, trunkId: string) =>
  inUse('PortInUseAsSubPort', `Port ${portId} is currently a subport for trunk ${trunkId}.`);
export const trunkInUse = (trunkId: string) => inUse('TrunkInUse', `Trunk ${trunkId} is currently in use.`);
export const trunkDisabled = (trunkId: string) => inUse('TrunkDisabled', `Trunk ${trunkId} is currently disabled.`);
export const trunkInErrorState = (trunkId: string) =>
  inUse('TrunkInErrorState', `Trunk ${trunkId} is in error state. Attempt to resolve the error condition before proceeding.`);
export const portInUse = (portId: string, netId: string, deviceId: string) =>
  inUse('PortInUse', `Unable to complete operation on port ${portId} for network ${netId}. Port already has an attached device ${deviceId}.`);
export const portNotFound = (portId: string) => new NeutronError(404, 'PortNotFound', `Port ${portId} could not be found.`);

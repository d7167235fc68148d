// The network segment range exceptions, named and worded as Neutron's
// (neutron_lib/exceptions/network_segment_range.py, plugins/utils.py); the body's type is the class
// name, the status follows FAULT_MAP (BadRequest 400, NotFound 404, InUse and Conflict 409).
import { NeutronError } from '../../core/errors.js';

export const networkSegmentRangeNotFound = (id: string) =>
  new NeutronError(404, 'NetworkSegmentRangeNotFound', `Network Segment Range ${id} could not be found.`);
export const networkSegmentRangeNetTypeNotSupported = (type: string) =>
  new NeutronError(400, 'NetworkSegmentRangeNetTypeNotSupported', `Network type ${type} does not support network segment ranges.`);
export const networkSegmentRangeReferencedByProject = (id: string) =>
  new NeutronError(409, 'NetworkSegmentRangeReferencedByProject', `Network Segment Range ${id} is referenced by one or more tenant networks.`);
export const networkSegmentRangeDefaultReadOnly = (id: string) =>
  new NeutronError(
    400,
    'NetworkSegmentRangeDefaultReadOnly',
    `Network Segment Range ${id} is a default segment range which could not be updated or deleted.`,
  );
export const networkSegmentRangeOverlaps = (ids: string[]) =>
  new NeutronError(409, 'NetworkSegmentRangeOverlaps', `Network segment range overlaps with range(s) with id ${ids.join(', ')}`);
export const physicalNetworkRequired = () =>
  new NeutronError(
    400,
    'BadRequest',
    "Bad network_segment_range request: Network type vlan requires 'physical_network' to be specified while creating new range.",
  );
/**
 * neutron-lib's NetworkVlanRangeError and NetworkTunnelRangeError. Neutron lets them out as 500s
 * (they map to no HTTP error); they are the caller's mistake, so 400 here.
 */
export const networkVlanRangeError = (min: number, max: number, error: string) =>
  new NeutronError(400, 'NetworkVlanRangeError', `Invalid network VLAN range: '${min}:${max}' - '${error}'.`);
export const networkTunnelRangeError = (min: number, max: number, error: string) =>
  new NeutronError(400, 'NetworkTunnelRangeError', `Invalid network tunnel range: '${min}:${max}' - ${error}.`);

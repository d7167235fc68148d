// The segment exceptions, named and worded as Neutron's (neutron/services/segments/exceptions.py);
// the body's type is the class name, the status follows FAULT_MAP (BadRequest 400, InUse 409).
import { NeutronError } from '../../core/errors.js';

const bad = (type: string, message: string) => new NeutronError(400, type, message);

export const segmentNotFound = (id: string) => new NeutronError(404, 'SegmentNotFound', `Segment ${id} could not be found.`);
export const segmentInUse = (id: string, reason: string) => new NeutronError(409, 'SegmentInUse', `Segment '${id}' cannot be deleted: ${reason}.`);
export const subnetsNotAllAssociatedWithSegments = (networkId: string) =>
  bad(
    'SubnetsNotAllAssociatedWithSegments',
    `All of the subnets on network '${networkId}' must either all be associated with segments or all not associated with any segment.`,
  );
export const noUpdateSubnetWhenMultipleSegmentsOnNetwork = (networkId: string) =>
  bad(
    'NoUpdateSubnetWhenMultipleSegmentsOnNetwork',
    `The network '${networkId}' has multiple segments, it is only possible to associate an existing subnet with a segment on networks with a single segment.`,
  );
export const subnetCantAssociateToDynamicSegment = () =>
  bad('SubnetCantAssociateToDynamicSegment', 'A subnet cannot be associated with a dynamic segment.');
export const subnetSegmentAssociationChangeNotAllowed = () =>
  bad('SubnetSegmentAssociationChangeNotAllowed', 'A subnet that is already associated with a segment cannot have its segment association changed.');
export const networkIdsDontMatch = (subnetNetwork: string, segmentId: string) =>
  bad('NetworkIdsDontMatch', `The subnet's network id, '${subnetNetwork}', doesn't match the network_id of segment '${segmentId}'`);

// The segment rules of subnets (Neutron's _validate_segment): a subnet's segment belongs to the
// subnet's network and is not dynamic; a network's subnets either all have a segment or none
// has; an existing subnet may only gain a segment while it is its network's only subnet and the
// network has a single segment (turning a plain network into a routed one), and never move to
// another segment. Callers hold the network's row lock, so concurrent subnet writes and segment
// deletes see each other.
import { i2b, type Tx } from '../../db/tx.js';
import {
  networkIdsDontMatch,
  noUpdateSubnetWhenMultipleSegmentsOnNetwork,
  segmentNotFound,
  subnetCantAssociateToDynamicSegment,
  subnetSegmentAssociationChangeNotAllowed,
  subnetsNotAllAssociatedWithSegments,
} from './errors.js';

async function checkSegmentOf(tx: Tx, networkId: string, segmentId: string): Promise<void> {
  const seg = await tx.selectFrom('network_segments').select(['network_id', 'is_dynamic']).where('id', '=', segmentId).executeTakeFirst();
  if (!seg) throw segmentNotFound(segmentId);
  if (seg.network_id !== networkId) throw networkIdsDontMatch(networkId, segmentId);
  if (i2b(seg.is_dynamic)) throw subnetCantAssociateToDynamicSegment();
}

async function subnetSegments(tx: Tx, networkId: string): Promise<Array<string | null>> {
  const rows = await tx.selectFrom('subnets').select('segment_id').where('network_id', '=', networkId).execute();
  return rows.map((r) => r.segment_id);
}

/** Before a new subnet of `networkId` with `segmentId` (or none) is written. */
export async function checkNewSubnetSegment(tx: Tx, networkId: string, segmentId: string | null): Promise<void> {
  if (segmentId !== null) {
    const exists = await tx.selectFrom('network_segments').select('id').where('id', '=', segmentId).executeTakeFirst();
    if (!exists) throw segmentNotFound(segmentId);
  }
  const all = new Set([...(await subnetSegments(tx, networkId)), segmentId]);
  if (all.has(null) && all.size > 1) throw subnetsNotAllAssociatedWithSegments(networkId);
  if (segmentId !== null) await checkSegmentOf(tx, networkId, segmentId);
}

/** Before an existing subnet's segment_id changes from `oldSegmentId` to `segmentId`. */
export async function checkSubnetSegmentUpdate(tx: Tx, networkId: string, oldSegmentId: string | null, segmentId: string | null): Promise<void> {
  const segments = await subnetSegments(tx, networkId);
  const associated = new Set(segments);
  if (associated.has(null) && associated.size > 1) throw subnetsNotAllAssociatedWithSegments(networkId);
  if (oldSegmentId !== segmentId) {
    if (segments.length > 1) throw subnetsNotAllAssociatedWithSegments(networkId);
    if (!associated.has(null) && !associated.has(segmentId)) throw subnetSegmentAssociationChangeNotAllowed();
    const count = await tx
      .selectFrom('network_segments')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('network_id', '=', networkId)
      .executeTakeFirstOrThrow();
    if (Number(count.n) > 1) throw noUpdateSubnetWhenMultipleSegmentsOnNetwork(networkId);
  }
  if (segmentId !== null) await checkSegmentOf(tx, networkId, segmentId);
}

// Default rules of the network segment range service plugin (Neutron's network_segment_range.py):
// the tenant-network id pools are admin only, tags included.
import { ADMIN, type RuleSpec } from './common.js';

export const NETWORK_SEGMENT_RANGE_RULES: readonly RuleSpec[] = [
  ['create_network_segment_range', ADMIN],
  ['get_network_segment_range', ADMIN],
  ['update_network_segment_range', ADMIN],
  ['delete_network_segment_range', ADMIN],
  ['create_network_segment_range:tags', ADMIN],
  ['get_network_segment_range:tags', ADMIN],
  ['update_network_segment_range:tags', ADMIN],
  ['delete_network_segment_range:tags', ADMIN],
];

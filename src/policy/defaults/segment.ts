// Default rules of the segments service plugin (Neutron's segment.py).
import { ADMIN, type RuleSpec } from './common.js';

export const SEGMENT_RULES: readonly RuleSpec[] = [
  // Segments describe the physical fabric: admin only, tags included. (Neutron
  // kept the `<action>_segments_tags` naming here.)
  ['create_segment', ADMIN],
  ['get_segment', ADMIN],
  ['update_segment', ADMIN],
  ['delete_segment', ADMIN],
  ['create_segments_tags', ADMIN],
  ['get_segments_tags', ADMIN],
  ['update_segments_tags', ADMIN],
  ['delete_segments_tags', ADMIN],
];

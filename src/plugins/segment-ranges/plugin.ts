// The network segment range service plugin (`network_segment_range`): /v2.0/network_segment_ranges,
// and the ML2 type drivers allocating tenant segments from those ranges instead of the
// configuration (whose ranges become the default ranges).
import type { PluginDefinition } from '../contract.js';
import { NETWORK_SEGMENT_RANGE_RULES } from '../../policy/defaults/network-segment-range.js';
import { NetworkSegmentRangeHandler, writeDefaultRanges } from './ranges.js';

export const networkSegmentRangePlugin: PluginDefinition = {
  name: 'network_segment_range',
  policies: NETWORK_SEGMENT_RANGE_RULES,
  classPaths: ['neutron.services.network_segment_range.plugin.NetworkSegmentRangePlugin'],
  aliases: () => ['network-segment-range'],
  async create(ctx) {
    await writeDefaultRanges(ctx.db, ctx.ml2);
    // The server syncs the allocation rows with the ranges once every plugin is created.
    ctx.ml2.types.useRangeTable();
    return { resources: [new NetworkSegmentRangeHandler(ctx.ml2)] };
  },
};

// The segments service plugin: /v2.0/segments, segment ids of subnets (standard-attr-segment,
// subnet-segmentid-writable), and routed networks' ip_allocation and l2_adjacency.
import type { PluginDefinition } from '../contract.js';
import { RoutedNetworkAttributes } from './routed-attributes.js';
import { SegmentHandler } from './segments.js';
import { SEGMENT_RULES } from '../../policy/defaults/segment.js';

export const segmentsPlugin: PluginDefinition = {
  name: 'segments',
  policies: SEGMENT_RULES,
  classPaths: ['neutron.services.segments.plugin.Plugin'],
  aliases: () => [
    'segment',
    'standard-attr-segment',
    'subnet-segmentid-writable',
    'ip_allocation',
    'l2_adjacency',
    'segments-peer-subnet-host-routes',
  ],
  create: (ctx) => {
    ctx.ml2.peerSubnetHostRoutes = true;
    return {
      resources: [new SegmentHandler(ctx.ml2, { agentDownTime: ctx.cfg.DEFAULT.agent_down_time })],
      ml2Extensions: [new RoutedNetworkAttributes(ctx.db)],
    };
  },
};

// The segments service plugin: /v2.0/segments, segment ids of subnets (standard-attr-segment,
// subnet-segmentid-writable).
import type { PluginDefinition } from '../contract.js';
import { SegmentHandler } from './segments.js';
import { SEGMENT_RULES } from '../../policy/defaults/segment.js';

export const segmentsPlugin: PluginDefinition = {
  name: 'segments',
  policies: SEGMENT_RULES,
  classPaths: ['neutron.services.segments.plugin.Plugin'],
  aliases: () => ['segment', 'standard-attr-segment', 'subnet-segmentid-writable'],
  create: (ctx) => ({ resources: [new SegmentHandler(ctx.ml2, { agentDownTime: ctx.cfg.DEFAULT.agent_down_time })] }),
};

// The metering service plugin: labels and their rules (API only, no metering agent).
import type { PluginDefinition } from '../contract.js';
import { MeteringLabelHandler } from './labels.js';
import { MeteringLabelRuleHandler } from './rules.js';
import { METERING_RULES } from '../../policy/defaults/metering.js';

export const meteringPlugin: PluginDefinition = {
  name: 'metering',
  policies: METERING_RULES,
  classPaths: ['neutron.services.metering.metering_plugin.MeteringPlugin'],
  aliases: () => ['metering', 'metering_source_and_destination_fields'],
  create: (ctx) => ({ resources: [new MeteringLabelHandler(ctx.db), new MeteringLabelRuleHandler(ctx.db)] }),
};

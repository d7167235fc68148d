// The trunk service plugin (trunk, trunk-details): /v2.0/trunks with its member actions, the
// trunk_details of parent ports, and the rule that a trunk's ports are not deleted by hand.
import { Events, type EventPayload } from '../../core/callbacks.js';
import type { Tx } from '../../db/tx.js';
import type { PluginDefinition } from '../contract.js';
import { refuseTrunkPortDelete, TrunkDetails } from './ports.js';
import { TrunkHandler } from './trunks.js';
import { TRUNK_RULES } from '../../policy/defaults/qos-trunk.js';

export const trunkPlugin: PluginDefinition = {
  name: 'trunk',
  policies: TRUNK_RULES,
  classPaths: ['neutron.services.trunk.plugin.TrunkPlugin'],
  aliases: () => ['trunk', 'trunk-details'],
  create(ctx) {
    ctx.callbacks.subscribe('port', Events.PRECOMMIT_DELETE, (p: EventPayload) => refuseTrunkPortDelete(p.tx as Tx, p.before as never), {
      name: 'trunk',
    });
    return { resources: [new TrunkHandler(ctx.db)], ml2Extensions: [new TrunkDetails(ctx.db)] };
  },
};

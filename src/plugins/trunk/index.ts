// The trunk service plugin (trunk, trunk-details): /v2.0/trunks with its member actions, the
// trunk_details of parent ports, and the port delete rule.
import type { RouteInstaller } from '../../api/server.js';
import { memberActionRoutes } from '../../api/member-actions.js';
import type { Db } from '../../db/connection.js';
import type { Ml2PortHandler } from '../ml2/bound-ports.js';
import type { Ml2Context } from '../ml2/context.js';
import { refuseTrunkPortDelete, TrunkDetails } from './ports.js';
import { TrunkHandler } from './trunks.js';

export const TRUNK_ALIASES: readonly string[] = ['trunk', 'trunk-details'];

/** PUT add_subports / remove_subports and GET get_subports on /v2.0/trunks/{id}. */
function trunkActionRoutes(handler: TrunkHandler): RouteInstaller {
  return memberActionRoutes('trunks', [
    { name: 'add_subports', run: (ctx, id, body) => handler.addSubports(ctx, id, body) },
    { name: 'remove_subports', run: (ctx, id, body) => handler.removeSubports(ctx, id, body) },
    { name: 'get_subports', method: 'get', run: (ctx, id) => handler.getSubports(ctx, id) },
  ]);
}

export function trunkPlugin(db: Db, ml2: Ml2Context, ports: Ml2PortHandler, aliases: ReadonlySet<string>) {
  const trunks = new TrunkHandler(db);
  ports.deleteGuards.push(refuseTrunkPortDelete);
  if (aliases.has('trunk-details')) (ml2.extensions ??= []).push(new TrunkDetails(db));
  return { handlers: [trunks], routes: [trunkActionRoutes(trunks)] };
}

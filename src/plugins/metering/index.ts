// The metering service plugin as the server assembles it: labels and their rules, present when
// the metering extension is listed.
import type { ResourceHandler } from '../../core/resource.js';
import type { Db } from '../../db/connection.js';
import { MeteringLabelHandler } from './labels.js';
import { MeteringLabelRuleHandler } from './rules.js';

export function meteringPlugin(db: Db, aliases: ReadonlySet<string>): ResourceHandler[] {
  if (!aliases.has('metering')) return [];
  return [new MeteringLabelHandler(db), new MeteringLabelRuleHandler(db)];
}

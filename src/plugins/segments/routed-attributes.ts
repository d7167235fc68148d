// What the segments plugin shows of routed networks (Neutron's segments Plugin dict extensions):
// a network's l2_adjacency (false once its subnets belong to segments: its ports may not share a
// layer-2 domain) and a port's ip_allocation (immediate, deferred until it is bound, or none),
// which the core's port handler decides and stores.
import { sql } from 'kysely';
import type { RequestContext } from '../../core/context.js';
import type { Rec } from '../../core/resource.js';
import type { Db } from '../../db/connection.js';
import type { Reader, Tx } from '../../db/tx.js';
import { idChunks, whereIdIn } from '../common/list-sql.js';
import type { Ml2ExtensionDriver } from '../ml2/extension-drivers.js';
import type { JsonExpr, JsonSql } from '../common/json-sql.js';

export class RoutedNetworkAttributes implements Ml2ExtensionDriver {
  constructor(private readonly db: Db) {}

  async extendNetworkDicts(db: Reader, dicts: Rec[]): Promise<void> {
    const routed = new Set<string>();
    for (const part of idChunks(
      this.db,
      dicts.map((d) => d.id as string),
    )) {
      const q = whereIdIn(this.db, db.selectFrom('subnets').select('network_id').distinct(), 'network_id', part).where('segment_id', 'is not', null);
      for (const r of await q.execute()) routed.add(r.network_id);
    }
    for (const d of dicts) d.l2_adjacency = !routed.has(d.id as string);
  }

  async processCreatePort(_tx: Tx, _ctx: RequestContext | null, body: Rec): Promise<Rec> {
    return { ip_allocation: typeof body.ip_allocation === 'string' ? body.ip_allocation : 'immediate' };
  }

  /** extendPortDicts() in SQL (PortHandler.listJson). */
  portJson(j: JsonSql): Record<string, JsonExpr | null> {
    // The row PortHandler.listJson joins as `pa`.
    const stored = sql.ref('pa.ip_allocation');
    return { ip_allocation: sql<string>`(case when ${stored} is null then ${j.lit('"immediate"')} else ${j.str(stored)} end)` };
  }

  async extendPortDicts(db: Reader, dicts: Rec[], want: (name: string) => boolean): Promise<void> {
    if (!dicts.length || !want('ip_allocation')) return;
    const stored = new Map<string, string>();
    for (const part of idChunks(
      this.db,
      dicts.map((d) => d.id as string),
    )) {
      const q = whereIdIn(this.db, db.selectFrom('port_attributes').select(['port_id', 'ip_allocation']), 'port_id', part).where(
        'ip_allocation',
        'is not',
        null,
      );
      for (const r of await q.execute()) stored.set(r.port_id, r.ip_allocation!);
    }
    for (const d of dicts) d.ip_allocation = stored.get(d.id as string) ?? 'immediate';
  }
}

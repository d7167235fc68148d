// The trunk service's hooks into ports: `trunk_details` on a trunk's parent port (trunk-details:
// the trunk's id and its subports with their MAC addresses), and the rule that a port which is a
// trunk's parent or subport cannot be deleted (enforce_port_deletion_rules).
import { sql } from 'kysely';
import type { Rec } from '../../core/resource.js';
import type { Db } from '../../db/connection.js';
import type { Reader, Tx } from '../../db/tx.js';
import { idChunks, whereIdIn } from '../common/list-sql.js';
import type { Ml2ExtensionDriver } from '../ml2/extension-drivers.js';
import type { JsonExpr, JsonSql } from '../common/json-sql.js';
import { portInUseAsSubPort, portInUseAsTrunkParent } from './errors.js';
import { loadSubports } from './trunks.js';

export class TrunkDetails implements Ml2ExtensionDriver {
  constructor(private readonly db: Db) {}

  /** extendPortDicts() in SQL (PortHandler.listJson): NULL, so no key, on a port that is no trunk's parent. */
  portJson(j: JsonSql): Record<string, JsonExpr | null> {
    const subport = j.obj([
      ['segmentation_id', j.int(sql.ref('s.segmentation_id'))],
      ['segmentation_type', j.str(sql.ref('s.segmentation_type'))],
      ['port_id', j.str(sql.ref('s.port_id'))],
      ['mac_address', j.str(sql`(select sp.mac_address from ports sp where sp.id = s.port_id)`)],
    ]);
    const subports = j.arr(
      subport,
      sql`from subports s where s.trunk_id = tr.id`,
      sql`${j.binaryOrder(sql.ref('s.segmentation_type'))}, s.segmentation_id, ${j.binaryOrder(sql.ref('s.port_id'))}`,
    );
    const details = j.obj([
      ['trunk_id', j.str(sql.ref('tr.id'))],
      ['sub_ports', subports],
    ]);
    return { trunk_details: j.optional(j.oneOf(details, 'trunks', 'tr', 'port_id', 'id')) };
  }

  async extendPortDicts(db: Reader, dicts: Rec[], want: (name: string) => boolean): Promise<void> {
    if (dicts.length === 0 || !want('trunk_details')) return;
    const trunkOf = new Map<string, string>();
    for (const part of idChunks(
      this.db,
      dicts.map((d) => d.id as string),
    )) {
      const rows = await whereIdIn(this.db, db.selectFrom('trunks').select(['id', 'port_id']), 'trunks.port_id', part).execute();
      for (const t of rows) trunkOf.set(t.port_id, t.id);
    }
    if (trunkOf.size === 0) return;
    const subports = await loadSubports(db, this.db, [...trunkOf.values()]);
    const macs = new Map<string, string>();
    const subportIds = [...subports.values()].flat().map((s) => s.port_id);
    for (const part of idChunks(this.db, subportIds)) {
      for (const p of await whereIdIn(this.db, db.selectFrom('ports').select(['id', 'mac_address']), 'ports.id', part).execute())
        macs.set(p.id, p.mac_address);
    }
    for (const d of dicts) {
      const trunkId = trunkOf.get(d.id as string);
      if (!trunkId) continue;
      d.trunk_details = {
        trunk_id: trunkId,
        sub_ports: (subports.get(trunkId) ?? []).map((s) => ({
          segmentation_id: Number(s.segmentation_id),
          segmentation_type: s.segmentation_type,
          port_id: s.port_id,
          mac_address: macs.get(s.port_id),
        })),
      };
    }
  }
}

/** A port delete guard (PortHandler.deleteGuards): subports and parents stay. One query for both. */
export async function refuseTrunkPortDelete(tx: Tx, port: { id: string }): Promise<void> {
  const uses = await tx
    .selectFrom('subports')
    .select([sql<string>`'subport'`.as('kind'), 'trunk_id'])
    .where('port_id', '=', port.id)
    .unionAll(
      tx
        .selectFrom('trunks')
        .select([sql<string>`'parent'`.as('kind'), 'id as trunk_id'])
        .where('port_id', '=', port.id),
    )
    .execute();
  const sub = uses.find((u) => u.kind === 'subport');
  if (sub) throw portInUseAsSubPort(port.id, sub.trunk_id);
  if (uses.length) throw portInUseAsTrunkParent(port.id, uses[0]!.trunk_id);
}

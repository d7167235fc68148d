// /v2.0/trunks (trunk): CRUD and the add_subports / remove_subports / get_subports actions, as
// Neutron's TrunkPlugin. A trunk starts DOWN and every change of its subports puts it back to
// DOWN: it is the agent that wires the subports that would report it ACTIVE. A disabled trunk
// (admin_state_up false) cannot change its subports nor be deleted; a trunk whose bound parent no
// trunk driver serves cannot be deleted either. Non-admins see their own trunks.
import type { RequestContext } from '../../core/context.js';
import { subportsProblem, trunkDef, type SubPortRequest } from '../../definitions/trunk.js';
import type { Rec } from '../../core/resource.js';
import { isDuplicateKey, type Db } from '../../db/connection.js';
import type { SubPortTable, TrunkTable } from '../../db/schema.js';
import { b2i, forUpdate, i2b, inTransaction, nowIso, type Reader, type Tx } from '../../db/tx.js';
import { idChunks, loadTags, whereIdIn } from '../common/list-sql.js';
import { checkRevision, standardFields } from '../common/standard.js';
import { TableResource } from '../common/table-resource.js';
import { duplicateSubPort, parentPortInUse, subPortNotFound, trunkDisabled, trunkInErrorState, trunkInUse, trunkNotFound } from './errors.js';
import { requestSubports, TrunkRules, type SubPort } from './rules.js';

export const TRUNK_DOWN = 'DOWN';
export const TRUNK_ERROR = 'ERROR';

/** A subport as the trunk shows it (trunk_id left out, as in Neutron). */
const subportView = (s: SubPortTable) => ({
  segmentation_type: s.segmentation_type,
  port_id: s.port_id,
  segmentation_id: Number(s.segmentation_id),
});

/** Subports of many trunks, in a stable order (by segmentation). */
export async function loadSubports(db: Reader, dbInfo: Db, trunkIds: string[]): Promise<Map<string, SubPortTable[]>> {
  const out = new Map<string, SubPortTable[]>();
  for (const part of idChunks(dbInfo, trunkIds)) {
    const q = whereIdIn(dbInfo, db.selectFrom('subports').selectAll(), 'subports.trunk_id', part)
      .orderBy('segmentation_type')
      .orderBy('segmentation_id')
      .orderBy('port_id');
    for (const s of await q.execute()) {
      const l = out.get(s.trunk_id);
      if (l) l.push(s);
      else out.set(s.trunk_id, [s]);
    }
  }
  return out;
}

/** Non-admins see their own project's trunks (the default scope). */
export class TrunkHandler extends TableResource<'trunks'> {
  private readonly rules: TrunkRules;

  constructor(db: Db) {
    super({ def: trunkDef, db, notFound: trunkNotFound });
    this.rules = new TrunkRules(db);
  }

  // ---- reads ---------------------------------------------------------------------------------

  protected dictsOf(_ctx: RequestContext, db: Reader, rows: TrunkTable[]): Promise<Rec[]> {
    return this.toDicts(db, rows);
  }

  async toDicts(db: Reader, rows: TrunkTable[]): Promise<Rec[]> {
    const ids = rows.map((r) => r.id);
    const subports = await loadSubports(db, this.db, ids);
    const tags = await loadTags(db, ids, this.db);
    return rows.map((r) => ({
      admin_state_up: i2b(r.admin_state_up),
      id: r.id,
      name: r.name,
      port_id: r.port_id,
      status: r.status,
      sub_ports: (subports.get(r.id) ?? []).map(subportView),
      ...standardFields(r, tags.get(r.id)),
    }));
  }

  private async reread(tx: Tx, id: string): Promise<Rec> {
    const row = await tx.selectFrom('trunks').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    return (await this.toDicts(tx, [row]))[0]!;
  }

  // ---- writes --------------------------------------------------------------------------------

  /** Stores subports; the keys turn concurrent duplicates into Neutron's conflicts. */
  private async insertSubports(tx: Tx, trunkId: string, subports: readonly SubPort[]): Promise<void> {
    for (const s of subports) {
      const clash = await tx
        .selectFrom('subports')
        .select('port_id')
        .where('trunk_id', '=', trunkId)
        .where('segmentation_type', '=', s.segmentation_type)
        .where('segmentation_id', '=', s.segmentation_id)
        .executeTakeFirst();
      if (clash) throw duplicateSubPort(s.segmentation_type, s.segmentation_id, trunkId);
      try {
        await tx
          .insertInto('subports')
          .values({ ...s, trunk_id: trunkId })
          .execute();
      } catch (err) {
        if (isDuplicateKey(err)) throw duplicateSubPort(s.segmentation_type, s.segmentation_id, trunkId);
        throw err;
      }
    }
  }

  async create(ctx: RequestContext, bodies: Rec[]): Promise<Rec[]> {
    return inTransaction(this.db, async (tx) => {
      const out: Rec[] = [];
      for (const b of bodies) {
        const parent = await this.rules.validateParent(tx, ctx, b.port_id as string);
        const subports = await this.rules.validateSubports(tx, ctx, parent, b.sub_ports as SubPortRequest[]);
        const now = nowIso();
        const id = b.id as string;
        try {
          await tx
            .insertInto('trunks')
            .values({
              id,
              project_id: b.project_id as string,
              name: b.name as string,
              admin_state_up: b2i(b.admin_state_up !== false),
              port_id: parent.id,
              status: TRUNK_DOWN,
              description: (b.description as string | undefined) ?? '',
              revision_number: 0,
              created_at: now,
              updated_at: now,
            })
            .execute();
        } catch (err) {
          if (isDuplicateKey(err)) throw parentPortInUse(parent.id);
          throw err;
        }
        await this.insertSubports(tx, id, subports);
        out.push(await this.reread(tx, id));
      }
      return out;
    });
  }

  /** The trunk in the caller's scope, its row locked (TrunkNotFound otherwise). */
  private async lock(tx: Tx, ctx: RequestContext, id: string): Promise<TrunkTable> {
    const row = await forUpdate(this.db, this.scoped(ctx, tx).where('trunks.id', '=', id)).executeTakeFirst();
    if (!row) throw this.notFound(id);
    return row;
  }

  async update(ctx: RequestContext, id: string, body: Rec, expectRevision?: number): Promise<Rec> {
    return inTransaction(this.db, async (tx) => {
      const row = await this.lock(tx, ctx, id);
      checkRevision(row.revision_number, expectRevision);
      const set: Partial<TrunkTable> = { revision_number: Number(row.revision_number) + 1, updated_at: nowIso() };
      if ('name' in body) set.name = body.name as string;
      if ('description' in body) set.description = body.description as string;
      if ('admin_state_up' in body) set.admin_state_up = b2i(body.admin_state_up as boolean);
      await tx.updateTable('trunks').set(set).where('id', '=', id).execute();
      return this.reread(tx, id);
    });
  }

  async delete(ctx: RequestContext, id: string, expectRevision?: number): Promise<void> {
    await inTransaction(this.db, async (tx) => {
      const row = await this.lock(tx, ctx, id);
      checkRevision(row.revision_number, expectRevision);
      if (!i2b(row.admin_state_up)) throw trunkDisabled(id);
      const parent = await forUpdate(this.db, tx.selectFrom('ports').selectAll().where('id', '=', row.port_id)).executeTakeFirst();
      if (parent && !(await this.rules.canBeTrunked(tx, parent))) throw trunkInUse(id);
      await tx.deleteFrom('subports').where('trunk_id', '=', id).execute();
      await tx.deleteFrom('tags').where('resource_id', '=', id).execute();
      await tx.deleteFrom('trunks').where('id', '=', id).execute();
    });
  }

  // ---- member actions ------------------------------------------------------------------------

  /** Its subports changed: the trunk is DOWN until its agent wires them, and has a new revision. */
  private async markDown(tx: Tx, id: string, revision: number): Promise<Rec> {
    await tx
      .updateTable('trunks')
      .set({ status: TRUNK_DOWN, revision_number: Number(revision) + 1, updated_at: nowIso() })
      .where('id', '=', id)
      .execute();
    return this.reread(tx, id);
  }

  /** The member actions trunkDef declares. */
  action(ctx: RequestContext, id: string, name: string, body: unknown): Promise<unknown> {
    switch (name) {
      case 'add_subports':
        return this.addSubports(ctx, id, body);
      case 'remove_subports':
        return this.removeSubports(ctx, id, body);
      case 'get_subports':
        return this.getSubports(ctx, id);
      default:
        throw new Error(`trunk action ${name} is not declared`);
    }
  }

  /** PUT /v2.0/trunks/{id}/add_subports: the trunk as it is afterwards. */
  async addSubports(ctx: RequestContext, id: string, body: unknown): Promise<Rec> {
    return inTransaction(this.db, async (tx) => {
      const trunk = await this.lock(tx, ctx, id);
      const requested = requestSubports(body, subportsProblem);
      const parent = await tx.selectFrom('ports').selectAll().where('id', '=', trunk.port_id).executeTakeFirstOrThrow();
      const subports = await this.rules.validateSubports(tx, ctx, parent, requested);
      if (!i2b(trunk.admin_state_up)) throw trunkDisabled(id);
      if (trunk.status === TRUNK_ERROR) throw trunkInErrorState(id);
      await this.insertSubports(tx, id, subports);
      return this.markDown(tx, id, trunk.revision_number);
    });
  }

  /** PUT /v2.0/trunks/{id}/remove_subports. */
  async removeSubports(ctx: RequestContext, id: string, body: unknown): Promise<Rec> {
    return inTransaction(this.db, async (tx) => {
      const trunk = await this.lock(tx, ctx, id);
      if (!i2b(trunk.admin_state_up)) throw trunkDisabled(id);
      const requested = requestSubports(body, subportsProblem);
      const current = new Set((await tx.selectFrom('subports').select('port_id').where('trunk_id', '=', id).execute()).map((s) => s.port_id));
      for (const r of requested) {
        if (!current.delete(r.port_id)) throw subPortNotFound(id, r.port_id);
      }
      const ids = requested.map((r) => r.port_id);
      if (ids.length) await tx.deleteFrom('subports').where('trunk_id', '=', id).where('port_id', 'in', ids).execute();
      return this.markDown(tx, id, trunk.revision_number);
    });
  }

  /** GET /v2.0/trunks/{id}/get_subports. */
  async getSubports(ctx: RequestContext, id: string): Promise<Rec> {
    const t = await this.get(ctx, id);
    if (!t) throw this.notFound(id);
    return { sub_ports: t.sub_ports };
  }
}

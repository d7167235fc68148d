// Metering labels (metering): named sets of rules that count a project's routed traffic (or every
// project's, when shared). Labels cannot be updated; deleting one deletes its rules. Nothing here
// talks to a metering agent: the API and its data only.
import type { RequestContext } from '../../core/context.js';
import { meteringLabelDef } from '../../definitions/metering.js';
import type { ResourceDef } from '../../definitions/types.js';
import type { ListQuery } from '../../core/list-query.js';
import type { Rec, ResourceHandler } from '../../core/resource.js';
import type { Db } from '../../db/connection.js';
import type { MeteringLabelTable } from '../../db/schema.js';
import { b2i, forUpdate, i2b, inTransaction, type Reader } from '../../db/tx.js';
import { applyColumnFilters, applySortAndPage, boolColumn, type ColumnMap } from '../common/list-sql.js';
import { meteringLabelNotFound, updateNotSupported } from './errors.js';

const COLUMNS: ColumnMap = {
  id: { column: 'id' }, name: { column: 'name' }, description: { column: 'description' },
  tenant_id: { column: 'project_id' }, project_id: { column: 'project_id' }, shared: boolColumn('shared'),
};

export function labelDict(r: MeteringLabelTable): Rec {
  return { id: r.id, name: r.name, description: r.description, shared: i2b(r.shared), tenant_id: r.project_id, project_id: r.project_id };
}

export class MeteringLabelHandler implements ResourceHandler {
  readonly def: ResourceDef = meteringLabelDef;

  constructor(private readonly db: Db) {}

  notFound(id: string): Error {
    return meteringLabelNotFound(id);
  }

  /** Non-admins see their own project's labels only (Neutron's project-scoped model query). */
  private scoped(ctx: RequestContext, db: Reader) {
    let qb = db.selectFrom('metering_labels').selectAll('metering_labels');
    if (!ctx.isAdmin) qb = qb.where('metering_labels.project_id', '=', ctx.projectId ?? '');
    return qb;
  }

  async get(ctx: RequestContext, id: string, db: Reader = this.db.kysely): Promise<Rec | null> {
    const row = await this.scoped(ctx, db).where('metering_labels.id', '=', id).executeTakeFirst();
    return row ? labelDict(row) : null;
  }

  async list(ctx: RequestContext, q: ListQuery): Promise<Rec[]> {
    const db = this.db.kysely;
    let { qb } = applyColumnFilters(this.scoped(ctx, db), 'metering_labels', COLUMNS, q.filters);
    qb = await applySortAndPage(db, qb, 'metering_labels', COLUMNS, q, 'MeteringLabelNotFound');
    const rows = await qb.execute();
    if (q.pageReverse) rows.reverse();
    return rows.map(labelDict);
  }

  async create(_ctx: RequestContext, bodies: Rec[]): Promise<Rec[]> {
    return inTransaction(this.db, async (tx) => {
      const rows: MeteringLabelTable[] = bodies.map((b) => ({
        id: b.id as string, project_id: b.project_id as string, name: b.name as string,
        description: b.description as string, shared: b2i(b.shared === true),
      }));
      await tx.insertInto('metering_labels').values(rows).execute();
      return rows.map(labelDict);
    });
  }

  async update(): Promise<Rec> {
    throw updateNotSupported('metering label');
  }

  async delete(_ctx: RequestContext, id: string): Promise<void> {
    await inTransaction(this.db, async (tx) => {
      const row = await forUpdate(this.db, tx.selectFrom('metering_labels').select('id').where('id', '=', id)).executeTakeFirst();
      if (!row) throw this.notFound(id);
      // The foreign key cascades too; deleting the rules first keeps this true without it.
      await tx.deleteFrom('metering_label_rules').where('metering_label_id', '=', id).execute();
      await tx.deleteFrom('metering_labels').where('id', '=', id).execute();
    });
  }
}

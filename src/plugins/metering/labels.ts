// Metering labels (metering): named sets of rules that count a project's routed traffic (or every
// project's, when shared). Labels cannot be updated; deleting one deletes its rules. Nothing here
// talks to a metering agent: the API and its data only.
import type { RequestContext } from '../../core/context.js';
import { meteringLabelDef } from '../../definitions/metering.js';
import type { Rec } from '../../core/resource.js';
import type { Db } from '../../db/connection.js';
import type { MeteringLabelTable } from '../../db/schema.js';
import { b2i, forUpdate, i2b, inTransaction, type Reader } from '../../db/tx.js';
import { TableResource } from '../common/table-resource.js';
import { meteringLabelNotFound, updateNotSupported } from './errors.js';

function labelDict(r: MeteringLabelTable): Rec {
  return { id: r.id, name: r.name, description: r.description, shared: i2b(r.shared), tenant_id: r.project_id, project_id: r.project_id };
}

/** Non-admins see their own project's labels only (the default scope). */
export class MeteringLabelHandler extends TableResource<'metering_labels'> {
  constructor(db: Db) {
    super({ def: meteringLabelDef, db, notFound: meteringLabelNotFound });
  }

  protected async dictsOf(_ctx: RequestContext, _db: Reader, rows: MeteringLabelTable[]): Promise<Rec[]> {
    return rows.map(labelDict);
  }

  async create(_ctx: RequestContext, bodies: Rec[]): Promise<Rec[]> {
    return inTransaction(this.db, async (tx) => {
      const rows: MeteringLabelTable[] = bodies.map((b) => ({
        id: b.id as string,
        project_id: b.project_id as string,
        name: b.name as string,
        description: b.description as string,
        shared: b2i(b.shared === true),
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

// Flavors (flavors): a named, enabled-or-not choice of service profiles for one service type,
// which a resource of that type names on create (a router's flavor_id, l3-flavors). Everyone may
// read them, admins write them (policy). A flavor used by a router cannot be deleted.
import type { RequestContext } from '../../core/context.js';
import type { Rec } from '../../core/resource.js';
import type { Db } from '../../db/connection.js';
import type { FlavorTable } from '../../db/schema.js';
import { b2i, i2b, inTransaction, type Reader, type Tx } from '../../db/tx.js';
import { flavorDef } from '../../definitions/flavors.js';
import { TableResource } from '../common/table-resource.js';
import { flavorInUse, flavorNotFound, invalidServiceType } from './errors.js';
import { bindingsOf, lockFlavor, lockServiceProfile } from './store.js';

function flavorDict(r: FlavorTable, profiles: string[]): Rec {
  return { id: r.id, name: r.name, description: r.description, service_type: r.service_type, enabled: i2b(r.enabled), service_profiles: profiles };
}

export class FlavorHandler extends TableResource<'flavors'> {
  /** `serviceTypes`: the plugin types loaded (type:service_plugin_type). */
  constructor(
    db: Db,
    private readonly serviceTypes: ReadonlySet<string>,
  ) {
    super({ def: flavorDef, db, notFound: flavorNotFound, visibility: 'all' });
  }

  protected async dictsOf(_ctx: RequestContext, db: Reader, rows: FlavorTable[]): Promise<Rec[]> {
    const profiles = await bindingsOf(
      db,
      'flavor_id',
      rows.map((r) => r.id),
    );
    return rows.map((r) => flavorDict(r, profiles.get(r.id) ?? []));
  }

  private async dictOf(tx: Tx, id: string): Promise<Rec> {
    return (
      await this.dictsOf({} as RequestContext, tx, [(await tx.selectFrom('flavors').selectAll().where('id', '=', id).executeTakeFirst())!])
    )[0]!;
  }

  /** The flavor's profiles become `ids` (each must exist; locked so that none goes meanwhile). */
  private async bind(tx: Tx, flavorId: string, ids: string[]): Promise<void> {
    const wanted = [...new Set(ids)];
    for (const sp of wanted) await lockServiceProfile(this.db, tx, sp);
    await tx.deleteFrom('flavor_service_profile_bindings').where('flavor_id', '=', flavorId).execute();
    if (wanted.length) {
      await tx
        .insertInto('flavor_service_profile_bindings')
        .values(wanted.map((sp) => ({ flavor_id: flavorId, service_profile_id: sp })))
        .execute();
    }
  }

  async create(_ctx: RequestContext, bodies: Rec[]): Promise<Rec[]> {
    for (const b of bodies) if (!this.serviceTypes.has(b.service_type as string)) throw invalidServiceType(String(b.service_type));
    return inTransaction(this.db, async (tx) => {
      const out: Rec[] = [];
      for (const b of bodies) {
        const row: FlavorTable = {
          id: b.id as string,
          name: b.name as string,
          description: b.description as string | null,
          service_type: b.service_type as string,
          enabled: b2i(b.enabled !== false),
        };
        await tx.insertInto('flavors').values(row).execute();
        await this.bind(tx, row.id, (b.service_profiles as string[]) ?? []);
        out.push(await this.dictOf(tx, row.id));
      }
      return out;
    });
  }

  async update(_ctx: RequestContext, id: string, body: Rec): Promise<Rec> {
    return inTransaction(this.db, async (tx) => {
      await lockFlavor(this.db, tx, id);
      const set: Partial<FlavorTable> = {};
      if ('name' in body) set.name = body.name as string;
      if ('description' in body) set.description = body.description as string | null;
      if ('enabled' in body && body.enabled !== null) set.enabled = b2i(body.enabled === true);
      if (Object.keys(set).length) await tx.updateTable('flavors').set(set).where('id', '=', id).execute();
      if ('service_profiles' in body) await this.bind(tx, id, body.service_profiles as string[]);
      return this.dictOf(tx, id);
    });
  }

  async delete(_ctx: RequestContext, id: string): Promise<void> {
    await inTransaction(this.db, async (tx) => {
      await lockFlavor(this.db, tx, id);
      // Routers take the flavor's lock to use it, so none starts using it while this runs.
      const user = await tx.selectFrom('routers').select('id').where('flavor_id', '=', id).limit(1).executeTakeFirst();
      if (user) throw flavorInUse(id);
      await tx.deleteFrom('flavor_service_profile_bindings').where('flavor_id', '=', id).execute();
      await tx.deleteFrom('flavors').where('id', '=', id).execute();
    });
  }
}

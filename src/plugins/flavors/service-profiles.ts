// Service profiles (flavors): a provider driver and/or metainfo that flavors bind to. A driver
// must be one neutrino provides (GET /v2.0/service-providers); a profile bound to a flavor can
// be neither changed nor deleted, as in Neutron.
import type { RequestContext } from '../../core/context.js';
import type { Rec } from '../../core/resource.js';
import type { Db } from '../../db/connection.js';
import type { ServiceProfileTable } from '../../db/schema.js';
import { b2i, i2b, inTransaction, type Reader, type Tx } from '../../db/tx.js';
import { serviceProfileDef } from '../../definitions/flavors.js';
import { TableResource } from '../common/table-resource.js';
import { driverNotFound, serviceProfileEmpty, serviceProfileInUse, serviceProfileNotFound } from './errors.js';
import { bindingsOf, lockServiceProfile, providerOfDriver } from './store.js';

function profileDict(r: ServiceProfileTable, flavors: string[]): Rec {
  return { id: r.id, description: r.description, driver: r.driver, enabled: i2b(r.enabled), metainfo: r.metainfo, flavors };
}

export class ServiceProfileHandler extends TableResource<'service_profiles'> {
  constructor(
    db: Db,
    private readonly serviceTypes: ReadonlySet<string>,
  ) {
    super({ def: serviceProfileDef, db, notFound: serviceProfileNotFound, visibility: 'all' });
  }

  protected async dictsOf(_ctx: RequestContext, db: Reader, rows: ServiceProfileTable[]): Promise<Rec[]> {
    const flavors = await bindingsOf(
      db,
      'service_profile_id',
      rows.map((r) => r.id),
    );
    return rows.map((r) => profileDict(r, flavors.get(r.id) ?? []));
  }

  private async dictOf(tx: Tx, id: string): Promise<Rec> {
    const row = await tx.selectFrom('service_profiles').selectAll().where('id', '=', id).executeTakeFirst();
    return (await this.dictsOf({} as RequestContext, tx, [row!]))[0]!;
  }

  /** _validate_driver: a non-empty driver is one of a loaded service type's providers. */
  private checkDriver(driver: unknown): void {
    if (typeof driver === 'string' && driver && !providerOfDriver(driver, this.serviceTypes)) throw driverNotFound(driver);
  }

  async create(_ctx: RequestContext, bodies: Rec[]): Promise<Rec[]> {
    for (const b of bodies) {
      this.checkDriver(b.driver);
      if (!b.driver && !b.metainfo) throw serviceProfileEmpty();
    }
    return inTransaction(this.db, async (tx) => {
      const out: Rec[] = [];
      for (const b of bodies) {
        const row: ServiceProfileTable = {
          id: b.id as string,
          description: b.description as string | null,
          driver: b.driver as string,
          enabled: b2i(b.enabled !== false),
          metainfo: b.metainfo as string | null,
        };
        await tx.insertInto('service_profiles').values(row).execute();
        out.push(await this.dictOf(tx, row.id));
      }
      return out;
    });
  }

  async update(_ctx: RequestContext, id: string, body: Rec): Promise<Rec> {
    this.checkDriver(body.driver);
    return inTransaction(this.db, async (tx) => {
      const row = await lockServiceProfile(this.db, tx, id);
      await this.refuseInUse(tx, id);
      const next = { ...row };
      if ('description' in body) next.description = body.description as string | null;
      if ('driver' in body) next.driver = body.driver as string;
      if ('metainfo' in body) next.metainfo = body.metainfo as string | null;
      if ('enabled' in body && body.enabled !== null) next.enabled = b2i(body.enabled === true);
      if (!next.driver && !next.metainfo) throw serviceProfileEmpty();
      await tx.updateTable('service_profiles').set(next).where('id', '=', id).execute();
      return this.dictOf(tx, id);
    });
  }

  async delete(_ctx: RequestContext, id: string): Promise<void> {
    await inTransaction(this.db, async (tx) => {
      await lockServiceProfile(this.db, tx, id);
      await this.refuseInUse(tx, id);
      await tx.deleteFrom('service_profiles').where('id', '=', id).execute();
    });
  }

  /** Bindings are made under the profile's lock, so none appears once this has looked. */
  private async refuseInUse(tx: Tx, id: string): Promise<void> {
    const bound = await tx
      .selectFrom('flavor_service_profile_bindings')
      .select('flavor_id')
      .where('service_profile_id', '=', id)
      .limit(1)
      .executeTakeFirst();
    if (bound) throw serviceProfileInUse(id);
  }
}

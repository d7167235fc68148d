// What flavors, profiles and their bindings look like in the database, for the handlers, the
// binding routes and the L3 plugin's flavor_id: reads, locks and the next provider of a flavor.
import type { Db } from '../../db/connection.js';
import type { FlavorTable, ServiceProfileTable } from '../../db/schema.js';
import { forUpdate, i2b, type Reader, type Tx } from '../../db/tx.js';
import { PROVIDER_DRIVERS } from '../agents/catalogue-routes.js';
import { bindingNotFound, driverNotFound, flavorDisabled, flavorNotFound, serviceProfileDisabled, serviceProfileNotFound } from './errors.js';

export const lockFlavor = async (db: Db, tx: Tx, id: string): Promise<FlavorTable> => {
  const row = await forUpdate(db, tx.selectFrom('flavors').selectAll().where('id', '=', id)).executeTakeFirst();
  if (!row) throw flavorNotFound(id);
  return row;
};

export const lockServiceProfile = async (db: Db, tx: Tx, id: string): Promise<ServiceProfileTable> => {
  const row = await forUpdate(db, tx.selectFrom('service_profiles').selectAll().where('id', '=', id)).executeTakeFirst();
  if (!row) throw serviceProfileNotFound(id);
  return row;
};

/** flavor id -> its profiles' ids (or profile id -> its flavors'), in a stable order. */
export async function bindingsOf(db: Reader, key: 'flavor_id' | 'service_profile_id', ids: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (!ids.length) return out;
  const other = key === 'flavor_id' ? 'service_profile_id' : 'flavor_id';
  const rows = await db.selectFrom('flavor_service_profile_bindings').selectAll().where(key, 'in', ids).orderBy(other).execute();
  for (const r of rows) out.set(r[key], [...(out.get(r[key]) ?? []), r[other]]);
  return out;
}

/** The drivers neutrino provides for the service types `loaded`, by driver path. */
export const providerOfDriver = (driver: string, loaded: ReadonlySet<string>) =>
  PROVIDER_DRIVERS.find((p) => p.driver === driver && loaded.has(p.service_type));

/**
 * get_flavor_next_provider: the provider of the flavor's first profile (by id), which must be
 * enabled and name a driver neutrino has. Also how a router's flavor picks its provider.
 */
export async function nextProvider(db: Reader, flavorId: string, loaded: ReadonlySet<string>): Promise<{ driver: string; provider: string }> {
  const binding = await db
    .selectFrom('flavor_service_profile_bindings')
    .select('service_profile_id')
    .where('flavor_id', '=', flavorId)
    .orderBy('service_profile_id')
    .executeTakeFirst();
  if (!binding) throw bindingNotFound('', flavorId);
  const sp = await db.selectFrom('service_profiles').selectAll().where('id', '=', binding.service_profile_id).executeTakeFirst();
  if (!sp) throw serviceProfileNotFound(binding.service_profile_id);
  if (!i2b(sp.enabled)) throw serviceProfileDisabled();
  const p = providerOfDriver(sp.driver, loaded);
  if (!p) throw driverNotFound(sp.driver);
  return { driver: sp.driver, provider: p.name };
}

/** A flavor of `serviceType` usable for a new resource: it exists, is enabled; its provider. */
export async function flavorProvider(db: Db, tx: Tx, flavorId: string, loaded: ReadonlySet<string>) {
  const flavor = await lockFlavor(db, tx, flavorId);
  if (!i2b(flavor.enabled)) throw flavorDisabled();
  return { flavor, ...(await nextProvider(tx, flavorId, loaded)) };
}

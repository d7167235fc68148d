// Schema migrations (`neutrino db upgrade`, also run at server start-up), applied in strict order:
// Kysely refuses a database whose applied migrations are not the first ones of the list in name
// order, so a migration named before one that already shipped is an error, not a silent reorder.
import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { Db } from './connection.js';
import * as m001 from './migrations/001_core.js';
import * as m002 from './migrations/002_agents.js';
import * as m003 from './migrations/003_security_groups.js';
import * as m004 from './migrations/004_l3.js';
import * as m005 from './migrations/005_subnetpools_rbac.js';
import * as m007 from './migrations/007_dhcp.js';
import * as m008 from './migrations/008_qos.js';
import * as m009 from './migrations/009_trunk.js';
import * as m010 from './migrations/010_agent_scheduling.js';
import * as m011 from './migrations/011_metering_segments.js';
import * as m012 from './migrations/012_port_bindings.js';
import * as m013 from './migrations/013_auto_allocate_service_types.js';
import * as m014 from './migrations/014_port_forwardings.js';
import * as m015 from './migrations/015_network_segment_ranges.js';
import * as m016 from './migrations/016_l3_ha.js';
import * as m017 from './migrations/017_address_groups_default_sg_rules.js';
import * as m019 from './migrations/019_flavors.js';
import * as m020 from './migrations/020_ndp_proxies.js';
import * as m021 from './migrations/021_port_attributes.js';
import * as m022 from './migrations/022_qos_packet_rates.js';
import * as m023 from './migrations/023_ports_host_index.js';
import * as m025 from './migrations/025_router_default_route_ecmp.js';
import * as m026 from './migrations/026_qos_router_gateway.js';
import * as m027 from './migrations/027_subnet_dns_publish_fixed_ip.js';
import * as m028 from './migrations/028_logs.js';

export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '001_core': m001, '002_agents': m002, '003_security_groups': m003, '004_l3': m004, '005_subnetpools_rbac': m005, '007_dhcp': m007,
  '008_qos': m008, '009_trunk': m009, '010_agent_scheduling': m010, '011_metering_segments': m011, '012_port_bindings': m012,
  '013_auto_allocate_service_types': m013,
  '014_port_forwardings': m014,
  '015_network_segment_ranges': m015,
  '016_l3_ha': m016,
  '017_address_groups_default_sg_rules': m017,
  '019_flavors': m019,
  '020_ndp_proxies': m020,
  '021_port_attributes': m021,
  '022_qos_packet_rates': m022,
  '023_ports_host_index': m023,
  '025_router_default_route_ecmp': m025,
  '026_qos_router_gateway': m026,
  '027_subnet_dns_publish_fixed_ip': m027,
  '028_logs': m028,
};

/**
 * 008–011 came from parallel branches (011 landed first, in ac6b036) and main applied them with
 * allowUnorderedMigrations until strict order came back, so a database may have recorded them in any order, or 011 without some
 * of 008–010. They touch disjoint tables, so any order gives the same schema.
 */
const UNORDERED_ERA = ['008_qos', '009_trunk', '010_agent_scheduling', '011_metering_segments'];
// Kysely's ledger of applied migrations (its default table name).
const LEDGER = 'kysely_migration';

/** A Kysely migrator over `migrations` (default: all), in strict order unless `unordered`. */
export function migrator(kysely: Kysely<any>, migrations: Record<string, Migration> = MIGRATIONS, unordered = false): Migrator {
  const provider: MigrationProvider = { getMigrations: async () => migrations };
  return new Migrator({ db: kysely, provider, allowUnorderedMigrations: unordered });
}

async function run(m: Migrator): Promise<string[]> {
  const { error, results } = await m.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/**
 * Applies the pending migrations in name order; returns the names it applied. `onMigration` is
 * told each one's name as it starts (`neutrino db upgrade` prints them: some take long on a
 * large database).
 */
export async function upgrade(db: Db, onMigration?: (name: string) => void): Promise<string[]> {
  const settled = await settleUnorderedEra(db.kysely as Kysely<any>);
  const migrations = onMigration
    ? Object.fromEntries(
        Object.entries(MIGRATIONS).map(([name, m]) => [
          name,
          {
            ...m,
            up: async (k: Kysely<any>) => {
              onMigration(name);
              await m.up(k);
            },
          },
        ]),
      )
    : MIGRATIONS;
  return [...settled, ...(await run(migrator(db.kysely, migrations)))];
}

/**
 * The ledger in the order Kysely reads it (by timestamp, then name), or null before any
 * migration ran.
 */
export async function appliedMigrations(kysely: Kysely<any>): Promise<{ name: string; timestamp: string }[] | null> {
  const tables = await kysely.introspection.getTables({ withInternalKyselyTables: true });
  if (!tables.some((t) => t.name === LEDGER)) return null;
  const rows: { name: string; timestamp: string }[] = await kysely.selectFrom(LEDGER).select(['name', 'timestamp']).execute();
  return rows.sort((a, b) => byTime(a.timestamp, b.timestamp) || byName(a.name, b.name));
}

// The comparisons Kysely orders its ledger by.
const byTime = (a: string, b: string) => new Date(a).getTime() - new Date(b).getTime();
const byName = (a: string, b: string) => a.localeCompare(b);

/**
 * Brings a database that the unordered era left out of order into the shape strict Kysely accepts:
 * runs the era's missing migrations as that code would have (after the ones recorded), then gives
 * the era's ledger rows their timestamps in name order (the same timestamps, reassigned), so that
 * the ledger lists the migrations as the list does. Any other disorder is left for Kysely to refuse.
 * Returns the migrations it ran.
 */
async function settleUnorderedEra(kysely: Kysely<any>): Promise<string[]> {
  const applied = await appliedMigrations(kysely);
  if (!applied) return [];
  const names = Object.keys(MIGRATIONS).sort();
  const before = names.filter((n) => n < UNORDERED_ERA[0]!);
  const recorded = applied.map((r) => r.name);
  if (recorded.every((n, i) => n === names[i])) return [];
  const eraOnlyDisorder = before.every((n, i) => recorded[i] === n) && recorded.slice(before.length).every((n) => UNORDERED_ERA.includes(n));
  if (!eraOnlyDisorder) return [];

  const era = Object.fromEntries(Object.entries(MIGRATIONS).filter(([n]) => n <= UNORDERED_ERA.at(-1)!));
  const ran = await run(migrator(kysely, era, true));
  await kysely.transaction().execute(async (trx) => {
    const rows: { name: string; timestamp: string }[] = await trx.selectFrom(LEDGER).select(['name', 'timestamp']).execute();
    const stamps = rows.map((r) => r.timestamp).sort(byTime);
    const inNameOrder = rows.map((r) => r.name).sort(byName);
    for (const [i, name] of inNameOrder.entries()) {
      await trx.updateTable(LEDGER).set({ timestamp: stamps[i] }).where('name', '=', name).execute();
    }
  });
  return ran;
}

// Schema migrations (`neutrino db upgrade`, also run at server start-up).
import { Migrator, type Migration, type MigrationProvider } from 'kysely';
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

const migrations: Record<string, Migration> = { '001_core': m001, '002_agents': m002, '003_security_groups': m003, '004_l3': m004, '005_subnetpools_rbac': m005, '007_dhcp': m007, '008_qos': m008, '009_trunk': m009,
  '010_agent_scheduling': m010, '011_metering_segments': m011, '012_port_bindings': m012 };

class StaticProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrations;
  }
}

export async function upgrade(db: Db): Promise<string[]> {
  // 010 was merged after 011 had shipped: a database already at 011 gets 010 afterwards (the two
  // touch different tables), instead of Kysely refusing it as out of order.
  const migrator = new Migrator({ db: db.kysely, provider: new StaticProvider(), allowUnorderedMigrations: true });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

// Flavors and service profiles (flavors) and the routers' flavor (l3-flavors), as Neutron's
// flavors, serviceprofiles and flavorserviceprofilebindings tables. A binding is its pair's
// primary key, so a profile is associated with a flavor once under concurrent requests; deleting
// a flavor takes its bindings along. routers.flavor_id has no foreign key (MariaDB ignores one
// given with ADD COLUMN, SQLite cannot add one later): the plugin checks use under the flavor's lock.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createTable('flavors')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(255)', (c) => c.notNull().defaultTo(''))
    .addColumn('description', 'varchar(1024)')
    .addColumn('enabled', 'smallint', (c) => c.notNull().defaultTo(1))
    .addColumn('service_type', 'varchar(36)', (c) => c.notNull())
    .execute();
  await db.schema.createTable('service_profiles')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('description', 'varchar(1024)')
    .addColumn('driver', 'varchar(1024)', (c) => c.notNull().defaultTo(''))
    .addColumn('enabled', 'smallint', (c) => c.notNull().defaultTo(1))
    .addColumn('metainfo', 'varchar(4096)')
    .execute();
  await db.schema.createTable('flavor_service_profile_bindings')
    .addColumn('flavor_id', 'varchar(36)', (c) => c.notNull().references('flavors.id').onDelete('cascade'))
    .addColumn('service_profile_id', 'varchar(36)', (c) => c.notNull().references('service_profiles.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('pk_flavor_service_profile_bindings', ['flavor_id', 'service_profile_id'])
    .execute();
  await db.schema.createIndex('ix_flavor_sp_bindings_sp').on('flavor_service_profile_bindings').column('service_profile_id').execute();
  await db.schema.alterTable('routers').addColumn('flavor_id', 'varchar(36)').execute();
  await db.schema.createIndex('ix_routers_flavor').on('routers').column('flavor_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('ix_routers_flavor').on('routers').execute();
  await db.schema.alterTable('routers').dropColumn('flavor_id').execute();
  for (const t of ['flavor_service_profile_bindings', 'service_profiles', 'flavors']) await db.schema.dropTable(t).ifExists().execute();
}

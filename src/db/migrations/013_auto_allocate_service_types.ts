// auto-allocated-topology: a network's is_default flag (meaningful on external networks only, as
// Neutron keeps it in externalnetworks.is_default) and each project's auto-allocated network and
// router (Neutron's auto_allocated_topologies: one per project, the primary key, so of two
// concurrent first GETs one insert fails and its topology is cleaned up). subnet-service-types:
// the device owners a subnet serves (Neutron's subnet_service_types).
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('networks')
    .addColumn('is_default', 'smallint', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .createTable('auto_allocated_topologies')
    .addColumn('project_id', 'varchar(255)', (c) => c.primaryKey())
    .addColumn('network_id', 'varchar(36)', (c) => c.notNull().references('networks.id').onDelete('cascade'))
    .addColumn('router_id', 'varchar(36)', (c) => c.references('routers.id').onDelete('set null'))
    .execute();
  await db.schema
    .createTable('subnet_service_types')
    .addColumn('subnet_id', 'varchar(36)', (c) => c.notNull().references('subnets.id').onDelete('cascade'))
    .addColumn('service_type', 'varchar(255)', (c) => c.notNull())
    .addPrimaryKeyConstraint('pk_subnet_service_types', ['subnet_id', 'service_type'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('subnet_service_types').ifExists().execute();
  await db.schema.dropTable('auto_allocated_topologies').ifExists().execute();
  await db.schema.alterTable('networks').dropColumn('is_default').execute();
}

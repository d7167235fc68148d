// Network segment ranges (network-segment-range): the pools of VLAN ids and VNIs that tenant
// networks take their segments from. Default ranges mirror the ML2 configuration (shared, one row
// per configured range, with ids derived from the range so that servers starting together write
// the same rows); an admin adds shared ranges or ranges of one project. `is_default` because
// DEFAULT is a reserved word in SQL; a non-VLAN range has no physical network (null).
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('network_segment_ranges')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(255)', (c) => c.notNull().defaultTo(''))
    .addColumn('is_default', 'smallint', (c) => c.notNull().defaultTo(0))
    .addColumn('shared', 'smallint', (c) => c.notNull().defaultTo(1))
    .addColumn('project_id', 'varchar(255)')
    .addColumn('network_type', 'varchar(32)', (c) => c.notNull())
    .addColumn('physical_network', 'varchar(64)')
    .addColumn('minimum', 'integer', (c) => c.notNull())
    .addColumn('maximum', 'integer', (c) => c.notNull())
    .addColumn('description', 'varchar(255)', (c) => c.notNull().defaultTo(''))
    .addColumn('revision_number', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
    .execute();
  // Allocations look up the ranges of one type (and physical network) for a project.
  await db.schema.createIndex('ix_network_segment_ranges_type').on('network_segment_ranges').columns(['network_type', 'physical_network']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('network_segment_ranges').ifExists().execute();
}

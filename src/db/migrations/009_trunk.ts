// Trunks (trunk, trunk-details): a trunk per parent port, and its subports with their
// segmentation. The database keeps a port the parent of one trunk at most, a subport of one trunk
// at most, and a (segmentation type, id) once per trunk, also under concurrent requests. Like
// Neutron's, the rows go with their ports; the API refuses to delete such ports first.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('trunks')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('name', 'varchar(255)', (c) => c.notNull())
    .addColumn('admin_state_up', 'smallint', (c) => c.notNull().defaultTo(1))
    .addColumn('port_id', 'varchar(36)', (c) => c.notNull().unique().references('ports.id').onDelete('cascade'))
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('description', 'varchar(255)', (c) => c.notNull().defaultTo(''))
    .addColumn('revision_number', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('ix_trunks_project').on('trunks').column('project_id').execute();

  await db.schema
    .createTable('subports')
    .addColumn('port_id', 'varchar(36)', (c) => c.primaryKey().references('ports.id').onDelete('cascade'))
    .addColumn('trunk_id', 'varchar(36)', (c) => c.notNull().references('trunks.id').onDelete('cascade'))
    .addColumn('segmentation_type', 'varchar(32)', (c) => c.notNull())
    .addColumn('segmentation_id', 'integer', (c) => c.notNull())
    .addUniqueConstraint('uq_subports_trunk_segmentation', ['trunk_id', 'segmentation_type', 'segmentation_id'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('subports').ifExists().execute();
  await db.schema.dropTable('trunks').ifExists().execute();
}

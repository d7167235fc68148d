// Metering labels and their rules (metering, metering_source_and_destination_fields), and the
// standard attributes of network segments (standard-attr-segment), which segments become an API
// resource of their own (segment). Same portable types as 001.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // Neutron's labels have a description but no other standard attributes.
  await db.schema
    .createTable('metering_labels')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('name', 'varchar(255)', (c) => c.notNull())
    .addColumn('description', 'varchar(1024)', (c) => c.notNull().defaultTo(''))
    .addColumn('shared', 'smallint', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex('ix_metering_labels_project').on('metering_labels').column('project_id').execute();

  await db.schema
    .createTable('metering_label_rules')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('metering_label_id', 'varchar(36)', (c) => c.notNull().references('metering_labels.id').onDelete('cascade'))
    .addColumn('direction', 'varchar(16)', (c) => c.notNull())
    .addColumn('remote_ip_prefix', 'varchar(64)')
    .addColumn('source_ip_prefix', 'varchar(64)')
    .addColumn('destination_ip_prefix', 'varchar(64)')
    .addColumn('excluded', 'smallint', (c) => c.notNull().defaultTo(0))
    .execute();
  // Overlap checks read the rules of one label and direction.
  await db.schema.createIndex('ix_metering_label_rules_label').on('metering_label_rules').columns(['metering_label_id', 'direction']).execute();

  // SQLite adds one column per ALTER TABLE.
  await db.schema
    .alterTable('network_segments')
    .addColumn('description', 'varchar(255)', (c) => c.notNull().defaultTo(''))
    .execute();
  await db.schema
    .alterTable('network_segments')
    .addColumn('revision_number', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .alterTable('network_segments')
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull().defaultTo(''))
    .execute();
  await db.schema
    .alterTable('network_segments')
    .addColumn('updated_at', 'varchar(32)', (c) => c.notNull().defaultTo(''))
    .execute();
  // Segments made before this migration were made with their network.
  await sql`update network_segments set created_at = (select n.created_at from networks n where n.id = network_segments.network_id),
    updated_at = (select n.created_at from networks n where n.id = network_segments.network_id)`.execute(db);
  // Segment deletes and the subnets' all-or-none segment rule look subnets up by segment.
  await db.schema.createIndex('ix_subnets_segment').on('subnets').column('segment_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['metering_label_rules', 'metering_labels']) await db.schema.dropTable(t).ifExists().execute();
  for (const c of ['updated_at', 'created_at', 'revision_number', 'description']) {
    await db.schema.alterTable('network_segments').dropColumn(c).execute();
  }
}

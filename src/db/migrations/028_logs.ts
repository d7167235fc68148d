// Network logs (logging): what to log (a security group, a port, both or neither, of the log's
// project) and which events. resource_id and target_id are plain ids, not foreign keys, as in
// Neutron: the plugin deletes a log with the security group or port it names.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('logs')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('name', 'varchar(255)', (c) => c.notNull().defaultTo(''))
    .addColumn('resource_type', 'varchar(36)', (c) => c.notNull())
    .addColumn('resource_id', 'varchar(36)')
    .addColumn('event', 'varchar(255)', (c) => c.notNull())
    .addColumn('target_id', 'varchar(36)')
    .addColumn('enabled', 'smallint', (c) => c.notNull().defaultTo(1))
    .addColumn('description', 'varchar(255)', (c) => c.notNull().defaultTo(''))
    .addColumn('revision_number', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('ix_logs_project_id').on('logs').column('project_id').execute();
  await db.schema.createIndex('ix_logs_resource_id').on('logs').column('resource_id').execute();
  await db.schema.createIndex('ix_logs_target_id').on('logs').column('target_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('logs').ifExists().execute();
}

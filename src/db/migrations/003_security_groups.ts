// Security groups (security-group, stateful-security-group): groups, their rules, the one
// `default` group of each project, and which ports use which groups (what the L2 agents will
// compute membership and remote-group sets from). Same portable types as 001.
import type { Kysely } from 'kysely';

const std = (t: any) =>
  t
    .addColumn('description', 'varchar(255)', (c: any) => c.notNull().defaultTo(''))
    .addColumn('revision_number', 'integer', (c: any) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'varchar(32)', (c: any) => c.notNull())
    .addColumn('updated_at', 'varchar(32)', (c: any) => c.notNull());

export async function up(db: Kysely<any>): Promise<void> {
  await std(
    db.schema
      .createTable('security_groups')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      .addColumn('stateful', 'smallint', (c) => c.notNull().defaultTo(1)),
  ).execute();
  await db.schema.createIndex('ix_security_groups_project').on('security_groups').column('project_id').execute();

  // The primary key is what makes "exactly one default group per project" hold under
  // concurrent first requests: a second insert fails and its request reads the winner's row.
  await db.schema
    .createTable('default_security_groups')
    .addColumn('project_id', 'varchar(255)', (c) => c.primaryKey())
    .addColumn('security_group_id', 'varchar(36)', (c) => c.notNull().references('security_groups.id').onDelete('cascade'))
    .execute();
  await db.schema.createIndex('ix_default_sg_group').on('default_security_groups').column('security_group_id').execute();

  await std(
    db.schema
      .createTable('security_group_rules')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('security_group_id', 'varchar(36)', (c) => c.notNull().references('security_groups.id').onDelete('cascade'))
      .addColumn('remote_group_id', 'varchar(36)', (c) => c.references('security_groups.id').onDelete('cascade'))
      .addColumn('remote_address_group_id', 'varchar(36)')
      .addColumn('direction', 'varchar(16)', (c) => c.notNull())
      .addColumn('ethertype', 'varchar(40)', (c) => c.notNull())
      .addColumn('protocol', 'varchar(40)')
      .addColumn('port_range_min', 'integer')
      .addColumn('port_range_max', 'integer')
      .addColumn('remote_ip_prefix', 'varchar(255)')
      .addColumn('normalized_cidr', 'varchar(64)'),
  ).execute();
  await db.schema.createIndex('ix_sg_rules_group').on('security_group_rules').column('security_group_id').execute();
  await db.schema.createIndex('ix_sg_rules_remote_group').on('security_group_rules').column('remote_group_id').execute();
  await db.schema.createIndex('ix_sg_rules_project').on('security_group_rules').column('project_id').execute();

  await db.schema
    .createTable('security_group_port_bindings')
    .addColumn('port_id', 'varchar(36)', (c) => c.notNull().references('ports.id').onDelete('cascade'))
    .addColumn('security_group_id', 'varchar(36)', (c) => c.notNull().references('security_groups.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('pk_sg_port_bindings', ['port_id', 'security_group_id'])
    .execute();
  await db.schema.createIndex('ix_sg_port_bindings_group').on('security_group_port_bindings').column('security_group_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['security_group_port_bindings', 'security_group_rules', 'default_security_groups', 'security_groups']) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}

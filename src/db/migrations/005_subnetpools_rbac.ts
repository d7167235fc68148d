// Address management and RBAC: address scopes, subnet pools and their prefixes (subnet_allocation,
// address-scope). Sharing of pools and scopes is stored as rows of `rbac_entries` (object_type
// 'subnetpool' / 'address_scope'), like networks'. Same portable types as 001.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // Neutron's address scopes have no standard attributes (no description, timestamps, revision).
  await db.schema
    .createTable('address_scopes')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('name', 'varchar(255)', (c) => c.notNull())
    .addColumn('ip_version', 'integer', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('ix_address_scopes_project').on('address_scopes').column('project_id').execute();

  await db.schema
    .createTable('subnetpools')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('name', 'varchar(255)', (c) => c.notNull())
    .addColumn('ip_version', 'integer', (c) => c.notNull())
    .addColumn('default_prefixlen', 'integer', (c) => c.notNull())
    .addColumn('min_prefixlen', 'integer', (c) => c.notNull())
    .addColumn('max_prefixlen', 'integer', (c) => c.notNull())
    .addColumn('default_quota', 'integer')
    .addColumn('is_default', 'smallint', (c) => c.notNull().defaultTo(0))
    .addColumn('address_scope_id', 'varchar(36)')
    .addColumn('description', 'varchar(255)', (c) => c.notNull().defaultTo(''))
    .addColumn('revision_number', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('ix_subnetpools_project').on('subnetpools').column('project_id').execute();
  await db.schema.createIndex('ix_subnetpools_scope').on('subnetpools').column('address_scope_id').execute();
  await db.schema.createIndex('ix_subnetpools_default').on('subnetpools').columns(['is_default', 'ip_version']).execute();

  await db.schema
    .createTable('subnetpool_prefixes')
    .addColumn('subnetpool_id', 'varchar(36)', (c) => c.notNull().references('subnetpools.id').onDelete('cascade'))
    .addColumn('cidr', 'varchar(64)', (c) => c.notNull())
    .addPrimaryKeyConstraint('pk_subnetpool_prefixes', ['subnetpool_id', 'cidr'])
    .execute();

  // Allocation reads a pool's subnets under the pool's row lock; in-use checks look them up too.
  await db.schema.createIndex('ix_subnets_subnetpool').on('subnets').column('subnetpool_id').execute();
  // Non-admin listing of rbac-policies and the rbac_policy quota count by owner.
  await db.schema.createIndex('ix_rbac_project').on('rbac_entries').column('project_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  // The two indexes on 001's tables go with those tables (DROP INDEX's syntax differs per backend).
  for (const t of ['subnetpool_prefixes', 'subnetpools', 'address_scopes']) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}

// Address groups (address-group, rbac-address-group) with their addresses, and the template of
// default security group rules (security-groups-default-rules), seeded with the rules Neutron
// has always given new groups. Same portable types as 001.
import { createHash, randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createTable('address_groups')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('name', 'varchar(255)', (c) => c.notNull().defaultTo(''))
    .addColumn('description', 'varchar(255)', (c) => c.notNull().defaultTo(''))
    .addColumn('revision_number', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('ix_address_groups_project').on('address_groups').column('project_id').execute();
  // The primary key keeps an address once per group under concurrent add_addresses.
  await db.schema.createTable('address_associations')
    .addColumn('address_group_id', 'varchar(36)', (c) => c.notNull().references('address_groups.id').onDelete('cascade'))
    .addColumn('address', 'varchar(64)', (c) => c.notNull())
    .addPrimaryKeyConstraint('pk_address_associations', ['address_group_id', 'address'])
    .execute();
  // A group in use by rules cannot be deleted: rules are looked up by their remote address group.
  await db.schema.createIndex('ix_sg_rules_remote_ag').on('security_group_rules').column('remote_address_group_id').execute();

  await db.schema.createTable('default_security_group_rules')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('direction', 'varchar(16)', (c) => c.notNull())
    .addColumn('ethertype', 'varchar(40)', (c) => c.notNull())
    .addColumn('remote_group_id', 'varchar(255)')
    .addColumn('remote_address_group_id', 'varchar(36)')
    .addColumn('protocol', 'varchar(40)')
    .addColumn('port_range_min', 'integer')
    .addColumn('port_range_max', 'integer')
    .addColumn('remote_ip_prefix', 'varchar(255)')
    .addColumn('used_in_default_sg', 'smallint', (c) => c.notNull().defaultTo(0))
    .addColumn('used_in_non_default_sg', 'smallint', (c) => c.notNull().defaultTo(0))
    .addColumn('description', 'varchar(255)', (c) => c.notNull().defaultTo(''))
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    // sha256 of what makes two templates the same rule: concurrent duplicates cannot both land.
    .addColumn('rule_key', 'varchar(64)', (c) => c.notNull().unique())
    .execute();
  // Neutron's legacy rules: egress anywhere for every group, ingress from the group's own
  // members for the default group (remote_group_id PARENT: the group being created).
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const seed = [
    ['egress', 'IPv4', null, 1, 1, 'Legacy default SG rule for egress traffic'],
    ['egress', 'IPv6', null, 1, 1, 'Legacy default SG rule for egress traffic'],
    ['ingress', 'IPv4', 'PARENT', 1, 0, 'Legacy default SG rule for ingress traffic'],
    ['ingress', 'IPv6', 'PARENT', 1, 0, 'Legacy default SG rule for ingress traffic'],
  ] as const;
  for (const [direction, ethertype, remote, inDefault, inOthers, description] of seed) {
    // The key as plugins/securitygroups/default-rules.ts computes it (ruleKey() of rules.ts, no group).
    const key = createHash('sha256').update([direction, ethertype, '+', '+', '+', remote ?? '+', '+', '+', ''].join('_')).digest('hex');
    await sql`insert into default_security_group_rules
      (id, direction, ethertype, remote_group_id, used_in_default_sg, used_in_non_default_sg, description, created_at, rule_key)
      values (${randomUUID()}, ${direction}, ${ethertype}, ${remote}, ${inDefault}, ${inOthers}, ${description}, ${now}, ${key})`.execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('ix_sg_rules_remote_ag').on('security_group_rules').execute();
  for (const t of ['default_security_group_rules', 'address_associations', 'address_groups']) await db.schema.dropTable(t).ifExists().execute();
}

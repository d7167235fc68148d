// Quality of Service (qos, qos-default): policies with standard attributes, one table per rule
// type, which networks and ports use which policy, and each project's default policy. Sharing a
// policy is an `rbac_entries` row (object_type 'qos_policy'). The database keeps the invariants
// under concurrency: one rule per type and direction (one DSCP rule) per policy, one policy per
// network or port, one default per project; bindings go with their network or port.
import type { Kysely } from 'kysely';

const std = (t: any) =>
  t
    .addColumn('description', 'varchar(255)', (c: any) => c.notNull().defaultTo(''))
    .addColumn('revision_number', 'integer', (c: any) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'varchar(32)', (c: any) => c.notNull())
    .addColumn('updated_at', 'varchar(32)', (c: any) => c.notNull());

const policyRef = (c: any) => c.notNull().references('qos_policies.id');

export async function up(db: Kysely<any>): Promise<void> {
  await std(
    db.schema
      .createTable('qos_policies')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('name', 'varchar(255)', (c) => c.notNull()),
  ).execute();
  await db.schema.createIndex('ix_qos_policies_project').on('qos_policies').column('project_id').execute();

  await db.schema
    .createTable('qos_policies_default')
    .addColumn('project_id', 'varchar(255)', (c) => c.primaryKey())
    .addColumn('qos_policy_id', 'varchar(36)', (c) => c.notNull().unique().references('qos_policies.id').onDelete('cascade'))
    .execute();

  // Rules: deleting a policy deletes its rules (the policy's delete does so explicitly too).
  await db.schema
    .createTable('qos_bandwidth_limit_rules')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('qos_policy_id', 'varchar(36)', (c) => c.notNull().references('qos_policies.id').onDelete('cascade'))
    .addColumn('max_kbps', 'integer')
    .addColumn('max_burst_kbps', 'integer')
    .addColumn('direction', 'varchar(16)', (c) => c.notNull().defaultTo('egress'))
    .addUniqueConstraint('uq_qos_bandwidth_limit_rules_policy_direction', ['qos_policy_id', 'direction'])
    .execute();
  await db.schema
    .createTable('qos_dscp_marking_rules')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('qos_policy_id', 'varchar(36)', (c) => c.notNull().unique().references('qos_policies.id').onDelete('cascade'))
    .addColumn('dscp_mark', 'integer')
    .execute();
  await db.schema
    .createTable('qos_minimum_bandwidth_rules')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('qos_policy_id', 'varchar(36)', (c) => c.notNull().references('qos_policies.id').onDelete('cascade'))
    .addColumn('min_kbps', 'integer')
    .addColumn('direction', 'varchar(16)', (c) => c.notNull().defaultTo('egress'))
    .addUniqueConstraint('uq_qos_minimum_bandwidth_rules_policy_direction', ['qos_policy_id', 'direction'])
    .execute();

  // Bindings: a policy in use cannot be deleted (no cascade from the policy; the plugin refuses
  // with QosPolicyInUse first), a deleted network or port takes its binding along.
  await db.schema
    .createTable('qos_network_policy_bindings')
    .addColumn('network_id', 'varchar(36)', (c) => c.primaryKey().references('networks.id').onDelete('cascade'))
    .addColumn('policy_id', 'varchar(36)', policyRef)
    .execute();
  await db.schema.createIndex('ix_qos_network_policy_bindings_policy').on('qos_network_policy_bindings').column('policy_id').execute();
  await db.schema
    .createTable('qos_port_policy_bindings')
    .addColumn('port_id', 'varchar(36)', (c) => c.primaryKey().references('ports.id').onDelete('cascade'))
    .addColumn('policy_id', 'varchar(36)', policyRef)
    .execute();
  await db.schema.createIndex('ix_qos_port_policy_bindings_policy').on('qos_port_policy_bindings').column('policy_id').execute();
  await db.schema
    .createTable('qos_fip_policy_bindings')
    .addColumn('fip_id', 'varchar(36)', (c) => c.primaryKey().references('floatingips.id').onDelete('cascade'))
    .addColumn('policy_id', 'varchar(36)', policyRef)
    .execute();
  await db.schema.createIndex('ix_qos_fip_policy_bindings_policy').on('qos_fip_policy_bindings').column('policy_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of [
    'qos_fip_policy_bindings',
    'qos_port_policy_bindings',
    'qos_network_policy_bindings',
    'qos_minimum_bandwidth_rules',
    'qos_dscp_marking_rules',
    'qos_bandwidth_limit_rules',
    'qos_policies_default',
    'qos_policies',
  ]) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}

// QoS packet rate rules (qos-pps, qos-pps-minimum): one table per type like the other rules,
// going with their policy. The (policy, direction) keys back up the plugin's duplicate check; a
// minimum packet rate rule of direction 'any' clashing with the others is decided under the
// policy's row lock.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('qos_packet_rate_limit_rules')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('qos_policy_id', 'varchar(36)', (c) => c.notNull().references('qos_policies.id').onDelete('cascade'))
    .addColumn('max_kpps', 'integer')
    .addColumn('max_burst_kpps', 'integer')
    .addColumn('direction', 'varchar(16)', (c) => c.notNull().defaultTo('egress'))
    .addUniqueConstraint('uq_qos_packet_rate_limit_rules_policy_direction', ['qos_policy_id', 'direction'])
    .execute();
  await db.schema
    .createTable('qos_minimum_packet_rate_rules')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('qos_policy_id', 'varchar(36)', (c) => c.notNull().references('qos_policies.id').onDelete('cascade'))
    .addColumn('min_kpps', 'integer')
    .addColumn('direction', 'varchar(16)', (c) => c.notNull().defaultTo('egress'))
    .addUniqueConstraint('uq_qos_minimum_packet_rate_rules_policy_direction', ['qos_policy_id', 'direction'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['qos_minimum_packet_rate_rules', 'qos_packet_rate_limit_rules']) await db.schema.dropTable(t).ifExists().execute();
}

// Port attributes of the ML2 extension drivers that only keep a value per port
// (port-device-profile, port-numa-affinity-policy, port-hints, port-trusted-vif,
// uplink-status-propagation) and of routed networks (ip_allocation): one row per port that has
// any of them, going with its port. A null column is the attribute's "not set".
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('port_attributes')
    .addColumn('port_id', 'varchar(36)', (c) => c.primaryKey().references('ports.id').onDelete('cascade'))
    .addColumn('device_profile', 'varchar(255)')
    .addColumn('numa_affinity_policy', 'varchar(16)')
    // JSON text.
    .addColumn('hints', 'text')
    .addColumn('trusted', 'smallint')
    .addColumn('propagate_uplink_status', 'smallint')
    // immediate (null), deferred or none.
    .addColumn('ip_allocation', 'varchar(16)')
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('port_attributes').ifExists().execute();
}

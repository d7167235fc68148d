// qos-gateway-ip: which QoS policy a router's gateway IP uses (Neutron's
// qos_router_gw_policy_bindings). One policy per router; the binding goes with its router; a
// policy in use is refused deletion by the plugin (no cascade from the policy).
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('qos_router_gw_policy_bindings')
    .addColumn('router_id', 'varchar(36)', (c) => c.primaryKey().references('routers.id').onDelete('cascade'))
    .addColumn('policy_id', 'varchar(36)', (c) => c.notNull().references('qos_policies.id'))
    .execute();
  await db.schema.createIndex('ix_qos_router_gw_policy_bindings_policy').on('qos_router_gw_policy_bindings').column('policy_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('qos_router_gw_policy_bindings').execute();
}

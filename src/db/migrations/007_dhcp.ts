// DHCP agent scheduling (Neutron's networkdhcpagentbindings): which DHCP agents serve which
// network. Rows go with the network (deleted by the DHCP notifier after a network delete) and
// with the agent (a deleted agent's bindings are dropped when it is next looked at).
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('networkdhcpagentbindings')
    .addColumn('network_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('dhcp_agent_id', 'varchar(36)', (c) => c.notNull())
    .addPrimaryKeyConstraint('pk_networkdhcpagentbindings', ['network_id', 'dhcp_agent_id'])
    .execute();
  await db.schema.createIndex('ix_networkdhcpagentbindings_agent').on('networkdhcpagentbindings').column('dhcp_agent_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('networkdhcpagentbindings').execute();
}

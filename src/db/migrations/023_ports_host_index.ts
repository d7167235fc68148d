// An index on ports by host (then network): an agent's resync (its host's devices), the l2pop
// queries for a host and a port going up or down on a host all read ports by binding_host_id,
// which without it is a scan of every port in the cloud per agent call (100,000 ports, 1,000
// agents resyncing after a server restart: 10^8 rows read).
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('ix_ports_host_network').on('ports').columns(['binding_host_id', 'network_id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('ix_ports_host_network').on('ports').execute();
}

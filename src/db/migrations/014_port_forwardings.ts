// Floating IP port forwardings (floating-ip-port-forwarding with its description and port
// ranges) and router conntrack helpers (l3-conntrack-helper), as Neutron's portforwardings and
// conntrack_helpers tables. Same portable types as 001.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createTable('portforwardings')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('floatingip_id', 'varchar(36)', (c) => c.notNull().references('floatingips.id').onDelete('cascade'))
    .addColumn('internal_neutron_port_id', 'varchar(36)', (c) => c.notNull().references('ports.id').onDelete('cascade'))
    .addColumn('protocol', 'varchar(40)', (c) => c.notNull())
    .addColumn('internal_ip_address', 'varchar(64)', (c) => c.notNull())
    .addColumn('internal_port_start', 'integer', (c) => c.notNull())
    .addColumn('internal_port_end', 'integer', (c) => c.notNull())
    .addColumn('external_port_start', 'integer', (c) => c.notNull())
    .addColumn('external_port_end', 'integer', (c) => c.notNull())
    .addColumn('description', 'varchar(1024)', (c) => c.notNull().defaultTo(''))
    // Neutron's two unique constraints; overlapping ranges are refused under the floating IP's lock.
    .addUniqueConstraint('uq_portforwardings_external', ['floatingip_id', 'protocol', 'external_port_start', 'external_port_end'])
    .addUniqueConstraint('uq_portforwardings_internal', [
      'protocol', 'internal_neutron_port_id', 'internal_ip_address', 'internal_port_start', 'internal_port_end',
    ])
    .execute();
  await db.schema.createIndex('ix_portforwardings_port').on('portforwardings').column('internal_neutron_port_id').execute();

  await db.schema.createTable('conntrack_helpers')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('router_id', 'varchar(36)', (c) => c.notNull().references('routers.id').onDelete('cascade'))
    .addColumn('protocol', 'varchar(40)', (c) => c.notNull())
    .addColumn('port', 'integer', (c) => c.notNull())
    .addColumn('helper', 'varchar(64)', (c) => c.notNull())
    .addUniqueConstraint('uq_conntrack_helpers', ['router_id', 'protocol', 'port', 'helper'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['portforwardings', 'conntrack_helpers']) await db.schema.dropTable(t).ifExists().execute();
}

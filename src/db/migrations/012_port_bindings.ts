// Inactive port bindings (binding-extended): the bindings of a port for hosts other than the one
// it is bound to, as Nova creates them on the destination of a live migration. The active binding
// stays in the ports table's binding_* columns, where every reader of a port already finds it, so
// "exactly one active binding" holds by construction; this table holds only the INACTIVE ones
// (Neutron keeps both in ml2_port_bindings with a status column).
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('port_inactive_bindings')
    .addColumn('port_id', 'varchar(36)', (c) => c.notNull().references('ports.id').onDelete('cascade'))
    .addColumn('host', 'varchar(255)', (c) => c.notNull())
    .addColumn('vnic_type', 'varchar(64)', (c) => c.notNull().defaultTo('normal'))
    .addColumn('profile', 'text', (c) => c.notNull())
    .addColumn('vif_type', 'varchar(64)', (c) => c.notNull())
    .addColumn('vif_details', 'text', (c) => c.notNull())
    // One binding per port and host: of two concurrent creates for a host, the second fails here.
    .addPrimaryKeyConstraint('pk_port_inactive_bindings', ['port_id', 'host'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('port_inactive_bindings').ifExists().execute();
}

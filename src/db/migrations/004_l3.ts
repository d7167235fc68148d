// L3: routers, their ports (gateway and interfaces) and extra routes, floating IPs. Same portable
// types as 001 (varchar ids, smallint booleans, ISO-8601 varchar timestamps).
//
// What the database guarantees under concurrency:
// - a port belongs to at most one router (router_ports' primary key is the port id);
// - a floating IP address is handed out once per external network (the floating port's
//   ip_allocations row, and uq_floatingips_address here);
// - a fixed IP has at most one floating IP per external network (uq_floatingips_fixed; rows
//   without an association hold NULLs, which unique constraints let repeat on every backend).
import type { Kysely } from 'kysely';

const std = (t: any) =>
  t
    .addColumn('description', 'varchar(255)', (c: any) => c.notNull().defaultTo(''))
    .addColumn('revision_number', 'integer', (c: any) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'varchar(32)', (c: any) => c.notNull())
    .addColumn('updated_at', 'varchar(32)', (c: any) => c.notNull());

export async function up(db: Kysely<any>): Promise<void> {
  await std(
    db.schema
      .createTable('routers')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addColumn('admin_state_up', 'smallint', (c) => c.notNull())
      // The gateway port, when the router has one (also a router_ports row of type router_gateway).
      .addColumn('gw_port_id', 'varchar(36)')
      .addColumn('enable_snat', 'smallint', (c) => c.notNull().defaultTo(1)),
  ).execute();
  await db.schema.createIndex('ix_routers_project').on('routers').column('project_id').execute();

  // Ports a router owns: its gateway port and its interfaces (Neutron's routerports).
  await db.schema
    .createTable('router_ports')
    .addColumn('port_id', 'varchar(36)', (c) => c.primaryKey().references('ports.id').onDelete('cascade'))
    .addColumn('router_id', 'varchar(36)', (c) => c.notNull().references('routers.id').onDelete('cascade'))
    .addColumn('port_type', 'varchar(255)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('ix_router_ports_router').on('router_ports').column('router_id').execute();

  await db.schema
    .createTable('router_routes')
    .addColumn('router_id', 'varchar(36)', (c) => c.notNull().references('routers.id').onDelete('cascade'))
    .addColumn('destination', 'varchar(64)', (c) => c.notNull())
    .addColumn('nexthop', 'varchar(64)', (c) => c.notNull())
    .addPrimaryKeyConstraint('pk_router_routes', ['router_id', 'destination', 'nexthop'])
    .execute();

  await std(
    db.schema
      .createTable('floatingips')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('floating_ip_address', 'varchar(64)', (c) => c.notNull())
      .addColumn('floating_network_id', 'varchar(36)', (c) => c.notNull())
      // The port on the external network that holds the address; deleting it deletes the row.
      .addColumn('floating_port_id', 'varchar(36)', (c) => c.notNull().unique().references('ports.id').onDelete('cascade'))
      .addColumn('fixed_port_id', 'varchar(36)', (c) => c.references('ports.id').onDelete('set null'))
      .addColumn('fixed_ip_address', 'varchar(64)')
      .addColumn('router_id', 'varchar(36)')
      .addColumn('last_known_router_id', 'varchar(36)')
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addUniqueConstraint('uq_floatingips_address', ['floating_network_id', 'floating_ip_address'])
      .addUniqueConstraint('uq_floatingips_fixed', ['floating_network_id', 'fixed_port_id', 'fixed_ip_address']),
  ).execute();
  await db.schema.createIndex('ix_floatingips_project').on('floatingips').column('project_id').execute();
  await db.schema.createIndex('ix_floatingips_fixed_port').on('floatingips').column('fixed_port_id').execute();
  await db.schema.createIndex('ix_floatingips_router').on('floatingips').column('router_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['floatingips', 'router_routes', 'router_ports', 'routers']) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}

// NDP proxies (l3-ndp-proxy) and the routers' enable_ndp_proxy (l3-ext-ndp-proxy; Neutron keeps
// it in router_ndp_proxy_state). An address is proxied once per router (the unique constraint
// settles concurrent creates); a proxy goes with its router or its port.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('routers').addColumn('enable_ndp_proxy', 'smallint', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.createTable('ndp_proxies')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('name', 'varchar(255)', (c) => c.notNull().defaultTo(''))
    .addColumn('router_id', 'varchar(36)', (c) => c.notNull().references('routers.id').onDelete('cascade'))
    .addColumn('port_id', 'varchar(36)', (c) => c.notNull().references('ports.id').onDelete('cascade'))
    .addColumn('ip_address', 'varchar(64)', (c) => c.notNull())
    .addColumn('description', 'varchar(1024)', (c) => c.notNull().defaultTo(''))
    .addColumn('revision_number', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
    .addUniqueConstraint('uniq_ndp_proxies0router_id0ip_address', ['router_id', 'ip_address'])
    .execute();
  await db.schema.createIndex('ix_ndp_proxies_port').on('ndp_proxies').column('port_id').execute();
  await db.schema.createIndex('ix_ndp_proxies_project').on('ndp_proxies').column('project_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('ndp_proxies').ifExists().execute();
  await db.schema.alterTable('routers').dropColumn('enable_ndp_proxy').execute();
}

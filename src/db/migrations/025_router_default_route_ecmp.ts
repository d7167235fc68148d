// enable-default-route-ecmp: whether a router with several external gateways
// (external-gateway-multihoming) routes by default over all of them, not only its first. Neutron
// keeps it in router_extra_attributes; one column on the router here.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('routers').addColumn('enable_default_route_ecmp', 'smallint', (c) => c.notNull().defaultTo(0)).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('routers').dropColumn('enable_default_route_ecmp').execute();
}

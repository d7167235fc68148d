// Agent scheduling, availability zones and DNS integration:
// - routerl3agentbindings: which L3 agent hosts which router (Neutron's table). A router is
//   hosted by one agent at most: binding_index is 1 for every (non-HA) binding and unique per
//   router, so of two concurrent schedulers only one can bind it;
// - routers.availability_zone_hints (JSON list, like networks.availability_zone_hints);
// - portdnses: a port's dns_name and dns_domain (dns-integration, dns-domain-ports);
// - networkdnsdomains: a network's dns_domain.
// Rows of these side tables go with their router, agent, port or network (foreign keys, on delete
// cascade).
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('routerl3agentbindings')
    .addColumn('router_id', 'varchar(36)', (c) => c.notNull().references('routers.id').onDelete('cascade'))
    .addColumn('l3_agent_id', 'varchar(36)', (c) => c.notNull().references('agents.id').onDelete('cascade'))
    .addColumn('binding_index', 'integer', (c) => c.notNull().defaultTo(1))
    .addPrimaryKeyConstraint('pk_routerl3agentbindings', ['router_id', 'l3_agent_id'])
    .addUniqueConstraint('uniq_router_l3_agent_binding0router_id0binding_index0', ['router_id', 'binding_index'])
    .execute();
  await db.schema.createIndex('ix_routerl3agentbindings_agent').on('routerl3agentbindings').column('l3_agent_id').execute();

  await db.schema
    .alterTable('routers')
    .addColumn('availability_zone_hints', 'varchar(255)', (c) => c.notNull().defaultTo('[]'))
    .execute();

  await db.schema
    .createTable('portdnses')
    .addColumn('port_id', 'varchar(36)', (c) => c.primaryKey().references('ports.id').onDelete('cascade'))
    .addColumn('dns_name', 'varchar(255)', (c) => c.notNull())
    .addColumn('dns_domain', 'varchar(255)', (c) => c.notNull().defaultTo(''))
    .execute();

  await db.schema
    .createTable('networkdnsdomains')
    .addColumn('network_id', 'varchar(36)', (c) => c.primaryKey().references('networks.id').onDelete('cascade'))
    .addColumn('dns_domain', 'varchar(255)', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('networkdnsdomains').execute();
  await db.schema.dropTable('portdnses').execute();
  await db.schema.alterTable('routers').dropColumn('availability_zone_hints').execute();
  await db.schema.dropTable('routerl3agentbindings').execute();
}

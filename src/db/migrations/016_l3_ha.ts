// HA routers (Neutron's l3_hamode tables):
// - routers.ha, routers.ha_vr_id (Neutron keeps them in router_extra_attributes);
// - ha_router_networks: each project's HA network, one per project (the primary key, so two
//   concurrent first HA routers of a project agree on one);
// - ha_router_vrid_allocations: VRRP ids, unique per HA network; the row names its router so it
//   goes with it;
// - ha_router_agent_port_bindings: per router and L3 agent the HA port and the state the agent
//   reported (active/standby).
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('routers').addColumn('ha', 'smallint', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('routers').addColumn('ha_vr_id', 'integer').execute();

  await db.schema.createTable('ha_router_networks')
    .addColumn('project_id', 'varchar(255)', (c) => c.primaryKey())
    .addColumn('network_id', 'varchar(36)', (c) => c.notNull().references('networks.id').onDelete('cascade'))
    .execute();

  await db.schema.createTable('ha_router_vrid_allocations')
    .addColumn('network_id', 'varchar(36)', (c) => c.notNull().references('networks.id').onDelete('cascade'))
    .addColumn('vr_id', 'integer', (c) => c.notNull())
    .addColumn('router_id', 'varchar(36)', (c) => c.notNull().references('routers.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('pk_ha_router_vrid_allocations', ['network_id', 'vr_id'])
    .execute();

  await db.schema.createTable('ha_router_agent_port_bindings')
    .addColumn('port_id', 'varchar(36)', (c) => c.primaryKey().references('ports.id').onDelete('cascade'))
    .addColumn('router_id', 'varchar(36)', (c) => c.notNull().references('routers.id').onDelete('cascade'))
    .addColumn('l3_agent_id', 'varchar(36)', (c) => c.references('agents.id').onDelete('cascade'))
    .addColumn('state', 'varchar(16)', (c) => c.notNull().defaultTo('standby'))
    .addUniqueConstraint('uniq_ha_router_agent_port_bindings0router_id0l3_agent_id', ['router_id', 'l3_agent_id'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('ha_router_agent_port_bindings').execute();
  await db.schema.dropTable('ha_router_vrid_allocations').execute();
  await db.schema.dropTable('ha_router_networks').execute();
  await db.schema.alterTable('routers').dropColumn('ha_vr_id').execute();
  await db.schema.alterTable('routers').dropColumn('ha').execute();
}

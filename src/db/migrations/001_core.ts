// Core tables: networks, segments and their allocations, RBAC, subnets, ports, IP allocations,
// port extensions, tags and quotas. Types are chosen to mean the same on SQLite, PostgreSQL and
// MySQL/MariaDB (varchar ids, smallint booleans, text JSON, ISO-8601 text timestamps).
import { Kysely, sql } from 'kysely';

const std = (t: any) =>
  t
    .addColumn('description', 'varchar(255)', (c: any) => c.notNull().defaultTo(''))
    .addColumn('revision_number', 'integer', (c: any) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'varchar(32)', (c: any) => c.notNull())
    .addColumn('updated_at', 'varchar(32)', (c: any) => c.notNull());

export async function up(db: Kysely<any>): Promise<void> {
  await std(
    db.schema
      .createTable('networks')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addColumn('admin_state_up', 'smallint', (c) => c.notNull())
      .addColumn('mtu', 'integer', (c) => c.notNull())
      .addColumn('router_external', 'smallint', (c) => c.notNull().defaultTo(0))
      .addColumn('port_security_enabled', 'smallint', (c) => c.notNull().defaultTo(1))
      .addColumn('availability_zone_hints', 'varchar(255)', (c) => c.notNull().defaultTo('[]')),
  ).execute();
  await db.schema.createIndex('ix_networks_project').on('networks').column('project_id').execute();

  await db.schema
    .createTable('network_segments')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('network_id', 'varchar(36)', (c) => c.notNull().references('networks.id').onDelete('cascade'))
    .addColumn('network_type', 'varchar(32)', (c) => c.notNull())
    .addColumn('physical_network', 'varchar(64)')
    .addColumn('segmentation_id', 'integer')
    .addColumn('segment_index', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('is_dynamic', 'smallint', (c) => c.notNull().defaultTo(0))
    .addColumn('name', 'varchar(255)')
    .execute();
  await db.schema.createIndex('ix_segments_network').on('network_segments').column('network_id').execute();

  // One row per (type, physnet, id): pre-filled for configured ranges (allocated=0) and inserted
  // on demand for provider ids outside them. The primary key makes double allocation impossible.
  await db.schema
    .createTable('segment_allocations')
    .addColumn('network_type', 'varchar(32)', (c) => c.notNull())
    .addColumn('physical_network', 'varchar(64)', (c) => c.notNull())
    .addColumn('segmentation_id', 'integer', (c) => c.notNull())
    .addColumn('allocated', 'smallint', (c) => c.notNull())
    .addPrimaryKeyConstraint('pk_segment_allocations', ['network_type', 'physical_network', 'segmentation_id'])
    .execute();
  await db.schema.createIndex('ix_segalloc_free').on('segment_allocations').columns(['network_type', 'physical_network', 'allocated']).execute();

  await db.schema
    .createTable('rbac_entries')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('object_type', 'varchar(32)', (c) => c.notNull())
    .addColumn('object_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('target_project', 'varchar(255)', (c) => c.notNull())
    .addColumn('action', 'varchar(32)', (c) => c.notNull())
    .addUniqueConstraint('uq_rbac', ['object_type', 'object_id', 'target_project', 'action'])
    .execute();
  await db.schema.createIndex('ix_rbac_target').on('rbac_entries').columns(['object_type', 'target_project']).execute();

  await std(
    db.schema
      .createTable('subnets')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('network_id', 'varchar(36)', (c) => c.notNull().references('networks.id'))
      .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      .addColumn('ip_version', 'integer', (c) => c.notNull())
      .addColumn('cidr', 'varchar(64)', (c) => c.notNull())
      .addColumn('gateway_ip', 'varchar(64)')
      .addColumn('enable_dhcp', 'smallint', (c) => c.notNull())
      .addColumn('ipv6_ra_mode', 'varchar(32)')
      .addColumn('ipv6_address_mode', 'varchar(32)')
      .addColumn('subnetpool_id', 'varchar(36)')
      .addColumn('segment_id', 'varchar(36)'),
  ).execute();
  await db.schema.createIndex('ix_subnets_network').on('subnets').column('network_id').execute();

  await db.schema
    .createTable('allocation_pools')
    .addColumn('subnet_id', 'varchar(36)', (c) => c.notNull().references('subnets.id').onDelete('cascade'))
    .addColumn('first_ip', 'varchar(64)', (c) => c.notNull())
    .addColumn('last_ip', 'varchar(64)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('ix_pools_subnet').on('allocation_pools').column('subnet_id').execute();

  await db.schema
    .createTable('dns_nameservers')
    .addColumn('subnet_id', 'varchar(36)', (c) => c.notNull().references('subnets.id').onDelete('cascade'))
    .addColumn('address', 'varchar(128)', (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('pk_dns_nameservers', ['subnet_id', 'address'])
    .execute();

  await db.schema
    .createTable('subnet_routes')
    .addColumn('subnet_id', 'varchar(36)', (c) => c.notNull().references('subnets.id').onDelete('cascade'))
    .addColumn('destination', 'varchar(64)', (c) => c.notNull())
    .addColumn('nexthop', 'varchar(64)', (c) => c.notNull())
    .addPrimaryKeyConstraint('pk_subnet_routes', ['subnet_id', 'destination', 'nexthop'])
    .execute();

  await std(
    db.schema
      .createTable('ports')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('network_id', 'varchar(36)', (c) => c.notNull().references('networks.id'))
      .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      .addColumn('mac_address', 'varchar(32)', (c) => c.notNull())
      .addColumn('admin_state_up', 'smallint', (c) => c.notNull())
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addColumn('device_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('device_owner', 'varchar(255)', (c) => c.notNull())
      .addColumn('port_security_enabled', 'smallint', (c) => c.notNull())
      .addColumn('binding_host_id', 'varchar(255)', (c) => c.notNull().defaultTo(''))
      .addColumn('binding_vnic_type', 'varchar(64)', (c) => c.notNull().defaultTo('normal'))
      .addColumn('binding_profile', 'text', (c) => c.notNull())
      .addColumn('binding_vif_type', 'varchar(64)', (c) => c.notNull())
      .addColumn('binding_vif_details', 'text', (c) => c.notNull())
      .addUniqueConstraint('uq_ports_network_mac', ['network_id', 'mac_address']),
  ).execute();
  await db.schema.createIndex('ix_ports_project').on('ports').column('project_id').execute();
  await db.schema.createIndex('ix_ports_device').on('ports').column('device_id').execute();
  await db.schema.createIndex('ix_ports_network').on('ports').column('network_id').execute();

  await db.schema
    .createTable('ip_allocations')
    .addColumn('port_id', 'varchar(36)', (c) => c.notNull().references('ports.id').onDelete('cascade'))
    .addColumn('ip_address', 'varchar(64)', (c) => c.notNull())
    .addColumn('subnet_id', 'varchar(36)', (c) => c.notNull().references('subnets.id'))
    .addColumn('network_id', 'varchar(36)', (c) => c.notNull())
    .addPrimaryKeyConstraint('pk_ip_allocations', ['subnet_id', 'ip_address'])
    .execute();
  await db.schema.createIndex('ix_ipalloc_port').on('ip_allocations').column('port_id').execute();
  await db.schema.createIndex('ix_ipalloc_ip').on('ip_allocations').column('ip_address').execute();

  await db.schema
    .createTable('allowed_address_pairs')
    .addColumn('port_id', 'varchar(36)', (c) => c.notNull().references('ports.id').onDelete('cascade'))
    .addColumn('mac_address', 'varchar(32)', (c) => c.notNull())
    .addColumn('ip_address', 'varchar(64)', (c) => c.notNull())
    .addPrimaryKeyConstraint('pk_address_pairs', ['port_id', 'mac_address', 'ip_address'])
    .execute();

  await db.schema
    .createTable('extra_dhcp_opts')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('port_id', 'varchar(36)', (c) => c.notNull().references('ports.id').onDelete('cascade'))
    .addColumn('opt_name', 'varchar(64)', (c) => c.notNull())
    .addColumn('opt_value', 'varchar(255)', (c) => c.notNull())
    .addColumn('ip_version', 'integer', (c) => c.notNull())
    .addUniqueConstraint('uq_extra_dhcp_opts', ['port_id', 'opt_name', 'ip_version'])
    .execute();

  await db.schema
    .createTable('tags')
    .addColumn('resource_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('resource_type', 'varchar(32)', (c) => c.notNull())
    .addColumn('tag', 'varchar(255)', (c) => c.notNull())
    .addPrimaryKeyConstraint('pk_tags', ['resource_id', 'tag'])
    .execute();
  await db.schema.createIndex('ix_tags_tag').on('tags').columns(['resource_type', 'tag']).execute();

  await db.schema
    .createTable('quotas')
    .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('resource', 'varchar(255)', (c) => c.notNull())
    .addColumn('hard_limit', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('pk_quotas', ['project_id', 'resource'])
    .execute();

  // A row per project, locked (SELECT ... FOR UPDATE) by writes that check quotas, so concurrent
  // creates in one project are serialised around the count-and-insert.
  await db.schema
    .createTable('project_locks')
    .addColumn('project_id', 'varchar(255)', (c) => c.primaryKey())
    .addColumn('counter', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  void sql;
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of [
    'project_locks',
    'quotas',
    'tags',
    'extra_dhcp_opts',
    'allowed_address_pairs',
    'ip_allocations',
    'ports',
    'subnet_routes',
    'dns_nameservers',
    'allocation_pools',
    'subnets',
    'rbac_entries',
    'segment_allocations',
    'network_segments',
    'networks',
  ]) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}

// subnet-dns-publish-fixed-ip: whether an external DNS service should get records for the fixed
// IPs of a subnet's ports. Neutron keeps the flag in a table of its own (a row only when true);
// one column on the subnet here, read with the subnet's row.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('subnets').addColumn('dns_publish_fixed_ip', 'smallint', (c) => c.notNull().defaultTo(0)).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('subnets').dropColumn('dns_publish_fixed_ip').execute();
}

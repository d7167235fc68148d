// What a consistent database holds after any sequence of API calls (issue 11's fuzz and fault
// checks): every port has a valid MAC unique on its network, every IP allocation belongs to its
// port's network and lies in its subnet, and no address is given twice. (A network may have no segment: Neutron lets its
// last one be deleted.)
import type { Kysely } from 'kysely';
import type { Database } from '../../src/db/schema.js';
import { ipInCidr } from '../../src/ipam/index.js';

/** A stored MAC: lower case, colons, unicast. */
const MAC_RE_STRICT = /^[0-9a-f][02468ace](:[0-9a-f]{2}){5}$/;

export async function dbInconsistencies(db: Kysely<Database>): Promise<string[]> {
  const problems: string[] = [];
  const ports = await db.selectFrom('ports').select(['id', 'network_id', 'mac_address']).execute();
  const macs = new Map<string, string>();
  for (const p of ports) {
    if (!MAC_RE_STRICT.test(p.mac_address)) problems.push(`port ${p.id} has MAC '${p.mac_address}'`);
    const key = `${p.network_id}/${p.mac_address}`;
    if (macs.has(key)) problems.push(`ports ${macs.get(key)} and ${p.id} share MAC ${p.mac_address} on network ${p.network_id}`);
    macs.set(key, p.id);
  }
  const portNet = new Map(ports.map((p) => [p.id, p.network_id]));
  const subnets = new Map((await db.selectFrom('subnets').select(['id', 'network_id', 'cidr']).execute()).map((s) => [s.id, s]));
  const allocs = await db.selectFrom('ip_allocations').select(['port_id', 'subnet_id', 'ip_address', 'network_id']).execute();
  const given = new Set<string>();
  for (const a of allocs) {
    const where = `${a.ip_address} (subnet ${a.subnet_id}, port ${a.port_id})`;
    const net = portNet.get(a.port_id);
    const subnet = subnets.get(a.subnet_id);
    if (net === undefined) problems.push(`allocation ${where} has no port`);
    else if (net !== a.network_id) problems.push(`allocation ${where} is on network ${a.network_id}, its port on ${net}`);
    if (!subnet) problems.push(`allocation ${where} has no subnet`);
    else {
      if (subnet.network_id !== a.network_id) problems.push(`allocation ${where} is on network ${a.network_id}, its subnet on ${subnet.network_id}`);
      if (!ipInCidr(a.ip_address, subnet.cidr)) problems.push(`allocation ${where} is outside ${subnet.cidr}`);
    }
    const key = `${a.subnet_id}/${a.ip_address}`;
    if (given.has(key)) problems.push(`address ${where} is given twice`);
    given.add(key);
  }
  return problems;
}

/** A port's MAC and addresses as the database holds them (to compare with what an API answer said). */
export async function portInDb(db: Kysely<Database>, id: string): Promise<{ mac: string; ips: string[] } | null> {
  const p = await db.selectFrom('ports').select('mac_address').where('id', '=', id).executeTakeFirst();
  if (!p) return null;
  const ips = await db.selectFrom('ip_allocations').select(['subnet_id', 'ip_address']).where('port_id', '=', id).execute();
  return { mac: p.mac_address, ips: ips.map((i) => `${i.subnet_id}/${i.ip_address}`).sort() };
}

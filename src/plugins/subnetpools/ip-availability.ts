// /v2.0/network-ip-availabilities (network-ip-availability, Neutron's IpAvailabilityMixin): per
// network and subnet, how many addresses the allocation pools hold (the whole cidr for a subnet
// without pools) and how many are allocated. Read-only; the policy makes it admin/service-only.
import type { RequestContext } from '../../core/context.js';
import { networkIpAvailabilityDef } from '../../definitions/network-ip-availability.js';
import type { ResourceDef } from '../../core/definition.js';
import { httpNotFound } from '../../core/errors.js';
import { networkNotFound } from '../ml2/errors.js';
import type { ListQuery } from '../../core/list-query.js';
import type { Rec, ResourceHandler } from '../../core/resource.js';
import type { Db } from '../../db/connection.js';
import { parseIp } from '../../ipam/address.js';
import { parseCidr } from '../../ipam/cidr.js';
import { sql } from 'kysely';
import { applyColumnFilters, chunks, columnsOf } from '../common/list-sql.js';

const exactInt = (n: bigint): number | bigint => (n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n);

export class NetworkIpAvailabilityHandler implements ResourceHandler {
  readonly def: ResourceDef = networkIpAvailabilityDef;

  constructor(private readonly db: Db) {}

  notFound(id: string): Error {
    return networkNotFound(id);
  }

  async get(ctx: RequestContext, id: string): Promise<Rec | null> {
    const items = await this.availabilities({ network_id: [id] });
    void ctx;
    return items[0] ?? null;
  }

  async list(_ctx: RequestContext, q: ListQuery): Promise<Rec[]> {
    const items = await this.availabilities(q.filters);
    const desc = q.sorts.find(([k]) => k === 'network_id')?.[1] === false;
    if (desc) items.reverse();
    return items;
  }

  private async availabilities(filters: Record<string, unknown[]>): Promise<Rec[]> {
    const db = this.db.kysely;
    const { qb: nq } = applyColumnFilters(
      db.selectFrom('networks').select(['id', 'name', 'project_id']).orderBy('id'),
      'networks',
      columnsOf(this.def),
      filters,
    );
    const versions = (filters.ip_version ?? []).map(Number);
    const networks = await nq.execute();
    const subnetsByNet = new Map<string, Rec[]>();
    for (const part of chunks(networks.map((n) => n.id))) {
      if (!part.length) continue;
      let sq = db
        .selectFrom('subnets')
        .select(['id', 'name', 'network_id', 'cidr', 'ip_version'])
        .where('network_id', 'in', part)
        .orderBy('created_at')
        .orderBy('id');
      if (versions.length) sq = sq.where('ip_version', 'in', versions);
      const subnets = await sq.execute();
      const ids = subnets.map((s) => s.id);
      const totals = new Map<string, bigint>();
      const used = new Map<string, number>();
      for (const ip of chunks(ids)) {
        if (!ip.length) continue;
        for (const p of await db.selectFrom('allocation_pools').selectAll().where('subnet_id', 'in', ip).execute()) {
          const size = parseIp(p.last_ip).value - parseIp(p.first_ip).value + 1n;
          totals.set(p.subnet_id, (totals.get(p.subnet_id) ?? 0n) + size);
        }
        const counts = await db
          .selectFrom('ip_allocations')
          .select(['subnet_id', sql<number>`count(*)`.as('n')])
          .where('subnet_id', 'in', ip)
          .groupBy('subnet_id')
          .execute();
        for (const c of counts) used.set(c.subnet_id, Number(c.n));
      }
      for (const s of subnets) {
        const total = totals.get(s.id) ?? parseCidr(s.cidr).size;
        const l = subnetsByNet.get(s.network_id) ?? [];
        l.push({
          subnet_id: s.id,
          ip_version: Number(s.ip_version),
          cidr: s.cidr,
          subnet_name: s.name,
          used_ips: used.get(s.id) ?? 0,
          total_ips: total,
        });
        subnetsByNet.set(s.network_id, l);
      }
    }
    const out: Rec[] = [];
    for (const n of networks) {
      const subnets = subnetsByNet.get(n.id) ?? [];
      // An ip_version filter joins the subnets: networks without one of that version drop out.
      if (versions.length && subnets.length === 0) continue;
      out.push({
        network_id: n.id,
        network_name: n.name,
        tenant_id: n.project_id,
        project_id: n.project_id,
        subnet_ip_availability: subnets,
        used_ips: subnets.reduce((a, s) => a + (s.used_ips as number), 0),
        total_ips: subnets.reduce((a, s) => a + (s.total_ips as bigint), 0n),
      });
    }
    // Exact integers: a number while it is one, a bigint (written as digits) beyond 2^53.
    for (const n of out) {
      n.total_ips = exactInt(n.total_ips as bigint);
      for (const s of n.subnet_ip_availability as Rec[]) s.total_ips = exactInt(s.total_ips as bigint);
    }
    return out;
  }

  async create(): Promise<Rec[]> {
    throw httpNotFound();
  }

  async update(): Promise<Rec> {
    throw httpNotFound();
  }

  async delete(): Promise<void> {
    throw httpNotFound();
  }
}

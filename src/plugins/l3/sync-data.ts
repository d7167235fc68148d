// What an L3 agent needs to build its routers (Neutron's L3_NAT_dbonly_mixin.get_sync_data): each
// router's API dict with `gw_port_id`, its gateway port (`gw_port`) and top-level `enable_snat`,
// its further gateway ports (`_extra_gw_ports`, external-gateway-multihoming: not Neutron's, whose
// L3 agent has no multihoming), its interfaces (`_interfaces`) and floating IPs (`_floatingips`, each with the address scope of
// its fixed IP). Every port carries `subnets` (those of its fixed IPs: cidr, gateway, DNS, RA mode,
// pool), `extra_subnets` (the network's others), `address_scopes` per IP version, `mtu`, and the
// prefix length of each fixed IP.
import type { Rec } from '../../core/resource.js';
import type { Db } from '../../db/connection.js';
import { b2i } from '../../db/tx.js';
import type { FloatingIpTable, RouterTable } from '../../db/schema.js';
import { idChunks, whereIdIn } from '../common/list-sql.js';
import type { PortHandler } from '../ml2/ports.js';
import type { FloatingIpHandler } from './floatingips.js';
import type { RouterHandler } from './routers.js';
import { DEVICE_OWNER_HA_REPLICATED_INT, DEVICE_OWNER_ROUTER_GW, DEVICE_OWNER_ROUTER_INTF } from '../../core/wire.js';

/** neutron_lib.constants INTERFACE_KEY and FLOATINGIP_KEY. */
export const INTERFACE_KEY = '_interfaces';
export const FLOATINGIP_KEY = '_floatingips';
/** A router's gateway ports other than gw_port, oldest first. */
export const EXTRA_GW_PORTS_KEY = '_extra_gw_ports';
/** The interface owners an agent builds (Neutron's _get_sync_interfaces default). */
const SYNC_INTERFACE_OWNERS = [DEVICE_OWNER_ROUTER_INTF, DEVICE_OWNER_HA_REPLICATED_INT];

export interface SyncDeps {
  db: Db;
  routers: RouterHandler;
  floatingips: FloatingIpHandler;
  ports: PortHandler;
}

interface SubnetInfo {
  id: string;
  network_id: string;
  ip_version: number;
  cidr: string;
  gateway_ip: string | null;
  ipv6_ra_mode: string | null;
  subnetpool_id: string | null;
  address_scope_id: string | null;
  dns_nameservers: string[];
}

/**
 * Sync data of the routers with these ids (all routers when null); `active` keeps only routers
 * whose admin_state_up is that value, as Neutron's agent-facing query does.
 */
export async function routerSyncData(d: SyncDeps, routerIds: string[] | null, active?: boolean): Promise<Rec[]> {
  const db = d.db.kysely;
  const rows: RouterTable[] = [];
  for (const part of routerIds === null ? [null] : idChunks(d.db, [...new Set(routerIds)])) {
    let q = db.selectFrom('routers').selectAll().orderBy('created_at').orderBy('id');
    if (part) q = whereIdIn(d.db, q, 'id', part);
    if (active !== undefined) q = q.where('admin_state_up', '=', b2i(active));
    rows.push(...(await q.execute()));
  }
  if (!rows.length) return [];
  const ids = rows.map((r) => r.id);
  const routers = await d.routers.toDicts(db, rows);

  // The ports: gateways and interfaces, as the core plugin shows them to an admin.
  const interfaces: Array<{ port_id: string; router_id: string }> = [];
  const extraGateways: Array<{ port_id: string; router_id: string }> = [];
  const fipRows: FloatingIpTable[] = [];
  for (const part of idChunks(d.db, ids)) {
    interfaces.push(
      ...(await whereIdIn(d.db, db.selectFrom('router_ports').select(['port_id', 'router_id']), 'router_id', part)
        .where('port_type', 'in', SYNC_INTERFACE_OWNERS)
        .execute()),
    );
    extraGateways.push(
      ...(await whereIdIn(d.db, db.selectFrom('router_ports').select(['port_id', 'router_id']), 'router_id', part)
        .where('port_type', '=', DEVICE_OWNER_ROUTER_GW)
        .execute()),
    );
    fipRows.push(...(await whereIdIn(d.db, db.selectFrom('floatingips').selectAll(), 'router_id', part).orderBy('id').execute()));
  }
  const primaries = new Set(rows.map((r) => r.gw_port_id).filter((p): p is string => !!p));
  const extras = extraGateways.filter((g) => !primaries.has(g.port_id));
  const portIds = [...primaries, ...interfaces.map((i) => i.port_id), ...extras.map((g) => g.port_id)];
  const ports = new Map<string, Rec>();
  for (const part of idChunks(d.db, portIds)) {
    const q = whereIdIn(d.db, db.selectFrom('ports').selectAll(), 'id', part).orderBy('created_at').orderBy('id');
    for (const p of await d.ports.toDicts(db, await q.execute())) ports.set(p.id as string, p);
  }
  await addSubnetsAndMtu(d.db, [...ports.values()]);

  const fips = await d.floatingips.toDicts(db, fipRows);
  const scopes = await fixedIpScopes(
    d.db,
    fipRows.map((f) => ({ port: f.fixed_port_id, ip: f.fixed_ip_address })),
  );
  fips.forEach((f, i) => {
    f.fixed_ip_address_scope = scopes[i] ?? null;
  });

  const byRouter = new Map<string, Rec>();
  routers.forEach((r, i) => {
    const row = rows[i]!;
    r.gw_port_id = row.gw_port_id;
    const gw = row.gw_port_id ? ports.get(row.gw_port_id) : undefined;
    if (gw) {
      r.gw_port = gw;
      r.enable_snat = (r.external_gateway_info as Rec | null)?.enable_snat ?? true;
    }
    byRouter.set(row.id, r);
  });
  for (const i of interfaces) {
    const port = ports.get(i.port_id);
    const r = byRouter.get(i.router_id);
    if (port && r) ((r[INTERFACE_KEY] ??= []) as Rec[]).push(port);
  }
  for (const g of extras) {
    const port = ports.get(g.port_id);
    const r = byRouter.get(g.router_id);
    if (port && r) ((r[EXTRA_GW_PORTS_KEY] ??= []) as Rec[]).push(port);
  }
  // Interfaces in the order the ports were made, whatever order the bindings came back in.
  const order = new Map([...ports.keys()].map((id, n) => [id, n]));
  const byOrder = (a: Rec, b: Rec) => order.get(a.id as string)! - order.get(b.id as string)!;
  for (const r of byRouter.values()) {
    (r[INTERFACE_KEY] as Rec[] | undefined)?.sort(byOrder);
    (r[EXTRA_GW_PORTS_KEY] as Rec[] | undefined)?.sort(byOrder);
  }
  for (const f of fips) {
    const r = byRouter.get(f.router_id as string);
    if (r) ((r[FLOATINGIP_KEY] ??= []) as Rec[]).push(f);
  }
  return [...byRouter.values()];
}

/** Neutron's _populate_mtu_and_subnets_for_ports, on ports that have fixed IPs. */
async function addSubnetsAndMtu(db: Db, ports: Rec[]): Promise<void> {
  const withIps = ports.filter((p) => ((p.fixed_ips as unknown[] | undefined) ?? []).length > 0);
  const netIds = [...new Set(withIps.map((p) => p.network_id as string))];
  if (!netIds.length) return;
  const subnetsByNet = new Map<string, SubnetInfo[]>();
  const mtus = new Map<string, number>();
  for (const part of idChunks(db, netIds)) {
    for (const n of await whereIdIn(db, db.kysely.selectFrom('networks').select(['id', 'mtu']), 'id', part).execute()) mtus.set(n.id, Number(n.mtu));
    const q = whereIdIn(
      db,
      db.kysely
        .selectFrom('subnets as s')
        .leftJoin('subnetpools as sp', 'sp.id', 's.subnetpool_id')
        .select(['s.id', 's.network_id', 's.ip_version', 's.cidr', 's.gateway_ip', 's.ipv6_ra_mode', 's.subnetpool_id', 'sp.address_scope_id']),
      's.network_id',
      part,
    )
      .orderBy('s.created_at')
      .orderBy('s.id');
    for (const s of await q.execute()) {
      const l = subnetsByNet.get(s.network_id) ?? [];
      l.push({ ...s, ip_version: Number(s.ip_version), address_scope_id: s.address_scope_id ?? null, dns_nameservers: [] });
      subnetsByNet.set(s.network_id, l);
    }
  }
  const byId = new Map([...subnetsByNet.values()].flat().map((s) => [s.id, s]));
  for (const part of idChunks(db, [...byId.keys()])) {
    const q = whereIdIn(db, db.kysely.selectFrom('dns_nameservers').selectAll(), 'subnet_id', part).orderBy('position');
    for (const n of await q.execute()) byId.get(n.subnet_id)?.dns_nameservers.push(n.address);
  }
  for (const port of withIps) {
    const fixed = port.fixed_ips as Array<Rec & { subnet_id: string }>;
    const subnets: Rec[] = [];
    const extra: Rec[] = [];
    const scopes: Record<string, string | null> = { 4: null, 6: null };
    for (const s of subnetsByNet.get(port.network_id as string) ?? []) {
      scopes[s.ip_version] = s.address_scope_id;
      const info = {
        id: s.id,
        cidr: s.cidr,
        gateway_ip: s.gateway_ip,
        dns_nameservers: s.dns_nameservers,
        ipv6_ra_mode: s.ipv6_ra_mode,
        subnetpool_id: s.subnetpool_id,
      };
      const ip = fixed.find((f) => f.subnet_id === s.id);
      if (ip) {
        subnets.push(info);
        ip.prefixlen = Number(s.cidr.split('/')[1]);
      } else {
        extra.push(info);
      }
    }
    port.subnets = subnets;
    port.extra_subnets = extra;
    port.address_scopes = scopes;
    port.mtu = mtus.get(port.network_id as string) ?? 0;
  }
}

/** The address scope of each fixed IP's subnet (through its subnet pool), or null. */
async function fixedIpScopes(db: Db, fixed: Array<{ port: string | null; ip: string | null }>): Promise<Array<string | null>> {
  const portIds = [...new Set(fixed.map((f) => f.port).filter((p): p is string => !!p))];
  const scopeOf = new Map<string, string | null>();
  for (const part of idChunks(db, portIds)) {
    const q = whereIdIn(
      db,
      db.kysely
        .selectFrom('ip_allocations as a')
        .innerJoin('subnets as s', 's.id', 'a.subnet_id')
        .leftJoin('subnetpools as sp', 'sp.id', 's.subnetpool_id')
        .select(['a.port_id', 'a.ip_address', 'sp.address_scope_id']),
      'a.port_id',
      part,
    );
    for (const r of await q.execute()) scopeOf.set(`${r.port_id} ${r.ip_address}`, r.address_scope_id ?? null);
  }
  return fixed.map((f) => (f.port && f.ip ? (scopeOf.get(`${f.port} ${f.ip}`) ?? null) : null));
}

/** Ports by id as sync data carries them (admin view with subnets, MTU and prefix lengths). */
export async function syncPorts(d: SyncDeps, ids: string[]): Promise<Rec[]> {
  const out: Rec[] = [];
  for (const part of idChunks(d.db, ids)) {
    const q = whereIdIn(d.db, d.db.kysely.selectFrom('ports').selectAll(), 'id', part);
    out.push(...(await d.ports.toDicts(d.db.kysely, await q.execute())));
  }
  await addSubnetsAndMtu(d.db, out);
  return out;
}

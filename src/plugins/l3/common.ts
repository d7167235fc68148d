// What the router and floating IP handlers share: device owners, the plugin's dependencies, and
// reads that run inside the caller's write transaction (on SQLite a read through db.kysely while
// a transaction holds the one connection would wait for it forever).
import type { RouterProviders } from './providers.js';
import { sql, type SqlBool } from 'kysely';
import type { RequestContext } from '../../core/context.js';
import { forUpdate, type Reader, type Tx } from '../../db/tx.js';
import type { Ml2Context } from '../ml2/context.js';
import type { PortHandler } from '../ml2/ports.js';
import type { SubnetHandler } from '../ml2/subnets.js';
import type { FixedIp } from '../ml2/ip-allocator.js';
import { networkVisible } from '../common/visibility.js';
import { networkNotFound, portNotFound, subnetNotFound } from '../ml2/errors.js';
import {
  DEVICE_OWNER_FLOATINGIP,
  DEVICE_OWNER_HA_REPLICATED_INT,
  DEVICE_OWNER_ROUTER_GW,
  DEVICE_OWNER_ROUTER_HA_INTF,
  DEVICE_OWNER_ROUTER_INTF,
} from '../../core/wire.js';
import type { L3AgentScheduler } from './agent-scheduler.js';
import type { RouterHa } from './ha.js';

/** router_device_owners (with L3_HA_NAT_db_mixin's HA interfaces): ports only the L3 API may delete. */
export const ROUTER_DEVICE_OWNERS = [
  DEVICE_OWNER_HA_REPLICATED_INT,
  DEVICE_OWNER_ROUTER_INTF,
  DEVICE_OWNER_ROUTER_GW,
  DEVICE_OWNER_FLOATINGIP,
  DEVICE_OWNER_ROUTER_HA_INTF,
];

export interface L3Settings {
  /** [DEFAULT] max_routes: extra routes per router. */
  maxRoutes: number;
  /** [DEFAULT] enable_snat_by_default. */
  enableSnatByDefault: boolean;
  /** [DEFAULT] default_availability_zones: the hints of routers created without any. */
  defaultAvailabilityZones: readonly string[];
  /** [DEFAULT] enable_default_route_ecmp: the value of routers created without it. */
  enableDefaultRouteEcmp: boolean;
}

/** Neutron's defaults of [DEFAULT] max_routes, enable_snat_by_default and default_availability_zones. */
export const defaultL3Settings = (): L3Settings => ({
  maxRoutes: 30,
  enableSnatByDefault: true,
  defaultAvailabilityZones: [],
  enableDefaultRouteEcmp: false,
});

export interface L3Context {
  m: Ml2Context;
  /** The core plugin's port handler: service ports are created and deleted through it. */
  ports: PortHandler;
  subnets: SubnetHandler;
  settings: L3Settings;
  /** Schedules routers to L3 agents and tells them (l3_agent_scheduler); null without it. */
  scheduler: L3AgentScheduler | null;
  /** HA routers (l3-ha); unset when the extension is not served. */
  ha?: RouterHa;
  /** The router's provider: its flavor (l3-flavors), no distributed routers (dvr). */
  providers?: RouterProviders;
}

export interface PortInfo {
  id: string;
  network_id: string;
  project_id: string;
  device_id: string;
  device_owner: string;
  mac_address: string;
  fixed_ips: FixedIp[];
}

export interface SubnetRow {
  id: string;
  network_id: string;
  project_id: string;
  ip_version: number;
  cidr: string;
  gateway_ip: string | null;
  ipv6_ra_mode: string | null;
  ipv6_address_mode: string | null;
}

const SUBNET_COLS = ['id', 'network_id', 'project_id', 'ip_version', 'cidr', 'gateway_ip', 'ipv6_ra_mode', 'ipv6_address_mode'] as const;

/** Ports by id with their fixed IPs (no scope). */
export async function loadPorts(db: Reader, ids: string[]): Promise<PortInfo[]> {
  if (!ids.length) return [];
  const rows = await db
    .selectFrom('ports')
    .select(['id', 'network_id', 'project_id', 'device_id', 'device_owner', 'mac_address'])
    .where('id', 'in', ids)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  const ips = await db.selectFrom('ip_allocations').select(['port_id', 'subnet_id', 'ip_address']).where('port_id', 'in', ids).execute();
  return rows.map((r) => ({
    ...r,
    fixed_ips: ips.filter((a) => a.port_id === r.id).map((a) => ({ subnet_id: a.subnet_id, ip_address: a.ip_address })),
  }));
}

export async function loadPort(db: Reader, id: string): Promise<PortInfo | null> {
  return (await loadPorts(db, [id]))[0] ?? null;
}

export async function loadSubnets(db: Reader, ids: string[]): Promise<SubnetRow[]> {
  if (!ids.length) return [];
  const rows = await db
    .selectFrom('subnets')
    .select([...SUBNET_COLS])
    .where('id', 'in', ids)
    .execute();
  return rows.map((r) => ({ ...r, ip_version: Number(r.ip_version) }));
}

export async function networkSubnets(db: Reader, networkId: string): Promise<SubnetRow[]> {
  const rows = await db
    .selectFrom('subnets')
    .select([...SUBNET_COLS])
    .where('network_id', '=', networkId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map((r) => ({ ...r, ip_version: Number(r.ip_version) }));
}

/** A subnet the caller may see (its network is visible), or SubnetNotFound. */
export async function visibleSubnet(db: Reader, ctx: RequestContext, id: string): Promise<SubnetRow> {
  let q = db
    .selectFrom('subnets')
    .select(SUBNET_COLS.map((c) => `subnets.${c}` as const))
    .where('subnets.id', '=', id);
  if (!ctx.isAdmin) {
    q = q.where(
      'subnets.network_id',
      'in',
      db
        .selectFrom('networks')
        .select('networks.id')
        .where(networkVisible(ctx, 'networks.project_id', 'networks.id')),
    );
  }
  const r = await q.executeTakeFirst();
  if (!r) throw subnetNotFound(id);
  return { ...r, ip_version: Number(r.ip_version) };
}

/** A port the caller may see (Neutron's port scope: own, or on an own network), or PortNotFound. */
export async function visiblePort(db: Reader, ctx: RequestContext, id: string): Promise<PortInfo> {
  let q = db.selectFrom('ports').select('id').where('id', '=', id);
  if (!ctx.isAdmin) {
    const p = ctx.projectId ?? '';
    q = q.where(sql<SqlBool>`(ports.project_id = ${p} or ports.network_id in (select n.id from networks n where n.project_id = ${p}))`);
  }
  const r = await q.executeTakeFirst();
  const port = r ? await loadPort(db, id) : null;
  if (!port) throw portNotFound(id);
  return port;
}

/** A network the caller may see (own, shared or external to it), or NetworkNotFound. */
export async function visibleNetwork(db: Reader, ctx: RequestContext, id: string): Promise<{ id: string; project_id: string; external: boolean }> {
  let q = db.selectFrom('networks').select(['id', 'project_id', 'router_external']).where('networks.id', '=', id);
  if (!ctx.isAdmin) q = q.where(networkVisible(ctx, 'networks.project_id', 'networks.id'));
  const r = await q.executeTakeFirst();
  if (!r) throw networkNotFound(id);
  return { id: r.id, project_id: r.project_id, external: Number(r.router_external) === 1 };
}

/** The network's row lock, which port creates and IP changes on it also take. */
export async function lockNetwork(m: Ml2Context, tx: Tx, id: string): Promise<void> {
  await forUpdate(m.db, tx.selectFrom('networks').select('id').where('id', '=', id)).executeTakeFirst();
}

export const ipVersionOfText = (ip: string) => (ip.includes(':') ? 6 : 4);

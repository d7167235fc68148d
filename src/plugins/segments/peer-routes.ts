// segments-peer-subnet-host-routes (Neutron's SegmentHostRoutes): on a routed network each
// subnet with a gateway gets a host route, through that gateway, to every subnet of the same IP
// version on the other segments, unless one of its routes already covers it; a deleted subnet's
// routes go, and a changed gateway moves them. Kept up to date in the transaction of the subnet
// write that changes the picture, under the network's lock.
import type { Tx } from '../../db/tx.js';
import { nowIso } from '../../db/tx.js';
import { tryParseCidr, type Cidr } from '../../ipam/index.js';

const contains = (a: Cidr | null, b: Cidr | null) => !!a && !!b && a.version === b.version && a.first <= b.first && b.last <= a.last;

export interface Route {
  destination: string;
  nexthop: string;
}

export interface PeerSubnet {
  id: string;
  ip_version: number;
  cidr: string;
  segment_id: string | null;
  gateway_ip: string | null;
}

/** _calculate_routed_network_host_routes: `routes` with the peer routes added (and stale ones dropped). */
export function withPeerRoutes(
  subnet: PeerSubnet,
  routes: readonly Route[],
  all: readonly PeerSubnet[],
  opts: { deletedCidr?: string; oldGateway?: string | null } = {},
): Route[] {
  let out = [...routes];
  const same = (a: Route, b: Route) => a.destination === b.destination && a.nexthop === b.nexthop;
  if (opts.deletedCidr && subnet.gateway_ip) {
    const gone = { destination: opts.deletedCidr, nexthop: subnet.gateway_ip };
    out = out.filter((r) => !same(r, gone));
  }
  for (const peer of all) {
    if (peer.id === subnet.id || peer.segment_id === subnet.segment_id || peer.ip_version !== subnet.ip_version) continue;
    if (opts.oldGateway) {
      const old = { destination: peer.cidr, nexthop: opts.oldGateway };
      out = out.filter((r) => !same(r, old));
    }
    if (!subnet.gateway_ip) continue;
    const peerNet = tryParseCidr(peer.cidr);
    if (!out.some((r) => contains(tryParseCidr(r.destination), peerNet))) out.push({ destination: peer.cidr, nexthop: subnet.gateway_ip });
  }
  return out;
}

const key = (routes: readonly Route[]) => new Set(routes.map((r) => `${r.destination} ${r.nexthop}`));
const differ = (a: readonly Route[], b: readonly Route[]) => {
  const [x, y] = [key(a), key(b)];
  return x.size !== y.size || [...x].some((k) => !y.has(k));
};

async function peersOf(tx: Tx, networkId: string): Promise<PeerSubnet[]> {
  const rows = await tx
    .selectFrom('subnets')
    .select(['id', 'ip_version', 'cidr', 'segment_id', 'gateway_ip'])
    .where('network_id', '=', networkId)
    .execute();
  return rows.map((r) => ({ ...r, ip_version: Number(r.ip_version) }));
}

async function routesOf(tx: Tx, subnetId: string): Promise<Route[]> {
  return tx.selectFrom('subnet_routes').select(['destination', 'nexthop']).where('subnet_id', '=', subnetId).execute();
}

/** The routes a new subnet starts with: its own plus those to the other segments' subnets. */
export async function initialRoutes(tx: Tx, subnet: PeerSubnet & { network_id: string }, routes: readonly Route[]): Promise<Route[]> {
  if (subnet.segment_id === null || !subnet.gateway_ip) return [...routes];
  return withPeerRoutes(subnet, routes, await peersOf(tx, subnet.network_id));
}

/**
 * _update_routed_network_host_routes: brings every subnet of the network up to date (after a
 * subnet was created or deleted, or a gateway moved); returns the subnets it changed.
 */
export async function refreshPeerRoutes(
  tx: Tx,
  networkId: string,
  opts: { deletedCidr?: string; moved?: { id: string; oldGateway: string | null } } = {},
): Promise<string[]> {
  const all = await peersOf(tx, networkId);
  if (!all.some((s) => s.segment_id !== null)) return [];
  const changed: string[] = [];
  for (const s of all) {
    const current = await routesOf(tx, s.id);
    const oldGateway = opts.moved?.id === s.id ? opts.moved.oldGateway : undefined;
    const wanted = withPeerRoutes(s, current, all, { deletedCidr: opts.deletedCidr, oldGateway });
    if (!differ(current, wanted)) continue;
    await tx.deleteFrom('subnet_routes').where('subnet_id', '=', s.id).execute();
    if (wanted.length)
      await tx
        .insertInto('subnet_routes')
        .values(wanted.map((r) => ({ subnet_id: s.id, ...r })))
        .execute();
    await tx
      .updateTable('subnets')
      .set((eb) => ({ revision_number: eb('revision_number', '+', 1), updated_at: nowIso() }))
      .where('id', '=', s.id)
      .execute();
    changed.push(s.id);
  }
  return changed;
}

// external-gateway-multihoming (Neutron's l3_extra_gws_db): a router with several gateway ports
// (network:router_gateway), each on an external network. The first is the router's gw_port_id,
// the one external_gateway_info shows and changes; `external_gateways` lists all, the first
// first. Three member actions, each one transaction under the router's row lock (so two
// concurrent adds on one router run one after the other and the second sees the first's ports):
//   add_external_gateways     a router without a gateway gets the first item as its first gateway
//                             (through the external_gateway_info path), every other item a
//                             further port;
//   update_external_gateways  the list becomes the router's gateways: the first item (matched to
//                             an existing port by network and addresses) becomes the first gateway,
//                             the others are matched, re-addressed, removed or added; [] removes all;
//   remove_external_gateways  the matched ports go; when the first goes, the oldest left takes its place.
import type { RequestContext } from '../../core/context.js';
import { badRequest } from '../../core/errors.js';
import { Events } from '../../core/callbacks.js';
import type { Rec } from '../../core/resource.js';
import { gatewayInfoList } from '../../definitions/router.js';
import type { Reader, Tx } from '../../db/tx.js';
import type { RouterTable } from '../../db/schema.js';
import { canonicalIp } from '../../ipam/index.js';
import { DEVICE_OWNER_ROUTER_GW } from '../../core/wire.js';
import { loadPorts, type L3Context, type PortInfo } from './common.js';
import { gatewayInUseByFloatingIp, unableToAddExtraGateways, unableToMatchGateways, unableToRemoveGateways } from './errors.js';
import { deleteServicePort, l3Transaction } from './port-events.js';
import type { GatewayInfo, RouterHandler } from './routers.js';

type ExtIp = { subnet_id?: string; ip_address?: string };

/** One entry of external_gateways (format_gateway_info). */
export function gatewayInfoOf(p: PortInfo): Rec {
  return {
    network_id: p.network_id,
    external_fixed_ips: p.fixed_ips.map((ip) => ({ ip_address: ip.ip_address, subnet_id: ip.subnet_id })),
  };
}

/** Each router's gateway ports: gw_port_id's first, then the others oldest first. */
export async function gatewayPortsOf(db: Reader, rows: Array<Pick<RouterTable, 'id' | 'gw_port_id'>>): Promise<Map<string, PortInfo[]>> {
  const out = new Map<string, PortInfo[]>();
  if (!rows.length) return out;
  const primary = new Map(rows.map((r) => [r.id, r.gw_port_id]));
  const ids = (
    await db
      .selectFrom('router_ports')
      .select('port_id')
      .where(
        'router_id',
        'in',
        rows.map((r) => r.id),
      )
      .where('port_type', '=', DEVICE_OWNER_ROUTER_GW)
      .execute()
  ).map((r) => r.port_id);
  // loadPorts orders by creation.
  for (const p of await loadPorts(db, ids)) {
    const l = out.get(p.device_id) ?? [];
    if (primary.get(p.device_id) === p.id) l.unshift(p);
    else l.push(p);
    out.set(p.device_id, l);
  }
  return out;
}

interface Matches {
  /** Port id → the info whose addresses are exactly the port's. */
  full: Map<string, GatewayInfo>;
  /** Port id → the info that names it (shares an address, or is the one port on its network). */
  partial: Map<string, GatewayInfo>;
  /** Infos no port answers to. */
  missing: GatewayInfo[];
}

const ipKey = (ip: string) => {
  try {
    return canonicalIp(ip);
  } catch {
    return ip;
  }
};

/** _match_requested_gateway_ports: which existing gateway port each requested info means. */
function matchGateways(routerId: string, ports: PortInfo[], infos: GatewayInfo[], missingIsFatal: boolean): Matches {
  const m: Matches = { full: new Map(), partial: new Map(), missing: [] };
  for (const info of infos) {
    const onNet = ports.filter((p) => p.network_id === info.network_id);
    if (!onNet.length) {
      m.missing.push(info);
      continue;
    }
    const want = info.external_fixed_ips ?? [];
    if (!want.length) {
      if (onNet.length === 1) {
        m.partial.set(onNet[0]!.id, info);
        continue;
      }
      throw unableToMatchGateways(
        routerId,
        `multiple gateway ports are attached to the same network ${info.network_id} but external_fixed_ips parameter is not specified in the request`,
      );
    }
    // A requested address matches a port holding it; a subnet alone, a port with an address on it.
    const matches = (p: PortInfo, w: ExtIp) =>
      w.ip_address !== undefined
        ? p.fixed_ips.some((f) => ipKey(f.ip_address) === ipKey(w.ip_address!))
        : p.fixed_ips.some((f) => f.subnet_id === w.subnet_id);
    const port = onNet.find((p) => want.some((w) => matches(p, w)));
    if (port) {
      m.partial.set(port.id, info);
      if (want.length === port.fixed_ips.length && want.every((w) => matches(port, w))) m.full.set(port.id, info);
      continue;
    }
    if (missingIsFatal) {
      throw unableToMatchGateways(
        routerId,
        `could not match a gateway port attached to network ${info.network_id} based on the specified fixed IPs ${JSON.stringify(want)}`,
      );
    }
    m.missing.push(info);
  }
  return m;
}

/** The body's {"router": {"external_gateways": [...]}}: the validated list, or undefined when not given. */
function requested(raw: unknown): GatewayInfo[] | undefined {
  const r = raw && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Rec).router : undefined;
  if (!r || typeof r !== 'object' || Array.isArray(r)) throw badRequest("Unable to find 'router' in request body");
  if (!('external_gateways' in r)) return undefined;
  return gatewayInfoList((r as Rec).external_gateways, 'external_gateways') as GatewayInfo[];
}

export class RouterGateways {
  constructor(
    private readonly l3: L3Context,
    private readonly routers: RouterHandler,
  ) {}

  /** PUT /routers/{id}/{add,update,remove}_external_gateways: {"router": <the router after>}. */
  async act(ctx: RequestContext, routerId: string, action: string, raw: unknown): Promise<Rec> {
    const infos = requested(raw);
    const out = await l3Transaction(this.l3, async (tx) => {
      const row = await this.routers.lockRouter(tx, routerId);
      if (infos !== undefined) {
        if (action === 'add_external_gateways') await this.add(tx, ctx, row, infos);
        else if (action === 'update_external_gateways') await this.update(tx, ctx, row, infos);
        else await this.remove(tx, ctx, row, infos);
        await tx
          .updateTable('routers')
          .set((eb) => ({ revision_number: eb('revision_number', '+', 1) }))
          .where('id', '=', routerId)
          .execute();
      }
      const now = (await tx.selectFrom('routers').selectAll().where('id', '=', routerId).executeTakeFirst())!;
      return (await this.routers.toDicts(tx, [now]))[0]!;
    });
    if (infos !== undefined) {
      await this.routers.changed(ctx, [routerId]);
      await this.routers.published(ctx, Events.AFTER_UPDATE, null, out);
    }
    return { router: out };
  }

  private async ports(tx: Tx, row: RouterTable): Promise<PortInfo[]> {
    return (await gatewayPortsOf(tx, [row])).get(row.id) ?? [];
  }

  /** _add_external_gateways. */
  private async add(tx: Tx, ctx: RequestContext, row: RouterTable, infos: GatewayInfo[]): Promise<void> {
    if (!infos.length) return;
    let extra = infos;
    if (!(await this.ports(tx, row)).length) {
      // The first becomes the router's gateway as external_gateway_info would make it.
      await this.routers.updateGateway(tx, ctx, row, infos[0]!);
      extra = infos.slice(1);
    }
    for (const info of extra) {
      const extIps = info.external_fixed_ips ?? [];
      await this.routers.checkGatewayNetwork(tx, ctx, info.network_id, extIps);
      if (!row.gw_port_id) throw unableToAddExtraGateways(row.id, 'router does not have a compatibility gateway port');
      await this.routers.createGatewayPort(tx, row, info.network_id, extIps);
    }
  }

  /** _remove_external_gateways. */
  private async remove(tx: Tx, ctx: RequestContext, row: RouterTable, infos: GatewayInfo[]): Promise<void> {
    if (!infos.length) return;
    const ports = await this.ports(tx, row);
    if (!ports.length) throw unableToRemoveGateways(row.id, 'the router does not have any external gateways');
    for (const info of infos) await this.routers.checkGatewayNetwork(tx, ctx, info.network_id, info.external_fixed_ips ?? []);
    const m = matchGateways(row.id, ports, infos, true);
    if (m.missing.length) {
      throw unableToMatchGateways(
        row.id,
        `could not match gateway port IDs for gateway info with networks ${m.missing.map((i) => i.network_id).join(', ')}`,
      );
    }
    const first = row.gw_port_id && m.partial.has(row.gw_port_id);
    for (const id of m.partial.keys()) if (id !== row.gw_port_id) await this.deleteExtra(tx, row.id, id);
    // The first goes as external_gateway_info: {} would take it (its floating IP check included);
    // the oldest left then becomes the first.
    if (first) await this.routers.updateGateway(tx, ctx, row, null);
  }

  /** _update_external_gateways. */
  private async update(tx: Tx, ctx: RequestContext, row: RouterTable, infos: GatewayInfo[]): Promise<void> {
    if (!infos.length) {
      // _remove_all_gateways: the further ones, then the first.
      for (const p of await this.ports(tx, row)) if (p.id !== row.gw_port_id) await this.deleteExtra(tx, row.id, p.id);
      await this.routers.updateGateway(tx, ctx, row, null);
      return;
    }
    for (const info of infos) await this.routers.checkGatewayNetwork(tx, ctx, info.network_id, info.external_fixed_ips ?? []);
    // An existing port answering to the first item becomes the first gateway, then that item is
    // applied as external_gateway_info (new addresses, a new network, enable_snat).
    const head = matchGateways(row.id, await this.ports(tx, row), infos.slice(0, 1), false);
    const headPort = [...head.partial.keys()][0];
    if (headPort && headPort !== row.gw_port_id) {
      await tx.updateTable('routers').set({ gw_port_id: headPort }).where('id', '=', row.id).execute();
      row.gw_port_id = headPort;
    }
    await this.routers.updateGateway(tx, ctx, row, infos[0]!);
    const ports = await this.ports(tx, row);
    const rest = matchGateways(
      row.id,
      ports.filter((p) => p.id !== row.gw_port_id),
      infos.slice(1),
      false,
    );
    for (const [id, info] of rest.partial) {
      const port = ports.find((p) => p.id === id)!;
      if (info.external_fixed_ips?.length && !rest.full.has(id)) await this.routers.changeGatewayIps(tx, port, info.external_fixed_ips);
    }
    for (const p of ports) if (p.id !== row.gw_port_id && !rest.partial.has(p.id)) await this.deleteExtra(tx, row.id, p.id);
    for (const info of rest.missing) await this.routers.createGatewayPort(tx, row, info.network_id, info.external_fixed_ips ?? []);
  }

  /**
   * _delete_extra_gw_port: a further gateway goes unless floating IPs of its network need it
   * and it is the router's last gateway there.
   */
  private async deleteExtra(tx: Tx, routerId: string, portId: string): Promise<void> {
    const port = (await loadPorts(tx, [portId]))[0];
    if (!port) return;
    const ports = (await gatewayPortsOf(tx, [{ id: routerId, gw_port_id: null }])).get(routerId) ?? [];
    const fip = await tx
      .selectFrom('floatingips')
      .select('id')
      .where('router_id', '=', routerId)
      .where('floating_network_id', '=', port.network_id)
      .limit(1)
      .executeTakeFirst();
    const others = ports.filter((p) => p.network_id === port.network_id && p.id !== portId).length;
    if (fip && others < 1) throw gatewayInUseByFloatingIp(routerId, port.network_id);
    await tx.deleteFrom('router_ports').where('port_id', '=', portId).execute();
    await deleteServicePort(this.l3, tx, portId);
  }
}

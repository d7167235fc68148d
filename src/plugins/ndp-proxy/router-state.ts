// enable_ndp_proxy on routers (l3-ext-ndp-proxy), as Neutron's NDP proxy plugin settles it in the
// router's create and update transactions: proxies need a gateway on an external network with an
// IPv6 address scope and an IPv6 subnet (and an IPv6 address on the gateway port); unset on
// create it is [DEFAULT] enable_ndp_proxy_by_default where the gateway allows. A gateway with
// proxies behind it cannot go, nor can the subnets the proxied addresses are on.
import type { Rec } from '../../core/resource.js';
import type { Tx } from '../../db/tx.js';
import { b2i } from '../../db/tx.js';
import { networkAddressScopes } from '../subnetpools/allocation.js';
import { gatewayInUseByNdpProxy, gatewayNotValid, interfaceInUseByNdpProxy, ipv6GatewayInUse } from './errors.js';

const isV6 = (ip: string) => ip.includes(':');

/** _check_ext_gw_network: the network has an IPv6 address scope and an IPv6 subnet. */
export async function externalNetworkSupports(tx: Tx, networkId: string): Promise<boolean> {
  const scope = (await networkAddressScopes(tx, [networkId])).get(networkId)?.[6] ?? null;
  if (!scope) return false;
  const v6 = await tx.selectFrom('subnets').select('id').where('network_id', '=', networkId).where('ip_version', '=', 6).limit(1).executeTakeFirst();
  return !!v6;
}

/** _gateway_is_valid: a gateway port whose network supports proxies and which has an IPv6 address. */
export async function gatewaySupports(tx: Tx, gwPortId: string | null): Promise<boolean> {
  if (!gwPortId) return false;
  const port = await tx.selectFrom('ports').select('network_id').where('id', '=', gwPortId).executeTakeFirst();
  if (!port || !(await externalNetworkSupports(tx, port.network_id))) return false;
  const ips = await tx.selectFrom('ip_allocations').select('ip_address').where('port_id', '=', gwPortId).execute();
  return ips.some((i) => isV6(i.ip_address));
}

const hasProxies = async (tx: Tx, routerId: string) =>
  !!(await tx.selectFrom('ndp_proxies').select('id').where('router_id', '=', routerId).limit(1).executeTakeFirst());

const setState = (tx: Tx, routerId: string, on: boolean) =>
  tx
    .updateTable('routers')
    .set({ enable_ndp_proxy: b2i(on) })
    .where('id', '=', routerId)
    .execute();

export class RouterNdpState {
  constructor(private readonly byDefault: boolean) {}

  async onCreate(tx: Tx, body: Rec): Promise<void> {
    const id = body.id as string;
    const state = typeof body.enable_ndp_proxy === 'boolean' ? body.enable_ndp_proxy : null;
    const gw = body.external_gateway_info as { network_id: string } | null | undefined;
    if (!gw) {
      if (state === true) throw gatewayNotValid(id, 'The request body not contain external gateway information');
      return;
    }
    // Off unless asked for or on by default: nothing to look up (most routers).
    if (state === false || (state === null && !this.byDefault)) return;
    const supports = await externalNetworkSupports(tx, gw.network_id);
    if (!supports && state === true) {
      throw gatewayNotValid(
        id,
        `The external network ${gw.network_id} don't support IPv6 ndp proxy, the network has no IPv6 subnets or has no IPv6 address scope`,
      );
    }
    await setState(tx, id, state === true || (supports && this.byDefault));
  }

  async onUpdate(tx: Tx, routerId: string, body: Rec, gwBefore: string | null): Promise<void> {
    const given = 'enable_ndp_proxy' in body && typeof body.enable_ndp_proxy === 'boolean';
    const gwChanged = 'external_gateway_info' in body;
    if (!given && !gwChanged) return;
    const state = given ? (body.enable_ndp_proxy as boolean) : null;
    const row = await tx.selectFrom('routers').select(['gw_port_id', 'enable_ndp_proxy']).where('id', '=', routerId).executeTakeFirstOrThrow();
    if (gwChanged && !row.gw_port_id) {
      if (gwBefore && (await hasProxies(tx, routerId))) throw gatewayInUseByNdpProxy(routerId);
      if (state === true) throw gatewayNotValid(routerId, "The router's external gateway will be unset");
      await setState(tx, routerId, false);
      return;
    }
    // Off, left unset, and not to be turned on by default: nothing changes.
    if (state === null && !Number(row.enable_ndp_proxy) && (gwBefore || !this.byDefault)) return;
    const supports = await gatewaySupports(tx, row.gw_port_id);
    if (state === true && !supports) {
      throw gatewayNotValid(routerId, 'The router has no external gateway or the external gateway port has no IPv6 address or IPv6 address scope');
    }
    if (state !== null) {
      await setState(tx, routerId, state);
    } else if (Number(row.enable_ndp_proxy) && !supports) {
      // The gateway lost what proxies need (its IPv6 address, another network).
      if (await hasProxies(tx, routerId)) throw ipv6GatewayInUse(routerId);
      await setState(tx, routerId, false);
    } else if (!gwBefore) {
      await setState(tx, routerId, supports && this.byDefault);
    }
  }

  /** _check_router_remove_subnet_request: no proxied address is on the subnet. */
  async beforeRemoveInterface(tx: Tx, routerId: string, subnetId: string): Promise<void> {
    const used = await tx
      .selectFrom('ndp_proxies')
      .innerJoin('ip_allocations', (j) =>
        j.onRef('ip_allocations.port_id', '=', 'ndp_proxies.port_id').onRef('ip_allocations.ip_address', '=', 'ndp_proxies.ip_address'),
      )
      .select('ndp_proxies.id')
      .where('ndp_proxies.router_id', '=', routerId)
      .where('ip_allocations.subnet_id', '=', subnetId)
      .limit(1)
      .executeTakeFirst();
    if (used) throw interfaceInUseByNdpProxy(routerId, subnetId);
  }
}

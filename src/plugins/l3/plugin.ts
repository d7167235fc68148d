// The L3 service plugin: routers and floating IPs, and its hooks into the core plugin — router
// and floating IP ports may not be deleted through the port API, deleting a port drops its
// floating IP associations, and deleting a network first deletes its unassociated floating IPs.
import type { RequestContext } from '../../core/context.js';
import type { ResourceHandler } from '../../core/resource.js';
import type { Tx } from '../../db/tx.js';
import type { Ml2Context } from '../ml2/context.js';
import type { PortHandler } from '../ml2/ports.js';
import { SubnetHandler } from '../ml2/subnets.js';
import { ROUTER_DEVICE_OWNERS, defaultL3Settings, type L3Context, type L3Settings } from './common.js';
import { servicePortInUse } from './errors.js';
import { FloatingIpHandler } from './floatingips.js';
import { RouterHandler } from './routers.js';
import type { ServicePortListener } from './port-events.js';
import { l3RpcHandlers, type L3RpcDeps } from './rpc.js';
import type { RpcHandlers } from '../../rpc/index.js';
import { DEVICE_OWNER_FLOATINGIP } from '../../core/wire.js';

export class L3Plugin {
  readonly routers: RouterHandler;
  readonly floatingips: FloatingIpHandler;
  private readonly l3: L3Context;

  constructor(m: Ml2Context, ports: PortHandler, settings: Partial<L3Settings> = {}) {
    this.l3 = { m, ports, subnets: new SubnetHandler(m), settings: { ...defaultL3Settings(), ...settings }, portListeners: [] };
    this.routers = new RouterHandler(this.l3);
    this.floatingips = new FloatingIpHandler(this.l3);
    ports.deleteGuards.push((tx, port) => this.beforePortDelete(tx, port));
  }

  /** The L3 agents' RPC methods (topic L3_PLUGIN_TOPIC), served from this plugin's data. */
  rpcHandlers(opts: Pick<L3RpcDeps, 'routerIdsForHost'> = {}): RpcHandlers {
    return l3RpcHandlers({ db: this.l3.m.db, routers: this.routers, floatingips: this.floatingips, ports: this.l3.ports, ...opts });
  }

  /** Who hears, after commit, about the ports routers and floating IPs create, change and delete. */
  addPortListener(l: ServicePortListener): void {
    this.l3.portListeners.push(l);
  }

  /**
   * prevent_l3_port_deletion, then disassociate_floatingips: a router's or floating IP's port
   * with addresses whose owner still exists is refused; a port's floating IPs let go of it.
   */
  private async beforePortDelete(tx: Tx, port: { id: string; device_id: string; device_owner: string }): Promise<void> {
    if (ROUTER_DEVICE_OWNERS.includes(port.device_owner)) {
      const hasIps = await tx.selectFrom('ip_allocations').select('port_id').where('port_id', '=', port.id).limit(1).executeTakeFirst();
      const owner = !hasIps
        ? undefined
        : port.device_owner === DEVICE_OWNER_FLOATINGIP
          ? await tx.selectFrom('floatingips').select('id').where('id', '=', port.device_id).executeTakeFirst()
          : await tx.selectFrom('routers').select('id').where('id', '=', port.device_id).executeTakeFirst();
      if (owner) throw servicePortInUse(port.id, `has device owner ${port.device_owner}`);
    }
    await this.floatingips.disassociatePort(tx, port.id);
  }

  /** The network handler, with Neutron's _process_l3_delete before each delete. */
  withNetworkCleanup<H extends ResourceHandler>(networks: H): H {
    const del = async (ctx: RequestContext, id: string, expectRevision?: number): Promise<void> => {
      await this.floatingips.deleteDisassociated(id);
      await networks.delete(ctx, id, expectRevision);
    };
    return new Proxy(networks, {
      get(target, prop, receiver) {
        if (prop === 'delete') return del;
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  }
}

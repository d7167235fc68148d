// The server telling DHCP agents about changes (Neutron's DhcpAgentNotifyAPI): after a network,
// subnet or port write has committed, cast <resource>_<action>_end to topic 'dhcp_agent' on the
// host of every DHCP agent bound to the network. A network that needs DHCP and has no agent yet
// is scheduled first, and its new agents get network_create_end (they then fetch it whole).
//
// The handlers are wrapped (withDhcpNotifications) rather than edited: their create/update/delete
// return once the transaction has committed, which is exactly when agents may be told.
import type { RequestContext } from '../../core/context.js';
import { adminContext } from '../../core/context.js';
import type { Rec, ResourceHandler } from '../../core/resource.js';
import type { Db } from '../../db/connection.js';
import { newRpcContext, toRpcContext, type RpcBus, type RpcContext, type RpcLogger } from '../../rpc/index.js';
import { silentLogger } from '../../rpc/index.js';
import { agentsHosting, dhcpAgentsFor, isAlive, scheduleNetwork, unbindNetwork, type DhcpAgentRow, type SchedulerOptions } from './scheduler.js';
import { overrideHandler } from '../common/override-handler.js';
import { DEVICE_ID_RESERVED_DHCP_PORT, DHCP_AGENT_TOPIC } from '../../core/wire.js';

export type DhcpResource = 'network' | 'subnet' | 'port';

/**
 * Events after which a network without a DHCP agent gets one (Neutron schedules on these only:
 * not on updates, so that a network an administrator took from its agent stays unhosted).
 */
const SCHEDULING_EVENTS = new Set(['subnet_create_end', 'port_create_end']);

/** A DHCP port kept when its network was taken from an agent does not ask for scheduling. */
const isReservedDhcpPort = (payload: Rec) => ((payload.port as Rec | undefined)?.device_id) === DEVICE_ID_RESERVED_DHCP_PORT;

export class DhcpAgentNotifier {
  private readonly pending = new Set<Promise<void>>();
  private readonly log: RpcLogger;

  constructor(private readonly bus: RpcBus, private readonly db: Db, private readonly o: SchedulerOptions & { logger?: RpcLogger }) {
    this.log = o.logger ?? silentLogger;
  }

  /**
   * Sends the event to the network's DHCP agents in the background (an API request does not wait
   * for the broker); the order of events of one process is kept. `settled()` waits for them.
   */
  notify(ctx: RpcContext | null, method: string, payload: Rec, networkId: string): void {
    const p = this.send(ctx ?? newRpcContext(), method, payload, networkId).catch((err: unknown) => {
      this.log.warn({ method, networkId, err: (err as Error).message }, 'DHCP agent notification failed');
    });
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /** Resolves when every notification sent so far has been handed to the transport. */
  async settled(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  private async send(ctx: RpcContext, method: string, payload: Rec, networkId: string, agents?: DhcpAgentRow[]): Promise<void> {
    let targets = agents;
    let schedulable = false;
    if (!targets) {
      // One query for the network's agents and whether any other could take it.
      const all = await dhcpAgentsFor(this.db, networkId);
      targets = all.filter((a) => a.bound);
      schedulable = all.some((a) => !a.bound && a.admin_state_up && isAlive(a, this.o));
    }
    if (!agents && schedulable && SCHEDULING_EVENTS.has(method) && !isReservedDhcpPort(payload.payload as Rec ?? {})
      && !targets.some((a) => isAlive(a, this.o) && a.admin_state_up)) {
      const added = await scheduleNetwork(this.db, networkId, this.o);
      for (const a of added) await this.cast(ctx, a, 'network_create_end', { payload: { network: { id: networkId } } });
      targets = targets.concat(added);
    }
    // Neutron also skips agents that are down or disabled: they resync when they come back.
    for (const a of targets) if (a.admin_state_up && isAlive(a, this.o)) await this.cast(ctx, a, method, payload);
  }

  private async cast(ctx: RpcContext, agent: DhcpAgentRow, method: string, args: Rec): Promise<void> {
    await this.bus.cast({ topic: DHCP_AGENT_TOPIC, server: agent.host }, method, args, { context: ctx });
  }

  /** network_delete_end to the agents that hosted it (looked up before the delete), then unbind. */
  networkDeleted(ctx: RpcContext | null, networkId: string, agents: DhcpAgentRow[]): void {
    const c = ctx ?? newRpcContext();
    const p = (async () => {
      await unbindNetwork(this.db, networkId);
      await this.send(c, 'network_delete_end', { payload: { network_id: networkId } }, networkId, agents);
    })().catch((err: unknown) => this.log.warn({ networkId, err: (err as Error).message }, 'DHCP agent notification failed'));
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /** Neutron's network_added_to_agent: the agent starts serving the network (it fetches it whole). */
  networkAddedToAgent(ctx: RpcContext | null, networkId: string, host: string): void {
    this.castInBackground(ctx, host, 'network_create_end', { payload: { network: { id: networkId } } }, networkId);
  }

  /** Neutron's network_removed_from_agent: the agent stops serving the network. */
  networkRemovedFromAgent(ctx: RpcContext | null, networkId: string, host: string): void {
    this.castInBackground(ctx, host, 'network_delete_end', { payload: { network_id: networkId } }, networkId);
  }

  private castInBackground(ctx: RpcContext | null, host: string, method: string, args: Rec, networkId: string): void {
    const p = this.bus.cast({ topic: DHCP_AGENT_TOPIC, server: host }, method, args, { context: ctx ?? newRpcContext() })
      .catch((err: unknown) => this.log.warn({ method, networkId, host, err: (err as Error).message }, 'DHCP agent notification failed'));
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  agentsHosting(networkId: string): Promise<DhcpAgentRow[]> {
    return agentsHosting(this.db, networkId);
  }
}

/**
 * The DHCP side of the ports the L3 plugin writes in its own transactions (router gateways and
 * interfaces, floating IP ports), so that agents' host files include them as Neutron's do: a new
 * port is port_create_end, and so is a port that becomes a router interface (Neutron's
 * ROUTER_INTERFACE after-create callback); a changed one port_update_end; a deleted one
 * port_delete_end.
 */
export function dhcpServicePortEvents(n: DhcpAgentNotifier) {
  return {
    created(port: Rec): void {
      n.notify(null, 'port_create_end', { payload: { port } }, port.network_id as string);
    },
    updated(_before: Rec, after: Rec, asInterface: boolean): void {
      n.notify(null, asInterface ? 'port_create_end' : 'port_update_end', { payload: { port: after } }, after.network_id as string);
    },
    deleted(before: Rec): void {
      const payload = { port_id: before.id, network_id: before.network_id, fixed_ips: before.fixed_ips ?? [] };
      n.notify(null, 'port_delete_end', { payload }, before.network_id as string);
    },
  };
}

function rpcCtx(ctx: RequestContext): RpcContext {
  return toRpcContext(ctx);
}

/**
 * The handler, with DHCP agent notifications after each successful write. Everything else
 * (reads, def, parent checks) goes to the handler itself.
 */
export function withDhcpNotifications<H extends ResourceHandler>(resource: DhcpResource, handler: H, n: DhcpAgentNotifier): H {
  const admin = adminContext('req-dhcp-notifier');
  const create = async (ctx: RequestContext, bodies: Rec[]): Promise<Rec[]> => {
    const out = await handler.create(ctx, bodies);
    for (const item of out) {
      const networkId = resource === 'network' ? (item.id as string) : (item.network_id as string);
      n.notify(rpcCtx(ctx), `${resource}_create_end`, { payload: { [resource]: item } }, networkId);
    }
    return out;
  };
  const update = async (ctx: RequestContext, id: string, body: Rec, expectRevision?: number): Promise<Rec> => {
    const item = await handler.update(ctx, id, body, expectRevision);
    const networkId = resource === 'network' ? id : (item.network_id as string);
    n.notify(rpcCtx(ctx), `${resource}_update_end`, { payload: { [resource]: item } }, networkId);
    return item;
  };
  const del = async (ctx: RequestContext, id: string, expectRevision?: number): Promise<void> => {
    if (resource === 'network') {
      const agents = await n.agentsHosting(id);
      await handler.delete(ctx, id, expectRevision);
      n.networkDeleted(rpcCtx(ctx), id, agents);
      return;
    }
    // A handler that reads the port before deleting it anyway (Ml2PortHandler) hands it over.
    const withBefore = (handler as { deleteReturningBefore?: (c: RequestContext, i: string, r?: number) => Promise<Rec | null> }).deleteReturningBefore;
    let before: Rec | null;
    if (typeof withBefore === 'function') {
      before = await withBefore.call(handler, ctx, id, expectRevision);
    } else {
      before = await handler.get(admin, id);
      await handler.delete(ctx, id, expectRevision);
    }
    if (!before) return;
    const networkId = before.network_id as string;
    const payload: Rec = resource === 'subnet'
      ? { subnet_id: id, network_id: networkId }
      : { port_id: id, network_id: networkId, fixed_ips: before.fixed_ips ?? [] };
    n.notify(rpcCtx(ctx), `${resource}_delete_end`, { payload }, networkId);
  };
  return overrideHandler(handler, { create, update, delete: del });
}

// The server telling DHCP agents about changes (Neutron's DhcpAgentNotifyAPI): after a network,
// subnet or port write has committed, cast <resource>_<action>_end to topic 'dhcp_agent' on the
// host of every DHCP agent bound to the network. A network that needs DHCP and has no agent yet
// is scheduled first, and its new agents get network_create_end (they then fetch it whole).
// The notifier hears of the writes through the callbacks registry (subscribeDhcpNotifier).
import pLimit from 'p-limit';
import { Events, type CallbackRegistry, type EventPayload } from '../../core/callbacks.js';
import type { Rec } from '../../core/resource.js';
import type { Db } from '../../db/connection.js';
import { newRpcContext, toRpcContext, type RpcBus, type RpcContext, type RpcLogger } from '../../rpc/index.js';
import { silentLogger } from '../../rpc/index.js';
import { agentsHosting, dhcpAgentsFor, isAlive, scheduleNetwork, unbindNetwork, type DhcpAgentRow, type SchedulerOptions } from './scheduler.js';
import { DEVICE_ID_RESERVED_DHCP_PORT, DHCP_AGENT_TOPIC } from '../../core/wire.js';

/**
 * Events after which a network without a DHCP agent gets one (Neutron schedules on these only:
 * not on updates, so that a network an administrator took from its agent stays unhosted).
 */
const SCHEDULING_EVENTS = new Set(['subnet_create_end', 'port_create_end']);

/** A DHCP port kept when its network was taken from an agent does not ask for scheduling. */
const isReservedDhcpPort = (payload: Rec) => (payload.port as Rec | undefined)?.device_id === DEVICE_ID_RESERVED_DHCP_PORT;

/**
 * Notifications sent at once. Each reads the network's agents: a bulk create of 1,000 networks
 * would otherwise queue 1,000 reads ahead of every API request on the connection pool.
 */
const SEND_CONCURRENCY = 2;

export class DhcpAgentNotifier {
  private readonly pending = new Set<Promise<void>>();
  private readonly limit = pLimit(SEND_CONCURRENCY);
  private readonly log: RpcLogger;

  constructor(
    private readonly bus: RpcBus,
    private readonly db: Db,
    private readonly o: SchedulerOptions & { logger?: RpcLogger },
  ) {
    this.log = o.logger ?? silentLogger;
  }

  /**
   * Sends the event to the network's DHCP agents in the background (an API request does not wait
   * for the broker); the order of events of one process is kept. `settled()` waits for them.
   */
  notify(ctx: RpcContext | null, method: string, payload: Rec, networkId: string): void {
    const p = this.limit(() => this.send(ctx ?? newRpcContext(), method, payload, networkId)).catch((err: unknown) => {
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
    if (
      !agents &&
      schedulable &&
      SCHEDULING_EVENTS.has(method) &&
      !isReservedDhcpPort((payload.payload as Rec) ?? {}) &&
      !targets.some((a) => isAlive(a, this.o) && a.admin_state_up)
    ) {
      const added = await scheduleNetwork(this.db, networkId, this.o);
      for (const a of added) await this.cast(ctx, a, 'network_create_end', { payload: { network: { id: networkId } } });
      // Read again: another process may have scheduled the network since our read (two API
      // workers' first ports on it), and then nothing was added here, yet its agents need this event.
      targets = await agentsHosting(this.db, networkId);
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
    const p = this.bus
      .cast({ topic: DHCP_AGENT_TOPIC, server: host }, method, args, { context: ctx ?? newRpcContext() })
      .catch((err: unknown) => this.log.warn({ method, networkId, host, err: (err as Error).message }, 'DHCP agent notification failed'));
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  agentsHosting(networkId: string): Promise<DhcpAgentRow[]> {
    return agentsHosting(this.db, networkId);
  }
}

/** The admin view of a port or subnet as its delete event carries it. */
const deletePayload = (resource: 'subnet' | 'port', b: Rec): Rec =>
  resource === 'subnet' ? { subnet_id: b.id, network_id: b.network_id } : { port_id: b.id, network_id: b.network_id, fixed_ips: b.fixed_ips ?? [] };

/**
 * The DHCP agents hear of every committed network, subnet and port change, whether it came
 * through the API or from a service plugin (router and floating IP ports, whose events carry no
 * caller): `<resource>_<action>_end`. A port that became a router interface
 * (metadata.asInterface) is announced as a creation, as Neutron's ROUTER_INTERFACE callback does.
 */
export function subscribeDhcpNotifier(callbacks: CallbackRegistry, n: DhcpAgentNotifier): void {
  const ctxOf = (p: EventPayload) => (p.context ? toRpcContext(p.context) : null);
  const networkOf = (resource: string, d: Rec) => (resource === 'network' ? (d.id as string) : (d.network_id as string));
  const opts = { name: 'dhcp-agent-notifier' };
  for (const resource of ['network', 'subnet', 'port'] as const) {
    callbacks.subscribe(
      resource,
      Events.AFTER_CREATE,
      (p: EventPayload) => {
        n.notify(ctxOf(p), `${resource}_create_end`, { payload: { [resource]: p.after } }, networkOf(resource, p.after!));
      },
      opts,
    );
    callbacks.subscribe(
      resource,
      Events.AFTER_UPDATE,
      (p: EventPayload) => {
        const method = p.metadata?.asInterface ? `${resource}_create_end` : `${resource}_update_end`;
        n.notify(ctxOf(p), method, { payload: { [resource]: p.after } }, networkOf(resource, p.after!));
      },
      opts,
    );
  }
  for (const resource of ['subnet', 'port'] as const) {
    callbacks.subscribe(
      resource,
      Events.AFTER_DELETE,
      (p: EventPayload) => {
        n.notify(ctxOf(p), `${resource}_delete_end`, { payload: deletePayload(resource, p.before!) }, p.before!.network_id as string);
      },
      opts,
    );
  }
  // The network's agents are looked up before the delete, which drops its agent bindings.
  callbacks.subscribe(
    'network',
    Events.BEFORE_DELETE,
    async (p: EventPayload) => {
      p.metadata = { ...p.metadata, dhcpAgents: await n.agentsHosting(p.resourceId) };
    },
    opts,
  );
  callbacks.subscribe(
    'network',
    Events.AFTER_DELETE,
    (p: EventPayload) => {
      n.networkDeleted(ctxOf(p), p.resourceId, (p.metadata?.dhcpAgents as DhcpAgentRow[] | undefined) ?? []);
    },
    opts,
  );
}

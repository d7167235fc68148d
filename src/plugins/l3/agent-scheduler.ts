// L3 agent scheduling (Neutron's L3AgentSchedulerDbMixin with the AZLeastRoutersScheduler, legacy
// routers only): which L3 agent hosts which router, in routerl3agentbindings. A router is
// scheduled when it changes (created with a gateway, updated, an interface added or removed) and
// no enabled agent hosts it yet: to the alive, enabled L3 agent with the fewest routers among
// those its availability zone hints allow. Its binding has binding_index 1, unique per router, so
// concurrent schedulers bind it once. Administrators add and remove bindings by hand through the
// l3_agent_scheduler API. Agents hear of it on topic l3_agent (routers_updated,
// router_added_to_agent, router_removed_from_agent, router_deleted), after commit.
import type { RequestContext } from '../../core/context.js';
import type { Db } from '../../db/connection.js';
import { isDuplicateKey } from '../../db/connection.js';
import { inTransaction } from '../../db/tx.js';
import { newRpcContext, silentLogger, toRpcContext, type RpcBus, type RpcContext, type RpcLogger } from '../../rpc/index.js';
import { isoAt } from '../agents/agents.js';
import { effectiveHints, parseHints } from '../agents/availability-zones.js';
import { agentOrNotFound, hostedBy } from '../common/agent-hosting.js';
import { dvrL3CannotAssignToDvrAgent, dvrL3CannotRemoveFromDvrAgent, invalidL3Agent, routerHostedByL3Agent, routerNotFound } from './errors.js';
import { AGENT_TYPE_L3, L3_AGENT_TOPIC } from '../../core/wire.js';
import type { RouterHa } from './ha.js';

export { AGENT_TYPE_L3 };
/** L3 agents on compute hosts (DVR) are never given legacy routers. */
const DVR_ONLY_MODES = new Set(['dvr', 'dvr_no_external']);

export interface L3SchedulerOptions {
  /** [DEFAULT] agent_down_time, seconds. */
  agentDownTime: number;
  /** [DEFAULT] router_auto_schedule. */
  routerAutoSchedule: boolean;
  /** [DEFAULT] default_availability_zones: the hints of routers that have none. */
  defaultAvailabilityZones: readonly string[];
  now?: () => number;
  logger?: RpcLogger;
}

interface L3AgentRow {
  id: string;
  agent_type: string;
  host: string;
  admin_state_up: number;
  heartbeat_timestamp: string;
  availability_zone: string | null;
  configurations: string;
}

interface RouterInfo {
  id: string;
  hasGateway: boolean;
  hints: string[];
  ha: boolean;
}

const AGENT_COLS = ['id', 'agent_type', 'host', 'admin_state_up', 'heartbeat_timestamp', 'availability_zone', 'configurations'] as const;

function agentConfig(a: L3AgentRow): Record<string, unknown> {
  try {
    return JSON.parse(a.configurations) as Record<string, unknown>;
  } catch {
    return {};
  }
}

const agentMode = (a: L3AgentRow) => String(agentConfig(a).agent_mode ?? 'legacy');

export class L3AgentScheduler {
  private readonly pending = new Set<Promise<void>>();
  private readonly log: RpcLogger;
  /** HA routers (l3-ha), when served. */
  ha: RouterHa | null = null;

  constructor(
    private readonly db: Db,
    private readonly o: L3SchedulerOptions,
    private readonly bus: RpcBus | null = null,
  ) {
    this.log = o.logger ?? silentLogger;
  }

  private cutoff(): string {
    return isoAt((this.o.now ?? Date.now)() - this.o.agentDownTime * 1000);
  }

  private isAlive(a: L3AgentRow): boolean {
    return a.heartbeat_timestamp >= this.cutoff();
  }

  private async router(id: string): Promise<RouterInfo | null> {
    const r = await this.db.kysely
      .selectFrom('routers')
      .select(['id', 'gw_port_id', 'availability_zone_hints', 'ha'])
      .where('id', '=', id)
      .executeTakeFirst();
    return r ? { id: r.id, hasGateway: !!r.gw_port_id, hints: parseHints(r.availability_zone_hints), ha: Number(r.ha) === 1 } : null;
  }

  /** get_l3_agent_candidates for one agent: its mode, router_id and internal-only options. */
  private canHost(a: L3AgentRow, r: RouterInfo, ignoreAdminState: boolean): boolean {
    if (!ignoreAdminState && Number(a.admin_state_up) !== 1) return false;
    const conf = agentConfig(a);
    if (DVR_ONLY_MODES.has(agentMode(a))) return false;
    const only = conf.router_id;
    if (typeof only === 'string' && only && only !== r.id) return false;
    if (!r.hasGateway && conf.handle_internal_only_routers === false) return false;
    return true;
  }

  /** The agents bound to the routers (alive or not). */
  private async hosting(routerIds: string[]): Promise<Array<L3AgentRow & { router_id: string }>> {
    if (!routerIds.length) return [];
    return this.db.kysely
      .selectFrom('routerl3agentbindings as b')
      .innerJoin('agents as a', 'a.id', 'b.l3_agent_id')
      .select(AGENT_COLS.map((c) => `a.${c}` as const))
      .select('b.router_id')
      .where('b.router_id', 'in', routerIds)
      .execute();
  }

  /**
   * Binds the router to the least loaded candidate unless an enabled agent hosts it already.
   * Returns the agent chosen, or null (hosted already, no candidate, or a concurrent scheduler won).
   */
  async scheduleRouter(routerId: string): Promise<L3AgentRow | null> {
    const r = await this.router(routerId);
    if (!r) return null;
    if (r.ha && this.ha) return (await this.scheduleHaRouter(r))[0] ?? null;
    if ((await this.hosting([routerId])).some((a) => Number(a.admin_state_up) === 1)) return null;
    const candidates = await this.candidates(r);
    if (!candidates.length) return null;
    const chosen = candidates[0]!;
    return (await this.bind(routerId, chosen.id)) ? chosen : null;
  }

  /** An HA router: to as many more candidates as it lacks agents (max_l3_agents_per_router). */
  private async scheduleHaRouter(r: RouterInfo): Promise<L3AgentRow[]> {
    const ha = this.ha!;
    const missing = await ha.missingAgents(r.id);
    if (!missing) return [];
    const hosting = new Set((await this.hosting([r.id])).map((a) => a.id));
    const candidates = (await this.candidates(r)).filter((a) => !hosting.has(a.id)).slice(0, missing);
    const bound = new Set((await ha.bindAgents(r.id, candidates)).map((a) => a.id));
    return candidates.filter((a) => bound.has(a.id));
  }

  /** The alive, enabled agents that may host the router, least loaded first. */
  private async candidates(r: RouterInfo): Promise<L3AgentRow[]> {
    const hints = effectiveHints(r.hints, this.o.defaultAvailabilityZones);
    const agents = await this.db.kysely
      .selectFrom('agents')
      .select([...AGENT_COLS])
      .where('agent_type', '=', AGENT_TYPE_L3)
      .where('admin_state_up', '=', 1)
      .where('heartbeat_timestamp', '>=', this.cutoff())
      .execute();
    const candidates = agents.filter(
      (a) => this.canHost(a, r, false) && (!hints.length || (a.availability_zone !== null && hints.includes(a.availability_zone))),
    );
    if (!candidates.length) return [];
    const loads = new Map<string, number>();
    const counts = await this.db.kysely
      .selectFrom('routerl3agentbindings')
      .select('l3_agent_id')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where(
        'l3_agent_id',
        'in',
        candidates.map((a) => a.id),
      )
      .groupBy('l3_agent_id')
      .execute();
    for (const c of counts) loads.set(c.l3_agent_id, Number(c.n));
    candidates.sort((x, y) => (loads.get(x.id) ?? 0) - (loads.get(y.id) ?? 0) || x.host.localeCompare(y.host));
    return candidates;
  }

  /** One binding row; false when the router has one already or is gone (concurrent writers). */
  private async bind(routerId: string, agentId: string): Promise<boolean> {
    try {
      await inTransaction(this.db, async (tx) => {
        const router = await tx.selectFrom('routers').select('id').where('id', '=', routerId).executeTakeFirst();
        if (!router) throw routerNotFound(routerId);
        await tx.insertInto('routerl3agentbindings').values({ router_id: routerId, l3_agent_id: agentId, binding_index: 1 }).execute();
      });
      return true;
    } catch (err) {
      if (isDuplicateKey(err) || (err as { status?: number }).status === 404 || isForeignKeyError(err)) return false;
      throw err;
    }
  }

  /**
   * After a router changed: schedule it when it needs an agent ([DEFAULT] router_auto_schedule),
   * then tell its alive, enabled agents (Neutron's routers_updated). Failures are logged: the
   * change itself has committed.
   */
  async routersUpdated(ctx: RequestContext | null, routerIds: string[]): Promise<void> {
    try {
      if (this.o.routerAutoSchedule) for (const id of routerIds) await this.scheduleRouter(id);
      if (!this.bus) return;
      const rpcCtx = ctx ? toRpcContext(ctx) : newRpcContext();
      for (const a of await this.hosting(routerIds)) {
        if (Number(a.admin_state_up) === 1 && this.isAlive(a)) this.cast(rpcCtx, a.host, 'routers_updated', { routers: [a.router_id] });
      }
    } catch (err) {
      this.log.warn({ routerIds, err: (err as Error).message }, 'L3 agent scheduling failed');
    }
  }

  /** router_deleted to every L3 agent (the router's bindings went with it). */
  routerDeleted(ctx: RequestContext | null, routerId: string): void {
    if (!this.bus) return;
    const bus = this.bus;
    this.track(
      bus.fanout(L3_AGENT_TOPIC, 'router_deleted', { router_id: routerId }, { context: ctx ? toRpcContext(ctx) : newRpcContext() }),
      'router_deleted',
    );
  }

  private cast(ctx: RpcContext, host: string, method: string, args: Record<string, unknown>): void {
    if (!this.bus) return;
    this.track(this.bus.cast({ topic: L3_AGENT_TOPIC, server: host }, method, args, { context: ctx }), method);
  }

  private track(p: Promise<void>, method: string): void {
    const q = p.catch((err: unknown) => this.log.warn({ method, err: (err as Error).message }, 'L3 agent notification failed'));
    this.pending.add(q);
    void q.finally(() => this.pending.delete(q));
  }

  /** Resolves when every notification sent so far has been handed to the transport. */
  async settled(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  // ---- the l3_agent_scheduler API ----------------------------------------------------------

  /** The ids of the routers the agent hosts; AgentNotFound when it hosts none and does not exist. */
  async routersOnAgent(agentId: string): Promise<string[]> {
    const rows = await this.db.kysely.selectFrom('routerl3agentbindings').select('router_id').where('l3_agent_id', '=', agentId).execute();
    return hostedBy(
      this.db.kysely,
      agentId,
      rows.map((r) => r.router_id),
    );
  }

  /**
   * The routers an L3 agent on `host` should serve (its sync_routers): first, as Neutron's
   * auto_schedule_routers, routers no agent hosts yet are scheduled (to whichever candidate is least
   * loaded, not necessarily this host), then the routers bound to this host's L3 agent.
   */
  async routersOnHost(host: string): Promise<string[]> {
    if (this.o.routerAutoSchedule) {
      const unhosted = await this.db.kysely
        .selectFrom('routers')
        .select('id')
        .where(({ not, exists, selectFrom }) =>
          not(exists(selectFrom('routerl3agentbindings as b').select('b.router_id').whereRef('b.router_id', '=', 'routers.id'))),
        )
        .execute();
      for (const r of unhosted) await this.scheduleRouter(r.id);
      // HA routers on fewer agents than they should be (an agent came since): add agents.
      if (this.ha) {
        const ha = await this.db.kysely
          .selectFrom('routers')
          .select('id')
          .where('ha', '=', 1)
          .where(
            (eb) =>
              eb
                .selectFrom('routerl3agentbindings as b')
                .select((x) => x.fn.countAll<number>().as('n'))
                .whereRef('b.router_id', '=', 'routers.id'),
            '<',
            this.ha.settings.maxAgents,
          )
          .execute();
        for (const r of ha) await this.scheduleRouter(r.id);
      }
    }
    const rows = await this.db.kysely
      .selectFrom('routerl3agentbindings as b')
      .innerJoin('agents as a', 'a.id', 'b.l3_agent_id')
      .select('b.router_id')
      .where('a.host', '=', host)
      .where('a.agent_type', '=', AGENT_TYPE_L3)
      .execute();
    return rows.map((r) => r.router_id);
  }

  /** The ids of the agents hosting the router (none for an unknown router, as Neutron). */
  async agentsHostingRouter(routerId: string): Promise<string[]> {
    const rows = await this.db.kysely.selectFrom('routerl3agentbindings').select('l3_agent_id').where('router_id', '=', routerId).execute();
    return rows.map((r) => r.l3_agent_id);
  }

  /**
   * add_router_to_l3_agent: the router is bound to this agent (nothing to do when it is already),
   * or 409 when another agent hosts it.
   */
  async addRouterToAgent(ctx: RequestContext, agentId: string, routerId: string): Promise<void> {
    const r = await this.router(routerId);
    if (!r) throw routerNotFound(routerId);
    const a = await agentOrNotFound(this.db.kysely, agentId);
    if (a.agent_type !== AGENT_TYPE_L3) throw invalidL3Agent(agentId);
    if (DVR_ONLY_MODES.has(agentMode(a))) throw dvrL3CannotAssignToDvrAgent();
    if (Number(a.admin_state_up) !== 1 || !this.canHost(a, r, true)) throw invalidL3Agent(agentId);
    const current = await this.agentsHostingRouter(routerId);
    if (current.includes(agentId)) return;
    if (r.ha && this.ha) {
      // An HA router takes one more agent (with its HA port) while it has fewer than the maximum.
      if (!(await this.ha.bindAgents(routerId, [a])).length) throw routerHostedByL3Agent(routerId, current[0] ?? agentId);
      this.cast(toRpcContext(ctx), a.host, 'router_added_to_agent', { payload: [routerId] });
      return;
    }
    if (current.length) throw routerHostedByL3Agent(routerId, current[0]!);
    if (!(await this.bind(routerId, agentId))) {
      // Bound meanwhile: by this request's twin (fine) or to another agent (409).
      const now = await this.agentsHostingRouter(routerId);
      if (!now.length) throw routerNotFound(routerId);
      if (!now.includes(agentId)) throw routerHostedByL3Agent(routerId, now[0]!);
      return;
    }
    this.cast(toRpcContext(ctx), a.host, 'router_added_to_agent', { payload: [routerId] });
  }

  /** remove_router_from_l3_agent: unbinding a router the agent does not host is no error (Neutron). */
  async removeRouterFromAgent(ctx: RequestContext, agentId: string, routerId: string): Promise<void> {
    const a = await agentOrNotFound(this.db.kysely, agentId);
    if (DVR_ONLY_MODES.has(agentMode(a))) throw dvrL3CannotRemoveFromDvrAgent();
    await this.ha?.removeAgent(routerId, agentId);
    await this.db.kysely.deleteFrom('routerl3agentbindings').where('router_id', '=', routerId).where('l3_agent_id', '=', agentId).execute();
    if (!(await this.router(routerId))) throw routerNotFound(routerId);
    this.cast(toRpcContext(ctx), a.host, 'router_removed_from_agent', { payload: { router_id: routerId } });
  }
}

/** A foreign key refused the row (its router or agent was deleted meanwhile). */
function isForeignKeyError(err: unknown): boolean {
  const e = err as { code?: string; errno?: number };
  return e?.code === '23503' || e?.code === 'SQLITE_CONSTRAINT_FOREIGNKEY' || e?.errno === 1452;
}

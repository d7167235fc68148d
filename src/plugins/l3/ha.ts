// HA routers (Neutron's l3_hamode_db with the L3 HA scheduler): a router with `ha` runs on up to
// [DEFAULT] max_l3_agents_per_router L3 agents, keepalived (VRRP) choosing the active one.
//   - each project has one HA network ("HA network tenant <project>", subnet l3_ha_net_cidr,
//     no DHCP, no gateway, owned by no project), made with its first HA router and deleted with
//     its last;
//   - each HA router has a VRRP id (1..254) unique on its HA network (the primary key of
//     ha_router_vrid_allocations decides between concurrent routers);
//   - per L3 agent hosting it, an HA port (device_owner network:router_ha_interface, bound to
//     the agent's host) and a binding with the state the agent reports (update_ha_routers_states);
//     the router's gateway and interface ports are bound to the host where it is active.
import { randomUUID } from 'node:crypto';
import { adminContext } from '../../core/context.js';
import type { Rec } from '../../core/resource.js';
import type { ResourceDef } from '../../core/definition.js';
import type { ApiRoute } from '../../core/api-route.js';
import { isDuplicateKey } from '../../db/connection.js';
import { inTransaction, nowIso, type Tx } from '../../db/tx.js';
import { DEVICE_OWNER_HA_REPLICATED_INT, DEVICE_OWNER_ROUTER_GW, DEVICE_OWNER_ROUTER_HA_INTF, DEVICE_OWNER_ROUTER_INTF } from '../../core/wire.js';
import type { NetworkHandler } from '../ml2/networks.js';
import type { SubnetHandler } from '../ml2/subnets.js';
import type { L3Context } from './common.js';
import { createServicePort, deleteServicePort, l3Transaction } from './port-events.js';

export const HA_STATE_ACTIVE = 'active';
export const HA_STATE_STANDBY = 'standby';
export const HA_STATE_UNKNOWN = 'unknown';
const HA_STATES = new Set([HA_STATE_ACTIVE, HA_STATE_STANDBY, HA_STATE_UNKNOWN]);
/** neutron_lib.constants HA_INTERFACE_KEY, HA_ROUTER_STATE_KEY. */
export const HA_INTERFACE_KEY = '_ha_interface';
export const HA_ROUTER_STATE_KEY = '_ha_state';
const VR_IDS = 254;
const VR_ID_TRIES = 10;

export interface HaSettings {
  /** [DEFAULT] l3_ha: a router created without `ha` is HA. */
  l3Ha: boolean;
  /** [DEFAULT] max_l3_agents_per_router. */
  maxAgents: number;
  /** [DEFAULT] l3_ha_net_cidr. */
  netCidr: string;
  /** [DEFAULT] l3_ha_network_type, l3_ha_network_physical_name ('' : ML2's tenant type). */
  networkType: string;
  physicalNetwork: string;
}

const SYSTEM = () => adminContext('req-l3-ha');

/** A body for a core handler's create: what the controller would fill in from the definition. */
function withDefaults(def: ResourceDef, body: Rec): Rec {
  const out: Rec = {};
  for (const [name, a] of Object.entries(def.attributes)) {
    if (name in body) continue;
    if (a.defaultFn) out[name] = a.defaultFn();
    else if (a.allowPost && 'default' in a) out[name] = typeof a.default === 'object' && a.default !== null ? structuredClone(a.default) : a.default;
  }
  return { ...out, ...body, tenant_id: body.project_id };
}

export interface HaAgentCandidate {
  id: string;
  host: string;
}

export class RouterHa {
  constructor(
    private readonly l3: L3Context,
    private readonly networks: NetworkHandler,
    private readonly subnets: SubnetHandler,
    readonly settings: HaSettings,
  ) {}

  /** is_ha_router on a request body: `ha` given (not null), else [DEFAULT] l3_ha. */
  requested(body: Rec): boolean {
    const v = body.ha;
    return typeof v === 'boolean' ? v : this.settings.l3Ha;
  }

  private get db() {
    return this.l3.m.db;
  }

  /** The project's HA network, made (network, then subnet) if it has none. */
  async ensureNetwork(projectId: string): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      const have = await this.db.kysely.selectFrom('ha_router_networks').select('network_id').where('project_id', '=', projectId).executeTakeFirst();
      if (have) return have.network_id;
      const admin = SYSTEM();
      const net: Rec = { name: `HA network tenant ${projectId}`, project_id: '', shared: false, admin_state_up: true };
      if (this.settings.networkType) net['provider:network_type'] = this.settings.networkType;
      if (this.settings.physicalNetwork) net['provider:physical_network'] = this.settings.physicalNetwork;
      const [made] = await this.networks.create(admin, [withDefaults(this.networks.def, net)]);
      const networkId = made!.id as string;
      try {
        await inTransaction(this.db, (tx) => tx.insertInto('ha_router_networks').values({ project_id: projectId, network_id: networkId }).execute());
      } catch (err) {
        // Another router of the project made one meanwhile: use that, drop this one.
        await this.networks.delete(admin, networkId).catch(() => {});
        if (isDuplicateKey(err) && attempt < 3) continue;
        throw err;
      }
      try {
        const subnet: Rec = {
          network_id: networkId,
          project_id: '',
          name: `HA subnet tenant ${projectId}`,
          ip_version: 4,
          cidr: this.settings.netCidr,
          enable_dhcp: false,
          gateway_ip: null,
        };
        await this.subnets.create(admin, [withDefaults(this.subnets.def, subnet)]);
      } catch (err) {
        await this.networks.delete(admin, networkId).catch(() => {});
        throw err;
      }
      return networkId;
    }
  }

  /**
   * A free VRRP id on the network for the router (kept if it has one), in its own transaction:
   * a random free id, again on a collision with a concurrent router. null when all 254 are taken.
   */
  async ensureVrId(routerId: string, networkId: string): Promise<number | null> {
    for (let attempt = 0; attempt < VR_ID_TRIES; attempt++) {
      try {
        return await inTransaction(this.db, async (tx) => {
          const row = await tx.selectFrom('routers').select('ha_vr_id').where('id', '=', routerId).executeTakeFirst();
          if (!row) return null;
          if (row.ha_vr_id) return row.ha_vr_id;
          const taken = new Set(
            (await tx.selectFrom('ha_router_vrid_allocations').select('vr_id').where('network_id', '=', networkId).execute()).map((r) => r.vr_id),
          );
          const free: number[] = [];
          for (let v = 1; v <= VR_IDS; v++) if (!taken.has(v)) free.push(v);
          if (!free.length) return null;
          const vrId = free[Math.floor(Math.random() * free.length)]!;
          await tx.insertInto('ha_router_vrid_allocations').values({ network_id: networkId, vr_id: vrId, router_id: routerId }).execute();
          await tx.updateTable('routers').set({ ha_vr_id: vrId }).where('id', '=', routerId).execute();
          return vrId;
        });
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
    }
    throw new Error(`no VRRP id for router ${routerId} after ${VR_ID_TRIES} tries`);
  }

  /** After an HA router is created or made HA: its VRRP id, or status ERROR without one (NoVRIDAvailable). */
  async prepare(routerId: string, projectId: string): Promise<void> {
    const networkId = await this.ensureNetwork(projectId);
    if ((await this.ensureVrId(routerId, networkId)) === null)
      await this.db.kysely.updateTable('routers').set({ status: 'ERROR', updated_at: nowIso() }).where('id', '=', routerId).execute();
  }

  async isHa(routerId: string): Promise<boolean> {
    const r = await this.db.kysely.selectFrom('routers').select('ha').where('id', '=', routerId).executeTakeFirst();
    return Number(r?.ha) === 1;
  }

  /** How many more agents the router should run on. */
  async missingAgents(routerId: string): Promise<number> {
    const n = await this.db.kysely.selectFrom('routerl3agentbindings').select('l3_agent_id').where('router_id', '=', routerId).execute();
    return Math.max(0, this.settings.maxAgents - n.length);
  }

  /**
   * Binds the router to these agents (the scheduler's candidates, least loaded first, none
   * hosting it yet): per agent an HA port and the two bindings, binding_index the lowest free one
   * (unique per router: concurrent schedulers never exceed max_l3_agents_per_router). Returns the
   * agents bound.
   */
  async bindAgents(routerId: string, candidates: HaAgentCandidate[]): Promise<HaAgentCandidate[]> {
    const router = await this.db.kysely.selectFrom('routers').select(['id', 'project_id', 'ha']).where('id', '=', routerId).executeTakeFirst();
    if (!router || !Number(router.ha)) return [];
    const networkId = await this.ensureNetwork(router.project_id);
    const bound: HaAgentCandidate[] = [];
    for (const agent of candidates) {
      const portId = await this.bindAgent(routerId, router.project_id, networkId, agent.id);
      if (portId === undefined) break; // full, or the router is gone
      if (portId === null) continue;
      bound.push(agent);
      await this.l3.ports.update(SYSTEM(), portId, { 'binding:host_id': agent.host }).catch(() => {});
    }
    return bound;
  }

  /** One agent's HA port and bindings; null if it hosts the router already, undefined if no index is free. */
  private async bindAgent(routerId: string, projectId: string, networkId: string, agentId: string): Promise<string | null | undefined> {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        return await l3Transaction(this.l3, async (tx) => {
          if (!(await tx.selectFrom('routers').select('id').where('id', '=', routerId).executeTakeFirst())) return undefined;
          const rows = await tx
            .selectFrom('routerl3agentbindings')
            .select(['l3_agent_id', 'binding_index'])
            .where('router_id', '=', routerId)
            .execute();
          if (rows.some((r) => r.l3_agent_id === agentId)) return null;
          const used = new Set(rows.map((r) => Number(r.binding_index)));
          let index = 1;
          while (used.has(index)) index++;
          if (index > this.settings.maxAgents) return undefined;
          await tx.insertInto('routerl3agentbindings').values({ router_id: routerId, l3_agent_id: agentId, binding_index: index }).execute();
          const port = await createServicePort(this.l3, tx, {
            id: randomUUID(),
            project_id: '',
            network_id: networkId,
            device_id: routerId,
            device_owner: DEVICE_OWNER_ROUTER_HA_INTF,
            admin_state_up: true,
            name: `HA port tenant ${projectId}`,
          });
          const portId = port.id as string;
          await tx.insertInto('router_ports').values({ port_id: portId, router_id: routerId, port_type: DEVICE_OWNER_ROUTER_HA_INTF }).execute();
          await tx
            .insertInto('ha_router_agent_port_bindings')
            .values({ port_id: portId, router_id: routerId, l3_agent_id: agentId, state: HA_STATE_STANDBY })
            .execute();
          return portId;
        });
      } catch (err) {
        // A concurrent scheduler took that index (or bound this agent): look again.
        if (!isDuplicateKey(err)) throw err;
      }
    }
    return undefined;
  }

  /** Deletes the router's HA ports (their bindings go with them) in the transaction. */
  async deletePorts(tx: Tx, routerId: string, agentId?: string): Promise<void> {
    let q = tx.selectFrom('ha_router_agent_port_bindings').select('port_id').where('router_id', '=', routerId);
    if (agentId) q = q.where('l3_agent_id', '=', agentId);
    for (const b of await q.execute()) {
      await tx.deleteFrom('router_ports').where('port_id', '=', b.port_id).execute();
      await deleteServicePort(this.l3, tx, b.port_id);
    }
  }

  /** An agent lets go of the router: its HA port goes (the caller drops the scheduling binding). */
  async removeAgent(routerId: string, agentId: string): Promise<void> {
    await l3Transaction(this.l3, (tx) => this.deletePorts(tx, routerId, agentId));
  }

  /**
   * ha changed (in the update's transaction, the router set down): the VRRP id goes when it stops
   * being HA, and every agent lets go of it (rescheduled after commit). The interfaces change
   * owner, network:router_interface ↔ network:ha_router_replicated_interface (Neutron's
   * _migrate_router_ports).
   */
  async migrate(tx: Tx, routerId: string, ha: boolean): Promise<void> {
    await this.deletePorts(tx, routerId);
    const [from, to] = ha ? [DEVICE_OWNER_ROUTER_INTF, DEVICE_OWNER_HA_REPLICATED_INT] : [DEVICE_OWNER_HA_REPLICATED_INT, DEVICE_OWNER_ROUTER_INTF];
    await tx
      .updateTable('ports')
      .set((eb) => ({ device_owner: to, revision_number: eb('revision_number', '+', 1), updated_at: nowIso() }))
      .where('device_id', '=', routerId)
      .where('device_owner', '=', from)
      .execute();
    await tx.updateTable('router_ports').set({ port_type: to }).where('router_id', '=', routerId).where('port_type', '=', from).execute();
    await tx.deleteFrom('routerl3agentbindings').where('router_id', '=', routerId).execute();
    if (!ha) {
      await tx.deleteFrom('ha_router_vrid_allocations').where('router_id', '=', routerId).execute();
      await tx.updateTable('routers').set({ ha_vr_id: null }).where('id', '=', routerId).execute();
    }
  }

  /** safe_delete_ha_network: the project's HA network goes once no HA router of it is left. */
  async cleanupNetwork(projectId: string): Promise<void> {
    const left = await this.db.kysely
      .selectFrom('routers')
      .select('id')
      .where('project_id', '=', projectId)
      .where('ha', '=', 1)
      .limit(1)
      .executeTakeFirst();
    if (left) return;
    const net = await this.db.kysely.selectFrom('ha_router_networks').select('network_id').where('project_id', '=', projectId).executeTakeFirst();
    if (!net) return;
    // In use (a router made meanwhile) or gone: both are fine.
    await this.networks.delete(SYSTEM(), net.network_id).catch(() => {});
  }

  /**
   * update_routers_states: the states an agent on `host` reports ({router id: active|standby}),
   * then the gateway and interface ports of the routers active there are bound to the host.
   */
  async updateStates(host: string, states: Record<string, unknown>): Promise<void> {
    const entries = Object.entries(states ?? {}).filter((e): e is [string, string] => typeof e[1] === 'string' && HA_STATES.has(e[1]));
    if (!entries.length) return;
    const agent = await this.db.kysely
      .selectFrom('agents')
      .select('id')
      .where('host', '=', host)
      .where('agent_type', '=', 'L3 agent')
      .executeTakeFirst();
    if (!agent) return;
    for (const [routerId, state] of entries)
      await this.db.kysely
        .updateTable('ha_router_agent_port_bindings')
        .set({ state })
        .where('router_id', '=', routerId)
        .where('l3_agent_id', '=', agent.id)
        .execute();
    const active = entries.filter(([, s]) => s === HA_STATE_ACTIVE).map(([id]) => id);
    if (!active.length) return;
    const ports = await this.db.kysely
      .selectFrom('ports')
      .select(['id', 'binding_host_id'])
      .where('device_id', 'in', active)
      .where('device_owner', 'in', [DEVICE_OWNER_HA_REPLICATED_INT, DEVICE_OWNER_ROUTER_INTF, DEVICE_OWNER_ROUTER_GW])
      .execute();
    for (const p of ports) {
      if (p.binding_host_id === host) continue;
      await this.l3.ports.update(SYSTEM(), p.id, { 'binding:host_id': host }).catch((err: { status?: number }) => {
        if (err?.status !== 404) throw err;
      });
    }
  }

  /** The host of the router's active agent, if one reported active (get_active_host_for_ha_router). */
  async activeHost(routerId: string): Promise<string | null> {
    const row = await this.db.kysely
      .selectFrom('ha_router_agent_port_bindings as b')
      .innerJoin('agents as a', 'a.id', 'b.l3_agent_id')
      .select('a.host')
      .where('b.router_id', '=', routerId)
      .where('b.state', '=', HA_STATE_ACTIVE)
      .executeTakeFirst();
    return row?.host ?? null;
  }

  /**
   * The agents hosting the router and their states, as get_l3_bindings_hosting_router_with_ha_states
   * gives them: an active agent that is dead or disabled turns standby (unknown when every agent is).
   */
  async states(routerId: string, isUp: (agentId: string) => Promise<boolean>): Promise<Map<string, string>> {
    const rows = await this.db.kysely
      .selectFrom('ha_router_agent_port_bindings')
      .select(['l3_agent_id', 'state'])
      .where('router_id', '=', routerId)
      .where('l3_agent_id', 'is not', null)
      .execute();
    const up = new Map<string, boolean>();
    for (const r of rows) up.set(r.l3_agent_id!, await isUp(r.l3_agent_id!));
    const allDown = rows.length > 0 && rows.every((r) => !up.get(r.l3_agent_id!));
    const out = new Map<string, string>();
    for (const r of rows) {
      let state = r.state;
      if (state === HA_STATE_ACTIVE && !up.get(r.l3_agent_id!)) {
        state = allDown ? HA_STATE_UNKNOWN : HA_STATE_STANDBY;
        await this.db.kysely
          .updateTable('ha_router_agent_port_bindings')
          .set({ state })
          .where('router_id', '=', routerId)
          .where('l3_agent_id', '=', r.l3_agent_id)
          .execute();
      }
      out.set(r.l3_agent_id!, state);
    }
    return out;
  }

  /** _process_sync_ha_data: each HA router gets this host's HA port and state; one without it is left out. */
  async addSyncData(routers: Rec[], host: string | undefined, portDicts: (ids: string[]) => Promise<Rec[]>): Promise<Rec[]> {
    const ha = routers.filter((r) => r.ha === true);
    if (!ha.length) return routers;
    const q = this.db.kysely
      .selectFrom('ha_router_agent_port_bindings as b')
      .innerJoin('agents as a', 'a.id', 'b.l3_agent_id')
      .select(['b.router_id', 'b.port_id', 'b.state'])
      .where(
        'b.router_id',
        'in',
        ha.map((r) => r.id as string),
      );
    const rows = await (host ? q.where('a.host', '=', host) : q).execute();
    const ports = new Map((await portDicts(rows.map((r) => r.port_id))).map((p) => [p.id as string, p]));
    const vrIds = new Map(
      (
        await this.db.kysely
          .selectFrom('routers')
          .select(['id', 'ha_vr_id'])
          .where(
            'id',
            'in',
            ha.map((r) => r.id as string),
          )
          .execute()
      ).map((r) => [r.id, r.ha_vr_id]),
    );
    const byRouter = new Map(rows.map((r) => [r.router_id, r]));
    return routers.filter((r) => {
      if (r.ha !== true) return true;
      const b = byRouter.get(r.id as string);
      const port = b && ports.get(b.port_id);
      if (!b || !port) return false;
      r.ha_vr_id = vrIds.get(r.id as string) ?? null;
      r[HA_INTERFACE_KEY] = port;
      r[HA_ROUTER_STATE_KEY] = b.state;
      return true;
    });
  }
}

/**
 * GET /v2.0/routers/{id}/l3-agents shows, for an HA router, each agent's `ha_state` (Neutron's
 * list_l3_agents_hosting_router with the HA mixin).
 */
export function withHaStates(ha: RouterHa, routes: ApiRoute[]): ApiRoute[] {
  return routes.map((r) =>
    r.method === 'GET' && r.path === '/routers/:id/l3-agents'
      ? {
          ...r,
          async handle(req, api) {
            const out = (await r.handle(req, api)) as { agents: Rec[] };
            const router = await ha.isHa(req.params.id!);
            if (!router) return out;
            const byId = new Map(out.agents.map((a) => [a.id as string, a]));
            const states = await ha.states(req.params.id!, async (id) => byId.get(id)?.alive === true && byId.get(id)?.admin_state_up === true);
            for (const a of out.agents) a.ha_state = states.get(a.id as string) ?? HA_STATE_STANDBY;
            return out;
          },
        }
      : r,
  );
}

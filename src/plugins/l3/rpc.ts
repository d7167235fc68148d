// The server side of L3 agents' calls (Neutron's L3RpcCallback) on topic 'q-l3-plugin':
//   sync_routers(host, router_ids)            the routers to build, whole (sync-data.ts); first
//                                             binds their gateway and interface ports to the host
//   get_router_ids(host)                      the ids of the routers the host's agent serves
//   update_floatingip_statuses(router_id, fip_statuses)
//                                             {fip id: status} as the agent applied them; the
//                                             router's former floating IPs not in it go DOWN
//   get_service_plugin_list()                 the service plugins loaded
//   get_host_ha_router_count(host)            how many HA routers the host's agent serves that are
//                                             up: Neutron's L3 agent asks it first, on start,
//                                             and retries until it has an answer
//   update_all_ha_network_port_statuses(host) the host's ACTIVE HA ports go DOWN until its L2 agent
//                                             wires them again (Neutron's L3 agent, after a restart)
// Without an L3 agent scheduler every agent serves every router; a scheduler plugs in through
// `routerIdsForHost`, and only then does a sync move ports already bound to another host.
import { adminContext } from '../../core/context.js';
import type { Rec } from '../../core/resource.js';
import type { Db } from '../../db/connection.js';
import { inTransaction, nowIso } from '../../db/tx.js';
import type { RpcContext, RpcHandlers } from '../../rpc/index.js';
import type { PortHandler } from '../ml2/ports.js';
import type { FloatingIpHandler } from './floatingips.js';
import type { RouterHandler } from './routers.js';
import type { RouterHa } from './ha.js';
import { EXTRA_GW_PORTS_KEY, INTERFACE_KEY, routerSyncData, syncPorts } from './sync-data.js';
import { DEVICE_OWNER_ROUTER_HA_INTF, VIF_TYPE_BINDING_FAILED, VIF_TYPE_UNBOUND } from '../../core/wire.js';

/** neutron_lib.plugins.constants CORE and L3: what get_service_plugin_list names. */
const SERVICE_PLUGINS = ['CORE', 'L3_ROUTER_NAT'];

export interface L3RpcDeps {
  db: Db;
  routers: RouterHandler;
  floatingips: FloatingIpHandler;
  /** The core plugin's port handler (binding on update). */
  ports: PortHandler;
  /** HA routers (l3-ha): sync data per host, states reported. */
  ha?: RouterHa;
  /** The routers an agent on `host` serves (an L3 agent scheduler); unset: all of them. */
  routerIdsForHost?: (host: string) => Promise<string[]>;
}

const adminOf = (ctx: RpcContext | undefined) => adminContext(ctx?.requestId ?? 'req-l3-rpc');

/** Floating IP statuses are short words (ACTIVE, DOWN, ERROR); the column holds 16 characters. */
function statusOf(fipId: string, v: unknown): string {
  if (typeof v !== 'string' || !v || v.length > 16) throw new Error(`update_floatingip_statuses: bad status for ${fipId}: ${JSON.stringify(v)}`);
  return v;
}

export function l3RpcHandlers(d: L3RpcDeps): RpcHandlers {
  const sync = async (host: string | undefined, routerIds: string[] | null) => {
    let ids = routerIds;
    if (host && d.routerIdsForHost) {
      const hosted = new Set(await d.routerIdsForHost(host));
      ids = (ids ?? [...hosted]).filter((id) => hosted.has(id));
    }
    // Routers whose admin_state_up is false are left out: the agent then removes them.
    const routers = await routerSyncData(d, ids, true);
    return d.ha ? d.ha.addSyncData(routers, host, (ids) => syncPorts(d, ids)) : routers;
  };

  /**
   * _ensure_host_set_on_ports: a gateway or interface port not bound, or bound elsewhere (only
   * with a scheduler: without one every agent syncs every router), is bound to the agent's host.
   * An HA router's ports follow its active instance (update_ha_routers_states); one not bound yet
   * (an interface added to a router already active) is bound to the active agent's host, so that
   * its L2 agent reports it up and every standby's L2 agent wires its copy (get_device_details
   * gives a standby the details of a port bound to the active host only).
   */
  const bindToHost = async (ctx: RpcContext, host: string, routers: Rec[]): Promise<boolean> => {
    let changed = false;
    for (const r of routers) {
      const ha = r.ha === true;
      let activeHost: string | null | undefined;
      for (const p of [
        r.gw_port as Rec | undefined,
        ...((r[EXTRA_GW_PORTS_KEY] as Rec[] | undefined) ?? []),
        ...((r[INTERFACE_KEY] as Rec[] | undefined) ?? []),
      ]) {
        if (!p) continue;
        const bound = p['binding:host_id'] as string;
        let to = host;
        if (ha) {
          if (bound || !d.ha) continue;
          activeHost ??= await d.ha.activeHost(r.id as string);
          if (!activeHost) break; // active nowhere yet: the first active report binds them
          to = activeHost;
        } else {
          const failed = p['binding:vif_type'] === VIF_TYPE_BINDING_FAILED || p['binding:vif_type'] === VIF_TYPE_UNBOUND;
          const move = d.routerIdsForHost ? bound !== host || failed : !bound || (bound === host && failed);
          if (!move) continue;
        }
        try {
          await d.ports.update(adminOf(ctx), p.id as string, { 'binding:host_id': to });
          changed = true;
        } catch (err) {
          if ((err as { status?: number }).status !== 404) throw err; // gone meanwhile
        }
      }
    }
    return changed;
  };

  return {
    async sync_routers(ctx: RpcContext, args: { host?: string; router_ids?: string[] | null }): Promise<Rec[]> {
      const host = args?.host;
      const ids = Array.isArray(args?.router_ids) ? args.router_ids.map(String) : null;
      let routers = await sync(host, ids);
      if (host && (await bindToHost(ctx, host, routers))) routers = await sync(host, ids);
      return routers;
    },

    async get_router_ids(_ctx: RpcContext, args: { host?: string }): Promise<string[]> {
      if (args?.host && d.routerIdsForHost) return d.routerIdsForHost(args.host);
      const rows = await d.db.kysely.selectFrom('routers').select('id').orderBy('created_at').orderBy('id').execute();
      return rows.map((r) => r.id);
    },

    async update_floatingip_statuses(_ctx: RpcContext, args: { router_id?: string; fip_statuses?: Record<string, unknown> }): Promise<null> {
      const routerId = args?.router_id;
      if (!routerId) throw new Error('update_floatingip_statuses needs router_id');
      const statuses = Object.entries(args.fip_statuses ?? {}).map(([id, v]) => [id, statusOf(id, v)] as const);
      await inTransaction(d.db, async (tx) => {
        // Only a status that changes revises the floating IP (an unknown one is ignored, as it
        // may just have been deleted).
        const set = (ids: string[], status: string) =>
          tx
            .updateTable('floatingips')
            .set((eb) => ({ status, revision_number: eb('revision_number', '+', 1), updated_at: nowIso() }))
            .where('id', 'in', ids)
            .where('status', '!=', status)
            .execute();
        for (const [id, status] of statuses) await set([id], status);
        // Floating IPs this router served but that were disassociated since: DOWN, whatever the
        // agent missed.
        const gone = await tx
          .selectFrom('floatingips')
          .select('id')
          .where('last_known_router_id', '=', routerId)
          .where('router_id', 'is', null)
          .execute();
        if (gone.length)
          await set(
            gone.map((g) => g.id),
            'DOWN',
          );
      });
      return null;
    },

    /** update_ha_routers_states(host, states): {router id: active|standby} as keepalived decided. */
    async update_ha_routers_states(_ctx: RpcContext, args: { host?: string; states?: Record<string, unknown> }): Promise<null> {
      if (!d.ha || !args?.host) return null;
      await d.ha.updateStates(String(args.host), args.states ?? {});
      return null;
    },

    get_service_plugin_list(): string[] {
      return [...SERVICE_PLUGINS];
    },

    async get_host_ha_router_count(_ctx: RpcContext, args: { host?: string }): Promise<number> {
      const host = args?.host;
      if (!host) return 0;
      let q = d.db.kysely
        .selectFrom('routers')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('ha', '=', 1)
        .where('admin_state_up', '=', 1);
      if (d.routerIdsForHost) {
        const ids = await d.routerIdsForHost(host);
        if (!ids.length) return 0;
        q = q.where('id', 'in', ids);
      }
      return Number((await q.executeTakeFirst())?.n ?? 0);
    },

    async update_all_ha_network_port_statuses(_ctx: RpcContext, args: { host?: string }): Promise<null> {
      if (!args?.host) return null;
      await inTransaction(d.db, (tx) =>
        tx
          .updateTable('ports')
          .set((eb) => ({ status: 'DOWN', revision_number: eb('revision_number', '+', 1), updated_at: nowIso() }))
          .where('device_owner', '=', DEVICE_OWNER_ROUTER_HA_INTF)
          .where('status', '=', 'ACTIVE')
          .where('binding_host_id', '=', String(args.host))
          .execute(),
      );
      return null;
    },
  };
}

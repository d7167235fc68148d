// The server side of the DHCP agents' calls (Neutron's DhcpRpcCallback), on topic 'q-plugin':
//   get_active_networks_info(host)          the networks this host's agent serves, whole
//   get_network_info(network_id, host)      one network with its subnets and ports
//   create_dhcp_port(port, host)            the agent's port on a network (device_owner network:dhcp)
//   update_dhcp_port(port_id, port, host)   e.g. its fixed IPs after a subnet was added
//   release_dhcp_port(network_id, device_id, host)
//   dhcp_ready_on_ports(port_ids)           accepted (port status belongs to the L2 side here)
// A network is returned as its API dict whose `subnets` are the subnet dicts and with `ports`
// (API dicts: fixed_ips, mac_address, extra_dhcp_opts, …) and `non_local_subnets` added, as
// Neutron's get_network_info returns it (on a routed network, `subnets` are those of the
// segments the agent's host reaches and `non_local_subnets` the others'). Ports are written through the ports' API controller
// with an admin context, so they get the same defaults, validation and notifications as API ones.
import type { ListQuery } from '../../core/list-query.js';
import type { Rec, ResourceHandler } from '../../core/resource.js';
import { adminContext, type RequestContext } from '../../core/context.js';
import type { Db } from '../../db/connection.js';
import type { RpcContext, RpcHandlers } from '../../rpc/index.js';
import { autoScheduleForAgent, dhcpAgentOfHost, type SchedulerOptions } from './scheduler.js';
import { DEVICE_OWNER_DHCP } from '../../core/wire.js';
import { hostSegments } from '../ml2/routed-subnets.js';

/** What the RPC handlers need of the ports' API controller (CollectionController fits). */
export interface PortWriter {
  create(ctx: RequestContext, body: unknown): Promise<{ status: number; body: Rec }>;
  update(ctx: RequestContext, id: string, body: unknown): Promise<Rec>;
  delete(ctx: RequestContext, id: string): Promise<void>;
}

export interface DhcpRpcDeps {
  db: Db;
  networks: ResourceHandler;
  subnets: ResourceHandler;
  ports: ResourceHandler;
  portWriter: PortWriter;
  scheduler: SchedulerOptions;
}

function query(filters: Record<string, unknown[]>): ListQuery {
  return { filters, fields: [], sorts: [], limit: null, marker: null, pageReverse: false, tagFilters: {} };
}

function adminOf(ctx: RpcContext | undefined): RequestContext {
  return adminContext(ctx?.requestId ?? 'req-dhcp-rpc');
}

const CHUNK = 500;

/**
 * A routed network's subnets as the agent on `host` sees them (Neutron's get_network_info): those
 * on the segments the host reaches are its `subnets`, the other segments' its `non_local_subnets`,
 * subnets on no segment neither. A network without segment subnets is left whole.
 */
async function localSubnets(
  db: Db,
  networkId: string,
  subnets: Rec[],
  host: string | undefined,
): Promise<{ subnets: Rec[]; non_local_subnets: Rec[] }> {
  const onSegments = subnets.filter((s) => typeof s.segment_id === 'string');
  if (!onSegments.length) return { subnets, non_local_subnets: [] };
  const reachable = host ? await hostSegments(db.kysely, networkId, host) : new Set<string>();
  return {
    subnets: onSegments.filter((s) => reachable.has(s.segment_id as string)),
    non_local_subnets: onSegments.filter((s) => !reachable.has(s.segment_id as string)),
  };
}

/**
 * Networks by id, each with its subnets and ports: three list queries per chunk of networks.
 * `enableDhcp` keeps only the subnets whose enable_dhcp is that (null: all), as Neutron's filter.
 */
export async function networkInfos(
  d: DhcpRpcDeps,
  ctx: RequestContext,
  ids: string[],
  host?: string,
  enableDhcp: boolean | null = null,
): Promise<Rec[]> {
  const out: Rec[] = [];
  for (let i = 0; i < ids.length; i += CHUNK) {
    const part = ids.slice(i, i + CHUNK);
    const [nets, subnets, ports] = await Promise.all([
      d.networks.list(ctx, query({ id: part })),
      d.subnets.list(ctx, query({ network_id: part })),
      d.ports.list(ctx, query({ network_id: part })),
    ]);
    const by = <T extends Rec>(rows: T[]) => {
      const m = new Map<string, T[]>();
      for (const r of rows) {
        const k = r.network_id as string;
        const l = m.get(k);
        if (l) l.push(r);
        else m.set(k, [r]);
      }
      return m;
    };
    const s = by(enableDhcp === null ? subnets : subnets.filter((x) => x.enable_dhcp === enableDhcp));
    const p = by(ports);
    for (const n of nets) {
      const local = await localSubnets(d.db, n.id as string, s.get(n.id as string) ?? [], host);
      // Sorted by id as Neutron's: the agent's dnsmasq tags follow the order.
      const byId = (a: Rec, b: Rec) => ((a.id as string) < (b.id as string) ? -1 : (a.id as string) > (b.id as string) ? 1 : 0);
      out.push({
        ...n,
        subnets: local.subnets.sort(byId),
        non_local_subnets: local.non_local_subnets.sort(byId),
        ports: p.get(n.id as string) ?? [],
      });
    }
  }
  return out;
}

/** The `port` argument as Neutron's agents send it: {port: {...}} (a bare dict is accepted too). */
function portBody(arg: unknown): Rec {
  const a = (arg ?? {}) as Rec;
  const inner = a.port && typeof a.port === 'object' ? (a.port as Rec) : a;
  return { ...inner };
}

export function dhcpRpcHandlers(d: DhcpRpcDeps): RpcHandlers {
  return {
    // Both filter subnets on enable_dhcp as Neutron's handlers do: get_network_info always (its
    // `enable_dhcp`, default true), get_active_networks_info unless `enable_dhcp_filter` is false
    // (Neutron's agent sends false: its full sync wants every subnet).
    async get_active_networks_info(ctx: RpcContext, args: { host?: string; enable_dhcp_filter?: boolean }): Promise<Rec[]> {
      if (!args?.host) throw new Error('get_active_networks_info needs host');
      const agent = await dhcpAgentOfHost(d.db, args.host);
      // A disabled agent serves nothing (Neutron's list_active_networks_on_active_dhcp_agent).
      if (!agent || !Number(agent.admin_state_up)) return [];
      const ids = await autoScheduleForAgent(d.db, agent, d.scheduler);
      const nets = await networkInfos(d, adminOf(ctx), ids, args.host, args.enable_dhcp_filter === false ? null : true);
      return nets.filter((n) => n.admin_state_up !== false);
    },

    async get_network_info(ctx: RpcContext, args: { network_id?: string; host?: string; enable_dhcp?: boolean | null }): Promise<Rec | null> {
      if (!args?.network_id) throw new Error('get_network_info needs network_id');
      // Neutron returns None for a network that is gone: the agent then disables it.
      const enableDhcp = args.enable_dhcp === undefined ? true : args.enable_dhcp;
      return (await networkInfos(d, adminOf(ctx), [args.network_id], args.host, enableDhcp))[0] ?? null;
    },

    async create_dhcp_port(ctx: RpcContext, args: { port?: unknown; host?: string }): Promise<Rec | null> {
      const body = portBody(args?.port);
      if (!body.network_id) throw new Error('create_dhcp_port needs port.network_id');
      body.device_owner = DEVICE_OWNER_DHCP;
      if (args.host) body['binding:host_id'] = args.host;
      const admin = adminOf(ctx);
      // The port belongs to the network's project, as Neutron's agents ask (tenant_id of the network).
      if (!body.project_id && !body.tenant_id) {
        const net = await d.networks.get(admin, body.network_id as string);
        if (!net) return null; // gone meanwhile: nothing to serve
        body.project_id = net.project_id;
      }
      const r = await d.portWriter.create(admin, { port: body });
      return r.body.port as Rec;
    },

    async update_dhcp_port(ctx: RpcContext, args: { port_id?: string; port?: unknown; host?: string }): Promise<Rec> {
      if (!args?.port_id) throw new Error('update_dhcp_port needs port_id');
      const body = portBody(args.port);
      for (const k of ['id', 'network_id', 'tenant_id', 'project_id']) delete body[k];
      if (args.host) body['binding:host_id'] = args.host;
      const r = await d.portWriter.update(adminOf(ctx), args.port_id, { port: body });
      return r.port as Rec;
    },

    async release_dhcp_port(ctx: RpcContext, args: { network_id?: string; device_id?: string; host?: string }): Promise<null> {
      if (!args?.network_id || !args.device_id) throw new Error('release_dhcp_port needs network_id and device_id');
      const admin = adminOf(ctx);
      const ports = await d.ports.list(admin, query({ network_id: [args.network_id], device_id: [args.device_id] }));
      for (const p of ports) {
        try {
          await d.portWriter.delete(admin, p.id as string);
        } catch (err) {
          if ((err as { status?: number }).status !== 404) throw err;
        }
      }
      return null;
    },

    async dhcp_ready_on_ports(): Promise<null> {
      return null;
    },
  };
}

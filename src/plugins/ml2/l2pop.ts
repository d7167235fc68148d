// l2population (Neutron's L2populationMechanismDriver): the server tells the L2 agents where
// every active port of a tunnelled network lives, so they pin each MAC to its host's tunnel
// endpoint and flood broadcasts only to the hosts that have ports on the network.
//
// FDB entries, as Neutron sends them to add_fdb_entries / remove_fdb_entries:
//   { <network_id>: { segment_id, network_type, ports: { <agent tunnel ip>: [[mac, ip], ...] } } }
// where [00:00:00:00:00:00, 0.0.0.0] (the flooding entry) asks for the host in the flood list.
// get_fdb_entries (ours; Neutron pushes the same content to a restarted agent with
// refresh_tunnels) answers a whole network at once, for an agent's resync.
import type { Db } from '../../db/connection.js';
import type { Reader } from '../../db/tx.js';
import type { RpcBus } from '../../rpc/index.js';
import { newRpcContext } from '../../rpc/index.js';
import { decideBinding, linuxbridgeAgents, networkSegments, type BindingOptions, type BoundSegment } from './binding.js';
import { AGENT_TYPE_LINUXBRIDGE, L2POP_TOPIC, ROUTER_INTERFACE_OWNERS } from '../../core/wire.js';

export const FLOODING_ENTRY: [string, string] = ['00:00:00:00:00:00', '0.0.0.0'];
const TUNNEL_TYPES = new Set(['vxlan', 'geneve']);

export type PortInfo = [mac: string, ip: string];
export interface NetworkFdb {
  segment_id: number | null;
  network_type: string;
  ports: Record<string, PortInfo[]>;
}
export type FdbEntries = Record<string, NetworkFdb>;

/** The minimum of a port l2pop needs (an API dict fits). */
export interface L2Port {
  id: string;
  network_id: string;
  mac_address: string;
  fixed_ips?: Array<{ ip_address: string }>;
  'binding:host_id'?: string;
  'binding:vif_type'?: string;
  status?: string;
}

/** [mac, ip] per fixed IP (none without IPs, as Neutron's _get_port_fdb_entries). */
export function portFdbEntries(p: { mac_address: string; fixed_ips?: Array<{ ip_address: string }> }): PortInfo[] {
  return (p.fixed_ips ?? []).map((ip) => [p.mac_address, ip.ip_address]);
}

export class L2Population {
  constructor(
    private readonly db: Db,
    private readonly bus: RpcBus | null,
    private readonly o: BindingOptions,
  ) {}

  /** The host's agent tunnel IP and the network's segment it binds, if l2pop applies there. */
  private async hostView(db: Reader, host: string, networkId: string): Promise<{ ip: string; segment: BoundSegment } | null> {
    if (!host) return null;
    const agents = await linuxbridgeAgents(db, host, { ...this.o, agentDownTime: 1e9 } /* alive or not, as Neutron */);
    const agent = agents[0];
    const ip = agent?.configurations.tunneling_ip;
    if (!agent || typeof ip !== 'string' || !ip) return null;
    const seg = decideBinding(host, 'normal', agents, await networkSegments(db, networkId)).segment;
    if (!seg || !TUNNEL_TYPES.has(seg.network_type)) return null;
    return { ip, segment: seg };
  }

  /**
   * Every ACTIVE, bound port of the networks, grouped by the tunnel IP of its host's agent; hosts
   * in `excludeHost` are left out (an agent needs no entries for itself).
   */
  async networkFdb(networkIds: readonly string[], excludeHost?: string, db: Reader = this.db.kysely): Promise<FdbEntries> {
    const out: FdbEntries = {};
    if (!networkIds.length) return out;
    const ports = await db
      .selectFrom('ports')
      .select(['id', 'network_id', 'mac_address', 'binding_host_id'])
      .where('network_id', 'in', [...networkIds])
      .where('status', '=', 'ACTIVE')
      .where('binding_host_id', '!=', '')
      .execute();
    const ips = ports.length
      ? await db
          .selectFrom('ip_allocations')
          .select(['port_id', 'ip_address'])
          .where(
            'port_id',
            'in',
            ports.map((p) => p.id),
          )
          .execute()
      : [];
    const ipsOf = new Map<string, Array<{ ip_address: string }>>();
    for (const a of ips) (ipsOf.get(a.port_id) ?? ipsOf.set(a.port_id, []).get(a.port_id)!).push({ ip_address: a.ip_address });
    const haHosts = await this.haRouterHosts(db, networkIds);
    const views = new Map<string, Awaited<ReturnType<L2Population['hostView']>>>();
    for (const netId of networkIds) {
      const segs = await networkSegments(db, netId);
      const tunnel = segs.find((s) => TUNNEL_TYPES.has(s.network_type));
      if (!tunnel) continue;
      const entry: NetworkFdb = { segment_id: tunnel.segmentation_id, network_type: tunnel.network_type, ports: {} };
      for (const p of ports) {
        if (p.network_id !== netId || p.binding_host_id === excludeHost) continue;
        const key = `${p.binding_host_id}|${netId}`;
        if (!views.has(key)) views.set(key, await this.hostView(db, p.binding_host_id, netId));
        const v = views.get(key);
        if (!v) continue;
        const list = (entry.ports[v.ip] ??= [FLOODING_ENTRY]);
        list.push(...portFdbEntries({ mac_address: p.mac_address, fixed_ips: ipsOf.get(p.id) }));
      }
      for (const host of haHosts.get(netId) ?? []) {
        if (host === excludeHost) continue;
        const key = `${host}|${netId}`;
        if (!views.has(key)) views.set(key, await this.hostView(db, host, netId));
        const v = views.get(key);
        if (v) entry.ports[v.ip] ??= [FLOODING_ENTRY];
      }
      out[netId] = entry;
    }
    return out;
  }

  /**
   * Per network, the hosts of the L3 agents hosting an HA router with an interface on it. The
   * interface port is bound to the active host only, but every host's standby instance must be in
   * the flood list: the gratuitous ARPs of the instance that becomes active (keepalived sends
   * them at once) must reach the bridges that learnt the router's MAC on the old one's host
   * (Neutron's l2pop gives the HA agents' hosts the same way, _get_ha_port_agents_fdb).
   */
  private async haRouterHosts(db: Reader, networkIds: readonly string[]): Promise<Map<string, Set<string>>> {
    const rows = await db
      .selectFrom('ports as p')
      .innerJoin('ha_router_agent_port_bindings as b', 'b.router_id', 'p.device_id')
      .innerJoin('agents as a', 'a.id', 'b.l3_agent_id')
      .select(['p.network_id', 'a.host'])
      .where('p.network_id', 'in', [...networkIds])
      .where('p.device_owner', 'in', [...ROUTER_INTERFACE_OWNERS])
      .execute();
    const out = new Map<string, Set<string>>();
    for (const r of rows) (out.get(r.network_id) ?? out.set(r.network_id, new Set()).get(r.network_id)!).add(r.host);
    return out;
  }

  /** get_fdb_entries for an agent: the networks it has bound ports on (or those asked for). */
  async fdbForHost(host: string, networkIds?: string[]): Promise<FdbEntries> {
    let nets = networkIds;
    if (!nets) {
      const rows = await this.db.kysely.selectFrom('ports').select('network_id').distinct().where('binding_host_id', '=', host).execute();
      nets = rows.map((r) => r.network_id);
    }
    return this.networkFdb(nets, host);
  }

  /** The entries announcing (or withdrawing) one port on its host; null when l2pop does not apply. */
  async portEntries(port: L2Port, host: string, withFlooding: boolean): Promise<FdbEntries | null> {
    const v = await this.hostView(this.db.kysely, host, port.network_id);
    if (!v) return null;
    const ports = [...(withFlooding ? [FLOODING_ENTRY] : []), ...portFdbEntries(port)];
    if (!ports.length) return null;
    return { [port.network_id]: { segment_id: v.segment.segmentation_id, network_type: v.segment.network_type, ports: { [v.ip]: ports } } };
  }

  /**
   * The entries announcing (or withdrawing) several ports of one host, merged per network (one
   * fanout instead of one per port); `flooding(net)` says whether the host's flood entry goes with
   * them. Null when l2pop applies to none.
   */
  async portsEntries(ports: readonly L2Port[], host: string, flooding: (networkId: string) => boolean): Promise<FdbEntries | null> {
    const views = new Map<string, Awaited<ReturnType<L2Population['hostView']>>>();
    const out: FdbEntries = {};
    for (const p of ports) {
      if (!views.has(p.network_id)) views.set(p.network_id, await this.hostView(this.db.kysely, host, p.network_id));
      const v = views.get(p.network_id);
      if (!v) continue;
      const e = (out[p.network_id] ??= {
        segment_id: v.segment.segmentation_id,
        network_type: v.segment.network_type,
        ports: { [v.ip]: flooding(p.network_id) ? [FLOODING_ENTRY] : [] },
      });
      e.ports[v.ip]!.push(...portFdbEntries(p));
    }
    for (const [net, e] of Object.entries(out)) if (Object.values(e.ports).every((l) => l.length === 0)) delete out[net];
    return Object.keys(out).length ? out : null;
  }

  /** Several ports became ACTIVE on `host`: one add_fdb_entries with all of them. */
  async portsUp(ports: readonly L2Port[], host: string): Promise<void> {
    const e = ports.length ? await this.portsEntries(ports, host, () => true) : null;
    if (e) await this.fanout('add_fdb_entries', e);
  }

  /**
   * Neutron's update_port_up, for the reporting host itself: when ports come up there that are
   * its first active ones on a network (Neutron counts one or two; a batch counts as one), or the
   * agent asks with refresh_tunnels, the host is cast the network's whole FDB (every other host's
   * flood entry and ports) on its own l2population queue. Neutron's agents learn the other hosts
   * only so (they have no get_fdb_entries); ours take it like any add_fdb_entries.
   */
  async hostFdbOnUp(host: string, upByNetwork: ReadonlyMap<string, number>, refresh: boolean): Promise<void> {
    if (!this.bus || !host || !upByNetwork.size) return;
    const nets = [...upByNetwork.keys()];
    const rows = await this.db.kysely
      .selectFrom('ports')
      .select(['network_id', (eb) => eb.fn.countAll<number>().as('n')])
      .where('network_id', 'in', nets)
      .where('binding_host_id', '=', host)
      .where('status', '=', 'ACTIVE')
      .groupBy('network_id')
      .execute();
    const active = new Map(rows.map((r) => [r.network_id, Number(r.n)]));
    const first = nets.filter((n) => refresh || (active.get(n) ?? 0) <= Math.max(2, upByNetwork.get(n) ?? 0));
    if (!first.length) return;
    const fdb = await this.networkFdb(first, host);
    for (const [net, e] of Object.entries(fdb)) if (!Object.keys(e.ports).length) delete fdb[net];
    if (!Object.keys(fdb).length) return;
    await this.bus.cast({ topic: L2POP_TOPIC, server: host }, 'add_fdb_entries', { fdb_entries: fdb }, { context: newRpcContext() });
  }

  /** Several ports stopped being ACTIVE on `host`: one remove_fdb_entries (the flood entry where none is left). */
  async portsDown(ports: readonly L2Port[], host: string): Promise<void> {
    if (!ports.length) return;
    const nets = [...new Set(ports.map((p) => p.network_id))];
    const rows = await this.db.kysely
      .selectFrom('ports')
      .select('network_id')
      .distinct()
      .where('network_id', 'in', nets)
      .where('binding_host_id', '=', host)
      .where('status', '=', 'ACTIVE')
      .execute();
    const stillActive = new Set(rows.map((r) => r.network_id));
    for (const n of await this.haNetworksOf(host, nets)) stillActive.add(n);
    const e = await this.portsEntries(ports, host, (n) => !stillActive.has(n));
    if (e) await this.fanout('remove_fdb_entries', e);
  }

  /** Other ACTIVE ports of the host on the network, besides `exceptPort`. */
  private async othersActive(host: string, networkId: string, exceptPort: string): Promise<number> {
    const r = await this.db.kysely
      .selectFrom('ports')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('network_id', '=', networkId)
      .where('binding_host_id', '=', host)
      .where('status', '=', 'ACTIVE')
      .where('id', '!=', exceptPort)
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  /** A port became ACTIVE on `host`: every agent adds it (and the host to the flood list). */
  async portUp(port: L2Port, host: string): Promise<void> {
    const e = await this.portEntries(port, host, true);
    if (e) await this.fanout('add_fdb_entries', e);
  }

  /**
   * Of these networks, those where `host` holds an instance of an HA router with an interface:
   * the host stays in their flood lists when its last bound port there goes. An HA router's
   * interface port follows the active instance, and moves away when the host turns standby; were
   * the host's flood entry withdrawn then, the next failover back to it would reach no other host
   * until its agent reported the port up there again (Neutron counts these interfaces among the
   * host's active ports, _get_ha_router_active_port_count, for the same reason).
   */
  private async haNetworksOf(host: string, networkIds: readonly string[]): Promise<string[]> {
    const hosts = await this.haRouterHosts(this.db.kysely, networkIds);
    return networkIds.filter((n) => hosts.get(n)?.has(host));
  }

  /** A port stopped being ACTIVE on `host` (down, deleted, moved away). */
  async portDown(port: L2Port, host: string): Promise<void> {
    const last = (await this.othersActive(host, port.network_id, port.id)) === 0 && !(await this.haNetworksOf(host, [port.network_id])).length;
    const e = await this.portEntries(port, host, last);
    if (e) await this.fanout('remove_fdb_entries', e);
  }

  async fanout(method: 'add_fdb_entries' | 'remove_fdb_entries' | 'update_fdb_entries', fdb_entries: unknown): Promise<void> {
    if (!this.bus) return;
    await this.bus.fanout(L2POP_TOPIC, method, { fdb_entries }, { context: newRpcContext() });
  }
}

export { AGENT_TYPE_LINUXBRIDGE };

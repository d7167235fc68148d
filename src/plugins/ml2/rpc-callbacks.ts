// The ML2 plugin's RPC endpoints for L2 agents on topic 'q-plugin' (Neutron's
// plugins/ml2/rpc.py RpcCallbacks) and its notifications to them (AgentNotifierApi):
//   get_device_details, get_devices_details_list, get_devices_details_list_and_failed_devices,
//   update_device_up, update_device_down, update_device_list, and get_fdb_entries (l2pop resync);
//   fanouts port_update on 'q-agent-notifier-port-update', port_delete on
//   'q-agent-notifier-port-delete', and the l2population casts (see l2pop.ts).
//
// A device is what the agent sees: a tap name ('tap' + the first 11 characters of the port id)
// or a port id; like Neutron's _device_to_port_id, a short id is matched as a prefix.
import type { Db } from '../../db/connection.js';
import { inTransaction, nowIso } from '../../db/tx.js';
import { adminContext } from '../../core/context.js';
import type { Rec } from '../../core/resource.js';
import { newRpcContext, type RpcBus, type RpcHandlers, type RpcLogger } from '../../rpc/index.js';
import { silentLogger } from '../../rpc/index.js';
import { boundSegment, type BindingOptions } from './binding.js';
import type { Ml2PortHandler } from './bound-ports.js';
import { L2Population, type L2Port } from './l2pop.js';
import { devicesToPortIds, networkMtus, portRows, SegmentResolver } from './rpc-devices.js';
import type { PortTable } from '../../db/schema.js';
import { idChunks, whereIdIn } from '../common/list-sql.js';
import {
  DEVICE_OWNER_HA_REPLICATED_INT,
  DEVICE_OWNER_ROUTER_GW,
  PORT_DELETE_TOPIC,
  PORT_UPDATE_TOPIC,
  VIF_TYPE_BINDING_FAILED,
  VIF_TYPE_BRIDGE,
} from '../../core/wire.js';
import { Events, type CallbackRegistry, type EventPayload } from '../../core/callbacks.js';

const ADMIN = adminContext('req-ml2-rpc');

export interface Ml2RpcOptions {
  db: Db;
  ports: Ml2PortHandler;
  l2pop: L2Population;
  binding: BindingOptions;
  logger?: RpcLogger;
  /** Where port status changes are published (Events.AFTER_STATUS_UPDATE). */
  callbacks?: CallbackRegistry;
}

interface DeviceArgs {
  device?: string;
  agent_id?: string;
  host?: string;
  /** RPC 1.8 (agent_restarted before): the agent wants the whole FDB of the port's network again. */
  refresh_tunnels?: boolean;
  agent_restarted?: boolean;
}

/** The port id a device names: the full id, or the one port whose id starts with the short form. */
export async function deviceToPortId(db: Db, device: string): Promise<string | null> {
  let d = device.startsWith('tap') ? device.slice(3) : device;
  d = d.toLowerCase();
  if (!/^[0-9a-f-]{1,36}$/.test(d)) return null;
  if (d.length === 36) return d;
  const row = await db.kysely.selectFrom('ports').select('id').where('id', 'like', `${d}%`).orderBy('id').executeTakeFirst();
  return row?.id ?? null;
}

export class Ml2Rpc {
  private readonly log: RpcLogger;
  constructor(private readonly o: Ml2RpcOptions) {
    this.log = o.logger ?? silentLogger;
  }

  private async port(id: string): Promise<Rec | null> {
    return this.o.ports.get(ADMIN, id);
  }

  /** Neutron's _get_device_details; binds again first when a failed binding is on this host. */
  async deviceDetails(args: DeviceArgs): Promise<Rec> {
    return (await this.devicesDetails([String(args.device ?? '')], args))[0]!;
  }

  /** deviceDetails for many devices, with a few queries in all (see rpc-devices.ts). */
  async devicesDetails(devices: readonly string[], args: DeviceArgs): Promise<Rec[]> {
    const db = this.o.db;
    const ids = await devicesToPortIds(db, devices, args.host, (d) => deviceToPortId(db, d));
    const rows = await portRows(
      db,
      [...ids.values()].filter((id): id is string => id !== null),
    );
    for (const r of [...rows.values()]) {
      const host = r.binding_host_id;
      if (host && (!args.host || args.host === host) && r.binding_vif_type === VIF_TYPE_BINDING_FAILED) {
        if ((await this.o.ports.rebind(r.id, host))?.changed) {
          const again = (await portRows(db, [r.id])).get(r.id);
          if (again) rows.set(r.id, again);
        }
      }
    }
    const ports = new Map((await this.o.ports.toDicts(db.kysely, [...rows.values()], DETAIL_FIELDS)).map((p) => [p.id as string, p]));
    const bridged = [...ports.values()].filter((p) => p['binding:vif_type'] === VIF_TYPE_BRIDGE);
    const segments = new SegmentResolver(db, this.o.binding);
    await segments.preload(bridged.map((p) => p.network_id as string));
    const mtus = await networkMtus(
      db,
      bridged.map((p) => p.network_id as string),
    );
    const haHere = await this.haRoutersOn(
      args.host,
      bridged.filter((p) => p['binding:host_id'] !== args.host),
    );
    const out: Rec[] = [];
    for (const device of devices) {
      const id = ids.get(device);
      const port = id ? ports.get(id) : undefined;
      // An HA router's interface or gateway port is bound to the active agent's host, but every
      // host of the router wires its standby copy (Neutron's get_device_details does the same
      // for HA router ports): when it takes over, its bridge already reaches the network.
      const standby = !!port && haHere.has(port.device_id as string);
      const host = standby ? args.host! : (port?.['binding:host_id'] as string);
      const segment = port && port['binding:vif_type'] === VIF_TYPE_BRIDGE ? await segments.segment(port.network_id as string, host) : null;
      if (!port || !segment) out.push({ device });
      else if (args.host && host !== args.host) out.push({ device, no_active_binding: true });
      else out.push(detailsOf(device, port, segment, mtus.get(port.network_id as string) ?? null));
    }
    return out;
  }

  /** Of these ports' routers, the HA ones an L3 agent on `host` hosts (only for their interface and gateway ports). */
  private async haRoutersOn(host: string | undefined, ports: readonly Rec[]): Promise<Set<string>> {
    const routerIds = [
      ...new Set(
        ports
          .filter((p) => p.device_owner === DEVICE_OWNER_HA_REPLICATED_INT || p.device_owner === DEVICE_OWNER_ROUTER_GW)
          .map((p) => p.device_id as string),
      ),
    ];
    if (!host || !routerIds.length) return new Set();
    const rows = await this.o.db.kysely
      .selectFrom('ha_router_agent_port_bindings as b')
      .innerJoin('agents as a', 'a.id', 'b.l3_agent_id')
      .select('b.router_id')
      .where('a.host', '=', host)
      .where('b.router_id', 'in', routerIds)
      .execute();
    return new Set(rows.map((r) => r.router_id));
  }

  /**
   * update_device_list: the ports' statuses in one transaction, then one l2population fanout per
   * host and direction. Devices that name no port count as done (as update_device_up does).
   */
  async devicesUpDown(up: readonly string[], down: readonly string[], host: string | undefined, refreshTunnels = false) {
    const db = this.o.db;
    const ids = await devicesToPortIds(db, [...up, ...down], host, (d) => deviceToPortId(db, d));
    const rows = await portRows(
      db,
      [...ids.values()].filter((id): id is string => id !== null),
    );
    const rowsOf = (devices: readonly string[]) =>
      devices.flatMap((d) => {
        const r = rows.get(ids.get(d) ?? '');
        return r ? [r] : [];
      });
    // Each direction is told as soon as it is committed (a failure later must not swallow it).
    const wentUp = await this.setStatuses(rowsOf(up), host, 'ACTIVE');
    if (wentUp.length) {
      await this.notifyL2pop(async () => {
        const l2 = await this.l2Ports(wentUp);
        for (const [h, ps] of groupByHost(wentUp))
          await this.o.l2pop.portsUp(
            ps.map((r) => l2.get(r.id)!),
            h,
          );
      });
    }
    // Up again or not, as Neutron's update_device_up: the host's first ports get the whole FDB.
    await this.notifyL2pop(() => this.hostFdb(rowsOf(up), host, refreshTunnels));
    const wentDown = await this.setStatuses(rowsOf(down), host, 'DOWN');
    if (wentDown.length) {
      await this.notifyL2pop(async () => {
        const l2 = await this.l2Ports(wentDown);
        for (const [h, ps] of groupByHost(wentDown))
          await this.o.l2pop.portsDown(
            ps.map((r) => l2.get(r.id)!),
            h,
          );
      });
    }
    return {
      devices_up: [...up],
      failed_devices_up: [] as string[],
      devices_down: down.map((device) => ({ device, exists: rows.has(ids.get(device) ?? '') })),
      failed_devices_down: [] as string[],
    };
  }

  /** setStatus for many ports in one transaction; returns the rows (as before) that changed. */
  private async setStatuses(rows: readonly PortTable[], host: string | undefined, status: 'ACTIVE' | 'DOWN'): Promise<PortTable[]> {
    const todo = rows.filter((r) => (!host || r.binding_host_id === host) && r.status !== status);
    if (!todo.length) return [];
    return inTransaction(this.o.db, async (tx) => {
      const changed: PortTable[] = [];
      for (const r of todo) {
        let q = tx
          .updateTable('ports')
          .set((eb) => ({ status, revision_number: eb('revision_number', '+', 1), updated_at: nowIso() }))
          .where('id', '=', r.id)
          .where('status', '!=', status);
        if (host) q = q.where('binding_host_id', '=', host);
        if (Number((await q.executeTakeFirst()).numUpdatedRows) > 0) changed.push(r);
      }
      return changed;
    }).then((changed) => {
      for (const r of changed) this.statusChanged(r.id, { ...r }, status);
      return changed;
    });
  }

  /** Tells the status watchers (the topology page) of a committed status change. */
  private statusChanged(portId: string, before: Rec, status: string): void {
    void this.o.callbacks
      ?.publish('port', Events.AFTER_STATUS_UPDATE, { context: null, resourceId: portId, before, after: { ...before, status } })
      .catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'port status event failed'));
  }

  /** What l2population needs of these ports (their fixed IPs with the row). */
  private async l2Ports(rows: readonly PortTable[]): Promise<Map<string, L2Port>> {
    const ips = new Map<string, Array<{ ip_address: string }>>();
    for (const part of idChunks(
      this.o.db,
      rows.map((r) => r.id),
    )) {
      const q = this.o.db.kysely.selectFrom('ip_allocations').select(['port_id', 'ip_address']);
      for (const a of await whereIdIn(this.o.db, q, 'port_id', part).execute()) {
        (ips.get(a.port_id) ?? ips.set(a.port_id, []).get(a.port_id)!).push({ ip_address: a.ip_address });
      }
    }
    return new Map(
      rows.map((r) => [
        r.id,
        {
          id: r.id,
          network_id: r.network_id,
          mac_address: r.mac_address,
          fixed_ips: ips.get(r.id) ?? [],
          'binding:host_id': r.binding_host_id,
          status: r.status,
        },
      ]),
    );
  }

  /**
   * Sets the status of a port bound to `host`; returns the port before the change (null when
   * the port is gone, bound elsewhere, or already had that status).
   */
  private async setStatus(portId: string, host: string | undefined, status: 'ACTIVE' | 'DOWN'): Promise<{ exists: boolean; changed: Rec | null }> {
    const before = await this.port(portId);
    if (!before) return { exists: false, changed: null };
    if (host && before['binding:host_id'] !== host) return { exists: true, changed: null };
    if (before.status === status) return { exists: true, changed: null };
    const n = await inTransaction(this.o.db, async (tx) => {
      let q = tx
        .updateTable('ports')
        .set((eb) => ({ status, revision_number: eb('revision_number', '+', 1), updated_at: nowIso() }))
        .where('id', '=', portId)
        .where('status', '!=', status);
      if (host) q = q.where('binding_host_id', '=', host);
      return Number((await q.executeTakeFirst()).numUpdatedRows);
    });
    if (n > 0) this.statusChanged(portId, before, status);
    return { exists: true, changed: n > 0 ? before : null };
  }

  async deviceUp(args: DeviceArgs): Promise<void> {
    const id = await deviceToPortId(this.o.db, String(args.device ?? ''));
    if (!id) return;
    const r = await this.setStatus(id, args.host, 'ACTIVE');
    if (r.changed) await this.notifyL2pop(() => this.o.l2pop.portUp(r.changed as unknown as L2Port, r.changed!['binding:host_id'] as string));
    const row = (await portRows(this.o.db, [id])).get(id);
    if (row) await this.notifyL2pop(() => this.hostFdb([row], args.host, refreshOf(args)));
  }

  /** The reporting host's own FDB for the networks of these ports bound to it (see L2Population.hostFdbOnUp). */
  private async hostFdb(rows: readonly PortTable[], host: string | undefined, refresh: boolean): Promise<void> {
    for (const [h, ps] of groupByHost(rows.filter((r) => !host || r.binding_host_id === host))) {
      const byNet = new Map<string, number>();
      for (const r of ps) byNet.set(r.network_id, (byNet.get(r.network_id) ?? 0) + 1);
      await this.o.l2pop.hostFdbOnUp(h, byNet, refresh);
    }
  }

  async deviceDown(args: DeviceArgs): Promise<Rec> {
    const device = String(args.device ?? '');
    const id = await deviceToPortId(this.o.db, device);
    if (!id) return { device, exists: false };
    const r = await this.setStatus(id, args.host, 'DOWN');
    if (r.changed) await this.notifyL2pop(() => this.o.l2pop.portDown(r.changed as unknown as L2Port, r.changed!['binding:host_id'] as string));
    return { device, exists: r.exists };
  }

  private async notifyL2pop(fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'l2population notification failed');
    }
  }

  handlers(): RpcHandlers {
    return {
      get_device_details: (_ctx, args: DeviceArgs) => this.deviceDetails(args),
      get_devices_details_list: (_ctx, args: DeviceArgs & { devices?: string[] }) => this.devicesDetails(args.devices ?? [], args),
      get_devices_details_list_and_failed_devices: async (_ctx, args: DeviceArgs & { devices?: string[] }) => {
        try {
          return { devices: await this.devicesDetails(args.devices ?? [], args), failed_devices: [] };
        } catch (err) {
          // Find out which ones fail: one by one.
          this.log.warn({ err: (err as Error).message }, 'get_devices_details_list_and_failed_devices: retrying device by device');
          const devices: Rec[] = [];
          const failed: string[] = [];
          for (const device of args.devices ?? []) {
            try {
              devices.push(await this.deviceDetails({ ...args, device }));
            } catch {
              failed.push(device);
            }
          }
          return { devices, failed_devices: failed };
        }
      },
      update_device_up: async (_ctx, args: DeviceArgs) => {
        await this.deviceUp(args);
        return null;
      },
      update_device_down: (_ctx, args: DeviceArgs) => this.deviceDown(args),
      update_device_list: async (_ctx, args: DeviceArgs & { devices_up?: string[]; devices_down?: string[] }) => {
        try {
          return await this.devicesUpDown(args.devices_up ?? [], args.devices_down ?? [], args.host, refreshOf(args));
        } catch (err) {
          this.log.warn({ err: (err as Error).message }, 'update_device_list: retrying device by device');
        }
        const r = { devices_up: [] as string[], failed_devices_up: [] as string[], devices_down: [] as Rec[], failed_devices_down: [] as string[] };
        for (const device of args.devices_up ?? []) {
          try {
            await this.deviceUp({ device, host: args.host, agent_id: args.agent_id, refresh_tunnels: refreshOf(args) });
            r.devices_up.push(device);
          } catch {
            r.failed_devices_up.push(device);
          }
        }
        for (const device of args.devices_down ?? []) {
          try {
            r.devices_down.push(await this.deviceDown({ device, host: args.host, agent_id: args.agent_id }));
          } catch {
            r.failed_devices_down.push(device);
          }
        }
        return r;
      },
      get_fdb_entries: (_ctx, args: { host?: string; network_ids?: string[] }) => {
        if (!args.host) throw new Error('get_fdb_entries needs a host');
        return this.o.l2pop.fdbForHost(args.host, args.network_ids);
      },
    };
  }
}

/** After-commit port notifications: port_update / port_delete fanouts and l2population. */
export class AgentNotifier {
  constructor(
    private readonly bus: RpcBus,
    private readonly l2pop: L2Population,
    private readonly db: Db,
    private readonly binding: BindingOptions,
    private readonly log: RpcLogger = silentLogger,
  ) {}

  /** Every committed port change, the API's and the service plugins' (router and floating IP ports). */
  subscribe(callbacks: CallbackRegistry): void {
    const opts = { name: 'l2-agent-notifier' };
    callbacks.subscribe('port', Events.AFTER_UPDATE, (p: EventPayload) => this.updated(p.before!, p.after!), opts);
    callbacks.subscribe('port', Events.AFTER_DELETE, (p: EventPayload) => this.deleted(p.before!), opts);
  }

  async updated(before: Rec, after: Rec): Promise<void> {
    try {
      const host = after['binding:host_id'] as string;
      const seg = host ? await boundSegment(this.db.kysely, after.network_id as string, host, this.binding) : null;
      await this.bus.fanout(
        PORT_UPDATE_TOPIC,
        'port_update',
        {
          port: after,
          network_type: seg?.network_type ?? null,
          segmentation_id: seg?.segmentation_id ?? null,
          physical_network: seg?.physical_network ?? null,
        },
        { context: newRpcContext() },
      );
      const oldHost = before['binding:host_id'] as string;
      if (before.status === 'ACTIVE' && oldHost && oldHost !== host) {
        // Moved away: the old host's entries go (the new host's agent will report the port up).
        await this.l2pop.portDown(before as unknown as L2Port, oldHost);
      } else if (before.status === 'ACTIVE' && after.status === 'ACTIVE' && ipsChanged(before, after)) {
        const gone = { ...before, fixed_ips: diffIps(before, after) } as unknown as L2Port;
        const added = { ...after, fixed_ips: diffIps(after, before) } as unknown as L2Port;
        const rm = await this.l2pop.portEntries(gone, host, false);
        if (rm) await this.l2pop.fanout('remove_fdb_entries', rm);
        const add = await this.l2pop.portEntries(added, host, false);
        if (add) await this.l2pop.fanout('add_fdb_entries', add);
      }
    } catch (err) {
      this.log.warn({ port: after.id, err: (err as Error).message }, 'port update notification failed');
    }
  }

  async deleted(before: Rec): Promise<void> {
    try {
      await this.bus.fanout(PORT_DELETE_TOPIC, 'port_delete', { port_id: before.id }, { context: newRpcContext() });
      const host = before['binding:host_id'] as string;
      if (before.status === 'ACTIVE' && host) await this.l2pop.portDown(before as unknown as L2Port, host);
    } catch (err) {
      this.log.warn({ port: before.id, err: (err as Error).message }, 'port delete notification failed');
    }
  }
}

type Ips = Array<{ ip_address: string }>;
const ipSet = (p: Rec) => new Set(((p.fixed_ips as Ips | undefined) ?? []).map((i) => i.ip_address));
function ipsChanged(a: Rec, b: Rec): boolean {
  const x = ipSet(a);
  const y = ipSet(b);
  return x.size !== y.size || [...x].some((i) => !y.has(i));
}
/** Fixed IPs of a that b lacks. */
function diffIps(a: Rec, b: Rec): Ips {
  const y = ipSet(b);
  return ((a.fixed_ips as Ips | undefined) ?? []).filter((i) => !y.has(i.ip_address));
}

/** refresh_tunnels, or agent_restarted as agents before RPC 1.8 call it. */
const refreshOf = (a: DeviceArgs): boolean => a.refresh_tunnels === true || a.agent_restarted === true;

/** The fields of a port that device details use (the rest of toDicts' lists are not read). */
const DETAIL_FIELDS = ['id', 'fixed_ips', 'allowed_address_pairs', 'security_groups'];

function groupByHost(rows: readonly PortTable[]): Map<string, PortTable[]> {
  const m = new Map<string, PortTable[]>();
  for (const r of rows) if (r.binding_host_id) (m.get(r.binding_host_id) ?? m.set(r.binding_host_id, []).get(r.binding_host_id)!).push(r);
  return m;
}

/** get_device_details' answer for a port bound with a bridge VIF to `segment`. */
function detailsOf(
  device: string,
  port: Rec,
  segment: { network_type: string; segmentation_id: number | null; physical_network: string | null },
  mtu: number | null,
): Rec {
  return {
    device,
    network_id: port.network_id,
    port_id: port.id,
    mac_address: port.mac_address,
    admin_state_up: port.admin_state_up,
    network_type: segment.network_type,
    segmentation_id: segment.segmentation_id,
    physical_network: segment.physical_network,
    mtu,
    fixed_ips: port.fixed_ips,
    device_owner: port.device_owner,
    allowed_address_pairs: port.allowed_address_pairs,
    port_security_enabled: port.port_security_enabled ?? true,
    security_groups: port.security_groups ?? [],
    qos_policy_id: null,
    qos_network_policy_id: null,
    profile: port['binding:profile'] ?? {},
    propagate_uplink_status: false,
  };
}

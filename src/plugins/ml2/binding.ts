// Port binding in ML2 with the Linux-bridge mechanism driver (Neutron's
// LinuxbridgeMechanismDriver on SimpleAgentMechanismDriverBase): a port whose binding:host_id has
// a live 'Linux bridge agent' that can reach one of the network's segments is bound with
// vif_type 'bridge' and vif_details {port_filter, connectivity: 'l2'}; otherwise its vif_type is
// 'binding_failed' (or 'unbound' without a host).
//
// Like Neutron, binding happens after the port's own transaction has committed (ML2's
// _bind_port_if_needed), in a transaction of its own that re-checks the host it bound for.
// The bound segment is not stored: a Linux-bridge port is bound to the first segment its agent
// can reach, which is recomputed from the same inputs when needed (see boundSegment).
import type { Reader, Tx } from '../../db/tx.js';
import { inTransaction, nowIso } from '../../db/tx.js';
import type { Db } from '../../db/connection.js';
import { isoAt } from '../agents/agents.js';
import { macOnBindingCommit, type MacSettings } from './mac-override.js';
import { AGENT_TYPE_LINUXBRIDGE, VIF_TYPE_BINDING_FAILED, VIF_TYPE_BRIDGE, VIF_TYPE_UNBOUND } from '../../core/wire.js';

/** vnic types the Linux-bridge driver binds (SimpleAgentMechanismDriverBase's default). */
const SUPPORTED_VNIC_TYPES = new Set(['normal']);

export interface BoundSegment {
  id: string;
  network_type: string;
  physical_network: string | null;
  segmentation_id: number | null;
}

export interface AgentInfo {
  id: string;
  host: string;
  alive: boolean;
  admin_state_up: boolean;
  configurations: Record<string, unknown>;
}

export interface BindResult {
  vif_type: string;
  vif_details: Record<string, unknown>;
  segment: BoundSegment | null;
}

/** Network types the agent can serve: its tunnel types plus local, flat and vlan. */
export function allowedNetworkTypes(agent: AgentInfo): Set<string> {
  const tunnels = Array.isArray(agent.configurations.tunnel_types) ? (agent.configurations.tunnel_types as string[]) : [];
  return new Set([...tunnels, 'local', 'flat', 'vlan']);
}

/** physnet → interface or bridge: interface_mappings merged with bridge_mappings. */
export function agentMappings(agent: AgentInfo): Record<string, string> {
  const c = agent.configurations;
  const obj = (v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, string>) : {});
  return { ...obj(c.interface_mappings), ...obj(c.bridge_mappings) };
}

/** SimpleAgentMechanismDriverBase.check_segment_for_agent. */
export function segmentReachable(seg: BoundSegment, agent: AgentInfo): boolean {
  if (!allowedNetworkTypes(agent).has(seg.network_type)) return false;
  if (seg.network_type === 'flat' || seg.network_type === 'vlan') {
    return seg.physical_network !== null && seg.physical_network in agentMappings(agent);
  }
  return true;
}

/**
 * Pure binding decision: the first live agent and the first of the network's segments (in
 * order) it reaches. port_filter is true: the agent is the one filtering (security groups).
 */
export function decideBinding(host: string, vnicType: string, agents: readonly AgentInfo[], segments: readonly BoundSegment[]): BindResult {
  if (!host) return { vif_type: VIF_TYPE_UNBOUND, vif_details: {}, segment: null };
  if (SUPPORTED_VNIC_TYPES.has(vnicType)) {
    for (const agent of agents) {
      if (!agent.alive || agent.host !== host) continue;
      const seg = segments.find((s) => segmentReachable(s, agent));
      if (seg) return { vif_type: VIF_TYPE_BRIDGE, vif_details: { port_filter: true, connectivity: 'l2' }, segment: seg };
    }
  }
  return { vif_type: VIF_TYPE_BINDING_FAILED, vif_details: {}, segment: null };
}

export interface BindingOptions {
  /** [DEFAULT] agent_down_time, seconds. */
  agentDownTime: number;
  now?: () => number;
  /** MAC generation for port-mac-override (direct-physical ports); without it MACs stay as they are. */
  mac?: MacSettings;
}

/** The Linux-bridge agents of a host (alive computed as /v2.0/agents does). */
export async function linuxbridgeAgents(db: Reader, host: string, o: BindingOptions): Promise<AgentInfo[]> {
  const cutoff = isoAt((o.now ?? Date.now)() - o.agentDownTime * 1000);
  const rows = await db.selectFrom('agents').selectAll().where('agent_type', '=', AGENT_TYPE_LINUXBRIDGE).where('host', '=', host).execute();
  return rows.map((r) => ({
    id: r.id,
    host: r.host,
    alive: r.heartbeat_timestamp >= cutoff,
    admin_state_up: Number(r.admin_state_up) === 1,
    configurations: safeJson(r.configurations),
  }));
}

export async function networkSegments(db: Reader, networkId: string): Promise<BoundSegment[]> {
  const rows = await db
    .selectFrom('network_segments')
    .select(['id', 'network_type', 'physical_network', 'segmentation_id', 'segment_index'])
    .where('network_id', '=', networkId)
    .orderBy('segment_index')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    network_type: r.network_type,
    physical_network: r.physical_network,
    segmentation_id: r.segmentation_id === null ? null : Number(r.segmentation_id),
  }));
}

/** The segment a port bound to `host` on `networkId` uses; null when it cannot be bound there. */
export async function boundSegment(db: Reader, networkId: string, host: string, o: BindingOptions): Promise<BoundSegment | null> {
  if (!host) return null;
  return decideBinding(host, 'normal', await linuxbridgeAgents(db, host, o), await networkSegments(db, networkId)).segment;
}

export interface BindOutcome extends BindResult {
  /** The row was changed (vif_type or details differ from what was stored). */
  changed: boolean;
}

/**
 * (Re)binds one port for the host it currently has, in a transaction of its own. Returns null if
 * the port is gone. Writes only when the outcome differs from the stored binding; a change bumps
 * the revision as any other port update does.
 */
export async function bindPort(db: Db, portId: string, o: BindingOptions, expectHost?: string): Promise<BindOutcome | null> {
  return inTransaction(db, async (tx: Tx) => {
    const row = await tx
      .selectFrom('ports')
      .select([
        'id',
        'network_id',
        'mac_address',
        'binding_host_id',
        'binding_vnic_type',
        'binding_profile',
        'binding_vif_type',
        'binding_vif_details',
        'revision_number',
      ])
      .where('id', '=', portId)
      .executeTakeFirst();
    if (!row) return null;
    if (expectHost !== undefined && row.binding_host_id !== expectHost) return null; // re-bound meanwhile: the newer update binds
    const r = decideBinding(
      row.binding_host_id,
      row.binding_vnic_type,
      await linuxbridgeAgents(tx, row.binding_host_id, o),
      await networkSegments(tx, row.network_id),
    );
    const details = JSON.stringify(r.vif_details);
    // A binding is committed for a port with a host: a direct-physical port takes its device's MAC.
    const mac = row.binding_host_id && o.mac ? await macOnBindingCommit(tx, row, o.mac) : null;
    const macChanged = mac !== null && mac !== row.mac_address;
    const changed = r.vif_type !== row.binding_vif_type || details !== row.binding_vif_details || macChanged;
    if (changed) {
      await tx
        .updateTable('ports')
        .set({
          ...(macChanged ? { mac_address: mac } : {}),
          binding_vif_type: r.vif_type,
          binding_vif_details: details,
          revision_number: Number(row.revision_number) + 1,
          updated_at: nowIso(),
        })
        .where('id', '=', portId)
        .execute();
    }
    return { ...r, changed };
  });
}

function safeJson(text: string): Record<string, unknown> {
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

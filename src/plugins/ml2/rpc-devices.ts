// Many devices at once for the L2 agents' list RPCs (get_devices_details_list, update_device_list):
// an agent that restarts on a host with 1,000 ports asks about all of them in one call, and
// answering port by port would cost ~10 queries each. Here each step is one query per table,
// whatever the number of devices.
import type { Db } from '../../db/connection.js';
import type { PortTable } from '../../db/schema.js';
import type { Reader } from '../../db/tx.js';
import { idChunks, whereIdIn } from '../common/list-sql.js';
import { decideBinding, linuxbridgeAgents, type AgentInfo, type BindingOptions, type BoundSegment } from './binding.js';

/** A device name as a port id, or a lowercase id prefix to look up; null when it cannot be one. */
export function deviceIdPart(device: string): string | null {
  const d = (device.startsWith('tap') ? device.slice(3) : device).toLowerCase();
  return /^[0-9a-f-]{1,36}$/.test(d) ? d : null;
}

/**
 * device → port id (or null), like deviceToPortId for each: a full id is taken as is; a short
 * one (a tap name) is matched against the asking host's ports first (one query), and the rest
 * with one prefix query each, as Neutron does.
 */
export async function devicesToPortIds(
  db: Db,
  devices: readonly string[],
  host: string | undefined,
  one: (device: string) => Promise<string | null>,
): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>();
  const short: Array<[string, string]> = [];
  for (const device of devices) {
    const part = deviceIdPart(device);
    if (part === null) out.set(device, null);
    else if (part.length === 36) out.set(device, part);
    else short.push([device, part]);
  }
  if (short.length && host) {
    const ids = (await db.kysely.selectFrom('ports').select('id').where('binding_host_id', '=', host).orderBy('id').execute()).map((r) => r.id);
    const byPrefix = new Map<string, string>();
    for (const len of new Set(short.map(([, p]) => p.length))) {
      for (const id of ids) if (!byPrefix.has(`${len}:${id.slice(0, len)}`)) byPrefix.set(`${len}:${id.slice(0, len)}`, id);
    }
    for (const [device, part] of short) {
      const id = byPrefix.get(`${part.length}:${part}`);
      if (id) out.set(device, id);
    }
  }
  for (const [device] of short) if (!out.has(device)) out.set(device, await one(device));
  return out;
}

/** Port rows by id, in as few queries as the backend allows. */
export async function portRows(db: Db, ids: readonly string[]): Promise<Map<string, PortTable>> {
  const out = new Map<string, PortTable>();
  for (const part of idChunks(db, [...new Set(ids)])) {
    for (const r of await whereIdIn(db, db.kysely.selectFrom('ports').selectAll(), 'id', part).execute()) out.set(r.id, r as PortTable);
  }
  return out;
}

/** Network → MTU. */
export async function networkMtus(db: Db, networkIds: readonly string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const part of idChunks(db, [...new Set(networkIds)])) {
    for (const r of await whereIdIn(db, db.kysely.selectFrom('networks').select(['id', 'mtu']), 'id', part).execute()) out.set(r.id, Number(r.mtu));
  }
  return out;
}

/** Network → its segments in order (what networkSegments gives, for many networks). */
export async function segmentsOf(db: Db, networkIds: readonly string[], reader: Reader = db.kysely): Promise<Map<string, BoundSegment[]>> {
  const out = new Map<string, BoundSegment[]>();
  for (const part of idChunks(db, [...new Set(networkIds)])) {
    const q = reader
      .selectFrom('network_segments')
      .select(['id', 'network_id', 'network_type', 'physical_network', 'segmentation_id', 'segment_index']);
    const rows = await whereIdIn(db, q, 'network_id', part).orderBy('network_id').orderBy('segment_index').execute();
    for (const r of rows) {
      const list = out.get(r.network_id) ?? out.set(r.network_id, []).get(r.network_id)!;
      list.push({
        id: r.id,
        network_type: r.network_type,
        physical_network: r.physical_network,
        segmentation_id: r.segmentation_id === null ? null : Number(r.segmentation_id),
      });
    }
  }
  return out;
}

/**
 * boundSegment for many (network, host) pairs: each host's agents and each network's segments
 * are read once.
 */
export class SegmentResolver {
  private readonly agents = new Map<string, Promise<AgentInfo[]>>();
  private segments: Map<string, BoundSegment[]> = new Map();

  constructor(
    private readonly db: Db,
    private readonly o: BindingOptions,
  ) {}

  async preload(networkIds: readonly string[]): Promise<void> {
    const missing = [...new Set(networkIds)].filter((n) => !this.segments.has(n));
    if (!missing.length) return;
    const got = await segmentsOf(this.db, missing);
    for (const n of missing) this.segments.set(n, got.get(n) ?? []);
  }

  async segment(networkId: string, host: string): Promise<BoundSegment | null> {
    if (!host) return null;
    await this.preload([networkId]);
    let agents = this.agents.get(host);
    if (!agents) this.agents.set(host, (agents = linuxbridgeAgents(this.db.kysely, host, this.o)));
    return decideBinding(host, 'normal', await agents, this.segments.get(networkId) ?? []).segment;
  }
}

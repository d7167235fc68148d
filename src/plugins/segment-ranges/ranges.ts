// Network segment ranges (network-segment-range), as Neutron's network_segment_range service
// plugin has them: an admin adds shared ranges or ranges of one project for the VLAN, VXLAN and
// Geneve type drivers, which then allocate tenant segments from them (type-drivers.ts: the
// project's ranges first, then the shared ones). Default ranges mirror the configuration and are
// read-only. A range may not overlap another non-default range of its type (and physical
// network); it cannot be deleted while a network segment uses an id in it, nor have a bound moved
// onto or past an id in use. Every write of a type's ranges holds that type's lock row first (so
// two overlapping creates cannot both pass the check), then the range row FOR UPDATE (which waits
// for allocations drawing from it, see type-drivers.ts); the allocation rows of the ids it
// covered or covers are brought in line in the same transaction.
import { createHash } from 'node:crypto';
import type { RequestContext } from '../../core/context.js';
import type { Rec } from '../../core/resource.js';
import { NOT_SPECIFIED } from '../../definitions/common.js';
import { networkSegmentRangeDef } from '../../definitions/network-segment-range.js';
import type { Db } from '../../db/connection.js';
import type { NetworkSegmentRangeTable } from '../../db/schema.js';
import { b2i, forUpdate, i2b, inTransaction, nowIso, type Reader, type Tx } from '../../db/tx.js';
import { VLAN_MAX, VLAN_MIN, VNI_LIMITS } from '../../config/index.js';
import { loadTags } from '../common/list-sql.js';
import { checkRevision } from '../common/standard.js';
import { TableResource } from '../common/table-resource.js';
import type { Ml2Context } from '../ml2/context.js';
import { allocationPhysnet, RANGE_TYPES } from '../ml2/type-drivers.js';
import {
  networkSegmentRangeDefaultReadOnly,
  networkSegmentRangeNetTypeNotSupported,
  networkSegmentRangeNotFound,
  networkSegmentRangeOverlaps,
  networkSegmentRangeReferencedByProject,
  networkTunnelRangeError,
  networkVlanRangeError,
  physicalNetworkRequired,
} from './errors.js';

type Row = NetworkSegmentRangeTable;

/** Checks a range against its type's id space (neutron-lib's verify_vlan_range / verify_tunnel_range). */
function checkBounds(type: string, min: number, max: number): void {
  if (type === 'vlan') {
    for (const id of [min, max]) if (id < VLAN_MIN || id > VLAN_MAX) throw networkVlanRangeError(min, max, `${id} is not a valid VLAN tag`);
    if (max < min) throw networkVlanRangeError(min, max, 'End of VLAN range is less than start of VLAN range');
    return;
  }
  const [lo, hi] = VNI_LIMITS[type as 'vxlan' | 'geneve'];
  for (const id of [min, max]) if (id < lo || id > hi) throw networkTunnelRangeError(min, max, `${id} is not a valid ${type} identifier`);
  if (max < min) throw networkTunnelRangeError(min, max, 'End of tunnel range is less than start of tunnel range');
}

/** The id a default range always has: the same on every server with the same configuration. */
export function defaultRangeId(type: string, physnet: string, min: number, max: number): string {
  const h = createHash('sha1').update(`network_segment_range\0${type}\0${physnet}\0${min}\0${max}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The lock row of one type's ranges (in project_locks, the table of named lock rows). */
const typeLock = (type: string) => `network_segment_ranges:${type}`;

export class NetworkSegmentRangeHandler extends TableResource<'network_segment_ranges'> {
  constructor(private readonly m: Ml2Context) {
    // Admin only by policy: no owner scoping on top.
    super({ def: networkSegmentRangeDef, db: m.db, notFound: networkSegmentRangeNotFound, visibility: 'all' });
  }

  protected async dictsOf(_ctx: RequestContext, db: Reader, rows: Row[], fields: string[]): Promise<Rec[]> {
    const want = (f: string) => fields.length === 0 || fields.includes(f);
    const tags = want('tags')
      ? await loadTags(
          db,
          rows.map((r) => r.id),
          this.m.db,
        )
      : new Map<string, string[]>();
    const out: Rec[] = [];
    for (const r of rows) {
      out.push({
        id: r.id,
        name: r.name,
        default: i2b(r.is_default),
        shared: i2b(r.shared),
        project_id: r.project_id,
        network_type: r.network_type,
        physical_network: r.physical_network,
        minimum: Number(r.minimum),
        maximum: Number(r.maximum),
        ...(want('used') ? { used: await this.used(db, r) } : {}),
        ...(want('available') ? { available: await this.available(db, r) } : {}),
        description: r.description,
        created_at: r.created_at,
        updated_at: r.updated_at,
        revision_number: Number(r.revision_number),
        tags: tags.get(r.id) ?? [],
      });
    }
    return out;
  }

  /** The network segments with an id in the range, whoever allocated them. */
  private segmentsIn(db: Reader, r: Pick<Row, 'network_type' | 'physical_network'>, min: number, max: number) {
    let q = db
      .selectFrom('network_segments')
      .innerJoin('networks', 'networks.id', 'network_segments.network_id')
      .select(['network_segments.segmentation_id', 'networks.project_id'])
      .where('network_segments.network_type', '=', r.network_type)
      .where('network_segments.segmentation_id', '>=', min)
      .where('network_segments.segmentation_id', '<=', max);
    q = r.network_type === 'vlan' ? q.where('network_segments.physical_network', '=', r.physical_network) : q;
    return q.orderBy('network_segments.segmentation_id');
  }

  /** Segmentation id -> the project of the network using it. */
  private async used(db: Reader, r: Row): Promise<Record<string, string>> {
    const rows = await this.segmentsIn(db, r, Number(r.minimum), Number(r.maximum)).execute();
    return Object.fromEntries(rows.map((s) => [String(s.segmentation_id), s.project_id]));
  }

  /** The free ids of the range. */
  private async available(db: Reader, r: Row): Promise<number[]> {
    const rows = await db
      .selectFrom('segment_allocations')
      .select('segmentation_id')
      .where('network_type', '=', r.network_type)
      .where('physical_network', '=', allocationPhysnet(r.network_type, r.physical_network))
      .where('segmentation_id', '>=', Number(r.minimum))
      .where('segmentation_id', '<=', Number(r.maximum))
      .where('allocated', '=', 0)
      .orderBy('segmentation_id')
      .execute();
    return rows.map((a) => Number(a.segmentation_id));
  }

  /** Refuses a range that overlaps another non-default range of its type and physical network. */
  private async checkOverlap(tx: Tx, r: Pick<Row, 'id' | 'network_type' | 'physical_network' | 'minimum' | 'maximum'>): Promise<void> {
    let q = tx
      .selectFrom('network_segment_ranges')
      .select('id')
      .where('is_default', '=', 0)
      .where('network_type', '=', r.network_type)
      .where('id', '!=', r.id)
      .where('minimum', '<=', r.maximum)
      .where('maximum', '>=', r.minimum);
    q = r.physical_network === null ? q.where('physical_network', 'is', null) : q.where('physical_network', '=', r.physical_network);
    const overlapping = await q.orderBy('id').execute();
    if (overlapping.length) throw networkSegmentRangeOverlaps(overlapping.map((o) => o.id));
  }

  async create(_ctx: RequestContext, bodies: Rec[]): Promise<Rec[]> {
    return inTransaction(this.db, async (tx) => {
      const rows: Row[] = [];
      for (const body of bodies) rows.push(await this.createOne(tx, body));
      return this.dictsOf(_ctx, tx, rows, []);
    });
  }

  private async createOne(tx: Tx, body: Rec): Promise<Row> {
    const type = body.network_type as string;
    if (!(RANGE_TYPES as readonly string[]).includes(type) || !this.m.types.supports(type)) throw networkSegmentRangeNetTypeNotSupported(type);
    let physnet: string | null = null;
    if (type === 'vlan') {
      if (body.physical_network === NOT_SPECIFIED) throw physicalNetworkRequired();
      physnet = body.physical_network as string;
    }
    const min = body.minimum as number;
    const max = body.maximum as number;
    checkBounds(type, min, max);
    const shared = body.shared === true;
    const now = nowIso();
    const row: Row = {
      id: body.id as string,
      name: body.name as string,
      is_default: 0,
      shared: b2i(shared),
      project_id: shared ? null : (body.project_id as string),
      network_type: type,
      physical_network: physnet,
      minimum: min,
      maximum: max,
      description: (body.description as string | undefined) ?? '',
      revision_number: 0,
      created_at: now,
      updated_at: now,
    };
    await this.m.quota.lockProject(tx, typeLock(type));
    await this.checkOverlap(tx, row);
    await tx.insertInto('network_segment_ranges').values(row).execute();
    await this.m.types.resyncSpan(tx, type, allocationPhysnet(type, physnet), min, max);
    return row;
  }

  /** The range row, locked after its type's lock row (the order every range write takes them in). */
  private async lockRange(tx: Tx, id: string): Promise<Row> {
    const found = await tx.selectFrom('network_segment_ranges').select('network_type').where('id', '=', id).executeTakeFirst();
    if (!found) throw this.notFound(id);
    await this.m.quota.lockProject(tx, typeLock(found.network_type));
    const row = await forUpdate(this.db, tx.selectFrom('network_segment_ranges').selectAll().where('id', '=', id)).executeTakeFirst();
    if (!row) throw this.notFound(id);
    if (i2b(row.is_default)) throw networkSegmentRangeDefaultReadOnly(id);
    return row;
  }

  async update(ctx: RequestContext, id: string, body: Rec, expectRevision?: number): Promise<Rec> {
    return inTransaction(this.db, async (tx) => {
      const row = await this.lockRange(tx, id);
      checkRevision(row.revision_number, expectRevision);
      const oldMin = Number(row.minimum);
      const oldMax = Number(row.maximum);
      const min = 'minimum' in body ? (body.minimum as number) : oldMin;
      const max = 'maximum' in body ? (body.maximum as number) : oldMax;
      // As Neutron: a bound given must leave the ids in use strictly inside the range.
      const inUse = await this.segmentsIn(tx, row, oldMin, oldMax).execute();
      if (inUse.length) {
        const lowest = Number(inUse[0]!.segmentation_id);
        const highest = Number(inUse[inUse.length - 1]!.segmentation_id);
        if (('minimum' in body && min >= lowest) || ('maximum' in body && max <= highest)) throw networkSegmentRangeReferencedByProject(id);
      }
      checkBounds(row.network_type, min, max);
      const next: Row = {
        ...row,
        name: 'name' in body ? (body.name as string) : row.name,
        description: 'description' in body ? (body.description as string) : row.description,
        minimum: min,
        maximum: max,
        revision_number: Number(row.revision_number) + 1,
        updated_at: nowIso(),
      };
      if (min !== oldMin || max !== oldMax) await this.checkOverlap(tx, next);
      const { id: _id, ...set } = next;
      await tx.updateTable('network_segment_ranges').set(set).where('id', '=', id).execute();
      const physnet = allocationPhysnet(row.network_type, row.physical_network);
      await this.m.types.resyncSpan(tx, row.network_type, physnet, Math.min(min, oldMin), Math.max(max, oldMax));
      return (await this.dictsOf(ctx, tx, [next], []))[0]!;
    });
  }

  async delete(_ctx: RequestContext, id: string, expectRevision?: number): Promise<void> {
    await inTransaction(this.db, async (tx) => {
      const row = await this.lockRange(tx, id);
      checkRevision(row.revision_number, expectRevision);
      const inUse = await this.segmentsIn(tx, row, Number(row.minimum), Number(row.maximum)).limit(1).execute();
      if (inUse.length) throw networkSegmentRangeReferencedByProject(id);
      await tx.deleteFrom('tags').where('resource_id', '=', id).execute();
      await tx.deleteFrom('network_segment_ranges').where('id', '=', id).execute();
      const physnet = allocationPhysnet(row.network_type, row.physical_network);
      await this.m.types.resyncSpan(tx, row.network_type, physnet, Number(row.minimum), Number(row.maximum));
    });
  }
}

/**
 * Makes the default ranges those of the configuration (Neutron's
 * _delete_expired_default_network_segment_ranges and _populate_new_default_network_segment_ranges):
 * default rows no longer configured go, configured ones are added. Their ids are derived from the
 * range, so servers starting together insert the same rows and the loser's insert is a no-op.
 */
export async function writeDefaultRanges(db: Db, m: Ml2Context): Promise<void> {
  const wanted: Row[] = [];
  const now = nowIso();
  for (const type of RANGE_TYPES) {
    for (const r of m.types.configuredRanges(type)) {
      const physnet = type === 'vlan' ? r.physnet : null;
      wanted.push({
        id: defaultRangeId(type, r.physnet, r.min, r.max),
        name: '',
        is_default: 1,
        shared: 1,
        project_id: null,
        network_type: type,
        physical_network: physnet,
        minimum: r.min,
        maximum: r.max,
        description: '',
        revision_number: 0,
        created_at: now,
        updated_at: now,
      });
    }
  }
  await inTransaction(db, async (tx) => {
    const existing = await tx.selectFrom('network_segment_ranges').select('id').where('is_default', '=', 1).execute();
    const keep = new Set(wanted.map((w) => w.id));
    const expired = existing.map((e) => e.id).filter((id) => !keep.has(id));
    if (expired.length) {
      await tx.deleteFrom('tags').where('resource_id', 'in', expired).execute();
      await tx.deleteFrom('network_segment_ranges').where('id', 'in', expired).execute();
    }
    const have = new Set(existing.map((e) => e.id));
    const missing = wanted.filter((w) => !have.has(w.id));
    if (missing.length) {
      const q = tx.insertInto('network_segment_ranges').values(missing);
      await (db.dialect === 'mysql' ? q.ignore() : q.onConflict((oc) => oc.doNothing())).execute();
    }
  });
}

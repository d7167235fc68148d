// ML2 type drivers: validation of provider segments, allocation of tenant segments from the
// configured ranges, release, and MTU per type. The database guarantees that a segment id is
// never handed out twice: every allocation is a conditional UPDATE (or an INSERT) of the row
// keyed by (type, physnet, id), so a concurrent loser sees zero rows and picks again.
//
// With network segment ranges (network-segment-range) the ranges are rows of
// network_segment_ranges instead of the configuration, and a project's network takes its id from
// the project's own ranges first, then from the shared ones, leaving out ids of ranges that belong
// to other projects (Neutron's get_segments_for_project / get_segments_shared). The ranges an
// allocation draws from are read FOR SHARE, so a range cannot be shrunk or deleted under an
// allocation that has not committed yet (those writes take the range row FOR UPDATE).
import { sql, type RawBuilder, type SqlBool } from 'kysely';
import { invalidInput, type NeutronError } from '../../core/errors.js';
import { flatNetworkInUse, noNetworkAvailable, segmentAllocationContention, tunnelIdInUse, vlanIdInUse } from './errors.js';
import { forUpdate, type Reader, type Tx } from '../../db/tx.js';
import type { Db } from '../../db/connection.js';
import { isDuplicateKey } from '../../db/connection.js';
import type { Ml2Settings } from './settings.js';

export interface Segment {
  network_type: string;
  physical_network: string | null;
  segmentation_id: number | null;
}

const TUNNEL_TYPES = new Set(['vxlan', 'geneve']);
const MAX_ID: Record<string, number> = { vlan: 4094, vxlan: 16777215, geneve: 16777215 };
/** The types whose tenant segments come from ranges. */
export const RANGE_TYPES = ['vlan', 'vxlan', 'geneve'] as const;

export interface IdRange {
  /** '' for the tunnel types. */
  physnet: string;
  min: number;
  max: number;
}

/** The allocation row's physical network of a segment ('' for the tunnel types, which have none). */
export const allocationPhysnet = (type: string, physnet: string | null): string => (type === 'vlan' ? (physnet ?? '') : '');

/** The parts of `ranges` that no range of `minus` (on the same physical network) covers. */
export function subtractSpans(ranges: readonly IdRange[], minus: readonly IdRange[]): IdRange[] {
  const out: IdRange[] = [];
  for (const r of ranges) {
    let pieces: IdRange[] = [r];
    for (const m of minus) {
      if (m.physnet !== r.physnet) continue;
      pieces = pieces.flatMap((p) => {
        if (m.max < p.min || m.min > p.max) return [p];
        const left = m.min > p.min ? [{ ...p, max: m.min - 1 }] : [];
        const right = m.max < p.max ? [{ ...p, min: m.max + 1 }] : [];
        return [...left, ...right];
      });
    }
    out.push(...pieces);
  }
  return out;
}

export class TypeDrivers {
  constructor(
    private readonly s: Ml2Settings,
    private readonly db: Db,
  ) {}

  private enabled(type: string): boolean {
    return this.s.typeDrivers.includes(type);
  }

  private vlanPhysnets(): Set<string> {
    return new Set(this.s.vlanRanges.map((r) => r.physnet));
  }

  /** Whether ranges are rows of network_segment_ranges (the network_segment_range plugin is loaded). */
  private rangeTable = false;

  /** From now on the ranges are those of network_segment_ranges (the plugin wrote the defaults). */
  useRangeTable(): void {
    this.rangeTable = true;
  }

  /** Whether the type's driver is loaded ([ml2] type_drivers). */
  supports(type: string): boolean {
    return this.enabled(type);
  }

  /** The ranges of the configuration ([ml2_type_vlan] network_vlan_ranges, vni_ranges). */
  configuredRanges(type: string): IdRange[] {
    return this.enabled(type) ? this.rangesOf(type) : [];
  }

  /** The ranges in force: the configuration's, or the range table's. */
  async ranges(db: Reader, type: string): Promise<IdRange[]> {
    if (!this.rangeTable) return this.configuredRanges(type);
    if (!this.enabled(type)) return [];
    const rows = await db
      .selectFrom('network_segment_ranges')
      .select(['physical_network', 'minimum', 'maximum'])
      .where('network_type', '=', type)
      .execute();
    return rows.map((r) => ({ physnet: allocationPhysnet(type, r.physical_network), min: Number(r.minimum), max: Number(r.maximum) }));
  }

  private rangesOf(type: string): Array<{ physnet: string; min: number; max: number }> {
    if (type === 'vlan') {
      return this.s.vlanRanges.filter((r) => r.min !== undefined).map((r) => ({ physnet: r.physnet, min: r.min!, max: r.max! }));
    }
    const r = type === 'vxlan' ? this.s.vxlanRanges : type === 'geneve' ? this.s.geneveRanges : [];
    return r.map(([min, max]) => ({ physnet: '', min, max }));
  }

  /** Validates a provider segment as ML2's type drivers do; returns it normalised. */
  validateProviderSegment(seg: Segment): Segment {
    const type = seg.network_type;
    if (!this.enabled(type)) throw invalidInput(`network_type value '${type}' not supported`);
    const phys = seg.physical_network ?? null;
    const sid = seg.segmentation_id ?? null;
    switch (type) {
      case 'local':
        if (phys !== null) throw invalidInput('provider:physical_network specified for local network');
        if (sid !== null) throw invalidInput('provider:segmentation_id specified for local network');
        return { network_type: type, physical_network: null, segmentation_id: null };
      case 'flat':
        if (sid !== null) throw invalidInput('provider:segmentation_id specified for flat network');
        if (phys === null) throw invalidInput('provider:physical_network required for flat provider network');
        if (!this.s.flatNetworks.includes('*') && !this.s.flatNetworks.includes(phys)) {
          throw invalidInput(`physical_network '${phys}' unknown for flat provider network`);
        }
        return { network_type: type, physical_network: phys, segmentation_id: null };
      case 'vlan':
        if (phys === null) {
          if (sid !== null) throw invalidInput('provider:physical_network required for segmentation_id in VLAN provider network');
          return { network_type: type, physical_network: null, segmentation_id: null };
        }
        if (!this.vlanPhysnets().has(phys)) throw invalidInput(`physical_network '${phys}' unknown for VLAN provider network`);
        if (sid !== null && (sid < 1 || sid > 4094)) {
          throw invalidInput(`segmentation_id out of range (1 through 4094)`);
        }
        return { network_type: type, physical_network: phys, segmentation_id: sid };
      case 'vxlan':
      case 'geneve':
        if (phys !== null) throw invalidInput(`provider:physical_network specified for ${type} network`);
        if (sid !== null && (sid < 1 || sid > MAX_ID[type]!)) {
          throw invalidInput(`segmentation_id out of range (1 through ${MAX_ID[type]})`);
        }
        return { network_type: type, physical_network: null, segmentation_id: sid };
      default:
        throw invalidInput(`network_type value '${type}' not supported`);
    }
  }

  /** Fills the allocation table for the configured ranges; drops free rows no longer in range. */
  async syncAllocations(): Promise<void> {
    const k = this.db.kysely;
    for (const type of ['vlan', 'vxlan', 'geneve']) {
      const ranges = await this.ranges(k, type);
      const wanted = new Set<string>();
      for (const r of ranges) for (let i = r.min; i <= r.max; i++) wanted.add(`${r.physnet}\u0000${i}`);
      const existing = await k
        .selectFrom('segment_allocations')
        .select(['physical_network', 'segmentation_id', 'allocated'])
        .where('network_type', '=', type)
        .execute();
      const have = new Set<string>();
      const stale: Array<{ p: string; id: number }> = [];
      for (const row of existing) {
        const key = `${row.physical_network}\u0000${row.segmentation_id}`;
        have.add(key);
        if (!wanted.has(key) && !row.allocated) stale.push({ p: row.physical_network, id: row.segmentation_id });
      }
      const missing = [...wanted]
        .filter((w) => !have.has(w))
        .map((w) => {
          const [p, id] = w.split('\u0000');
          return { network_type: type, physical_network: p!, segmentation_id: Number(id), allocated: 0 };
        });
      for (let i = 0; i < missing.length; i += 500) {
        const chunk = missing.slice(i, i + 500);
        // Several servers may sync at once: rows another one inserted are fine.
        let q = k.insertInto('segment_allocations').values(chunk);
        if (this.db.dialect === 'mysql') q = q.ignore();
        else q = q.onConflict((oc) => oc.doNothing());
        await q.execute();
      }
      for (const s of stale) {
        await k
          .deleteFrom('segment_allocations')
          .where('network_type', '=', type)
          .where('physical_network', '=', s.p)
          .where('segmentation_id', '=', s.id)
          .where('allocated', '=', 0)
          .execute();
      }
    }
  }

  /** Reserves the given provider segment (flat physnet, VLAN id, VNI), or a free one in range. */
  async reserveProvider(tx: Tx, seg: Segment, projectId?: string): Promise<Segment> {
    const type = seg.network_type;
    if (type === 'local') return seg;
    if (type === 'flat') {
      await this.reserveExact(tx, 'flat', seg.physical_network!, 0, () => flatNetworkInUse(seg.physical_network!));
      return seg;
    }
    if (seg.segmentation_id === null) {
      const got = await this.allocateFree(tx, type, type === 'vlan' ? seg.physical_network : null, projectId);
      if (!got) throw noNetworkAvailable();
      return got;
    }
    const physnet = type === 'vlan' ? seg.physical_network! : '';
    const id = seg.segmentation_id;
    await this.reserveExact(tx, type, physnet, id, () => (type === 'vlan' ? vlanIdInUse(id, physnet) : tunnelIdInUse(id)));
    return seg;
  }

  /** A segment for a project network: the first tenant type with room. */
  async allocateTenantSegment(tx: Tx, projectId?: string): Promise<Segment> {
    for (const type of this.s.tenantNetworkTypes) {
      if (type === 'local') return { network_type: 'local', physical_network: null, segmentation_id: null };
      if (type === 'flat') continue;
      const got = await this.allocateFree(tx, type, null, projectId);
      if (got) return got;
    }
    throw noNetworkAvailable();
  }

  private async reserveExact(tx: Tx, type: string, physnet: string, id: number, inUse: () => NeutronError): Promise<void> {
    const upd = await tx
      .updateTable('segment_allocations')
      .set({ allocated: 1 })
      .where('network_type', '=', type)
      .where('physical_network', '=', physnet)
      .where('segmentation_id', '=', id)
      .where('allocated', '=', 0)
      .executeTakeFirst();
    if (Number(upd.numUpdatedRows) === 1) return;
    const row = await tx
      .selectFrom('segment_allocations')
      .select('allocated')
      .where('network_type', '=', type)
      .where('physical_network', '=', physnet)
      .where('segmentation_id', '=', id)
      .executeTakeFirst();
    if (row) throw inUse();
    try {
      await tx
        .insertInto('segment_allocations')
        .values({ network_type: type, physical_network: physnet, segmentation_id: id, allocated: 1 })
        .execute();
    } catch (err) {
      if (isDuplicateKey(err)) throw inUse();
      throw err;
    }
  }

  private async allocateFree(tx: Tx, type: string, physnet: string | null, projectId?: string): Promise<Segment | null> {
    if (!this.rangeTable || projectId === undefined) return this.allocateFrom(tx, type, physnet, null);
    // The project's own ranges first, then the shared ones without other projects' ranges.
    const own = await this.readRanges(tx, type, physnet, sql<SqlBool>`project_id = ${projectId}`, true);
    const got = own.length ? await this.allocateFrom(tx, type, physnet, own) : null;
    if (got) return got;
    const shared = await this.readRanges(tx, type, physnet, sql<SqlBool>`shared = 1`, true);
    const others = await this.readRanges(tx, type, physnet, sql<SqlBool>`project_id is not null and project_id <> ${projectId}`, false);
    const spans = subtractSpans(shared, others);
    return spans.length ? this.allocateFrom(tx, type, physnet, spans) : null;
  }

  /**
   * The ranges `which` picks, as spans of allocation rows; `lock`: held FOR SHARE until the
   * transaction ends (see the header). The spans are read first and given to the allocating
   * SELECT as plain bounds: a subquery there would be locked (and skipped) by MariaDB's FOR UPDATE.
   */
  private async readRanges(tx: Tx, type: string, physnet: string | null, which: RawBuilder<SqlBool>, lock: boolean): Promise<IdRange[]> {
    let q = tx.selectFrom('network_segment_ranges').select(['physical_network', 'minimum', 'maximum']).where('network_type', '=', type).where(which);
    if (type === 'vlan' && physnet !== null) q = q.where('physical_network', '=', physnet);
    q = q.orderBy('id');
    // MariaDB has no FOR SHARE; LOCK IN SHARE MODE is the same lock there. SQLite has one writer.
    if (lock && this.db.dialect === 'mysql') q = q.modifyEnd(sql`lock in share mode`);
    else if (lock && this.db.dialect === 'postgres') q = q.forShare();
    const rows = await q.execute();
    return rows.map((r) => ({ physnet: allocationPhysnet(type, r.physical_network), min: Number(r.minimum), max: Number(r.maximum) }));
  }

  /** A free id of the type (and physical network), within `spans` when given: the lowest, locked and taken. */
  private async allocateFrom(tx: Tx, type: string, physnet: string | null, spans: IdRange[] | null): Promise<Segment | null> {
    for (let attempt = 0; attempt < 50; attempt++) {
      let q = tx
        .selectFrom('segment_allocations')
        .select(['physical_network', 'segmentation_id'])
        .where('network_type', '=', type)
        .where('allocated', '=', 0);
      if (physnet !== null) q = q.where('physical_network', '=', physnet);
      if (spans) {
        q = q.where((eb) =>
          eb.or(
            spans.map((r) =>
              eb.and([eb('physical_network', '=', r.physnet), eb('segmentation_id', '>=', r.min), eb('segmentation_id', '<=', r.max)]),
            ),
          ),
        );
      }
      q = q.orderBy('physical_network').orderBy('segmentation_id');
      // SKIP LOCKED lets concurrent allocators take different rows instead of queueing on one. Not
      // on MariaDB within spans: there it may lock every candidate row it scans before the LIMIT
      // (an index scan plus sort), so concurrent allocators would skip them all; a few candidates
      // read without locks, each taken by the conditional UPDATE below, do there.
      const plainRead = this.db.dialect === 'mysql' && spans !== null;
      if (this.db.dialect !== 'sqlite' && !plainRead) q = forUpdate(this.db, q).skipLocked();
      const rows = await q.limit(plainRead ? 8 : 1).execute();
      if (!rows.length) return null;
      for (const row of rows) {
        const upd = await tx
          .updateTable('segment_allocations')
          .set({ allocated: 1 })
          .where('network_type', '=', type)
          .where('physical_network', '=', row.physical_network)
          .where('segmentation_id', '=', row.segmentation_id)
          .where('allocated', '=', 0)
          .executeTakeFirst();
        if (Number(upd.numUpdatedRows) === 1) {
          return { network_type: type, physical_network: type === 'vlan' ? row.physical_network : null, segmentation_id: row.segmentation_id };
        }
      }
    }
    throw segmentAllocationContention(type);
  }

  /**
   * Brings the allocation rows of ids min..max of one type (and physical network) in line with the
   * ranges in force, after a range there was created, changed or deleted: rows for the ids a range
   * covers, free rows of ids none covers gone (a taken id keeps its row until it is released).
   */
  async resyncSpan(tx: Tx, type: string, physnet: string, min: number, max: number): Promise<void> {
    const ranges = (await this.ranges(tx, type)).filter((r) => r.physnet === physnet && r.max >= min && r.min <= max);
    const covered = (id: number) => ranges.some((r) => id >= r.min && id <= r.max);
    const rows = await tx
      .selectFrom('segment_allocations')
      .select(['segmentation_id', 'allocated'])
      .where('network_type', '=', type)
      .where('physical_network', '=', physnet)
      .where('segmentation_id', '>=', min)
      .where('segmentation_id', '<=', max)
      .execute();
    const have = new Set(rows.map((r) => Number(r.segmentation_id)));
    const stale = rows.filter((r) => !Number(r.allocated) && !covered(Number(r.segmentation_id))).map((r) => Number(r.segmentation_id));
    for (let i = 0; i < stale.length; i += 500) {
      await tx
        .deleteFrom('segment_allocations')
        .where('network_type', '=', type)
        .where('physical_network', '=', physnet)
        .where('segmentation_id', 'in', stale.slice(i, i + 500))
        .where('allocated', '=', 0)
        .execute();
    }
    const missing: number[] = [];
    for (const r of ranges) for (let id = Math.max(r.min, min); id <= Math.min(r.max, max); id++) if (!have.has(id)) missing.push(id);
    const unique = [...new Set(missing)];
    for (let i = 0; i < unique.length; i += 500) {
      const values = unique.slice(i, i + 500).map((id) => ({ network_type: type, physical_network: physnet, segmentation_id: id, allocated: 0 }));
      const q = tx.insertInto('segment_allocations').values(values);
      await (this.db.dialect === 'mysql' ? q.ignore() : q.onConflict((oc) => oc.doNothing())).execute();
    }
  }

  /** Frees a segment: back to the pool when in range, otherwise the row goes. */
  async release(tx: Tx, seg: Segment): Promise<void> {
    const type = seg.network_type;
    if (type === 'local') return;
    const physnet = type === 'vxlan' || type === 'geneve' ? '' : (seg.physical_network ?? '');
    const id = type === 'flat' ? 0 : (seg.segmentation_id ?? 0);
    const inRange = type !== 'flat' && (await this.ranges(tx, type)).some((r) => r.physnet === physnet && id >= r.min && id <= r.max);
    const where = tx
      .updateTable('segment_allocations')
      .set({ allocated: 0 })
      .where('network_type', '=', type)
      .where('physical_network', '=', physnet)
      .where('segmentation_id', '=', id);
    if (inRange) await where.execute();
    else {
      await tx
        .deleteFrom('segment_allocations')
        .where('network_type', '=', type)
        .where('physical_network', '=', physnet)
        .where('segmentation_id', '=', id)
        .execute();
    }
  }

  /** Largest MTU a network of these segments can carry (ML2's _get_network_mtu). */
  maxMtu(segments: Segment[]): number {
    const mtus = segments.map((s) => this.segmentMtu(s)).filter((m) => m > 0);
    return mtus.length ? Math.min(...mtus) : this.s.globalPhysnetMtu;
  }

  private segmentMtu(s: Segment): number {
    const base = [this.s.globalPhysnetMtu, this.s.pathMtu].filter((m) => m > 0);
    const ipHeader = this.s.overlayIpVersion === 6 ? 40 : 20;
    if (TUNNEL_TYPES.has(s.network_type)) {
      const m = base.length ? Math.min(...base) : 0;
      if (!m) return 0;
      return s.network_type === 'vxlan' ? m - 30 - ipHeader : m - this.s.geneveMaxHeaderSize - ipHeader;
    }
    if (s.network_type === 'flat' || s.network_type === 'vlan') {
      const phys = s.physical_network ? this.s.physnetMtus[s.physical_network] : undefined;
      const all = [this.s.globalPhysnetMtu, ...(phys ? [phys] : [])].filter((m) => m > 0);
      return all.length ? Math.min(...all) : 0;
    }
    return 0;
  }
}

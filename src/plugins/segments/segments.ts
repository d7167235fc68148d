// Segments (segment, standard-attr-segment): the ML2 network_segments rows as an API resource, as
// Neutron's segments service plugin with ML2 does them. A create reserves its segmentation id
// through the same type drivers as networks (so the database still guarantees no id is handed
// out twice) and takes the next segment_index; the network then shows its segments through
// provider:* (one) or `segments` (several), read from these same rows. Only name and description
// change. A delete is refused while subnets are associated with the segment or bound ports use
// it, and gives the id back to the type driver. Writes lock the network row first, as subnet
// creates do, so segment deletes and subnets on that segment never cross.
import type { RequestContext } from '../../core/context.js';
import { NOT_SPECIFIED } from '../../definitions/common.js';
import { segmentDef } from '../../definitions/segment.js';
import type { Rec } from '../../core/resource.js';
import type { NetworkSegmentTable } from '../../db/schema.js';
import { forUpdate, inTransaction, nowIso, type Reader, type Tx } from '../../db/tx.js';
import { invalidInput } from '../../core/errors.js';
import { loadTags } from '../common/list-sql.js';
import { checkRevision } from '../common/standard.js';
import { TableResource } from '../common/table-resource.js';
import type { Ml2Context } from '../ml2/context.js';
import { networkNotFound } from '../ml2/errors.js';
import { decideBinding, linuxbridgeAgents, networkSegments, type BindingOptions } from '../ml2/binding.js';
import type { Segment } from '../ml2/type-drivers.js';
import { segmentInUse, segmentNotFound } from './errors.js';
import { VIF_TYPE_BRIDGE } from '../../core/wire.js';

const given = (v: unknown) => v !== NOT_SPECIFIED && v !== undefined && v !== null;

export class SegmentHandler extends TableResource<'network_segments'> {
  constructor(
    private readonly m: Ml2Context,
    private readonly binding: BindingOptions,
  ) {
    // Segments have no owner: who sees them is the policy's call alone (admin by default).
    super({ def: segmentDef, db: m.db, notFound: segmentNotFound, visibility: 'all' });
  }

  protected dictsOf(_ctx: RequestContext, db: Reader, rows: NetworkSegmentTable[]): Promise<Rec[]> {
    return this.toDicts(db, rows);
  }

  private async toDicts(db: Reader, rows: NetworkSegmentTable[]): Promise<Rec[]> {
    const tags = await loadTags(
      db,
      rows.map((r) => r.id),
      this.m.db,
    );
    return rows.map((r) => ({
      id: r.id,
      network_id: r.network_id,
      name: r.name,
      description: r.description,
      physical_network: r.physical_network,
      network_type: r.network_type,
      segmentation_id: r.segmentation_id === null ? null : Number(r.segmentation_id),
      created_at: r.created_at,
      updated_at: r.updated_at,
      revision_number: Number(r.revision_number),
      tags: tags.get(r.id) ?? [],
    }));
  }

  async create(_ctx: RequestContext, bodies: Rec[]): Promise<Rec[]> {
    return inTransaction(this.m.db, async (tx) => {
      const rows: NetworkSegmentTable[] = [];
      for (const body of bodies) rows.push(await this.createOne(tx, body));
      return this.toDicts(tx, rows);
    });
  }

  private async createOne(tx: Tx, body: Rec): Promise<NetworkSegmentTable> {
    const networkId = body.network_id as string;
    const net = await forUpdate(this.m.db, tx.selectFrom('networks').select(['id', 'mtu']).where('id', '=', networkId)).executeTakeFirst();
    if (!net) throw networkNotFound(networkId);
    const requested = this.m.types.validateProviderSegment({
      network_type: body.network_type as string,
      physical_network: given(body.physical_network) ? (body.physical_network as string) : null,
      segmentation_id: given(body.segmentation_id) ? (body.segmentation_id as number) : null,
    });
    const seg = await this.m.types.reserveProvider(tx, requested);
    const existing = await tx
      .selectFrom('network_segments')
      .select(['network_type', 'physical_network', 'segmentation_id', 'segment_index'])
      .where('network_id', '=', networkId)
      .execute();
    // The network's MTU stays; it must still fit every segment (ML2's _get_network_mtu on create).
    const maxMtu = this.m.types.maxMtu([...existing.map(toSegment), seg]);
    if (maxMtu < Number(net.mtu)) {
      throw invalidInput(`Requested MTU is too big, maximum is ${maxMtu}`);
    }
    const now = nowIso();
    const row: NetworkSegmentTable = {
      id: body.id as string,
      network_id: networkId,
      network_type: seg.network_type,
      physical_network: seg.physical_network,
      segmentation_id: seg.segmentation_id,
      segment_index: Math.max(-1, ...existing.map((s) => Number(s.segment_index))) + 1,
      is_dynamic: 0,
      name: given(body.name) ? (body.name as string) : null,
      description: (body.description as string | undefined) ?? '',
      revision_number: 0,
      created_at: now,
      updated_at: now,
    };
    await tx.insertInto('network_segments').values(row).execute();
    return row;
  }

  async update(_ctx: RequestContext, id: string, body: Rec, expectRevision?: number): Promise<Rec> {
    return inTransaction(this.m.db, async (tx) => {
      const row = await forUpdate(this.m.db, tx.selectFrom('network_segments').selectAll().where('id', '=', id)).executeTakeFirst();
      if (!row) throw this.notFound(id);
      checkRevision(row.revision_number, expectRevision);
      const set: Partial<NetworkSegmentTable> = { revision_number: Number(row.revision_number) + 1, updated_at: nowIso() };
      if ('name' in body) set.name = body.name as string | null;
      if ('description' in body) set.description = body.description as string;
      await tx.updateTable('network_segments').set(set).where('id', '=', id).execute();
      return (await this.toDicts(tx, [{ ...row, ...set }]))[0]!;
    });
  }

  async delete(_ctx: RequestContext, id: string, expectRevision?: number): Promise<void> {
    await inTransaction(this.m.db, async (tx) => {
      const found = await tx.selectFrom('network_segments').select('network_id').where('id', '=', id).executeTakeFirst();
      if (!found) throw this.notFound(id);
      await forUpdate(this.m.db, tx.selectFrom('networks').select('id').where('id', '=', found.network_id)).executeTakeFirst();
      const row = await forUpdate(this.m.db, tx.selectFrom('network_segments').selectAll().where('id', '=', id)).executeTakeFirst();
      if (!row) throw this.notFound(id);
      checkRevision(row.revision_number, expectRevision);
      const subnets = await tx.selectFrom('subnets').select('id').where('segment_id', '=', id).orderBy('id').execute();
      if (subnets.length) {
        throw segmentInUse(id, `The segment is still associated with subnet(s) ${subnets.map((s) => s.id).join(', ')}`);
      }
      const bound = await this.boundPortCount(tx, row.network_id, id);
      if (bound) throw segmentInUse(id, `The segment is still bound with ${bound} port(s)`);
      await this.m.types.release(tx, toSegment(row));
      await tx.deleteFrom('tags').where('resource_id', '=', id).execute();
      await tx.deleteFrom('network_segments').where('id', '=', id).execute();
    });
  }

  /**
   * Ports bound through this segment. Bindings do not store their segment (binding.ts): it is the
   * first of the network's segments the host's agent reaches, worked out again per host here.
   */
  private async boundPortCount(tx: Tx, networkId: string, segmentId: string): Promise<number> {
    const ports = await tx
      .selectFrom('ports')
      .select('binding_host_id')
      .where('network_id', '=', networkId)
      .where('binding_vif_type', '=', VIF_TYPE_BRIDGE)
      .where('binding_host_id', '!=', '')
      .execute();
    if (!ports.length) return 0;
    const segments = await networkSegments(tx, networkId);
    const perHost = new Map<string, number>();
    for (const p of ports) perHost.set(p.binding_host_id, (perHost.get(p.binding_host_id) ?? 0) + 1);
    let count = 0;
    for (const [host, n] of perHost) {
      const seg = decideBinding(host, 'normal', await linuxbridgeAgents(tx, host, this.binding), segments).segment;
      if (seg?.id === segmentId) count += n;
    }
    return count;
  }
}

function toSegment(s: Pick<NetworkSegmentTable, 'network_type' | 'physical_network' | 'segmentation_id'>): Segment {
  return {
    network_type: s.network_type,
    physical_network: s.physical_network,
    segmentation_id: s.segmentation_id === null ? null : Number(s.segmentation_id),
  };
}

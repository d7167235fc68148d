// Networks in the ML2 plugin: segments from the type drivers, sharing and external access as
// RBAC entries, MTU from the segments, and in-use checks on delete.
import { randomUUID } from 'node:crypto';
import type { RequestContext } from '../../core/context.js';
import { networkDef } from '../../definitions/network.js';
import { NOT_SPECIFIED } from '../../definitions/common.js';
import { badRequest, invalidAttribute, invalidInput } from '../../core/errors.js';
import { defaultExternalNetworkExists, externalNetworkInUse, networkInUse, networkNotFound, segmentsContainDuplicateEntry } from './errors.js';
import type { Rec } from '../../core/resource.js';
import { letOthersRun } from '../../core/event-loop.js';
import { b2i, forUpdate, i2b, inTransaction, nowIso, type Reader, type Tx } from '../../db/tx.js';
import type { NetworkTable } from '../../db/schema.js';
import { chunks, loadTags } from '../common/list-sql.js';
import { networkVisible, rbacShared } from '../common/visibility.js';
import { TableResource, whereFlag, type RowCondition, type TableQuery } from '../common/table-resource.js';
import { checkRevision, standardFields } from '../common/standard.js';
import type { Ml2Context } from './context.js';
import type { Segment } from './type-drivers.js';
import { networkAddressScopes } from '../subnetpools/allocation.js';
import { checkUnshareNetwork } from '../rbac/kinds.js';
import { DEVICE_OWNER_DHCP, DEVICE_OWNER_DVR_INTERFACE, DEVICE_OWNER_ROUTER_GW, DEVICE_OWNER_ROUTER_HA_INTF } from '../../core/wire.js';
import { Events, type EventPayload } from '../../core/callbacks.js';

/** Ports the network deletes along with itself (Neutron's AUTO_DELETE_PORT_OWNERS). */
export const AUTO_DELETE_PORT_OWNERS = [DEVICE_OWNER_DHCP, DEVICE_OWNER_DVR_INTERFACE, DEVICE_OWNER_ROUTER_HA_INTF];

const PROVIDER_KEYS = ['provider:network_type', 'provider:physical_network', 'provider:segmentation_id'] as const;

function checkMtu(mtu: number, maxMtu: number): void {
  if (mtu > maxMtu) throw invalidInput(`Requested MTU is too big, maximum is ${maxMtu}`);
}

/**
 * Non-admins see their own networks and those any RBAC entry (shared or external) opens to them
 * (Neutron's network model query).
 */
export class NetworkHandler extends TableResource<'networks'> {
  constructor(private readonly m: Ml2Context) {
    super({ def: networkDef, db: m.db, notFound: networkNotFound });
  }

  // ---- reads ---------------------------------------------------------------------------------

  protected override scope(ctx: RequestContext): RowCondition {
    return ctx.isAdmin ? null : networkVisible(ctx, 'networks.project_id', 'networks.id');
  }

  /** `shared`, `subnets` and the provider attributes, which live in other tables. */
  protected override filterRest(ctx: RequestContext, qb: TableQuery<'networks'>, rest: Record<string, unknown[]>): TableQuery<'networks'> {
    const db = this.m.db.kysely;
    for (const [attr, values] of Object.entries(rest)) {
      if (attr === 'shared') {
        qb = whereFlag(qb, values, rbacShared(ctx.projectId, 'network', 'networks.id'));
      } else if (attr === 'subnets') {
        qb = qb.where(
          'networks.id',
          'in',
          db
            .selectFrom('subnets')
            .select('network_id')
            .where('id', 'in', values as string[]),
        );
      } else if (attr.startsWith('provider:')) {
        const col = attr.slice('provider:'.length) as 'network_type' | 'physical_network' | 'segmentation_id';
        qb = qb.where(
          'networks.id',
          'in',
          db
            .selectFrom('network_segments')
            .select('network_id')
            .where(col, 'in', values as never[]),
        );
      }
    }
    return qb;
  }

  protected dictsOf(ctx: RequestContext, db: Reader, rows: NetworkTable[]): Promise<Rec[]> {
    return this.toDicts(ctx, db, rows);
  }

  async parentOwner(): Promise<string | null> {
    return null;
  }

  /** Builds API dicts for many rows with one query per related table. */
  async toDicts(ctx: RequestContext, db: Reader, rows: NetworkTable[]): Promise<Rec[]> {
    const ids = rows.map((r) => r.id);
    const subnets = new Map<string, string[]>();
    const segments = new Map<string, Segment[]>();
    const shared = new Set<string>();
    const p = ctx.projectId ?? '';
    for (const part of chunks(ids)) {
      if (!part.length) continue;
      for (const s of await db
        .selectFrom('subnets')
        .select(['id', 'network_id'])
        .where('network_id', 'in', part)
        .orderBy('created_at')
        .orderBy('id')
        .execute()) {
        const l = subnets.get(s.network_id) ?? [];
        l.push(s.id);
        subnets.set(s.network_id, l);
      }
      for (const s of await db.selectFrom('network_segments').selectAll().where('network_id', 'in', part).orderBy('segment_index').execute()) {
        const l = segments.get(s.network_id) ?? [];
        l.push({
          network_type: s.network_type,
          physical_network: s.physical_network,
          segmentation_id: s.segmentation_id === null ? null : Number(s.segmentation_id),
        });
        segments.set(s.network_id, l);
      }
      for (const r of await db
        .selectFrom('rbac_entries')
        .select('object_id')
        .where('object_type', '=', 'network')
        .where('action', '=', 'access_as_shared')
        .where('target_project', 'in', ['*', p])
        .where('object_id', 'in', part)
        .execute()) {
        shared.add(r.object_id);
      }
    }
    const tags = await loadTags(db, ids);
    const scopes = await networkAddressScopes(db, ids);
    const dicts = rows.map((row) => {
      const segs = segments.get(row.id) ?? [];
      const d: Rec = {
        id: row.id,
        name: row.name,
        admin_state_up: i2b(row.admin_state_up),
        status: row.status,
        subnets: subnets.get(row.id) ?? [],
        shared: shared.has(row.id),
        mtu: Number(row.mtu),
        'router:external': i2b(row.router_external),
        port_security_enabled: i2b(row.port_security_enabled),
        availability_zone_hints: JSON.parse(row.availability_zone_hints) as string[],
        availability_zones: [],
        ipv4_address_scope: scopes.get(row.id)?.[4] ?? null,
        ipv6_address_scope: scopes.get(row.id)?.[6] ?? null,
        ...standardFields(row, tags.get(row.id)),
      };
      // Like Neutron's extender, only an external network carries is_default.
      if (i2b(row.router_external)) d.is_default = i2b(row.is_default);
      if (segs.length > 1) d.segments = segs.map((s) => providerView(s));
      // A network whose segments were all deleted (segment extension) shows null provider values.
      else Object.assign(d, segs[0] ? providerView(segs[0]) : NO_PROVIDER);
      return d;
    });
    for (const e of this.m.extensions ?? []) await e.extendNetworkDicts?.(db, dicts);
    return dicts;
  }

  // ---- writes --------------------------------------------------------------------------------

  async create(ctx: RequestContext, bodies: Rec[]): Promise<Rec[]> {
    await this.m.securityGroups?.ensureDefaultGroups(
      ctx,
      bodies.map((b) => b.project_id as string),
    );
    const out = await inTransaction(this.m.db, async (tx) => {
      const ids: string[] = [];
      for (const body of bodies) {
        ids.push(await this.createOne(tx, ctx, body));
        await letOthersRun();
      }
      const rows = [];
      for (const part of chunks(ids)) rows.push(...(await tx.selectFrom('networks').selectAll().where('id', 'in', part).execute()));
      const byId = new Map(rows.map((r) => [r.id, r]));
      return this.toDicts(
        ctx,
        tx,
        ids.map((id) => byId.get(id)!),
      );
    });
    for (const n of out) {
      await this.m.callbacks.publish('network', Events.AFTER_CREATE, { context: ctx, resourceId: n.id as string, before: null, after: n });
      await letOthersRun();
    }
    return out;
  }

  private requestedSegments(body: Rec): Segment[] | null {
    const providerGiven = PROVIDER_KEYS.some((k) => body[k] !== NOT_SPECIFIED && body[k] !== undefined);
    const segs = body.segments;
    if (segs !== NOT_SPECIFIED && segs !== undefined && segs !== null) {
      if (providerGiven) throw badRequest('Segments and provider values cannot both be set.');
      const list = segs as Rec[];
      if (list.length === 0) return null;
      const out = list.map((s) => this.segmentFrom(s));
      const keys = out.map((s) => `${s.network_type}/${s.physical_network}/${s.segmentation_id}`);
      if (new Set(keys).size !== keys.length) throw segmentsContainDuplicateEntry();
      return out;
    }
    if (!providerGiven) return null;
    return [
      this.segmentFrom({
        'provider:network_type': body['provider:network_type'] === NOT_SPECIFIED ? undefined : body['provider:network_type'],
        'provider:physical_network': body['provider:physical_network'] === NOT_SPECIFIED ? undefined : body['provider:physical_network'],
        'provider:segmentation_id': body['provider:segmentation_id'] === NOT_SPECIFIED ? undefined : body['provider:segmentation_id'],
      }),
    ];
  }

  private segmentFrom(s: Rec): Segment {
    for (const k of Object.keys(s)) {
      if (!(PROVIDER_KEYS as readonly string[]).includes(k)) throw badRequest(`Unrecognized attribute(s) '${k}' in segment`);
    }
    const type = s['provider:network_type'];
    if (type === undefined || type === null || type === '') throw invalidInput('network_type required');
    if (typeof type !== 'string') throw invalidAttribute('provider:network_type', `'${String(type)}' is not a valid string`);
    const phys = s['provider:physical_network'];
    const sid = s['provider:segmentation_id'];
    if (phys !== undefined && phys !== null && typeof phys !== 'string')
      throw invalidAttribute('provider:physical_network', `'${String(phys)}' is not a valid string`);
    let segId: number | null = null;
    if (sid !== undefined && sid !== null && sid !== '') {
      segId = typeof sid === 'number' ? sid : /^\d+$/.test(String(sid)) ? Number(sid) : NaN;
      if (!Number.isInteger(segId)) throw invalidInput(`'${String(sid)}' is not an integer`);
    }
    return this.m.types.validateProviderSegment({
      network_type: type,
      physical_network: (phys as string | null | undefined) || null,
      segmentation_id: segId,
    });
  }

  private async createOne(tx: Tx, ctx: RequestContext, body: Rec): Promise<string> {
    const projectId = body.project_id as string;
    await this.m.quota.enforce(tx, projectId, { network: 1 });
    const requested = this.requestedSegments(body);
    const segments: Segment[] = [];
    if (requested) for (const s of requested) segments.push(await this.m.types.reserveProvider(tx, s));
    else segments.push(await this.m.types.allocateTenantSegment(tx));
    const maxMtu = this.m.types.maxMtu(segments);
    let mtu = maxMtu;
    if (body.mtu !== NOT_SPECIFIED && body.mtu !== undefined) {
      mtu = body.mtu as number;
      checkMtu(mtu, maxMtu);
    }
    for (const e of this.m.extensions ?? []) await e.prepareCreateNetwork?.(tx, ctx, body);
    const now = nowIso();
    const id = body.id as string;
    const external = body['router:external'] === true;
    await tx
      .insertInto('networks')
      .values({
        id,
        project_id: projectId,
        name: body.name as string,
        status: 'ACTIVE',
        admin_state_up: b2i(body.admin_state_up as boolean),
        mtu,
        router_external: b2i(external),
        is_default: b2i(external && (await this.checkDefault(tx, id, body.is_default))),
        port_security_enabled: b2i(body.port_security_enabled !== false),
        availability_zone_hints: JSON.stringify(body.availability_zone_hints ?? []),
        description: body.description as string,
        revision_number: 0,
        created_at: now,
        updated_at: now,
      })
      .execute();
    let index = 0;
    for (const s of segments) {
      await tx
        .insertInto('network_segments')
        .values({
          id: randomUUID(),
          network_id: id,
          network_type: s.network_type,
          physical_network: s.physical_network,
          segmentation_id: s.segmentation_id,
          segment_index: index++,
          is_dynamic: 0,
          name: null,
          description: '',
          revision_number: 0,
          created_at: now,
          updated_at: now,
        })
        .execute();
    }
    if (body.shared === true) await this.addRbac(tx, id, projectId, 'access_as_shared');
    if (external) await this.addRbac(tx, id, projectId, 'access_as_external');
    for (const e of this.m.extensions ?? []) await e.processCreateNetwork?.(tx, ctx, body);
    return id;
  }

  /**
   * is_default as asked (true/false) once one default external network at most remains (Neutron's
   * DefaultExternalNetworkExists), read under the lock of the current default's row.
   */
  private async checkDefault(tx: Tx, id: string, wanted: unknown): Promise<boolean> {
    if (wanted !== true) return false;
    const other = await forUpdate(
      this.m.db,
      tx.selectFrom('networks').select('id').where('is_default', '=', 1).where('router_external', '=', 1).where('id', '!=', id),
    ).executeTakeFirst();
    if (other) throw defaultExternalNetworkExists(other.id);
    return true;
  }

  private async addRbac(tx: Tx, networkId: string, projectId: string, action: string): Promise<void> {
    const ins = tx.insertInto('rbac_entries').values({
      id: randomUUID(),
      object_type: 'network',
      object_id: networkId,
      project_id: projectId,
      target_project: '*',
      action,
    });
    await (this.m.db.dialect === 'mysql' ? ins.ignore() : ins.onConflict((oc) => oc.doNothing())).execute();
  }

  private async removeRbac(tx: Tx, networkId: string, action: string): Promise<void> {
    await tx
      .deleteFrom('rbac_entries')
      .where('object_type', '=', 'network')
      .where('object_id', '=', networkId)
      .where('target_project', '=', '*')
      .where('action', '=', action)
      .execute();
  }

  async update(ctx: RequestContext, id: string, body: Rec, expectRevision?: number): Promise<Rec> {
    const after = await this.updateInTx(ctx, id, body, expectRevision);
    await this.m.callbacks.publish('network', Events.AFTER_UPDATE, { context: ctx, resourceId: id, before: null, after });
    return after;
  }

  private async updateInTx(ctx: RequestContext, id: string, body: Rec, expectRevision?: number): Promise<Rec> {
    return inTransaction(this.m.db, async (tx) => {
      const row = await forUpdate(this.m.db, tx.selectFrom('networks').selectAll().where('id', '=', id)).executeTakeFirst();
      if (!row) throw this.notFound(id);
      checkRevision(row.revision_number, expectRevision);
      const current = (await this.toDicts(ctx, tx, [row]))[0]!;
      for (const k of [...PROVIDER_KEYS, 'segments']) {
        if (k in body && JSON.stringify(body[k]) !== JSON.stringify(current[k])) {
          throw invalidInput('Plugin does not support updating provider attributes');
        }
      }
      const set: Partial<NetworkTable> = {};
      if ('name' in body) set.name = body.name as string;
      if ('description' in body) set.description = body.description as string;
      if ('admin_state_up' in body) set.admin_state_up = b2i(body.admin_state_up as boolean);
      if ('port_security_enabled' in body) set.port_security_enabled = b2i(body.port_security_enabled as boolean);
      if ('mtu' in body) {
        const segs = await tx.selectFrom('network_segments').selectAll().where('network_id', '=', id).execute();
        const maxMtu = this.m.types.maxMtu(
          segs.map((s) => ({ network_type: s.network_type, physical_network: s.physical_network, segmentation_id: s.segmentation_id })),
        );
        checkMtu(body.mtu as number, maxMtu);
        set.mtu = body.mtu as number;
      }
      if ('shared' in body && body.shared !== current.shared) {
        if (body.shared) await this.addRbac(tx, id, row.project_id, 'access_as_shared');
        else {
          // Projects with ports or subnets here must keep access through entries of their own.
          await checkUnshareNetwork(tx, id, row.project_id);
          await this.removeRbac(tx, id, 'access_as_shared');
        }
      }
      if ('router:external' in body && body['router:external'] !== current['router:external']) {
        set.router_external = b2i(body['router:external'] as boolean);
        if (body['router:external']) await this.addRbac(tx, id, row.project_id, 'access_as_external');
        else {
          const gw = await tx
            .selectFrom('ports')
            .select('id')
            .where('network_id', '=', id)
            .where('device_owner', '=', DEVICE_OWNER_ROUTER_GW)
            .limit(1)
            .executeTakeFirst();
          if (gw) throw externalNetworkInUse(id);
          // Every access_as_external entry goes, not only the wildcard (_process_l3_update).
          await tx
            .deleteFrom('rbac_entries')
            .where('object_type', '=', 'network')
            .where('object_id', '=', id)
            .where('action', '=', 'access_as_external')
            .execute();
        }
      }
      // Only an external network keeps is_default (Neutron stores it with the external flag).
      const external = set.router_external !== undefined ? set.router_external === 1 : i2b(row.router_external);
      if (!external) set.is_default = 0;
      else if ('is_default' in body) set.is_default = b2i(await this.checkDefault(tx, id, body.is_default));
      for (const e of this.m.extensions ?? []) await e.processUpdateNetwork?.(tx, ctx, id, body);
      await tx
        .updateTable('networks')
        .set({ ...set, revision_number: Number(row.revision_number) + 1, updated_at: nowIso() })
        .where('id', '=', id)
        .execute();
      return (await this.get(ctx, id, tx))!;
    });
  }

  /**
   * One payload goes through before_delete (e.g. L3 deletes the network's unassociated floating
   * IPs), precommit_delete (in the transaction, before any row goes) and after_delete, so a
   * subscriber may note in `metadata` what it needs to know after the commit.
   */
  async delete(ctx: RequestContext, id: string, expectRevision?: number): Promise<void> {
    const payload: EventPayload<Rec, Tx> = { context: ctx, resourceId: id, before: null, after: null, metadata: {} };
    await this.m.callbacks.publish('network', Events.BEFORE_DELETE, payload);
    await inTransaction(this.m.db, async (tx) => {
      const row = await forUpdate(this.m.db, tx.selectFrom('networks').selectAll().where('id', '=', id)).executeTakeFirst();
      if (!row) throw this.notFound(id);
      checkRevision(row.revision_number, expectRevision);
      await this.m.callbacks.publish('network', Events.PRECOMMIT_DELETE, { ...payload, before: row, tx });
      const inUse = await tx
        .selectFrom('ports')
        .select('id')
        .where('network_id', '=', id)
        .where('device_owner', 'not in', AUTO_DELETE_PORT_OWNERS)
        .limit(1)
        .executeTakeFirst();
      if (inUse) throw networkInUse(id);
      const autoPorts = await tx.selectFrom('ports').select('id').where('network_id', '=', id).execute();
      const portIds = autoPorts.map((p) => p.id);
      if (portIds.length) {
        await tx.deleteFrom('ip_allocations').where('port_id', 'in', portIds).execute();
        await tx.deleteFrom('tags').where('resource_id', 'in', portIds).execute();
        await tx.deleteFrom('ports').where('id', 'in', portIds).execute();
      }
      const subnetIds = (await tx.selectFrom('subnets').select('id').where('network_id', '=', id).execute()).map((s) => s.id);
      if (subnetIds.length) {
        for (const t of ['allocation_pools', 'dns_nameservers', 'subnet_routes'] as const) {
          await tx.deleteFrom(t).where('subnet_id', 'in', subnetIds).execute();
        }
        await tx.deleteFrom('tags').where('resource_id', 'in', subnetIds).execute();
        await tx.deleteFrom('subnets').where('id', 'in', subnetIds).execute();
      }
      const segs = await tx.selectFrom('network_segments').selectAll().where('network_id', '=', id).execute();
      for (const s of segs) {
        await this.m.types.release(tx, { network_type: s.network_type, physical_network: s.physical_network, segmentation_id: s.segmentation_id });
      }
      if (segs.length)
        await tx
          .deleteFrom('tags')
          .where(
            'resource_id',
            'in',
            segs.map((s) => s.id),
          )
          .execute();
      await tx.deleteFrom('network_segments').where('network_id', '=', id).execute();
      await tx.deleteFrom('rbac_entries').where('object_type', '=', 'network').where('object_id', '=', id).execute();
      await tx.deleteFrom('networkdhcpagentbindings').where('network_id', '=', id).execute();
      await tx.deleteFrom('tags').where('resource_id', '=', id).execute();
      await tx.deleteFrom('networks').where('id', '=', id).execute();
      payload.before = row;
    });
    await this.m.callbacks.publish('network', Events.AFTER_DELETE, payload);
  }
}

const NO_PROVIDER = { 'provider:network_type': null, 'provider:physical_network': null, 'provider:segmentation_id': null };

function providerView(s: Segment): Rec {
  return {
    'provider:network_type': s.network_type,
    'provider:physical_network': s.physical_network,
    'provider:segmentation_id': s.segmentation_id,
  };
}

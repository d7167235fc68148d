// The ML2 extension drivers that keep one value per port and do nothing else with it in this
// dataplane (Neutron's port_device_profile, port_numa_affinity_policy[_socket], port_hints,
// port_trusted, uplink_status_propagation[_updatable]): Nova and other backends read them. They share
// the port_attributes table (one row per port, null for "not set"); one driver object serves the
// ones loaded, so a port's values are written and read with one statement each.
import { sql } from 'kysely';
import type { RequestContext } from '../../core/context.js';
import { invalidAttribute } from '../../core/errors.js';
import type { Rec } from '../../core/resource.js';
import { VIF_TYPE_BINDING_FAILED, VIF_TYPE_UNBOUND } from '../../core/wire.js';
import type { PortAttributesTable, PortTable } from '../../db/schema.js';
import type { Reader, Tx } from '../../db/tx.js';
import { NOT_SPECIFIED } from '../../definitions/common.js';
import { idChunks, whereIdIn } from '../common/list-sql.js';
import type { Db } from '../../db/connection.js';
import { portBoundNumaAffinityPolicy } from './errors.js';
import type { Ml2ExtensionDriver } from './extension-drivers.js';
import type { JsonExpr, JsonSql } from '../common/json-sql.js';

/** Neutron's [ml2] extension_drivers names of these drivers, and the aliases each brings. */
export const PORT_ATTRIBUTE_DRIVERS: Readonly<Record<string, readonly string[]>> = {
  port_device_profile: ['port-device-profile'],
  port_numa_affinity_policy: ['port-numa-affinity-policy'],
  port_numa_affinity_policy_socket: ['port-numa-affinity-policy', 'port-numa-affinity-policy-socket'],
  port_hints: ['port-hints'],
  port_trusted: ['port-trusted-vif'],
  uplink_status_propagation: ['uplink-status-propagation'],
  // Neutron's updatable driver only handles updates: it goes with the one above.
  uplink_status_propagation_updatable: ['uplink-status-propagation', 'uplink-status-propagation-updatable'],
};

/**
 * The aliases `[ml2] extension_drivers` loads. Unset, every driver here is loaded (neutrino's
 * default, as it has no other backend to choose); set, only those it names.
 */
export function portAttributeAliases(extensionDrivers: readonly string[]): string[] {
  const names = extensionDrivers.map((x) => x.trim()).filter(Boolean);
  const chosen = names.length ? names.filter((n) => n in PORT_ATTRIBUTE_DRIVERS) : Object.keys(PORT_ATTRIBUTE_DRIVERS);
  return [...new Set(chosen.flatMap((n) => PORT_ATTRIBUTE_DRIVERS[n]!))];
}

type Column = Exclude<keyof PortAttributesTable, 'port_id' | 'ip_allocation'>;

/** One attribute: its alias, its column and how its value is stored and shown. */
interface Attr {
  name: string;
  alias: string;
  column: Column;
  /** What a port without a stored value shows. */
  unset: unknown;
  toDb(v: unknown): string | number | null;
  fromDb(v: string | number | null): unknown;
}

const asText = (v: unknown) => (v === null || v === undefined || v === '' ? null : String(v));
const asBool = (v: unknown) => (v === null || v === undefined ? null : v ? 1 : 0);
const fromBool = (v: string | number | null) => (v === null ? null : Number(v) === 1);

const ATTRS: readonly Attr[] = [
  { name: 'device_profile', alias: 'port-device-profile', column: 'device_profile', unset: null, toDb: asText, fromDb: (v) => v },
  { name: 'numa_affinity_policy', alias: 'port-numa-affinity-policy', column: 'numa_affinity_policy', unset: null, toDb: asText, fromDb: (v) => v },
  {
    name: 'hints',
    alias: 'port-hints',
    column: 'hints',
    unset: null,
    // An empty dict is no hints (Neutron keeps none).
    toDb: (v) => (v && typeof v === 'object' && Object.keys(v).length ? JSON.stringify(v) : null),
    fromDb: (v) => (v === null ? null : JSON.parse(String(v))),
  },
  { name: 'trusted', alias: 'port-trusted-vif', column: 'trusted', unset: null, toDb: asBool, fromDb: fromBool },
  // Ports from before the driver was loaded propagate (Neutron assumes True for them too).
  {
    name: 'propagate_uplink_status',
    alias: 'uplink-status-propagation',
    column: 'propagate_uplink_status',
    unset: true,
    toDb: asBool,
    fromDb: (v) => (v === null ? true : Number(v) === 1),
  },
];

const UNPLUGGED = new Set([VIF_TYPE_UNBOUND, VIF_TYPE_BINDING_FAILED]);

export class PortAttributesDriver implements Ml2ExtensionDriver {
  private readonly attrs: readonly Attr[];
  private readonly socket: boolean;

  constructor(
    private readonly db: Db,
    aliases: ReadonlySet<string>,
  ) {
    this.attrs = ATTRS.filter((a) => aliases.has(a.alias));
    this.socket = aliases.has('port-numa-affinity-policy-socket');
  }

  get empty(): boolean {
    return this.attrs.length === 0;
  }

  private given(body: Rec, a: Attr): boolean {
    return a.name in body && body[a.name] !== NOT_SPECIFIED && body[a.name] !== undefined;
  }

  private checkNuma(body: Rec): void {
    if (body.numa_affinity_policy === 'socket' && !this.socket) {
      throw invalidAttribute('numa_affinity_policy', "'socket' is not in ['required', 'preferred', 'legacy', None]");
    }
  }

  /** The dict values of a port from its stored row (or none). */
  private shown(row: Partial<PortAttributesTable> | undefined, profile: unknown): Rec {
    const out: Rec = {};
    for (const a of this.attrs) {
      const v = row?.[a.column];
      out[a.name] = v === null || v === undefined ? a.unset : a.fromDb(v);
    }
    // port-trusted-vif: a set flag is mirrored in binding:profile, as Neutron shows it.
    if ('trusted' in out && out.trusted !== null) out['binding:profile'] = { ...(profile as Rec), trusted: out.trusted };
    return out;
  }

  /** `fresh`: the port has no row yet (a create that stored no ip_allocation). */
  private async write(tx: Tx, portId: string, values: Partial<PortAttributesTable>, fresh = false): Promise<void> {
    if (!Object.keys(values).length) return;
    const existing = !fresh && (await tx.selectFrom('port_attributes').select('port_id').where('port_id', '=', portId).executeTakeFirst());
    if (existing) await tx.updateTable('port_attributes').set(values).where('port_id', '=', portId).execute();
    else
      await tx
        .insertInto('port_attributes')
        .values({ port_id: portId, ...values })
        .execute();
  }

  async processCreatePort(tx: Tx, _ctx: RequestContext | null, body: Rec): Promise<Rec> {
    this.checkNuma(body);
    const values: Partial<PortAttributesTable> = {};
    for (const a of this.attrs) {
      if (!this.given(body, a)) continue;
      const v = a.toDb(body[a.name]);
      if (v !== null) (values as Record<string, unknown>)[a.column] = v;
    }
    // PortHandler.createOne stores a port's ip_allocation first, unless it is immediate (null).
    const fresh = body.ip_allocation === undefined || body.ip_allocation === 'immediate';
    await this.write(tx, body.id as string, values, fresh);
    return this.shown(values, body['binding:profile'] ?? {});
  }

  async processUpdatePort(tx: Tx, _ctx: RequestContext, port: PortTable, body: Rec): Promise<void> {
    this.checkNuma(body);
    const values: Partial<PortAttributesTable> = {};
    for (const a of this.attrs) {
      if (!this.given(body, a)) continue;
      if (a.name === 'numa_affinity_policy' && !UNPLUGGED.has(port.binding_vif_type)) {
        throw portBoundNumaAffinityPolicy(port.id, port.binding_host_id, body[a.name]);
      }
      (values as Record<string, unknown>)[a.column] = a.toDb(body[a.name]);
    }
    await this.write(tx, port.id, values);
  }

  /** extendPortDicts() in SQL (PortHandler.listJson). */
  portJson(j: JsonSql): Record<string, JsonExpr | null> {
    // The row PortHandler.listJson joins as `pa`.
    const stored = (c: Column) => sql.ref(`pa.${c}`);
    const out: Record<string, JsonExpr | null> = {};
    for (const a of this.attrs) {
      const v = stored(a.column);
      const unset = j.lit(JSON.stringify(a.unset));
      // hints: stored as JSON.stringify wrote them; the others as text or 0/1.
      const shown = a.column === 'hints' ? j.stored(v) : a.toDb === asBool ? j.bool(v) : j.str(v);
      out[a.name] = sql<string>`(case when ${v} is null then ${unset} else ${shown} end)`;
    }
    if (this.attrs.some((a) => a.name === 'trusted')) {
      const t = stored('trusted');
      const profile = sql.ref('ports.binding_profile');
      out['binding:profile'] = sql<string>`(case when ${t} is null then ${j.stored(profile)} else ${j.setKey(profile, 'trusted', j.bool(t))} end)`;
    }
    return out;
  }

  async extendPortDicts(db: Reader, dicts: Rec[], want: (name: string) => boolean): Promise<void> {
    const wanted = this.attrs.some((a) => want(a.name));
    if (!dicts.length || !wanted) return;
    const rows = new Map<string, PortAttributesTable>();
    for (const part of idChunks(
      this.db,
      dicts.map((d) => d.id as string),
    )) {
      const q = whereIdIn(this.db, db.selectFrom('port_attributes').selectAll(), 'port_id', part);
      for (const r of await q.execute()) rows.set(r.port_id, r);
    }
    for (const d of dicts) {
      const shown = this.shown(rows.get(d.id as string), d['binding:profile'] ?? {});
      if (!want('binding:profile') || d['binding:profile'] === undefined) delete shown['binding:profile'];
      for (const [k, v] of Object.entries(shown)) if (k === 'binding:profile' || want(k)) d[k] = v;
    }
  }
}

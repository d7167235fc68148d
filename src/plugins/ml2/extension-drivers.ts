// ML2 extension drivers (Neutron's ml2 ExtensionDriver): features that add attributes to networks
// and ports without the core handlers knowing them (availability zones, DNS integration, QoS's
// qos_policy_id, trunk_details); the same hooks for floating IPs (qos-fip), which the L3 plugin
// calls. Handlers call each hook of every driver, in order, once per resource.
// The prepare* and process* hooks run inside the resource's own write transaction (process* after
// its row is written), so a refused attribute leaves nothing behind; the extend* hooks fill the
// API dicts.
import type { RawBuilder } from 'kysely';
import type { RequestContext } from '../../core/context.js';
import type { Rec } from '../../core/resource.js';
import type { PortTable } from '../../db/schema.js';
import type { Reader, Tx } from '../../db/tx.js';
import type { FixedIp } from './ip-allocator.js';
import type { JsonExpr, JsonSql } from '../common/json-sql.js';

export interface Ml2ExtensionDriver {
  /** Before the network row is written: may refuse, or settle the body's values (defaults). */
  prepareCreateNetwork?(tx: Tx, ctx: RequestContext, body: Rec): Promise<void>;
  /** After the network row is written (its id is `body.id`). */
  processCreateNetwork?(tx: Tx, ctx: RequestContext, body: Rec): Promise<void>;
  processUpdateNetwork?(tx: Tx, ctx: RequestContext, id: string, body: Rec): Promise<void>;
  /**
   * After the port row (its id is `body.id`) and its fixed IPs, `fixedIps`, are written.
   * `ctx` is null for ports a service plugin creates for itself (router and floating IP ports).
   * Returns the attributes the driver adds to the new port's dict: a new port's dict is built
   * from what its create wrote, without asking extendPortDicts.
   */
  processCreatePort?(tx: Tx, ctx: RequestContext | null, body: Rec, fixedIps: readonly FixedIp[]): Promise<Rec | void>;
  processUpdatePort?(tx: Tx, ctx: RequestContext, port: PortTable, body: Rec): Promise<void>;
  extendNetworkDicts?(db: Reader, dicts: Rec[]): Promise<void>;
  /** `want(name)`: whether the caller asked for that attribute (a list's ?fields=). */
  extendPortDicts?(db: Reader, dicts: Rec[], want: (name: string) => boolean): Promise<void>;
  /**
   * What extendPortDicts adds, as SQL giving each attribute's JSON value for a row of `ports`
   * (a value marked j.optional() may be NULL: not set on that port; null: never set), for lists
   * written by the database
   * (PortHandler.listJson). The port's row of port_attributes is joined to it as `pa` (its
   * columns NULL when it has none). A driver with extendPortDicts and without this sends port lists
   * down the generic path.
   */
  portJson?(j: JsonSql): Record<string, JsonExpr | null>;
  /**
   * An SQL condition on a row of `ports` under which portJson() cannot write that port's dict
   * (a value computed in code for rare rows); a list with such a row takes the generic path.
   */
  portJsonFallback?(j: JsonSql): RawBuilder<unknown> | undefined;
  processCreateFloatingip?(tx: Tx, ctx: RequestContext, body: Rec): Promise<void>;
  processUpdateFloatingip?(tx: Tx, ctx: RequestContext, id: string, body: Rec): Promise<void>;
  extendFloatingipDicts?(db: Reader, dicts: Rec[]): Promise<void>;
  /** Routers' API dicts (and so their sync_routers data): conntrack_helpers. */
  extendRouterDicts?(db: Reader, dicts: Rec[]): Promise<void>;
  /** After a router's row and gateway are written on create (`body`: the request, its id set). */
  processCreateRouter?(tx: Tx, ctx: RequestContext, body: Rec): Promise<void>;
  /** After a router's update (its gateway included) is written, before the commit; `gwBefore`: its gateway port before. */
  processUpdateRouter?(tx: Tx, ctx: RequestContext, routerId: string, body: Rec, gwBefore: string | null): Promise<void>;
  /** Before the router's interface on this subnet goes (may refuse). */
  beforeRemoveRouterInterface?(tx: Tx, routerId: string, subnetId: string): Promise<void>;
}

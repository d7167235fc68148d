// The ML2 port handler with port binding and agent notifications on top of PortHandler's
// storage: after a port's transaction commits, (re)bind it for its binding:host_id (Neutron binds
// post-commit too), then tell the agents (port_update / port_delete fanouts, l2population).
import { adminContext, type RequestContext } from '../../core/context.js';
import type { Rec } from '../../core/resource.js';
import { inTransaction, nowIso } from '../../db/tx.js';
import { PortHandler } from './ports.js';
import type { Ml2Context } from './context.js';
import { bindPort, type BindingOptions } from './binding.js';
import { VIF_TYPE_BINDING_FAILED } from '../../core/wire.js';

/** What the RPC side wants to hear about ports; every call happens after commit. */
export interface PortEvents {
  /** Ports were created (their admin view, binding included). */
  created?(after: Rec[]): Promise<void> | void;
  /** A port changed (any attribute, binding included); `before` is its admin view before. */
  updated(before: Rec, after: Rec): Promise<void> | void;
  deleted(before: Rec): Promise<void> | void;
}

/** Several listeners as one, called in order. */
export function allPortEvents(...list: Array<PortEvents | null | undefined>): PortEvents {
  const ls = list.filter((e): e is PortEvents => !!e);
  return {
    async created(after) {
      for (const e of ls) await e.created?.(after);
    },
    async updated(before, after) {
      for (const e of ls) await e.updated(before, after);
    },
    async deleted(before) {
      for (const e of ls) await e.deleted(before);
    },
  };
}

/** The admin view of ports, for binding and notifications. */
const SYSTEM: RequestContext = adminContext('req-binding');

export class Ml2PortHandler extends PortHandler {
  events: PortEvents | null = null;

  constructor(private readonly ctx2: Ml2Context, private readonly binding: BindingOptions) {
    super(ctx2);
  }

  override async create(ctx: RequestContext, bodies: Rec[]): Promise<Rec[]> {
    const created = await super.create(ctx, bodies);
    const out: Rec[] = [];
    for (const p of created) {
      const host = p['binding:host_id'];
      if (typeof host === 'string' && host) {
        const r = await bindPort(this.ctx2.db, p.id as string, this.binding, host);
        out.push(r?.changed ? ((await this.get(ctx, p.id as string)) ?? p) : p);
      } else {
        out.push(p);
      }
    }
    if (this.events?.created) await this.events.created(out);
    return out;
  }

  override async update(ctx: RequestContext, id: string, body: Rec, expectRevision?: number): Promise<Rec> {
    const before = await this.get(SYSTEM, id);
    if (before) await this.ctx2.securityGroups?.ensureDefaultGroups(ctx, [before.project_id as string]);
    let after = await super.update(ctx, id, body, expectRevision);
    if (!before) return after; // concurrently created? super.update would have thrown NotFound
    // `after` is the port as this update committed it (read in its transaction); port dicts do not
    // depend on the caller, so it is also the admin view unless binding below changes the port.
    const hostBefore = before['binding:host_id'] as string;
    const host = after['binding:host_id'] as string | undefined;
    const hostChanged = host !== undefined && host !== hostBefore;
    if (hostChanged && before.status !== 'DOWN') {
      // The port left the host whose agent reported it up: it is down until the new one says so.
      await inTransaction(this.ctx2.db, async (tx) => {
        await tx.updateTable('ports').set({ status: 'DOWN', updated_at: nowIso() }).where('id', '=', id).where('binding_host_id', '=', host).execute();
      });
    }
    const wantsBind = 'binding:host_id' in body || 'binding:vnic_type' in body || after['binding:vif_type'] === VIF_TYPE_BINDING_FAILED;
    let changed = hostChanged;
    if (host !== undefined && wantsBind) changed = !!(await bindPort(this.ctx2.db, id, this.binding, host))?.changed || changed;
    let adminAfter: Rec | null = after;
    if (changed) {
      adminAfter = await this.get(SYSTEM, id);
      after = adminAfter ?? after;
    }
    if (this.events && adminAfter) await this.events.updated(before, adminAfter);
    return after;
  }

  override async delete(ctx: RequestContext, id: string, expectRevision?: number): Promise<void> {
    await this.deleteReturningBefore(ctx, id, expectRevision, this.events !== null);
  }

  /**
   * Deletes the port; returns its admin view from just before (null when `wantBefore` is false
   * and no one listens to events), so that wrappers (the DHCP notifier) need not read it again.
   */
  async deleteReturningBefore(ctx: RequestContext, id: string, expectRevision?: number, wantBefore = true): Promise<Rec | null> {
    const before = wantBefore || this.events ? await this.get(SYSTEM, id) : null;
    await super.delete(ctx, id, expectRevision);
    if (before && this.events) await this.events.deleted(before);
    return before;
  }

  /** Binds a port again for its current host (an agent came alive, get_device_details). */
  rebind(id: string, host: string) {
    return bindPort(this.ctx2.db, id, this.binding, host);
  }
}

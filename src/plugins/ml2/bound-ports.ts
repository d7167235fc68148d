// The ML2 port handler with port binding and events on top of PortHandler's storage: after a
// port's transaction commits, (re)bind it for its binding:host_id (Neutron binds post-commit
// too), then publish the port's after_create / after_update / after_delete events (admin views)
// for whoever tells the agents (L2, DHCP, security groups).
import { letOthersRun } from '../../core/event-loop.js';
import { adminContext, type RequestContext } from '../../core/context.js';
import type { Rec } from '../../core/resource.js';
import { inTransaction, nowIso, type Reader } from '../../db/tx.js';
import { Events } from '../../core/callbacks.js';
import { PortHandler } from './ports.js';
import type { Ml2Context } from './context.js';
import { bindPort, type BindingOptions } from './binding.js';
import { VIF_TYPE_BINDING_FAILED } from '../../core/wire.js';

/** The admin view of ports, for binding and notifications. */
const SYSTEM: RequestContext = adminContext('req-binding');

export class Ml2PortHandler extends PortHandler {
  constructor(
    private readonly ctx2: Ml2Context,
    private readonly binding: BindingOptions,
  ) {
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
    const callbacks = this.ctx2.callbacks;
    for (const p of out) {
      await callbacks.publish('port', Events.AFTER_CREATE, { context: ctx, resourceId: p.id as string, before: null, after: p });
      await letOthersRun();
    }
    return out;
  }

  /** The port each request read last: the controller reads it before an update, which needs it as `before`. */
  private readonly lastRead = new WeakMap<RequestContext, Rec>();

  override async get(ctx: RequestContext, id: string, db?: Reader): Promise<Rec | null> {
    const d = await super.get(ctx, id, db);
    if (d && db === undefined) this.lastRead.set(ctx, d);
    return d;
  }

  /** The port before a write: port dicts do not depend on the caller, so the one this request has just read is the admin view. */
  private async before(ctx: RequestContext, id: string): Promise<Rec | null> {
    const seen = this.lastRead.get(ctx);
    this.lastRead.delete(ctx);
    return seen?.id === id ? seen : await this.get(SYSTEM, id);
  }

  override async update(ctx: RequestContext, id: string, body: Rec, expectRevision?: number): Promise<Rec> {
    const before = await this.before(ctx, id);
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
        await tx
          .updateTable('ports')
          .set({ status: 'DOWN', updated_at: nowIso() })
          .where('id', '=', id)
          .where('binding_host_id', '=', host)
          .execute();
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
    if (adminAfter) await this.ctx2.callbacks.publish('port', Events.AFTER_UPDATE, { context: ctx, resourceId: id, before, after: adminAfter });
    return after;
  }

  override async delete(ctx: RequestContext, id: string, expectRevision?: number): Promise<void> {
    const callbacks = this.ctx2.callbacks;
    const before = callbacks.has('port', Events.AFTER_DELETE) ? await this.before(ctx, id) : null;
    await super.delete(ctx, id, expectRevision);
    if (before) await callbacks.publish('port', Events.AFTER_DELETE, { context: ctx, resourceId: id, before, after: null });
  }

  /** Binds a port again for its current host (an agent came alive, get_device_details). */
  rebind(id: string, host: string) {
    return bindPort(this.ctx2.db, id, this.binding, host);
  }
}

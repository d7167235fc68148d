// The callbacks registry: how one plugin reacts to another's resources without either knowing
// the other (neutron-lib's callbacks registry, in our shape). A plugin publishes an event for a
// resource (`port`, `network`, `agent`, …) at a phase of a write; subscribers run in priority
// order (lower first).
//
// Phases and what a subscriber may do in them:
// - before_*: outside any transaction, before the write; throwing refuses the request.
// - precommit_*: inside the write transaction (`payload.tx`); throwing rolls the write back.
// - after_*: once the transaction has committed (notifications to agents); an error is logged
//   and never undoes or fails the write.
import type { RequestContext } from './context.js';
import type { Rec } from './resource.js';

export type Phase = 'before' | 'precommit' | 'after';
export type Action = 'create' | 'update' | 'delete';
/** `before_create`, `precommit_delete`, `after_update`, …; plugins may add their own names. */
export type EventName = `${Phase}_${Action}` | (string & {});

export const Events = {
  BEFORE_CREATE: 'before_create',
  PRECOMMIT_CREATE: 'precommit_create',
  AFTER_CREATE: 'after_create',
  BEFORE_UPDATE: 'before_update',
  PRECOMMIT_UPDATE: 'precommit_update',
  AFTER_UPDATE: 'after_update',
  BEFORE_DELETE: 'before_delete',
  PRECOMMIT_DELETE: 'precommit_delete',
  AFTER_DELETE: 'after_delete',
  /**
   * A port's status set by its agent (update_device_up/down): for watchers of the topology only,
   * so that the agents' notifiers (after_update) are not woken by their own reports.
   */
  AFTER_STATUS_UPDATE: 'after_status_update',
} as const;

/** Default priority; lower runs first (neutron-lib's PRIORITY_DEFAULT is 55550000). */
export const PRIORITY_DEFAULT = 1000;

export interface EventPayload<S = Rec, T = unknown> {
  /** The caller; null for writes the server makes for itself (router ports, agent RPC). */
  context: RequestContext | null;
  resourceId: string;
  /** The resource before and after the write (before: null on create; after: null on delete). */
  before: S | null;
  after: S | null;
  /** The open transaction, in precommit events only. */
  tx?: T;
  /** Facts the publisher adds (e.g. `asInterface` for a port that became a router interface). */
  metadata?: Rec;
}

// biome-ignore lint/suspicious/noExplicitAny: each subscriber names the states and transaction type of its resource
export type Callback = (payload: EventPayload<any, any>) => Promise<void> | void;

export interface CallbackLogger {
  warn(obj: object, msg: string): void;
}

interface Subscription {
  callback: Callback;
  priority: number;
  name: string;
}

export class CallbackRegistry {
  private readonly subs = new Map<string, Subscription[]>();

  constructor(private readonly log: CallbackLogger = { warn() {} }) {}

  /** `name` identifies the subscriber in logs (e.g. 'dhcp-notifier'). */
  subscribe(resource: string, event: EventName, callback: Callback, opts: { priority?: number; name?: string } = {}): void {
    const key = `${resource}:${event}`;
    const list = this.subs.get(key) ?? [];
    list.push({ callback, priority: opts.priority ?? PRIORITY_DEFAULT, name: opts.name ?? (callback.name || 'anonymous') });
    // Stable: equal priorities keep their subscription order.
    list.sort((a, b) => a.priority - b.priority);
    this.subs.set(key, list);
  }

  /** Whether anyone listens (publishers skip reading a `before` state nobody wants). */
  has(resource: string, event: EventName): boolean {
    return (this.subs.get(`${resource}:${event}`)?.length ?? 0) > 0;
  }

  /**
   * Runs the subscribers in order. In before_* and precommit_* events the first error stops the
   * chain and is thrown to the publisher; in after_* events every subscriber runs and errors are
   * logged.
   */
  // biome-ignore lint/suspicious/noExplicitAny: publishers pass their resource's own state and transaction types
  async publish(resource: string, event: EventName, payload: EventPayload<any, any>): Promise<void> {
    const list = this.subs.get(`${resource}:${event}`);
    if (!list) return;
    const after = event.startsWith('after_');
    for (const s of list) {
      if (!after) {
        await s.callback(payload);
        continue;
      }
      try {
        await s.callback(payload);
      } catch (err) {
        this.log.warn({ resource, event, subscriber: s.name, err: (err as Error).message }, 'callback failed after commit');
      }
    }
  }
}

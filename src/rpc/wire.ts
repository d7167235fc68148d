// The JSON bodies on the wire, shaped like oslo.messaging's (an `oslo.version` 2.0 envelope
// around the message serialized as a string, the context flattened into `_context_*` keys,
// replies carrying `result` / `failure` / `ending`) so a broker full of them looks familiar to
// an operator. The memory transport encodes and decodes through here too: whatever does not
// survive JSON fails the same way in the all-in-one as on RabbitMQ.
import { randomUUID } from 'node:crypto';
import type { RpcArgs, RpcContext } from './bus.js';

const ENVELOPE_VERSION = '2.0';

export interface RequestMessage {
  method: string;
  args: RpcArgs;
  context: RpcContext;
  /** Set for calls only: the id the reply must carry, and where to send it. */
  msgId: string | null;
  replyQueue: string | null;
  uniqueId: string;
  /**
   * oslo's `_timeout` (call_monitor_timeout, seconds): the caller wants a heartbeat reply at
   * least this often while the method runs. Null when it does not (the usual case).
   */
  monitorTimeout?: number | null;
  /** oslo's `version` (see CastOptions.version); omitted when not given. */
  version?: string | null;
}

/** A remote failure, reduced to what crosses the wire. */
export interface RemoteFailure {
  type: string;
  message: string;
}

export interface ReplyMessage {
  msgId: string;
  result?: unknown;
  failure: RemoteFailure | null;
  /** False on oslo's heartbeats (a call still running, no result yet); true on the answer. */
  ending?: boolean;
}

export const newId = (): string => randomUUID().replace(/-/g, '');

function wrap(inner: object): string {
  return JSON.stringify({ 'oslo.version': ENVELOPE_VERSION, 'oslo.message': JSON.stringify(inner) });
}

function unwrap(body: Buffer | string): Record<string, unknown> {
  const outer = JSON.parse(typeof body === 'string' ? body : body.toString('utf8')) as Record<string, unknown>;
  // Accept a bare message too (oslo does when there is no envelope).
  const inner = typeof outer['oslo.message'] === 'string' ? (JSON.parse(outer['oslo.message']) as unknown) : outer;
  if (!inner || typeof inner !== 'object' || Array.isArray(inner)) throw new Error('message body is not a JSON object');
  return inner as Record<string, unknown>;
}

export function encodeRequest(m: Omit<RequestMessage, 'uniqueId'> & { uniqueId?: string }): string {
  const c = m.context;
  const inner: Record<string, unknown> = {
    method: m.method,
    args: m.args,
    _unique_id: m.uniqueId ?? newId(),
    _context_request_id: c.requestId,
    _context_project_id: c.projectId,
  };
  if (m.version) inner.version = m.version;
  if (c.userId !== undefined) inner._context_user_id = c.userId;
  if (c.isAdmin !== undefined) inner._context_is_admin = c.isAdmin;
  if (c.roles !== undefined) inner._context_roles = c.roles;
  if (m.msgId) {
    // oslo sends all three on a call; `_timeout` null: we ask for no heartbeats.
    inner._msg_id = m.msgId;
    inner._reply_q = m.replyQueue;
    inner._timeout = m.monitorTimeout ?? null;
  }
  return wrap(inner);
}

/** Throws on anything that is not a well-formed request; the caller logs and drops it. */
export function decodeRequest(body: Buffer | string): RequestMessage {
  const m = unwrap(body);
  if (typeof m.method !== 'string' || !m.method) throw new Error('request has no method');
  const args = m.args ?? {};
  if (typeof args !== 'object' || Array.isArray(args)) throw new Error('request args are not an object');
  const context: RpcContext = {
    requestId: typeof m._context_request_id === 'string' ? m._context_request_id : `req-${randomUUID()}`,
    projectId: typeof m._context_project_id === 'string' ? m._context_project_id : null,
  };
  if (m._context_user_id !== undefined) context.userId = (m._context_user_id as string | null) ?? null;
  if (typeof m._context_is_admin === 'boolean') context.isAdmin = m._context_is_admin;
  if (Array.isArray(m._context_roles)) context.roles = m._context_roles.map(String);
  return {
    method: m.method,
    args: args as RpcArgs,
    context,
    msgId: typeof m._msg_id === 'string' ? m._msg_id : null,
    replyQueue: typeof m._reply_q === 'string' ? m._reply_q : null,
    uniqueId: typeof m._unique_id === 'string' ? m._unique_id : '',
    monitorTimeout: typeof m._timeout === 'number' && m._timeout > 0 ? m._timeout : null,
    version: typeof m.version === 'string' ? m.version : null,
  };
}

export function encodeReply(r: ReplyMessage): string {
  // oslo sends the failure as a JSON string with the exception's class and message.
  const failure = r.failure
    ? JSON.stringify({ class: r.failure.type, module: 'neutrino', message: r.failure.message, tb: [], args: [r.failure.message], kwargs: {} })
    : null;
  return wrap({ result: r.failure ? null : r.result, failure, ending: r.ending ?? true, _msg_id: r.msgId, _unique_id: newId() });
}

/** oslo's keep-alive for a caller that set `_timeout`: a reply with no result that does not end the call. */
export function encodeHeartbeat(msgId: string): string {
  return encodeReply({ msgId, result: null, failure: null, ending: false });
}

export function decodeReply(body: Buffer | string): ReplyMessage {
  const m = unwrap(body);
  if (typeof m._msg_id !== 'string') throw new Error('reply has no _msg_id');
  let failure: RemoteFailure | null = null;
  if (m.failure) {
    const f = (typeof m.failure === 'string' ? JSON.parse(m.failure) : m.failure) as Record<string, unknown>;
    failure = { type: String(f.class ?? 'Exception'), message: String(f.message ?? '') };
  }
  // A reply without `ending` comes from an old sender that had no heartbeats: it is the answer.
  return { msgId: m._msg_id, result: m.result ?? undefined, failure, ending: m.ending !== false };
}

/** What a handler's exception becomes on the wire: its class name and message. */
export function describeFailure(err: unknown): RemoteFailure {
  if (err instanceof Error) {
    // A subclass that did not set `name` still has a telling constructor name.
    const type = err.name && err.name !== 'Error' ? err.name : err.constructor?.name || 'Error';
    return { type, message: err.message };
  }
  return { type: 'Error', message: String(err) };
}

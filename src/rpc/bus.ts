// The RPC bus between the server and the agents, modelled on oslo.messaging as Neutron uses it.
//
// Addressing: a server (consumer) listens on `topic` (shared by every consumer of the topic,
// which take turns) and on `topic.<host>` (just that host's consumers), and receives every
// fanout of the topic. `call` and `cast` go to one consumer, `fanout` goes to all of them.
// The memory transport (all-in-one) and the AMQP transport (RabbitMQ) keep the same semantics,
// so code and tests written against this interface run on either.
import { randomUUID } from 'node:crypto';

export { RpcError, RpcTimeoutError, RpcRemoteError, RpcClosedError, RpcLostError, TransportUrlError } from './errors.js';
export type { RpcTimeoutReason } from './errors.js';

/**
 * What travels with every message so logs on both sides share the request id and the remote
 * side knows on whose behalf it acts. Only JSON-safe fields: it crosses the broker.
 */
export interface RpcContext {
  requestId: string;
  projectId: string | null;
  userId?: string | null;
  isAdmin?: boolean;
  roles?: string[];
}

/** A topic, or a topic plus the host whose consumers alone should get the message. */
export interface RpcTarget {
  topic: string;
  server?: string | null;
}

/** Keyword arguments, as Neutron's RPC methods take them; must survive JSON. */
export type RpcArgs = Record<string, unknown>;

/**
 * One RPC method. `args` is `any` so handlers can declare the shape they expect; the bus only
 * guarantees it is the JSON-decoded object the caller sent.
 */
// biome-ignore lint/suspicious/noExplicitAny: see above; `unknown` would make every handler's declared shape a type error.
export type RpcHandler = (ctx: RpcContext, args: any) => Promise<unknown> | unknown;
export type RpcHandlers = Record<string, RpcHandler>;

export interface CastOptions {
  context?: RpcContext;
  /**
   * oslo's message `version`: the API version of the receiving endpoint the sender speaks (its
   * RPCClient.prepare(version=…)). oslo's dispatcher refuses a major it does not serve and a minor
   * above its own; absent, it reads as '1.0'.
   */
  version?: string;
  /** How long a cast may wait for a broker connection (AMQP only). Default: the bus's timeout. */
  timeoutMs?: number;
}

export interface CallOptions {
  context?: RpcContext;
  /** As CastOptions.version. */
  version?: string;
  /** Default: the bus's `defaultTimeoutMs` (60 s, oslo's `rpc_response_timeout`). */
  timeoutMs?: number;
}

export interface RpcServerHandle {
  readonly topic: string;
  readonly host: string;
  /** Stops consuming; calls already being handled still get their replies. */
  stop(): Promise<void>;
}

export interface RpcBus {
  readonly transport: 'memory' | 'amqp';
  /** Sends to one consumer and resolves with its reply; see RpcTimeoutError / RpcRemoteError. */
  call<T = unknown>(target: RpcTarget | string, method: string, args?: RpcArgs, opts?: CallOptions): Promise<T>;
  /**
   * Fire and forget to one consumer. Resolves once the transport has taken the message (AMQP:
   * the broker confirmed it). A cast nobody listens to is dropped (logged at debug), as in oslo.
   */
  cast(target: RpcTarget | string, method: string, args?: RpcArgs, opts?: CastOptions): Promise<void>;
  /** Fire and forget to every consumer of the topic (each server once, whatever its host). */
  fanout(topic: string, method: string, args?: RpcArgs, opts?: CastOptions): Promise<void>;
  /** Consumes `topic`, `topic.<host>` and the topic's fanout; resolves once it is listening. */
  serve(topic: string, host: string, handlers: RpcHandlers): Promise<RpcServerHandle>;
  /** Stops every server of this bus, fails pending calls with RpcClosedError, disconnects. */
  close(): Promise<void>;
  /**
   * Tells `listener` each time the bus is connected again after a loss (AMQP only; the memory
   * bus never loses anything). Returns the unsubscribe function.
   */
  onReconnect?(listener: (e: ReconnectEvent) => void): () => void;
}

export interface ReconnectEvent {
  /**
   * The broker no longer had our queues (it restarted, or they expired): whatever was sent to
   * them meanwhile, or sent before they were declared again, is gone.
   */
  queuesLost: boolean;
}

/** The subset of pino's logger the bus uses (pino loggers fit as they are). */
export interface RpcLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface BusOptions {
  /** oslo's `control_exchange`: the AMQP topic exchange; Neutron uses 'neutron'. */
  controlExchange?: string;
  /** oslo's `rpc_response_timeout`, in ms. */
  defaultTimeoutMs?: number;
  logger?: RpcLogger;
}

export const DEFAULT_TIMEOUT_MS = 60_000;
export const DEFAULT_CONTROL_EXCHANGE = 'neutron';

/** A fresh context for messages sent on nobody's behalf (periodic tasks, agents' reports). */
export function newRpcContext(projectId: string | null = null): RpcContext {
  return { requestId: `req-${randomUUID()}`, projectId };
}

/**
 * The context agents send with their calls: an admin one, as Neutron's agents send
 * (neutron_lib's get_admin_context_without_session). Neutron's server acts on it, so a context
 * that is not admin and has no project sees nothing (get_ports filters by project).
 */
export function agentRpcContext(): RpcContext {
  return { requestId: `req-${randomUUID()}`, projectId: null, userId: null, isAdmin: true, roles: ['admin'] };
}

/**
 * The RPC view of an API request context (src/context.ts's RequestContext fits structurally):
 * copies only the JSON-safe identity fields.
 */
export function toRpcContext(ctx: {
  requestId: string;
  projectId: string | null;
  userId?: string | null;
  isAdmin?: boolean;
  roles?: string[];
}): RpcContext {
  const out: RpcContext = { requestId: ctx.requestId, projectId: ctx.projectId };
  if (ctx.userId !== undefined) out.userId = ctx.userId;
  if (ctx.isAdmin !== undefined) out.isAdmin = ctx.isAdmin;
  if (ctx.roles !== undefined) out.roles = [...ctx.roles];
  return out;
}

export function normalizeTarget(target: RpcTarget | string): { topic: string; server: string | null } {
  const t = typeof target === 'string' ? { topic: target } : target;
  if (!t.topic) throw new TypeError('RPC target needs a topic');
  return { topic: t.topic, server: t.server || null };
}

/** The queue / routing key a target resolves to, as oslo names it: `topic` or `topic.host`. */
export function routingKey(topic: string, server: string | null): string {
  return server ? `${topic}.${server}` : topic;
}

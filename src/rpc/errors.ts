// Errors of the RPC bus. Callers branch on the class (retry on timeout, report a remote failure),
// so every transport raises exactly these, with messages that say what to check.

export class RpcError extends Error {
  override name = 'RpcError';
}

/**
 * Why a call got no answer:
 * - `unroutable`: no queue is bound for the target, i.e. nobody serves it (failed fast);
 * - `no-reply`: delivered (or queued) but no reply came in time;
 * - `disconnected`: no broker connection for the whole timeout (or the broker, e.g. blocked by
 *   a resource alarm, never confirmed the message).
 */
export type RpcTimeoutReason = 'unroutable' | 'no-reply' | 'disconnected';

const REASON_TEXT: Record<RpcTimeoutReason, string> = {
  unroutable: 'no consumer is listening on it (message unroutable)',
  'no-reply': 'no reply came back',
  disconnected: 'the message broker was unreachable (no connection, or it never confirmed the message)',
};

/**
 * Like oslo.messaging's MessagingTimeout: a call may or may not have run remotely. Casts and
 * fanouts raise it too (`kind`), when they could not reach the broker within their timeout.
 */
export class RpcTimeoutError extends RpcError {
  override name = 'RpcTimeoutError';
  constructor(
    readonly topic: string,
    readonly method: string,
    readonly timeoutMs: number,
    readonly reason: RpcTimeoutReason,
    readonly server: string | null = null,
    readonly kind: 'call' | 'cast' | 'fanout' = 'call',
  ) {
    const where = server ? `topic '${topic}' on server '${server}'` : `topic '${topic}'`;
    super(`RPC ${kind} '${method}' to ${where} failed within its ${timeoutMs} ms timeout: ${REASON_TEXT[reason]}`);
  }
}

/** The remote handler threw; `remoteType` is its error class name (e.g. `PortNotFound`). */
export class RpcRemoteError extends RpcError {
  override name = 'RpcRemoteError';
  constructor(
    readonly remoteType: string,
    readonly remoteMessage: string,
    readonly topic: string,
    readonly method: string,
  ) {
    super(`${remoteType}: ${remoteMessage} (remote error from RPC '${method}' on topic '${topic}')`);
  }
}

/** A bad `transport_url`; the message never contains the password. */
export class TransportUrlError extends RpcError {
  override name = 'TransportUrlError';
}

/** Raised by operations on a bus after `close()`, and by calls pending when it closed. */
export class RpcClosedError extends RpcError {
  override name = 'RpcClosedError';
  constructor(what: string) {
    super(`${what}: the RPC bus is closed`);
  }
}

/**
 * A call sent before the broker lost its state (restarted: our non-durable reply queue was gone
 * on reconnection), so its request or its reply went with it. Like a timeout the call may or
 * may not have run; raised at once so the caller retries now rather than at its timeout.
 */
export class RpcLostError extends RpcError {
  override name = 'RpcLostError';
  constructor(
    readonly topic: string,
    readonly method: string,
  ) {
    super(`RPC call '${method}' on topic '${topic}' lost: the message broker restarted before its reply came`);
  }
}

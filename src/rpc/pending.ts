// Calls waiting for their reply, keyed by message id. Shared by both transports so a call
// settles exactly once (reply, remote error, timeout or bus closed) and late or duplicate
// replies are ignored rather than resolving someone else's promise.
import { RpcRemoteError, RpcTimeoutError, type RpcTimeoutReason } from './errors.js';
import type { ReplyMessage } from './wire.js';

interface Pending {
  topic: string;
  server: string | null;
  method: string;
  timeoutMs: number;
  /** Whether the request reached the transport; decides what a timeout is blamed on. */
  sent: boolean;
  resolve(v: unknown): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

export class PendingCalls {
  private readonly calls = new Map<string, Pending>();

  /** @param unsentReason what a timeout means when the request never left (AMQP: disconnected). */
  constructor(private readonly unsentReason: RpcTimeoutReason = 'disconnected') {}

  get size(): number {
    return this.calls.size;
  }

  add(msgId: string, info: { topic: string; server: string | null; method: string; timeoutMs: number }): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const p = this.calls.get(msgId);
        if (!p) return;
        this.calls.delete(msgId);
        reject(new RpcTimeoutError(p.topic, p.method, p.timeoutMs, p.sent ? 'no-reply' : this.unsentReason, p.server));
      }, info.timeoutMs);
      this.calls.set(msgId, { ...info, sent: false, resolve, reject, timer });
    });
  }

  markSent(msgId: string): void {
    const p = this.calls.get(msgId);
    if (p) p.sent = true;
  }

  /** Applies a reply; false when nobody waits for it any more (timed out, duplicate). */
  settle(reply: ReplyMessage): boolean {
    const p = this.take(reply.msgId);
    if (!p) return false;
    if (reply.failure) p.reject(new RpcRemoteError(reply.failure.type, reply.failure.message, p.topic, p.method));
    else p.resolve(reply.result);
    return true;
  }

  /** Fails one call; `make` builds the error from the call's own topic/method/timeout. */
  fail(msgId: string, make: Error | ((p: { topic: string; server: string | null; method: string; timeoutMs: number }) => Error)): void {
    const p = this.take(msgId);
    if (p) p.reject(typeof make === 'function' ? make(p) : make);
  }

  /** Fails the calls whose request already left (a broker restart lost it or its reply). */
  failSent(make: (p: { topic: string; server: string | null; method: string; timeoutMs: number }) => Error): void {
    for (const [id, p] of [...this.calls]) if (p.sent) this.fail(id, make);
  }

  failAll(err: Error): void {
    for (const id of [...this.calls.keys()]) this.fail(id, err);
  }

  private take(msgId: string): Pending | undefined {
    const p = this.calls.get(msgId);
    if (!p) return undefined;
    this.calls.delete(msgId);
    clearTimeout(p.timer);
    return p;
  }
}

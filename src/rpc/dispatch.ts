// Server side of a message, common to both transports: find the handler, run it, and turn the
// outcome (value or exception) into the reply a caller expects.
import type { RpcHandlers, RpcLogger } from './bus.js';
import { describeFailure, encodeReply, type RequestMessage } from './wire.js';

/**
 * Runs the request's handler. Returns the encoded reply for calls, null for casts/fanouts
 * (whose failures are only logged: nobody is waiting to hear about them).
 */
export async function dispatch(handlers: RpcHandlers, req: RequestMessage, topic: string, log: RpcLogger): Promise<string | null> {
  const isCall = req.msgId !== null;
  const logCtx = { topic, method: req.method, requestId: req.context.requestId };
  // Own-property lookup only, so 'constructor' or 'toString' are never callable remotely.
  const handler = Object.hasOwn(handlers, req.method) ? handlers[req.method] : undefined;
  let result: unknown;
  let failure: Error | null = null;
  if (!handler) {
    // oslo's name for it, so the remote type reads the same as in Neutron's logs.
    failure = Object.assign(new Error(`Endpoint does not support RPC method ${req.method}`), { name: 'NoSuchMethod' });
  } else {
    try {
      result = await handler(req.context, req.args);
    } catch (err) {
      failure = err instanceof Error ? err : new Error(String(err));
    }
  }
  if (failure) {
    // A failing call is the caller's business (it gets the error); a failing cast is ours to log.
    if (isCall) log.debug({ ...logCtx, err: failure.message }, 'RPC handler failed; returning the error to the caller');
    else log.warn({ ...logCtx, err: failure.message }, 'RPC cast handler failed');
  }
  if (!isCall) return null;
  if (failure) return encodeReply({ msgId: req.msgId!, failure: describeFailure(failure) });
  try {
    return encodeReply({ msgId: req.msgId!, result, failure: null });
  } catch (err) {
    // e.g. a BigInt or a cycle in the result: tell the caller instead of leaving it to time out.
    const message = `RPC method ${req.method} returned a value that is not JSON-serializable: ${(err as Error).message}`;
    log.error(logCtx, message);
    return encodeReply({ msgId: req.msgId!, failure: { type: 'SerializationError', message } });
  }
}

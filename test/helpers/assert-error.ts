// Checks of Neutron's errors, shared by the tests: the HTTP body an API answers with, and the
// NeutronError a function throws or a promise rejects with.
import assert from 'node:assert/strict';
import { NeutronError } from '../../src/core/errors.js';

/**
 * The response has `status` and a NeutronError body ({type, message, detail}), optionally of
 * `type` and with a message containing `messageIncludes`.
 */
export function assertError(r: { status: number; body: any }, status: number, type?: string, messageIncludes?: string): void {
  assert.equal(r.status, status, JSON.stringify(r.body));
  const e = r.body?.NeutronError;
  assert.ok(e, `expected a NeutronError body, got ${JSON.stringify(r.body)}`);
  assert.equal(typeof e.message, 'string', JSON.stringify(r.body));
  assert.ok('detail' in e, `a NeutronError body has a detail: ${JSON.stringify(r.body)}`);
  if (type) assert.equal(e.type, type, JSON.stringify(r.body));
  if (messageIncludes) assert.ok(e.message.includes(messageIncludes), e.message);
}

/** `e` is a NeutronError with `status`, optionally `type`, and a message equal to `message` (or matching it). */
function assertNeutronError(e: unknown, status: number, type?: string, message?: string | RegExp): asserts e is NeutronError {
  assert.ok(e instanceof NeutronError, `expected NeutronError, got ${String(e)}`);
  assert.equal(e.status, status, e.message);
  if (type) assert.equal(e.type, type, e.message);
  if (typeof message === 'string') assert.equal(e.message, message);
  else if (message) assert.match(e.message, message);
}

/** `fn` throws a NeutronError with `status` and `type`, and a message equal to `message` (or matching it). */
export function assertThrowsNeutron(fn: () => unknown, status: number, type: string, message?: string | RegExp): NeutronError {
  try {
    fn();
  } catch (e) {
    assertNeutronError(e, status, type, message);
    return e;
  }
  assert.fail(`expected ${type} (HTTP ${status})`);
}

/** `p` rejects with a NeutronError with `status` (and `type`, `message` when given); returns the error. */
export async function assertRejectsNeutron(p: Promise<unknown>, status: number, type?: string, message?: string | RegExp): Promise<NeutronError> {
  const e = await p.then(
    () => assert.fail(`expected HTTP ${status}`),
    (err: unknown) => err,
  );
  assertNeutronError(e, status, type, message);
  return e;
}

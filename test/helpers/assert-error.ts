// One check for Neutron's error body, shared by the API tests.
import assert from 'node:assert/strict';

/** The response has `status` and a NeutronError body, optionally of `type` and mentioning `messageIncludes`. */
export function assertError(r: { status: number; body: any }, status: number, type?: string, messageIncludes?: string): void {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.ok(r.body?.NeutronError, `expected a NeutronError body, got ${JSON.stringify(r.body)}`);
  if (type) assert.equal(r.body.NeutronError.type, type, JSON.stringify(r.body));
  if (messageIncludes) assert.ok(r.body.NeutronError.message.includes(messageIncludes), r.body.NeutronError.message);
}

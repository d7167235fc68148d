// Which driver errors mean "the database is gone" (503 and a retry later) and which are a bad
// query (a bug or a 4xx elsewhere): the shapes pg, mysql2 and Node's sockets give them.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connectionErrorReason, isConnectionError } from '../../src/db/errors.js';

const err = (message: string, fields: Record<string, unknown> = {}) => Object.assign(new Error(message), fields);

describe('isConnectionError', () => {
  it('knows lost, refused and timed-out connections', () => {
    for (const e of [
      err('connect ECONNREFUSED 127.0.0.1:5432', { code: 'ECONNREFUSED' }),
      err('read ECONNRESET', { code: 'ECONNRESET' }),
      err('Connection terminated unexpectedly'),
      err('timeout exceeded when trying to connect'),
      err('Client has encountered a connection error and is not queryable'),
      err('terminating connection due to administrator command', { code: '57P01' }),
      err('the database system is starting up', { code: '57P03' }),
      err('connection failure', { code: '08006' }),
      err('Connection lost: The server closed the connection.', { code: 'PROTOCOL_CONNECTION_LOST', fatal: true }),
      err("Can't add new command when connection is in closed state"),
      err('Too many connections', { code: 'ER_CON_COUNT_ERROR', errno: 1040 }),
      err('wrapped', { cause: err('connect ETIMEDOUT', { code: 'ETIMEDOUT' }) }),
    ]) {
      assert.equal(isConnectionError(e), true, e.message);
    }
  });

  it('leaves query errors alone', () => {
    for (const e of [
      err('duplicate key value violates unique constraint', { code: '23505' }),
      err('deadlock detected', { code: '40P01' }),
      err("Duplicate entry 'x' for key 'PRIMARY'", { code: 'ER_DUP_ENTRY', errno: 1062 }),
      err('UNIQUE constraint failed: ports.id', { code: 'SQLITE_CONSTRAINT_UNIQUE', errno: 2067 }),
      err('syntax error at or near "x"', { code: '42601' }),
      err('Maximum call stack size exceeded'),
      null,
      undefined,
      'a string',
    ]) {
      assert.equal(isConnectionError(e), false, String((e as Error)?.message ?? e));
    }
  });
});

describe('connectionErrorReason', () => {
  it('is one line: the message, with its code when the message lacks it', () => {
    assert.equal(connectionErrorReason(err('connect ECONNREFUSED 127.0.0.1:1', { code: 'ECONNREFUSED' })), 'connect ECONNREFUSED 127.0.0.1:1');
    assert.equal(connectionErrorReason(err('the database system is starting up', { code: '57P03' })), 'the database system is starting up (57P03)');
    const dualStack = Object.assign(new AggregateError([err('connect ECONNREFUSED ::1:5432')], ''), { code: 'ECONNREFUSED' });
    assert.equal(connectionErrorReason(dualStack), 'connect ECONNREFUSED ::1:5432');
  });
});

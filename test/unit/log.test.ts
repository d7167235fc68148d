// Log lines in oslo.log's shapes: the text of logging_context_format_string (a line with a request
// id) and logging_default_format_string (without), and the keys of oslo.log's JSONFormatter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asctime, formatJson, formatText } from '../../src/core/log.js';

const T = new Date(2026, 11, 7, 8, 5, 9, 42).getTime(); // local time, as oslo's asctime

test('asctime: %Y-%m-%d %H:%M:%S.mmm in local time', () => {
  assert.equal(asctime(T), '2026-12-07 08:05:09.042');
  assert.equal(asctime(T + 958), '2026-12-07 08:05:10.000');
  assert.equal(asctime(T + 123), '2026-12-07 08:05:09.165');
});

test('a line with a request id: [global-request-id request-id user project domain system_scope user_domain project_domain]', () => {
  const line = formatText(
    {
      level: 30,
      time: T,
      name: 'neutrino.api',
      reqId: 'req-1',
      user: 'u1',
      project: 'p1',
      msg: '127.0.0.1 "GET /v2.0/networks HTTP/1.1" status: 200',
    },
    4242,
  );
  assert.equal(
    line,
    '2026-12-07 08:05:09.042 4242 INFO neutrino.api [None req-1 u1 p1 - - - -] 127.0.0.1 "GET /v2.0/networks HTTP/1.1" status: 200\n',
  );
  const global = formatText({ level: 40, time: T, name: 'neutrino.rpc', requestId: 'req-2', globalRequestId: 'req-g', msg: 'm' }, 1);
  assert.equal(global, '2026-12-07 08:05:09.042 1 WARNING neutrino.rpc [req-g req-2 - - - - - -] m\n');
});

test('a line without one: [-]; levels as Python names them; fields follow as key=value', () => {
  assert.equal(
    formatText({ level: 20, time: T, name: 'neutrino.agent.dhcp', msg: 'synced', ports: 3, host: 'h 1' }, 7),
    '2026-12-07 08:05:09.042 7 DEBUG neutrino.agent.dhcp [-] synced ports=3 host="h 1"\n',
  );
  assert.match(formatText({ level: 50, time: T, msg: 'x' }, 7), / 7 ERROR neutrino \[-\] x\n$/);
  assert.match(formatText({ level: 60, time: T, msg: 'x' }, 7), / CRITICAL /);
  assert.match(formatText({ level: 30, time: T, msg: 'x', nested: { a: [1] } }, 7), / x nested=\{"a":\[1\]\}\n$/);
});

test("an error: its message after the line's, its stack on lines prefixed as oslo's logging_exception_prefix", () => {
  const line = formatText(
    {
      level: 50,
      time: T,
      name: 'neutrino.api',
      msg: 'request failed',
      err: { type: 'Error', message: 'boom', stack: 'Error: boom\n    at f (a.js:1:1)' },
    },
    9,
  );
  assert.equal(
    line,
    '2026-12-07 08:05:09.042 9 ERROR neutrino.api [-] request failed: boom\n2026-12-07 08:05:09.042 9 ERROR neutrino.api     at f (a.js:1:1)\n',
  );
});

test("use_json: oslo.log's JSONFormatter keys; the request's identity under context, other fields under extra", () => {
  const text = formatJson(
    { level: 30, time: T, name: 'neutrino.api', reqId: 'req-1', user: 'u1', project: 'p1', msg: 'hello', ports: 3 },
    42,
    'h',
    'neutrino-server',
  );
  assert.ok(text.endsWith('\n') && !text.slice(0, -1).includes('\n'), 'one line');
  const o = JSON.parse(text);
  assert.deepEqual(
    { ...o },
    {
      message: 'hello',
      asctime: '2026-12-07 08:05:09.042',
      name: 'neutrino.api',
      levelname: 'INFO',
      levelno: 20,
      created: T / 1000,
      msecs: 42,
      process: 42,
      process_name: 'neutrino-server',
      hostname: 'h',
      traceback: null,
      error_summary: '',
      context: { request_id: 'req-1', user: 'u1', project: 'p1' },
      extra: { ports: 3 },
    },
  );
  const err = JSON.parse(
    formatJson({ level: 50, time: T, msg: 'failed', err: { type: 'TypeError', message: 'x', stack: 'TypeError: x\n  at g' } }, 1, 'h', 'b'),
  );
  assert.equal(err.levelname, 'ERROR');
  assert.equal(err.levelno, 40);
  assert.equal(err.message, 'failed: x');
  assert.equal(err.error_summary, 'TypeError: x');
  assert.deepEqual(err.traceback, ['TypeError: x', '  at g']);
});

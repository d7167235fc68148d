// The server's logs as an operator gets them: oslo.log's text lines in [DEFAULT] log_file under
// log_dir, one access line per request carrying its request id (the X-Openstack-Request-Id the
// response names, and the caller's as the global one), reopened on SIGHUP after logrotate renamed
// the file; JSON lines with use_json, in <binary>.log when only log_dir is set; --debug.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminReq, spawnServer, type ServerProcess } from '../helpers/process-server.js';
import { waitFor } from '../helpers/wait.js';

const STAMP = String.raw`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}`;
const GLOBAL = 'req-0a1b2c3d-0000-4000-8000-00000000abcd';

describe('log_file and log_dir, reopened on SIGHUP', () => {
  let dir: string;
  let srv: ServerProcess;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'neutrino-log-'));
    srv = await spawnServer(dir, { DEFAULT: { log_dir: join(dir, 'logs'), log_file: 'server.log' } });
  });
  after(async () => {
    await srv?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes oslo.log text lines to log_dir/log_file, nothing to stdout; the access line names the request ids', async () => {
    const file = join(dir, 'logs', 'server.log');
    const r = await fetch(`${srv.url}/v2.0/networks`, { headers: { 'x-project-id': 'p1', 'x-user-id': 'u1', 'x-openstack-request-id': GLOBAL } });
    assert.equal(r.status, 200);
    const id = r.headers.get('x-openstack-request-id')!;
    assert.match(id, /^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.notEqual(id, GLOBAL, "the caller's id is the global one, not this request's");
    await waitFor('the access line', () => readFileSync(file, 'utf8').includes(id), 10_000);
    const text = readFileSync(file, 'utf8');
    assert.match(text, new RegExp(`^${STAMP} ${srv.proc.pid} INFO neutrino\\.server \\[-\\] neutrino server listening address=`, 'm'));
    assert.match(
      text,
      new RegExp(
        `^${STAMP} ${srv.proc.pid} INFO neutrino\\.api \\[${GLOBAL} ${id} u1 p1 - - - -\\] 127\\.0\\.0\\.1 "GET /v2\\.0/networks HTTP/1\\.1" status: 200  len: \\d+ time: \\d+\\.\\d{7}$`,
        'm',
      ),
    );
    assert.doesNotMatch(srv.output(), /neutrino server listening/, 'logs go to the file only');
    // A caller's id that is not a request id is not taken as the global one.
    const bogus = await fetch(`${srv.url}/v2.0/networks`, { headers: { 'x-openstack-request-id': 'not-an-id' } });
    const bogusId = bogus.headers.get('x-openstack-request-id')!;
    await waitFor('the second access line', () => readFileSync(file, 'utf8').includes(bogusId), 10_000);
    assert.match(readFileSync(file, 'utf8'), new RegExp(`\\[None ${bogusId} - fake_project_id - - - -\\]`));
  });

  it('SIGHUP after a rename (logrotate without copytruncate): later lines go to a new file of the same name', async () => {
    const file = join(dir, 'logs', 'server.log');
    const rotated = `${file}.1`;
    renameSync(file, rotated);
    srv.proc.kill('SIGHUP');
    await waitFor('the reopened file', () => existsSync(file) && readFileSync(file, 'utf8').includes('SIGHUP: log file reopened'), 10_000);
    const r = await adminReq(srv.url, 'GET', '/v2.0/ports');
    assert.equal(r.status, 200);
    const id = r.headers.get('x-openstack-request-id')!;
    await waitFor('the access line in the new file', () => readFileSync(file, 'utf8').includes(id), 10_000);
    assert.ok(!readFileSync(rotated, 'utf8').includes(id), 'nothing more in the rotated file');
    assert.ok(readFileSync(rotated, 'utf8').includes('GET /v2.0/networks'), 'the rotated file keeps what it had');
    assert.equal(srv.proc.exitCode, null, 'SIGHUP does not stop the server');
  });
});

describe('use_json and debug', () => {
  let dir: string;
  let srv: ServerProcess;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'neutrino-log-'));
    // No log_file: <binary>.log in log_dir, as oslo.log.
    srv = await spawnServer(dir, { DEFAULT: { log_dir: dir, use_json: 'true', debug: 'true' } }, 'aio');
  });
  after(async () => {
    await srv?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it("writes one JSON object per line to log_dir/neutrino-aio.log, with oslo.log's keys, debug lines included", async () => {
    const file = join(dir, 'neutrino-aio.log');
    const r = await adminReq(srv.url, 'GET', '/v2.0/networks');
    const id = r.headers.get('x-openstack-request-id')!;
    await waitFor('the access line', () => existsSync(file) && readFileSync(file, 'utf8').includes(id), 10_000);
    const lines = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const access = lines.find((l) => l.context?.request_id === id);
    assert.equal(access.levelname, 'INFO');
    assert.equal(access.name, 'neutrino.api');
    assert.equal(access.process, srv.proc.pid);
    assert.equal(access.process_name, 'neutrino-aio');
    assert.deepEqual(access.context, { request_id: id, user: 'admin', project: 'admin-project' });
    assert.match(access.message, /^127\.0\.0\.1 "GET \/v2\.0\/networks HTTP\/1\.1" status: 200/);
    assert.match(access.asctime, new RegExp(`^${STAMP}$`));
    const listening = lines.find((l) => l.message === 'neutrino server listening');
    assert.equal(listening.extra.auth, 'noauth');
    assert.ok(
      lines.some((l) => l.levelname === 'DEBUG'),
      'debug = true logs at DEBUG',
    );
  });
});

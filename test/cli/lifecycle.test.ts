// The server process's life: start-up errors a user can act on (the option to fix named, no stack,
// no ./state left behind), and SIGTERM draining requests in flight before a clean exit.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BACKENDS, skipUnless, type Backend } from '../helpers/backends.js';
import { adminReq, BIN, freePort, spawnServer, writeIni } from '../helpers/process-server.js';
import { hostPort, TcpProxy, throughProxy } from '../helpers/tcp-proxy.js';
import { sleep, waitFor } from '../helpers/wait.js';

/** Runs neutrino in a fresh directory (its cwd) and returns what it printed, its exit code and the directory's entries after. */
function runIn(args: (dir: string) => string[], ini?: Record<string, Record<string, string>>) {
  const dir = mkdtempSync(join(tmpdir(), 'neutrino-start-'));
  try {
    if (ini) writeIni(join(dir, 'neutron.conf'), ini);
    const r = spawnSync(BIN, args(dir), { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    return { status: r.status, stderr: r.stderr, stdout: r.stdout, left: readdirSync(dir).filter((f) => f !== 'neutron.conf') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const NO_STACK = /^\s+at |Error: |node:internal/m;
const pg = BACKENDS.find((b) => b.name === 'postgres')!;
// Asked before any test starts: the start-up tests below load the machine enough to time it out.
const pgSkip = await skipUnless(pg);

describe('start-up errors', () => {
  let busy: Server;
  let busyPort: number;
  before(async () => {
    busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    busyPort = (busy.address() as { port: number }).port;
  });
  after(() => busy.close());

  for (const scheme of ['postgresql://postgres', 'mysql+pymysql://root']) {
    it(`a database that cannot be reached (${scheme.split(':')[0]}) names [database] connection, no stack, leaves no ./state`, async () => {
      const closed = await freePort();
      const port = String(await freePort());
      const r = runIn(() => ['aio', '--config-file', 'neutron.conf', '--bind-host', '127.0.0.1', '--bind-port', port], {
        database: { connection: `${scheme}@127.0.0.1:${closed}/nowhere`, max_retries: '1', retry_interval: '0' },
      });
      assert.equal(r.status, 1, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(
          `neutrino: \\[database\\] connection: cannot reach (postgresql|mysql)://127\\.0\\.0\\.1:${closed}/nowhere after 2 attempts: .*ECONNREFUSED`,
        ),
      );
      assert.doesNotMatch(r.stderr, NO_STACK);
      assert.match(r.stdout, /database not reachable yet/, 'the retry is logged');
      assert.deepEqual(r.left, [], 'no ./state left behind');
      const up = runIn(() => ['db', 'upgrade', '--config-file', 'neutron.conf'], {
        DEFAULT: { state_path: 'state' },
        database: { connection: `${scheme}@127.0.0.1:${closed}/nowhere`, max_retries: '0' },
      });
      assert.equal(up.status, 1, up.stderr);
      assert.match(up.stderr, /neutrino: \[database\] connection: cannot reach .* after 1 attempt: /);
      assert.doesNotMatch(up.stderr, NO_STACK);
      assert.deepEqual(up.left, [], 'db upgrade leaves no state directory either');
    });
  }

  it('a port in use names --bind-port and [DEFAULT] bind_port, leaves no ./state (and keeps a state directory that was there)', () => {
    const r = runIn(() => ['aio', '--bind-host', '127.0.0.1', '--bind-port', String(busyPort)]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `cannot listen on 127\\.0\\.0\\.1:${busyPort}: the address is already in use \\(EADDRINUSE\\).*--bind-port / \\[DEFAULT\\] bind_port`,
      ),
    );
    assert.doesNotMatch(r.stderr, NO_STACK);
    assert.deepEqual(r.left, []);
    const kept = runIn((dir) => {
      mkdirSync(join(dir, 'mine'));
      return ['aio', '--bind-host', '127.0.0.1', '--bind-port', String(busyPort), '--state-path', join(dir, 'mine')];
    });
    assert.equal(kept.status, 1);
    assert.deepEqual(kept.left, ['mine'], 'a state directory that existed stays');
  });

  it('an invalid auth_strategy is refused by aio as by server', async () => {
    const port = String(await freePort());
    for (const cmd of ['aio', 'server']) {
      const r = runIn(() => [cmd, '--config-file', 'neutron.conf', '--bind-host', '127.0.0.1', '--bind-port', port], {
        DEFAULT: { auth_strategy: 'basic' },
      });
      assert.equal(r.status, 2, `${cmd}: ${r.stderr}`);
      assert.match(r.stderr, /neutron\.conf: \[DEFAULT\] auth_strategy: expected one of keystone, noauth, got "basic"/);
      assert.deepEqual(r.left, [], `${cmd}: no ./state`);
    }
  });
});

describe('SIGTERM', { skip: pgSkip }, () => {
  let made: Awaited<ReturnType<Backend['create']>>;
  let proxy: TcpProxy;
  const dirs: string[] = [];
  before(async () => {
    made = await pg.create();
    proxy = await new TcpProxy(hostPort(made.url, 5432)).start();
  });
  after(async () => {
    await proxy?.close();
    await made?.drop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const start = async (gracefulShutdownTimeout: number) => {
    const dir = mkdtempSync(join(tmpdir(), 'neutrino-term-'));
    dirs.push(dir);
    return spawnServer(dir, {
      DEFAULT: { graceful_shutdown_timeout: String(gracefulShutdownTimeout) },
      database: { connection: throughProxy(made.url, proxy) },
    });
  };

  it('finishes requests in flight (keep-alive connections then closed cleanly), logs, exits 0', async () => {
    const s = await start(60);
    assert.equal((await adminReq(s.url, 'POST', '/v2.0/networks', { network: { name: 'before' } })).status, 201);
    // An idle keep-alive connection, as a client pool keeps one.
    const { port } = new URL(s.url);
    const idle = connect(Number(port), '127.0.0.1');
    let idleText = '';
    const idleEnd = new Promise<string>((r) => {
      idle.on('data', (d) => (idleText += d));
      idle.on('end', () => r('end'));
      idle.on('error', (e) => r(`error ${e.message}`));
    });
    idle.write(`GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n`);
    await waitFor('the idle connection to get its answer', () => idleText.includes('\r\n\r\n'));

    proxy.hold(true); // the database stalls: the next requests stay in flight
    const inFlight = Array.from({ length: 5 }, (_, i) => adminReq(s.url, 'POST', '/v2.0/networks', { network: { name: `inflight-${i}` } }));
    await sleep(500);
    s.proc.kill('SIGTERM');
    await waitFor('the stop to be logged', () => s.output().includes('finishing requests in flight'));
    assert.equal(await idleEnd, 'end', 'the idle keep-alive connection is closed with a FIN');
    await sleep(300);
    assert.equal(s.proc.exitCode, null, 'still running while requests are in flight');
    const refused = await fetch(`${s.url}/`).then(
      () => 'answered',
      () => 'refused',
    );
    assert.equal(refused, 'refused', 'no new connections while draining');

    proxy.hold(false);
    const answers = await Promise.all(inFlight);
    for (const a of answers) {
      assert.equal(a.status, 201, JSON.stringify(a.body));
      assert.equal(a.headers.get('connection'), 'close');
    }
    assert.deepEqual(await s.exited, { code: 0, signal: null });
    assert.match(s.output(), /neutrino server stopped/);
  });

  it('past graceful_shutdown_timeout it exits 1 and says so', async () => {
    const s = await start(1);
    proxy.hold(true);
    const stuck = adminReq(s.url, 'GET', '/v2.0/networks').catch((e: Error) => e);
    await sleep(500);
    const t0 = Date.now();
    s.proc.kill('SIGTERM');
    const exit = await s.exited;
    const took = Date.now() - t0;
    proxy.hold(false);
    assert.deepEqual(exit, { code: 1, signal: null });
    assert.ok(took < 15_000, `exited after ${took} ms`);
    assert.match(s.output(), /graceful_shutdown_timeout exceeded/);
    assert.ok((await stuck) instanceof Error, 'the stuck request was cut');
  });
});

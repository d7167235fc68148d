// The database goes away and comes back, for this server alone: a TCP proxy we control sits
// between `neutrino server` (a child process: an unhandled driver error would kill it) and the
// shared PostgreSQL or MariaDB. While it is gone every request answers 503 with a NeutronError in
// bounded time (a black hole bounded by [database] query_timeout and pool_timeout, then refused);
// once it is back the same process serves again. The time to recover is printed.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BACKENDS, skipUnless, type Backend } from '../helpers/backends.js';
import { adminReq, spawnServer, type ServerProcess } from '../helpers/process-server.js';
import { hostPort, TcpProxy, throughProxy } from '../helpers/tcp-proxy.js';
import { sleep } from '../helpers/wait.js';

const TIMEOUT_S = 3; // [database] pool_timeout and query_timeout

// Asked before any test starts (a busy machine can time the check out).
const servers = BACKENDS.filter((b) => b.name !== 'sqlite');
const skips = await Promise.all(servers.map((b) => skipUnless(b)));

for (const [i, backend] of servers.entries()) {
  describe(`database outage on ${backend.name}`, { skip: skips[i]! }, () => {
    let made: Awaited<ReturnType<Backend['create']>>;
    let proxy: TcpProxy;
    let dir: string;
    let s: ServerProcess | null = null;
    before(async () => {
      made = await backend.create();
      proxy = await new TcpProxy(hostPort(made.url, backend.name === 'postgres' ? 5432 : 3306)).start();
      dir = mkdtempSync(join(tmpdir(), 'neutrino-dbout-'));
    });
    after(async () => {
      await s?.kill();
      await proxy?.close();
      await made?.drop();
      rmSync(dir, { recursive: true, force: true });
    });

    /** Every kind of request answers 503 HTTPServiceUnavailable, each within `boundMs`. */
    const allUnavailable = async (url: string, networkId: string, boundMs: number): Promise<number> => {
      let slowest = 0;
      for (const [method, path, body] of [
        ['GET', '/v2.0/networks'],
        ['GET', `/v2.0/networks/${networkId}`],
        ['POST', '/v2.0/networks', { network: { name: 'during' } }],
        ['PUT', `/v2.0/networks/${networkId}`, { network: { name: 'renamed' } }],
        ['GET', '/v2.0/ports?limit=1'],
      ] as const) {
        const t0 = Date.now();
        const r = await adminReq(url, method, path, body).catch((e: Error) => {
          throw new Error(`${method} ${path}: ${e.message} (${(e.cause as Error)?.message}); server output:\n${s?.output()}`);
        });
        const took = Date.now() - t0;
        assert.equal(r.status, 503, `${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
        assert.equal(r.body.NeutronError.type, 'HTTPServiceUnavailable');
        assert.ok(r.headers.get('retry-after'));
        assert.ok(took < boundMs, `${method} ${path} took ${took} ms`);
        slowest = Math.max(slowest, took);
      }
      return slowest;
    };

    it('503 NeutronError while it is gone (bounded), the same process serves again once it is back', async () => {
      s = await spawnServer(dir, {
        database: { connection: throughProxy(made.url, proxy), pool_timeout: String(TIMEOUT_S), query_timeout: String(TIMEOUT_S) },
      });
      const net = await adminReq(s.url, 'POST', '/v2.0/networks', { network: { name: 'before' } });
      assert.equal(net.status, 201, JSON.stringify(net.body));
      const id = net.body.network.id as string;
      // Warm the pool: several connections open, so the cut finds idle ones too.
      await Promise.all(Array.from({ length: 8 }, () => adminReq(s!.url, 'GET', '/v2.0/networks')));

      // Gone without a word (host down, network partition): open connections go silent, new ones
      // are accepted and never answered. Bounded by query_timeout and pool_timeout.
      proxy.hold(true);
      const blackHoleMs = await allUnavailable(s.url, id, (TIMEOUT_S * 2 + 5) * 1000);
      // Gone for good: connections dropped, new ones refused (a stopped database).
      proxy.refuse(true);
      proxy.hold(false);
      proxy.cut();
      const refusedMs = await allUnavailable(s.url, id, 5_000);
      await sleep(500);

      // Back: time until the first request succeeds again.
      proxy.refuse(false);
      const t0 = Date.now();
      let first: Awaited<ReturnType<typeof adminReq>>;
      for (;;) {
        first = await adminReq(s.url, 'GET', `/v2.0/networks/${id}`);
        if (first.status !== 503 || Date.now() - t0 > 30_000) break;
        await sleep(20);
      }
      const recovery = Date.now() - t0;
      assert.equal(first.status, 200, JSON.stringify(first.body));
      assert.equal(first.body.network.name, 'before', 'the update tried during the outage did not happen');
      const after = await adminReq(s.url, 'POST', '/v2.0/networks', { network: { name: 'after' } });
      assert.equal(after.status, 201, JSON.stringify(after.body));
      const names = (await adminReq(s.url, 'GET', '/v2.0/networks?fields=name')).body.networks.map((n: { name: string }) => n.name).sort();
      assert.deepEqual(names, ['after', 'before'], 'nothing tried during the outage was written');
      assert.equal(s.proc.exitCode, null, 'the server never exited');
      assert.doesNotMatch(s.output(), /HTTPInternalServerError|"level":50/, 'no 500, no error logged');
      console.log(
        `# ${backend.name}: 503 in <= ${refusedMs} ms (refused), <= ${blackHoleMs} ms (black hole, pool_timeout and query_timeout ${TIMEOUT_S} s); first request served ${recovery} ms after the database came back`,
      );
    });
  });
}

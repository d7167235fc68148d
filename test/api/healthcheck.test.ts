// /healthcheck as oslo.middleware answers it: 200 "OK" per backend (HEAD 204), 503 with the
// failing backend's reason, text/plain, text/html or JSON by Accept, details only in detailed
// mode, and no token needed even when the API wants Keystone's. The 503s come from real
// failures: PostgreSQL and RabbitMQ reached through a TCP proxy that the test cuts (the shared
// services themselves are never stopped).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { BACKENDS, PG_URL, skipUnless, type Backend } from '../helpers/backends.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';
import { FlakyProxy, rabbitHarness, skipUnlessRabbit, type RabbitHarness } from '../rpc/rabbit.js';
import { registerHealthcheck } from '../../src/api/healthcheck.js';
import { healthBackends } from '../../src/server/health.js';
import { loadConfig, ConfigError } from '../../src/config/index.js';
import { openDb } from '../../src/db/connection.js';

const sqlite = BACKENDS.find((b) => b.name === 'sqlite')!;
const postgres = BACKENDS.find((b) => b.name === 'postgres')!;

async function get(url: string, accept?: string, method = 'GET') {
  const r = await fetch(`${url}/healthcheck`, { method, headers: accept ? { accept } : {} });
  return { status: r.status, type: r.headers.get('content-type') ?? '', text: await r.text() };
}

describe('/healthcheck (oslo.middleware healthcheck)', () => {
  let s: TestServer;
  before(async () => {
    // Keystone auth towards nothing: any API call is refused, the health check must not be.
    s = await startServer(sqlite, {
      DEFAULT: { auth_strategy: 'keystone' },
      keystone_authtoken: { auth_url: 'http://127.0.0.1:9/v3', username: 'neutron', password: 'x', project_name: 'service' },
    });
  });
  after(() => s?.stop());

  it('answers 200 with one OK per backend, as text/plain by default, without a token', async () => {
    assert.equal((await fetch(`${s.url}/v2.0/networks`)).status, 401, 'the API itself wants a token');
    const r = await get(s.url);
    assert.equal(r.status, 200);
    assert.equal(r.type, 'text/plain; charset=UTF-8');
    assert.equal(r.text, 'OK\nOK', 'database and messaging, the default backends');
    // An Accept nothing matches still gets text, as oslo answers rather than 406.
    const odd = await get(s.url, 'image/png');
    assert.equal(odd.status, 200);
    assert.equal(odd.text, 'OK\nOK');
  });

  it('HEAD answers 204 with no body', async () => {
    const r = await get(s.url, undefined, 'HEAD');
    assert.equal(r.status, 204);
    assert.equal(r.text, '');
  });

  it('JSON and HTML by Accept; without detailed mode the reasons only', async () => {
    const j = await get(s.url, 'application/json');
    assert.equal(j.status, 200);
    assert.match(j.type, /^application\/json/);
    assert.deepEqual(JSON.parse(j.text), { detailed: false, reasons: ['OK', 'OK'] });
    // q-values decide, as webob's acceptable_offers does.
    const preferJson = await get(s.url, 'text/plain;q=0.5, application/json');
    assert.match(preferJson.type, /^application\/json/);
    const h = await get(s.url, 'text/html');
    assert.equal(h.type, 'text/html; charset=UTF-8');
    assert.match(h.text, /<H2>Result of 2 checks:<\/H2>/);
    assert.doesNotMatch(h.text, /Server hostname/, 'no details unless detailed');
  });
});

describe('/healthcheck with detailed mode and disable_by_file', () => {
  let s: TestServer;
  const dir = mkdtempSync(join(tmpdir(), 'healthcheck-'));
  const flag = join(dir, 'healthcheck_disable');
  before(async () => {
    s = await startServer(sqlite, { healthcheck: { detailed: 'true', backends: 'database,disable_by_file', disable_by_file_path: flag } });
  });
  after(async () => {
    await s?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("details name each backend and why it is OK; the operator's file turns the answer into 503", async () => {
    const ok = JSON.parse((await get(s.url, 'application/json')).text);
    assert.equal(ok.detailed, true);
    assert.deepEqual(
      ok.reasons.map((r: { class: string; reason: string }) => [r.class, r.reason]),
      [
        ['database', 'OK'],
        ['disable_by_file', 'OK'],
      ],
    );
    assert.match(ok.reasons[1].details, /was not found/);
    assert.equal(typeof ok.node_version, 'string');

    writeFileSync(flag, '');
    const down = await get(s.url);
    assert.equal(down.status, 503);
    assert.equal(down.text, 'OK\nDISABLED BY FILE');
    assert.equal((await get(s.url, undefined, 'HEAD')).status, 503);
    rmSync(flag);
    assert.equal((await get(s.url)).status, 200);
  });

  it('an unknown backend stops start-up with a configuration error', async () => {
    await assert.rejects(startServer(sqlite, { healthcheck: { backends: 'database,nosuch' } }), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /\[healthcheck\] backends: unknown backend "nosuch"/);
      return true;
    });
  });
});

describe('/healthcheck when PostgreSQL goes away', { skip: await skipUnless(postgres) }, () => {
  let s: TestServer;
  let proxy: FlakyProxy;
  before(async () => {
    const pg = new URL(PG_URL);
    proxy = await new FlakyProxy({ host: pg.hostname, port: Number(pg.port || 5432) }).start();
    // The test database is made and dropped directly; the server reaches it through the proxy.
    const throughProxy: Backend = {
      ...postgres,
      async create() {
        const db = await postgres.create();
        const u = new URL(db.url);
        u.host = `127.0.0.1:${proxy.port}`;
        return { url: u.toString(), drop: db.drop };
      },
    };
    s = await startServer(throughProxy);
  });
  after(async () => {
    await proxy?.close();
    await s?.stop();
  });

  it('answers 503 DATABASE UNAVAILABLE while the database cannot be reached, and 200 again once it can', async () => {
    assert.equal((await get(s.url)).text, 'OK\nOK');
    proxy.refuse(true);
    proxy.cut();
    const down = await get(s.url, 'application/json');
    assert.equal(down.status, 503);
    assert.deepEqual(JSON.parse(down.text), { detailed: false, reasons: ['DATABASE UNAVAILABLE', 'OK'] });
    proxy.refuse(false);
    await waitFor('the database back', async () => (await get(s.url)).status === 200, 15_000, 100);
  });
});

describe('/healthcheck when the RabbitMQ connection is lost', { skip: await skipUnlessRabbit() }, () => {
  let rabbit: RabbitHarness;
  let proxy: FlakyProxy;
  const state = mkdtempSync(join(tmpdir(), 'healthcheck-amqp-'));
  const db = openDb(`sqlite:///${join(state, 'db.sqlite')}`);
  const app = Fastify();
  before(async () => {
    rabbit = await rabbitHarness('health');
    proxy = await FlakyProxy.forBroker().start();
    // A bus that only connects (it serves no topic, so it can take no other test's messages).
    const bus = await rabbit.busWith({ url: proxy.url() });
    await bus.waitConnected(10_000);
    const cfg = loadConfig([], { healthcheck: { backends: 'messaging' } });
    registerHealthcheck(app, { backends: healthBackends(cfg, db, bus), detailed: false });
    await app.listen({ host: '127.0.0.1', port: 0 });
  });
  after(async () => {
    await app.close();
    await proxy?.close();
    await rabbit?.close();
    await db.close();
    rmSync(state, { recursive: true, force: true });
  });

  it('answers 503 MESSAGING UNAVAILABLE without a broker connection, and 200 once reconnected', async () => {
    const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    assert.equal((await get(url)).text, 'OK');
    proxy.refuse(true);
    proxy.cut();
    await waitFor('the health check to see the lost connection', async () => (await get(url)).status === 503, 15_000, 50);
    assert.equal((await get(url)).text, 'MESSAGING UNAVAILABLE');
    proxy.refuse(false);
    await waitFor('the bus to reconnect', async () => (await get(url)).status === 200, 15_000, 100);
  });
});

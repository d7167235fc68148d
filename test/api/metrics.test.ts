// /metrics after a known set of requests and agent messages: the counters match what was sent,
// exactly; the database, RPC and agent metrics are there; [metrics] enabled = false removes it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { ADMIN, ALICE, startServer, type TestServer } from '../helpers/server.js';
import { sleep } from '../helpers/wait.js';
import { MemoryBroker, MemoryBus, silentLogger, type RpcBus } from '../../src/rpc/index.js';

/** Samples of the text exposition format: `name{a="x",b="y"} value` → one entry per line. */
function parseMetrics(text: string): Array<{ name: string; labels: Record<string, string>; value: number }> {
  const out = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

type Samples = ReturnType<typeof parseMetrics>;
/** The value of the one sample of `name` whose labels include `labels` (0 when there is none). */
function value(samples: Samples, name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  assert.ok(found.length <= 1, `${name} ${JSON.stringify(labels)} matches ${found.length} samples`);
  return found[0]?.value ?? 0;
}

for (const backend of BACKENDS) {
  describe(`/metrics on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let s: TestServer;
    let serverBus: RpcBus;
    let agentBus: RpcBus;
    const HOST = `metrics-dhcp-${backend.name}`;
    const casts: string[] = [];
    const scrape = async () => {
      const r = await fetch(`${s.url}/metrics`);
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      return parseMetrics(await r.text());
    };

    before(async () => {
      const broker = new MemoryBroker();
      serverBus = new MemoryBus({ broker, logger: silentLogger });
      agentBus = new MemoryBus({ broker, logger: silentLogger });
      s = await startServer(backend, {}, { bus: serverBus });
      await agentBus.serve('dhcp_agent', HOST, {
        network_create_end: () => void casts.push('network_create_end'),
        subnet_create_end: () => void casts.push('subnet_create_end'),
        port_create_end: () => void casts.push('port_create_end'),
      });
    });
    after(async () => {
      await s?.stop();
      await agentBus?.close();
      await serverBus?.close();
    });

    it('counts every request by resource, method and status, and times them', async () => {
      const before = await scrape();
      const N = { created: 3, listed: 5, missing: 2, invalid: 1 };
      const ids: string[] = [];
      for (let i = 0; i < N.created; i++) {
        const r = await s.req('POST', '/v2.0/networks', { network: { name: `m${i}` } }, ALICE);
        assert.equal(r.status, 201);
        ids.push(r.body.network.id);
      }
      for (let i = 0; i < N.listed; i++) assert.equal((await s.req('GET', '/v2.0/networks', undefined, ALICE)).status, 200);
      for (let i = 0; i < N.missing; i++) assert.equal((await s.req('GET', `/v2.0/networks/${randomUUID()}`, undefined, ALICE)).status, 404);
      assert.equal((await s.req('POST', '/v2.0/networks', { network: { admin_state_up: 'maybe' } }, ALICE)).status, 400);
      assert.equal((await s.req('PUT', `/v2.0/networks/${ids[0]}/tags/blue`, undefined, ALICE)).status, 201);
      assert.equal((await s.req('GET', '/v2.0/no-such-thing', undefined, ALICE)).status, 404);

      const after = await scrape();
      const delta = (labels: Record<string, string>) =>
        value(after, 'neutrino_http_requests_total', labels) - value(before, 'neutrino_http_requests_total', labels);
      assert.equal(delta({ resource: 'networks', method: 'POST', status: '201' }), N.created);
      assert.equal(delta({ resource: 'networks', method: 'POST', status: '400' }), N.invalid);
      assert.equal(delta({ resource: 'networks', method: 'GET', status: '200' }), N.listed);
      assert.equal(delta({ resource: 'networks', method: 'GET', status: '404' }), N.missing);
      assert.equal(delta({ resource: 'networks/tags', method: 'PUT', status: '201' }), 1);
      assert.equal(delta({ resource: 'unmatched', method: 'GET', status: '404' }), 1);
      // The histogram saw the same requests (resource and method only).
      const count = (samples: Samples) => value(samples, 'neutrino_http_request_duration_seconds_count', { resource: 'networks', method: 'GET' });
      assert.equal(count(after) - count(before), N.listed + N.missing);
      const le = value(after, 'neutrino_http_request_duration_seconds_bucket', { resource: 'networks', method: 'GET', le: '+Inf' });
      assert.equal(le, count(after));
      // Each network create is one committed write transaction (the tag another).
      const commits = (samples: Samples) => value(samples, 'neutrino_db_transaction_duration_seconds_count', { outcome: 'commit' });
      assert.ok(commits(after) - commits(before) >= N.created + 1, `commits: ${commits(before)} → ${commits(after)}`);
      assert.ok(value(after, 'neutrino_process_cpu_seconds_total') > 0, 'process metrics');
    });

    it('counts RPC handled (report_state) and sent (casts to the DHCP agent), and the agents alive per type', async () => {
      const state = await agentBus.call('q-reports-plugin', 'report_state', {
        agent_state: {
          agent_state: {
            agent_type: 'DHCP agent',
            binary: 'neutron-dhcp-agent',
            host: HOST,
            topic: 'dhcp_agent',
            configurations: {},
            start_flag: true,
          },
        },
        time: new Date().toISOString().replace('Z', ''),
      });
      assert.equal(state, 'new');
      const n = await s.req('POST', '/v2.0/networks', { network: { name: 'with-dhcp' } }, ADMIN);
      const sn = await s.req('POST', '/v2.0/subnets', { subnet: { network_id: n.body.network.id, cidr: '10.77.0.0/24', ip_version: 4 } }, ADMIN);
      assert.equal(sn.status, 201);
      await s.server.settled();
      await sleep(50);
      assert.ok(casts.length >= 2, `casts: ${casts}`);

      const m = await scrape();
      assert.equal(value(m, 'neutrino_rpc_handled_total', { topic: 'q-reports-plugin', method: 'report_state', outcome: 'ok' }), 1);
      assert.equal(value(m, 'neutrino_rpc_handled_duration_seconds_count', { topic: 'q-reports-plugin', method: 'report_state' }), 1);
      for (const method of new Set(casts)) {
        assert.equal(
          value(m, 'neutrino_rpc_sent_total', { kind: 'cast', topic: 'dhcp_agent', method, outcome: 'ok' }),
          casts.filter((c) => c === method).length,
          method,
        );
      }
      assert.equal(value(m, 'neutrino_agents', { agent_type: 'DHCP agent', alive: 'true', admin_state_up: 'true' }), 1);
      assert.equal(value(m, 'neutrino_agents', { agent_type: 'DHCP agent', alive: 'false' }), 0);
      if (backend.name !== 'sqlite') {
        assert.equal(value(m, 'neutrino_db_pool_connections', { state: 'max' }), 10);
        assert.ok(value(m, 'neutrino_db_pool_connections', { state: 'open' }) >= 1);
      }
    });
  });
}

describe('/metrics turned off', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer(BACKENDS[0]!, { metrics: { enabled: 'false' } });
  });
  after(() => s?.stop());
  it('is not served', async () => {
    assert.equal((await fetch(`${s.url}/metrics`)).status, 404);
    assert.equal((await s.req('GET', '/v2.0/networks')).status, 200);
  });
});

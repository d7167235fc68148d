// The metadata agent as its own process with two node:cluster workers and [agent]
// metrics_bind_port: each worker counts the requests it answers, and the primary's /metrics serves
// their sum (prom-client's cluster aggregator). Requests without a network or router id get the
// 404 page, which is enough to count.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/process-server.js';
import { waitFor } from '../helpers/wait.js';

function getOverSocket(socketPath: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, path: '/openstack/latest/meta_data.json' }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('metadata agent metrics with workers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'neutrino-md-metrics-'));
  const socket = join(dir, 'metadata_proxy');
  let port = 0;
  let agent: ChildProcess;
  let out = '';

  before(async () => {
    port = await freePort();
    const conf = join(dir, 'metadata_agent.ini');
    writeFileSync(
      conf,
      `[DEFAULT]\nstate_path = ${dir}\nmetadata_proxy_socket = ${socket}\nmetadata_workers = 2\n\n[agent]\nreport_interval = 0\nmetrics_bind_host = 127.0.0.1\nmetrics_bind_port = ${port}\n`,
    );
    agent = spawn(process.execPath, ['bin/neutrino', 'agent', 'metadata', '--config-file', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    agent.stdout!.on('data', (d) => (out += d));
    agent.stderr!.on('data', (d) => (out += d));
    await waitFor(`the socket (${out.slice(-500)})`, async () => existsSync(socket), 60_000);
  });

  after(() => {
    agent?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves the workers' sum of answers by status", async () => {
    // Each connection may land on either worker (the kernel spreads them).
    for (let i = 0; i < 6; i++) assert.equal(await getOverSocket(socket), 404);
    const count = async () => {
      const r = await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => null);
      if (!r || r.status !== 200) return -1;
      const m = /^neutrino_agent_metadata_requests_total\{status="404"\} (\d+)$/m.exec(await r.text());
      return m ? Number(m[1]) : 0;
    };
    await waitFor('6 answers counted', async () => (await count()) === 6, 30_000);
  });
});

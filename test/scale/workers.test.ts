// `neutrino server` with two API workers, one RPC worker and one state-report worker (node:cluster) on one port, over
// SQLite (one file, several writers) and PostgreSQL, with RabbitMQ: concurrent creates through
// both workers hand out no IP or MAC twice, every port reaches the DHCP agent exactly once
// whichever worker created it, and the agent's heartbeats are answered by the RPC worker.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { adminReq, spawnServer, type ServerProcess } from '../helpers/process-server.js';
import { skipUnlessRabbit } from '../rpc/rabbit.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { FakeDhcpAgent, RunVhost } from './cluster.js';

const noRabbit = await skipUnlessRabbit();

/** The processes the primary forked, by command line. */
const children = (pid: number) =>
  execFileSync('ps', ['--ppid', String(pid), '-o', 'pid='], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);

for (const backend of BACKENDS.filter((b) => b.name !== 'mysql')) {
  describe(`api_workers = 2, rpc_workers = 1 on ${backend.name}`, { skip: noRabbit || (await skipUnless(backend)) }, () => {
    let made: Awaited<ReturnType<typeof backend.create>>;
    let vhost: RunVhost;
    let dir: string;
    let s: ServerProcess | null = null;
    let agent: FakeDhcpAgent | null = null;
    before(async () => {
      made = await backend.create();
      vhost = await new RunVhost().create();
      dir = mkdtempSync(join(tmpdir(), 'neutrino-workers-'));
      s = await spawnServer(dir, {
        DEFAULT: { api_workers: '2', rpc_workers: '1', rpc_state_report_workers: '1', transport_url: vhost.url },
        database: { connection: made.url },
        quotas: { quota_port: '-1' },
      });
    });
    after(async () => {
      await agent?.stop();
      await s?.kill();
      await vhost?.destroy();
      await made?.drop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('forks two API workers, one RPC worker and one state-report worker; only those two consume the agents’ topics', async () => {
      await waitFor('four workers', () => children(s!.proc.pid!).length === 4, 30_000, 200);
      await waitFor('q-plugin consumed once', async () => (await vhost.consumers('q-plugin')) === 1, 30_000, 200);
      // The RPC worker and the state-report worker (rpc_state_report_workers), as Neutron's.
      await waitFor('q-reports-plugin consumed twice', async () => (await vhost.consumers('q-reports-plugin')) === 2, 30_000, 200);
      await sleep(1000);
      assert.equal(await vhost.consumers('q-plugin'), 1, 'the state-report worker answers report_state only');
    });

    it("only the API workers get bin/neutrino's larger young generation (--max-semi-space-size)", async () => {
      await waitFor('four workers', () => children(s!.proc.pid!).length === 4, 30_000, 200);
      const flagsByRole = new Map<string, boolean[]>();
      for (const pid of children(s!.proc.pid!)) {
        const role = /(?:^|\0)NEUTRINO_WORKER_ROLE=(\w+)/.exec(readFileSync(`/proc/${pid}/environ`, 'latin1'))?.[1] ?? '?';
        const semi = readFileSync(`/proc/${pid}/cmdline`, 'latin1')
          .split('\0')
          .some((a) => a.startsWith('--max-semi-space-size'));
        flagsByRole.set(role, [...(flagsByRole.get(role) ?? []), semi]);
      }
      assert.deepEqual(Object.fromEntries(flagsByRole), { api: [true, true], rpc: [false], reports: [false] });
    });

    it('concurrent creates through both workers: no IP or MAC twice, each port_create_end exactly once', async () => {
      agent = await new FakeDhcpAgent(vhost.url).start(s!.url);
      const net = (await adminReq(s!.url, 'POST', '/v2.0/networks', { network: { name: 'workers' } })).body.network;
      const sub = await adminReq(s!.url, 'POST', '/v2.0/subnets', {
        subnet: { network_id: net.id, ip_version: 4, cidr: '10.61.0.0/24', allocation_pools: [{ start: '10.61.0.10', end: '10.61.0.69' }] },
      });
      assert.equal(sub.status, 201, JSON.stringify(sub.body));
      // Separate connections (no keep-alive sharing), so the primary hands them to both workers.
      const results = await Promise.all(
        Array.from({ length: 90 }, (_, i) =>
          fetch(`${s!.url}/v2.0/ports`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', connection: 'close', 'x-project-id': 'admin-project', 'x-roles': 'admin' },
            body: JSON.stringify({ port: { network_id: net.id, name: `w${i}` } }),
          }).then(async (r) => ({ status: r.status, body: (await r.json()) as any })),
        ),
      );
      const ok = results.filter((r) => r.status === 201);
      assert.equal(ok.length, 60, `statuses: ${JSON.stringify(results.map((r) => r.status))}`);
      for (const r of results.filter((x) => x.status !== 201)) assert.equal(r.body.NeutronError.type, 'IpAddressGenerationFailure');
      assert.equal(new Set(ok.map((r) => r.body.port.fixed_ips[0].ip_address)).size, 60);
      assert.equal(new Set(ok.map((r) => r.body.port.mac_address)).size, 60);
      const ids = ok.map((r) => r.body.port.id as string);
      // The DHCP port the agent's network got is notified too; only ours are counted.
      await waitFor('every port notified', () => ids.every((id) => agent!.created.has(id)), 60_000, 100);
      await sleep(1000); // a duplicate would come right behind
      for (const id of ids) assert.equal(agent!.created.get(id), 1, `port ${id} notified ${agent!.created.get(id)} times`);
    });
  });
}

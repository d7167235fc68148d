// As root: a real DHCP agent process (`neutrino agent dhcp`, dnsmasq in its qdhcp- namespace)
// on the RabbitMQ shared by two `neutrino server` processes over one PostgreSQL. Agents talk to
// no server in particular: their calls go to whichever consumes q-plugin / q-reports-plugin, and
// every server notifies them of its own writes. One server is killed (-9) while the agent works;
// the agent's heartbeats keep being answered, and ports created through the survivor (its
// port_create_end casts, the agent's calls for the network) reach dnsmasq.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dnsmasqPaths } from '../../src/dataplane/index.js';
import { rootGate, suffix } from '../dataplane/root-helpers.js';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { adminReq, BIN, spawnServer, writeIni, type ServerProcess } from '../helpers/process-server.js';
import { skipUnlessRabbit } from '../rpc/rabbit.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { RunVhost } from './cluster.js';
import { removeDhcpNetwork } from '../helpers/agents.js';

const gate = rootGate('DHCP agent failover between servers', ['ip', 'nsenter', 'dnsmasq']);
const pg = BACKENDS.find((b) => b.name === 'postgres')!;
const skip = gate.skip || (await skipUnlessRabbit()) || (await skipUnless(pg));

describe('an agent keeps working when the server it was talking to is killed (root)', { skip }, () => {
  const id = suffix();
  const HOST = `failover-${id}`;
  let made: Awaited<ReturnType<typeof pg.create>>;
  let vhost: RunVhost;
  let dir = '';
  const servers: ServerProcess[] = [];
  let agent: ChildProcess | null = null;
  let agentOut = '';
  let netId = '';

  before(async () => {
    gate.check();
    dir = await mkdtemp(join(tmpdir(), 'neutrino-failover-'));
    await chmod(dir, 0o755); // dnsmasq reads its files as 'nobody'
    made = await pg.create();
    vhost = await new RunVhost().create();
  });
  after(async () => {
    if (agent && agent.exitCode === null) {
      agent.kill('SIGTERM');
      await new Promise((r) => agent!.once('exit', r));
    }
    if (netId) {
      await removeDhcpNetwork(join(dir, 'agent', 'dhcp'), netId);
    }
    for (const s of servers) await s.kill();
    await vhost?.destroy();
    await made?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('heartbeats answered and new ports served by dnsmasq after one of two servers is killed', async () => {
    for (const i of [0, 1]) {
      const d = join(dir, `server${i}`);
      await mkdir(d);
      servers.push(await spawnServer(d, { DEFAULT: { transport_url: vhost.url, agent_down_time: '4' }, database: { connection: made.url } }));
    }
    await waitFor('both servers consuming q-plugin', async () => (await vhost.consumers('q-plugin')) === 2, 30_000, 200);
    const conf = writeIni(join(dir, 'dhcp_agent.ini'), {
      DEFAULT: { transport_url: vhost.url, state_path: join(dir, 'agent'), host: HOST },
      agent: { report_interval: '1' },
    });
    agent = spawn(BIN, ['agent', 'dhcp', '--config-file', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    agent.stdout!.on('data', (d) => (agentOut += d));
    agent.stderr!.on('data', (d) => (agentOut += d));
    const [a, b] = servers as [ServerProcess, ServerProcess];
    await waitFor(
      'the agent to be alive',
      async () => (await adminReq(a.url, 'GET', `/v2.0/agents?host=${HOST}`)).body.agents?.[0]?.alive === true,
      60_000,
      200,
    );
    netId = (await adminReq(a.url, 'POST', '/v2.0/networks', { network: { name: `failover-${id}` } })).body.network.id;
    const sub = await adminReq(b.url, 'POST', '/v2.0/subnets', { subnet: { network_id: netId, ip_version: 4, cidr: '10.97.0.0/24' } });
    assert.equal(sub.status, 201, JSON.stringify(sub.body));
    const hosts = async () => (await readFile(dnsmasqPaths(join(dir, 'agent', 'dhcp'), netId).hosts, 'utf8').catch(() => '')).toLowerCase();
    const before = (await adminReq(a.url, 'POST', '/v2.0/ports', { port: { network_id: netId } })).body.port;
    await waitFor('dnsmasq serving a port made through server A', async () => (await hosts()).includes(before.mac_address), 60_000, 200);

    await a.kill(); // -9: its unacknowledged messages go back to the queues for B
    const killedAt = Date.now();
    await waitFor('B alone consuming q-plugin', async () => (await vhost.consumers('q-plugin')) === 1, 30_000, 200);
    const after: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await adminReq(b.url, 'POST', '/v2.0/ports', { port: { network_id: netId } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      after.push(r.body.port.mac_address as string);
    }
    await waitFor(
      'dnsmasq serving every port made through B',
      async () => {
        const h = await hosts();
        return after.every((m) => h.includes(m));
      },
      60_000,
      200,
    ).catch(() => {});
    for (const m of after) assert.ok((await hosts()).includes(m), `${m} missing from dnsmasq\n${agentOut.slice(-2000)}`);
    // agent_down_time is 4 s: alive 6 s after the kill means B answered its heartbeats since.
    await sleep(Math.max(0, 6000 - (Date.now() - killedAt)));
    const seen = (await adminReq(b.url, 'GET', `/v2.0/agents?host=${HOST}`)).body.agents[0];
    assert.equal(seen.alive, true, JSON.stringify(seen));
    assert.ok(
      Date.parse(`${String(seen.heartbeat_timestamp).replace(' ', 'T')}Z`) > killedAt - 1000,
      `heartbeat ${seen.heartbeat_timestamp} not after the kill`,
    );
    assert.equal(agent.exitCode, null, agentOut.slice(-2000));
    assert.equal(b.proc.exitCode, null);
  });
});

// As root: a real RabbitMQ restart under load. A private broker node (test/helpers/private-rabbit.ts;
// the shared one on 5672 is not touched) serves `neutrino server` (a child process) and the real
// DHCP agent (in this process, dnsmasq in its qdhcp- namespace). Ports are created, the node is
// stopped — its non-durable queues, their bindings, the auto-delete fanout exchanges and any
// message in them are gone — and started again 3 s later. The load stops when the broker is
// back, so no later notification can cover for one lost in the restart: every port the API
// committed must still end up in the agent's dnsmasq hosts file. The time from the broker's
// return to convergence is printed.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBus, silentLogger, type RpcBus } from '../../src/rpc/index.js';
import { DhcpAgent } from '../../src/agents/dhcp/agent.js';
import { bridgeOf, namespaceOf } from '../../src/agents/dhcp/render.js';
import { deleteLink, deleteNetns, dnsmasqPaths, listLinks, stopDnsmasq } from '../../src/dataplane/index.js';
import { rootGate, suffix } from '../dataplane/root-helpers.js';
import { adminReq, spawnServer, type ServerProcess } from '../helpers/process-server.js';
import { PrivateRabbit, privateRabbitUnavailable } from '../helpers/private-rabbit.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { startPortBurst } from './port-burst.js';

const gate = rootGate('DHCP agent across a RabbitMQ restart', ['ip', 'nsenter', 'dnsmasq']);
const noRabbit = gate.skip ? null : privateRabbitUnavailable();
if (noRabbit && process.env.CI) throw new Error(`the broker restart test needs a local rabbitmq-server in CI: ${noRabbit}`);
if (noRabbit) console.error(`\n!!! SKIPPING the RabbitMQ restart test: ${noRabbit} (this would FAIL in CI) !!!\n`);

describe('DHCP agent across a RabbitMQ restart (root)', { skip: gate.skip || noRabbit || false }, () => {
  const id = suffix();
  const HOST = `faults-restart-${id}`;
  let rabbit: PrivateRabbit | null = null;
  let dir = '';
  let s: ServerProcess | null = null;
  let agentBus: RpcBus | null = null;
  let agent: DhcpAgent | null = null;
  let netId = '';

  before(async () => {
    gate.check();
    dir = await mkdtemp(join(tmpdir(), 'neutrino-faults-restart-'));
    await chmod(dir, 0o755); // dnsmasq reads its files as 'nobody'
    rabbit = new PrivateRabbit();
    await rabbit.create();
  });
  after(async () => {
    await agent?.stop().catch(() => {});
    if (netId) {
      await stopDnsmasq(join(dir, 'agent', 'dhcp'), netId).catch(() => {});
      await deleteNetns(namespaceOf(netId)).catch(() => {});
      if ((await listLinks()).some((l) => l.name === bridgeOf(netId))) await deleteLink(bridgeOf(netId)).catch(() => {});
    }
    await agentBus?.close();
    await s?.kill();
    await rabbit?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("every committed port ends up in the agent's dnsmasq after the broker restarts", async () => {
    const url = rabbit!.url;
    s = await spawnServer(dir, { DEFAULT: { transport_url: url }, quotas: { quota_port: '-1' } });
    // The server serves its RPC topics in the background: the agent's first call needs them.
    await waitFor(
      'the server to consume q-plugin',
      async () => (await rabbit!.ctl('list_queues', 'name', 'consumers')).includes('q-plugin\t1'),
      30_000,
      200,
    );
    agentBus = createBus(url, { logger: silentLogger, connectionName: `neutrino-faults-restart-${id}` });
    agent = new DhcpAgent({ bus: agentBus, host: HOST, statePath: join(dir, 'agent'), reportInterval: 1, resyncInterval: 1 });
    await agent.start();
    await waitFor('the agent to be alive', async () => (await adminReq(s!.url, 'GET', `/v2.0/agents?host=${HOST}`)).body.agents?.[0]?.alive === true);
    netId = (await adminReq(s.url, 'POST', '/v2.0/networks', { network: { name: `restart-${id}` } })).body.network.id;
    const sub = await adminReq(s.url, 'POST', '/v2.0/subnets', { subnet: { network_id: netId, ip_version: 4, cidr: '10.96.0.0/20' } });
    assert.equal(sub.status, 201, JSON.stringify(sub.body));
    const hosts = async () => (await readFile(dnsmasqPaths(agent!.dhcpDir, netId).hosts, 'utf8').catch(() => '')).toLowerCase();

    const burst = startPortBurst(s.url, netId);
    const { committed, failures } = burst;
    await waitFor(
      'dnsmasq serving the first ports',
      async () => committed.size >= 10 && (await hosts()).includes([...committed.values()][0]!),
      60_000,
    );

    // The restart, under load: stop the node for real, 3 s down, start it on the same data.
    const beforeStop = committed.size;
    const stopAt = Date.now();
    await rabbit!.stop();
    await sleep(3000);
    await rabbit!.start();
    const backAt = Date.now();
    const down = backAt - stopAt; // stop, 3 s, start: the node's boot is most of it
    await burst.stop();
    const committedAcross = committed.size - beforeStop;

    const missing = async () => {
      const h = await hosts();
      return [...committed.values()].filter((mac) => !h.includes(mac.toLowerCase()));
    };
    await waitFor('every committed port in the hosts file', async () => (await missing()).length === 0, 90_000).catch(async () => {
      assert.fail(
        `${(await missing()).length} of ${committed.size} committed ports missing from dnsmasq after the broker restart\n${s!.output().slice(-3000)}`,
      );
    });
    const converged = Date.now() - backAt;
    assert.deepEqual(failures.slice(0, 5), [], 'the API kept answering 201 while the broker was down');
    assert.ok(committedAcross > 0, 'ports were committed while the broker was restarting');
    assert.equal(s.proc.exitCode, null);
    console.log(
      `# DHCP agent over a real RabbitMQ restart (${down} ms from stop to started again): ${committed.size} ports, ${committedAcross} committed during the restart; ` +
        `all in dnsmasq ${converged} ms after the broker was back`,
    );
  });
});

// As root: a real RabbitMQ restart under load. A private broker node (test/helpers/private-rabbit.ts;
// the shared one on 5672 is not touched) serves `neutrino server` (a child process) and the real
// DHCP agent (in this process, dnsmasq in its qdhcp- namespaces; it reaches the node through a TCP
// proxy the test controls). Ports are created on one network, the node is stopped — its
// non-durable queues, their bindings, the auto-delete fanout exchanges and any message in them
// are gone — and started again 3 s later. The load stops when the broker is back, so no later
// notification can cover for one lost in the restart.
//
// The agent is then kept away from the broker a little longer: the server, reconnected, creates a
// port on a second network the agent serves and is idle on, and its notification finds no agent
// queue to go to (lost, as with oslo). What brings that port to dnsmasq is the agent's full sync
// when its bus finds the broker lost its queues — not the periodic resync, set to an hour here.
// (agent_down_time is an hour too, so no 'revived' answer does it either.) Every port the API
// committed must end up in the agent's dnsmasq hosts files; the time from the agent's return to
// convergence is printed.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootGate, suffix } from '../dataplane/root-helpers.js';
import { adminReq } from '../helpers/process-server.js';
import { PrivateRabbit, privateRabbitUnavailable } from '../helpers/private-rabbit.js';
import { hostPort, TcpProxy, throughProxy } from '../helpers/tcp-proxy.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { startPortBurst } from './port-burst.js';
import { DhcpRig } from './dhcp-rig.js';

const gate = rootGate('DHCP agent across a RabbitMQ restart', ['ip', 'nsenter', 'dnsmasq']);
const noRabbit = gate.skip ? null : privateRabbitUnavailable();
if (noRabbit && process.env.CI) throw new Error(`the broker restart test needs a local rabbitmq-server in CI: ${noRabbit}`);
if (noRabbit) console.error(`\n!!! SKIPPING the RabbitMQ restart test: ${noRabbit} (this would FAIL in CI) !!!\n`);

describe('DHCP agent across a RabbitMQ restart (root)', { skip: gate.skip || noRabbit || false }, () => {
  const id = suffix();
  let rabbit: PrivateRabbit | null = null;
  let proxy: TcpProxy | null = null;
  let dir = '';
  let rig: DhcpRig | null = null;

  before(async () => {
    gate.check();
    dir = await mkdtemp(join(tmpdir(), 'neutrino-faults-restart-'));
    await chmod(dir, 0o755); // dnsmasq reads its files as 'nobody'
    rabbit = new PrivateRabbit();
    await rabbit.create();
    proxy = await new TcpProxy(hostPort(rabbit.url, 5672)).start();
  });
  after(async () => {
    await rig?.cleanup();
    await proxy?.close();
    await rabbit?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("every committed port ends up in the agent's dnsmasq after the broker restarts, on a busy network and an idle one", async () => {
    rig = new DhcpRig({
      dir,
      serverUrl: rabbit!.url,
      agentUrl: throughProxy(rabbit!.url, proxy!),
      host: `faults-restart-${id}`,
      listQueues: () => rabbit!.ctl('list_queues', 'name', 'consumers'),
      // Neither the periodic full sync nor the kernel check may be what brings the lost port.
      agent: { fullSyncInterval: 3600, checkInterval: 3600 },
      // Nor the server telling the agent it had been dead ('revived': Neutron's agents resync).
      ini: { DEFAULT: { agent_down_time: '3600' } },
    });
    const { s } = await rig.start();
    const busy = await rig.network(`restart-${id}`, '10.96.0.0/20');
    const idle = await rig.network(`restart-idle-${id}`, '10.96.16.0/24');
    await waitFor('dnsmasq serving the idle network', async () => rig!.agent.networks.get(idle)?.portId != null, 60_000);

    const burst = startPortBurst(s.url, busy);
    const { committed, failures } = burst;
    await waitFor(
      'dnsmasq serving the first ports',
      async () => committed.size >= 10 && (await rig!.hosts(busy)).includes([...committed.values()][0]!),
      60_000,
    );

    // The restart, under load: stop the node for real, 3 s down, start it on the same data. The
    // agent stays away until told.
    const beforeStop = committed.size;
    proxy!.refuse(true);
    const stopAt = Date.now();
    await rabbit!.stop();
    await sleep(3000);
    await rabbit!.start();
    const backAt = Date.now();
    const down = backAt - stopAt; // stop, 3 s, start: the node's boot is most of it
    await burst.stop();
    const committedAcross = committed.size - beforeStop;

    // The server is back on the broker, the agent not yet: this port's notification is lost.
    await rig.serverConsuming();
    const late = await adminReq(s.url, 'POST', '/v2.0/ports', { port: { network_id: idle, name: 'late' } });
    assert.equal(late.status, 201, JSON.stringify(late.body));
    const lateMac = (late.body.port.mac_address as string).toLowerCase();
    await sleep(1500);
    assert.ok(!(await rig.hosts(idle)).includes(lateMac), 'the agent cannot have heard of the port yet');
    proxy!.refuse(false);
    const agentBackAt = Date.now();

    const missing = async () => {
      const h = await rig!.hosts(busy);
      const out = [...committed.values()].filter((mac) => !h.includes(mac.toLowerCase()));
      if (!(await rig!.hosts(idle)).includes(lateMac)) out.push(lateMac);
      return out;
    };
    await waitFor('every committed port in the hosts files', async () => (await missing()).length === 0, 60_000).catch(async () => {
      assert.fail(
        `${(await missing()).length} of ${committed.size + 1} committed ports missing from dnsmasq after the broker restart\n${s.output().slice(-3000)}`,
      );
    });
    const converged = Date.now() - agentBackAt;
    const reconnected = rig.agentReconnectedAt - agentBackAt;
    assert.deepEqual(failures.slice(0, 5), [], 'the API kept answering 201 while the broker was down');
    assert.ok(committedAcross > 0, 'ports were committed while the broker was restarting');
    assert.ok(rig.agent.counters.fullSyncs >= 2, `a full sync after the reconnection (${rig.agent.counters.fullSyncs} in all)`);
    assert.equal(s.proc.exitCode, null);
    console.log(
      `# DHCP agent over a real RabbitMQ restart (${down} ms from stop to started again): ${committed.size} ports, ${committedAcross} committed during the restart, ` +
        `1 more on an idle network while the agent was still away; all in dnsmasq ${converged} ms after the agent was let back (it reconnected after ${reconnected} ms; periodic resync: 1 h)`,
    );
  });
});

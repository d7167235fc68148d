// As root: the real DHCP agent (in this process, dnsmasq in its qdhcp- namespace) and
// `neutrino server` (a child process) both reach RabbitMQ through a TCP proxy that is cut for 3 s
// while ports are being created. The agent converges: its dnsmasq hosts file ends up with every
// port the API committed. The time from the broker's return to convergence is printed.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { haveRabbitmqctl, RABBIT_URL, skipUnlessRabbit } from '../rpc/rabbit.js';
import { rootGate, suffix } from '../dataplane/root-helpers.js';
import { hostPort, TcpProxy, throughProxy } from '../helpers/tcp-proxy.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { startPortBurst } from './port-burst.js';
import { DhcpRig } from './dhcp-rig.js';

const run = promisify(execFile);
const gate = rootGate('DHCP agent across a RabbitMQ outage', ['ip', 'nsenter', 'dnsmasq', 'rabbitmqctl']);
const skipRabbit = gate.skip ? false : await skipUnlessRabbit();
const noCtl = gate.skip || skipRabbit ? null : await haveRabbitmqctl();
if (noCtl && process.env.CI) throw new Error(`the broker outage test needs rabbitmqctl in CI: ${noCtl}`);

describe('DHCP agent across a RabbitMQ outage (root)', { skip: gate.skip || skipRabbit || noCtl || false }, () => {
  const id = suffix();
  const vhost = `neutrino_faults_dhcp_${id}`;
  let proxy: TcpProxy;
  let dir = '';
  let rig: DhcpRig | null = null;

  before(async () => {
    gate.check();
    await run('rabbitmqctl', ['-q', 'add_vhost', vhost]);
    await run('rabbitmqctl', ['-q', 'set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*']);
    proxy = await new TcpProxy(hostPort(RABBIT_URL, 5672)).start();
    dir = await mkdtemp(join(tmpdir(), 'neutrino-faults-dhcp-'));
    await chmod(dir, 0o755); // dnsmasq reads its files as 'nobody'
  });
  after(async () => {
    await rig?.cleanup();
    await proxy?.close();
    await run('rabbitmqctl', ['-q', 'delete_vhost', vhost]).catch(() => {});
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("every committed port ends up in the agent's dnsmasq", async () => {
    const url = `${throughProxy(RABBIT_URL, proxy).replace(/\/[^/]*$/, '')}/${vhost}`;
    rig = new DhcpRig({
      dir,
      serverUrl: url,
      host: `faults-dhcp-${id}`,
      listQueues: async () => (await run('rabbitmqctl', ['-q', 'list_queues', '-p', vhost, 'name', 'consumers', '--no-table-headers'])).stdout,
    });
    const { s } = await rig.start();
    const netId = await rig.network(`faults-${id}`, '10.97.0.0/20');

    const burst = startPortBurst(s.url, netId);
    const { committed, failures } = burst;
    await waitFor(
      'dnsmasq serving the first ports',
      async () => committed.size >= 10 && (await rig!.hosts(netId)).includes([...committed.values()][0]!),
      60_000,
    );

    proxy.refuse(true);
    proxy.cut();
    await sleep(3000);
    proxy.refuse(false);
    const backAt = Date.now();
    await sleep(2000);
    await burst.stop();

    const missing = async () => {
      const h = await rig!.hosts(netId);
      return [...committed.values()].filter((mac) => !h.includes(mac.toLowerCase()));
    };
    await waitFor('every committed port in the hosts file', async () => (await missing()).length === 0, 90_000).catch(async () => {
      assert.fail(`${(await missing()).length} of ${committed.size} committed ports missing from dnsmasq`);
    });
    const converged = Date.now() - backAt;
    assert.deepEqual(failures.slice(0, 5), []);
    console.log(
      `# DHCP agent over a 3 s broker cut: ${committed.size} ports, all in dnsmasq within ${converged} ms of the broker's return (2 s of it still under load)`,
    );
  });
});

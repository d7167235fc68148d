// RabbitMQ going away under load, for this test alone: `neutrino server` (a child process) and a
// DHCP agent's RPC side both reach the broker through a TCP proxy we cut and restore (the shared
// broker keeps running; everything lives in a vhost made for the run). Ports are created
// throughout; every port the API committed (201) must reach the agent as port_create_end: the
// server's casts wait for its reconnection, the agent's queue keeps what arrives meanwhile.
// Figures printed: how long after the broker came back notifications flowed again, and the
// backlog was delivered.
//
// The agent here is the DHCP agent's RPC layer on the real bus (StateReporter and a consumer of
// dhcp_agent.<host>), without dnsmasq: what it proves is that nothing is lost on the way.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createBus, silentLogger, type RpcBus, type RpcHandlers } from '../../src/rpc/index.js';
import { StateReporter } from '../../src/agents/state-reporter.js';
import { AGENT_TYPE_DHCP, DHCP_AGENT_EVENTS, DHCP_AGENT_TOPIC } from '../../src/core/wire.js';
import { haveRabbitmqctl, RABBIT_URL, skipUnlessRabbit } from '../rpc/rabbit.js';
import { adminReq, spawnServer, type ServerProcess } from '../helpers/process-server.js';
import { hostPort, TcpProxy, throughProxy } from '../helpers/tcp-proxy.js';
import { sleep, waitFor } from '../helpers/wait.js';

const run = promisify(execFile);
const skip = await skipUnlessRabbit();
const noCtl = skip ? null : await haveRabbitmqctl();
if (noCtl && process.env.CI) throw new Error(`the broker outage test needs rabbitmqctl in CI: ${noCtl}`);
if (noCtl) console.error(`\n!!! SKIPPING the broker outage test: ${noCtl} !!!\n`);

describe('RabbitMQ outage under load', { skip: skip || noCtl || false }, () => {
  const id = randomBytes(4).toString('hex');
  const vhost = `neutrino_faults_${id}`;
  const host = `faults-dhcp-${id}`;
  let proxy: TcpProxy;
  let dir: string;
  let s: ServerProcess | null = null;
  let agentBus: RpcBus | null = null;
  let reporter: StateReporter | null = null;
  before(async () => {
    await run('rabbitmqctl', ['-q', 'add_vhost', vhost]);
    await run('rabbitmqctl', ['-q', 'set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*']);
    proxy = await new TcpProxy(hostPort(RABBIT_URL, 5672)).start();
    dir = mkdtempSync(join(tmpdir(), 'neutrino-brokerout-'));
  });
  after(async () => {
    await reporter?.stop();
    await agentBus?.close();
    await s?.kill();
    await proxy?.close();
    await run('rabbitmqctl', ['-q', 'delete_vhost', vhost]).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });

  it('every committed port reaches the DHCP agent after the broker connection is cut and restored', async () => {
    const url = `${throughProxy(RABBIT_URL, proxy).replace(/\/[^/]*$/, '')}/${vhost}`;
    s = await spawnServer(dir, { DEFAULT: { transport_url: url }, quotas: { quota_port: '-1' } });

    // The agent: heartbeats (so the network is scheduled to it) and the casts it is sent.
    const notified = new Map<string, number>(); // port id -> when its port_create_end arrived
    agentBus = createBus(url, {
      logger: silentLogger,
      connectionName: `neutrino-faults-${id}-agent`,
      reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
    });
    const handlers: RpcHandlers = {};
    for (const m of DHCP_AGENT_EVENTS) handlers[m] = () => undefined;
    handlers.port_create_end = (_ctx, args: { payload: { port: { id: string } } }) => {
      if (!notified.has(args.payload.port.id)) notified.set(args.payload.port.id, Date.now());
    };
    await agentBus.serve(DHCP_AGENT_TOPIC, host, handlers);
    reporter = new StateReporter({
      bus: agentBus,
      agentType: AGENT_TYPE_DHCP,
      binary: 'neutron-dhcp-agent',
      host,
      topic: DHCP_AGENT_TOPIC,
      configurations: {},
      reportInterval: 1,
      useCall: true,
    });
    reporter.start();
    await waitFor('the agent to be alive', async () => {
      const r = await adminReq(s!.url, 'GET', `/v2.0/agents?host=${host}`);
      return r.body.agents?.[0]?.alive === true;
    });
    const net = (await adminReq(s.url, 'POST', '/v2.0/networks', { network: { name: 'broker-cut' } })).body.network;
    const sub = await adminReq(s.url, 'POST', '/v2.0/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '10.98.0.0/20' } });
    assert.equal(sub.status, 201, JSON.stringify(sub.body));

    // Load: ports created by 6 clients until told to stop.
    const committed = new Map<string, number>(); // port id -> when the 201 came
    const failures: string[] = [];
    let stop = false;
    const worker = async () => {
      while (!stop) {
        const r = await adminReq(s!.url, 'POST', '/v2.0/ports', { port: { network_id: net.id } });
        if (r.status === 201) committed.set(r.body.port.id, Date.now());
        else failures.push(`${r.status} ${JSON.stringify(r.body)}`);
      }
    };
    const load = Promise.all(Array.from({ length: 6 }, worker));
    await waitFor('ports notified before the cut', () => notified.size >= 20, 30_000);

    // The broker goes away for 3 s: connections dropped, new ones refused.
    proxy.refuse(true);
    proxy.cut();
    const cutAt = Date.now();
    await sleep(3000);
    const committedWhileDown = [...committed.values()].filter((t) => t >= cutAt).length;
    proxy.refuse(false);
    const backAt = Date.now();
    await sleep(3000);
    stop = true;
    await load;
    const backlog = [...committed.keys()].filter((p) => committed.get(p)! < backAt);

    await waitFor('every committed port to be notified', () => [...committed.keys()].every((p) => notified.has(p)), 60_000).catch(() => {
      const missing = [...committed.keys()].filter((p) => !notified.has(p));
      assert.fail(
        `${missing.length} of ${committed.size} committed ports never reached the agent: ${missing.slice(0, 5).join(', ')}\n${s!.output()}`,
      );
    });
    assert.deepEqual(failures.slice(0, 5), [], 'the API kept answering 201 while the broker was gone');
    assert.ok(committedWhileDown > 0, 'ports were committed while the broker was gone');
    const firstAfter = Math.min(...[...notified.values()].filter((t) => t >= backAt)) - backAt;
    const backlogDone = Math.max(...backlog.map((p) => notified.get(p)!)) - backAt;
    assert.equal(s.proc.exitCode, null);
    console.log(
      `# broker cut 3 s under load: ${committed.size} ports, ${committedWhileDown} committed while it was gone; ` +
        `first notification ${firstAfter} ms after it came back, backlog delivered after ${backlogDone} ms`,
    );
  });
});

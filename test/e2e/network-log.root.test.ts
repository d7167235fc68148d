// As root, end to end: network logs (the logging API) written by the Linux-bridge agent's `log`
// extension from real packets. The API server and one L2 agent (firewall nftables, [agent]
// extensions = log, local_output_log_base in a temporary directory) run in this process on the
// in-memory bus; the agent manages a "host" namespace, and two VMs are namespaces plugged with
// `vif plug`. The host being a namespace, the kernel logs only with
// net.netfilter.nf_log_all_netns = 1: the test sets it and puts the old value back.
//
//   vm1: in group `server`, whose one ingress rule allows ICMP; log A: group `server`, ALL events
//   vm2: in group `client` (no ingress rule); log B: vm2's port, DROP events
//
// Also shown: a flood of dropped datagrams makes no more lines than [network_log] burst_limit
// plus rate_limit per second.
//
// Shown: vm2's ping of vm1 writes an ACCEPT line for vm1's port (log A), vm2's TCP connection to
// vm1 a DROP line; with log A disabled, the same traffic writes nothing for vm1, while a
// connection vm1 → vm2 (dropped at vm2, log B) still writes a DROP line, which shows the agent
// still reads the kernel log in order.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IpBatch, readNftTable, runInNetns } from '../../src/dataplane/index.js';
import { MemoryBroker, MemoryBus, silentLogger, type RpcBus } from '../../src/rpc/index.js';
import { LinuxBridgeAgent } from '../../src/agents/linuxbridge/agent.js';
import { FW_TABLE } from '../../src/agents/linuxbridge/firewall.js';
import { plug } from '../../src/cli/vif-plug.js';
import { BACKENDS } from '../helpers/backends.js';
import { ADMIN, startServer, type TestServer } from '../helpers/server.js';
import { Namespaces, rootGate, suffix } from '../dataplane/root-helpers.js';
import { waitFor } from '../helpers/wait.js';

const gate = rootGate('network log end-to-end', ['ip', 'bridge', 'nft', 'nsenter', 'busybox', 'dmesg', 'bash']);
const ALL_NETNS = '/proc/sys/net/netfilter/nf_log_all_netns';

describe('network log end-to-end (root): ACCEPT and DROP lines from real packets', { skip: gate.skip }, () => {
  const s = suffix();
  const HOST_NS = `nt${s}lh`;
  const HOST = `log-e2e-${s}`;
  const UNDER = '172.31.248.1';
  const VM = [1, 2].map((i) => `nt${s}lv${i}`);
  const nss = new Namespaces();
  const dir = mkdtempSync(join(tmpdir(), 'neutrino-netlog-'));
  const file = join(dir, 'network-log.log');
  let oldAllNetns: string | null = null;
  let serverBus: RpcBus;
  let agentBus: RpcBus;
  let agent: LinuxBridgeAgent | undefined;
  let srv: TestServer;

  const api = async (method: string, path: string, body?: unknown, expect = 200) => {
    const r = await srv.req(method, path, body, ADMIN);
    assert.equal(r.status, expect, `${method} ${path}: ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const ping = async (vm: number, ip: string, count = 2) =>
    (
      await runInNetns(VM[vm]!, {
        argv: ['busybox', 'ping', '-c', String(count), '-i', '0.2', '-W', '1', '-w', String(count + 1), ip],
        okCodes: [0, 1],
        timeoutMs: 20_000,
      })
    ).code === 0;
  /** A TCP connection attempt (refused or dropped: it only has to leave). */
  const connect = (vm: number, ip: string, port: number) =>
    runInNetns(VM[vm]!, { argv: ['busybox', 'nc', '-w', '1', ip, String(port)], okCodes: [0, 1, 124], timeoutMs: 10_000 });
  const lines = () => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);
  /** Until the agent has handled what the server sent: a pass with no new firewall transaction. */
  const quiet = async () => {
    await srv.server.settled();
    for (let last = -1; ; ) {
      await new Promise((r) => setTimeout(r, 100));
      agent!.schedule('quick');
      await agent!.idle();
      const now = agent!.firewall!.counts.transactions;
      if (now === last) return;
      last = now;
    }
  };
  const logRules = async () => {
    const inet = await readNftTable('inet', FW_TABLE, { netns: HOST_NS });
    return [...(inet?.chains.keys() ?? [])].filter((c) => c.startsWith('log-accept-'));
  };

  before(async () => {
    gate.check();
    oldAllNetns = readFileSync(ALL_NETNS, 'utf8').trim();
    writeFileSync(ALL_NETNS, '1');
    const broker = new MemoryBroker();
    serverBus = new MemoryBus({ broker, logger: silentLogger });
    agentBus = new MemoryBus({ broker, logger: silentLogger });
    for (const n of [HOST_NS, ...VM]) await nss.add(n);
    await runInNetns(HOST_NS, { argv: ['ip', 'link', 'add', 'ul0', 'type', 'veth', 'peer', 'name', 'ul0p'] });
    await new IpBatch().addAddr('ul0', `${UNDER}/24`).setUp('ul0', true).apply({ netns: HOST_NS });
    srv = await startServer(
      BACKENDS.find((b) => b.name === 'sqlite')!,
      { DEFAULT: { service_plugins: 'router,log' }, ml2: { mechanism_drivers: 'linuxbridge,l2population' } },
      { bus: serverBus },
    );
    agent = new LinuxBridgeAgent({
      bus: agentBus,
      host: HOST,
      netns: HOST_NS,
      localIp: UNDER,
      enableVxlan: true,
      l2Population: true,
      arpResponder: false,
      interfaceMappings: {},
      bridgeMappings: {},
      reportInterval: 1,
      pollingInterval: 2,
      firewall: 'nftables',
      networkLog: { rate: 100, burst: 25, outputFile: file },
      logger: silentLogger,
    });
    await agent.start();
    await waitFor('agent alive', async () =>
      (await api('GET', '/v2.0/agents?agent_type=Linux+bridge+agent')).agents.some((a: any) => a.host === HOST && a.alive),
    );
  });

  after(async () => {
    await agent?.stop().catch(() => {});
    await nss.deleteAll();
    await srv?.stop();
    await agentBus?.close();
    await serverBus?.close();
    if (oldAllNetns !== null) writeFileSync(ALL_NETNS, oldAllNetns);
    rmSync(dir, { recursive: true, force: true });
  });

  it('logs an allowed ping as ACCEPT and a blocked connection as DROP, and nothing once the log is disabled', async () => {
    const netId = (await api('POST', '/v2.0/networks', { network: { name: `log-e2e-${s}` } }, 201)).network.id;
    await api('POST', '/v2.0/subnets', { subnet: { network_id: netId, cidr: '10.68.0.0/24', ip_version: 4, enable_dhcp: false } }, 201);
    const server = (await api('POST', '/v2.0/security-groups', { security_group: { name: `server-${s}` } }, 201)).security_group;
    const client = (await api('POST', '/v2.0/security-groups', { security_group: { name: `client-${s}` } }, 201)).security_group;
    await api(
      'POST',
      '/v2.0/security-group-rules',
      { security_group_rule: { security_group_id: server.id, direction: 'ingress', protocol: 'icmp' } },
      201,
    );
    const ports: any[] = [];
    for (const [i, g] of [server, client].entries()) {
      const p = (
        await api(
          'POST',
          '/v2.0/ports',
          { port: { network_id: netId, name: `vm${i + 1}`, device_owner: 'compute:nova', security_groups: [g.id] } },
          201,
        )
      ).port;
      ports.push(p);
      await plug({
        action: 'plug',
        portId: p.id,
        netns: VM[i],
        host: HOST,
        hostNetns: HOST_NS,
        ifname: 'eth0',
        static: true,
        unbind: false,
        endpoint: srv.url,
      } as Parameters<typeof plug>[0]);
    }
    for (const p of ports) await waitFor(`${p.name} ACTIVE`, async () => (await api('GET', `/v2.0/ports/${p.id}`)).port.status === 'ACTIVE');
    const [ip1, ip2] = ports.map((p) => p.fixed_ips[0].ip_address as string);
    const logA = (await api('POST', '/v2.0/log/logs', { log: { name: 'server-log', resource_type: 'security_group', resource_id: server.id } }, 201))
      .log;
    const logB = (
      await api(
        'POST',
        '/v2.0/log/logs',
        { log: { name: 'client-drops', resource_type: 'security_group', target_id: ports[1].id, event: 'DROP' } },
        201,
      )
    ).log;
    await quiet();
    assert.deepEqual(await logRules(), [`log-accept-tap${ports[0].id.slice(0, 11)}`], "vm1's accepts are logged, vm2's are not (log B is DROP only)");

    const forVm1 = (action: string) => lines().filter((l) => l.includes(`vm_port=${ports[0].id}`) && l.includes(`action=${action}`));
    assert.ok(await waitFor('vm2 → vm1 ping', () => ping(1, ip1!, 1), 10_000, 0));
    const accept = await waitFor('an ACCEPT line for vm1', () => forVm1('ACCEPT')[0] ?? null, 10_000, 50);
    assert.match(accept, / INFO neutrino\.agent\.network_log \[-\] action=ACCEPT /);
    assert.ok(accept.includes(`project_id=${ADMIN.project}`), accept);
    assert.ok(accept.includes(`log_resource_ids=['${logA.id}']`), accept);
    assert.ok(accept.includes(`ipv4(dst='${ip1}',proto=1,src='${ip2}'`), accept);
    assert.ok(accept.includes('icmp(code=0,type_=8'), accept);

    await connect(1, ip1!, 23);
    const drop = await waitFor('a DROP line for vm1', () => forVm1('DROP').find((l) => l.includes('tcp(')) ?? null, 10_000, 50);
    assert.ok(drop.includes(`log_resource_ids=['${logA.id}']`), drop);
    process.stdout.write(`\n# network log lines written\n#   ${accept}\n#   ${drop}\n`);
    assert.ok(drop.includes(`src='${ip2}'`) && drop.includes('dst_port=23'), drop);

    await api('PUT', `/v2.0/log/logs/${logA.id}`, { log: { enabled: false } }, 200);
    await quiet();
    assert.deepEqual(await logRules(), [], 'no accept log chain once log A is disabled');
    const before = forVm1('ACCEPT').length + forVm1('DROP').length;
    assert.ok(await ping(1, ip1!, 2), 'the ping still passes');
    await connect(1, ip1!, 23);
    // vm1 → vm2 is dropped at vm2 and logged by log B: once that line is there, whatever vm1's
    // traffic above made the kernel log has been read too.
    const forVm2Drops = () => lines().filter((l) => l.includes(`vm_port=${ports[1].id}`) && l.includes('action=DROP') && l.includes('dst_port=24'));
    await connect(0, ip2!, 24);
    const barrier = await waitFor('a DROP line for vm2 (log B)', () => forVm2Drops()[0] ?? null, 10_000, 50);
    assert.ok(barrier.includes(`log_resource_ids=['${logB.id}']`), barrier);
    assert.equal(forVm1('ACCEPT').length + forVm1('DROP').length, before, 'no line for vm1 once its log is disabled');
    assert.equal(lines().filter((l) => l.includes('action=ACCEPT') && l.includes(`vm_port=${ports[1].id}`)).length, 0, 'log B logs no accepts');

    // Rate limit: 1,000 UDP datagrams to vm2 (each from a new source port, each dropped) make at
    // most burst_limit + rate_limit per second of lines.
    const udp = () => lines().filter((l) => l.includes(`vm_port=${ports[1].id}`) && l.includes('udp(dst_port=9,'));
    const t0 = Date.now();
    await runInNetns(VM[0]!, { argv: ['bash', '-c', `for i in $(seq 1 1000); do echo x > /dev/udp/${ip2}/9; done`], timeoutMs: 60_000 });
    const seconds = (Date.now() - t0) / 1000;
    // A line made after the flood (the bucket refills at rate_limit) shows the flood's lines are all read.
    await waitFor(
      'a DROP line after the flood',
      async () => {
        await connect(0, ip2!, 25);
        return lines().some((l) => l.includes(`vm_port=${ports[1].id}`) && l.includes('dst_port=25')) || null;
      },
      15_000,
      100,
    );
    const n = udp().length;
    process.stdout.write(`#   1000 dropped datagrams in ${seconds.toFixed(2)} s: ${n} DROP lines (rate_limit 100/s, burst_limit 25)\n`);
    assert.ok(n > 0, 'the flood is logged');
    assert.ok(n < 1000 && n <= 25 + 100 * (seconds + 1), `at most burst + rate × time lines: ${n} in ${seconds} s`);
  });
});

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
import { readNftTable, runInNetns } from '../../src/dataplane/index.js';
import { FW_TABLE } from '../../src/agents/linuxbridge/firewall.js';
import { rootGate } from '../dataplane/root-helpers.js';
import { ADMIN } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';
import { SingleHostL2 } from './single-host-l2.js';

const gate = rootGate('network log end-to-end', ['ip', 'bridge', 'nft', 'nsenter', 'busybox', 'dmesg', 'bash']);
const ALL_NETNS = '/proc/sys/net/netfilter/nf_log_all_netns';

describe('network log end-to-end (root): ACCEPT and DROP lines from real packets', { skip: gate.skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'neutrino-netlog-'));
  const file = join(dir, 'network-log.log');
  const h = new SingleHostL2({
    tag: 'l',
    underlay: '172.31.248.1',
    vms: 2,
    server: { DEFAULT: { service_plugins: 'router,log' } },
    agent: { networkLog: { rate: 100, burst: 25, outputFile: file } },
  });
  const { s } = h;
  const HOST_NS = h.hostNs;
  const VM = h.vms;
  let oldAllNetns: string | null = null;
  const api = (method: string, path: string, body?: unknown, expect = 200) => h.api(method, path, body, expect);
  const ping = (vm: number, ip: string, count = 2) => h.ping(vm, ip, count);
  /** A TCP connection attempt (refused or dropped: it only has to leave). */
  const connect = (vm: number, ip: string, port: number) =>
    runInNetns(VM[vm]!, { argv: ['busybox', 'nc', '-w', '1', ip, String(port)], okCodes: [0, 1, 124], timeoutMs: 10_000 });
  const lines = () => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);
  const quiet = () => h.quiet();
  const logRules = async () => {
    const inet = await readNftTable('inet', FW_TABLE, { netns: HOST_NS });
    return [...(inet?.chains.keys() ?? [])].filter((c) => c.startsWith('log-accept-'));
  };

  before(async () => {
    gate.check();
    oldAllNetns = readFileSync(ALL_NETNS, 'utf8').trim();
    writeFileSync(ALL_NETNS, '1');
    await h.start();
  });

  after(async () => {
    await h.stop();
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
    const ports = await h.plugVms(netId, [server, client]);
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

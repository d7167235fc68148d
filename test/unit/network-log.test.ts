// The L2 agent's log extension, pure parts: the kernel log lines it reads back, the packet
// summary it writes, and the nftables statements the firewall renders for logged ports.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetworkLog, packetSummary, parseKernelLogLine } from '../../src/agents/linuxbridge/network-log.js';
import { RpcRemoteError, silentLogger } from '../../src/rpc/index.js';
import { loadConfig } from '../../src/config/index.js';
import { networkLogFromConfig } from '../../src/agents/linuxbridge/main.js';
import { logPrefix, renderFirewall, type FirewallPort } from '../../src/agents/linuxbridge/firewall.js';

const TAG = 'nlog-0a1b2c3d';

describe('network log: kernel lines', () => {
  it('reads an ICMP accept and a TCP drop of its own prefix, and nothing else', () => {
    const icmp = parseKernelLogLine(
      `${logPrefix(TAG, 'A', 'tap12345678-9a')}IN=brq1 OUT=brq1 PHYSIN=tapaaaaaaaa-aa PHYSOUT=tap12345678-9a MAC=fa:16:3e:00:00:01:fa:16:3e:00:00:02:08:00 SRC=10.0.0.2 DST=10.0.0.1 LEN=84 TOS=0x00 PREC=0x00 TTL=64 ID=7 DF PROTO=ICMP TYPE=8 CODE=0 ID=42 SEQ=1`,
      TAG,
    );
    assert.ok(icmp);
    assert.equal(icmp.action, 'ACCEPT');
    assert.equal(icmp.device, 'tap12345678-9a');
    assert.equal(
      packetSummary(icmp),
      "ethernet(dst='fa:16:3e:00:00:01',ethertype=2048,src='fa:16:3e:00:00:02'), ipv4(dst='10.0.0.1',proto=1,src='10.0.0.2',total_length=84,ttl=64), icmp(code=0,type_=8,id=42,seq=1)",
    );
    const tcp = parseKernelLogLine(
      `[ 12.3] ${logPrefix(TAG, 'D', 'tap12345678-9a')}IN=brq1 OUT=brq1 SRC=10.0.0.2 DST=10.0.0.1 LEN=60 TTL=64 PROTO=TCP SPT=40000 DPT=23 WINDOW=64240 RES=0x00 SYN URGP=0`,
      TAG,
    );
    assert.ok(tcp);
    assert.equal(tcp.action, 'DROP');
    assert.match(packetSummary(tcp), /tcp\(bits="SYN",dst_port=23,src_port=40000\)$/);
    assert.equal(parseKernelLogLine(`${logPrefix('nlog-ffffffff', 'A', 'tap1')}SRC=1.1.1.1`, TAG), null, "another agent's line");
    assert.equal(parseKernelLogLine('IN=eth0 OUT= SRC=1.1.1.1', TAG), null);
  });
});

describe('network log: firewall rules', () => {
  const port = (device: string, id: string): FirewallPort => ({
    device,
    id,
    mac_address: 'fa:16:3e:00:00:01',
    fixed_ips: ['10.0.0.1'],
    security_groups: ['g1'],
  });
  const groups = new Map([['g1', [{ direction: 'ingress', ethertype: 'IPv4', protocol: 'icmp' }]]]);
  const render = (logs?: Map<string, { accept: boolean; drop: boolean }>) =>
    renderFirewall({
      ports: [port('tapa', 'a'), port('tapb', 'b')],
      groups,
      members: new Map(),
      ids: new Map([
        ['tapa', 1],
        ['tapb', 2],
      ]),
      bridges: new Map([['brq1', 1]]),
      ...(logs ? { logs, logging: { tag: TAG, rate: 100, burst: 25 } } : {}),
    }).inet;
  const rulesOf = (t: ReturnType<typeof render>, chain: string) =>
    (t.chains.find((c) => c.name === chain)?.rules ?? []).map((r) => (typeof r === 'string' ? r : r.rule));

  it("sends a logged port's allowed new connections through its log chain and logs before its final drop", () => {
    const t = render(new Map([['tapa', { accept: true, drop: true }]]));
    assert.ok(rulesOf(t, 'ingress-tapa').includes('meta nfproto ipv4 meta l4proto 1 goto log-accept-tapa'));
    assert.deepEqual(rulesOf(t, 'log-accept-tapa'), [`limit rate 100/second burst 25 packets log prefix "${TAG} A tapa " level info`]);
    const ingress = rulesOf(t, 'ingress-tapa');
    assert.deepEqual(ingress.slice(-2), [`limit rate 100/second burst 25 packets log prefix "${TAG} D tapa " level info`, 'drop']);
    // The unlogged port keeps plain returns, no log chain, no logged drop.
    assert.ok(rulesOf(t, 'ingress-tapb').includes('meta nfproto ipv4 meta l4proto 1 return'));
    assert.equal(rulesOf(t, 'log-accept-tapb').length, 0);
    assert.ok(!rulesOf(t, 'ingress-tapb').some((r) => r.includes('log prefix')));
  });

  it('logs drops only for a DROP log, and nothing without logs', () => {
    const t = render(new Map([['tapa', { accept: false, drop: true }]]));
    assert.ok(rulesOf(t, 'ingress-tapa').includes('meta nfproto ipv4 meta l4proto 1 return'));
    assert.ok(!t.chains.some((c) => c.name.startsWith('log-accept-')));
    assert.ok(rulesOf(t, 'egress-tapa').some((r) => r.includes(`"${TAG} D tapa "`)));
    const none = render();
    assert.ok(!none.chains.some((c) => c.rules.some((r) => (typeof r === 'string' ? r : r.rule).includes('log prefix'))));
  });
});

describe('network log: asking the server', () => {
  const ports: FirewallPort[] = [
    { device: 'tapa', id: 'a', mac_address: 'fa:16:3e:00:00:01', fixed_ips: ['10.0.0.1'] },
    { device: 'tapb', id: 'b', mac_address: 'fa:16:3e:00:00:02', fixed_ips: ['10.0.0.2'] },
  ];
  const make = (call: (method: string, args: Record<string, unknown>) => Promise<unknown>) =>
    new NetworkLog({ call: call as never, host: 'h', rate: 100, burst: 25, outputFile: null, logger: silentLogger });

  it("asks Neutron's server port by port when it has no batch call", async () => {
    const calls: string[] = [];
    const nl = make(async (method, args) => {
      calls.push(`${method} ${String(args.port_id ?? (args.port_ids as string[]).join(','))}`);
      if (method === 'get_sg_log_info_for_ports') throw new RpcRemoteError('NoSuchMethod', 'no such method', 'logging-plugin', method);
      return args.port_id === 'a' ? [{ id: 'log1', event: 'DROP', project_id: 'p', ports_log: [] }] : [];
    });
    const r = await nl.sync(ports, true);
    assert.deepEqual([...r.events], [['tapa', { accept: false, drop: true }]]);
    assert.equal(r.changed, true);
    assert.deepEqual(calls, ['get_sg_log_info_for_ports a,b', 'get_sg_log_info_for_port a', 'get_sg_log_info_for_port b']);
    nl.portUpdated('b');
    await nl.sync(ports, false);
    assert.deepEqual(calls.slice(3), ['get_sg_log_info_for_port b'], 'the batch call is not tried again');
  });

  it('never fails the pass when the server does not answer, and asks again only later', async () => {
    let calls = 0;
    const nl = make(async () => {
      calls++;
      throw new Error('timed out');
    });
    const r = await nl.sync(ports, true);
    assert.equal(r.events.size, 0);
    assert.equal(calls, 1);
    await nl.sync(ports, true);
    assert.equal(calls, 1, 'no second ask within the resync interval');
  });
});

describe('network log: the output file', () => {
  it("writes Neutron's fields, only for the logs of the packet's action, and reopens a rotated file", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'netlog-unit-'));
    const file = join(dir, 'sub', 'network.log');
    const nl = new NetworkLog({
      call: (async () => ({
        a: [
          { id: 'log-drop', event: 'DROP', project_id: 'p1' },
          { id: 'log-all', event: 'ALL', project_id: 'p1' },
        ],
      })) as never,
      host: 'h',
      rate: 100,
      burst: 25,
      outputFile: file,
      logger: silentLogger,
    });
    try {
      await nl.sync([{ device: 'tapa', id: 'a', mac_address: 'fa:16:3e:00:00:01', fixed_ips: ['10.0.0.1'] }], true);
      const tag = nl.settings.tag;
      const line = (action: 'A' | 'D') =>
        `${logPrefix(tag, action, 'tapa')}IN=brq OUT=brq SRC=10.0.0.2 DST=10.0.0.1 LEN=84 TTL=64 PROTO=ICMP TYPE=8 CODE=0 ID=1 SEQ=1`;
      nl.onKernelLine(line('A'));
      nl.onKernelLine(`${logPrefix(tag, 'A', 'tapunknown')}SRC=1.1.1.1`);
      const first = readFileSync(file, 'utf8').trim().split('\n');
      assert.equal(first.length, 1);
      assert.match(
        first[0]!,
        /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \d+ INFO neutrino\.agent\.network_log \[-\] action=ACCEPT project_id=p1 log_resource_ids=\['log-all'\] vm_port=a pkt=ipv4\(/,
      );
      renameSync(file, `${file}.1`);
      nl.onKernelLine(line('D'));
      const second = readFileSync(file, 'utf8').trim().split('\n');
      assert.equal(second.length, 1, 'the new file has the line written after the rotation');
      assert.match(second[0]!, /action=DROP project_id=p1 log_resource_ids=\['log-drop', 'log-all'\] vm_port=a /);
      assert.equal(nl.lines, 2);
    } finally {
      await nl.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('network log: configuration', () => {
  it('loads with [agent] extensions = log and the nftables firewall, and refuses what it cannot do', () => {
    assert.equal(networkLogFromConfig(loadConfig([], {})), undefined);
    assert.deepEqual(
      networkLogFromConfig(loadConfig([], { agent: { extensions: 'log' }, network_log: { rate_limit: '200', local_output_log_base: '/tmp/x.log' } })),
      {
        rate: 200,
        burst: 25,
        outputFile: '/tmp/x.log',
      },
    );
    assert.throws(() => networkLogFromConfig(loadConfig([], { agent: { extensions: 'log,qos' } })), /\[agent\] extensions: qos not available/);
    // The L3 agent's extensions, in an all-in-one's one file, are the L3 agent's business.
    assert.equal(networkLogFromConfig(loadConfig([], { agent: { extensions: 'fip_qos,port_forwarding' } })), undefined);
    assert.throws(
      () => networkLogFromConfig(loadConfig([], { agent: { extensions: 'log' }, securitygroup: { firewall_driver: 'noop' } })),
      /needs the security group firewall/,
    );
    assert.throws(() => loadConfig([], { network_log: { rate_limit: '10' } }), /rate_limit/);
  });
});

// End to end, as root: router gateway IP QoS (qos-gateway-ip) and floating IP QoS (qos-fip) in the
// L3 agent's kernel. The fixture is two-hosts.ts with its L3 option (an "outside" namespace at
// the external subnet's gateway). Through the API: a router with a gateway and one tenant network,
// a VM on host A. With a policy on the gateway, the router's namespace holds a policer per
// direction for the gateway address with the policy's rates; they follow a rule's change, and go
// when the policy leaves the gateway. Real transfers through the gateway (the VM's connections
// are SNAT'd to the gateway address) are measured: unpoliced, then policed in each direction,
// with generous bounds around the rate. A floating IP's policy is policed on the same gateway.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { runInNetns } from '../../src/dataplane/index.js';
import { NAT_TABLE, routerNamespace } from '../../src/agents/l3/model.js';
import { QOS_EGRESS_CHAIN, QOS_INGRESS_CHAIN } from '../../src/agents/l3/gateway-qos.js';
import { rootGate } from '../dataplane/root-helpers.js';
import { TwoHosts } from './two-hosts.js';
import { L3Topology, OUTSIDE_IP } from './l3-topology.js';
import { waitThroughErrors } from '../helpers/wait.js';
import { inNs, killGroup } from './l3-probes.js';

const gate = rootGate('gateway QoS end-to-end', ['ip', 'bridge', 'nsenter', 'nft', 'socat', 'conntrack', 'arping']);

const VM_IP = '10.73.1.10';
const FIP = '203.0.113.70';
const EGRESS_KBPS = 2000;
const INGRESS_KBPS = 4000;

interface Policer {
  chain: string;
  ip: string;
  /** bytes/s, bytes */
  rate: number;
  burst: number;
}

/** The policers in the router's table, as `nft -j` reads them back from the kernel. */
async function policers(routerId: string): Promise<Policer[]> {
  const out = (await runInNetns(routerNamespace(routerId), { argv: ['nft', '-j', 'list', 'table', 'ip', NAT_TABLE] })).stdout;
  const unit = (u: string) => ({ bytes: 1, kbytes: 1024, mbytes: 1024 * 1024 })[u] ?? Number.NaN;
  const found: Policer[] = [];
  for (const item of JSON.parse(out).nftables as any[]) {
    const rule = item.rule;
    if (!rule || (rule.chain !== QOS_INGRESS_CHAIN && rule.chain !== QOS_EGRESS_CHAIN)) continue;
    const ip = rule.expr.find((e: any) => e.match?.left?.payload?.field === (rule.chain === QOS_INGRESS_CHAIN ? 'daddr' : 'saddr'))?.match.right;
    const limit = rule.expr.find((e: any) => e.limit)?.limit;
    assert.ok(limit?.inv, `an over-rate policer: ${JSON.stringify(rule.expr)}`);
    assert.ok(
      rule.expr.some((e: any) => 'drop' in e),
      'drops over the rate',
    );
    found.push({ chain: rule.chain, ip, rate: limit.rate * unit(limit.rate_unit), burst: limit.burst * unit(limit.burst_unit ?? 'bytes') });
  }
  return found.sort((a, b) => (a.chain + a.ip).localeCompare(b.chain + b.ip));
}

/**
 * Reads a process's output to its end: the bytes, and the rate once the first `skip` bytes are in
 * (a policer's bucket lets its fill through at once: nft's byte limit holds a second of its rate
 * plus the burst), in bytes per second.
 */
function received(p: ChildProcess, timeoutMs: number, skip = 0): Promise<{ bytes: number; rate: number }> {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    let first = 0;
    let err = '';
    const timer = setTimeout(() => {
      killGroup(p);
      reject(new Error(`transfer timed out after ${timeoutMs} ms (${bytes} bytes): ${err}`));
    }, timeoutMs);
    p.stdout!.on('data', (b: Buffer) => {
      bytes += b.length;
      if (!first && bytes >= skip) {
        first = performance.now();
        skip = bytes;
      }
    });
    p.stderr!.on('data', (b: Buffer) => {
      err += b.toString();
    });
    p.on('close', () => {
      clearTimeout(timer);
      const ms = first ? performance.now() - first : 0;
      resolve({ bytes, rate: ms > 0 ? ((bytes - skip) * 1000) / ms : 0 });
    });
  });
}

/** Rejects when `p` exits with an error (its stderr), after stopping `other`; never resolves otherwise. */
function failed(p: ChildProcess, other: ChildProcess): Promise<never> {
  let err = '';
  p.stderr!.on('data', (b: Buffer) => {
    err += b.toString();
  });
  return new Promise((_, reject) => {
    p.on('close', (code) => {
      if (code === 0) return;
      killGroup(other);
      reject(new Error(`transfer failed (exit ${code}): ${err.trim()}`));
    });
  });
}

describe('gateway IP QoS e2e (root, memory bus)', { skip: gate.skip }, () => {
  let t: TwoHosts;
  let topo: L3Topology;
  let router: any;
  let vmPort: any;
  let gwIp: string;
  let policy: any;
  let egressRule: any;
  let port = 5300;
  const procs: ChildProcess[] = [];
  const vm = () => `nt${t.s}gq`;
  const ok = (method: string, path: string, body?: unknown, status = 200) => topo.ok(method, path, body, status);
  const fail = (e: unknown): never => {
    throw new Error(`${(e as Error).message}\n${t.dump()}`);
  };
  const setGatewayPolicy = (policyId: string | null) =>
    ok('PUT', `/routers/${router.id}`, { router: { external_gateway_info: { network_id: topo.ext.id, qos_policy_id: policyId } } });

  /** VM → outside (egress through the gateway): bytes per second as the outside host receives them, after `skip` bytes. */
  async function upload(bytes: number, skip = 0): Promise<number> {
    const p = port++;
    const sink = inNs(t.outsideNs, ['socat', '-u', `TCP-LISTEN:${p},reuseaddr`, 'STDOUT'], 'pipe');
    procs.push(sink);
    const got = received(sink, 60_000, skip);
    await waitThroughErrors(
      'outside listening',
      async () => (await runInNetns(t.outsideNs, { argv: ['ss', '-Htln', `sport = :${p}`] })).stdout.includes(String(p)),
      5000,
      20,
    );
    const src = inNs(vm(), ['sh', '-c', `head -c ${bytes} /dev/zero | socat -u STDIN TCP:${OUTSIDE_IP}:${p},connect-timeout=3`], 'pipe');
    procs.push(src);
    const r = await Promise.race([got, failed(src, sink)]);
    assert.equal(r.bytes, bytes, 'every byte arrived');
    return r.rate;
  }

  /** Outside → VM (ingress: the replies of the VM's SNAT'd connection): bytes per second at the VM, after `skip` bytes. */
  async function download(bytes: number, skip = 0): Promise<number> {
    const p = port++;
    const source = inNs(t.outsideNs, ['socat', '-U', `TCP-LISTEN:${p},reuseaddr`, `SYSTEM:head -c ${bytes} /dev/zero`], 'pipe');
    procs.push(source);
    await waitThroughErrors(
      'outside listening',
      async () => (await runInNetns(t.outsideNs, { argv: ['ss', '-Htln', `sport = :${p}`] })).stdout.includes(String(p)),
      5000,
      20,
    );
    const sink = inNs(vm(), ['socat', '-u', `TCP:${OUTSIDE_IP}:${p},connect-timeout=3`, 'STDOUT'], 'pipe');
    procs.push(sink);
    const r = await Promise.race([received(sink, 60_000, skip), failed(sink, source)]);
    assert.equal(r.bytes, bytes, 'every byte arrived');
    return r.rate;
  }

  before(async () => {
    gate.check();
    t = new TwoHosts('memory', { l3: true });
    topo = new L3Topology(t);
    await t.start();
  });
  after(async () => {
    for (const p of procs) killGroup(p);
    await t?.stop();
  });

  it('builds a router with a gateway, a VM behind it and a QoS policy', async () => {
    await topo.external('gq-ext');
    const { subnet } = await topo.tenant('gq-net', '10.73.1.0/24');
    router = await topo.router('gq-r', [subnet]);
    gwIp = router.external_gateway_info.external_fixed_ips[0].ip_address;
    vmPort = await topo.vm(vm(), 0, subnet, VM_IP, '10.73.1.1');
    await topo.routerPortsActive(router.id, 2).catch(fail);
    policy = (await ok('POST', '/qos/policies', { policy: { name: 'gq' } }, 201)).policy;
    egressRule = (
      await ok(
        'POST',
        `/qos/policies/${policy.id}/bandwidth_limit_rules`,
        { bandwidth_limit_rule: { max_kbps: EGRESS_KBPS, direction: 'egress' } },
        201,
      )
    ).bandwidth_limit_rule;
    await ok(
      'POST',
      `/qos/policies/${policy.id}/bandwidth_limit_rules`,
      { bandwidth_limit_rule: { max_kbps: INGRESS_KBPS, direction: 'ingress' } },
      201,
    );
    assert.deepEqual(await policers(router.id), []);
  });

  it('transfers through the gateway are not limited without a policy', async () => {
    const up = await waitThroughErrors('first upload', () => upload(1_500_000), 30_000, 200).catch(fail);
    const down = await download(2_000_000);
    t.figures.push(`unpoliced through the gateway: VM → outside ${Math.round(up / 1000)} kB/s, outside → VM ${Math.round(down / 1000)} kB/s`);
    assert.ok(up > 2 * ((EGRESS_KBPS * 1000) / 8), `upload ${up} B/s is already below twice the limit to come`);
    assert.ok(down > 2 * ((INGRESS_KBPS * 1000) / 8), `download ${down} B/s is already below twice the limit to come`);
  });

  it("the gateway's policy puts policers with its rates into the router's namespace", async () => {
    const t0 = Date.now();
    const r = (await setGatewayPolicy(policy.id)).router;
    assert.equal(r.external_gateway_info.qos_policy_id, policy.id);
    const want = [
      { chain: QOS_EGRESS_CHAIN, ip: gwIp, rate: (EGRESS_KBPS * 1000) / 8, burst: (EGRESS_KBPS * 0.8 * 1000) / 8 },
      { chain: QOS_INGRESS_CHAIN, ip: gwIp, rate: (INGRESS_KBPS * 1000) / 8, burst: (INGRESS_KBPS * 0.8 * 1000) / 8 },
    ];
    await waitThroughErrors(
      'policers in the kernel',
      async () => (JSON.stringify(await policers(router.id)) === JSON.stringify(want) ? true : null),
      15_000,
      50,
    ).catch(fail);
    t.figures.push(`gateway policy set → policers in the kernel: ${Date.now() - t0} ms`);
  });

  it('transfers through the gateway are limited to about the rates, each direction', async () => {
    const egress = (EGRESS_KBPS * 1000) / 8;
    const ingress = (INGRESS_KBPS * 1000) / 8;
    // Measured past the policer's bucket (a second of the rate plus the burst, 80% of it).
    const up = await upload(1_500_000, egress * 1.8);
    const down = await download(2_500_000, ingress * 1.8);
    t.figures.push(
      `policed through the gateway, past the bucket: VM → outside ${Math.round(up / 1000)} kB/s (limit ${egress / 1000}), outside → VM ${Math.round(down / 1000)} kB/s (limit ${ingress / 1000})`,
    );
    // Generous: timing on a loaded machine, and TCP backing off under drops.
    assert.ok(up < 1.3 * egress && up > egress / 10, `upload ${up} B/s against a limit of ${egress}`);
    assert.ok(down < 1.3 * ingress && down > ingress / 10, `download ${down} B/s against a limit of ${ingress}`);
  });

  it('a changed rule changes the policer', async () => {
    const t0 = Date.now();
    await ok('PUT', `/qos/policies/${policy.id}/bandwidth_limit_rules/${egressRule.id}`, {
      bandwidth_limit_rule: { max_kbps: 8000, max_burst_kbps: 1000 },
    });
    await waitThroughErrors(
      'egress policer changed',
      async () => {
        const e = (await policers(router.id)).find((p) => p.chain === QOS_EGRESS_CHAIN);
        return e && e.rate === 1_000_000 && e.burst === 125_000 ? e : null;
      },
      15_000,
      50,
    ).catch(fail);
    t.figures.push(`rule update → policer changed in the kernel: ${Date.now() - t0} ms`);
    // The ingress one is as it was.
    assert.equal((await policers(router.id)).find((p) => p.chain === QOS_INGRESS_CHAIN)?.rate, (INGRESS_KBPS * 1000) / 8);
  });

  it("a floating IP's policy is policed on the same gateway (qos-fip)", async () => {
    const fipPolicy = (await ok('POST', '/qos/policies', { policy: { name: 'gq-fip' } }, 201)).policy;
    await ok('POST', `/qos/policies/${fipPolicy.id}/bandwidth_limit_rules`, { bandwidth_limit_rule: { max_kbps: 1000, direction: 'ingress' } }, 201);
    const fip = (
      await ok(
        'POST',
        '/floatingips',
        { floatingip: { floating_network_id: topo.ext.id, floating_ip_address: FIP, port_id: vmPort.id, qos_policy_id: fipPolicy.id } },
        201,
      )
    ).floatingip;
    await waitThroughErrors(
      'floating IP policer',
      async () => ((await policers(router.id)).some((p) => p.chain === QOS_INGRESS_CHAIN && p.ip === FIP && p.rate === 125_000) ? true : null),
      15_000,
      50,
    ).catch(fail);
    await ok('DELETE', `/floatingips/${fip.id}`, undefined, 204);
    await waitThroughErrors(
      'floating IP policer gone',
      async () => ((await policers(router.id)).some((p) => p.ip === FIP) ? null : true),
      15_000,
      50,
    ).catch(fail);
    await ok('DELETE', `/qos/policies/${fipPolicy.id}`, undefined, 204);
  });

  it('the policy taken off the gateway takes its policers away', async () => {
    const r = (await setGatewayPolicy(null)).router;
    assert.ok(!('qos_policy_id' in r.external_gateway_info));
    await waitThroughErrors('policers gone', async () => ((await policers(router.id)).length === 0 ? true : null), 15_000, 50).catch(fail);
    const up = await upload(3_000_000);
    t.figures.push(`after the policy left the gateway: VM → outside ${Math.round(up / 1000)} kB/s`);
    // Twice the last egress limit (8000 kbps).
    assert.ok(up > 2 * 1_000_000, `upload ${up} B/s still limited`);
    await ok('DELETE', `/qos/policies/${policy.id}`, undefined, 204);
  });
});

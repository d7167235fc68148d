// End to end, as root: floating IP port forwardings and conntrack helpers in the L3 agent's
// kernel. The fixture is two-hosts.ts with its L3 option (an "outside" namespace on the external
// network, at the external subnet's gateway 203.0.113.1). Through the API: a router with a
// gateway and one tenant network, a VM on host A, a floating IP without a port. Real packets
// show: a TCP forwarding on the floating IP reaches the VM's port from the outside (and the VM
// sees the outside host's own address), a port range maps each external port to its internal
// one, a deleted forwarding answers no more; an FTP conntrack helper is a `ct helper` object and
// a rule in the router's table; restarting the L3 agent writes nothing. Figures (forwarding
// create → first answer from the outside, p50/p90) are printed, not asserted.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { runInNetns } from '../../src/dataplane/index.js';
import { NAT_TABLE, routerNamespace } from '../../src/agents/l3/model.js';
import { rootGate } from '../dataplane/root-helpers.js';
import { skipUnlessRabbit } from '../rpc/rabbit.js';
import { TwoHosts, type BusMode } from './two-hosts.js';
import { L3Topology, OUTSIDE_IP } from './l3-topology.js';
import { sleep, waitFor, waitThroughErrors } from '../helpers/wait.js';
import { inNs, killGroup, tcpAnswer } from './l3-probes.js';

const gate = rootGate('port forwarding end-to-end', ['ip', 'bridge', 'nsenter', 'nft', 'socat', 'conntrack', 'arping', 'rabbitmqctl']);
const rabbitSkip = gate.skip ? false : await skipUnlessRabbit();
const modes = (['memory', 'rabbit'] as BusMode[]).filter((m) => !process.env.NEUTRINO_E2E_BUS || process.env.NEUTRINO_E2E_BUS === m);

const FIP = '203.0.113.60';
const VM_IP = '10.72.1.10';
const WHO_PORT = 7000;
const ECHO_PORT = 7001;
const RANGE_INTERNAL = [8000, 8001, 8002];

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;

for (const mode of modes) {
  describe(`port forwarding e2e (root, ${mode} bus)`, { skip: gate.skip || (mode === 'rabbit' && rabbitSkip) }, () => {
    let t: TwoHosts;
    let topo: L3Topology;
    let router: any;
    let fip: any;
    let vmPort: any;
    const servers: ChildProcess[] = [];
    const vm = () => `nt${t.s}pf`;
    const ok = async (method: string, path: string, body?: unknown, status = 200) => {
      const r = await t.api(method, path, body);
      assert.equal(r.status, status, `${method} ${path}: ${JSON.stringify(r.body)}`);
      return r.body;
    };
    const fail = (e: unknown): never => {
      throw new Error(`${(e as Error).message}\n${t.dump()}`);
    };
    const pfs = () => `/floatingips/${fip.id}/port_forwardings`;
    const nftList = async () => (await runInNetns(routerNamespace(router.id), { argv: ['nft', 'list', 'table', 'ip', NAT_TABLE] })).stdout;

    before(async () => {
      gate.check();
      t = new TwoHosts(mode, { l3: true });
      topo = new L3Topology(t);
      await t.start();
    });
    after(async () => {
      for (const s of servers) killGroup(s);
      await t?.stop();
    });

    it('builds a router, a VM behind it and a floating IP without a port', async () => {
      await topo.external('pf-ext');
      const { subnet } = await topo.tenant('pf-net', '10.72.1.0/24');
      router = await topo.router('pf-r', [subnet]);
      vmPort = await topo.vm(vm(), 0, subnet, VM_IP, '10.72.1.1');
      servers.push(inNs(vm(), ['socat', `TCP-LISTEN:${WHO_PORT},fork,reuseaddr`, 'SYSTEM:echo $SOCAT_PEERADDR']));
      servers.push(inNs(vm(), ['socat', `TCP-LISTEN:${ECHO_PORT},fork,reuseaddr`, 'EXEC:cat']));
      for (const p of RANGE_INTERNAL) servers.push(inNs(vm(), ['socat', `TCP-LISTEN:${p},fork,reuseaddr`, `SYSTEM:echo p${p}`]));
      fip = await topo.floatingIp(FIP);
      await topo.routerPortsActive(router.id, 2).catch(fail);
    });

    it('a TCP forwarding on the floating IP reaches the VM port from the outside; deleted, it answers no more', async () => {
      await sleep(200);
      assert.equal(await tcpAnswer(t.outsideNs, FIP, 2222), null, 'answers before any forwarding');
      const times: number[] = [];
      for (let i = 0; i < 10; i++) {
        const ext = 2222 + i;
        const t0 = Date.now();
        const pf = (
          await ok(
            'POST',
            pfs(),
            { port_forwarding: { protocol: 'tcp', internal_port_id: vmPort.id, internal_port: WHO_PORT, external_port: ext } },
            201,
          )
        ).port_forwarding;
        // Short probes: until the forwarding exists the floating address is on no device, and an
        // unanswered ARP would hold a longer probe to its whole timeout.
        const seen = await waitThroughErrors('outside → forwarded port', () => tcpAnswer(t.outsideNs, FIP, ext, 0.1), 10_000, 5).catch(fail);
        times.push(Date.now() - t0);
        assert.equal(seen, OUTSIDE_IP, 'the VM sees the outside host itself');
        if (i === 0) {
          await waitFor(
            'floating IP ACTIVE',
            async () => (await t.api('GET', `/floatingips/${fip.id}`)).body.floatingip.status === 'ACTIVE',
            10_000,
          ).catch(fail);
          assert.equal(await tcpAnswer(t.outsideNs, FIP, WHO_PORT, 0.5), null, 'a port that is not forwarded answers');
        }
        await ok('DELETE', `${pfs()}/${pf.id}`, undefined, 204);
        await waitThroughErrors('forwarding gone', async () => (await tcpAnswer(t.outsideNs, FIP, ext, 0.3)) === null, 5000, 10).catch(fail);
      }
      t.figures.push(
        `port forwarding create → first TCP answer from the outside: p50 ${percentile(times, 50)} ms, p90 ${percentile(times, 90)} ms (n=${times.length})`,
      );
    });

    it('a port range forwards each external port to its internal one', async () => {
      await ok(
        'POST',
        pfs(),
        { port_forwarding: { protocol: 'tcp', internal_port_id: vmPort.id, internal_port_range: '8000:8002', external_port_range: '9000:9002' } },
        201,
      );
      for (const [i, p] of RANGE_INTERNAL.entries()) {
        assert.equal(await waitThroughErrors(`outside → ${9000 + i}`, () => tcpAnswer(t.outsideNs, FIP, 9000 + i), 10_000, 20).catch(fail), `p${p}`);
      }
      // A single forwarding beside the range.
      await ok(
        'POST',
        pfs(),
        { port_forwarding: { protocol: 'tcp', internal_port_id: vmPort.id, internal_port: WHO_PORT, external_port: 2222 } },
        201,
      );
      assert.equal(await waitThroughErrors('outside → 2222', () => tcpAnswer(t.outsideNs, FIP, 2222), 10_000, 20).catch(fail), OUTSIDE_IP);
      assert.match(await nftList(), /map pf_dnat/);
    });

    it("a deleted forwarding's established connection is cut; the floating IP's other forwardings carry on", async () => {
      const pf = (
        await ok(
          'POST',
          pfs(),
          { port_forwarding: { protocol: 'tcp', internal_port_id: vmPort.id, internal_port: ECHO_PORT, external_port: 3000 } },
          201,
        )
      ).port_forwarding;
      await waitThroughErrors('echo forwarding', () => tcpAnswer(t.outsideNs, FIP, 2222), 10_000, 20).catch(fail);
      let conn: ChildProcess | null = null;
      let echoed = '';
      await waitThroughErrors(
        'echo through the forwarding',
        async () => {
          if (conn) killGroup(conn);
          echoed = '';
          conn = inNs(t.outsideNs, ['socat', '-', `TCP:${FIP}:3000`], 'pipe');
          servers.push(conn);
          conn.stdout!.on('data', (b: Buffer) => (echoed += b.toString()));
          conn.stdin!.write('before\n');
          return waitFor('echo', async () => echoed.includes('before\n'), 1000, 10);
        },
        10_000,
        50,
      ).catch(fail);
      await ok('DELETE', `${pfs()}/${pf.id}`, undefined, 204);
      await waitThroughErrors('forwarding 3000 gone', async () => (await tcpAnswer(t.outsideNs, FIP, 3000, 0.3)) === null, 5000, 10).catch(fail);
      // The agent removes the map element first, then flushes the forwarding's conntrack entries:
      // new connections fail as soon as the first is done, so wait for the second too.
      const tracked = async () =>
        (await runInNetns(routerNamespace(router.id), { argv: ['conntrack', '-L', '-p', 'tcp', '--orig-port-dst', '3000'] })).stdout;
      await waitFor('conntrack entries of the deleted forwarding flushed', async () => !(await tracked()).includes('dport=3000'), 5000, 20).catch(
        fail,
      );
      (conn as unknown as ChildProcess).stdin!.write('after\n');
      await sleep(1000);
      assert.ok(!echoed.includes('after\n'), 'the connection of a deleted forwarding still carries data');
      assert.equal(await tcpAnswer(t.outsideNs, FIP, 2222), OUTSIDE_IP);
    });

    it('an FTP conntrack helper is a ct helper object and a rule in the router table', async () => {
      assert.doesNotMatch(await nftList(), /ct helper/);
      const h = (await ok('POST', `/routers/${router.id}/conntrack_helpers`, { conntrack_helper: { protocol: 'tcp', port: 21, helper: 'ftp' } }, 201))
        .conntrack_helper;
      const listed = await waitFor(
        'ct helper in the kernel',
        async () => {
          const out = await nftList();
          return /ct helper ftp_tcp \{\s*type "ftp" protocol tcp/.test(out) && /tcp dport 21 ct helper set "ftp_tcp"/.test(out) ? out : null;
        },
        10_000,
        20,
      ).catch(fail);
      assert.ok(listed);
      await ok('PUT', `/routers/${router.id}/conntrack_helpers/${h.id}`, { conntrack_helper: { port: 2121 } });
      await waitFor('helper rule moved to 2121', async () => /tcp dport 2121 ct helper set "ftp_tcp"/.test(await nftList()), 10_000, 20).catch(fail);
    });

    it('restarting the L3 agent writes nothing; forwardings still answer', async () => {
      const r = await t.restartL3();
      t.figures.push(`L3 agent restart with forwardings and a helper: ${r.ms} ms, kernel ${JSON.stringify(r.kernel)}`);
      assert.equal(r.kernel.writes, 0, `the restart wrote to the kernel: ${JSON.stringify(r.detail)}`);
      assert.equal(await tcpAnswer(t.outsideNs, FIP, 9001), 'p8001');
      // Helpers removed: the object and the rule go.
      const hs = (await ok('GET', `/routers/${router.id}/conntrack_helpers`)).conntrack_helpers;
      for (const h of hs) await ok('DELETE', `/routers/${router.id}/conntrack_helpers/${h.id}`, undefined, 204);
      await waitFor('ct helper gone', async () => !/ct helper/.test(await nftList()), 10_000, 20).catch(fail);
    });
  });
}

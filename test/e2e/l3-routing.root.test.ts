// End to end, as root: the L3 agent routes real packets. The fixture is two-hosts.ts with its L3
// option: host A runs the L3 agent and maps the physical network `extnet` to `ext0`, whose peer is
// eth0 of an "outside" namespace; a flat external network on extnet is that wire, and the outside
// namespace holds the external subnet's gateway address (203.0.113.1).
//
// Through the API: a router with a gateway on the external network and interfaces on two tenant
// VXLAN networks; vm1 on net1 (host B, so its traffic crosses VXLAN to the router on host A), vm2
// on net2 (host A). Real packets show (a TCP server that answers with the peer address it sees
// tells who the source was): the router's ports go ACTIVE; vm1 reaches the outside host with the
// router's gateway address as source (SNAT); the two tenant networks reach each other unNATed; the
// outside host reaches vm1 on its floating IP (seeing its own address, no SNAT inwards) and not
// before the association; after disassociation it no longer does, within 1 s; an extra route
// sends a prefix to vm2; floating IP statuses follow (ACTIVE, DOWN); a router set down is taken
// out of the kernel and built again when set up. Restarting the L3 agent
// writes nothing to the kernel and a TCP connection through the floating IP carries on.
// Figures are printed (`# l3 e2e figures`), not asserted.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { IpBatch, listNetns } from '../../src/dataplane/index.js';
import { routerNamespace } from '../../src/agents/l3/model.js';
import { ping, rootGate } from '../dataplane/root-helpers.js';
import { skipUnlessRabbit } from '../rpc/rabbit.js';
import { TwoHosts, type BusMode } from './two-hosts.js';
import { L3Topology, OUTSIDE_IP } from './l3-topology.js';
import { sleep, waitFor, waitThroughErrors } from '../helpers/wait.js';
import { inNs, killGroup, seenAs, WHO_PORT, whoAmIServer } from './l3-probes.js';

const gate = rootGate('L3 end-to-end', ['ip', 'bridge', 'nsenter', 'nft', 'busybox', 'socat', 'conntrack', 'arping', 'rabbitmqctl']);
const rabbitSkip = gate.skip ? false : await skipUnlessRabbit();
const modes = (['memory', 'rabbit'] as BusMode[]).filter((m) => !process.env.NEUTRINO_E2E_BUS || process.env.NEUTRINO_E2E_BUS === m);

const FIP = '203.0.113.50';
const VM1_IP = '10.71.1.10';
const VM2_IP = '10.71.2.10';
const BEYOND_VM2 = '198.51.100.1';
const ECHO_PORT = 7001;

for (const mode of modes) {
  describe(`L3 e2e (root, ${mode} bus): routers, SNAT, floating IPs`, { skip: gate.skip || (mode === 'rabbit' && rabbitSkip) }, () => {
    let t: TwoHosts;
    let topo: L3Topology;
    let router: any;
    let fip: any;
    const port: any[] = [];
    const servers: ChildProcess[] = [];
    const vm = (i: number) => `nt${t.s}l${i}`;
    const ok = async (method: string, path: string, body?: unknown, status = 200) => {
      const r = await t.api(method, path, body);
      assert.equal(r.status, status, `${method} ${path}: ${JSON.stringify(r.body)}`);
      return r.body;
    };
    const fail = (e: unknown): never => {
      throw new Error(`${(e as Error).message}\n${t.dump()}`);
    };

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

    it('builds a router with a gateway and two tenant networks; its ports go ACTIVE', async () => {
      await topo.external('l3-ext');
      const tenants = [await topo.tenant('l3-net1', '10.71.1.0/24'), await topo.tenant('l3-net2', '10.71.2.0/24')];
      router = await topo.router(
        'l3-r1',
        tenants.map((x) => x.subnet),
      );
      port.push(await topo.vm(vm(1), 1, tenants[0]!.subnet, VM1_IP, '10.71.1.1'));
      port.push(await topo.vm(vm(2), 0, tenants[1]!.subnet, VM2_IP, '10.71.2.1'));
      await new IpBatch().addAddr('lo', `${BEYOND_VM2}/32`).apply({ netns: vm(2) });
      servers.push(whoAmIServer(t.outsideNs, WHO_PORT), whoAmIServer(vm(1), WHO_PORT), whoAmIServer(vm(2), WHO_PORT));
      servers.push(inNs(vm(1), ['socat', `TCP-LISTEN:${ECHO_PORT},fork,reuseaddr`, 'EXEC:cat']));
      const t0 = Date.now();
      await topo.routerPortsActive(router.id, 3).catch(fail);
      t.figures.push(`router interfaces ACTIVE ${Date.now() - t0} ms after the last plug`);
      router = (await ok('GET', `/routers/${router.id}`)).router;
      assert.equal(router.status, 'ACTIVE');
    });

    it('vm1 reaches the outside host with the router gateway address as source (SNAT)', async () => {
      const gwIp = router.external_gateway_info.external_fixed_ips[0].ip_address;
      const seen = await waitThroughErrors('vm1 → outside', () => seenAs(vm(1), OUTSIDE_IP), 20_000, 200).catch(fail);
      assert.equal(seen, gwIp);
    });

    it('two tenant networks on one router reach each other without NAT', async () => {
      assert.equal(await waitThroughErrors('vm1 → vm2', () => seenAs(vm(1), VM2_IP), 10_000, 200).catch(fail), VM1_IP);
      assert.equal(await seenAs(vm(2), VM1_IP), VM2_IP);
    });

    it('the outside host reaches vm1 on its floating IP only while it is associated, and no longer within 1 s after', async () => {
      fip = await topo.floatingIp(FIP);
      assert.equal(fip.status, 'DOWN');
      await sleep(300);
      assert.equal(await seenAs(t.outsideNs, FIP), null, 'an unassociated floating IP answers');
      const t0 = Date.now();
      await ok('PUT', `/floatingips/${fip.id}`, { floatingip: { port_id: port[0].id } });
      const seen = await waitThroughErrors('outside → floating IP', () => seenAs(t.outsideNs, FIP), 10_000, 20).catch(fail);
      t.figures.push(`floating IP associate → first TCP answer from the outside ${Date.now() - t0} ms`);
      assert.equal(seen, OUTSIDE_IP, 'vm1 sees the outside host itself (no SNAT inwards)');
      // vm1's own traffic now leaves with the floating IP as source.
      assert.equal(await seenAs(vm(1), OUTSIDE_IP), FIP);
      await waitFor(
        'floating IP ACTIVE',
        async () => (await t.api('GET', `/floatingips/${fip.id}`)).body.floatingip.status === 'ACTIVE',
        10_000,
      ).catch(fail);
      const t1 = Date.now();
      await ok('PUT', `/floatingips/${fip.id}`, { floatingip: { port_id: null } });
      // The first probe that gets no answer: its start is when the floating IP was already gone.
      const goneAt = await waitFor(
        'floating IP gone from the kernel',
        async () => {
          const probe = Date.now();
          return (await seenAs(t.outsideNs, FIP, 0.2)) === null ? probe : null;
        },
        5000,
        10,
      ).catch(fail);
      t.figures.push(`floating IP disassociate → no answer ${goneAt - t1} ms`);
      assert.ok(goneAt - t1 < 1000, `the floating IP still answered ${goneAt - t1} ms after the disassociation`);
      assert.equal(await seenAs(vm(1), OUTSIDE_IP), router.external_gateway_info.external_fixed_ips[0].ip_address);
      await waitFor('floating IP DOWN', async () => (await t.api('GET', `/floatingips/${fip.id}`)).body.floatingip.status === 'DOWN', 10_000).catch(
        fail,
      );
    });

    it('an extra route sends a prefix to vm2', async () => {
      // (Probed with ping: a TCP attempt would leave a conntrack entry, SNAT'd towards the outside,
      // that a retry from the same source port would follow even after the route exists.)
      assert.equal(await ping(vm(1), BEYOND_VM2, 1), false, 'reached before the route exists');
      await ok('PUT', `/routers/${router.id}`, { router: { routes: [{ destination: '198.51.100.0/24', nexthop: VM2_IP }] } });
      // Pinged until the route is there, for the same reason; then one TCP connection says the source.
      await waitFor('vm1 pings beyond vm2', () => ping(vm(1), BEYOND_VM2, 1), 10_000, 50).catch(fail);
      assert.equal(await seenAs(vm(1), BEYOND_VM2), VM1_IP);
    });

    it('a router set administratively down is taken out of the kernel, and built again when set up', async () => {
      const hasNs = async () => (await listNetns()).some((n) => n.name === routerNamespace(router.id));
      assert.ok(await hasNs());
      await ok('PUT', `/routers/${router.id}`, { router: { admin_state_up: false } });
      await waitFor('router namespace gone', async () => !(await hasNs()), 10_000, 50).catch(fail);
      assert.equal(await ping(vm(1), OUTSIDE_IP, 1), false, 'vm1 still reaches the outside through a router that is down');
      await ok('PUT', `/routers/${router.id}`, { router: { admin_state_up: true } });
      await waitFor('vm1 → outside again', () => ping(vm(1), OUTSIDE_IP, 1), 15_000, 50).catch(fail);
      assert.equal(await seenAs(vm(1), OUTSIDE_IP), router.external_gateway_info.external_fixed_ips[0].ip_address);
      assert.equal(await seenAs(vm(1), BEYOND_VM2), VM1_IP, 'the extra route came back too');
    });

    it('a router removed from its L3 agent is torn down and stays unhosted; added back, it is built again', async () => {
      const hasNs = async () => (await listNetns()).some((n) => n.name === routerNamespace(router.id));
      const hosts = async () => (await ok('GET', `/routers/${router.id}/l3-agents`)).agents as any[];
      const [agent] = await hosts();
      assert.ok(agent, 'the router has an L3 agent');
      await ok('DELETE', `/agents/${agent.id}/l3-routers/${router.id}`, undefined, 204);
      await waitFor('router namespace gone', async () => !(await hasNs()), 10_000, 50).catch(fail);
      // The agent tore it down without asking the server, whose sync_routers would have scheduled it back.
      await sleep(1000);
      assert.deepEqual(await hosts(), [], 'the router was scheduled back onto an agent');
      await ok('POST', `/agents/${agent.id}/l3-routers`, { router_id: router.id }, 201);
      await waitFor('vm1 → outside again', () => ping(vm(1), OUTSIDE_IP, 1), 15_000, 50).catch(fail);
    });

    it('restarting the L3 agent writes nothing to the kernel and keeps a TCP connection through the floating IP', async () => {
      await ok('PUT', `/floatingips/${fip.id}`, { floatingip: { port_id: port[0].id } });
      await waitThroughErrors('outside → floating IP again', () => seenAs(t.outsideNs, FIP), 10_000, 20).catch(fail);
      // A long-lived connection from the outside to vm1's echo server, through the floating IP.
      const conn = inNs(t.outsideNs, ['socat', '-', `TCP:${FIP}:${ECHO_PORT}`], 'pipe');
      servers.push(conn);
      let echoed = '';
      conn.stdout!.on('data', (b: Buffer) => (echoed += b.toString()));
      conn.stdin!.write('before\n');
      await waitFor('echo before the restart', async () => echoed.includes('before\n'), 10_000).catch(fail);
      const r = await t.restartL3();
      t.figures.push(`L3 agent restart: ${r.ms} ms to the end of the full sync, kernel ${JSON.stringify(r.kernel)}, ${JSON.stringify(r.detail)}`);
      assert.equal(r.kernel.writes, 0, `the restart wrote to the kernel: ${JSON.stringify(r.detail)}`);
      assert.equal(r.detail.changed, 0);
      assert.equal(r.detail.routers, 1);
      conn.stdin!.write('after\n');
      await waitFor('echo after the restart', async () => echoed.includes('after\n'), 10_000).catch(fail);
      assert.equal(conn.exitCode, null, 'the connection closed');
      // The restarted agent still follows changes.
      await ok('PUT', `/floatingips/${fip.id}`, { floatingip: { port_id: null } });
      await waitFor('floating IP gone after the restart', async () => (await seenAs(t.outsideNs, FIP, 0.2)) === null, 5000, 10).catch(fail);
      assert.ok(await ping(vm(1), OUTSIDE_IP, 1), 'vm1 no longer reaches the outside');
    });
  });
}

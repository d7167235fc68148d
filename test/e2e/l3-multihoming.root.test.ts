// End to end, as root: a router with two external gateways (external-gateway-multihoming). The
// fixture is two-hosts.ts with its L3 option; external network A is the flat one on extnet
// (outside host 203.0.113.1, the outside namespace), external network B is flat on a second
// physical network (TwoHosts' l3SecondExternal), whose outside host (198.51.100.1) is a second
// outside namespace. A tenant network and a VM
// behind the router. Real packets show: the L3 agent gives the router one qg- per gateway; each
// outside host reaches the router's address on its own network; the VM's traffic leaves SNATed
// to the address of the gateway it leaves through (to the internet: the first gateway, whose
// subnet gateway is the default route); with enable_default_route_ecmp the default route is one
// multipath route over both; removing a gateway removes its interface and the other keeps working.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { listLinks, runInNetns } from '../../src/dataplane/index.js';
import { gatewayDevOf, routerNamespace } from '../../src/agents/l3/model.js';
import { ping, rootGate } from '../dataplane/root-helpers.js';
import { TwoHosts } from './two-hosts.js';
import { L3Topology, OUTSIDE_IP } from './l3-topology.js';
import { waitFor, waitThroughErrors } from '../helpers/wait.js';
import { killGroup, tcpAnswer, whoAmIServer } from './l3-probes.js';

const gate = rootGate('L3 multihoming end-to-end', ['ip', 'bridge', 'nsenter', 'nft', 'busybox', 'socat']);

const OUTSIDE_B = '198.51.100.1';
const VM_IP = '10.73.1.10';
const WHO_PORT = 7000;

/** Connects from `ns` to ip:WHO_PORT; the source address the server saw, or null if no answer. */
const seenAs = (ns: string, ip: string) => tcpAnswer(ns, ip, WHO_PORT);

/** The router namespace's default route as `ip -json` shows it. */
async function defaultRoute(ns: string): Promise<any> {
  const r = await runInNetns(ns, { argv: ['ip', '-json', '-4', 'route', 'show', 'default'] });
  return JSON.parse(r.stdout || '[]')[0] ?? null;
}

describe('L3 multihoming e2e (root, memory bus): two external gateways', { skip: gate.skip }, () => {
  let t: TwoHosts;
  let topo: L3Topology;
  let router: any;
  let extB: { net: any; subnet: any };
  let ns: string;
  const servers: ChildProcess[] = [];
  const vmNs = () => `nt${t.s}mv`;
  const outsideB = () => t.outside2Ns;
  const fail = (e: unknown): never => {
    throw new Error(`${(e as Error).message}\n${t.dump()}`);
  };
  const gatewayAddress = (r: any, networkId: string) =>
    r.external_gateways.find((g: any) => g.network_id === networkId).external_fixed_ips[0].ip_address as string;
  const qgLinks = async () => (await listLinks({ netns: ns })).map((l) => l.name).filter((n) => n.startsWith('qg-'));

  before(async () => {
    gate.check();
    t = new TwoHosts('memory', { l3: true, l3SecondExternal: true });
    topo = new L3Topology(t);
    await t.start();
  });
  after(async () => {
    for (const s of servers) killGroup(s);
    await t?.stop();
  });

  it('builds one qg- per gateway; each outside host reaches the router on its network', async () => {
    await topo.external('mh-extA');
    extB = await topo.secondExternal('mh-extB', '198.51.100.0/24', OUTSIDE_B, { start: '198.51.100.10', end: '198.51.100.100' });
    const tenant = await topo.tenant('mh-net', '10.73.1.0/24');
    router = await topo.router('mh-r', [tenant.subnet]);
    ns = routerNamespace(router.id);
    await topo.vm(vmNs(), 0, tenant.subnet, VM_IP, '10.73.1.1');
    servers.push(whoAmIServer(t.outsideNs, WHO_PORT), whoAmIServer(outsideB(), WHO_PORT));
    const added = await topo.ok('PUT', `/routers/${router.id}/add_external_gateways`, {
      router: { external_gateways: [{ network_id: extB.net.id }] },
    });
    router = added.router;
    assert.equal(router.external_gateways.length, 2);
    assert.equal(router.external_gateway_info.network_id, topo.ext.id);
    const gwPorts = (await t.api('GET', `/ports?device_id=${router.id}&device_owner=network:router_gateway`)).body.ports;
    assert.equal(gwPorts.length, 2);
    await waitFor('two qg- devices', async () => (await qgLinks()).length === 2, 30_000, 200).catch(fail);
    assert.deepEqual((await qgLinks()).sort(), gwPorts.map((p: any) => gatewayDevOf(p.id)).sort());
    await waitThroughErrors(
      'gateway ports ACTIVE',
      async () => {
        const ps = (await t.api('GET', `/ports?device_id=${router.id}&device_owner=network:router_gateway`)).body.ports;
        return ps.every((p: any) => p.status === 'ACTIVE') ? ps : null;
      },
      30_000,
      200,
    ).catch(fail);
    const a = gatewayAddress(router, topo.ext.id);
    const b = gatewayAddress(router, extB.net.id);
    assert.ok(await ping(t.outsideNs, a), `outside host A does not reach ${a}`);
    assert.ok(await ping(outsideB(), b), `outside host B does not reach ${b}`);
  });

  it('SNAT to the address of the gateway the packet leaves by; the default route is the first gateway', async () => {
    const a = gatewayAddress(router, topo.ext.id);
    const b = gatewayAddress(router, extB.net.id);
    assert.equal(await waitThroughErrors('vm → outside A', () => seenAs(vmNs(), OUTSIDE_IP), 20_000, 200).catch(fail), a);
    assert.equal(await waitThroughErrors('vm → outside B', () => seenAs(vmNs(), OUTSIDE_B), 20_000, 200).catch(fail), b);
    const route = await defaultRoute(ns);
    assert.equal(route.gateway, OUTSIDE_IP);
    assert.equal(route.dev, gatewayDevOf((await gwPortOn(topo.ext.id)).id));
  });

  async function gwPortOn(networkId: string): Promise<any> {
    const ps = (await t.api('GET', `/ports?device_id=${router.id}&device_owner=network:router_gateway&network_id=${networkId}`)).body.ports;
    return ps[0];
  }

  it('enable_default_route_ecmp: one multipath default route over both gateways, and back', async () => {
    await topo.ok('PUT', `/routers/${router.id}`, { router: { enable_default_route_ecmp: true } });
    const hops = await waitFor(
      'multipath default route',
      async () => {
        const r = await defaultRoute(ns);
        return r?.nexthops?.length === 2 ? r.nexthops : null;
      },
      20_000,
      200,
    ).catch(fail);
    assert.deepEqual(hops.map((h: any) => h.gateway).sort(), [OUTSIDE_B, OUTSIDE_IP].sort());
    assert.deepEqual(
      hops.map((h: any) => h.dev).sort(),
      [gatewayDevOf((await gwPortOn(topo.ext.id)).id), gatewayDevOf((await gwPortOn(extB.net.id)).id)].sort(),
    );
    await topo.ok('PUT', `/routers/${router.id}`, { router: { enable_default_route_ecmp: false } });
    await waitFor('single default route', async () => (await defaultRoute(ns))?.gateway === OUTSIDE_IP, 20_000, 200).catch(fail);
  });

  it('removing a gateway removes its interface; the other keeps working', async () => {
    const devB = gatewayDevOf((await gwPortOn(extB.net.id)).id);
    const a = gatewayAddress(router, topo.ext.id);
    const removed = await topo.ok('PUT', `/routers/${router.id}/remove_external_gateways`, {
      router: { external_gateways: [{ network_id: extB.net.id }] },
    });
    assert.equal(removed.router.external_gateways.length, 1);
    await waitFor('qg- of B gone', async () => !(await qgLinks()).includes(devB), 20_000, 200).catch(fail);
    assert.equal((await qgLinks()).length, 1);
    assert.equal(await seenAs(vmNs(), OUTSIDE_IP), a);
    assert.ok(await ping(t.outsideNs, a));
    assert.equal(await ping(outsideB(), gatewayAddress(router, extB.net.id), 1), false);
  });
});

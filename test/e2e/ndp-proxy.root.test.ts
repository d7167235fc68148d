// End to end, as root: NDP proxies (l3-ndp-proxy) in the L3 agent's kernel. The fixture is
// two-hosts.ts with its L3 option (an "outside" namespace on the external network). Through the
// API: an IPv6 address scope and pool, an external network and a tenant network from it, a router
// with enable_ndp_proxy and a VM on host A. The outside host has the tenant prefix on-link, as an
// upstream router does with NDP proxying: it reaches the VM's address only while the VM's port
// has an NDP proxy on the router (the gateway answers its neighbour solicitation and forwards);
// before, and after the proxy is deleted, it does not.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { IpBatch, runInNetns } from '../../src/dataplane/index.js';
import { routerNamespace } from '../../src/agents/l3/model.js';
import { NDP_TABLE } from '../../src/agents/l3/ndp-proxy.js';
import { rootGate } from '../dataplane/root-helpers.js';
import { TwoHosts } from './two-hosts.js';
import { L3Topology } from './l3-topology.js';
import { pings } from './l3-probes.js';
import { sleep, waitThroughErrors } from '../helpers/wait.js';

const gate = rootGate('NDP proxy end-to-end', ['ip', 'bridge', 'nsenter', 'nft', 'busybox']);

const OUTSIDE_IP = '2001:db8:70::1';
const EXT_CIDR = '2001:db8:70::/64';
const INT_CIDR = '2001:db8:70:1::/64';
const VM_IP = '2001:db8:70:1::10';

describe('NDP proxy e2e (root, memory bus)', { skip: gate.skip }, () => {
  let t: TwoHosts;
  let topo: L3Topology;
  let router: any;
  let vmPort: any;
  const vm = () => `nt${t.s}np`;
  const ok = (method: string, path: string, body?: unknown, status = 200) => topo.ok(method, path, body, status);
  const fail = (e: unknown): never => {
    throw new Error(`${(e as Error).message}\n${t.dump()}`);
  };
  const proxyEntries = async () => (await runInNetns(routerNamespace(router.id), { argv: ['ip', '-6', 'neigh', 'show', 'proxy'] })).stdout;

  before(async () => {
    gate.check();
    t = new TwoHosts('memory', { l3: true });
    topo = new L3Topology(t);
    await t.start();
    await runInNetns(t.outsideNs, { argv: ['sysctl', '-qw', 'net.ipv6.conf.eth0.accept_dad=0'], write: true });
    await new IpBatch().addAddr('eth0', `${OUTSIDE_IP}/64`).apply({ netns: t.outsideNs });
    // The tenant prefix on-link on the external wire: the outside host asks its neighbours for it.
    await new IpBatch().line('route', 'add', INT_CIDR, 'dev', 'eth0').apply({ netns: t.outsideNs });
  });
  after(async () => {
    await t?.stop();
  });

  it('builds an address scope, an external and a tenant IPv6 network, a router with enable_ndp_proxy and a VM', async () => {
    const scope = (await ok('POST', '/address-scopes', { address_scope: { name: 'np-as', ip_version: 6, shared: true } }, 201)).address_scope;
    const pool = (
      await ok(
        'POST',
        '/subnetpools',
        { subnetpool: { name: 'np-pool', prefixes: ['2001:db8:70::/56'], default_prefixlen: 64, address_scope_id: scope.id, shared: true } },
        201,
      )
    ).subnetpool;
    const ext = (
      await ok(
        'POST',
        '/networks',
        { network: { name: 'np-ext', 'router:external': true, 'provider:network_type': 'flat', 'provider:physical_network': 'extnet' } },
        201,
      )
    ).network;
    const extSubnet = {
      network_id: ext.id,
      ip_version: 6,
      cidr: EXT_CIDR,
      subnetpool_id: pool.id,
      gateway_ip: OUTSIDE_IP,
      enable_dhcp: false,
      allocation_pools: [{ start: '2001:db8:70::10', end: '2001:db8:70::100' }],
    };
    await ok('POST', '/subnets', { subnet: extSubnet }, 201);
    const net = (await ok('POST', '/networks', { network: { name: 'np-net' } }, 201)).network;
    const sn = (
      await ok('POST', '/subnets', { subnet: { network_id: net.id, ip_version: 6, cidr: INT_CIDR, subnetpool_id: pool.id, enable_dhcp: false } }, 201)
    ).subnet;
    // The shared topology's router and VM, on this IPv6 external network.
    topo.ext = ext;
    router = await topo.router('np-r', [sn], { enable_ndp_proxy: true });
    assert.equal(router.enable_ndp_proxy, true);
    vmPort = await topo.vm(vm(), 0, sn, VM_IP, sn.gateway_ip);
    await topo.routerPortsActive(router.id, 2).catch(fail);
    // The router's side is there: its forward filter drops what is not proxied.
    await waitThroughErrors(
      'NDP table in the router',
      async () => (await runInNetns(routerNamespace(router.id), { argv: ['nft', 'list', 'table', 'ip6', NDP_TABLE], okCodes: [0, 1] })).code === 0,
      15_000,
      100,
    ).catch(fail);
  });

  it('the outside reaches the VM only while its port has an NDP proxy', async () => {
    // Addresses settle (duplicate address detection) before the first answer can come.
    await sleep(2500);
    assert.equal(await pings(t.outsideNs, VM_IP), false, 'reached without a proxy');
    const np = (await ok('POST', '/ndp_proxies', { ndp_proxy: { name: 'vm', router_id: router.id, port_id: vmPort.id } }, 201)).ndp_proxy;
    assert.equal(np.ip_address, VM_IP);
    const t0 = Date.now();
    await waitThroughErrors('outside → VM through the proxy', async () => (await pings(t.outsideNs, VM_IP)) || null, 20_000, 50).catch(fail);
    t.figures.push(`NDP proxy create → first ping answer from the outside: ${Date.now() - t0} ms`);
    assert.match(await proxyEntries(), new RegExp(`${VM_IP.replace(/:/g, ':')} dev qg-`));
    await ok('DELETE', `/ndp_proxies/${np.id}`, undefined, 204);
    await waitThroughErrors('proxy entry gone', async () => !(await proxyEntries()).includes(VM_IP), 10_000, 50).catch(fail);
    // The outside may still know the router's MAC for the address: the forward filter stops it.
    await waitThroughErrors('outside no longer reaches the VM', async () => !(await pings(t.outsideNs, VM_IP)), 10_000, 50).catch(fail);
  });

  it('enable_ndp_proxy off takes the router side away', async () => {
    await ok('PUT', `/routers/${router.id}`, { router: { enable_ndp_proxy: false } });
    await waitThroughErrors(
      'NDP table gone',
      async () => (await runInNetns(routerNamespace(router.id), { argv: ['nft', 'list', 'table', 'ip6', NDP_TABLE], okCodes: [0, 1] })).code !== 0,
      15_000,
      100,
    ).catch(fail);
  });
});

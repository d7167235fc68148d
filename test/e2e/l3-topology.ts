// The topology the L3 end-to-end tests share, made through the API on a TwoHosts fixture with
// its l3 option: the outside host at the external subnet's gateway (203.0.113.1 on the outside
// namespace's eth0, or its bridge br0 with the ha option), a flat external network on `extnet`
// with that subnet, tenant networks, a router with a gateway and interfaces, VMs plugged with a
// static address and a default route via their router, floating IPs.
import assert from 'node:assert/strict';
import { IpBatch } from '../../src/dataplane/index.js';
import type { TwoHosts } from './two-hosts.js';
import { routerPortsActive } from './l3-probes.js';

export const OUTSIDE_IP = '203.0.113.1';
export const EXTERNAL_CIDR = '203.0.113.0/24';

export class L3Topology {
  ext: any = null;
  extSubnet: any = null;

  constructor(readonly t: TwoHosts) {}

  async ok(method: string, path: string, body?: unknown, status = 200): Promise<any> {
    const r = await this.t.api(method, path, body);
    assert.equal(r.status, status, `${method} ${path}: ${JSON.stringify(r.body)}`);
    return r.body;
  }

  /** The outside host's address, and the external network and subnet (gateway: the outside host). */
  async external(name: string): Promise<any> {
    await new IpBatch().addAddr(this.t.opts.ha ? 'br0' : 'eth0', `${OUTSIDE_IP}/24`).apply({ netns: this.t.outsideNs });
    const network = { name, 'router:external': true, 'provider:network_type': 'flat', 'provider:physical_network': 'extnet' };
    this.ext = (await this.ok('POST', '/networks', { network }, 201)).network;
    const subnet = {
      network_id: this.ext.id,
      cidr: EXTERNAL_CIDR,
      ip_version: 4,
      gateway_ip: OUTSIDE_IP,
      enable_dhcp: false,
      allocation_pools: [{ start: '203.0.113.10', end: '203.0.113.100' }],
    };
    this.extSubnet = (await this.ok('POST', '/subnets', { subnet }, 201)).subnet;
    return this.ext;
  }

  /**
   * A second external network, flat on extnet2 (TwoHosts' l3SecondExternal), whose outside host
   * (its own namespace, outside2Ns) holds `gateway`, the subnet's gateway. Returns network and subnet.
   */
  async secondExternal(name: string, cidr: string, gateway: string, pool: { start: string; end: string }): Promise<{ net: any; subnet: any }> {
    await new IpBatch().addAddr('eth0', `${gateway}/${cidr.split('/')[1]}`).apply({ netns: this.t.outside2Ns });
    const network = { name, 'router:external': true, 'provider:network_type': 'flat', 'provider:physical_network': 'extnet2' };
    const net = (await this.ok('POST', '/networks', { network }, 201)).network;
    const body = { network_id: net.id, cidr, ip_version: 4, gateway_ip: gateway, enable_dhcp: false, allocation_pools: [pool] };
    return { net, subnet: (await this.ok('POST', '/subnets', { subnet: body }, 201)).subnet };
  }

  /** A tenant network with one subnet (no DHCP unless `subnet` says so). */
  async tenant(name: string, cidr: string, subnet: Record<string, unknown> = {}): Promise<{ net: any; subnet: any }> {
    const net = (await this.ok('POST', '/networks', { network: { name } }, 201)).network;
    const body = { network_id: net.id, cidr, ip_version: cidr.includes(':') ? 6 : 4, enable_dhcp: false, ...subnet };
    return { net, subnet: (await this.ok('POST', '/subnets', { subnet: body }, 201)).subnet };
  }

  /** A router with its gateway on the external network and an interface on each subnet. */
  async router(name: string, subnets: any[], extra: Record<string, unknown> = {}): Promise<any> {
    const body = { name, external_gateway_info: { network_id: this.ext.id }, ...extra };
    const router = (await this.ok('POST', '/routers', { router: body }, 201)).router;
    this.t.routerIds.add(router.id);
    for (const s of subnets) await this.ok('PUT', `/routers/${router.id}/add_router_interface`, { subnet_id: s.id });
    return router;
  }

  /** A port with the address, plugged into a new VM namespace on host i, its default route via `gateway`. */
  async vm(ns: string, host: 0 | 1, subnet: any, ip: string, gateway: string): Promise<any> {
    const body = { port: { network_id: subnet.network_id, fixed_ips: [{ subnet_id: subnet.id, ip_address: ip }], port_security_enabled: false } };
    const port = (await this.ok('POST', '/ports', body, 201)).port;
    await this.t.plug(port.id, ns, host, { static: true });
    await new IpBatch().line('route', 'add', 'default', 'via', gateway).apply({ netns: ns });
    return port;
  }

  /** Waits for the router's `n` ports to be ACTIVE (the L2 agent wired them); returns them. */
  routerPortsActive(routerId: string, n: number): Promise<any[]> {
    return routerPortsActive((m, path) => this.t.api(m, path), routerId, n);
  }

  /** A floating IP with this address on the external network (associated with `portId` if given). */
  async floatingIp(address: string, portId?: string): Promise<any> {
    const body = { floating_network_id: this.ext.id, floating_ip_address: address, ...(portId ? { port_id: portId } : {}) };
    return (await this.ok('POST', '/floatingips', { floatingip: body }, 201)).floatingip;
  }
}

// Mixed deployment, end to end as root: Neutron's own server (Debian's neutron-server, Zed) drives
// neutrino's Linux-bridge agents (one per simulated host) and DHCP agent (host A) over RabbitMQ,
// on oslo.messaging's wire. See mixed/neutron-server-hosts.ts for the setup.
//
// Real packets show: the agents register with neutron-server (alive in its GET /v2.0/agents, with
// the configurations its linuxbridge and l2population drivers read); a VXLAN network's DHCP port
// and two VM ports, one per host, bind and go ACTIVE in neutron-server (L2 and DHCP provisioning
// both complete); each VM gets its port's address from neutrino's dnsmasq, across VXLAN for the VM
// on host B, whose forwarding entries came from Neutron's l2population; the VMs ping each other;
// a security group without ingress rules put on one port stops the pings, and a rule added
// through neutron-server lets them through again (neutrino's nftables firewall).
// Routers (Neutron's router service plugin, its L3 agent scheduler): neutrino's L3 agent
// registers and is given a router with a gateway on a flat external network and an interface on
// the VMs' network; the router's ports go ACTIVE; vm2 (host B, across VXLAN from the router on
// host A) reaches an outside host with the router's gateway address as source (SNAT), the outside
// host reaches vm2 on a floating IP (which goes ACTIVE in neutron-server), and vm2 gets its
// metadata from 169.254.169.254 through the router's proxy and neutrino's metadata agent, which
// found it with neutron-server's get_ports.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { IpBatch, listFdb } from '../../src/dataplane/index.js';
import { ping, rootGate, udhcpcLease } from '../dataplane/root-helpers.js';
import { skipUnlessRabbit } from '../rpc/rabbit.js';
import { HAVE_NEUTRON } from '../helpers/neutron-server.js';
import { waitThroughErrors } from '../helpers/wait.js';
import { NeutronServerHosts, PROJECT } from './mixed/neutron-server-hosts.js';
import { killGroup, seenAs, WHO_PORT, whoAmIServer, routerPortsActive, metadataAnswer } from './l3-probes.js';
import { EXTERNAL_CIDR, OUTSIDE_IP } from './l3-topology.js';

const gate = rootGate('neutrino agents with neutron-server', [
  'ip',
  'bridge',
  'nsenter',
  'busybox',
  'dnsmasq',
  'nft',
  'rabbitmqctl',
  'socat',
  'haproxy',
  'curl',
  'conntrack',
  'arping',
]);
const FIP = '203.0.113.60';
const neutronSkip = HAVE_NEUTRON ? false : 'neutron-server not installed (test/dataplane/install-deps.sh)';
if (neutronSkip && process.env.CI) throw new Error(`${neutronSkip}: required in CI`);
const skip = gate.skip || neutronSkip || (await skipUnlessRabbit());

describe("e2e (root): neutrino's agents driven by Neutron's neutron-server", { skip }, () => {
  let t: NeutronServerHosts;
  let net: any;
  const ports: any[] = [];
  const ips: string[] = [];
  let dhcpIp = '';
  let subnetId = '';
  let router: any;
  let fip: any;
  const servers: ChildProcess[] = [];
  const figures: string[] = [];
  const vm = (i: number) => `ms${t.s}v${i + 1}`;
  const fail = (e: unknown): never => {
    throw new Error(`${(e as Error).message}\n${t.dump()}`);
  };
  const portOf = async (id: string) => (await t.api('GET', `/ports/${id}`)).body.port;

  before(async () => {
    gate.check();
    t = new NeutronServerHosts();
    await t.start().catch(fail);
  });
  after(async () => {
    for (const p of servers) killGroup(p);
    if (figures.length) process.stdout.write(`\n# neutron-server mixed e2e figures\n${figures.map((f) => `#   ${f}`).join('\n')}\n`);
    await t?.stop();
  });

  it("registers the agents: alive in neutron-server's agent list, with what its drivers read", async () => {
    const [a, b] = await t.agentsAlive('Linux bridge agent', t.host).catch(fail);
    for (const [i, agent] of [a, b].entries()) {
      assert.equal(agent.binary, 'neutron-linuxbridge-agent');
      assert.equal(agent.topic, 'N/A');
      assert.deepEqual(agent.configurations.tunnel_types, ['vxlan']);
      assert.equal(agent.configurations.tunneling_ip, t.underlay[i]);
      assert.equal(agent.configurations.l2_population, true);
    }
    const [dhcp] = await t.agentsAlive('DHCP agent', [t.host[0]]).catch(fail);
    assert.equal(dhcp.binary, 'neutron-dhcp-agent');
    assert.equal(dhcp.topic, 'dhcp_agent');
  });

  it('creates a VXLAN network with a DHCP subnet: scheduled to our DHCP agent, whose port goes ACTIVE', async () => {
    const n = await t.api('POST', '/networks', { network: { name: 'mixed-net', project_id: PROJECT } });
    assert.equal(n.status, 201, JSON.stringify(n.body));
    net = n.body.network;
    assert.equal(net['provider:network_type'], 'vxlan');
    const s = await t.api('POST', '/subnets', {
      subnet: {
        network_id: net.id,
        project_id: PROJECT,
        cidr: '10.78.0.0/24',
        ip_version: 4,
        dns_nameservers: ['10.78.0.53'],
        allocation_pools: [{ start: '10.78.0.10', end: '10.78.0.99' }],
      },
    });
    assert.equal(s.status, 201, JSON.stringify(s.body));
    subnetId = s.body.subnet.id;
    const hosting = await waitThroughErrors(
      'network scheduled to the DHCP agent',
      async () => {
        const r = await t.api('GET', `/networks/${net.id}/dhcp-agents`);
        return r.body.agents?.length ? r.body.agents : null;
      },
      30_000,
      200,
    ).catch(fail);
    assert.equal(hosting[0].host, t.host[0]);
    const dhcpPort = await waitThroughErrors(
      'DHCP port ACTIVE in neutron-server',
      async () => {
        const r = (await t.api('GET', `/ports?network_id=${net.id}&device_owner=network:dhcp`)).body.ports;
        return r.length === 1 && r[0].status === 'ACTIVE' ? r[0] : null;
      },
      60_000,
      200,
    ).catch(fail);
    assert.equal(dhcpPort['binding:host_id'], t.host[0]);
    dhcpIp = dhcpPort.fixed_ips[0].ip_address;
    assert.equal(dhcpPort['binding:vif_type'], 'bridge');
  });

  it('plugs a VM on each host: ports bind and go ACTIVE; each VM gets its address by DHCP (host B across VXLAN)', async () => {
    for (let i = 0; i < 2; i++) {
      const p = await t.api('POST', '/ports', {
        port: { network_id: net.id, project_id: PROJECT, name: `vm${i + 1}`, device_owner: 'compute:nova', device_id: `vm-${t.s}-${i + 1}` },
      });
      assert.equal(p.status, 201, JSON.stringify(p.body));
      ports.push(p.body.port);
      ips.push(p.body.port.fixed_ips[0].ip_address);
    }
    const t0 = Date.now();
    for (let i = 0; i < 2; i++) await t.plug(ports[i].id, vm(i), i as 0 | 1);
    for (let i = 0; i < 2; i++) {
      const shown = await waitThroughErrors(
        `port vm${i + 1} ACTIVE in neutron-server`,
        async () => {
          const p = await portOf(ports[i].id);
          return p.status === 'ACTIVE' ? p : null;
        },
        60_000,
        200,
      ).catch(fail);
      assert.equal(shown['binding:host_id'], t.host[i]);
      assert.equal(shown['binding:vif_type'], 'bridge');
      figures.push(`vm${i + 1}: plugged → ACTIVE in neutron-server within ${Date.now() - t0} ms`);
    }
    // Host B learnt host A's VTEP from Neutron's l2population (add_fdb_entries), not by flooding.
    const fdb = await waitThroughErrors(
      "host B's VXLAN device has host A's flooding entry",
      async () => {
        const entries = await listFdb(`vxlan-${net['provider:segmentation_id']}`, { netns: t.ns[1] });
        return entries.some((e) => e.mac === '00:00:00:00:00:00' && e.dst === t.underlay[0]) ? entries : null;
      },
      30_000,
      200,
    ).catch(fail);
    assert.ok(fdb.length > 0);
    for (let i = 0; i < 2; i++) {
      const l0 = Date.now();
      const env = await udhcpcLease(vm(i), 'eth0', { tries: 15 }).catch(fail);
      figures.push(`vm${i + 1}: DHCP lease in ${Date.now() - l0} ms`);
      assert.equal(env.ip, ips[i], `vm${i + 1} gets its port's address`);
      assert.equal(env.router, '10.78.0.1');
      assert.equal(env.dns, '10.78.0.53');
      assert.equal(env.mtu, '1450');
      await new IpBatch().addAddr('eth0', `${env.ip}/24`).apply({ netns: vm(i) });
    }
  });

  it('the VMs ping each other across the hosts', async () => {
    assert.ok(await waitThroughErrors('vm1 → vm2', () => ping(vm(0), ips[1]!), 30_000, 200).catch(fail));
    assert.ok(await ping(vm(1), ips[0]!), 'vm2 → vm1');
  });

  it('a security group rule change through neutron-server is enforced by our nftables', async () => {
    const sg = await t.api('POST', '/security-groups', { security_group: { name: `closed-${t.s}`, project_id: PROJECT } });
    assert.equal(sg.status, 201, JSON.stringify(sg.body));
    const sgId = sg.body.security_group.id;
    // Only the default egress rules: nothing may come in to vm2.
    const u = await t.api('PUT', `/ports/${ports[1].id}`, { port: { security_groups: [sgId] } });
    assert.equal(u.status, 200, JSON.stringify(u.body));
    await waitThroughErrors('vm1 → vm2 blocked', async () => !(await ping(vm(0), ips[1]!, 2)), 30_000, 200).catch(fail);
    // The DHCP port is unfiltered (network-owned): vm2 still reaches it, so vm2 itself is still wired.
    assert.ok(await ping(vm(1), dhcpIp), 'vm2 → DHCP port still answers');
    const r = await t.api('POST', '/security-group-rules', {
      security_group_rule: {
        security_group_id: sgId,
        project_id: PROJECT,
        direction: 'ingress',
        ethertype: 'IPv4',
        protocol: 'icmp',
        remote_ip_prefix: '10.78.0.0/24',
      },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.ok(await waitThroughErrors('vm1 → vm2 allowed by the new rule', () => ping(vm(0), ips[1]!, 2), 30_000, 200).catch(fail));
    const d = await t.api('DELETE', `/security-group-rules/${r.body.security_group_rule.id}`);
    assert.equal(d.status, 204);
    await waitThroughErrors('vm1 → vm2 blocked again', async () => !(await ping(vm(0), ips[1]!, 2)), 30_000, 200).catch(fail);
  });

  it("registers neutrino's L3 and metadata agents: alive in neutron-server, with what its scheduler reads", async () => {
    const [l3] = await t.agentsAlive('L3 agent', [t.host[0]]).catch(fail);
    assert.equal(l3.binary, 'neutron-l3-agent');
    assert.equal(l3.topic, 'l3_agent');
    assert.equal(l3.configurations.agent_mode, 'legacy');
    const [md] = await t.agentsAlive('Metadata agent', [t.host[0]]).catch(fail);
    assert.equal(md.binary, 'neutron-metadata-agent');
  });

  it('a router with a gateway and an interface on the VMs’ network: scheduled to our L3 agent, its ports ACTIVE', async () => {
    await new IpBatch().addAddr('eth0', `${OUTSIDE_IP}/24`).apply({ netns: t.outsideNs });
    const network = {
      name: 'ext',
      project_id: PROJECT,
      'router:external': true,
      'provider:network_type': 'flat',
      'provider:physical_network': 'extnet',
    };
    const ext = await t.api('POST', '/networks', { network });
    assert.equal(ext.status, 201, JSON.stringify(ext.body));
    const extSubnet = {
      network_id: ext.body.network.id,
      project_id: PROJECT,
      cidr: EXTERNAL_CIDR,
      ip_version: 4,
      gateway_ip: OUTSIDE_IP,
      enable_dhcp: false,
      allocation_pools: [{ start: '203.0.113.10', end: '203.0.113.100' }],
    };
    assert.equal((await t.api('POST', '/subnets', { subnet: extSubnet })).status, 201);
    const r = await t.api('POST', '/routers', {
      router: { name: 'r1', project_id: PROJECT, external_gateway_info: { network_id: ext.body.network.id } },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    router = r.body.router;
    t.routerIds.add(router.id);
    const itf = await t.api('PUT', `/routers/${router.id}/add_router_interface`, { subnet_id: subnetId });
    assert.equal(itf.status, 200, JSON.stringify(itf.body));
    const t0 = Date.now();
    const hosting = await waitThroughErrors(
      'router scheduled to the L3 agent',
      async () => {
        const a = (await t.api('GET', `/routers/${router.id}/l3-agents`)).body.agents;
        return a?.length ? a : null;
      },
      30_000,
      200,
    ).catch(fail);
    assert.deepEqual(
      hosting.map((a: any) => a.host),
      [t.host[0]],
    );
    const ports = await routerPortsActive((m, path) => t.api(m, path), router.id, 2, 60_000, 200).catch(fail);
    figures.push(`router created → gateway and interface ACTIVE in neutron-server within ${Date.now() - t0} ms`);
    for (const p of ports) assert.equal(p['binding:host_id'], t.host[0], `${p.device_owner} bound to host A`);
    router = (await t.api('GET', `/routers/${router.id}`)).body.router;
  });

  it('vm2 (host B) reaches the outside host with the router’s gateway address as source (SNAT)', async () => {
    servers.push(whoAmIServer(t.outsideNs), whoAmIServer(vm(1)));
    await new IpBatch().line('route', 'add', 'default', 'via', '10.78.0.1').apply({ netns: vm(1) });
    const gwIp = router.external_gateway_info.external_fixed_ips[0].ip_address;
    const seen = await waitThroughErrors('vm2 → outside', () => seenAs(vm(1), OUTSIDE_IP), 30_000, 200).catch(fail);
    assert.equal(seen, gwIp);
  });

  it('the outside host reaches vm2 on a floating IP, which goes ACTIVE in neutron-server', async () => {
    // vm2's group lets nothing in: a group that lets the probe's TCP in.
    const sg = await t.api('POST', '/security-groups', { security_group: { name: `who-${t.s}`, project_id: PROJECT } });
    assert.equal(sg.status, 201, JSON.stringify(sg.body));
    const rule = { security_group_id: sg.body.security_group.id, project_id: PROJECT, direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp' };
    const rr = await t.api('POST', '/security-group-rules', { security_group_rule: { ...rule, port_range_min: WHO_PORT, port_range_max: WHO_PORT } });
    assert.equal(rr.status, 201, JSON.stringify(rr.body));
    assert.equal((await t.api('PUT', `/ports/${ports[1].id}`, { port: { security_groups: [sg.body.security_group.id] } })).status, 200);
    const ext = router.external_gateway_info.network_id;
    const f = await t.api('POST', '/floatingips', {
      floatingip: { floating_network_id: ext, floating_ip_address: FIP, port_id: ports[1].id, project_id: PROJECT },
    });
    assert.equal(f.status, 201, JSON.stringify(f.body));
    fip = f.body.floatingip;
    const t0 = Date.now();
    const seen = await waitThroughErrors('outside → floating IP', () => seenAs(t.outsideNs, FIP), 30_000, 100).catch(fail);
    figures.push(`floating IP created → first TCP answer from the outside ${Date.now() - t0} ms`);
    assert.equal(seen, OUTSIDE_IP, 'vm2 sees the outside host itself (no SNAT inwards)');
    assert.equal(await seenAs(vm(1), OUTSIDE_IP), FIP, "vm2's own connections now leave with the floating IP");
    await waitThroughErrors(
      'floating IP ACTIVE in neutron-server',
      async () => (await t.api('GET', `/floatingips/${fip.id}`)).body.floatingip.status === 'ACTIVE',
      30_000,
      200,
    ).catch(fail);
  });

  it('vm2 gets its metadata from 169.254.169.254 (router proxy → our metadata agent → Nova)', async () => {
    const r = await metadataAnswer(vm(1), 30_000).catch(fail);
    assert.deepEqual(JSON.parse(r.body), { uuid: `vm-${t.s}-2`, project_id: PROJECT });
    const h = t.nova.seen.at(-1)!;
    assert.equal(h['x-instance-id'], `vm-${t.s}-2`);
    assert.equal(h['x-tenant-id'], PROJECT);
    assert.equal(h['x-forwarded-for'], ips[1]);
  });

  it('neutron-server handled every RPC message of our agents (no dispatch error in its log)', () => {
    const log = t.neutron!.log(50_000_000);
    const failures = log.split('\n').filter((l) => / ERROR oslo_messaging\.rpc\.server .*Exception during message handling/.test(l));
    // The one known exception: the L2 agents' first l2pop load asks for neutrino's own
    // get_fdb_entries once (Neutron answers NoSuchMethod; the agents then rely on its pushes).
    const unexpected = failures.filter((l) => !/NoSuchMethod: Endpoint does not support RPC method get_fdb_entries/.test(l));
    assert.deepEqual(unexpected, [], t.neutron!.log());
    assert.ok(failures.length <= 2, `get_fdb_entries asked once per L2 agent, not ${failures.length} times`);
    assert.doesNotMatch(log, /inconsistent version between server and agents/);
  });
});

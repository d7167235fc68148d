// Mixed deployment, as root: Debian's own Neutron agents (neutron-linuxbridge-agent on two
// simulated hosts, neutron-dhcp-agent on the first) run unchanged against a neutrino server over
// RabbitMQ; see mixed/neutron-agents-hosts.ts for the setup (each host a namespace, VXLAN between
// them, the agents' own configuration files, no /etc/neutron).
//
// Through neutrino's API: a VXLAN network with a DHCP subnet and a security group that allows
// ICMP in; two ports, plugged (as Nova's Linux-bridge VIF plugging does: the tap joins the
// network's brq bridge) into a VM namespace on each host. Real packets show: both VMs get their port's address from Neutron's dnsmasq (the
// DHCP agent's, in its qdhcp- namespace on host A: host B's VM gets it across VXLAN); the VMs
// ping each other across the hosts (the Linux-bridge agents learnt each other's VTEPs from
// neutrino's l2population casts); Neutron's iptables firewall on each host carries the group's
// rules, and deleting the ICMP rule blocks the ping while adding it back allows it again.
// Routers: Debian's neutron-l3-agent (host A, Linux-bridge interface driver) registers and is
// given a router with a gateway on a flat external network and an interface on the VMs' network;
// the router's ports go ACTIVE (host A's Linux-bridge agent wires them); vm2 (host B, across
// VXLAN) reaches an outside host with the router's gateway address as source (SNAT, Neutron's
// iptables in qrouter-), the outside host reaches vm2 on a floating IP, which goes ACTIVE; and
// vm2 gets its metadata from 169.254.169.254 through the L3 agent's haproxy and Debian's
// neutron-metadata-agent, which found it with neutrino's get_ports.
// The agents' logs are printed when an assertion fails.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runInNetns } from '../../src/dataplane/index.js';
import { ping, rootGate, udhcpcLease } from '../dataplane/root-helpers.js';
import { skipUnlessRabbit } from '../rpc/rabbit.js';
import type { ChildProcess } from 'node:child_process';
import { waitThroughErrors } from '../helpers/wait.js';
import { NeutronAgentHosts } from './mixed/neutron-agents-hosts.js';
import { killGroup, seenAs, WHO_PORT, whoAmIServer, routerPortsActive, metadataAnswer } from './l3-probes.js';
import { EXTERNAL_CIDR, OUTSIDE_IP } from './l3-topology.js';

const gate = rootGate("Neutron's agents against neutrino", [
  'ip',
  'nsenter',
  'busybox',
  'socat',
  'sudo',
  'dnsmasq',
  'iptables-save',
  'neutron-linuxbridge-agent',
  'neutron-dhcp-agent',
  'neutron-l3-agent',
  'neutron-metadata-agent',
  'haproxy',
  'curl',
  'conntrack',
  'privsep-helper',
  'rabbitmqctl',
]);
const rabbitSkip = gate.skip ? false : await skipUnlessRabbit();
const FIP = '203.0.113.70';

describe("e2e (root): Debian's neutron-linuxbridge-agent, -dhcp-agent, -l3-agent and -metadata-agent driven by a neutrino server", {
  skip: gate.skip || rabbitSkip,
}, () => {
  let t: NeutronAgentHosts;
  let net: any;
  let sg: any;
  let icmpRule: any;
  const ports: any[] = [];
  let router: any;
  const servers: ChildProcess[] = [];
  const vm = (i: number) => `mxa${t.s}v${i + 1}`;
  const fail = (e: unknown): never => {
    const m = (e as Error).message;
    // Once is enough (bodies use it too).
    if (m.includes('\n--- neutrino server ---\n')) throw e;
    throw new Error(`${m}\n${t.dump()}`);
  };
  /** A test body whose failure prints the agents' and the server's logs. */
  const withLogs = (fn: () => Promise<void>) => () => fn().catch(fail);

  /** Times printed at the end (not asserted: the machine is shared). */
  const figures: string[] = [];
  const timed = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    const r = await fn();
    figures.push(`${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return r;
  };

  before(async () => {
    gate.check();
    t = new NeutronAgentHosts();
    await timed("server and the five agents started, Neutron's agents alive", () => t.start());
  });
  after(async () => {
    for (const p of servers) killGroup(p);
    if (figures.length) process.stdout.write(`\n# neutron-agents e2e figures\n${figures.map((f) => `#   ${f}`).join('\n')}\n`);
    await t?.stop();
  });

  it(
    "registers Neutron's agents as Neutron's server would (report_state)",
    withLogs(async () => {
      const agents = (await t.api('GET', '/agents')).body.agents as any[];
      for (const h of t.host) {
        const lb = agents.find((a) => a.host === h && a.agent_type === 'Linux bridge agent');
        assert.ok(lb, `Linux bridge agent on ${h}`);
        assert.equal(lb.binary, 'neutron-linuxbridge-agent');
        assert.equal(lb.alive, true);
        assert.deepEqual(lb.configurations.tunnel_types, ['vxlan']);
        assert.equal(lb.configurations.l2_population, true);
        assert.equal(lb.configurations.tunneling_ip, t.vtep[t.host.indexOf(h)]);
      }
      const dhcp = agents.find((a) => a.host === t.host[0] && a.agent_type === 'DHCP agent');
      assert.ok(dhcp);
      assert.deepEqual([dhcp.binary, dhcp.topic, dhcp.alive], ['neutron-dhcp-agent', 'dhcp_agent', true]);
      const l3 = agents.find((a) => a.host === t.host[0] && a.agent_type === 'L3 agent');
      assert.ok(l3);
      assert.deepEqual([l3.binary, l3.topic, l3.alive], ['neutron-l3-agent', 'l3_agent', true]);
      assert.equal(l3.configurations.agent_mode, 'legacy');
      const md = agents.find((a) => a.host === t.host[0] && a.agent_type === 'Metadata agent');
      assert.ok(md);
      assert.deepEqual([md.binary, md.alive], ['neutron-metadata-agent', true]);
    }),
  );

  it(
    'serves the network with Neutron’s dnsmasq and wires its DHCP port',
    withLogs(async () => {
      const n = await t.api('POST', '/networks', { network: { name: 'mixed-net' } });
      assert.equal(n.status, 201, JSON.stringify(n.body));
      net = n.body.network;
      t.networks.add(net.id);
      assert.equal(net['provider:network_type'], 'vxlan');
      const s = await t.api('POST', '/subnets', {
        subnet: { network_id: net.id, cidr: '10.93.0.0/24', ip_version: 4, allocation_pools: [{ start: '10.93.0.10', end: '10.93.0.99' }] },
      });
      assert.equal(s.status, 201, JSON.stringify(s.body));
      // The DHCP agent makes its port (create_dhcp_port), host A's L2 agent wires it: ACTIVE.
      const dhcpPort = await timed('subnet created → DHCP port ACTIVE', () =>
        waitThroughErrors(
          'the DHCP port ACTIVE',
          async () => {
            const r = (await t.api('GET', `/ports?network_id=${net.id}&device_owner=network:dhcp`)).body.ports;
            return r.length === 1 && r[0].status === 'ACTIVE' ? r[0] : null;
          },
          180_000,
          500,
        ),
      ).catch(fail);
      assert.equal(dhcpPort['binding:host_id'], t.host[0]);
      const hosting = (await t.api('GET', `/networks/${net.id}/dhcp-agents`)).body.agents;
      assert.deepEqual(
        hosting.map((a: any) => a.host),
        [t.host[0]],
      );
      // dnsmasq runs in the agent's qdhcp- namespace with the port's address.
      await waitThroughErrors(
        'dnsmasq in qdhcp-<network>',
        async () => {
          const addrs = await t.inDhcpNamespace(net.id, ['ip', '-o', '-4', 'addr', 'show']);
          return addrs.includes(`${dhcpPort.fixed_ips[0].ip_address}/24`) && t.dnsmasqPid(net.id) !== null;
        },
        60_000,
        500,
      ).catch(fail);
    }),
  );

  it(
    'plugs a VM on each host: ports bind to the hosts and go ACTIVE; each VM gets its address from dnsmasq',
    withLogs(async () => {
      const g = await t.api('POST', '/security-groups', { security_group: { name: 'mixed-sg' } });
      assert.equal(g.status, 201, JSON.stringify(g.body));
      sg = g.body.security_group;
      const r = await t.api('POST', '/security-group-rules', {
        security_group_rule: { security_group_id: sg.id, direction: 'ingress', ethertype: 'IPv4', protocol: 'icmp', remote_ip_prefix: '0.0.0.0/0' },
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      icmpRule = r.body.security_group_rule;
      for (const i of [0, 1] as const) {
        const p = await t.api('POST', '/ports', {
          port: { network_id: net.id, name: `vm${i + 1}`, device_owner: 'compute:nova', device_id: `vm-${t.s}-${i + 1}`, security_groups: [sg.id] },
        });
        assert.equal(p.status, 201, JSON.stringify(p.body));
        ports.push(p.body.port);
        const plugged = await t.plug(p.body.port.id, net.id, vm(i), i);
        assert.equal(plugged.mtu, 1450);
      }
      for (const [i, p] of ports.entries()) {
        const port = await waitThroughErrors(
          `port of vm${i + 1} ACTIVE`,
          async () => {
            const r = (await t.api('GET', `/ports/${p.id}`)).body.port;
            return r.status === 'ACTIVE' ? r : null;
          },
          120_000,
          500,
        ).catch(fail);
        assert.equal(port['binding:host_id'], t.host[i]);
        assert.equal(port['binding:vif_type'], 'bridge');
      }
      for (const [i, p] of ports.entries()) {
        const ip = p.fixed_ips[0].ip_address;
        const lease = await timed(`vm${i + 1} (host ${'AB'[i]}) DHCP lease`, () =>
          waitThroughErrors(`DHCP lease of vm${i + 1}`, () => udhcpcLease(vm(i), 'eth0', { tries: 5 }), 90_000, 500),
        ).catch(fail);
        assert.equal(lease.ip, ip, `vm${i + 1} leased its port's address`);
        assert.equal(lease.router, '10.93.0.1');
        await runInNetns(vm(i), { argv: ['ip', 'addr', 'add', `${ip}/24`, 'dev', 'eth0'], write: true });
      }
    }),
  );

  it(
    'the VMs ping each other across the hosts (VXLAN, forwarding entries from l2population)',
    withLogs(async () => {
      const [a, b] = ports.map((p) => p.fixed_ips[0].ip_address);
      await timed('first ping across the hosts answered', () =>
        waitThroughErrors('vm1 → vm2', async () => (await ping(vm(0), b, 2)) || null, 60_000, 200),
      ).catch(fail);
      assert.equal(await ping(vm(1), a, 3), true, 'vm2 → vm1');
    }),
  );

  it(
    "security group rules take effect in Neutron's iptables firewall: deleting the ICMP rule blocks the ping, adding it back allows it",
    withLogs(async () => {
      const [, b] = ports.map((p) => p.fixed_ips[0].ip_address);
      // The rule is in host B's iptables, in the chain of vm2's tap.
      const chain = `neutron-linuxbri-i${ports[1].id.slice(0, 10)}`;
      const rules = await t.iptables(1);
      assert.match(rules, new RegExp(`-A ${chain} -p icmp -j RETURN`), rules);
      const del = await t.api('DELETE', `/security-group-rules/${icmpRule.id}`);
      assert.equal(del.status, 204);
      await timed("ICMP rule deleted → gone from host B's iptables", () =>
        waitThroughErrors(
          'the ICMP rule gone from host B',
          async () => !new RegExp(`-A ${chain} -p icmp -j RETURN`).test(await t.iptables(1)),
          60_000,
          500,
        ),
      ).catch(fail);
      assert.equal(await ping(vm(0), b, 3), false, 'no ICMP allowed in: vm2 does not answer');
      const add = await t.api('POST', '/security-group-rules', {
        security_group_rule: { security_group_id: sg.id, direction: 'ingress', ethertype: 'IPv4', protocol: 'icmp', remote_ip_prefix: '0.0.0.0/0' },
      });
      assert.equal(add.status, 201, JSON.stringify(add.body));
      await timed('ICMP rule added → ping answered again', () =>
        waitThroughErrors('vm1 → vm2 allowed again', async () => (await ping(vm(0), b, 2)) || null, 60_000, 200),
      ).catch(fail);
    }),
  );

  it(
    "a router with a gateway and an interface on the VMs' network: hosted by Neutron's L3 agent, its ports ACTIVE",
    withLogs(async () => {
      await runInNetns(t.outsideNs, { argv: ['ip', 'addr', 'add', `${OUTSIDE_IP}/24`, 'dev', 'eth0'], write: true });
      const network = { name: 'mixed-ext', 'router:external': true, 'provider:network_type': 'flat', 'provider:physical_network': 'extnet' };
      const ext = await t.api('POST', '/networks', { network });
      assert.equal(ext.status, 201, JSON.stringify(ext.body));
      const extSubnet = {
        network_id: ext.body.network.id,
        cidr: EXTERNAL_CIDR,
        ip_version: 4,
        gateway_ip: OUTSIDE_IP,
        enable_dhcp: false,
        allocation_pools: [{ start: '203.0.113.10', end: '203.0.113.100' }],
      };
      assert.equal((await t.api('POST', '/subnets', { subnet: extSubnet })).status, 201);
      const r = await t.api('POST', '/routers', { router: { name: 'mixed-r1', external_gateway_info: { network_id: ext.body.network.id } } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      router = r.body.router;
      t.routers.add(router.id);
      const itf = await t.api('PUT', `/routers/${router.id}/add_router_interface`, { subnet_id: net.subnets[0] ?? ports[0].fixed_ips[0].subnet_id });
      assert.equal(itf.status, 200, JSON.stringify(itf.body));
      const rps = await timed('router created → gateway and interface ports ACTIVE', () =>
        routerPortsActive((m, path) => t.api(m, path), router.id, 2, 120_000, 500),
      ).catch(fail);
      for (const p of rps) assert.equal(p['binding:host_id'], t.host[0], `${p.device_owner} bound to host A`);
      const hosting = (await t.api('GET', `/routers/${router.id}/l3-agents`)).body.agents;
      assert.deepEqual(
        hosting.map((a: any) => a.host),
        [t.host[0]],
      );
      router = (await t.api('GET', `/routers/${router.id}`)).body.router;
      assert.equal(router.status, 'ACTIVE');
    }),
  );

  it(
    "vm2 (host B) reaches the outside host with the router's gateway address as source (SNAT)",
    withLogs(async () => {
      servers.push(whoAmIServer(t.outsideNs), whoAmIServer(vm(1)));
      await runInNetns(vm(1), { argv: ['ip', 'route', 'add', 'default', 'via', '10.93.0.1'], write: true });
      const gwIp = router.external_gateway_info.external_fixed_ips[0].ip_address;
      const seen = await timed('vm2 → outside, first answer', () =>
        waitThroughErrors('vm2 → outside', () => seenAs(vm(1), OUTSIDE_IP), 60_000, 200),
      ).catch(fail);
      assert.equal(seen, gwIp);
    }),
  );

  it(
    'the outside host reaches vm2 on a floating IP, which goes ACTIVE',
    withLogs(async () => {
      const rule = {
        security_group_id: sg.id,
        direction: 'ingress',
        ethertype: 'IPv4',
        protocol: 'tcp',
        port_range_min: WHO_PORT,
        port_range_max: WHO_PORT,
      };
      const rr = await t.api('POST', '/security-group-rules', { security_group_rule: rule });
      assert.equal(rr.status, 201, JSON.stringify(rr.body));
      const f = await t.api('POST', '/floatingips', {
        floatingip: { floating_network_id: router.external_gateway_info.network_id, floating_ip_address: FIP, port_id: ports[1].id },
      });
      assert.equal(f.status, 201, JSON.stringify(f.body));
      const seen = await timed('floating IP created → first TCP answer from the outside', () =>
        waitThroughErrors('outside → floating IP', () => seenAs(t.outsideNs, FIP), 60_000, 100),
      ).catch(fail);
      assert.equal(seen, OUTSIDE_IP, 'vm2 sees the outside host itself (no SNAT inwards)');
      assert.equal(await seenAs(vm(1), OUTSIDE_IP), FIP, "vm2's own connections now leave with the floating IP");
      await waitThroughErrors(
        'floating IP ACTIVE',
        async () => (await t.api('GET', `/floatingips/${f.body.floatingip.id}`)).body.floatingip.status === 'ACTIVE',
        30_000,
        200,
      ).catch(fail);
    }),
  );

  it(
    "vm2 gets its metadata from 169.254.169.254 (Neutron's haproxy in qrouter- → Neutron's metadata agent → Nova)",
    withLogs(async () => {
      const r = await timed('first metadata answer', () => metadataAnswer(vm(1), 60_000)).catch(fail);
      assert.equal(JSON.parse(r.body).uuid, `vm-${t.s}-2`);
      const h = t.nova.seen.at(-1)!;
      assert.equal(h['x-instance-id'], `vm-${t.s}-2`);
      assert.equal(h['x-tenant-id'], ports[1].project_id);
      // Neutron's haproxy listens on a dual-stack socket: it forwards an IPv4 client IPv4-mapped.
      assert.equal(String(h['x-forwarded-for']).replace(/^::ffff:/, ''), ports[1].fixed_ips[0].ip_address);
    }),
  );

  it("the server answered every RPC message of Neutron's agents (no handler failure in its log)", () => {
    const failures = t
      .serverLog()
      .split('\n')
      .filter((l) => /RPC (cast )?handler failed/.test(l));
    assert.deepEqual(failures, []);
  });
});

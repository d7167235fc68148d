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
// The agents' logs are printed when an assertion fails.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runInNetns } from '../../src/dataplane/index.js';
import { ping, rootGate, udhcpcLease } from '../dataplane/root-helpers.js';
import { skipUnlessRabbit } from '../rpc/rabbit.js';
import { waitThroughErrors } from '../helpers/wait.js';
import { NeutronAgentHosts } from './mixed/neutron-agents-hosts.js';

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
  'privsep-helper',
  'rabbitmqctl',
]);
const rabbitSkip = gate.skip ? false : await skipUnlessRabbit();

describe("e2e (root): Debian's neutron-linuxbridge-agent and neutron-dhcp-agent driven by a neutrino server", {
  skip: gate.skip || rabbitSkip,
}, () => {
  let t: NeutronAgentHosts;
  let net: any;
  let sg: any;
  let icmpRule: any;
  const ports: any[] = [];
  const vm = (i: number) => `mxa${t.s}v${i + 1}`;
  const fail = (e: unknown): never => {
    throw new Error(`${(e as Error).message}\n${t.dump()}`);
  };

  before(async () => {
    gate.check();
    t = new NeutronAgentHosts();
    await t.start();
  });
  after(async () => {
    await t?.stop();
  });

  it("registers Neutron's agents as Neutron's server would (report_state)", async () => {
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
  });

  it('serves the network with Neutron’s dnsmasq and wires its DHCP port', async () => {
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
    const dhcpPort = await waitThroughErrors(
      'the DHCP port ACTIVE',
      async () => {
        const r = (await t.api('GET', `/ports?network_id=${net.id}&device_owner=network:dhcp`)).body.ports;
        return r.length === 1 && r[0].status === 'ACTIVE' ? r[0] : null;
      },
      180_000,
      500,
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
  });

  it('plugs a VM on each host: ports bind to the hosts and go ACTIVE; each VM gets its address from dnsmasq', async () => {
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
      const lease = await waitThroughErrors(`DHCP lease of vm${i + 1}`, () => udhcpcLease(vm(i), 'eth0', { tries: 5 }), 90_000, 500).catch(fail);
      assert.equal(lease.ip, ip, `vm${i + 1} leased its port's address`);
      assert.equal(lease.router, '10.93.0.1');
      await runInNetns(vm(i), { argv: ['ip', 'addr', 'add', `${ip}/24`, 'dev', 'eth0'], write: true });
    }
  });

  it('the VMs ping each other across the hosts (VXLAN, forwarding entries from l2population)', async () => {
    const [a, b] = ports.map((p) => p.fixed_ips[0].ip_address);
    await waitThroughErrors('vm1 → vm2', async () => (await ping(vm(0), b, 2)) || null, 60_000, 200).catch(fail);
    assert.equal(await ping(vm(1), a, 3), true, 'vm2 → vm1');
  });

  it("security group rules take effect in Neutron's iptables firewall: deleting the ICMP rule blocks the ping, adding it back allows it", async () => {
    const [, b] = ports.map((p) => p.fixed_ips[0].ip_address);
    // The rule is in host B's iptables, in the chain of vm2's tap.
    const chain = `neutron-linuxbri-i${ports[1].id.slice(0, 10)}`;
    const rules = await t.iptables(1);
    assert.match(rules, new RegExp(`-A ${chain} -p icmp -j RETURN`), rules);
    const del = await t.api('DELETE', `/security-group-rules/${icmpRule.id}`);
    assert.equal(del.status, 204);
    await waitThroughErrors(
      'the ICMP rule gone from host B',
      async () => !new RegExp(`-A ${chain} -p icmp -j RETURN`).test(await t.iptables(1)),
      60_000,
      500,
    ).catch(fail);
    assert.equal(await ping(vm(0), b, 3), false, 'no ICMP allowed in: vm2 does not answer');
    const add = await t.api('POST', '/security-group-rules', {
      security_group_rule: { security_group_id: sg.id, direction: 'ingress', ethertype: 'IPv4', protocol: 'icmp', remote_ip_prefix: '0.0.0.0/0' },
    });
    assert.equal(add.status, 201, JSON.stringify(add.body));
    await waitThroughErrors('vm1 → vm2 allowed again', async () => (await ping(vm(0), b, 2)) || null, 60_000, 200).catch(fail);
  });
});

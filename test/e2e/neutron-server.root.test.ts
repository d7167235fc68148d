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
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { IpBatch, listFdb } from '../../src/dataplane/index.js';
import { ping, rootGate, udhcpcLease } from '../dataplane/root-helpers.js';
import { skipUnlessRabbit } from '../rpc/rabbit.js';
import { HAVE_NEUTRON } from '../helpers/neutron-server.js';
import { waitThroughErrors } from '../helpers/wait.js';
import { NeutronServerHosts, PROJECT } from './mixed/neutron-server-hosts.js';

const gate = rootGate('neutrino agents with neutron-server', ['ip', 'bridge', 'nsenter', 'busybox', 'dnsmasq', 'nft', 'rabbitmqctl']);
const neutronSkip = HAVE_NEUTRON ? false : 'neutron-server not installed (test/dataplane/install-deps.sh)';
if (neutronSkip && process.env.CI) throw new Error(`${neutronSkip}: required in CI`);
const skip = gate.skip || neutronSkip || (await skipUnlessRabbit());

describe("e2e (root): neutrino's agents driven by Neutron's neutron-server", { skip }, () => {
  let t: NeutronServerHosts;
  let net: any;
  const ports: any[] = [];
  const ips: string[] = [];
  let dhcpIp = '';
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

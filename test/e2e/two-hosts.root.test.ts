// End to end, as root, once per bus: 'memory' (API server and all agents in this one process on
// the in-memory bus, an all-in-one) and 'rabbit' (server and each agent its own process on
// RabbitMQ). See two-hosts.ts for the setup: two host namespaces joined by an underlay veth, a
// Linux-bridge agent on each (its nftables security group firewall on, the VMs in the project's
// default group), the DHCP agent on host A.
//
// Through the API: a VXLAN network with a DHCP subnet (DNS servers, a host route) and four ports,
// plugged (as Nova would) into four VM namespaces, two per host; a fifth VM on another network
// with the same CIDR. Real packets show: every VM gets exactly its port's address by DHCP (busybox
// udhcpc) with router, DNS, classless static routes (121) and the MTU, also across VXLAN from the
// other host's dnsmasq; VMs ping within and across hosts; the other network's VM reaches none of
// them; restarting each agent (both L2 agents, the DHCP agent) writes nothing to the kernel and
// loses no ping sent every 50 ms; after the DHCP agent's restart dnsmasq has the same pid, keeps
// its leases, answers a renewal and a new lease; unplugging withdraws the VM's FDB entry. In the
// memory run also IPv6: DHCPv6-stateful gives a real client (ISC dhclient -6) its port's address,
// DHCPv6-stateless gives it options only, SLAAC gets no dhcp-range (RAs are the router's job).
// Times are printed (`# two-hosts e2e figures`), not asserted.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dnsmasqPaths, IpBatch, listFdb, listLinks, listNetns, runInNetns } from '../../src/dataplane/index.js';
import { bridgeOf, namespaceOf } from '../../src/agents/dhcp/render.js';
import { parseEnv, ping, rootGate, startPinger, udhcpcLease, type PingCount } from '../dataplane/root-helpers.js';
import { skipUnlessRabbit } from '../rpc/rabbit.js';
import { TwoHosts, type BusMode, type Restart } from './two-hosts.js';
import { sleep, waitThroughErrors } from '../helpers/wait.js';

const gate = rootGate('two-host end-to-end', ['ip', 'bridge', 'nsenter', 'busybox', 'dnsmasq', 'dhclient', 'rabbitmqctl']);
const rabbitSkip = gate.skip ? false : await skipUnlessRabbit();

// NEUTRINO_E2E_BUS=memory (or rabbit) runs one of the two.
const modes = (['memory', 'rabbit'] as BusMode[]).filter((m) => !process.env.NEUTRINO_E2E_BUS || process.env.NEUTRINO_E2E_BUS === m);

for (const mode of modes) {
  describe(`e2e (root, ${mode} bus): two hosts, VXLAN, DHCP, agent restarts`, { skip: gate.skip || (mode === 'rabbit' && rabbitSkip) }, () => {
    let t: TwoHosts;
    let net1: any;
    let net2: any;
    const ports: any[] = [];
    const ips: string[] = [];
    const vm = (i: number) => `nt${t.s}vm${i + 1}`;
    /** Host of VM i: vm1, vm2 on A; vm3, vm4, vm5 on B. */
    const hostOf = (i: number): 0 | 1 => (i < 2 ? 0 : 1);
    const portStatus = async (id: string) => (await t.api('GET', `/ports/${id}`)).body.port.status as string;
    const fail = (e: unknown): never => {
      throw new Error(`${(e as Error).message}\n${t.dump()}`);
    };

    /** Pingers at 50 ms running across `during`, stopped half a second after it. */
    async function pingThrough<T>(pairs: Array<[number, number]>, during: () => Promise<T>): Promise<{ result: T; counts: PingCount[] }> {
      const pingers = pairs.map(([a, b]) => startPinger(vm(a), ips[b]!, 50));
      await sleep(500);
      const result = await during();
      await sleep(700);
      const counts = await Promise.all(pingers.map((p) => p.stop()));
      return { result, counts };
    }
    const describeCounts = (pairs: Array<[number, number]>, counts: PingCount[]) =>
      pairs.map(([a, b], k) => `vm${a + 1}→vm${b + 1} lost ${counts[k]!.lost}/${counts[k]!.received + counts[k]!.lost}`).join(', ');

    before(async () => {
      gate.check();
      t = new TwoHosts(mode);
      await t.start();
    });
    after(async () => {
      await t?.stop();
    });

    it('creates through the API a VXLAN network with a DHCP subnet, four ports, and a fifth port on another network (same CIDR)', async () => {
      const n1 = await t.api('POST', '/networks', { network: { name: 'e2e-net1' } });
      assert.equal(n1.status, 201, JSON.stringify(n1.body));
      net1 = n1.body.network;
      assert.equal(net1['provider:network_type'], 'vxlan');
      assert.equal(net1.mtu, 1450);
      const s1 = await t.api('POST', '/subnets', {
        subnet: {
          network_id: net1.id,
          cidr: '10.77.0.0/24',
          ip_version: 4,
          dns_nameservers: ['10.77.0.53', '10.77.0.54'],
          host_routes: [{ destination: '192.168.77.0/24', nexthop: '10.77.0.254' }],
          allocation_pools: [{ start: '10.77.0.2', end: '10.77.0.100' }],
        },
      });
      assert.equal(s1.status, 201, JSON.stringify(s1.body));
      // The DHCP agent (registered as Neutron's) starts dnsmasq for the subnet before any VM port exists.
      const agents = (await t.api('GET', `/agents?host=${t.host[0]}&agent_type=DHCP+agent`)).body.agents;
      assert.equal(agents.length, 1);
      assert.deepEqual([agents[0].binary, agents[0].topic, agents[0].alive], ['neutron-dhcp-agent', 'dhcp_agent', true]);
      const pid0 = await waitThroughErrors('dnsmasq for net1', () => t.dnsmasqPid(net1.id), 15_000).catch(fail);
      net2 = (await t.api('POST', '/networks', { network: { name: 'e2e-net2' } })).body.network;
      const s2 = await t.api('POST', '/subnets', {
        subnet: { network_id: net2.id, cidr: '10.77.0.0/24', ip_version: 4, allocation_pools: [{ start: '10.77.0.200', end: '10.77.0.220' }] },
      });
      assert.equal(s2.status, 201, JSON.stringify(s2.body));
      for (let i = 0; i < 5; i++) {
        const p = await t.api('POST', '/ports', {
          port: { network_id: i < 4 ? net1.id : net2.id, name: `vm${i + 1}`, device_owner: 'compute:nova', device_id: `vm-${t.s}-${i + 1}` },
        });
        assert.equal(p.status, 201, JSON.stringify(p.body));
        assert.equal(p.body.port.status, 'DOWN');
        ports.push(p.body.port);
        ips.push(p.body.port.fixed_ips[0].ip_address);
      }
      // New ports are lines in dnsmasq's hosts file and a SIGHUP, not a restart.
      const hosts = dnsmasqPaths(t.dhcpDir, net1.id).hosts;
      await waitThroughErrors(
        'hosts file has the four ports',
        async () => {
          const text = await readFile(hosts, 'utf8');
          return ports
            .slice(0, 4)
            .every((p) =>
              text.includes(`${p.mac_address},host-${p.fixed_ips[0].ip_address.replace(/\./g, '-')}.openstacklocal,${p.fixed_ips[0].ip_address}\n`),
            );
        },
        15_000,
      ).catch(fail);
      assert.equal(await t.dnsmasqPid(net1.id), pid0, 'same dnsmasq (SIGHUP)');
      // The DHCP agent on host A made a DHCP port on each network, bound there and wired by host A's L2 agent.
      for (const n of [net1, net2]) {
        const dhcp = await waitThroughErrors(
          `DHCP port of ${n.name} ACTIVE`,
          async () => {
            const r = (await t.api('GET', `/ports?network_id=${n.id}&device_owner=network:dhcp`)).body.ports;
            return r.length === 1 && r[0].status === 'ACTIVE' ? r[0] : null;
          },
          15_000,
        ).catch(fail);
        assert.equal(dhcp['binding:host_id'], t.host[0]);
        assert.match(dhcp.device_id, new RegExp(`^dhcp[0-9a-f-]{36}-${n.id}$`));
        await waitThroughErrors(`dnsmasq for ${n.name}`, () => t.dnsmasqPid(n.id), 15_000).catch(fail);
        const nsIf = (await listLinks({ netns: namespaceOf(n.id) })).find((l) => l.name === `ns-${dhcp.id.slice(0, 11)}`);
        assert.ok(nsIf, "the DHCP port's interface in qdhcp-<network>");
        assert.equal(nsIf.address, dhcp.mac_address);
        assert.deepEqual(nsIf.addresses, [`${dhcp.fixed_ips[0].ip_address}/24`]);
        assert.equal(nsIf.mtu, 1450);
      }
    });

    it('plugs the VMs (two per host): ports bind and go ACTIVE; each VM gets its address, router, DNS, host routes and MTU by DHCP', async () => {
      const plugged: number[] = [];
      const watching: Array<Promise<number>> = [];
      for (let i = 0; i < 5; i++) {
        const r = await t.plug(ports[i].id, vm(i), hostOf(i));
        assert.equal(r.tap, `tap${ports[i].id.slice(0, 11)}`);
        plugged.push(r.plugged_at);
        watching.push(
          waitThroughErrors(`port ${i + 1} ACTIVE`, async () => ((await portStatus(ports[i].id)) === 'ACTIVE' ? Date.now() : null), 15_000, 10),
        );
      }
      const active = await Promise.all(watching).catch(fail);
      for (let i = 0; i < 5; i++) {
        const shown = (await t.api('GET', `/ports/${ports[i].id}`)).body.port;
        assert.equal(shown['binding:host_id'], t.host[hostOf(i)]);
        assert.equal(shown['binding:vif_type'], 'bridge');
      }
      // Five DHCP clients at once; vm3..vm5 are answered by host A's dnsmasq across VXLAN.
      const leases = await Promise.all(
        ports.map(async (_p, i) => {
          const t0 = Date.now();
          const env = await udhcpcLease(vm(i)).catch(fail);
          return { env, ms: Date.now() - t0, done: Date.now() };
        }),
      );
      for (let i = 0; i < 5; i++) {
        const { env, ms, done } = leases[i]!;
        t.figures.push(
          `vm${i + 1} (${t.host[hostOf(i)]}): plug → ACTIVE ${active[i]! - plugged[i]!} ms, DHCP lease in ${ms} ms, plug → lease ${done - plugged[i]!} ms`,
        );
        assert.equal(env.ip, ips[i], `vm${i + 1} gets its port's address`);
        assert.equal(env.subnet, '255.255.255.0');
        assert.equal(env.router, '10.77.0.1');
        assert.equal(env.mtu, '1450', 'the network MTU (26)');
        if (i < 4) {
          assert.equal(env.dns, '10.77.0.53 10.77.0.54');
          assert.equal(env.staticroutes, '192.168.77.0/24 10.77.0.254 0.0.0.0/0 10.77.0.1', 'host routes and the default route (121)');
        } else {
          assert.equal(env.staticroutes, undefined, 'no host routes on net2');
        }
        // The VM configures what it was given.
        await new IpBatch().addAddr('eth0', `${env.ip}/24`).apply({ netns: vm(i) });
      }
    });

    it('VMs ping each other within a host and across hosts over VXLAN', async () => {
      const pairs = [
        [0, 1],
        [2, 3],
        [0, 2],
        [0, 3],
        [1, 2],
        [1, 3],
        [3, 0],
        [2, 1],
      ] as const;
      const ok = await Promise.all(pairs.map(([a, b]) => ping(vm(a), ips[b]!, 2)));
      pairs.forEach(([a, b], k) => assert.ok(ok[k], `vm${a + 1} → vm${b + 1} (${ips[b]})`));
    });

    it('the kernel is wired as Neutron would: brq bridge, vxlan device, DHCP tap, l2pop FDB entries', async () => {
      const vni = net1['provider:segmentation_id'];
      const links = await listLinks({ netns: t.ns[0] });
      const br = links.find((l) => l.name === bridgeOf(net1.id));
      assert.ok(br && br.kind === 'bridge');
      const vx = links.find((l) => l.name === `vxlan-${vni}`);
      assert.ok(vx && vx.vxlan, 'vxlan device');
      assert.equal(vx.master, br.name);
      assert.equal(vx.vxlan.local, t.underlay[0]);
      assert.equal(vx.vxlan.learning, false);
      assert.equal(vx.vxlan.dstport, 4789);
      assert.equal(links.find((l) => l.name === `tap${ports[0].id.slice(0, 11)}`)?.master, br.name);
      const dhcpPort = (await t.api('GET', `/ports?network_id=${net1.id}&device_owner=network:dhcp`)).body.ports[0];
      assert.equal(links.find((l) => l.name === `tap${dhcpPort.id.slice(0, 11)}`)?.master, br.name, "the DHCP port is in host A's bridge");
      const fdb = (await listFdb(`vxlan-${vni}`, { netns: t.ns[0] })).filter((r) => r.table === 'self' && r.dst);
      assert.ok(
        fdb.some((r) => r.mac === '00:00:00:00:00:00' && r.dst === t.underlay[1]),
        'flood entry to host B',
      );
      for (const i of [2, 3])
        assert.ok(
          fdb.some((r) => r.mac === ports[i].mac_address && r.dst === t.underlay[1]),
          `vm${i + 1} MAC pinned to host B`,
        );
      const fdbB = (await listFdb(`vxlan-${vni}`, { netns: t.ns[1] })).filter((r) => r.table === 'self' && r.dst);
      assert.ok(
        fdbB.some((r) => r.mac === dhcpPort.mac_address && r.dst === t.underlay[0]),
        "the DHCP port's MAC pinned to host A",
      );
      // Nothing of ours in the root namespace.
      assert.ok(!(await listLinks()).some((l) => l.name === bridgeOf(net1.id) || l.name === `vxlan-${vni}`));
    });

    it('a VM on another network (same CIDR) cannot reach them', async () => {
      const tries = await Promise.all([...[0, 2, 3].map((i) => ping(vm(4), ips[i]!, 2)), ping(vm(2), ips[4]!, 2)]);
      assert.deepEqual(tries, [false, false, false, false], 'vm5 → vm1, vm3, vm4 and vm3 → vm5 must all fail');
      assert.ok(
        await ping(vm(4), (await t.api('GET', `/ports?network_id=${net2.id}&device_owner=network:dhcp`)).body.ports[0].fixed_ips[0].ip_address, 2),
        'vm5 reaches its own network',
      );
    });

    for (const h of [0, 1] as const) {
      it(`restarting host ${'AB'[h]}'s L2 agent writes nothing to the kernel and loses no ping (50 ms)`, async () => {
        // Within the host and to the other host, from a VM on the restarted host.
        const pairs: Array<[number, number]> =
          h === 0
            ? [
                [0, 1],
                [0, 2],
              ]
            : [
                [2, 3],
                [2, 0],
              ];
        const { result: r, counts } = await pingThrough<Restart>(pairs, () => t.restartL2(h).catch(fail));
        t.figures.push(
          `L2 agent restart on ${t.host[h]}: stop → first full pass ${r.ms} ms (pass ${r.detail.firstPassMs} ms), kernel ${JSON.stringify(r.kernel)} (FDB entries repaired: ${r.detail.fdbRepairs}), ${describeCounts(pairs, counts)}`,
        );
        // The restarted agent rewrites no link, bridge, firewall rule or forwarding entry: the
        // running agent's l2population view matched the server's (a fanout heard while its
        // get_fdb_entries call was out used to be lost, leaving one entry for the restart to repair).
        assert.equal(r.detail.fdbRepairs, 0, `no forwarding entry to repair: ${JSON.stringify(r)}`);
        assert.equal(r.kernel.writes, 0, `a restart must not write: ${JSON.stringify(r)}`);
        // Host A: vm1, vm2 and the two DHCP ports; host B: vm3, vm4, vm5.
        assert.equal(r.detail.devices, h === 0 ? 4 : 3);
        for (const c of counts) {
          assert.ok(c.received >= 15, `pinged across the restart: ${c.output}`);
          assert.equal(c.lost, 0, `missing replies ${c.missing.join(',')}\n${c.output}`);
        }
      });
    }

    it('restarting the DHCP agent: dnsmasq adopted (same pid, no write), no ping lost, leases kept, a renewal and a new lease answered', async () => {
      const leasesFile = dnsmasqPaths(t.dhcpDir, net1.id).leases;
      const macs = ports.slice(0, 4).map((p) => p.mac_address);
      const before = await readFile(leasesFile, 'utf8');
      for (const m of macs) assert.match(before, new RegExp(m), 'lease file has every VM');
      const pids = [await t.dnsmasqPid(net1.id), await t.dnsmasqPid(net2.id)];
      // A network this host once served but no longer does (Neutron's existing_dhcp_networks): torn down by the restart.
      const stale = join(t.dhcpDir, randomUUID());
      await mkdir(stale);
      // A DHCP client that stays (bound), in vm2, to renew after the restart.
      const dir = await mkdtemp(join(tmpdir(), 'neutrino-udhcpc-'));
      const events = join(dir, 'events');
      await writeFile(join(dir, 's.sh'), `#!/bin/sh\necho "$1 $ip" >> ${events}\nexit 0\n`, { mode: 0o755 });
      const client = spawn(
        'nsenter',
        [`--net=/run/netns/${vm(1)}`, '--', 'busybox', 'udhcpc', '-i', 'eth0', '-f', '-t', '6', '-T', '1', '-s', join(dir, 's.sh')],
        { stdio: 'ignore' },
      );
      try {
        await waitThroughErrors('vm2 bound', async () => (await readFile(events, 'utf8').catch(() => '')).includes(`bound ${ips[1]}`), 15_000);
        const pairs: Array<[number, number]> = [
          [0, 2],
          [3, 1],
        ];
        const { result: r, counts } = await pingThrough<Restart>(pairs, () => t.restartDhcp().catch(fail));
        // Right after the restart: the bound client renews (unicast REQUEST), and a new client in vm4 (host B) gets its lease.
        const t0 = Date.now();
        client.kill('SIGUSR1');
        await waitThroughErrors('vm2 renewed', async () => (await readFile(events, 'utf8').catch(() => '')).includes(`renew ${ips[1]}`), 10_000);
        const renewMs = Date.now() - t0;
        const t1 = Date.now();
        const fresh = await udhcpcLease(vm(3)).catch(fail);
        const leaseMs = Date.now() - t1;
        t.figures.push(
          `DHCP agent restart: stop → full sync done ${r.ms} ms (sync ${r.detail.syncMs} ms), kernel/file writes ${r.kernel.writes}, dnsmasq ${JSON.stringify(pids)} kept, ${describeCounts(pairs, counts)}; then renewal answered in ${renewMs} ms, new lease in ${leaseMs} ms`,
        );
        assert.deepEqual([await t.dnsmasqPid(net1.id), await t.dnsmasqPid(net2.id)], pids, 'dnsmasq was not restarted');
        assert.equal(r.kernel.writes, 0, `a restart must not write: ${JSON.stringify(r)}`);
        assert.deepEqual({ none: r.detail.none }, { none: 2 }, `both networks' passes did nothing: ${JSON.stringify(r.detail)}`);
        for (const c of counts) {
          assert.ok(c.received >= 15, `pinged across the restart: ${c.output}`);
          assert.equal(c.lost, 0, `missing replies ${c.missing.join(',')}\n${c.output}`);
        }
        assert.equal(fresh.ip, ips[3]);
        assert.ok(!existsSync(stale), 'stale network state removed');
        const afterText = await readFile(leasesFile, 'utf8');
        for (const m of macs) assert.match(afterText, new RegExp(m), 'leases survive the restart');
      } finally {
        client.kill('SIGTERM');
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('extra_dhcp_opts reach the VM (a restart of dnsmasq: 2.90 crashes on SIGHUP with tagged hosts)', async () => {
      const pid0 = await t.dnsmasqPid(net1.id);
      const r = await t.api('PUT', `/ports/${ports[0].id}`, { port: { extra_dhcp_opts: [{ opt_name: 'ntp-server', opt_value: '10.77.0.123' }] } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      await waitThroughErrors(
        'dnsmasq restarted',
        async () => {
          const pid = await t.dnsmasqPid(net1.id);
          return pid && pid !== pid0;
        },
        15_000,
      ).catch(fail);
      const env = await udhcpcLease(vm(0), 'eth0', { options: ['ntpsrv', 'mtu'] }).catch(fail);
      assert.equal(env.ip, ips[0]);
      assert.equal(env.ntpsrv, '10.77.0.123');
      assert.equal(env.mtu, '1450');
    });

    it('unplugging a VM takes its port DOWN and withdraws its FDB entry from the other host', async () => {
      const vni = net1['provider:segmentation_id'];
      const t0 = Date.now();
      await t.unplug(ports[3].id, 1);
      await waitThroughErrors('port 4 DOWN', async () => (await portStatus(ports[3].id)) === 'DOWN', 10_000, 5).catch(fail);
      const down = Date.now() - t0;
      await waitThroughErrors(
        'vm4 MAC gone from host A',
        async () => {
          const fdb = await listFdb(`vxlan-${vni}`, { netns: t.ns[0] });
          return !fdb.some((r) => r.table === 'self' && r.mac === ports[3].mac_address);
        },
        10_000,
      ).catch(fail);
      t.figures.push(`unplug → DOWN ${down} ms; FDB withdrawn on the other host ${Date.now() - t0} ms`);
      assert.ok((await listFdb(`vxlan-${vni}`, { netns: t.ns[0] })).some((r) => r.mac === '00:00:00:00:00:00' && r.dst === t.underlay[1]));
      assert.ok(await ping(vm(0), ips[2]!, 2));
    });

    if (mode === 'memory') {
      it("IPv6: DHCPv6-stateful gives dhclient -6 its port's address; stateless gives options only; SLAAC gets no dhcp-range", async () => {
        const mk = async (name: string, subnets: Array<Record<string, unknown>>) => {
          const n = (await t.api('POST', '/networks', { network: { name } })).body.network;
          const out = [];
          for (const s of subnets) {
            const r = await t.api('POST', '/subnets', { subnet: { network_id: n.id, ip_version: 6, ...s } });
            assert.equal(r.status, 201, JSON.stringify(r.body));
            out.push(r.body.subnet);
          }
          return { n, subnets: out };
        };
        const stateful = await mk('e2e-v6-stateful', [
          { cidr: 'fd00:77::/64', ipv6_address_mode: 'dhcpv6-stateful', dns_nameservers: ['fd00:77::53'] },
        ]);
        const stateless = await mk('e2e-v6-stateless', [
          { cidr: 'fd00:78::/64', ipv6_address_mode: 'dhcpv6-stateless', ipv6_ra_mode: 'dhcpv6-stateless', dns_nameservers: ['fd00:78::53'] },
          { cidr: 'fd00:79::/64', ipv6_address_mode: 'slaac', ipv6_ra_mode: 'slaac' },
        ]);
        // dnsmasq as Neutron runs it: a static range per DHCPv6 subnet (stateful and stateless), none for SLAAC.
        for (const net of [stateful, stateless]) {
          await waitThroughErrors(`dnsmasq on ${net.n.name}`, () => t.dnsmasqPid(net.n.id), 15_000).catch(fail);
        }
        const argv = async (id: string) => (await readFile(`/proc/${await t.dnsmasqPid(id)}/cmdline`, 'utf8')).split('\0');
        assert.ok((await argv(stateful.n.id)).includes(`--dhcp-range=set:subnet-${stateful.subnets[0].id},fd00:77::,static,64,86400s`));
        const lessArgs = await argv(stateless.n.id);
        assert.ok(lessArgs.includes(`--dhcp-range=set:subnet-${stateless.subnets[0].id},fd00:78::,static,64,86400s`), lessArgs.join(' '));
        assert.ok(!lessArgs.some((a) => a.includes(stateless.subnets[1].id)), 'no range for the SLAAC subnet');
        assert.ok(!lessArgs.some((a) => a.includes('enable-ra')), "router advertisements are not dnsmasq's job here");

        const p6 = (await t.api('POST', '/ports', { port: { network_id: stateful.n.id, name: 'vm6' } })).body.port;
        const p7 = (await t.api('POST', '/ports', { port: { network_id: stateless.n.id, name: 'vm7' } })).body.port;
        // vm6 on host B (DHCPv6 across VXLAN), vm7 on host A.
        const vm6 = `nt${t.s}vm6`;
        const vm7 = `nt${t.s}vm7`;
        await t.plug(p6.id, vm6, 1);
        await t.plug(p7.id, vm7, 0);
        for (const p of [p6, p7]) await waitThroughErrors(`${p.name} ACTIVE`, async () => (await portStatus(p.id)) === 'ACTIVE', 15_000).catch(fail);
        const dir = await mkdtemp(join(tmpdir(), 'neutrino-dhclient-'));
        try {
          await writeFile(join(dir, 's.sh'), `#!/bin/sh\nenv > ${dir}/env-$reason\nexit 0\n`, { mode: 0o755 });
          const dhclient = async (ns: string, extra: string[]) => {
            // dhclient binds the link-local address, which must have finished DAD.
            await waitThroughErrors(
              `${ns} link-local ready`,
              async () => {
                const r = await runInNetns(ns, { argv: ['ip', '-6', 'addr', 'show', 'dev', 'eth0'] });
                return r.stdout.includes('fe80::') && !r.stdout.includes('tentative');
              },
              10_000,
              50,
            );
            const t0 = Date.now();
            await runInNetns(ns, {
              argv: [
                'dhclient',
                '-6',
                ...extra,
                '-1',
                '-lf',
                join(dir, `${ns}.leases`),
                '-pf',
                join(dir, `${ns}.pid`),
                '-sf',
                join(dir, 's.sh'),
                'eth0',
              ],
              timeoutMs: 40_000,
            });
            return Date.now() - t0;
          };
          const statefulMs = await dhclient(vm6, []);
          const bound = parseEnv(await readFile(join(dir, 'env-BOUND6'), 'utf8'));
          const want6 = p6.fixed_ips.find((f: any) => f.ip_address.includes(':')).ip_address;
          assert.equal(bound.new_ip6_address, want6, "the port's DHCPv6 address");
          assert.equal(bound.new_dhcp6_name_servers, 'fd00:77::53');
          const statelessMs = await dhclient(vm7, ['-S']);
          const info = parseEnv(await readFile(join(dir, 'env-RENEW6'), 'utf8').catch(async () => readFile(join(dir, 'env-INFORM6'), 'utf8')));
          assert.equal(info.new_dhcp6_name_servers, 'fd00:78::53');
          assert.equal(info.new_ip6_address, undefined, 'stateless: no address from DHCP');
          t.figures.push(`IPv6: DHCPv6-stateful address in ${statefulMs} ms (across VXLAN), stateless information-request in ${statelessMs} ms`);
        } finally {
          // dhclient -1 stays in the background once bound.
          for (const ns of [vm6, vm7]) {
            const pid = Number((await readFile(join(dir, `${ns}.pid`), 'utf8').catch(() => '')).trim());
            if (pid > 0)
              try {
                process.kill(pid, 'SIGTERM');
              } catch {
                /* gone */
              }
          }
          await rm(dir, { recursive: true, force: true });
        }
      });
    }

    it('deleting the networks removes dnsmasq, the qdhcp namespaces and the state directories', async () => {
      const nets = (await t.api('GET', '/networks')).body.networks.filter((n: any) => n.name.startsWith('e2e-'));
      const pids = await Promise.all(nets.map((n: any) => t.dnsmasqPid(n.id)));
      for (const n of nets) {
        for (const p of (await t.api('GET', `/ports?network_id=${n.id}`)).body.ports) {
          if (p.device_owner === 'network:dhcp') continue; // the agent releases it
          assert.equal((await t.api('DELETE', `/ports/${p.id}`)).status, 204);
        }
        const r = await t.api('DELETE', `/networks/${n.id}`);
        assert.equal(r.status, 204, JSON.stringify(r.body));
      }
      for (const n of nets) {
        await waitThroughErrors(
          `${n.name} torn down`,
          async () => !existsSync(join(t.dhcpDir, n.id)) && !(await listNetns()).some((x) => x.name === namespaceOf(n.id)),
          15_000,
        ).catch(fail);
      }
      for (const pid of pids)
        if (pid)
          assert.ok(
            !existsSync(`/proc/${pid}/cmdline`) || !(await readFile(`/proc/${pid}/cmdline`, 'utf8')).includes('dnsmasq'),
            `dnsmasq ${pid} stopped`,
          );
    });
  });
}

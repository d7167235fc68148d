// As root, end to end: security groups enforced by the Linux-bridge agents' nftables tables,
// shown with real packets. The API server and two L2 agents run in this process on the
// in-memory bus; each agent manages a "host" namespace (hosts A and B joined by an underlay
// veth, VXLAN with l2population between them), and VMs are namespaces plugged with
// `vif plug` (static addresses from their fixed IPs).
//
//   vm1 (host A): the "server", in group `server` (egress only, as every new group)
//   vm2 (host A), vm3 (host B): "clients", in group `client`
//
// Shown: nothing gets into a group without ingress rules, while replies to a VM's own traffic
// do (conntrack); ICMP and TCP pass as rules are added and stop as they are deleted, on the
// same host and across hosts; a remote-group rule follows membership (a port joins and leaves
// the group, and that is a set element change only); a spoofed source IP and a spoofed source
// MAC are dropped; an allowed address pair's IP passes; a port without port security is not
// filtered; connections live in the network's conntrack zone; restarting an agent writes nothing and loses no ping. Figures (time from the API
// to the kernel, rules and sets per port) are printed, not asserted.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { IpBatch, readNftTable, runInNetns, stats, type ActualTable } from '../../src/dataplane/index.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { MemoryBroker, MemoryBus, createBus, silentLogger, type RpcBus } from '../../src/rpc/index.js';
import { RABBIT_URL, skipUnlessRabbit } from '../rpc/rabbit.js';
import { LinuxBridgeAgent, type LinuxBridgeAgentOptions } from '../../src/agents/linuxbridge/agent.js';
import { FW_TABLE } from '../../src/agents/linuxbridge/firewall.js';
import { plug, unplug } from '../../src/cli/vif-plug.js';
import { BACKENDS } from '../helpers/backends.js';
import { ADMIN, startServer, type TestServer } from '../helpers/server.js';
import { Namespaces, rootGate, suffix } from '../dataplane/root-helpers.js';
import { sleep, waitFor } from '../helpers/wait.js';

const gate = rootGate('security groups end-to-end', ['ip', 'bridge', 'nft', 'nsenter', 'busybox', 'conntrack']);
const rabbitSkip = gate.skip ? 'not root' : await skipUnlessRabbit();
const run = promisify(execFile);

// The whole story on the in-memory bus; the main steps again on RabbitMQ (the same code, the
// RPC calls and fanouts through a broker).
for (const transport of ['memory', 'rabbit'] as const)
  describe(`security groups end-to-end (root, ${transport} bus): nftables in the L2 agents, real packets`, {
    skip: gate.skip || (transport === 'rabbit' && rabbitSkip),
  }, () => {
    const s = suffix();
    const vhost = `neutrino-sg-e2e-${s}`;
    /** Steps shown on the in-memory bus only (the rest run on both). */
    // Checks the bus makes no difference to run on the memory bus only (defined, not skipped, there);
    // the RabbitMQ pass repeats the main steps.
    const memoryOnly = (name: string, fn: () => Promise<void>) => {
      if (transport === 'memory') it(name, fn);
    };
    const nss = new Namespaces();
    const H = [`nt${s}sa`, `nt${s}sb`];
    const HOST = [`sg-e2e-${s}-a`, `sg-e2e-${s}-b`];
    const UNDER = ['172.31.251.1', '172.31.251.2'];
    const VM = [1, 2, 3, 4].map((i) => `nt${s}sv${i}`);
    let broker: MemoryBroker;
    let serverBus: RpcBus;
    const agentBuses: RpcBus[] = [];
    const agents: LinuxBridgeAgent[] = [];
    let srv: TestServer;
    let netId = '';
    const ports: any[] = [];
    const ips: string[] = [];
    const groups: Record<string, any> = {};
    const figures: string[] = [];
    const children: ChildProcess[] = [];

    const api = async (method: string, path: string, body?: unknown, expect = 200) => {
      const r = await srv.req(method, path, body, ADMIN);
      assert.equal(r.status, expect, `${method} ${path}: ${JSON.stringify(r.body)}`);
      return r.body;
    };
    const agentOpts = (i: number): LinuxBridgeAgentOptions => ({
      bus: agentBuses[i]!,
      host: HOST[i]!,
      netns: H[i]!,
      localIp: UNDER[i]!,
      enableVxlan: true,
      l2Population: true,
      arpResponder: false,
      interfaceMappings: {},
      bridgeMappings: {},
      reportInterval: 1,
      pollingInterval: 2,
      firewall: 'nftables',
      logger: silentLogger,
    });
    const ping = async (vm: number, ip: string, opts: { count?: number; from?: string } = {}) => {
      const count = opts.count ?? 2;
      const r = await runInNetns(VM[vm]!, {
        argv: ['busybox', 'ping', '-c', String(count), '-i', '0.2', '-W', '1', '-w', String(count + 1), ...(opts.from ? ['-I', opts.from] : []), ip],
        okCodes: [0, 1],
        timeoutMs: 20_000,
      });
      return r.code === 0;
    };
    /** One long ping (one ICMP id: one conntrack entry) while `during` runs; packets sent and answered. */
    const pingThrough = async (vm: number, ip: string, during: () => Promise<unknown>) => {
      const p = runInNetns(VM[vm]!, { argv: ['busybox', 'ping', '-c', '30', '-i', '0.1', '-W', '1', ip], okCodes: [0, 1], timeoutMs: 20_000 });
      await sleep(800);
      await during();
      const r = await p;
      const m = /(\d+) packets transmitted, (\d+) packets received/.exec(r.stdout);
      assert.ok(m, r.stdout);
      return { sent: Number(m[1]), answered: Number(m[2]) };
    };
    /** A TCP connection to the nc server in vm1 on `port`: true when it answered. */
    const connect = async (vm: number, port: number) => {
      const r = await runInNetns(VM[vm]!, { argv: ['busybox', 'nc', '-w', '1', ips[0]!, String(port)], okCodes: [0, 1], timeoutMs: 10_000 });
      return r.code === 0 && r.stdout.includes(`served ${port}`);
    };
    const rule = async (group: string, body: object) =>
      (
        await api(
          'POST',
          '/v2.0/security-group-rules',
          { security_group_rule: { security_group_id: groups[group].id, direction: 'ingress', ethertype: 'IPv4', ...body } },
          201,
        )
      ).security_group_rule;
    const tap = (i: number) => `tap${ports[i].id.slice(0, 11)}`;
    const inetTable = (host: number) => readNftTable('inet', FW_TABLE, { netns: H[host]! });
    /** Time until the kernel's chain for the port shows `n` rules (polling `nft -j list table`). */
    const untilRules = async (host: number, chain: string, n: number, t0: number) =>
      waitFor(
        `${chain} with ${n} rules on host ${host}`,
        async () => ((await inetTable(host))?.chains.get(chain)?.tags.length === n ? Date.now() - t0 : null),
        // The rule must arrive; how fast is a figure, not an assertion. A rule notification was
        // once seen to wait for a later pass (>10 s, once in ~10 runs): see the session note.
        30_000,
        10,
      );
    /**
     * Until the agents have handled what the server sent: no new firewall transaction across a
     * pause long enough for the bus to deliver (a fanout through RabbitMQ may land late).
     */
    const quiet = async () => {
      await srv.server.settled();
      const seen = () => agents.map((a) => a.firewall!.counts.transactions).join(',');
      for (let last = ''; ; ) {
        await sleep(transport === 'rabbit' ? 250 : 50);
        for (const a of agents) {
          a.schedule('quick');
          await a.idle();
        }
        const now = seen();
        if (now === last) return;
        last = now;
      }
    };

    before(async () => {
      gate.check();
      if (transport === 'memory') {
        broker = new MemoryBroker();
        serverBus = new MemoryBus({ broker, logger: silentLogger });
        for (let i = 0; i < 2; i++) agentBuses.push(new MemoryBus({ broker, logger: silentLogger }));
      } else {
        await run('rabbitmqctl', ['add_vhost', vhost]);
        await run('rabbitmqctl', ['set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*']);
        const url = `${RABBIT_URL.replace(/\/+$/, '')}/${vhost}`;
        serverBus = createBus(url, { logger: silentLogger });
        for (let i = 0; i < 2; i++) agentBuses.push(createBus(url, { logger: silentLogger }));
      }
      for (const n of [...H, ...VM]) await nss.add(n);
      await new IpBatch().addVeth('ul0', 'ul0', { peerNetns: H[1]! }).addAddr('ul0', `${UNDER[0]}/24`).setUp('ul0', true).apply({ netns: H[0]! });
      await new IpBatch().addAddr('ul0', `${UNDER[1]}/24`).setUp('ul0', true).apply({ netns: H[1]! });
      srv = await startServer(
        BACKENDS.find((b) => b.name === 'sqlite')!,
        { ml2: { mechanism_drivers: 'linuxbridge,l2population' } },
        { bus: serverBus },
      );
      for (let i = 0; i < 2; i++) {
        const a = new LinuxBridgeAgent(agentOpts(i));
        agents.push(a);
        await a.start();
      }
      await waitFor('both agents alive', async () => {
        const r = await api('GET', '/v2.0/agents?agent_type=Linux+bridge+agent');
        return HOST.every((h) => r.agents.some((a: any) => a.host === h && a.alive));
      });
    });

    after(async () => {
      if (figures.length) process.stdout.write(`\n# security groups e2e figures (${transport} bus)\n${figures.map((f) => `#   ${f}`).join('\n')}\n`);
      for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
      for (const a of agents) await a.stop().catch(() => {});
      await nss.deleteAll();
      await srv?.stop();
      for (const b of agentBuses) await b.close();
      await serverBus?.close();
      if (transport === 'rabbit') await run('rabbitmqctl', ['delete_vhost', vhost]).catch(() => {});
    });

    it('plugs a server and two clients in their groups; nothing gets in, replies to their own traffic do', async () => {
      netId = (await api('POST', '/v2.0/networks', { network: { name: `sg-e2e-${s}` } }, 201)).network.id;
      await api('POST', '/v2.0/subnets', { subnet: { network_id: netId, cidr: '10.66.0.0/24', ip_version: 4, enable_dhcp: false } }, 201);
      for (const g of ['server', 'client', 'friends'])
        groups[g] = (await api('POST', '/v2.0/security-groups', { security_group: { name: `${g}-${s}` } }, 201)).security_group;
      const layout = [
        ['server', 0],
        ['client', 0],
        ['client', 1],
      ] as const;
      for (const [i, [g, host]] of layout.entries()) {
        const p = (
          await api(
            'POST',
            '/v2.0/ports',
            { port: { network_id: netId, name: `vm${i + 1}`, device_owner: 'compute:nova', security_groups: [groups[g].id] } },
            201,
          )
        ).port;
        ports.push(p);
        ips.push(p.fixed_ips[0].ip_address);
        await plug({
          action: 'plug',
          portId: p.id,
          netns: VM[i],
          host: HOST[host]!,
          hostNetns: H[host],
          ifname: 'eth0',
          static: true,
          unbind: false,
          endpoint: srv.url,
        } as Parameters<typeof plug>[0]);
      }
      for (const p of ports) await waitFor(`${p.name} ACTIVE`, async () => (await api('GET', `/v2.0/ports/${p.id}`)).port.status === 'ACTIVE');
      await quiet();
      // A TCP server in vm1 on two ports.
      for (const port of [8080, 8081]) {
        const c = spawn(
          'nsenter',
          [`--net=/run/netns/${VM[0]}`, '--', 'busybox', 'nc', '-ll', '-p', String(port), '-e', '/bin/echo', `served ${port}`],
          { stdio: 'ignore' },
        );
        children.push(c);
      }
      assert.equal(await ping(1, ips[0]!), false, 'no ingress rule on vm1');
      assert.equal(await ping(0, ips[1]!), false, 'no ingress rule on vm2');
      assert.equal(await connect(1, 8080), false);
    });

    it('an ICMP rule lets pings in (same host and across hosts); replies need no rule; deleting it blocks them again', async () => {
      const t0 = Date.now();
      const r = await rule('server', { protocol: 'icmp' });
      const ms = await untilRules(0, `ingress-${tap(0)}`, (await inetTable(0))!.chains.get(`ingress-${tap(0)}`)!.tags.length + 1, t0);
      const fw0 = agents[0]!.firewall!;
      figures.push(
        `ICMP rule: API request → rule in host A's kernel ${ms} ms (the agent's pass: ${fw0.lastWriteMs} ms, ${JSON.stringify(fw0.lastWriteTimings)})`,
      );
      assert.ok(await waitFor('vm2 → vm1 ping', () => ping(1, ips[0]!, { count: 1 }), 5000, 0));
      assert.ok(await ping(2, ips[0]!), 'vm3 (host B, over VXLAN) → vm1');
      assert.equal(await ping(0, ips[1]!), false, "vm1 → vm2 still blocked: the rule is vm1's, replies are conntrack's");
      // Deleting the rule also ends the ping already going on (its conntrack entry is removed).
      const long = await pingThrough(1, ips[0]!, async () => {
        await api('DELETE', `/v2.0/security-group-rules/${r.id}`, undefined, 204);
        await quiet();
      });
      assert.ok(long.answered >= 3 && long.sent - long.answered >= 10, `the running ping stops: ${JSON.stringify(long)}`);
      assert.equal(await ping(1, ips[0]!), false);
      assert.equal(await ping(2, ips[0]!), false);
    });

    memoryOnly('a TCP rule opens exactly its port', async () => {
      const r = await rule('server', { protocol: 'tcp', port_range_min: 8080, port_range_max: 8080 });
      await quiet();
      assert.ok(await connect(1, 8080), 'vm2 → vm1:8080');
      assert.ok(await connect(2, 8080), 'vm3 → vm1:8080 across hosts');
      assert.equal(await connect(1, 8081), false, '8081 stays closed');
      assert.equal(await ping(1, ips[0]!, { count: 1 }), false, 'and ICMP too');
      await api('DELETE', `/v2.0/security-group-rules/${r.id}`, undefined, 204);
      await quiet();
      assert.equal(await connect(1, 8080), false);
      // By protocol number, with a port range.
      const n = await rule('server', { protocol: '6', port_range_min: 8081, port_range_max: 8090 });
      await quiet();
      assert.ok(await connect(1, 8081));
      assert.equal(await connect(1, 8080), false);
      await api('DELETE', `/v2.0/security-group-rules/${n.id}`, undefined, 204);
    });

    it('a remote-group rule follows membership: joining and leaving the group is a set element change', async () => {
      await rule('server', { protocol: 'icmp', remote_group_id: groups.friends.id });
      await quiet();
      assert.equal(await ping(1, ips[0]!), false, 'vm2 is not a friend yet');
      const before = { ...agents[0]!.firewall!.counts };
      const t0 = Date.now();
      await api('PUT', `/v2.0/ports/${ports[1].id}`, { port: { security_groups: [groups.client.id, groups.friends.id] } });
      const ms = await waitFor(
        'vm2 in the friends set',
        async () => {
          const t = await inetTable(0);
          return t?.sets.get(`sg4-${groups.friends.id}`)?.elements.includes(ips[1]!) ? Date.now() - t0 : null;
        },
        10_000,
        10,
      );
      const fw1 = agents[0]!.firewall!;
      figures.push(
        `port joins a remote group: API request → member in host A's set ${ms} ms (the agent's pass: ${fw1.lastWriteMs} ms, ${JSON.stringify(fw1.lastWriteTimings)})`,
      );
      assert.ok(await waitFor('vm2 → vm1 ping as a friend', () => ping(1, ips[0]!, { count: 1 }), 5000, 0));
      assert.equal(await ping(2, ips[0]!), false, 'vm3 is no friend');
      await quiet();
      const after1 = agents[0]!.firewall!.counts;
      assert.equal(after1.changes, before.changes, 'no chain was rewritten on host A');
      assert.equal(after1.replace, before.replace);
      assert.ok(after1.elements > before.elements);
      // vm3 (another host) joins through its port; then vm2 leaves.
      await api('PUT', `/v2.0/ports/${ports[2].id}`, { port: { security_groups: [groups.client.id, groups.friends.id] } });
      await quiet();
      assert.ok(await ping(2, ips[0]!), 'vm3 → vm1 as a friend, across hosts');
      // vm2 leaves the group while it pings: the running ping stops too.
      const long = await pingThrough(1, ips[0]!, async () => {
        await api('PUT', `/v2.0/ports/${ports[1].id}`, { port: { security_groups: [groups.client.id] } });
        await quiet();
      });
      assert.ok(long.answered >= 3 && long.sent - long.answered >= 10, `the running ping stops: ${JSON.stringify(long)}`);
      assert.equal(await ping(1, ips[0]!), false, 'vm2 left the group');
      assert.ok(await ping(2, ips[0]!));
    });

    memoryOnly('drops a spoofed source IP and a spoofed source MAC; an allowed address pair passes', async () => {
      await rule('server', { protocol: 'icmp' });
      await quiet();
      assert.ok(await ping(1, ips[0]!), 'vm2 → vm1 with its own address');
      await runInNetns(VM[1]!, { argv: ['ip', 'addr', 'add', '10.66.0.222/24', 'dev', 'eth0'], write: true });
      assert.equal(await ping(1, ips[0]!, { from: '10.66.0.222' }), false, "a source IP that is not vm2's");
      // The same address as an allowed address pair of vm2's port.
      await api('PUT', `/v2.0/ports/${ports[1].id}`, { port: { allowed_address_pairs: [{ ip_address: '10.66.0.222' }] } });
      await quiet();
      assert.ok(await ping(1, ips[0]!, { from: '10.66.0.222' }), 'an allowed address pair');
      // Another MAC on vm2's interface: its frames (ARP included) are dropped at the bridge.
      await runInNetns(VM[1]!, { argv: ['ip', 'link', 'set', 'eth0', 'address', 'fa:16:3e:66:66:66'], write: true });
      await runInNetns(VM[0]!, { argv: ['ip', 'neigh', 'flush', 'all'], write: true });
      assert.equal(await ping(1, ips[0]!), false, "a source MAC that is not the port's");
      await runInNetns(VM[1]!, { argv: ['ip', 'link', 'set', 'eth0', 'address', ports[1].mac_address], write: true });
      assert.ok(await waitFor('vm2 → vm1 with its own MAC again', () => ping(1, ips[0]!, { count: 1 }), 5000, 0));
    });

    memoryOnly('a port without port security is not filtered', async () => {
      await api('PUT', `/v2.0/ports/${ports[1].id}`, { port: { security_groups: [], allowed_address_pairs: [], port_security_enabled: false } });
      await quiet();
      assert.ok(!(await inetTable(0))!.chains.has(`ingress-${tap(1)}`));
      assert.ok(await ping(0, ips[1]!), "vm1 → vm2 now gets in (vm1's egress allows it)");
      assert.ok(await ping(1, ips[0]!, { from: '10.66.0.222' }), 'and vm2 may use any address');
    });

    memoryOnly('reports the kernel footprint of a port', async () => {
      const count = (t: ActualTable | null, dev: string) =>
        [...(t?.chains ?? new Map())].filter(([n]) => n.endsWith(`-${dev}`)).reduce((n, [, c]) => n + c.tags.length, 0);
      const bridge = await readNftTable('bridge', FW_TABLE, { netns: H[0]! });
      const inet = await inetTable(0);
      const d = tap(0);
      const elements = [...(bridge?.sets.values() ?? [])].reduce(
        (n, set) => n + set.elements.filter((e) => e.startsWith(`${d} `) || e === d).length,
        0,
      );
      const shared = bridge?.chains.get('from-port')?.tags.length ?? 0;
      figures.push(
        `vm1's port on host A: ${count(bridge, d)} bridge rule + ${count(inet, d)} inet rules in its 3 chains (+ ${shared} anti-spoofing rules shared by all ports), ` +
          `${elements} elements in the shared port sets, 2 map entries per table; remote group sets: ${[...(inet?.sets.keys() ?? [])].filter((n) => n.startsWith('sg')).length} for the host; ` +
          `kernel commands of this process so far ${JSON.stringify(stats())}`,
      );
      assert.equal(count(bridge, d), 1);
      assert.ok(elements >= 4, 'its tap, MAC, address and link-local address');
      // Connections are tracked in the network's own conntrack zone.
      const zone = inet?.maps
        ?.get('bridge-zones')
        ?.elements.find((e) => e.startsWith(`brq${netId.slice(0, 11)} : `))
        ?.split(' : ')[1];
      assert.ok(zone && Number(zone) > 0, "the network's bridge has a zone");
      assert.ok(await ping(1, ips[0]!, { count: 1 }));
      const ct = await runInNetns(H[0]!, { argv: ['conntrack', '-L', '-f', 'ipv4', '-p', '1', '-d', ips[0]!, '-w', zone!], okCodes: [0, 1] });
      assert.match(ct.stdout, new RegExp(`src=${ips[1]!.replace(/\./g, '\\.')} .*zone=${zone}`));
    });

    it('restarting an agent writes nothing to the kernel and loses no ping', async () => {
      // vm3 (host B) pings vm1 (host A) every 50 ms while host A's agent restarts.
      const pinger = runInNetns(VM[2]!, {
        argv: ['busybox', 'ping', '-c', '60', '-i', '0.05', '-W', '1', ips[0]!],
        okCodes: [0, 1],
        timeoutMs: 30_000,
      });
      await sleep(300);
      const w0 = stats().writes;
      await agents[0]!.stop();
      const t0 = Date.now();
      agents[0] = new LinuxBridgeAgent(agentOpts(0));
      await agents[0].start();
      await agents[0].ready;
      const ready = Date.now() - t0;
      const writes = stats().writes - w0;
      const r = await pinger;
      const m = /(\d+) packets transmitted, (\d+) packets received/.exec(r.stdout);
      assert.ok(m, r.stdout);
      figures.push(
        `agent restart on host A: first full pass ${ready} ms, ${writes} kernel writes, pings lost ${Number(m[1]) - Number(m[2])}/${m[1]}`,
      );
      assert.equal(writes, 0, 'a restart must not write');
      assert.equal(m[1], m[2], r.stdout);
      assert.equal(agents[0].firewall!.ports.size, 2);
    });

    memoryOnly("an unplugged port's chains and sets go; the others stay", async () => {
      await unplug({ action: 'unplug', portId: ports[2].id, hostNetns: H[1], unbind: false } as Parameters<typeof unplug>[0]);
      await waitFor('vm3 chains gone on host B', async () => !(await inetTable(1))?.chains.has(`ingress-${tap(2)}`), 10_000);
      const b = await readNftTable('bridge', FW_TABLE, { netns: H[1]! });
      assert.ok(![...(b?.sets.keys() ?? [])].some((n) => n.endsWith(tap(2))));
      assert.ok((await inetTable(0))?.chains.has(`ingress-${tap(0)}`));
    });
  });

// As root, end to end: a security group rule whose remote is an address group, enforced by the
// Linux-bridge agent's nftables sets, shown with real packets. The API server and one L2 agent
// run in this process on the in-memory bus; the agent manages a "host" namespace, and three VMs
// are namespaces plugged with `vif plug` (static addresses from their fixed IPs).
//
//   vm1: in group `server`, whose one ingress rule allows ICMP from address group `friends`
//   vm2: its address is in `friends` from the start; vm3: its address is not, until it is added
//
// Shown: vm2 (a member address) pings vm1 and vm3 (not a member) does not; add_addresses with
// vm3's address lets vm3 in (a set element change, pushed to the agent by the server's
// notification); remove_addresses shuts it out again. The time from the API call to the first
// answered ping is printed, not asserted.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { IpBatch, readNftTable, runInNetns } from '../../src/dataplane/index.js';
import { MemoryBroker, MemoryBus, silentLogger, type RpcBus } from '../../src/rpc/index.js';
import { LinuxBridgeAgent } from '../../src/agents/linuxbridge/agent.js';
import { FW_TABLE } from '../../src/agents/linuxbridge/firewall.js';
import { plug } from '../../src/cli/vif-plug.js';
import { BACKENDS } from '../helpers/backends.js';
import { ADMIN, startServer, type TestServer } from '../helpers/server.js';
import { Namespaces, rootGate, suffix } from '../dataplane/root-helpers.js';
import { waitFor } from '../helpers/wait.js';

const gate = rootGate('address groups end-to-end', ['ip', 'bridge', 'nft', 'nsenter', 'busybox']);

describe('address groups end-to-end (root): a remote address group as an nftables set, real packets', { skip: gate.skip }, () => {
  const s = suffix();
  const HOST_NS = `nt${s}ah`;
  const HOST = `ag-e2e-${s}`;
  const UNDER = '172.31.249.1';
  const VM = [1, 2, 3].map((i) => `nt${s}av${i}`);
  const nss = new Namespaces();
  let serverBus: RpcBus;
  let agentBus: RpcBus;
  let agent: LinuxBridgeAgent | undefined;
  let srv: TestServer;
  const ports: any[] = [];
  const ips: string[] = [];
  let friends: any;
  const figures: string[] = [];

  const api = async (method: string, path: string, body?: unknown, expect = 200) => {
    const r = await srv.req(method, path, body, ADMIN);
    assert.equal(r.status, expect, `${method} ${path}: ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const ping = async (vm: number, ip: string, count = 2) => {
    const r = await runInNetns(VM[vm]!, {
      argv: ['busybox', 'ping', '-c', String(count), '-i', '0.2', '-W', '1', '-w', String(count + 1), ip],
      okCodes: [0, 1],
      timeoutMs: 20_000,
    });
    return r.code === 0;
  };
  /** Until the agent has handled what the server sent: a pass with no new firewall transaction. */
  const quiet = async () => {
    await srv.server.settled();
    for (let last = -1; ; ) {
      await new Promise((r) => setTimeout(r, 100));
      agent!.schedule('quick');
      await agent!.idle();
      const now = agent!.firewall!.counts.transactions;
      if (now === last) return;
      last = now;
    }
  };

  before(async () => {
    gate.check();
    const broker = new MemoryBroker();
    serverBus = new MemoryBus({ broker, logger: silentLogger });
    agentBus = new MemoryBus({ broker, logger: silentLogger });
    for (const n of [HOST_NS, ...VM]) await nss.add(n);
    // The VXLAN underlay address of this single host (a veth: some kernels lack the dummy module).
    await runInNetns(HOST_NS, { argv: ['ip', 'link', 'add', 'ul0', 'type', 'veth', 'peer', 'name', 'ul0p'] });
    await new IpBatch().addAddr('ul0', `${UNDER}/24`).setUp('ul0', true).apply({ netns: HOST_NS });
    srv = await startServer(
      BACKENDS.find((b) => b.name === 'sqlite')!,
      { ml2: { mechanism_drivers: 'linuxbridge,l2population' } },
      { bus: serverBus },
    );
    agent = new LinuxBridgeAgent({
      bus: agentBus,
      host: HOST,
      netns: HOST_NS,
      localIp: UNDER,
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
    await agent.start();
    await waitFor('agent alive', async () =>
      (await api('GET', '/v2.0/agents?agent_type=Linux+bridge+agent')).agents.some((a: any) => a.host === HOST && a.alive),
    );
  });

  after(async () => {
    if (figures.length) process.stdout.write(`\n# address groups e2e figures\n${figures.map((f) => `#   ${f}`).join('\n')}\n`);
    await agent?.stop().catch(() => {});
    await nss.deleteAll();
    await srv?.stop();
    await agentBus?.close();
    await serverBus?.close();
  });

  it('admits a member address and not a non-member; adding the address admits it, removing it shuts it out', async () => {
    const netId = (await api('POST', '/v2.0/networks', { network: { name: `ag-e2e-${s}` } }, 201)).network.id;
    await api('POST', '/v2.0/subnets', { subnet: { network_id: netId, cidr: '10.67.0.0/24', ip_version: 4, enable_dhcp: false } }, 201);
    const server = (await api('POST', '/v2.0/security-groups', { security_group: { name: `server-${s}` } }, 201)).security_group;
    const client = (await api('POST', '/v2.0/security-groups', { security_group: { name: `client-${s}` } }, 201)).security_group;
    for (const [i, g] of [server, client, client].entries()) {
      const p = (
        await api(
          'POST',
          '/v2.0/ports',
          { port: { network_id: netId, name: `vm${i + 1}`, device_owner: 'compute:nova', security_groups: [g.id] } },
          201,
        )
      ).port;
      ports.push(p);
      ips.push(p.fixed_ips[0].ip_address);
      await plug({
        action: 'plug',
        portId: p.id,
        netns: VM[i],
        host: HOST,
        hostNetns: HOST_NS,
        ifname: 'eth0',
        static: true,
        unbind: false,
        endpoint: srv.url,
      } as Parameters<typeof plug>[0]);
    }
    for (const p of ports) await waitFor(`${p.name} ACTIVE`, async () => (await api('GET', `/v2.0/ports/${p.id}`)).port.status === 'ACTIVE');
    // vm2's address as a host address, plus a network nobody is in.
    friends = (
      await api('POST', '/v2.0/address-groups', { address_group: { name: `friends-${s}`, addresses: [`${ips[1]}/32`, '192.0.2.0/24'] } }, 201)
    ).address_group;
    await api(
      'POST',
      '/v2.0/security-group-rules',
      { security_group_rule: { security_group_id: server.id, direction: 'ingress', protocol: 'icmp', remote_address_group_id: friends.id } },
      201,
    );
    await quiet();
    const set = (await readNftTable('inet', FW_TABLE, { netns: HOST_NS }))?.sets.get(`sg4-${friends.id}`);
    assert.ok(set, `the set of address group ${friends.id} is in the kernel`);
    assert.ok(await waitFor('vm2 (a member) → vm1', () => ping(1, ips[0]!, 1), 10_000, 0));
    assert.equal(await ping(2, ips[0]!), false, 'vm3 (not a member) is refused');

    const t0 = Date.now();
    await api('PUT', `/v2.0/address-groups/${friends.id}/add_addresses`, { addresses: [ips[2]] }, 200);
    const inSet = await waitFor(
      "vm3's address in the kernel's set",
      async () =>
        ((await readNftTable('inet', FW_TABLE, { netns: HOST_NS }))?.sets.get(`sg4-${friends.id}`)?.elements ?? []).includes(ips[2]!)
          ? Date.now() - t0
          : null,
      15_000,
      10,
    );
    figures.push(`add_addresses → address in the host's nftables set: ${inSet} ms`);
    assert.ok(await waitFor('vm3 → vm1 once its address is in the group', () => ping(2, ips[0]!, 1), 15_000, 0));
    assert.ok(await ping(1, ips[0]!), 'vm2 still gets in');

    await api('PUT', `/v2.0/address-groups/${friends.id}/remove_addresses`, { addresses: [`${ips[2]}/32`] }, 200);
    await quiet();
    assert.ok(await waitFor('vm3 refused again', async () => !(await ping(2, ips[0]!, 1)), 15_000, 0), 'removing the address shuts vm3 out');
    assert.ok(await ping(1, ips[0]!), 'vm2 still gets in');
  });
});

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
import { readNftTable } from '../../src/dataplane/index.js';
import { FW_TABLE } from '../../src/agents/linuxbridge/firewall.js';
import { rootGate } from '../dataplane/root-helpers.js';
import { waitFor } from '../helpers/wait.js';
import { SingleHostL2 } from './single-host-l2.js';

const gate = rootGate('address groups end-to-end', ['ip', 'bridge', 'nft', 'nsenter', 'busybox']);

describe('address groups end-to-end (root): a remote address group as an nftables set, real packets', { skip: gate.skip }, () => {
  const h = new SingleHostL2({ tag: 'a', underlay: '172.31.249.1', vms: 3 });
  const { s } = h;
  const HOST_NS = h.hostNs;
  const ports: any[] = [];
  const ips: string[] = [];
  let friends: any;
  const figures: string[] = [];
  const api = (method: string, path: string, body?: unknown, expect = 200) => h.api(method, path, body, expect);
  const ping = (vm: number, ip: string, count = 2) => h.ping(vm, ip, count);
  const quiet = () => h.quiet();

  before(async () => {
    gate.check();
    await h.start();
  });

  after(async () => {
    if (figures.length) process.stdout.write(`\n# address groups e2e figures\n${figures.map((f) => `#   ${f}`).join('\n')}\n`);
    await h.stop();
  });

  it('admits a member address and not a non-member; adding the address admits it, removing it shuts it out', async () => {
    const netId = (await api('POST', '/v2.0/networks', { network: { name: `ag-e2e-${s}` } }, 201)).network.id;
    await api('POST', '/v2.0/subnets', { subnet: { network_id: netId, cidr: '10.67.0.0/24', ip_version: 4, enable_dhcp: false } }, 201);
    const server = (await api('POST', '/v2.0/security-groups', { security_group: { name: `server-${s}` } }, 201)).security_group;
    const client = (await api('POST', '/v2.0/security-groups', { security_group: { name: `client-${s}` } }, 201)).security_group;
    for (const p of await h.plugVms(netId, [server, client, client])) {
      ports.push(p);
      ips.push(p.fixed_ips[0].ip_address);
    }
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

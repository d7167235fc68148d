// The security group RPC for L2 agents (security_group_info_for_devices and
// security_group_rules_for_devices on 'q-plugin') and the fanouts on
// 'q-agent-notifier-security_group-update', on every backend, over the in-memory bus: what an
// agent gets for its taps (rules once per group, remote group members per ethertype with
// allowed address pairs, provider DHCP/RA rules, Neutron's own ports left out), and which
// writes notify which groups, after commit.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, startServer, type TestServer } from '../helpers/server.js';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { MemoryBroker, MemoryBus, silentLogger, type RpcBus } from '../../src/rpc/index.js';
import { sleep } from '../helpers/wait.js';

const tap = (id: string) => `tap${id.slice(0, 11)}`;

for (const backend of BACKENDS) {
  describe(`security group RPC for L2 agents on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let s: TestServer;
    let serverBus: RpcBus;
    let agentBus: RpcBus;
    const got: Array<{ method: string; groups: string[] }> = [];
    let netId: string;
    let web: any;
    let db: any;

    const api = async (method: string, path: string, body?: unknown, expect = 200) => {
      const r = await s.req(method, path, body, ADMIN);
      assert.equal(r.status, expect, `${method} ${path}: ${JSON.stringify(r.body)}`);
      return r.body;
    };
    const info = (devices: string[]) => agentBus.call<any>('q-plugin', 'security_group_info_for_devices', { devices });
    /** The fanouts sent since the last call, once the server has sent them. */
    const notes = async () => {
      await s.server.settled();
      await sleep(20);
      const out = got.splice(0);
      return out.map((g) => `${g.method === 'security_groups_rule_updated' ? 'rule' : 'member'} ${[...g.groups].sort().join(',')}`).sort();
    };
    const newPort = async (body: object) =>
      (await api('POST', '/v2.0/ports', { port: { network_id: netId, device_owner: 'compute:nova', ...body } }, 201)).port;

    before(async () => {
      const broker = new MemoryBroker();
      serverBus = new MemoryBus({ broker, logger: silentLogger });
      agentBus = new MemoryBus({ broker, logger: silentLogger });
      s = await startServer(backend, {}, { bus: serverBus });
      const record = (method: string) => (_ctx: unknown, args: { security_groups: string[] }) => {
        got.push({ method, groups: args.security_groups });
      };
      await agentBus.serve('q-agent-notifier-security_group-update', 'host-a', {
        security_groups_rule_updated: record('security_groups_rule_updated'),
        security_groups_member_updated: record('security_groups_member_updated'),
      });
      netId = (await api('POST', '/v2.0/networks', { network: { name: 'sg-rpc' } }, 201)).network.id;
      await api('POST', '/v2.0/subnets', { subnet: { network_id: netId, cidr: '10.8.0.0/24', ip_version: 4, enable_dhcp: false } }, 201);
      await api('POST', '/v2.0/subnets', { subnet: { network_id: netId, cidr: '2001:db8:8::/64', ip_version: 6, enable_dhcp: false } }, 201);
      web = (await api('POST', '/v2.0/security-groups', { security_group: { name: 'web' } }, 201)).security_group;
      await notes();
    });
    after(async () => {
      await s?.stop();
      await agentBus?.close();
      await serverBus?.close();
    });

    it("describes a port: its groups' rules once per group, remote group members, provider rules", async () => {
      await api(
        'POST',
        '/v2.0/security-group-rules',
        {
          security_group_rule: {
            security_group_id: web.id,
            direction: 'ingress',
            protocol: 'tcp',
            port_range_min: 80,
            port_range_max: 80,
            remote_ip_prefix: '192.168.7.9/16',
          },
        },
        201,
      );
      const def = (await api('GET', '/v2.0/security-groups?name=default&project_id=admin-project')).security_groups[0];
      const a = await newPort({
        security_groups: [def.id, web.id],
        allowed_address_pairs: [{ ip_address: '10.8.0.200/30', mac_address: 'fa:16:3e:00:00:99' }],
      });
      const b = await newPort({ security_groups: [def.id] });
      const r = await info([tap(a.id), tap(b.id), 'tapdeadbeef-00']);
      assert.deepEqual(Object.keys(r.devices).sort(), [a.id, b.id].sort());
      const d = r.devices[a.id];
      assert.equal(d.device, tap(a.id));
      assert.equal(d.mac_address, a.mac_address);
      assert.equal(d.port_security_enabled, true);
      assert.deepEqual(d.fixed_ips.sort(), a.fixed_ips.map((f: any) => f.ip_address).sort());
      assert.deepEqual(d.allowed_address_pairs, [{ ip_address: '10.8.0.200/30', mac_address: 'fa:16:3e:00:00:99' }]);
      assert.deepEqual(d.security_groups.sort(), [def.id, web.id].sort());
      assert.deepEqual(d.security_group_source_groups, [def.id]);
      // Provider rules: an RA rule (the port has IPv6), DHCP replies to each address and to broadcast / link-local.
      const v4 = a.fixed_ips.find((f: any) => !f.ip_address.includes(':')).ip_address;
      assert.ok(d.security_group_rules.some((x: any) => x.protocol === 'ipv6-icmp' && x.source_port_range_min === 134));
      assert.ok(
        d.security_group_rules.some((x: any) => x.dest_ip_prefix === `${v4}/32` && x.source_port_range_min === 67 && x.port_range_min === 68),
      );
      assert.ok(d.security_group_rules.some((x: any) => x.dest_ip_prefix === '255.255.255.255/32'));
      assert.ok(d.security_group_rules.some((x: any) => x.dest_ip_prefix === 'fe80::/64' && x.source_port_range_min === 547));
      // Each group's rules once, in Neutron's form (remote_ip_prefix as source/dest prefix, normalized).
      assert.deepEqual(
        r.security_groups[web.id].find((x: any) => x.protocol === 'tcp'),
        {
          direction: 'ingress',
          ethertype: 'IPv4',
          stateful: true,
          protocol: 'tcp',
          port_range_min: 80,
          port_range_max: 80,
          source_ip_prefix: '192.168.0.0/16',
        },
      );
      assert.equal(r.security_groups[def.id].length, 4);
      assert.ok(r.security_groups[def.id].some((x: any) => x.direction === 'ingress' && x.remote_group_id === def.id && x.ethertype === 'IPv6'));
      // Members of the default group: both ports' addresses, and a's allowed address pair with its MAC.
      const m = r.sg_member_ips[def.id];
      const ips4 = m.IPv4.map(([ip]: [string]) => ip);
      for (const p of [a, b]) for (const f of p.fixed_ips.filter((x: any) => !x.ip_address.includes(':'))) assert.ok(ips4.includes(f.ip_address));
      assert.ok(m.IPv4.some(([ip, mac]: [string, string]) => ip === '10.8.0.200/30' && mac === 'fa:16:3e:00:00:99'));
      assert.ok(m.IPv6.every(([ip]: [string]) => ip.includes(':')) && m.IPv6.length === 2);
    });

    it("leaves out Neutron's own ports; a port without port security is described with no groups", async () => {
      const dhcp = await newPort({ device_owner: 'network:dhcp' });
      const open = await newPort({ port_security_enabled: false });
      const r = await info([tap(dhcp.id), tap(open.id), open.id]);
      assert.deepEqual(Object.keys(r.devices), [open.id]);
      assert.equal(r.devices[open.id].port_security_enabled, false);
      assert.deepEqual(r.devices[open.id].security_groups, []);
    });

    it("security_group_rules_for_devices expands remote groups to addresses (not the port's own)", async () => {
      const def = (await api('GET', '/v2.0/security-groups?name=default&project_id=admin-project')).security_groups[0];
      const ports = (await api('GET', `/v2.0/ports?network_id=${netId}&device_owner=compute:nova`)).ports.filter((p: any) =>
        p.security_groups.includes(def.id),
      );
      const p = ports[0];
      const r = await agentBus.call<any>('q-plugin', 'security_group_rules_for_devices', { devices: [tap(p.id)] });
      const rules = r[p.id].security_group_rules;
      const remote = rules.filter((x: any) => x.security_group_id === def.id && x.direction === 'ingress' && x.ethertype === 'IPv4');
      const own = p.fixed_ips.map((f: any) => `${f.ip_address}/32`);
      assert.ok(remote.length >= 1);
      assert.ok(remote.every((x: any) => x.remote_group_id === def.id && x.source_ip_prefix && !own.includes(x.source_ip_prefix)));
      assert.ok(
        rules.some((x: any) => x.dest_ip_prefix === '255.255.255.255/32'),
        'provider rules too',
      );
    });

    it('rules created or deleted notify their group; a group deleted notifies the groups that named it', async () => {
      await notes();
      const r1 = (
        await api(
          'POST',
          '/v2.0/security-group-rules',
          { security_group_rule: { security_group_id: web.id, direction: 'ingress', protocol: 'icmp' } },
          201,
        )
      ).security_group_rule;
      assert.deepEqual(await notes(), [`rule ${web.id}`]);
      await api('DELETE', `/v2.0/security-group-rules/${r1.id}`, undefined, 204);
      assert.deepEqual(await notes(), [`rule ${web.id}`]);
      const db2 = (await api('POST', '/v2.0/security-groups', { security_group: { name: 'db' } }, 201)).security_group;
      await api(
        'POST',
        '/v2.0/security-group-rules',
        { security_group_rule: { security_group_id: web.id, direction: 'egress', remote_group_id: db2.id } },
        201,
      );
      await notes();
      await api('DELETE', `/v2.0/security-groups/${db2.id}`, undefined, 204);
      assert.deepEqual(await notes(), [`rule ${web.id}`]);
      // A failed write notifies nothing.
      await s.req('POST', '/v2.0/security-group-rules', { security_group_rule: { security_group_id: web.id, direction: 'sideways' } }, ADMIN);
      assert.deepEqual(await notes(), []);
    });

    it('port writes notify the groups whose members changed', async () => {
      await notes();
      const p = await newPort({ security_groups: [web.id] });
      assert.deepEqual(await notes(), [`member ${web.id}`]);
      db = (await api('POST', '/v2.0/security-groups', { security_group: { name: 'db2' } }, 201)).security_group;
      await notes();
      await api('PUT', `/v2.0/ports/${p.id}`, { port: { security_groups: [db.id] } });
      assert.deepEqual(await notes(), [`member ${[web.id, db.id].sort().join(',')}`]);
      await api('PUT', `/v2.0/ports/${p.id}`, { port: { allowed_address_pairs: [{ ip_address: '10.8.0.250' }] } });
      assert.deepEqual(await notes(), [`member ${db.id}`]);
      await api('PUT', `/v2.0/ports/${p.id}`, { port: { name: 'renamed' } });
      assert.deepEqual(await notes(), [], 'a name is no member change');
      await api('DELETE', `/v2.0/ports/${p.id}`, undefined, 204);
      assert.deepEqual(await notes(), [`member ${db.id}`]);
      await newPort({ device_owner: 'network:router_interface' });
      assert.deepEqual(await notes(), [], 'a router port is in no group');
    });
  });
}

// Two `neutrino server` processes on different ports over one PostgreSQL (then one MariaDB)
// database and one RabbitMQ vhost, started together (they migrate the fresh database at once),
// with the concurrency checks of test/api (concurrency, l3) spread over both: each request goes
// to one server or the other in turn, and still nothing is handed out twice.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { spawnServer, type ServerProcess } from '../helpers/process-server.js';
import { skipUnlessRabbit } from '../rpc/rabbit.js';
import { RunVhost } from './cluster.js';

const noRabbit = await skipUnlessRabbit();

interface Caller {
  project: string;
  roles: string;
}
const ADMIN: Caller = { project: 'admin-project', roles: 'admin,member,reader' };

for (const backend of BACKENDS.filter((b) => b.name !== 'sqlite')) {
  describe(`two servers over one ${backend.name}`, { skip: noRabbit || (await skipUnless(backend)) }, () => {
    let made: Awaited<ReturnType<typeof backend.create>>;
    let vhost: RunVhost;
    const dirs: string[] = [];
    let servers: ServerProcess[] = [];
    let turn = 0;
    /** A request to the next server in turn. */
    const req = async (method: string, path: string, body?: unknown, caller: Caller = ADMIN) => {
      const s = servers[turn++ % servers.length]!;
      const r = await fetch(s.url + path, {
        method,
        headers: { 'content-type': 'application/json', 'x-project-id': caller.project, 'x-roles': caller.roles, 'x-user-id': 'u' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await r.text();
      return { status: r.status, body: text ? JSON.parse(text) : null };
    };
    const ok = async (method: string, path: string, body?: unknown, caller: Caller = ADMIN) => {
      const r = await req(method, path, body, caller);
      assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    };

    before(async () => {
      made = await backend.create();
      vhost = await new RunVhost().create();
      servers = await Promise.all(
        [0, 1].map((i) => {
          const dir = mkdtempSync(join(tmpdir(), `neutrino-two-${i}-`));
          dirs.push(dir);
          return spawnServer(dir, {
            DEFAULT: { transport_url: vhost.url },
            database: { connection: made.url },
            quotas: { quota_port: '-1', quota_network: '-1', quota_floatingip: '-1' },
            ml2: { tenant_network_types: 'vxlan' },
            ml2_type_vxlan: { vni_ranges: '100:1099' },
            ml2_type_vlan: { network_vlan_ranges: 'physnet1:100:199' },
          });
        }),
      );
    });
    after(async () => {
      for (const s of servers) await s.kill();
      await vhost?.destroy();
      await made?.drop();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });

    it('ports: 120 creates on 60 free addresses give 60 distinct IPs and MACs; one explicit IP, one winner', async () => {
      const net = (await ok('POST', '/v2.0/networks', { network: { name: 'crowd' } })).network;
      await ok('POST', '/v2.0/subnets', {
        subnet: { network_id: net.id, ip_version: 4, cidr: '10.70.0.0/24', allocation_pools: [{ start: '10.70.0.10', end: '10.70.0.69' }] },
      });
      const results = await Promise.all(
        Array.from({ length: 120 }, (_, i) => req('POST', '/v2.0/ports', { port: { network_id: net.id, name: `p${i}` } })),
      );
      const created = results.filter((r) => r.status === 201);
      assert.equal(created.length, 60, JSON.stringify(results.map((r) => r.status)));
      for (const r of results.filter((x) => x.status !== 201)) assert.equal(r.body.NeutronError.type, 'IpAddressGenerationFailure');
      assert.equal(new Set(created.map((r) => r.body.port.fixed_ips[0].ip_address)).size, 60);
      assert.equal(new Set(created.map((r) => r.body.port.mac_address)).size, 60);

      const net2 = (await ok('POST', '/v2.0/networks', { network: { name: 'one-ip' } })).network;
      await ok('POST', '/v2.0/subnets', { subnet: { network_id: net2.id, ip_version: 4, cidr: '10.71.0.0/24' } });
      const same = await Promise.all(
        Array.from({ length: 16 }, () => req('POST', '/v2.0/ports', { port: { network_id: net2.id, fixed_ips: [{ ip_address: '10.71.0.77' }] } })),
      );
      assert.equal(same.filter((r) => r.status === 201).length, 1);
      for (const r of same.filter((x) => x.status !== 201)) assert.equal(r.body.NeutronError.type, 'IpAddressAlreadyAllocated');
      const macs = await Promise.all(
        Array.from({ length: 10 }, () => req('POST', '/v2.0/ports', { port: { network_id: net2.id, mac_address: 'fa:16:3e:aa:bb:cc' } })),
      );
      assert.equal(macs.filter((r) => r.status === 201).length, 1);
      for (const r of macs.filter((x) => x.status !== 201)) assert.equal(r.body.NeutronError.type, 'MacAddressInUse');
    });

    it('segments: concurrent project networks get distinct VNIs; one VLAN id, one winner', async () => {
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          req('POST', '/v2.0/networks', { network: { name: `v${i}` } }, { project: `vni-${i % 5}`, roles: 'member' }),
        ),
      );
      for (const r of results) assert.equal(r.status, 201, JSON.stringify(r.body));
      const vnis = await Promise.all(
        results.map(async (r) => (await ok('GET', `/v2.0/networks/${r.body.network.id}`)).network['provider:segmentation_id']),
      );
      assert.equal(new Set(vnis).size, 40);
      const vlans = await Promise.all(
        Array.from({ length: 12 }, () =>
          req('POST', '/v2.0/networks', {
            network: { 'provider:network_type': 'vlan', 'provider:physical_network': 'physnet1', 'provider:segmentation_id': 321 },
          }),
        ),
      );
      assert.equal(vlans.filter((r) => r.status === 201).length, 1);
      for (const r of vlans.filter((x) => x.status !== 201)) assert.equal(r.body.NeutronError.type, 'VlanIdInUse');
    });

    it('quotas: 4×N creates through both servers never pass a quota of N', async () => {
      const caller = { project: 'quota-race', roles: 'member' };
      const N = 8;
      await ok('PUT', '/v2.0/quotas/quota-race', { quota: { port: N, network: N } });
      const nets = await Promise.all(Array.from({ length: 4 * N }, () => req('POST', '/v2.0/networks', { network: {} }, caller)));
      assert.equal(nets.filter((r) => r.status === 201).length, N);
      for (const r of nets.filter((x) => x.status !== 201)) assert.equal(r.body.NeutronError.type, 'OverQuota');
      const netId = nets.find((r) => r.status === 201)!.body.network.id;
      const ports = await Promise.all(Array.from({ length: 4 * N }, () => req('POST', '/v2.0/ports', { port: { network_id: netId } }, caller)));
      assert.equal(ports.filter((r) => r.status === 201).length, N);
      const details = await ok('GET', '/v2.0/quotas/quota-race/details');
      assert.equal(details.quota.port.used, N);
      assert.equal(details.quota.network.used, N);
    });

    it('floating IPs: 40 creates on 20 free addresses give 20 distinct addresses', async () => {
      const ext = (await ok('POST', '/v2.0/networks', { network: { name: 'public', 'router:external': true } })).network;
      await ok('POST', '/v2.0/subnets', {
        subnet: {
          network_id: ext.id,
          ip_version: 4,
          cidr: '203.0.113.0/24',
          enable_dhcp: false,
          allocation_pools: [{ start: '203.0.113.10', end: '203.0.113.29' }],
        },
      });
      const results = await Promise.all(
        Array.from({ length: 40 }, () => req('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext.id } })),
      );
      const created = results.filter((r) => r.status === 201);
      assert.equal(created.length, 20, JSON.stringify(results.filter((r) => r.status !== 201 && r.status !== 409).map((r) => r.body)));
      for (const r of results.filter((x) => x.status !== 201)) assert.equal(r.body.NeutronError.type, 'IpAddressGenerationFailure');
      assert.equal(new Set(created.map((r) => r.body.floatingip.floating_ip_address)).size, 20);
    });

    it('router interfaces: one subnet added to a router from both servers at once leaves one interface; to several routers, one wins', async () => {
      const net = (await ok('POST', '/v2.0/networks', { network: {} })).network;
      const sn = (await ok('POST', '/v2.0/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '10.72.0.0/24' } })).subnet;
      const router = (await ok('POST', '/v2.0/routers', { router: {} })).router;
      const adds = await Promise.all(
        Array.from({ length: 12 }, () => req('PUT', `/v2.0/routers/${router.id}/add_router_interface`, { subnet_id: sn.id })),
      );
      assert.equal(adds.filter((r) => r.status === 200).length, 1, JSON.stringify(adds.map((r) => r.status)));
      for (const r of adds.filter((x) => x.status !== 200)) assert.ok(r.status === 400 || r.status === 409, JSON.stringify(r.body));
      assert.equal((await ok('GET', `/v2.0/ports?device_id=${router.id}`)).ports.length, 1);

      const net2 = (await ok('POST', '/v2.0/networks', { network: {} })).network;
      const sn2 = (await ok('POST', '/v2.0/subnets', { subnet: { network_id: net2.id, ip_version: 4, cidr: '10.73.0.0/24' } })).subnet;
      const routers = await Promise.all(Array.from({ length: 6 }, async () => (await ok('POST', '/v2.0/routers', { router: {} })).router));
      const many = await Promise.all(routers.map((r) => req('PUT', `/v2.0/routers/${r.id}/add_router_interface`, { subnet_id: sn2.id })));
      assert.equal(many.filter((r) => r.status === 200).length, 1, JSON.stringify(many.map((r) => r.body)));
      for (const r of many.filter((x) => x.status !== 200)) assert.equal(r.body.NeutronError.type, 'IpAddressAlreadyAllocated');
    });
  });
}

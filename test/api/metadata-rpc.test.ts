// The server side of the metadata agent, on every backend with the in-memory bus: get_ports on
// q-plugin with the filters Neutron's agent sends (an instance by address on networks, by MAC,
// a router's interface ports); unknown filters refused.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { ALICE, startServer, type TestServer } from '../helpers/server.js';
import { MemoryBroker, MemoryBus, RpcRemoteError, silentLogger, type RpcBus } from '../../src/rpc/index.js';
import { instancePortFilters, routerPortFilters } from '../../src/agents/metadata/request.js';

for (const backend of BACKENDS) {
  describe(`metadata agent RPC on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let s: TestServer;
    let serverBus: RpcBus;
    let agentBus: RpcBus;
    let net1: any;
    let net2: any;
    let vm1: any;
    let vm2: any;
    let routerId = '';
    const getPorts = (filters: Record<string, unknown>) => agentBus.call<any[]>('q-plugin', 'get_ports', { filters }, { timeoutMs: 10_000 });
    const api = async (method: string, path: string, body: unknown, as = ALICE, expect = 201) => {
      const r = await s.req(method, path, body, as);
      assert.equal(r.status, expect, JSON.stringify(r.body));
      return r.body;
    };
    const who = (ip: string) => ({ ip, mac: null, networkId: null, routerId: null });

    before(async () => {
      const broker = new MemoryBroker();
      serverBus = new MemoryBus({ broker, logger: silentLogger });
      agentBus = new MemoryBus({ broker, logger: silentLogger });
      s = await startServer(backend, {}, { bus: serverBus });
      // Two networks of one project with the same addresses (overlapping IPs), one router on the first.
      for (const i of [1, 2]) {
        const n = (await api('POST', '/v2.0/networks', { network: { name: `md${i}` } })).network;
        const sn = (await api('POST', '/v2.0/subnets', { subnet: { network_id: n.id, cidr: '10.5.0.0/24', ip_version: 4 } })).subnet;
        const p = (
          await api('POST', '/v2.0/ports', {
            port: { network_id: n.id, device_id: `instance-${i}`, fixed_ips: [{ subnet_id: sn.id, ip_address: '10.5.0.10' }] },
          })
        ).port;
        if (i === 1) {
          net1 = n;
          vm1 = p;
          routerId = (await api('POST', '/v2.0/routers', { router: { name: 'r' } })).router.id;
          await api('PUT', `/v2.0/routers/${routerId}/add_router_interface`, { subnet_id: sn.id }, ALICE, 200);
        } else {
          net2 = n;
          vm2 = p;
        }
      }
    });

    after(async () => {
      await s?.stop();
      await agentBus?.close();
      await serverBus?.close();
    });

    it('finds an instance by address on the given network only (overlapping addresses elsewhere)', async () => {
      const one = await getPorts(instancePortFilters(who('10.5.0.10'), [net1.id]));
      assert.deepEqual(
        one.map((p) => [p.id, p.device_id, p.tenant_id]),
        [[vm1.id, 'instance-1', vm1.tenant_id]],
      );
      const both = await getPorts(instancePortFilters(who('10.5.0.10'), [net1.id, net2.id]));
      assert.deepEqual(both.map((p) => p.id).sort(), [vm1.id, vm2.id].sort());
      assert.deepEqual(await getPorts(instancePortFilters(who('10.5.0.99'), [net1.id])), []);
    });

    it('finds an instance by MAC (IPv6 link-local clients)', async () => {
      const r = await getPorts(instancePortFilters({ ...who('fe80::1'), mac: vm2.mac_address }, [net2.id]));
      assert.deepEqual(
        r.map((p) => p.id),
        [vm2.id],
      );
    });

    it("gives a router's interface ports, hence its networks", async () => {
      const r = await getPorts(routerPortFilters(routerId));
      assert.deepEqual(
        r.map((p) => [p.network_id, p.device_owner]),
        [[net1.id, 'network:router_interface']],
      );
    });

    it('refuses filters it does not know rather than answering wider', async () => {
      await assert.rejects(getPorts({ name: ['x'] }), (e: unknown) => e instanceof RpcRemoteError && /unsupported filter name/.test(e.message));
    });
  });
}

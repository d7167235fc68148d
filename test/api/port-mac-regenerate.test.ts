// port-mac-address-regenerate and service-type on every backend: PUT mac_address null gives an
// unplugged port a new MAC from base_mac, unique on its network (and its SLAAC addresses follow
// it); bound ports and the network's own ports are refused; POST with null is a generated MAC.
// GET /v2.0/service-providers lists what neutrino provides.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { ADMIN, ALICE, startServer, type TestServer } from '../helpers/server.js';
import { registerLinuxBridgeAgent } from '../helpers/agents.js';

const MAC = /^fa:16:3e(:[0-9a-f]{2}){3}$/;

for (const backend of BACKENDS) {
  describe(`MAC regeneration and service providers on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let s: TestServer;
    let netId: string;

    before(async () => {
      s = await startServer(backend);
      await registerLinuxBridgeAgent(s.server.db, 'compute-1', '10.0.0.1');
      const n = await s.req('POST', '/v2.0/networks', { network: { name: 'macs' } }, ALICE);
      netId = n.body.network.id;
      assert.equal((await s.req('POST', '/v2.0/subnets', { subnet: { network_id: netId, cidr: '10.40.0.0/24', ip_version: 4 } }, ALICE)).status, 201);
      const v6 = await s.req(
        'POST',
        '/v2.0/subnets',
        { subnet: { network_id: netId, cidr: 'fd40::/64', ip_version: 6, ipv6_address_mode: 'slaac', ipv6_ra_mode: 'slaac' } },
        ALICE,
      );
      assert.equal(v6.status, 201, JSON.stringify(v6.body));
    });
    after(async () => {
      await s?.stop();
    });

    it('lists port-mac-address-regenerate and service-type', async () => {
      const aliases = (await s.req('GET', '/v2.0/extensions', undefined, ALICE)).body.extensions.map((e: any) => e.alias);
      assert.ok(aliases.includes('port-mac-address-regenerate'));
      assert.ok(aliases.includes('service-type'));
    });

    it('PUT mac_address null: a new MAC for an unbound port, its SLAAC address follows; members may not (policy)', async () => {
      const p = await s.req('POST', '/v2.0/ports', { port: { network_id: netId, name: 'vm' } }, ALICE);
      assert.equal(p.status, 201);
      const old = p.body.port;
      const denied = await s.req('PUT', `/v2.0/ports/${old.id}`, { port: { mac_address: null } }, ALICE);
      assert.equal(denied.status, 403);
      assert.equal(denied.body.NeutronError.message, '(rule:update_port:mac_address) is disallowed by policy');
      const r = await s.req('PUT', `/v2.0/ports/${old.id}`, { port: { mac_address: null } }, ADMIN);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const port = r.body.port;
      assert.match(port.mac_address, MAC);
      assert.notEqual(port.mac_address, old.mac_address);
      assert.equal(port.revision_number, old.revision_number + 1);
      const v4 = (x: any) => x.fixed_ips.find((f: any) => !f.ip_address.includes(':')).ip_address;
      const v6 = (x: any) => x.fixed_ips.find((f: any) => f.ip_address.includes(':')).ip_address;
      assert.equal(v4(port), v4(old));
      assert.notEqual(v6(port), v6(old), 'the EUI-64 address changes with the MAC');
      assert.equal((await s.req('GET', `/v2.0/ports/${old.id}`, undefined, ALICE)).body.port.mac_address, port.mac_address);
    });

    it('POST mac_address null generates one; several regenerations stay unique on the network', async () => {
      const p = await s.req('POST', '/v2.0/ports', { port: { network_id: netId, mac_address: null } }, ALICE);
      assert.equal(p.status, 201, JSON.stringify(p.body));
      assert.match(p.body.port.mac_address, MAC);
      const id = p.body.port.id;
      const seen = new Set<string>([p.body.port.mac_address]);
      for (let i = 0; i < 5; i++) {
        const r = await s.req('PUT', `/v2.0/ports/${id}`, { port: { mac_address: null } }, ADMIN);
        assert.equal(r.status, 200);
        seen.add(r.body.port.mac_address);
      }
      assert.equal(seen.size, 6);
      const macs = (await s.req('GET', `/v2.0/ports?network_id=${netId}&fields=mac_address`, undefined, ADMIN)).body.ports.map(
        (x: any) => x.mac_address,
      );
      assert.equal(new Set(macs).size, macs.length);
    });

    it("refused for a bound port (PortBound) and for the network's own ports (UnsupportedPortDeviceOwner)", async () => {
      const bound = await s.req('POST', '/v2.0/ports', { port: { network_id: netId, 'binding:host_id': 'compute-1' } }, ADMIN);
      assert.equal(bound.body.port['binding:vif_type'], 'bridge');
      const r = await s.req('PUT', `/v2.0/ports/${bound.body.port.id}`, { port: { mac_address: null } }, ADMIN);
      assert.equal(r.status, 409);
      assert.equal(r.body.NeutronError.type, 'PortBound');
      assert.match(
        r.body.NeutronError.message,
        new RegExp(
          `^Unable to complete operation on port ${bound.body.port.id}, port is already bound, port type: bridge, old_mac ${bound.body.port.mac_address}, new_mac fa:16:3e`,
        ),
      );
      const dhcp = await s.req('POST', '/v2.0/ports', { port: { network_id: netId, device_owner: 'network:dhcp' } }, ADMIN);
      const d = await s.req('PUT', `/v2.0/ports/${dhcp.body.port.id}`, { port: { mac_address: null } }, ADMIN);
      assert.equal(d.status, 409);
      assert.equal(d.body.NeutronError.type, 'UnsupportedPortDeviceOwner');
      assert.equal(
        d.body.NeutronError.message,
        `Operation mac address update is not supported for device_owner network:dhcp on port ${dhcp.body.port.id}.`,
      );
      // Both kept their MACs.
      assert.equal((await s.req('GET', `/v2.0/ports/${dhcp.body.port.id}`, undefined, ADMIN)).body.port.mac_address, dhcp.body.port.mac_address);
      assert.equal((await s.req('GET', `/v2.0/ports/${bound.body.port.id}`, undefined, ADMIN)).body.port.mac_address, bound.body.port.mac_address);
    });

    it('GET /v2.0/service-providers lists the L3 provider; filters and fields', async () => {
      const all = await s.req('GET', '/v2.0/service-providers', undefined, ALICE);
      assert.equal(all.status, 200);
      assert.deepEqual(all.body, {
        service_providers: [
          { service_type: 'L3_ROUTER_NAT', name: 'ha', default: false },
          { service_type: 'L3_ROUTER_NAT', name: 'single_node', default: false },
        ],
      });
      assert.deepEqual((await s.req('GET', '/v2.0/service-providers?service_type=LOADBALANCERV2', undefined, ALICE)).body, { service_providers: [] });
      assert.deepEqual((await s.req('GET', '/v2.0/service-providers?service_type=L3_ROUTER_NAT&fields=name', undefined, ALICE)).body, {
        service_providers: [{ name: 'ha' }, { name: 'single_node' }],
      });
      assert.equal((await s.req('GET', '/v2.0/service-providers?default=true', undefined, ALICE)).body.service_providers.length, 0);
    });
  });
}

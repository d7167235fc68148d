// port-mac-override on every backend: a direct-physical port takes binding:profile's
// device_mac_address when its binding is committed (a fresh MAC when the profile has none); a MAC another port of the network has is refused
// (MacAddressInUse) and a malformed one is a 400; unplugging such a port (device_id and
// device_owner cleared) gives it a fresh MAC; ports of other vnic types keep theirs.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { ADMIN, ALICE, startServer, type TestServer } from '../helpers/server.js';

const MAC = /^fa:16:3e(:[0-9a-f]{2}){3}$/;
const DP = 'direct-physical';

for (const backend of BACKENDS) {
  describe(`port-mac-override on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let s: TestServer;
    let netId: string;
    const port = async (body: Record<string, unknown>) => {
      const r = await s.req('POST', '/v2.0/ports', { port: { network_id: netId, ...body } }, ADMIN);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body.port;
    };
    const macOf = async (id: string) => (await s.req('GET', `/v2.0/ports/${id}`, undefined, ADMIN)).body.port.mac_address as string;

    before(async () => {
      s = await startServer(backend);
      const n = await s.req('POST', '/v2.0/networks', { network: { name: 'pf' } }, ADMIN);
      netId = n.body.network.id;
      assert.equal((await s.req('POST', '/v2.0/subnets', { subnet: { network_id: netId, cidr: '10.43.0.0/24', ip_version: 4 } }, ADMIN)).status, 201);
    });
    after(async () => {
      await s?.stop();
    });

    it('is listed', async () => {
      const aliases = (await s.req('GET', '/v2.0/extensions', undefined, ALICE)).body.extensions.map((e: any) => e.alias);
      assert.ok(aliases.includes('port-mac-override'));
    });

    it("a direct-physical port bound to a host takes the profile's device_mac_address", async () => {
      const p = await port({
        'binding:vnic_type': DP,
        'binding:host_id': 'pf-host-1',
        'binding:profile': { device_mac_address: '52:54:00:AA:BB:01' },
      });
      assert.equal(p.mac_address, '52:54:00:aa:bb:01');
      assert.equal(await macOf(p.id), '52:54:00:aa:bb:01');
      // Another device on update.
      const u = await s.req(
        'PUT',
        `/v2.0/ports/${p.id}`,
        { port: { 'binding:profile': { device_mac_address: '52:54:00:aa:bb:02' }, 'binding:host_id': 'pf-host-2' } },
        ADMIN,
      );
      assert.equal(u.status, 200, JSON.stringify(u.body));
      assert.equal(u.body.port.mac_address, '52:54:00:aa:bb:02');
    });

    it('without device_mac_address the binding gives a fresh MAC; unbound ports and other vnic types keep theirs', async () => {
      const p = await port({ 'binding:vnic_type': DP, mac_address: '52:54:00:aa:bb:10' });
      assert.equal(p.mac_address, '52:54:00:aa:bb:10', 'no host: no binding committed');
      const u = await s.req('PUT', `/v2.0/ports/${p.id}`, { port: { 'binding:host_id': 'pf-host-1' } }, ADMIN);
      assert.equal(u.status, 200, JSON.stringify(u.body));
      assert.match(u.body.port.mac_address, MAC);
      const normal = await port({
        'binding:host_id': 'pf-host-1',
        mac_address: '52:54:00:aa:bb:11',
        'binding:profile': { device_mac_address: '52:54:00:aa:bb:12' },
      });
      assert.equal(normal.mac_address, '52:54:00:aa:bb:11');
      assert.equal(await macOf(normal.id), '52:54:00:aa:bb:11');
    });

    it('refuses a device MAC another port of the network has (409) and a malformed one (400)', async () => {
      const other = await port({ mac_address: '52:54:00:aa:bb:20' });
      const p = await port({ 'binding:vnic_type': DP, mac_address: '52:54:00:aa:bb:21' });
      const taken = await s.req(
        'PUT',
        `/v2.0/ports/${p.id}`,
        { port: { 'binding:host_id': 'pf-host-1', 'binding:profile': { device_mac_address: other.mac_address } } },
        ADMIN,
      );
      assert.equal(taken.status, 409, JSON.stringify(taken.body));
      assert.equal(taken.body.NeutronError.type, 'MacAddressInUse');
      assert.equal(await macOf(p.id), '52:54:00:aa:bb:21');
      const bad = await s.req('PUT', `/v2.0/ports/${p.id}`, { port: { 'binding:profile': { device_mac_address: 'not-a-mac' } } }, ADMIN);
      assert.equal(bad.status, 400, JSON.stringify(bad.body));
      assert.ok(bad.body.NeutronError.type, JSON.stringify(bad.body));
      assert.equal(await macOf(p.id), '52:54:00:aa:bb:21');
      assert.equal(await macOf(other.id), '52:54:00:aa:bb:20');
    });

    it('unplugging a direct-physical port (device_id and device_owner cleared) gives it a fresh MAC', async () => {
      const p = await port({ 'binding:vnic_type': DP, mac_address: '52:54:00:aa:bb:30', device_id: 'vm-1', device_owner: 'compute:nova' });
      const u = await s.req('PUT', `/v2.0/ports/${p.id}`, { port: { device_id: '', device_owner: '' } }, ADMIN);
      assert.equal(u.status, 200, JSON.stringify(u.body));
      assert.match(u.body.port.mac_address, MAC);
      assert.equal(await macOf(p.id), u.body.port.mac_address);
      // Only device_id cleared, or a normal port: the MAC stays.
      const q = await port({ 'binding:vnic_type': DP, mac_address: '52:54:00:aa:bb:31', device_id: 'vm-2', device_owner: 'compute:nova' });
      await s.req('PUT', `/v2.0/ports/${q.id}`, { port: { device_id: '' } }, ADMIN);
      assert.equal(await macOf(q.id), '52:54:00:aa:bb:31');
      const n = await port({ mac_address: '52:54:00:aa:bb:32', device_id: 'vm-3', device_owner: 'compute:nova' });
      await s.req('PUT', `/v2.0/ports/${n.id}`, { port: { device_id: '', device_owner: '' } }, ADMIN);
      assert.equal(await macOf(n.id), '52:54:00:aa:bb:32');
    });
  });
}

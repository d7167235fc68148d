// Floating IP port forwardings and router conntrack helpers on every backend, through the real
// HTTP server: CRUD with single ports and ranges, Neutron's refusals (collisions, 1-N/N-N ranges,
// a floating IP with a port, a port with a floating IP, association of a forwarding floating IP),
// the attributes on floating IPs and routers, policy, cascades, the allowed helpers, and two
// concurrent forwardings for one external port (one wins).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { ADMIN, ALICE, BOB, startServer, type Caller, type TestServer, okCalls } from '../helpers/server.js';
import { assertError } from '../helpers/assert-error.js';

for (const backend of BACKENDS) {
  describe(`port forwarding and conntrack helpers on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let s: TestServer;
    let ext: any;
    let cidrN = 0;
    before(async () => {
      s = await startServer(backend, { DEFAULT: { allowed_conntrack_helpers: 'ftp:tcp,tftp:udp' } });
      await ok('PUT', `/v2.0/quotas/${ALICE.project}`, { quota: { router: -1, floatingip: -1, port: -1 } }, ADMIN);
      ext = (await ok('POST', '/v2.0/networks', { network: { name: 'public', 'router:external': true } }, ADMIN)).network;
      await ok('POST', '/v2.0/subnets', { subnet: { network_id: ext.id, ip_version: 4, cidr: '172.24.4.0/24', enable_dhcp: false } }, ADMIN);
    });
    after(async () => {
      await s?.stop();
    });

    const ok = okCalls(() => s, ALICE);
    /** A network behind a router with a gateway on `ext`, a VM port on it and a free floating IP. */
    async function topology() {
      const n = (await ok('POST', '/v2.0/networks', { network: { name: 'n' } })).network;
      const sn = (await ok('POST', '/v2.0/subnets', { subnet: { network_id: n.id, ip_version: 4, cidr: `10.77.${cidrN++}.0/24` } })).subnet;
      const r = (await ok('POST', '/v2.0/routers', { router: { name: 'r', external_gateway_info: { network_id: ext.id } } })).router;
      await ok('PUT', `/v2.0/routers/${r.id}/add_router_interface`, { subnet_id: sn.id });
      const vm = (await ok('POST', '/v2.0/ports', { port: { network_id: n.id } })).port;
      const fip = (await ok('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext.id } })).floatingip;
      return { n, sn, r, vm, fip };
    }
    const pfPath = (fipId: string) => `/v2.0/floatingips/${fipId}/port_forwardings`;
    const pf = (fipId: string, body: object, as: Caller = ALICE) =>
      s.req('POST', pfPath(fipId), { port_forwarding: { protocol: 'tcp', ...body } }, as);

    it('lists the extensions', async () => {
      const aliases = (await ok('GET', '/v2.0/extensions')).extensions.map((e: any) => e.alias);
      for (const a of [
        'floating-ip-port-forwarding',
        'floating-ip-port-forwarding-description',
        'floating-ip-port-forwarding-port-ranges',
        'floating-ip-port-forwarding-detail',
        'expose-port-forwarding-in-fip',
        'l3-conntrack-helper',
        'expose-l3-conntrack-helper',
      ])
        assert.ok(aliases.includes(a), a);
    });

    it('creates, shows, lists, updates and deletes a forwarding; the floating IP follows', async () => {
      const { r, vm, fip } = await topology();
      const vmIp = vm.fixed_ips[0].ip_address;
      const c = await pf(fip.id, { internal_port_id: vm.id, internal_port: 22, external_port: 2222, description: 'ssh' });
      assert.equal(c.status, 201, JSON.stringify(c.body));
      const p = c.body.port_forwarding;
      assert.deepEqual(Object.keys(p).sort(), [
        'description',
        'external_port',
        'external_port_range',
        'id',
        'internal_ip_address',
        'internal_port',
        'internal_port_id',
        'internal_port_range',
        'protocol',
      ]);
      assert.equal(p.internal_ip_address, vmIp);
      assert.equal(p.external_port, 2222);
      assert.equal(p.external_port_range, '2222:2222');
      assert.equal(p.internal_port_range, '22:22');
      const shownFip = (await ok('GET', `/v2.0/floatingips/${fip.id}`)).floatingip;
      assert.equal(shownFip.router_id, r.id);
      // Neutron's fields for a single-port forwarding: no ranges.
      assert.deepEqual(shownFip.port_forwardings, [
        {
          id: p.id,
          protocol: 'tcp',
          internal_port_id: vm.id,
          internal_ip_address: vmIp,
          internal_port: 22,
          external_port: 2222,
        },
      ]);
      assert.deepEqual((await ok('GET', `${pfPath(fip.id)}/${p.id}`)).port_forwarding, p);
      assert.deepEqual((await ok('GET', `${pfPath(fip.id)}?external_port=2222`)).port_forwardings, [p]);
      assert.deepEqual((await ok('GET', `${pfPath(fip.id)}?external_port=2223`)).port_forwardings, []);
      const u = (await ok('PUT', `${pfPath(fip.id)}/${p.id}`, { port_forwarding: { external_port: 2200, description: 'x' } })).port_forwarding;
      assert.equal(u.external_port, 2200);
      assert.equal(u.description, 'x');
      // A description change on the floating IP keeps its router.
      await ok('PUT', `/v2.0/floatingips/${fip.id}`, { floatingip: { description: 'fip' } });
      assert.equal((await ok('GET', `/v2.0/floatingips/${fip.id}`)).floatingip.router_id, r.id);
      // A floating IP with forwardings is not deleted (Neutron's 409).
      assertError(await s.req('DELETE', `/v2.0/floatingips/${fip.id}`, undefined, ALICE), 409, 'FipInUseByPortForwarding');
      assert.equal((await s.req('DELETE', `${pfPath(fip.id)}/${p.id}`, undefined, ALICE)).status, 204);
      assertError(await s.req('GET', `${pfPath(fip.id)}/${p.id}`, undefined, ALICE), 404, 'PortForwardingNotFound');
      const after = (await ok('GET', `/v2.0/floatingips/${fip.id}`)).floatingip;
      assert.equal(after.router_id, null);
      assert.deepEqual(after.port_forwardings, []);
    });

    it('port ranges: N-N and 1-N, not N-M; collisions on either side are refused', async () => {
      const { vm, fip } = await topology();
      const range = await pf(fip.id, { internal_port_id: vm.id, internal_port_range: '8000:8009', external_port_range: '9000:9009' });
      assert.equal(range.status, 201, JSON.stringify(range.body));
      assert.equal(range.body.port_forwarding.external_port, null);
      assert.equal(range.body.port_forwarding.external_port_range, '9000:9009');
      const oneToN = await pf(fip.id, { internal_port_id: vm.id, internal_port: 80, external_port_range: '100:110' });
      assert.equal(oneToN.status, 201, JSON.stringify(oneToN.body));
      assertError(
        await pf(fip.id, { internal_port_id: vm.id, internal_port_range: '1:3', external_port_range: '200:210' }),
        400,
        'BadRequest',
        'N-N or 1-N',
      );
      assertError(
        await pf(fip.id, { internal_port_id: vm.id, internal_port: 81, external_port: 9005 }),
        400,
        'BadRequest',
        'port collision with the external_port_range',
      );
      assertError(
        await pf(fip.id, { internal_port_id: vm.id, internal_port: 8005, external_port: 7000 }),
        400,
        'BadRequest',
        'port collision with the internal_port_range',
      );
      // Another protocol is another space.
      assert.equal((await pf(fip.id, { protocol: 'udp', internal_port_id: vm.id, internal_port: 8005, external_port: 9005 })).status, 201);
      assertError(await pf(fip.id, { internal_port_id: vm.id, internal_port: 1, external_port: 2, external_port_range: '2:3' }), 400, 'BadRequest');
      assertError(await pf(fip.id, { internal_port_id: vm.id, internal_port: 1 }), 400, 'BadRequest');
      assertError(await pf(fip.id, { internal_port_id: vm.id, internal_port: 1, external_port: 70000 }), 400, 'HTTPBadRequest');
      assertError(await pf(fip.id, { internal_port_id: vm.id, internal_port_range: '5:4', external_port_range: '5:6' }), 400, 'HTTPBadRequest');
      assertError(await pf(fip.id, { protocol: 'gre', internal_port_id: vm.id, internal_port: 1, external_port: 2 }), 400, 'HTTPBadRequest');
    });

    it("refuses a floating IP with a port, a port with a floating IP, a wrong address, and associating a forwarding's floating IP", async () => {
      const { n, vm, fip } = await topology();
      assert.equal((await pf(fip.id, { internal_port_id: vm.id, internal_port: 22, external_port: 22 })).status, 201);
      assertError(await s.req('PUT', `/v2.0/floatingips/${fip.id}`, { floatingip: { port_id: vm.id } }, ALICE), 409, 'FipInUseByPortForwarding');
      const other = (await ok('POST', '/v2.0/ports', { port: { network_id: n.id } })).port;
      const fip2 = (await ok('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext.id, port_id: other.id } })).floatingip;
      assertError(await pf(fip2.id, { internal_port_id: vm.id, internal_port: 22, external_port: 22 }), 409, 'FloatingIPPortAlreadyAssociated');
      const fip3 = (await ok('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext.id } })).floatingip;
      assertError(await pf(fip3.id, { internal_port_id: other.id, internal_port: 22, external_port: 22 }), 409, 'PortHasBindingFloatingIP');
      assertError(
        await pf(fip3.id, { internal_port_id: vm.id, internal_ip_address: '10.99.0.9', internal_port: 23, external_port: 22 }),
        400,
        'BadRequest',
        'not suitable',
      );
      const lonely = (await ok('POST', '/v2.0/ports', { port: { network_id: (await ok('POST', '/v2.0/networks', { network: {} })).network.id } }))
        .port;
      assertError(await pf(fip3.id, { internal_port_id: lonely.id, internal_port: 22, external_port: 22 }), 400, 'BadRequest');
      assertError(
        await pf('00000000-0000-0000-0000-000000000000', { internal_port_id: vm.id, internal_port: 22, external_port: 22 }),
        404,
        'FloatingIPNotFound',
      );
    });

    it("another project sees neither the floating IP's forwardings nor can add any; deleting the port drops them", async () => {
      const { vm, fip } = await topology();
      const p = (await pf(fip.id, { internal_port_id: vm.id, internal_port: 22, external_port: 22 })).body.port_forwarding;
      assertError(await s.req('GET', pfPath(fip.id), undefined, BOB), 404, 'FloatingIPNotFound');
      assert.deepEqual(
        (await ok('GET', `${pfPath(fip.id)}?internal_port_id=${vm.id}`)).port_forwardings.map((x: any) => x.id),
        [p.id],
      );
      // The port's address changes: the forwarding to the old one goes.
      const other = (
        await ok('POST', pfPath(fip.id), { port_forwarding: { protocol: 'udp', internal_port_id: vm.id, internal_port: 53, external_port: 53 } })
      ).port_forwarding;
      const subnetId = vm.fixed_ips[0].subnet_id;
      const newIp = vm.fixed_ips[0].ip_address.replace(/\.\d+$/, '.77');
      await ok('PUT', `/v2.0/ports/${vm.id}`, { port: { fixed_ips: [{ subnet_id: subnetId, ip_address: newIp }] } });
      assert.deepEqual((await ok('GET', pfPath(fip.id))).port_forwardings, []);
      assert.ok(other.id);
      p.id = (await pf(fip.id, { internal_port_id: vm.id, internal_port: 22, external_port: 22 })).body.port_forwarding.id;
      assertError(await pf(fip.id, { internal_port_id: vm.id, internal_port: 23, external_port: 23 }, BOB), 404, 'FloatingIPNotFound');
      assert.equal((await s.req('GET', `${pfPath(fip.id)}/${p.id}`, undefined, ADMIN)).status, 200);
      assert.equal((await s.req('DELETE', `/v2.0/ports/${vm.id}`, undefined, ALICE)).status, 204);
      assert.deepEqual((await ok('GET', pfPath(fip.id))).port_forwardings, []);
      assert.equal((await ok('GET', `/v2.0/floatingips/${fip.id}`)).floatingip.router_id, null);
    });

    it('two concurrent forwardings for one external port: exactly one wins', async () => {
      const { n, vm, fip } = await topology();
      const ports = [vm, (await ok('POST', '/v2.0/ports', { port: { network_id: n.id } })).port];
      for (let round = 0; round < 3; round++) {
        const results = await Promise.all(
          ports.map((p, i) => pf(fip.id, { internal_port_id: p.id, internal_port: 1000 + round * 10 + i, external_port: 5000 + round })),
        );
        assert.deepEqual(results.map((r) => r.status).sort(), [201, 400], JSON.stringify(results.map((r) => r.body)));
      }
      // Overlapping ranges are no unique key: the floating IP's lock decides.
      const results = await Promise.all(
        ports.map((p, i) => pf(fip.id, { internal_port_id: p.id, internal_port: 2000 + i, external_port_range: i ? '6005:6015' : '6000:6010' })),
      );
      assert.deepEqual(results.map((r) => r.status).sort(), [201, 400], JSON.stringify(results.map((r) => r.body)));
      assert.equal((await ok('GET', pfPath(fip.id))).port_forwardings.length, 4);
    });

    it('conntrack helpers: CRUD, allowed helpers and protocols, duplicates, on the router', async () => {
      const { r } = await topology();
      const path = `/v2.0/routers/${r.id}/conntrack_helpers`;
      const c = await s.req('POST', path, { conntrack_helper: { protocol: 'tcp', port: 21, helper: 'ftp' } }, ALICE);
      assert.equal(c.status, 201, JSON.stringify(c.body));
      const h = c.body.conntrack_helper;
      assert.deepEqual(Object.keys(h).sort(), ['helper', 'id', 'port', 'protocol']);
      assert.deepEqual((await ok('GET', `/v2.0/routers/${r.id}`)).router.conntrack_helpers, [{ protocol: 'tcp', port: 21, helper: 'ftp' }]);
      assertError(
        await s.req('POST', path, { conntrack_helper: { protocol: 'tcp', port: 21, helper: 'ftp' } }, ALICE),
        400,
        'BadRequest',
        'duplicate',
      );
      assertError(
        await s.req('POST', path, { conntrack_helper: { protocol: 'tcp', port: 69, helper: 'sip' } }, ALICE),
        400,
        'ConntrackHelperNotAllowed',
      );
      assertError(
        await s.req('POST', path, { conntrack_helper: { protocol: 'udp', port: 21, helper: 'ftp' } }, ALICE),
        400,
        'InvalidProtocolForHelper',
        'Supported protocols are: tcp',
      );
      assertError(await s.req('POST', path, { conntrack_helper: { protocol: 'tcp', port: 21, helper: 'ftp' } }, BOB), 404, 'RouterNotFound');
      const u = (await ok('PUT', `${path}/${h.id}`, { conntrack_helper: { port: 2121 } })).conntrack_helper;
      assert.equal(u.port, 2121);
      assert.deepEqual(
        (await ok('GET', `${path}?port=2121`)).conntrack_helpers.map((x: any) => x.id),
        [h.id],
      );
      assert.equal((await s.req('DELETE', `${path}/${h.id}`, undefined, ALICE)).status, 204);
      assertError(await s.req('GET', `${path}/${h.id}`, undefined, ALICE), 404, 'ConntrackHelperNotFound');
      assert.deepEqual((await ok('GET', `/v2.0/routers/${r.id}`)).router.conntrack_helpers, []);
    });
  });
}

// NDP proxies (l3-ndp-proxy) and routers' enable_ndp_proxy (l3-ext-ndp-proxy) on every backend,
// through the real HTTP server: the gateway and address scope rules of Neutron's NDP proxy plugin,
// the address picked from the port, name/description updates, what the L3 agent is given, the
// gateway and interfaces that proxies keep, one proxy per router and address under concurrency.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, skipUnless } from '../helpers/backends.js';
import { ADMIN, ALICE, BOB, startServer, type TestServer, okCalls } from '../helpers/server.js';
import { assertError } from '../helpers/assert-error.js';

for (const backend of BACKENDS) {
  describe(`NDP proxies on ${backend.name}`, { skip: await skipUnless(backend) }, () => {
    let s: TestServer;
    let extNet: any;
    let net: any;
    let subnet: any;
    let router: any;
    let pool: any;
    const ok = okCalls(() => s, ADMIN);
    const subnetIn = async (network: any, cidr: string, as = ALICE, extra: object = {}) =>
      (await ok('POST', '/v2.0/subnets', { subnet: { network_id: network.id, ip_version: 6, cidr, subnetpool_id: pool.id, ...extra } }, as)).subnet;

    before(async () => {
      s = await startServer(backend);
      const scope = (await ok('POST', '/v2.0/address-scopes', { address_scope: { name: 'as6', ip_version: 6, shared: true } })).address_scope;
      pool = (
        await ok('POST', '/v2.0/subnetpools', {
          subnetpool: { name: 'p6', prefixes: ['2001:abc::/96'], default_prefixlen: 112, address_scope_id: scope.id, shared: true },
        })
      ).subnetpool;
      extNet = (await ok('POST', '/v2.0/networks', { network: { name: 'ext', 'router:external': true } })).network;
      await subnetIn(extNet, '2001:abc::1:0/112', ADMIN);
      net = (await ok('POST', '/v2.0/networks', { network: { name: 'int' } }, ALICE)).network;
      subnet = await subnetIn(net, '2001:abc::2:0/112');
      router = (
        await ok('POST', '/v2.0/routers', { router: { name: 'r', external_gateway_info: { network_id: extNet.id }, enable_ndp_proxy: true } }, ALICE)
      ).router;
      await ok('PUT', `/v2.0/routers/${router.id}/add_router_interface`, { subnet_id: subnet.id }, ALICE);
    });
    after(async () => {
      await s?.stop();
    });

    it('lists the extensions; routers show enable_ndp_proxy', async () => {
      const aliases = (await s.req('GET', '/v2.0/extensions')).body.extensions.map((e: any) => e.alias);
      assert.ok(aliases.includes('l3-ndp-proxy'));
      assert.ok(aliases.includes('l3-ext-ndp-proxy'));
      assert.equal(router.enable_ndp_proxy, true);
      // Unset on create: [DEFAULT] enable_ndp_proxy_by_default (false).
      const plain = (await ok('POST', '/v2.0/routers', { router: { external_gateway_info: { network_id: extNet.id } } }, ALICE)).router;
      assert.equal(plain.enable_ndp_proxy, false);
      assert.equal((await ok('PUT', `/v2.0/routers/${plain.id}`, { router: { enable_ndp_proxy: true } }, ALICE)).router.enable_ndp_proxy, true);
      await ok('DELETE', `/v2.0/routers/${plain.id}`, undefined, ALICE);
    });

    it('creates, shows, lists, updates and deletes a proxy; the address comes from the port', async () => {
      const port = (await ok('POST', '/v2.0/ports', { port: { network_id: net.id } }, ALICE)).port;
      const np = (
        await ok('POST', '/v2.0/ndp_proxies', { ndp_proxy: { name: 'n', description: 'd', router_id: router.id, port_id: port.id } }, ALICE)
      ).ndp_proxy;
      assert.equal(np.ip_address, port.fixed_ips[0].ip_address);
      assert.equal(np.router_id, router.id);
      assert.equal(np.port_id, port.id);
      assert.equal(np.project_id, ALICE.project);
      assert.equal(np.revision_number, 0);
      assert.deepEqual((await ok('GET', `/v2.0/ndp_proxies/${np.id}`, undefined, ALICE)).ndp_proxy, np);
      assert.deepEqual(
        (await ok('GET', `/v2.0/ndp_proxies?router_id=${router.id}`, undefined, ALICE)).ndp_proxies.map((x: any) => x.id),
        [np.id],
      );
      // Another project sees nothing of it.
      assertError(await s.req('GET', `/v2.0/ndp_proxies/${np.id}`, undefined, BOB), 404, 'NDPProxyNotFound');
      const up = (await ok('PUT', `/v2.0/ndp_proxies/${np.id}`, { ndp_proxy: { name: 'm' } }, ALICE)).ndp_proxy;
      assert.equal(up.name, 'm');
      assert.equal(up.description, 'd');
      assert.equal(up.revision_number, 1);
      assertError(await s.req('PUT', `/v2.0/ndp_proxies/${np.id}`, { ndp_proxy: { ip_address: '2001:abc::2:9' } }, ALICE), 400);
      // The L3 agent gets it in the router's sync data.
      const sync = (await ok('GET', `/v2.0/routers/${router.id}`)).router;
      assert.equal(sync._ndp_proxies, undefined, 'the agents-only key is not shown');
      // A proxied address keeps its subnet on the router, and the gateway.
      assertError(
        await s.req('PUT', `/v2.0/routers/${router.id}/remove_router_interface`, { subnet_id: subnet.id }, ALICE),
        409,
        'RouterInterfaceInUseByNDPProxy',
      );
      assertError(
        await s.req('PUT', `/v2.0/routers/${router.id}`, { router: { external_gateway_info: {} } }, ALICE),
        409,
        'RouterGatewayInUseByNDPProxy',
      );
      assert.equal((await s.req('DELETE', `/v2.0/ndp_proxies/${np.id}`, undefined, ALICE)).status, 204);
      assertError(
        await s.req('GET', `/v2.0/ndp_proxies/${np.id}`, undefined, ALICE),
        404,
        'NDPProxyNotFound',
        `Ndp proxy ${np.id} could not be found.`,
      );
      // A port's proxies go with it.
      const again = (await ok('POST', '/v2.0/ndp_proxies', { ndp_proxy: { router_id: router.id, port_id: port.id } }, ALICE)).ndp_proxy;
      await ok('DELETE', `/v2.0/ports/${port.id}`, undefined, ALICE);
      assertError(await s.req('GET', `/v2.0/ndp_proxies/${again.id}`, undefined, ALICE), 404);
    });

    it("refuses what Neutron's plugin refuses", async () => {
      const port = (await ok('POST', '/v2.0/ports', { port: { network_id: net.id } }, ALICE)).port;
      const create = (body: object, as = ALICE) =>
        s.req('POST', '/v2.0/ndp_proxies', { ndp_proxy: { router_id: router.id, port_id: port.id, ...body } }, as);
      assertError(await create({ ip_address: '2001:abc::2:ffff' }), 400, 'InvalidAddress', 'This address not belong to the port');
      assertError(await create({ ip_address: 'nope' }), 400);
      assertError(await create({ port_id: '6c2e9b62-2b07-4a3c-9d6f-0c2c3c1d7e01' }), 404, 'PortNotFound');
      assertError(await create({}, BOB), 404);
      // A port on a network the router has no interface on.
      const other = (await ok('POST', '/v2.0/networks', { network: { name: 'o' } }, ALICE)).network;
      await subnetIn(other, '2001:abc::3:0/112');
      const far = (await ok('POST', '/v2.0/ports', { port: { network_id: other.id } }, ALICE)).port;
      assertError(await create({ port_id: far.id }), 409, 'PortUnreachableRouter');
      // An IPv4-only port.
      const v4net = (await ok('POST', '/v2.0/networks', { network: { name: 'v4' } }, ALICE)).network;
      const v4sub = (await ok('POST', '/v2.0/subnets', { subnet: { network_id: v4net.id, ip_version: 4, cidr: '10.9.0.0/24' } }, ALICE)).subnet;
      await ok('PUT', `/v2.0/routers/${router.id}/add_router_interface`, { subnet_id: v4sub.id }, ALICE);
      const v4port = (await ok('POST', '/v2.0/ports', { port: { network_id: v4net.id } }, ALICE)).port;
      assertError(await create({ port_id: v4port.id }), 400, 'BadRequest', 'must allocate one IPv6 address at least');
      // A network outside the gateway's address scope.
      const loose = (await ok('POST', '/v2.0/networks', { network: { name: 'l' } }, ALICE)).network;
      const looseSub = (await ok('POST', '/v2.0/subnets', { subnet: { network_id: loose.id, ip_version: 6, cidr: '2002::abc:0/112' } }, ALICE))
        .subnet;
      await ok('PUT', `/v2.0/routers/${router.id}/add_router_interface`, { subnet_id: looseSub.id }, ALICE);
      const loosePort = (await ok('POST', '/v2.0/ports', { port: { network_id: loose.id } }, ALICE)).port;
      assertError(await create({ port_id: loosePort.id }), 409, 'AddressScopeConflict');
      // Proxies off: none may be made.
      await ok('PUT', `/v2.0/routers/${router.id}`, { router: { enable_ndp_proxy: false } }, ALICE);
      assertError(await create({}), 409, 'RouterNDPProxyNotEnable');
      await ok('PUT', `/v2.0/routers/${router.id}`, { router: { enable_ndp_proxy: true } }, ALICE);
    });

    it('enable_ndp_proxy needs a gateway that allows proxies', async () => {
      assertError(
        await s.req('POST', '/v2.0/routers', { router: { enable_ndp_proxy: true } }, ALICE),
        409,
        'RouterGatewayNotValid',
        'external gateway information',
      );
      // An external network without an IPv6 address scope.
      const bare = (await ok('POST', '/v2.0/networks', { network: { name: 'bare', 'router:external': true } })).network;
      await ok('POST', '/v2.0/subnets', { subnet: { network_id: bare.id, ip_version: 6, cidr: '2001:abc1::/112' } });
      assertError(
        await s.req('POST', '/v2.0/routers', { router: { external_gateway_info: { network_id: bare.id }, enable_ndp_proxy: true } }, ALICE),
        409,
        'RouterGatewayNotValid',
        "don't support IPv6 ndp proxy",
      );
      const r = (await ok('POST', '/v2.0/routers', { router: { name: 'x' } }, ALICE)).router;
      assert.equal(r.enable_ndp_proxy, false);
      assertError(await s.req('PUT', `/v2.0/routers/${r.id}`, { router: { enable_ndp_proxy: true } }, ALICE), 409, 'RouterGatewayNotValid');
      const g = (await ok('PUT', `/v2.0/routers/${r.id}`, { router: { external_gateway_info: { network_id: extNet.id } } }, ALICE)).router;
      assert.equal(g.enable_ndp_proxy, false);
      assert.equal((await ok('PUT', `/v2.0/routers/${r.id}`, { router: { enable_ndp_proxy: true } }, ALICE)).router.enable_ndp_proxy, true);
      assertError(
        await s.req('PUT', `/v2.0/routers/${r.id}`, { router: { external_gateway_info: {}, enable_ndp_proxy: true } }, ALICE),
        409,
        'RouterGatewayNotValid',
        'will be unset',
      );
      const unset = (await ok('PUT', `/v2.0/routers/${r.id}`, { router: { external_gateway_info: {} } }, ALICE)).router;
      assert.equal(unset.enable_ndp_proxy, false);
      await ok('DELETE', `/v2.0/routers/${r.id}`, undefined, ALICE);
    });

    it('proxies an address once per router under concurrent creates', async () => {
      const port = (await ok('POST', '/v2.0/ports', { port: { network_id: net.id } }, ALICE)).port;
      const rs = await Promise.all(
        Array.from({ length: 5 }, () => s.req('POST', '/v2.0/ndp_proxies', { ndp_proxy: { router_id: router.id, port_id: port.id } }, ALICE)),
      );
      assert.deepEqual(rs.map((r) => r.status).sort(), [201, 409, 409, 409, 409], JSON.stringify(rs.map((r) => r.body)));
      const list = (await ok('GET', `/v2.0/ndp_proxies?port_id=${port.id}`, undefined, ALICE)).ndp_proxies;
      assert.equal(list.length, 1);
    });
  });
}

describe('[DEFAULT] enable_ndp_proxy_by_default = true', () => {
  it('turns proxies on for routers created without the attribute, where the gateway allows them', async () => {
    const s = await startServer(BACKENDS[0]!, { DEFAULT: { enable_ndp_proxy_by_default: 'true' } });
    try {
      const ok = async (method: string, path: string, body?: unknown) => {
        const r = await s.req(method, path, body, ADMIN);
        assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
        return r.body;
      };
      const scope = (await ok('POST', '/v2.0/address-scopes', { address_scope: { name: 's', ip_version: 6 } })).address_scope;
      const pool = (
        await ok('POST', '/v2.0/subnetpools', {
          subnetpool: { name: 'p', prefixes: ['2001:abc::/96'], default_prefixlen: 112, address_scope_id: scope.id },
        })
      ).subnetpool;
      const scoped = (await ok('POST', '/v2.0/networks', { network: { name: 'e', 'router:external': true } })).network;
      await ok('POST', '/v2.0/subnets', { subnet: { network_id: scoped.id, ip_version: 6, cidr: '2001:abc::1:0/112', subnetpool_id: pool.id } });
      const bare = (await ok('POST', '/v2.0/networks', { network: { name: 'b', 'router:external': true } })).network;
      await ok('POST', '/v2.0/subnets', { subnet: { network_id: bare.id, ip_version: 6, cidr: '2001:db9::/64' } });
      const on = (await ok('POST', '/v2.0/routers', { router: { external_gateway_info: { network_id: scoped.id } } })).router;
      assert.equal(on.enable_ndp_proxy, true);
      const off = (await ok('POST', '/v2.0/routers', { router: { external_gateway_info: { network_id: bare.id } } })).router;
      assert.equal(off.enable_ndp_proxy, false);
      const asked = (await ok('POST', '/v2.0/routers', { router: { external_gateway_info: { network_id: scoped.id }, enable_ndp_proxy: false } }))
        .router;
      assert.equal(asked.enable_ndp_proxy, false);
      // A gateway set later on a router without one: the default again.
      const later = (await ok('POST', '/v2.0/routers', { router: { name: 'l' } })).router;
      assert.equal(
        (await ok('PUT', `/v2.0/routers/${later.id}`, { router: { external_gateway_info: { network_id: scoped.id } } })).router.enable_ndp_proxy,
        true,
      );
    } finally {
      await s.stop();
    }
  });
});

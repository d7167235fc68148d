// The metadata agent's pure core (signature, who is asking, lookups, Nova's headers, error pages),
// the DHCP side's metadata rules, the haproxy configuration and the get_ports filter mapping.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  errorPage,
  instancePortFilters,
  novaHeaders,
  pageForNovaStatus,
  requesterOf,
  routerPortFilters,
  signInstanceId,
} from '../../src/agents/metadata/request.js';
import { routerMetadataNftRules } from '../../src/agents/metadata/proxy.js';
import { isolatedSubnets, metadataAddresses, metadataRoutes, shouldServeMetadata } from '../../src/agents/dhcp/metadata.js';
import { renderOpts, type NetworkInfo } from '../../src/agents/dhcp/render.js';
import { renderHttpProxyConfig } from '../../src/dataplane/haproxy.js';
import { portQuery } from '../../src/plugins/metadata/plugin.js';
import { metadataWorkers } from '../../src/agents/metadata/main.js';
import { loadConfig } from '../../src/config/index.js';

const NET = 'aaaaaaaa-1111-2222-3333-444444444444';
const ROUTER = 'rrrrrrrr-1111-2222-3333-444444444444';
const INSTANCE = '9f1c2d9e-6a0b-4c55-9a4f-0d2b1a7e3c11';

describe('metadata request core', () => {
  it('signs the instance id as Nova checks it (HMAC-SHA256 hex, the value Python hmac gives)', () => {
    assert.equal(signInstanceId('s3cr3t', INSTANCE), '6864b850ef4798a4a17502510b5fe15b25673e3057631329d1a44f79ea9f16a7');
    assert.notEqual(signInstanceId('other', INSTANCE), signInstanceId('s3cr3t', INSTANCE));
  });

  it('takes the requester from the proxy headers: network or router, the last X-Forwarded-For hop', () => {
    assert.deepEqual(requesterOf({ 'x-neutron-network-id': NET, 'x-forwarded-for': '10.0.0.5' }), {
      ip: '10.0.0.5',
      mac: null,
      networkId: NET,
      routerId: null,
    });
    // A client's own X-Forwarded-For comes first; the proxy's hop is the last one.
    assert.equal(requesterOf({ 'x-neutron-router-id': ROUTER, 'x-forwarded-for': '1.2.3.4, 10.0.0.7' })?.ip, '10.0.0.7');
    assert.equal(requesterOf({ 'x-neutron-network-id': NET, 'x-forwarded-for': '::ffff:10.0.0.9' })?.ip, '10.0.0.9');
    assert.equal(requesterOf({ 'x-neutron-network-id': NET, 'x-forwarded-for': 'fe80::a8bb:ccff:fedd:eeff' })?.mac, 'aa:bb:cc:dd:ee:ff');
  });

  it('refuses to attribute a request with both ids, neither, or no valid address', () => {
    assert.equal(requesterOf({ 'x-neutron-network-id': NET, 'x-neutron-router-id': ROUTER, 'x-forwarded-for': '10.0.0.5' }), null);
    assert.equal(requesterOf({ 'x-forwarded-for': '10.0.0.5' }), null);
    assert.equal(requesterOf({ 'x-neutron-network-id': NET }), null);
    assert.equal(requesterOf({ 'x-neutron-network-id': NET, 'x-forwarded-for': 'not-an-ip' }), null);
  });

  it("builds Neutron's get_ports filters", () => {
    assert.deepEqual(routerPortFilters(ROUTER), {
      device_id: [ROUTER],
      device_owner: ['network:router_interface', 'network:ha_router_replicated_interface', 'network:router_interface_distributed'],
    });
    const who = { ip: '10.0.0.5', mac: null, networkId: NET, routerId: null };
    assert.deepEqual(instancePortFilters(who, [NET]), { network_id: [NET], fixed_ips: { ip_address: ['10.0.0.5'] } });
    assert.deepEqual(instancePortFilters({ ...who, mac: 'aa:bb:cc:dd:ee:ff' }, [NET]), { network_id: [NET], mac_address: ['aa:bb:cc:dd:ee:ff'] });
  });

  it('gives Nova the four headers', () => {
    assert.deepEqual(novaHeaders({ device_id: INSTANCE, tenant_id: 'proj' }, '10.0.0.5', 's3cr3t'), {
      'X-Forwarded-For': '10.0.0.5',
      'X-Instance-ID': INSTANCE,
      'X-Tenant-ID': 'proj',
      'X-Instance-ID-Signature': '6864b850ef4798a4a17502510b5fe15b25673e3057631329d1a44f79ea9f16a7',
    });
  });

  it("answers with webob's pages, as Neutron's agent (texts checked against webob 1.8)", () => {
    const html = errorPage(404, '*/*');
    assert.equal(html.status, 404);
    assert.match(html.contentType, /^text\/html/);
    assert.equal(
      html.body,
      '<html>\n <head>\n  <title>404 Not Found</title>\n </head>\n <body>\n  <h1>404 Not Found</h1>\n  The resource could not be found.<br /><br />\n\n\n\n </body>\n</html>',
    );
    assert.equal(errorPage(404, 'text/plain').body, '404 Not Found\n\nThe resource could not be found.\n\n   ');
    assert.equal(errorPage(404, undefined).contentType.split(';')[0], 'text/plain');
    assert.deepEqual(JSON.parse(errorPage(404, 'application/json').body), {
      message: 'The resource could not be found.<br /><br />\n\n\n',
      code: '404 Not Found',
      title: 'Not Found',
    });
    assert.equal(
      errorPage(500, 'text/plain').body,
      '500 Internal Server Error\n\nAn unknown error has occurred. Please try your request again.\n\n   ',
    );
  });

  it("maps Nova's statuses as Neutron does", () => {
    assert.equal(pageForNovaStatus(200, '*/*'), 'pass');
    for (const s of [400, 403, 404, 409]) assert.equal((pageForNovaStatus(s, 'text/plain') as { status: number }).status, s);
    const p500 = pageForNovaStatus(500, 'text/plain') as { body: string };
    assert.match(p500.body, /Remote metadata server experienced an internal server error\./);
    const other = pageForNovaStatus(302, 'text/plain') as { status: number; body: string };
    assert.equal(other.status, 500);
    assert.match(other.body, /An unknown error has occurred/);
  });
});

describe('metadata on the DHCP agent', () => {
  const S1 = '11111111-0000-0000-0000-000000000000';
  const DHCP_PORT = {
    id: 'dddddddd-0000-0000-0000-000000000000',
    network_id: NET,
    mac_address: 'fa:16:3e:00:00:01',
    device_id: 'dhcp',
    device_owner: 'network:dhcp',
    fixed_ips: [{ subnet_id: S1, ip_address: '10.0.0.2' }],
  };
  const net = (routed: boolean): NetworkInfo => ({
    id: NET,
    subnets: [{ id: S1, network_id: NET, ip_version: 4, cidr: '10.0.0.0/24', gateway_ip: '10.0.0.1', enable_dhcp: true }],
    ports: [
      DHCP_PORT,
      ...(routed
        ? [
            {
              id: 'eeeeeeee-0000-0000-0000-000000000000',
              network_id: NET,
              mac_address: 'fa:16:3e:00:00:02',
              device_id: ROUTER,
              device_owner: 'network:router_interface',
              fixed_ips: [{ subnet_id: S1, ip_address: '10.0.0.1' }],
            },
          ]
        : []),
    ],
  });
  const paths = { statePath: '/var/lib/neutrino', socketPath: '/var/lib/neutrino/metadata_proxy' };
  const isolated = { ...paths, enableIsolatedMetadata: true, forceMetadata: false };
  const forced = { ...paths, enableIsolatedMetadata: false, forceMetadata: true };
  const off = { ...paths, enableIsolatedMetadata: false, forceMetadata: false };

  it('a subnet is isolated unless a router interface holds its gateway address', () => {
    assert.deepEqual([...isolatedSubnets(net(false))], [S1]);
    assert.deepEqual([...isolatedSubnets(net(true))], []);
  });

  it('serves an isolated network, every network when forced, nothing when off', () => {
    assert.equal(shouldServeMetadata(isolated, net(false)), true);
    assert.equal(shouldServeMetadata(isolated, net(true)), false);
    assert.equal(shouldServeMetadata(forced, net(true)), true);
    assert.equal(shouldServeMetadata(off, net(false)), false);
    assert.deepEqual(metadataAddresses(isolated), ['169.254.169.254/32']);
    assert.deepEqual(metadataAddresses(off), []);
  });

  it('pushes the host route via the DHCP port when isolated or forced, via the gateway when routed', () => {
    assert.deepEqual([...metadataRoutes(isolated, net(false), DHCP_PORT)], [[S1, '169.254.169.254/32,10.0.0.2']]);
    assert.deepEqual([...metadataRoutes(isolated, net(true), DHCP_PORT)], [[S1, '169.254.169.254/32,10.0.0.1']]);
    assert.deepEqual([...metadataRoutes(forced, net(true), DHCP_PORT)], [[S1, '169.254.169.254/32,10.0.0.2']]);
    assert.equal(metadataRoutes(off, net(false), DHCP_PORT).size, 0);
  });

  it("writes it into dnsmasq's opts as Neutron (121 and 249, with the default route after it)", () => {
    const opts = renderOpts(net(false), metadataRoutes(isolated, net(false), DHCP_PORT));
    assert.match(opts, new RegExp(`tag:subnet-${S1},option:classless-static-route,169.254.169.254/32,10.0.0.2,0.0.0.0/0,10.0.0.1`));
    assert.match(opts, new RegExp(`tag:subnet-${S1},249,169.254.169.254/32,10.0.0.2,0.0.0.0/0,10.0.0.1`));
    assert.doesNotMatch(renderOpts(net(false)), /169\.254/);
  });
});

describe('metadata proxies', () => {
  it('haproxy listens where asked, forwards to the socket, drops the client X-Forwarded-For and sets the id', () => {
    const conf = renderHttpProxyConfig({
      id: NET,
      stateDir: '/s/ns-metadata-proxy',
      listenHost: '169.254.169.254',
      listenPort: 80,
      socketPath: '/s/metadata_proxy',
      setHeaders: { 'X-Neutron-Network-ID': NET },
      deleteHeaders: ['X-Neutron-Router-ID'],
    });
    assert.match(conf, /bind 169\.254\.169\.254:80\n/);
    assert.match(conf, /server upstream \/s\/metadata_proxy\n/);
    assert.match(conf, /option forwardfor/);
    assert.match(conf, /http-request del-header X-Forwarded-For/);
    assert.match(conf, /http-request del-header X-Neutron-Router-ID/);
    assert.match(conf, new RegExp(`http-request set-header X-Neutron-Network-ID ${NET}`));
    assert.match(conf, /pidfile \/s\/ns-metadata-proxy\/aaaaaaaa-1111-2222-3333-444444444444\.pid/);
    assert.doesNotMatch(conf, /interface/);
    // IPv6 metadata: fe80::a9fe:a9fe on the DHCP port's link, bound to that interface (a link-local address needs one).
    const v6 = renderHttpProxyConfig({
      id: NET,
      stateDir: '/s',
      listenHost: '169.254.169.254',
      listenPort: 80,
      socketPath: '/s/metadata_proxy',
      interfaceBinds: [{ host: 'fe80::a9fe:a9fe', port: 80, iface: 'ns-aaaaaaaa-11' }],
    });
    assert.match(v6, /bind 169\.254\.169\.254:80\n {4}bind \[fe80::a9fe:a9fe\]:80 interface ns-aaaaaaaa-11\n/);
    const bad = (iface: string) => () =>
      renderHttpProxyConfig({
        id: NET,
        stateDir: '/s',
        listenHost: '0.0.0.0',
        listenPort: 80,
        socketPath: '/s',
        interfaceBinds: [{ host: 'fe80::1', port: 80, iface }],
      });
    assert.throws(bad('ns-x; rm'));
    assert.throws(() => renderHttpProxyConfig({ id: NET, stateDir: '/s', listenHost: '0.0.0.0', listenPort: 9697, socketPath: 'relative' }));
    assert.throws(() =>
      renderHttpProxyConfig({ id: NET, stateDir: '/s', listenHost: '0.0.0.0', listenPort: 9697, socketPath: '/s', setHeaders: { X: 'a b' } }),
    );
  });

  it('gives the L3 agent the redirect to 9697 and the input filter that admits only redirected connections', () => {
    assert.deepEqual(routerMetadataNftRules(), {
      nat: ['iifname "qr-*" ip daddr 169.254.169.254 tcp dport 80 redirect to :9697'],
      filter: ['tcp dport 9697 ct status dnat accept', 'tcp dport 9697 drop'],
    });
  });
});

describe('metadata server side and configuration', () => {
  it("maps the agent's filter dict to a list query, refusing what it does not know", () => {
    assert.deepEqual(portQuery({ network_id: [NET], fixed_ips: { ip_address: ['10.0.0.5'] } }).filters, {
      network_id: [NET],
      fixed_ips: ['ip_address=10.0.0.5'],
    });
    assert.deepEqual(portQuery({ device_id: [ROUTER], device_owner: ['network:router_interface'], tenant_id: 'p' }).filters, {
      device_id: [ROUTER],
      device_owner: ['network:router_interface'],
      project_id: ['p'],
    });
    assert.throws(() => portQuery({ name: ['x'] }), /unsupported filter name/);
    assert.throws(() => portQuery({ fixed_ips: { ip_address_substr: ['1'] } }), /unsupported fixed_ips filter/);
  });

  it('metadata_workers defaults to half the CPUs, as Neutron', () => {
    const cfg = loadConfig([], {});
    assert.equal(metadataWorkers(cfg, 8), 4);
    assert.equal(metadataWorkers(cfg, 3), 1);
    assert.equal(metadataWorkers(loadConfig([], { DEFAULT: { metadata_workers: '3' } }), 8), 3);
    assert.equal(cfg.DEFAULT.nova_metadata_port, 8775);
    assert.equal(cfg.DEFAULT.nova_metadata_protocol, 'http');
  });
});

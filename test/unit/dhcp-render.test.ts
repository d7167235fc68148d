// The DHCP agent's pure rendering: dnsmasq hosts/opts files and arguments in Neutron's formats.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  bridgeOf,
  namespaceOf,
  nsIfOf,
  portAddresses,
  renderArgs,
  renderHosts,
  renderOpts,
  tapOf,
  type NetworkInfo,
} from '../../src/agents/dhcp/render.js';

const R = { dnsDomain: 'openstacklocal', leaseDuration: 86400, leaseMax: 16777216, dnsServers: [] };
const NET = 'aaaaaaaa-1111-2222-3333-444444444444';
const S4 = '11111111-0000-0000-0000-000000000000';
const S6 = '66666666-0000-0000-0000-000000000000';
const S6L = '77777777-0000-0000-0000-000000000000';

function net(): NetworkInfo {
  return {
    id: NET,
    mtu: 1450,
    subnets: [
      {
        id: S4,
        network_id: NET,
        ip_version: 4,
        cidr: '10.0.0.0/24',
        gateway_ip: '10.0.0.1',
        enable_dhcp: true,
        dns_nameservers: ['10.0.0.53', '8.8.8.8'],
        host_routes: [{ destination: '192.168.0.0/16', nexthop: '10.0.0.254' }],
      },
      {
        id: S6,
        network_id: NET,
        ip_version: 6,
        cidr: 'fd00::/64',
        gateway_ip: 'fd00::1',
        enable_dhcp: true,
        ipv6_address_mode: 'dhcpv6-stateful',
        ipv6_ra_mode: 'dhcpv6-stateful',
        dns_nameservers: ['fd00::53'],
      },
      {
        id: S6L,
        network_id: NET,
        ip_version: 6,
        cidr: 'fd01::/64',
        gateway_ip: 'fd01::1',
        enable_dhcp: true,
        ipv6_address_mode: 'dhcpv6-stateless',
        ipv6_ra_mode: 'dhcpv6-stateless',
      },
    ],
    ports: [
      {
        id: 'bbbbbbbb-0000-0000-0000-000000000001',
        network_id: NET,
        mac_address: 'fa:16:3e:00:00:01',
        device_id: 'vm1',
        device_owner: 'compute:nova',
        fixed_ips: [
          { subnet_id: S4, ip_address: '10.0.0.5' },
          { subnet_id: S6, ip_address: 'fd00::5' },
          { subnet_id: S6L, ip_address: 'fd01::f816:3eff:fe00:1' },
        ],
        extra_dhcp_opts: [
          { opt_name: 'domain-search', opt_value: 'example.org', ip_version: 4 },
          { opt_name: '42', opt_value: '10.0.0.123', ip_version: 4 },
        ],
      },
      {
        id: 'cccccccc-0000-0000-0000-000000000002',
        network_id: NET,
        mac_address: 'fa:16:3e:00:00:02',
        device_id: 'dhcpX',
        device_owner: 'network:dhcp',
        fixed_ips: [{ subnet_id: S4, ip_address: '10.0.0.2' }],
        extra_dhcp_opts: [],
      },
    ],
  };
}

describe('DHCP agent rendering', () => {
  it('names like Neutron', () => {
    assert.equal(namespaceOf(NET), `qdhcp-${NET}`);
    assert.equal(bridgeOf(NET), 'brqaaaaaaaa-11');
    assert.equal(tapOf('cccccccc-0000-0000'), 'tapcccccccc-00');
    assert.equal(nsIfOf('cccccccc-0000-0000'), 'ns-cccccccc-00');
  });

  it('hosts file: mac,host-<ip>.<domain>,ip per assigned fixed IP, port tag when it has options', () => {
    assert.equal(
      renderHosts(net(), R),
      [
        `fa:16:3e:00:00:01,host-10-0-0-5.openstacklocal,10.0.0.5,set:port-bbbbbbbb-0000-0000-0000-000000000001`,
        `fa:16:3e:00:00:01,host-fd00--5.openstacklocal,[fd00::5],set:port-bbbbbbbb-0000-0000-0000-000000000001`,
        `fa:16:3e:00:00:02,host-10-0-0-2.openstacklocal,10.0.0.2`,
        '',
      ].join('\n'),
    );
  });

  it('opts file: DNS, option 121 + 249 with the default route, router, MTU, per-port options', () => {
    assert.equal(
      renderOpts(net()),
      [
        `tag:subnet-${S4},option:dns-server,10.0.0.53,8.8.8.8`,
        `tag:subnet-${S4},option:classless-static-route,192.168.0.0/16,10.0.0.254,0.0.0.0/0,10.0.0.1`,
        `tag:subnet-${S4},249,192.168.0.0/16,10.0.0.254,0.0.0.0/0,10.0.0.1`,
        `tag:subnet-${S4},option:router,10.0.0.1`,
        `tag:subnet-${S4},option:mtu,1450`,
        `tag:subnet-${S6},option6:dns-server,[fd00::53]`,
        `tag:port-bbbbbbbb-0000-0000-0000-000000000001,option:domain-search,example.org`,
        `tag:port-bbbbbbbb-0000-0000-0000-000000000001,42,10.0.0.123`,
        '',
      ].join('\n'),
    );
  });

  it('no gateway: an empty router option; no host routes: no option 121', () => {
    const n = net();
    n.subnets = [{ ...n.subnets[0]!, gateway_ip: null, host_routes: [], dns_nameservers: [] }];
    assert.equal(renderOpts(n).split('\n')[0], `tag:subnet-${S4},option:router`);
  });

  it('arguments: a static range per subnet (v6 stateful and stateless), lease limits, domain', () => {
    assert.deepEqual(renderArgs(net(), R), [
      `--dhcp-range=set:subnet-${S4},10.0.0.0,static,255.255.255.0,86400s`,
      `--dhcp-range=set:subnet-${S6},fd00::,static,64,86400s`,
      `--dhcp-range=set:subnet-${S6L},fd01::,static,64,86400s`,
      '--dhcp-lease-max=16777216',
      '--dhcp-authoritative',
      '--local-service',
      '--domain=openstacklocal',
    ]);
  });

  it('the DHCP port addresses carry the subnet prefix length', () => {
    const n = net();
    assert.deepEqual(portAddresses(n, n.ports[1]!), ['10.0.0.2/24']);
  });
});

// The L3 agent's NDP proxy plan (pure): proxied addresses on the gateway device, and the forward
// filter over the internal IPv6 subnets in the gateway's address scope; nothing without
// enable_ndp_proxy or a gateway.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { planNdp, NDP_TABLE } from '../../src/agents/l3/ndp-proxy.js';
import { renderTableBody } from '../../src/dataplane/index.js';

const GW = '11111111-2222-3333-4444-555555555555';
const router = (o: object = {}) =>
  ({
    id: 'r1',
    admin_state_up: true,
    gw_port: { id: GW, network_id: 'ext', mac_address: 'fa:16:3e:00:00:01', fixed_ips: [], address_scopes: { 6: 'scope-a', 4: null } },
    _interfaces: [
      {
        id: 'p-in',
        network_id: 'n1',
        mac_address: 'fa:16:3e:00:00:02',
        fixed_ips: [],
        address_scopes: { 6: 'scope-a' },
        subnets: [
          { id: 's6', cidr: '2001:db8:1::/64', gateway_ip: null },
          { id: 's4', cidr: '10.0.0.0/24', gateway_ip: null },
        ],
      },
      {
        id: 'p-out',
        network_id: 'n2',
        mac_address: 'fa:16:3e:00:00:03',
        fixed_ips: [],
        address_scopes: { 6: 'scope-b' },
        subnets: [{ id: 's6b', cidr: '2001:db8:2::/64', gateway_ip: null }],
      },
    ],
    enable_ndp_proxy: true,
    _ndp_proxies: [{ ip_address: '2001:db8:1::20' }, { ip_address: '2001:db8:1::10' }],
    ...o,
  }) as never;

describe('L3 agent NDP proxy plan', () => {
  it('proxies the addresses on qg- and filters only in-scope IPv6 subnets', () => {
    const p = planNdp(router())!;
    assert.equal(p.gwDev, 'qg-11111111-22');
    assert.deepEqual(p.proxies, ['2001:db8:1::10', '2001:db8:1::20']);
    assert.equal(p.table.family, 'ip6');
    assert.equal(p.table.name, NDP_TABLE);
    const text = renderTableBody(p.table);
    assert.match(text, /iifname "qg-11111111-22" ip6 daddr 2001:db8:1::\/64 jump ndp_proxy/);
    assert.doesNotMatch(text, /2001:db8:2::/, 'another address scope is not filtered');
    assert.doesNotMatch(text, /10\.0\.0\.0/);
    assert.match(text, /ip6 daddr 2001:db8:1::10 accept/);
    assert.match(text, /iifname "qg-11111111-22" drop/);
  });

  it('serves nothing when disabled or without a gateway', () => {
    assert.equal(planNdp(router({ enable_ndp_proxy: false })), null);
    assert.equal(planNdp(router({ gw_port: undefined })), null);
  });

  it('with no proxy every in-scope address is dropped from the gateway', () => {
    const p = planNdp(router({ _ndp_proxies: [] }))!;
    assert.deepEqual(p.proxies, []);
    assert.deepEqual(p.table.chains[1]!.rules, ['iifname "qg-11111111-22" drop']);
  });
});

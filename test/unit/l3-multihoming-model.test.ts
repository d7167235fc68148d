// The L3 agent's plan of a router with several external gateways (external-gateway-multihoming):
// one qg- per gateway port, floating addresses on the gateway of their network, SNAT per gateway
// device to its own address, the default route via the first gateway or (enable_default_route_ecmp)
// one multipath route; and the static-route diff and batch for multipath routes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { diffRoutes, parseRoutes, routeOpsToBatch } from '../../src/dataplane/index.js';
import { planRouter, type SyncPort, type SyncRouter } from '../../src/agents/l3/model.js';
import { planHa } from '../../src/agents/l3/ha.js';

const R = '5b1b7c2e-0a34-4d7e-9a0e-3c7f2a1d9e01';
const GW1 = 'aaaaaaaa-1111-4111-8111-000000000001';
const GW2 = 'aaaaaaaa-2222-4111-8111-000000000002';
const EXT1 = 'eeeeeeee-3333-4333-8333-000000000003';
const EXT2 = 'eeeeeeee-4444-4333-8333-000000000004';

const gwPort = (id: string, net: string, ip: string, cidr: string, gateway: string): SyncPort => ({
  id,
  network_id: net,
  mac_address: 'fa:16:3e:00:00:01',
  fixed_ips: [{ subnet_id: `s-${net}`, ip_address: ip, prefixlen: 24 }],
  subnets: [{ id: `s-${net}`, cidr, gateway_ip: gateway }],
});

function router(extra: Partial<SyncRouter> = {}): SyncRouter {
  return {
    id: R,
    admin_state_up: true,
    enable_snat: true,
    gw_port: gwPort(GW1, EXT1, '203.0.113.20', '203.0.113.0/24', '203.0.113.1'),
    _extra_gw_ports: [gwPort(GW2, EXT2, '198.51.100.20', '198.51.100.0/24', '198.51.100.1')],
    _floatingips: [
      { id: 'f1', floating_ip_address: '203.0.113.50', fixed_ip_address: '10.0.0.5', router_id: R, status: 'DOWN', floating_network_id: EXT1 },
      { id: 'f2', floating_ip_address: '198.51.100.50', fixed_ip_address: '10.0.0.6', router_id: R, status: 'DOWN', floating_network_id: EXT2 },
    ],
    ...extra,
  };
}

const qg1 = `qg-${GW1.slice(0, 11)}`;
const qg2 = `qg-${GW2.slice(0, 11)}`;

describe('L3 agent model: several external gateways', () => {
  it('one qg- per gateway, floating addresses on their own network, SNAT per device, the default via the first', () => {
    const p = planRouter(router());
    assert.deepEqual(p.gatewayDevs, [qg1, qg2]);
    assert.deepEqual(p.routerLinks.find((l) => l.name === qg1)!.addresses, ['203.0.113.20/24', '203.0.113.50/32']);
    assert.deepEqual(p.routerLinks.find((l) => l.name === qg2)!.addresses, ['198.51.100.20/24', '198.51.100.50/32']);
    assert.ok(p.hostLinks.some((l) => l.name === `brq${EXT2.slice(0, 11)}`));
    assert.deepEqual(p.routes, [{ dst: 'default', via: '203.0.113.1', dev: qg1 }]);
    const post = p.nat.chains.find((c) => c.name === 'postrouting')!.rules;
    assert.deepEqual(post, [
      `oifname "${qg1}" snat to ip saddr map @fip_snat`,
      `oifname "${qg1}" snat to 203.0.113.20`,
      `oifname "${qg2}" snat to ip saddr map @fip_snat`,
      `oifname "${qg2}" snat to 198.51.100.20`,
    ]);
    // Without SNAT only the floating IPs' rules stay.
    assert.equal(planRouter(router({ enable_snat: false })).nat.chains.find((c) => c.name === 'postrouting')!.rules.length, 2);
  });

  it('enable_default_route_ecmp: one multipath default route; a single gateway keeps a plain one', () => {
    const p = planRouter(router({ enable_default_route_ecmp: true }));
    assert.deepEqual(p.routes, [
      {
        dst: 'default',
        nexthops: [
          { via: '203.0.113.1', dev: qg1 },
          { via: '198.51.100.1', dev: qg2 },
        ],
      },
    ]);
    const single = planRouter(router({ enable_default_route_ecmp: true, _extra_gw_ports: [] }));
    assert.deepEqual(single.routes, [{ dst: 'default', via: '203.0.113.1', dev: qg1 }]);
    // keepalived (HA) holds the same multipath route, as a nexthop list.
    const ha = planHa(
      {
        ...router({ enable_default_route_ecmp: true }),
        ha: true,
        ha_vr_id: 1,
        _ha_interface: gwPort('hh', 'hn', '169.254.192.1', '169.254.192.0/18', ''),
      },
      p,
    );
    assert.deepEqual(ha.routes, [`0.0.0.0/0 nexthop via 203.0.113.1 dev ${qg1} nexthop via 198.51.100.1 dev ${qg2}`]);
  });

  it('multipath routes: parsed from ip -json, diffed by their next hops, written with proto before the hops', () => {
    const actual = parseRoutes(
      JSON.stringify([
        {
          dst: 'default',
          protocol: 'static',
          flags: [],
          nexthops: [
            { gateway: '203.0.113.1', dev: qg1, weight: 1 },
            { gateway: '198.51.100.1', dev: qg2, weight: 1 },
          ],
        },
      ]),
    );
    const want = [
      {
        dst: 'default',
        nexthops: [
          { via: '198.51.100.1', dev: qg2 },
          { via: '203.0.113.1', dev: qg1 },
        ],
      },
    ];
    assert.deepEqual(diffRoutes(want, actual), []);
    const single = [{ dst: 'default', via: '203.0.113.1', dev: qg1 }];
    const ops = diffRoutes(single, actual);
    assert.deepEqual(ops, [{ op: 'replace', route: single[0] }]);
    const back = diffRoutes(want, parseRoutes(JSON.stringify([{ dst: 'default', gateway: '203.0.113.1', dev: qg1 }])));
    assert.equal(back.length, 1);
    assert.equal(
      routeOpsToBatch(back).text(),
      `route replace default proto static nexthop via 198.51.100.1 dev ${qg2} nexthop via 203.0.113.1 dev ${qg1}\n`,
    );
  });
});

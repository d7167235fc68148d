// The L3 agent's pure core (a router's sync data → links, routes, NAT table, floating IP
// statuses) and the static-route diff it is applied with.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { diffRoutes, planTable, expectedTable } from '../../src/dataplane/index.js';
import { fipStatusChanges, planRouter, routerIdOfNamespace, type SyncRouter } from '../../src/agents/l3/model.js';

const R = '5b1b7c2e-0a34-4d7e-9a0e-3c7f2a1d9e01';
const GW = 'aaaaaaaa-1111-4111-8111-000000000001';
const QR = 'bbbbbbbb-2222-4222-8222-000000000002';
const EXT = 'eeeeeeee-3333-4333-8333-000000000003';
const NET = 'cccccccc-4444-4444-8444-000000000004';

function router(extra: Partial<SyncRouter> = {}): SyncRouter {
  return {
    id: R,
    admin_state_up: true,
    enable_snat: true,
    gw_port: {
      id: GW,
      network_id: EXT,
      mac_address: 'fa:16:3e:00:00:01',
      fixed_ips: [{ subnet_id: 's-ext', ip_address: '203.0.113.20', prefixlen: 24 }],
      subnets: [{ id: 's-ext', cidr: '203.0.113.0/24', gateway_ip: '203.0.113.1' }],
      mtu: 1500,
    },
    _interfaces: [
      {
        id: QR,
        network_id: NET,
        mac_address: 'fa:16:3e:00:00:02',
        fixed_ips: [{ subnet_id: 's-in', ip_address: '10.0.0.1', prefixlen: 24 }],
        mtu: 1450,
      },
    ],
    routes: [{ destination: '198.51.100.0/24', nexthop: '10.0.0.9' }],
    _floatingips: [{ id: 'f1', floating_ip_address: '203.0.113.50', fixed_ip_address: '10.0.0.5', router_id: R, status: 'DOWN' }],
    ...extra,
  };
}

describe('L3 agent model', () => {
  it('plans the veths into the bridges, addresses with the floating IPs on qg-, routes and NAT', () => {
    const p = planRouter(router());
    assert.equal(p.namespace, `qrouter-${R}`);
    assert.deepEqual(
      p.hostLinks.map((l) => [l.kind, l.name, l.master]),
      [
        ['bridge', `brq${NET.slice(0, 11)}`, undefined],
        ['veth', `tap${QR.slice(0, 11)}`, `brq${NET.slice(0, 11)}`],
        ['bridge', `brq${EXT.slice(0, 11)}`, undefined],
        ['veth', `tap${GW.slice(0, 11)}`, `brq${EXT.slice(0, 11)}`],
      ],
    );
    const qg = p.routerLinks.find((l) => l.name === `qg-${GW.slice(0, 11)}`)!;
    assert.deepEqual(qg.addresses, ['203.0.113.20/24', '203.0.113.50/32']);
    assert.equal(p.routerLinks.find((l) => l.name === `qr-${QR.slice(0, 11)}`)!.mtu, 1450);
    assert.deepEqual(p.routes, [
      { dst: 'default', via: '203.0.113.1', dev: `qg-${GW.slice(0, 11)}` },
      { dst: '198.51.100.0/24', via: '10.0.0.9' },
    ]);
    const post = p.nat.chains.find((c) => c.name === 'postrouting')!.rules;
    assert.deepEqual(post, [
      `oifname "qg-${GW.slice(0, 11)}" snat to ip saddr map @fip_snat`,
      `oifname "qg-${GW.slice(0, 11)}" snat to 203.0.113.20`,
    ]);
    assert.deepEqual(p.nat.maps!.find((m) => m.name === 'fip_dnat')!.elements, ['203.0.113.50 : 10.0.0.5']);
    assert.deepEqual(p.fipStatuses, { f1: 'ACTIVE' });
  });

  it('enable_snat false keeps floating IPs and drops the gateway SNAT; no gateway, no NAT rules', () => {
    const off = planRouter(router({ enable_snat: false }));
    assert.equal(off.nat.chains.find((c) => c.name === 'postrouting')!.rules.length, 1);
    const internal = planRouter(router({ gw_port: undefined, _floatingips: [] }));
    assert.equal(internal.gatewayDev, null);
    assert.deepEqual(internal.nat.chains.find((c) => c.name === 'postrouting')!.rules, []);
    assert.deepEqual(internal.routes, [{ dst: '198.51.100.0/24', via: '10.0.0.9' }]);
  });

  it('a floating IP association is a map element change only, not a chain change', () => {
    const before = planRouter(router({ _floatingips: [] }));
    const after = planRouter(router());
    const plan = planTable(after.nat, expectedTable(before.nat), { incremental: true });
    assert.equal(plan.kind, 'elements');
    assert.equal(planTable(after.nat, expectedTable(after.nat), { incremental: true }).kind, 'none');
  });

  it('reports only floating IP statuses that change, and DOWN for those it served that went', () => {
    const r = router();
    const p = planRouter(r);
    assert.deepEqual(fipStatusChanges(r, p, new Set()), { f1: 'ACTIVE' });
    const active = router({ _floatingips: [{ ...r._floatingips![0]!, status: 'ACTIVE' }] });
    assert.deepEqual(fipStatusChanges(active, planRouter(active), new Set(['f1'])), {});
    const gone = router({ _floatingips: [] });
    assert.deepEqual(fipStatusChanges(gone, planRouter(gone), new Set(['f1'])), { f1: 'DOWN' });
  });

  it('knows its namespaces by name', () => {
    assert.equal(routerIdOfNamespace(`qrouter-${R}`), R);
    assert.equal(routerIdOfNamespace('qdhcp-x'), null);
    assert.equal(routerIdOfNamespace('qrouter-nope'), null);
  });
});

describe('static route diff', () => {
  it('replaces what is missing or different, deletes what is not desired, nothing when equal', () => {
    const actual = [
      { dst: 'default', via: '203.0.113.1', dev: 'qg-x' },
      { dst: '192.0.2.0/24', via: '10.0.0.7', dev: 'qr-y' },
    ];
    assert.deepEqual(
      diffRoutes(
        [
          { dst: '0.0.0.0/0', via: '203.0.113.1', dev: 'qg-x' },
          { dst: '192.0.2.0/24', via: '10.0.0.7' },
        ],
        actual,
      ),
      [],
    );
    assert.deepEqual(diffRoutes([{ dst: 'default', via: '203.0.113.254', dev: 'qg-x' }], actual), [
      { op: 'delete', route: actual[1] },
      { op: 'replace', route: { dst: 'default', via: '203.0.113.254', dev: 'qg-x' } },
    ]);
  });
});

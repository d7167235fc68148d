// The L3 agent's gateway IP and floating IP QoS (pure): bandwidth limits as nftables policers on
// the gateway device (rates in bytes, Neutron's default burst), per direction the policy's first
// rule, chains only while something is policed, floating IPs only while served.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { planRouter, type SyncRouter } from '../../src/agents/l3/model.js';
import { policerOf, QOS_EGRESS_CHAIN, QOS_INGRESS_CHAIN } from '../../src/agents/l3/gateway-qos.js';

const R = '5b1b7c2e-0a34-4d7e-9a0e-3c7f2a1d9e01';
const GW = 'aaaaaaaa-1111-4111-8111-000000000001';
const P = 'bbbbbbbb-2222-4222-8222-000000000002';
const F = 'cccccccc-3333-4333-8333-000000000003';

function router(extra: Partial<SyncRouter> = {}): SyncRouter {
  return {
    id: R,
    admin_state_up: true,
    gw_port: {
      id: GW,
      network_id: 'ext',
      mac_address: 'fa:16:3e:00:00:01',
      fixed_ips: [{ subnet_id: 's-ext', ip_address: '203.0.113.20', prefixlen: 24 }],
      subnets: [{ id: 's-ext', cidr: '203.0.113.0/24', gateway_ip: '203.0.113.1' }],
    },
    ...extra,
  };
}

const chain = (r: SyncRouter, name: string) => planRouter(r).nat.chains.find((c) => c.name === name);

describe('L3 gateway and floating IP QoS', () => {
  it('turns kbps into bytes per second, with 80% of the rate as the default burst; 0 is no limit', () => {
    assert.deepEqual(policerOf({ direction: 'egress', max_kbps: 2000, max_burst_kbps: 0 }), { rate: 250000, burst: 200000 });
    assert.deepEqual(policerOf({ direction: 'egress', max_kbps: 2000, max_burst_kbps: 400 }), { rate: 250000, burst: 50000 });
    assert.equal(policerOf({ direction: 'egress', max_kbps: 0, max_burst_kbps: 100 }), null);
  });

  it('leaves a router without QoS unchanged', () => {
    const names = planRouter(router()).nat.chains.map((c) => c.name);
    assert.deepEqual(names, ['prerouting', 'output', 'postrouting']);
    // A policy without bandwidth limits polices nothing.
    const dscpOnly = router({ external_gateway_info: { qos_policy_id: P }, _qos_policies: { [P]: [] } });
    assert.deepEqual(
      planRouter(dscpOnly).nat.chains.map((c) => c.name),
      names,
    );
  });

  it('polices the gateway address both ways on qg-, before DNAT and after SNAT', () => {
    const r = router({
      external_gateway_info: { qos_policy_id: P },
      _qos_policies: {
        [P]: [
          { direction: 'ingress', max_kbps: 1000, max_burst_kbps: 0 },
          { direction: 'egress', max_kbps: 3000, max_burst_kbps: 800 },
        ],
      },
    });
    const ingress = chain(r, QOS_INGRESS_CHAIN)!;
    const egress = chain(r, QOS_EGRESS_CHAIN)!;
    assert.deepEqual(ingress.base, { type: 'filter', hook: 'prerouting', priority: -150 });
    assert.deepEqual(ingress.rules, ['iifname "qg-aaaaaaaa-11" ip daddr 203.0.113.20 limit rate over 125000 bytes/second burst 100000 bytes drop']);
    assert.deepEqual(egress.base, { type: 'filter', hook: 'postrouting', priority: 300 });
    assert.deepEqual(egress.rules, ['oifname "qg-aaaaaaaa-11" ip saddr 203.0.113.20 limit rate over 375000 bytes/second burst 100000 bytes drop']);
  });

  it('polices one direction only when the policy limits one', () => {
    const r = router({
      external_gateway_info: { qos_policy_id: P },
      _qos_policies: { [P]: [{ direction: 'egress', max_kbps: 8, max_burst_kbps: 0 }] },
    });
    assert.equal(chain(r, QOS_INGRESS_CHAIN), undefined);
    assert.equal(chain(r, QOS_EGRESS_CHAIN)!.rules.length, 1);
  });

  it('polices floating IPs with policies while the router serves them (qos-fip)', () => {
    const fip = (fixed: string | null) => ({
      id: F,
      floating_ip_address: '203.0.113.50',
      fixed_ip_address: fixed,
      router_id: R,
      status: 'DOWN',
      qos_policy_id: P,
    });
    const limits = { [P]: [{ direction: 'ingress', max_kbps: 800, max_burst_kbps: 0 }] };
    const served = router({ _floatingips: [fip('10.0.0.5')], _qos_policies: limits });
    assert.deepEqual(chain(served, QOS_INGRESS_CHAIN)!.rules, [
      'iifname "qg-aaaaaaaa-11" ip daddr 203.0.113.50 limit rate over 100000 bytes/second burst 80000 bytes drop',
    ]);
    // Not associated: not on the gateway, nothing to police.
    assert.equal(chain(router({ _floatingips: [fip(null)], _qos_policies: limits }), QOS_INGRESS_CHAIN), undefined);
    // No gateway: no QoS at all.
    assert.equal(chain({ ...served, gw_port: undefined } as SyncRouter, QOS_INGRESS_CHAIN), undefined);
  });
});

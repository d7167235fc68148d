// The L3 agent's router services, pure parts: radvd's configuration from a router's interfaces
// (ra.ts) and the metadata rules added to the router's nftables table (services.ts extend()).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { expectedTable, planTable, renderTableBody } from '../../src/dataplane/index.js';
import { planRouter, type SyncPort, type SyncRouter } from '../../src/agents/l3/model.js';
import { radvdConfig } from '../../src/agents/l3/ra.js';
import { RouterServices } from '../../src/agents/l3/services.js';
import { silentLogger } from '../../src/rpc/index.js';

const R = '5b1b7c2e-0a34-4d7e-9a0e-3c7f2a1d9e01';

function port(id: string, subnets: Array<{ cidr: string; mode: string | null; dns?: string[] }>, mtu = 1450): SyncPort {
  return {
    id,
    network_id: `n-${id}`,
    mac_address: 'fa:16:3e:00:00:02',
    fixed_ips: subnets.map((s, i) => ({
      subnet_id: `s${i}-${id}`,
      ip_address: s.cidr.replace(/::\/\d+$|0\/\d+$/, (m) => (m.startsWith('::') ? '::1' : '1')),
    })),
    subnets: subnets.map((s, i) => ({
      id: `s${i}-${id}`,
      cidr: s.cidr,
      gateway_ip: null,
      ipv6_ra_mode: s.mode,
      dns_nameservers: s.dns ?? [],
    })) as SyncPort['subnets'],
    mtu,
  };
}

const router = (interfaces: SyncPort[]): SyncRouter => ({ id: R, admin_state_up: true, _interfaces: interfaces });

describe('radvd configuration (ra.ts)', () => {
  it('no advertised subnet, no radvd: IPv4 only, or IPv6 without ipv6_ra_mode', () => {
    assert.equal(radvdConfig(router([port('a1111111-aaaa', [{ cidr: '10.0.0.0/24', mode: null }])])), null);
    assert.equal(radvdConfig(router([port('a1111111-aaaa', [{ cidr: '2001:db8::/64', mode: null }])])), null);
    assert.equal(radvdConfig(router([])), null);
  });

  it('SLAAC: an autonomous prefix on the qr- interface, MTU, RDNSS of IPv6 servers, intervals', () => {
    const c = radvdConfig(router([port('b2222222-bbbb-cccc', [{ cidr: '2001:db8:1::/64', mode: 'slaac', dns: ['2001:4860::8888', '8.8.8.8'] }])]), {
      minInterval: 3,
      maxInterval: 10,
    })!;
    assert.match(c, /^interface qr-b2222222-bb\n\{\n/);
    assert.match(c, /MinRtrAdvInterval 3;\n\s+MaxRtrAdvInterval 10;/);
    assert.match(c, /AdvLinkMTU 1450;/);
    assert.match(c, /RDNSS 2001:4860::8888 \{\};/);
    assert.match(c, /prefix 2001:db8:1::\/64\n\s+\{\n\s+AdvOnLink on;\n\s+AdvAutonomous on;/);
    assert.doesNotMatch(c, /AdvManagedFlag|AdvOtherConfigFlag/);
  });

  it('DHCPv6 stateful: managed flag, prefix not autonomous; stateless: other-config flag, autonomous', () => {
    const stateful = radvdConfig(router([port('c3333333-cccc', [{ cidr: '2001:db8:2::/64', mode: 'dhcpv6-stateful' }])]))!;
    assert.match(stateful, /AdvManagedFlag on;/);
    assert.match(stateful, /AdvAutonomous off;/);
    assert.doesNotMatch(stateful, /AdvOtherConfigFlag/);
    const stateless = radvdConfig(router([port('c3333333-cccc', [{ cidr: '2001:db8:3::/64', mode: 'dhcpv6-stateless', dns: ['2001:db8::53'] }])]))!;
    assert.match(stateless, /AdvOtherConfigFlag on;/);
    assert.match(stateless, /AdvAutonomous on;/);
    assert.doesNotMatch(stateless, /RDNSS/, 'RDNSS only for SLAAC subnets (stateless clients ask DHCPv6)');
  });

  it('an MTU below 1280 is not advertised; interfaces in a stable order', () => {
    const a = port('dddddddd-0001', [{ cidr: '2001:db8:4::/64', mode: 'slaac' }], 1200);
    const b = port('aaaaaaaa-0002', [{ cidr: '2001:db8:5::/64', mode: 'slaac' }]);
    const c = radvdConfig(router([a, b]))!;
    assert.doesNotMatch(c.slice(c.indexOf('qr-dddddddd')), /AdvLinkMTU/);
    assert.ok(c.indexOf('qr-aaaaaaaa-00') < c.indexOf('qr-dddddddd-00'));
    assert.equal(c, radvdConfig(router([b, a])));
  });
});

describe('metadata rules in the router table (RouterServices.extend)', () => {
  const base = planRouter(router([port('e5555555-eeee', [{ cidr: '10.0.0.0/24', mode: null }])]));

  it('enable_metadata_proxy: the redirect first in prerouting, an input chain admitting only redirected 9697', () => {
    const s = new RouterServices({ statePath: '/nonexistent', metadata: { statePath: '/x', socketPath: '/x/s' }, logger: silentLogger });
    const plan = s.extend(base);
    const pre = plan.nat.chains.find((c) => c.name === 'prerouting')!;
    assert.equal(pre.rules[0], 'iifname "qr-*" ip daddr 169.254.169.254 tcp dport 80 redirect to :9697');
    assert.deepEqual(pre.rules.slice(1), base.nat.chains.find((c) => c.name === 'prerouting')!.rules);
    const input = plan.nat.chains.find((c) => c.name === 'metadata_input')!;
    assert.deepEqual(input.base, { type: 'filter', hook: 'input', priority: 0 });
    assert.deepEqual(input.rules, ['tcp dport 9697 ct status dnat accept', 'tcp dport 9697 drop']);
    const text = renderTableBody(plan.nat);
    assert.match(text, /chain metadata_input/);
    // Applied once, the same plan again is nothing to do.
    assert.equal(planTable(plan.nat, expectedTable(plan.nat), { incremental: true }).kind, 'none');
  });

  it('without it the table is the model’s own', () => {
    const s = new RouterServices({ statePath: '/nonexistent', metadata: null, logger: silentLogger });
    assert.deepEqual(s.extend(base), base);
  });
});

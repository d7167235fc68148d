// The L3 agent's port forwardings and conntrack helpers (pure): ranges unrolled into the pf_dnat
// map, floating addresses and statuses of forwarding floating IPs, ct helper objects and rules;
// and how the NAT table's plan changes with them (element changes, helpers added and deleted).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { expectedTable, parseNftTable, planTable } from '../../src/dataplane/index.js';
import { planRouter, type SyncRouter } from '../../src/agents/l3/model.js';
import { forwardingElements, goneForwardings } from '../../src/agents/l3/port-forwarding.js';

const R = '5b1b7c2e-0a34-4d7e-9a0e-3c7f2a1d9e01';
const GW = 'aaaaaaaa-1111-4111-8111-000000000001';

function router(extra: Partial<SyncRouter> & Record<string, unknown> = {}): SyncRouter {
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
  } as SyncRouter;
}

const pfFip = (pfs: object[]) => ({
  id: 'f9',
  floating_ip_address: '203.0.113.60',
  fixed_ip_address: null,
  router_id: R,
  status: 'DOWN',
  port_forwardings: pfs,
});

describe('L3 port forwardings and conntrack helpers', () => {
  it('unrolls ranges N-N and 1-N, and takes single ports', () => {
    assert.deepEqual(forwardingElements('1.2.3.4', { protocol: 'tcp', internal_ip_address: '10.0.0.5', internal_port: 22, external_port: 2222 }), [
      '1.2.3.4 . tcp . 2222 : 10.0.0.5 . 22',
    ]);
    const nn = { protocol: 'udp', internal_ip_address: '10.0.0.5', internal_port_range: '8000:8002', external_port_range: '9000:9002' };
    assert.deepEqual(forwardingElements('1.2.3.4', nn), [
      '1.2.3.4 . udp . 9000 : 10.0.0.5 . 8000',
      '1.2.3.4 . udp . 9001 : 10.0.0.5 . 8001',
      '1.2.3.4 . udp . 9002 : 10.0.0.5 . 8002',
    ]);
    const oneN = { protocol: 'tcp', internal_ip_address: '10.0.0.5', internal_port_range: '80:80', external_port_range: '100:101' };
    assert.deepEqual(forwardingElements('1.2.3.4', oneN), ['1.2.3.4 . tcp . 100 : 10.0.0.5 . 80', '1.2.3.4 . tcp . 101 : 10.0.0.5 . 80']);
    assert.deepEqual(forwardingElements('1.2.3.4', { protocol: 'icmp', internal_ip_address: '10.0.0.5', internal_port: 1, external_port: 1 }), []);
  });

  it('a router without either keeps its table as it was; with forwardings the address, status, map and chains come', () => {
    const plain = planRouter(router());
    assert.deepEqual(
      plain.nat.maps?.map((m) => m.name),
      ['fip_dnat', 'fip_snat'],
    );
    assert.equal(plain.nat.ctHelpers, undefined);
    const p = planRouter(
      router({ _floatingips: [pfFip([{ protocol: 'tcp', internal_ip_address: '10.0.0.5', internal_port: 22, external_port: 2222 }])] }),
    );
    assert.deepEqual(p.floatingAddresses, ['203.0.113.60']);
    assert.deepEqual(p.fipStatuses, { f9: 'ACTIVE' });
    const map = p.nat.maps!.find((m) => m.name === 'pf_dnat')!;
    assert.deepEqual(map.elements, ['203.0.113.60 . tcp . 2222 : 10.0.0.5 . 22']);
    assert.deepEqual(
      p.nat.chains.map((c) => c.name),
      ['prerouting', 'output', 'postrouting', 'pf_prerouting', 'pf_output'],
    );
    // A floating IP whose forwardings are gone is no address of the router's any more.
    assert.deepEqual(planRouter(router({ _floatingips: [pfFip([])] })).floatingAddresses, []);
  });

  it('another forwarding is a map element change, no chain rewritten', () => {
    const one = planRouter(
      router({ _floatingips: [pfFip([{ protocol: 'tcp', internal_ip_address: '10.0.0.5', internal_port: 22, external_port: 2222 }])] }),
    );
    const two = planRouter(
      router({
        _floatingips: [
          pfFip([
            { protocol: 'tcp', internal_ip_address: '10.0.0.5', internal_port: 22, external_port: 2222 },
            { protocol: 'tcp', internal_ip_address: '10.0.0.5', internal_port: 80, external_port: 8080 },
          ]),
        ],
      }),
    );
    const plan = planTable(two.nat, expectedTable(one.nat), { incremental: true });
    assert.equal(plan.kind, 'elements');
    assert.match(plan.kind === 'elements' ? plan.script : '', /add element ip neutrino_l3 pf_dnat \{ 203.0.113.60 . tcp . 8080 : 10.0.0.5 . 80 \}/);
    assert.equal(planTable(two.nat, expectedTable(two.nat), { incremental: true }).kind, 'none');
  });

  it('conntrack helpers: one object per helper and protocol, one rule per port; added before and deleted after their rules', () => {
    const helpers = [
      { protocol: 'tcp', port: 21, helper: 'ftp' },
      { protocol: 'tcp', port: 2121, helper: 'ftp' },
      { protocol: 'udp', port: 69, helper: 'tftp' },
    ];
    const p = planRouter(router({ conntrack_helpers: helpers }));
    assert.deepEqual(p.nat.ctHelpers, [
      { name: 'ftp_tcp', type: 'ftp', protocol: 'tcp' },
      { name: 'tftp_udp', type: 'tftp', protocol: 'udp' },
    ]);
    assert.deepEqual(p.nat.chains.find((c) => c.name === 'ct_helpers')!.rules, [
      'meta l4proto tcp th dport 21 ct helper set "ftp_tcp"',
      'meta l4proto tcp th dport 2121 ct helper set "ftp_tcp"',
      'meta l4proto udp th dport 69 ct helper set "tftp_udp"',
    ]);
    const before = planRouter(router());
    const add = planTable(p.nat, expectedTable(before.nat), { incremental: true });
    assert.equal(add.kind, 'changes');
    const script = add.kind === 'changes' ? add.script : '';
    assert.ok(script.indexOf('add ct helper ip neutrino_l3 ftp_tcp { type "ftp" protocol tcp; }') < script.indexOf('add rule'), script);
    const del = planTable(before.nat, expectedTable(p.nat), { incremental: true });
    const delScript = del.kind === 'changes' ? del.script : '';
    assert.ok(delScript.indexOf('flush chain ip neutrino_l3 ct_helpers') < delScript.indexOf('delete ct helper ip neutrino_l3 ftp_tcp'), delScript);
    assert.equal(planTable(p.nat, expectedTable(p.nat), { incremental: true }).kind, 'none');
  });

  it('reads ct helpers and concatenated map values back from nft -j', () => {
    const json = JSON.stringify({
      nftables: [
        { 'ct helper': { family: 'ip', name: 'ftp_tcp', table: 't', type: 'ftp', protocol: 'tcp', l3proto: 'ip' } },
        {
          map: {
            family: 'ip',
            name: 'pf_dnat',
            table: 't',
            type: ['ipv4_addr', 'inet_proto', 'inet_service'],
            map: 'ipv4_addr . inet_service',
            elem: [[{ concat: ['203.0.113.5', 'tcp', 2222] }, { concat: ['10.0.0.5', 22] }]],
          },
        },
      ],
    });
    const t = parseNftTable(json);
    assert.deepEqual([...t.ctHelpers!], [['ftp_tcp', 'ftp/tcp']]);
    assert.deepEqual(t.maps!.get('pf_dnat')!.elements, ['203.0.113.5 . tcp . 2222 : 10.0.0.5 . 22']);
  });
});

describe('L3 port forwardings: forgotten connections', () => {
  it('names the sockets whose forwarding went or changed target', () => {
    const with2 = planRouter(
      router({
        _floatingips: [
          pfFip([
            { protocol: 'tcp', internal_ip_address: '10.0.0.5', internal_port: 22, external_port: 2222 },
            { protocol: 'udp', internal_ip_address: '10.0.0.5', internal_port: 53, external_port: 53 },
          ]),
        ],
      }),
    );
    const changed = planRouter(
      router({ _floatingips: [pfFip([{ protocol: 'tcp', internal_ip_address: '10.0.0.6', internal_port: 22, external_port: 2222 }])] }),
    );
    assert.deepEqual(goneForwardings(expectedTable(with2.nat), changed.nat), [
      { ip: '203.0.113.60', protocol: 'tcp', port: '2222' },
      { ip: '203.0.113.60', protocol: 'udp', port: '53' },
    ]);
    assert.deepEqual(goneForwardings(expectedTable(with2.nat), with2.nat), []);
    assert.deepEqual(goneForwardings(null, with2.nat), []);
  });
});

// The security group renderer (src/agents/linuxbridge/firewall.ts): what a port's chains and
// sets hold, how rules become nft matches, and that a change of membership, addresses or rules
// plans only the elements or chains it concerns (planned against the kernel's view of the
// previous tables, built here without a kernel).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  addressElements,
  allocateIds,
  conntrackArgv,
  staleFlows,
  zonesFromTable,
  idsFromTable,
  isFiltered,
  linkLocal,
  portFootprint,
  portPairs,
  renderFirewall,
  ruleMatch,
  type FirewallModel,
  type FirewallPort,
  type SgRule,
} from '../../src/agents/linuxbridge/firewall.js';
import { expectedTable, planTable, type NftTable } from '../../src/dataplane/index.js';
import { firewallFromConfig } from '../../src/agents/linuxbridge/main.js';
import { loadConfig } from '../../src/config/index.js';

const asActual = expectedTable;

const G = 'f1e2d3c4-0000-4000-8000-000000000001';
const WEB = 'f1e2d3c4-0000-4000-8000-000000000002';
const defaultRules = (g: string): SgRule[] => [
  { direction: 'ingress', ethertype: 'IPv4', remote_group_id: g, stateful: true },
  { direction: 'ingress', ethertype: 'IPv6', remote_group_id: g, stateful: true },
  { direction: 'egress', ethertype: 'IPv4', stateful: true },
  { direction: 'egress', ethertype: 'IPv6', stateful: true },
];
const port = (over: Partial<FirewallPort> = {}): FirewallPort => ({
  device: 'tap11111111-aa',
  mac_address: 'fa:16:3e:aa:bb:01',
  fixed_ips: ['10.0.0.5'],
  security_groups: [G],
  port_security_enabled: true,
  ...over,
});
const model = (ports: FirewallPort[], over: Partial<FirewallModel> = {}): FirewallModel => ({
  ports,
  groups: new Map([
    [G, defaultRules(G)],
    [WEB, [{ direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', port_range_min: 80, port_range_max: 80 }]],
  ]),
  members: new Map([
    [
      G,
      {
        IPv4: [
          ['10.0.0.5', null],
          ['10.0.0.6', null],
        ],
        IPv6: [],
      },
    ],
  ]),
  ids: allocateIds(
    ports.map((p) => p.device),
    new Map(),
  ),
  bridges: new Map([['brq00000000-00', 1]]),
  ...over,
});
const chain = (t: NftTable, name: string) => t.chains.find((c) => c.name === name)!.rules.map((r) => (typeof r === 'string' ? r : r.rule));

describe('linuxbridge firewall: rules as nft matches', () => {
  it('protocols by name and number, port ranges, ICMP type and code', () => {
    assert.equal(
      ruleMatch({ direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', port_range_min: 22, port_range_max: 22 }),
      'meta nfproto ipv4 meta l4proto 6 th dport 22',
    );
    assert.equal(
      ruleMatch({ direction: 'ingress', ethertype: 'IPv4', protocol: '17', port_range_min: 1000, port_range_max: 2000 }),
      'meta nfproto ipv4 meta l4proto 17 th dport 1000-2000',
    );
    assert.equal(
      ruleMatch({ direction: 'ingress', ethertype: 'IPv4', protocol: 'sctp', port_range_min: 5, port_range_max: 5 }),
      'meta nfproto ipv4 meta l4proto 132 th dport 5',
    );
    assert.equal(
      ruleMatch({ direction: 'ingress', ethertype: 'IPv4', protocol: 'icmp', port_range_min: 8, port_range_max: 0 }),
      'meta nfproto ipv4 meta l4proto 1 icmp type 8 icmp code 0',
    );
    assert.equal(ruleMatch({ direction: 'ingress', ethertype: 'IPv4', protocol: 'icmp' }), 'meta nfproto ipv4 meta l4proto 1');
    assert.equal(
      ruleMatch({ direction: 'ingress', ethertype: 'IPv6', protocol: 'ipv6-icmp', port_range_min: 128 }),
      'meta nfproto ipv6 meta l4proto 58 icmpv6 type 128',
    );
    assert.equal(ruleMatch({ direction: 'ingress', ethertype: 'IPv4', protocol: 'gre' }), 'meta nfproto ipv4 meta l4proto 47');
    assert.equal(ruleMatch({ direction: 'ingress', ethertype: 'IPv4', protocol: '0' }), 'meta nfproto ipv4', 'protocol 0 is any');
    assert.equal(ruleMatch({ direction: 'ingress', ethertype: 'IPv4', protocol: null }), 'meta nfproto ipv4');
    // The server's provider rules: DHCP replies by source port, RAs by ICMP type in source_port_range_min.
    assert.equal(
      ruleMatch({
        direction: 'ingress',
        ethertype: 'IPv4',
        protocol: 'udp',
        port_range_min: 68,
        port_range_max: 68,
        source_port_range_min: 67,
        source_port_range_max: 67,
        dest_ip_prefix: '255.255.255.255/32',
      }),
      'meta nfproto ipv4 ip daddr 255.255.255.255 meta l4proto 17 th sport 67 th dport 68',
    );
    assert.equal(
      ruleMatch({ direction: 'ingress', ethertype: 'IPv6', protocol: 'ipv6-icmp', source_port_range_min: 134 }),
      'meta nfproto ipv6 meta l4proto 58 icmpv6 type 134',
    );
  });

  it('remote prefixes and remote groups by direction; what can never match is no rule', () => {
    assert.equal(ruleMatch({ direction: 'ingress', ethertype: 'IPv4', source_ip_prefix: '10.1.0.0/16' }), 'meta nfproto ipv4 ip saddr 10.1.0.0/16');
    assert.equal(ruleMatch({ direction: 'egress', ethertype: 'IPv6', dest_ip_prefix: '2001:DB8::/32' }), 'meta nfproto ipv6 ip6 daddr 2001:db8::/32');
    assert.equal(
      ruleMatch({ direction: 'ingress', ethertype: 'IPv4', source_ip_prefix: '0.0.0.0/0' }),
      'meta nfproto ipv4',
      'everything is no constraint',
    );
    assert.equal(ruleMatch({ direction: 'ingress', ethertype: 'IPv4', remote_group_id: G }), `meta nfproto ipv4 ip saddr @sg4-${G}`);
    assert.equal(ruleMatch({ direction: 'egress', ethertype: 'IPv6', remote_group_id: G }), `meta nfproto ipv6 ip6 daddr @sg6-${G}`);
    assert.equal(ruleMatch({ direction: 'ingress', ethertype: 'IPv4', source_ip_prefix: '2001:db8::/32' }), null);
    assert.equal(ruleMatch({ direction: 'ingress', ethertype: 'IPv4', protocol: 'nonsense' }), null);
    // A remote address group is matched like a remote group: by the set of its addresses.
    assert.equal(ruleMatch({ direction: 'ingress', ethertype: 'IPv4', remote_address_group_id: G }), `meta nfproto ipv4 ip saddr @sg4-${G}`);
  });
});

describe('linuxbridge firewall: addresses', () => {
  it('merges overlapping addresses and prefixes (an interval set refuses overlaps), keeps adjacent ones apart', () => {
    assert.deepEqual(addressElements(['10.0.0.7', '10.0.0.0/29', '10.0.0.8', '10.0.1.5/24', '2001:db8::1'], 4), [
      '10.0.0.0/29',
      '10.0.0.8',
      '10.0.1.0/24',
    ]);
    assert.deepEqual(addressElements(['2001:db8::1', '2001:DB8::/64', '10.0.0.1'], 6), ['2001:db8::/64']);
    assert.deepEqual(addressElements(['0.0.0.0/0', '10.0.0.1'], 4), ['0.0.0.0/0']);
  });

  it('a port may send from its MAC and fixed IPs, its allowed address pairs, and link-local addresses', () => {
    assert.equal(linkLocal('fa:16:3e:aa:bb:01'), 'fe80::f816:3eff:feaa:bb01');
    const p = portPairs(
      port({
        fixed_ips: ['10.0.0.5', { ip_address: '2001:db8::5' }],
        allowed_address_pairs: [{ ip_address: '10.0.9.0/24', mac_address: 'FA:16:3E:00:00:99' }, { ip_address: '10.0.0.200' }],
      }),
    );
    assert.deepEqual(p.macs, ['fa:16:3e:00:00:99', 'fa:16:3e:aa:bb:01']);
    assert.deepEqual(p.v4, ['fa:16:3e:00:00:99 . 10.0.9.0/24', 'fa:16:3e:aa:bb:01 . 10.0.0.5', 'fa:16:3e:aa:bb:01 . 10.0.0.200']);
    assert.deepEqual(p.v6, [
      'fa:16:3e:00:00:99 . fe80::f816:3eff:fe00:99',
      'fa:16:3e:aa:bb:01 . 2001:db8::5',
      'fa:16:3e:aa:bb:01 . fe80::f816:3eff:feaa:bb01',
    ]);
    // No fixed IP: any address, from the port's MAC only.
    const none = portPairs(port({ fixed_ips: [] }));
    assert.deepEqual(none.v4, ['fa:16:3e:aa:bb:01 . 0.0.0.0/0']);
    assert.deepEqual(none.v6, ['fa:16:3e:aa:bb:01 . ::/0']);
  });
});

describe('linuxbridge firewall: ids in packet marks', () => {
  it('keeps the ids the kernel has and gives new devices the lowest free ones', () => {
    const ids = allocateIds(
      ['tapc', 'tapa', 'tapb', 'tapd'],
      new Map([
        ['tapb', 1],
        ['tapd', 3],
        ['gone', 2],
      ]),
    );
    assert.deepEqual([...ids].sort(), [
      ['tapa', 2],
      ['tapb', 1],
      ['tapc', 4],
      ['tapd', 3],
    ]);
    assert.deepEqual(allocateIds(['tapc', 'tapa'], new Map()), allocateIds(['tapa', 'tapc'], new Map()), 'independent of order');
  });

  it('reads the ids back from the egress map, the zones from the zone map', () => {
    const t = renderFirewall(
      model([port(), port({ device: 'tap22222222-bb', mac_address: 'fa:16:3e:aa:bb:02' })], { bridges: new Map([['brq00000000-00', 7]]) }),
    );
    assert.deepEqual([...idsFromTable(asActual(t.inet))].sort(), [
      ['tap11111111-aa', 1],
      ['tap22222222-bb', 2],
    ]);
    assert.deepEqual([...zonesFromTable(asActual(t.inet))], [['brq00000000-00', 7]]);
  });
});

describe('linuxbridge firewall: tables', () => {
  it('a rule with a remote address group: a set of its CIDRs, changed by elements only', () => {
    const AGID = 'a9e2d3c4-0000-4000-8000-00000000000a';
    const groups = new Map([
      [G, [{ direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', port_range_min: 22, port_range_max: 22, remote_address_group_id: AGID }]],
    ]);
    const members = (cidrs: string[]) => new Map([[AGID, { IPv4: cidrs.map((c): [string, null] => [c, null]) }]]);
    const t = renderFirewall(model([port()], { groups, members: members(['192.0.2.0/28', '198.51.100.7/32']) }));
    const set = t.inet.sets!.find((x) => x.name === `sg4-${AGID}`)!;
    assert.deepEqual(set.elements, ['192.0.2.0/28', '198.51.100.7']);
    assert.ok(chain(t.inet, 'ingress-tap11111111-aa').includes(`meta nfproto ipv4 ip saddr @sg4-${AGID} meta l4proto 6 th dport 22 return`));
    const more = renderFirewall(model([port()], { groups, members: members(['192.0.2.0/28', '198.51.100.7/32', '203.0.113.0/24']) }));
    const plan = planTable(more.inet, expectedTable(t.inet), { incremental: true });
    assert.equal(plan.kind, 'elements');
  });

  it('a port in the default group: anti-spoofing and marks in the bridge table, stateful rules in the inet table', () => {
    const t = renderFirewall(model([port()]));
    const d = 'tap11111111-aa';
    assert.deepEqual(
      t.bridge.maps!.map((m) => m.elements),
      [[`"${d}" : 1`], [`"${d}" : jump to-${d}`]],
    );
    assert.deepEqual(
      t.inet.maps!.filter((m) => m.map === 'verdict').map((m) => m.elements),
      [[`1 : jump egress-${d}`], [`65536 : jump ingress-${d}`]],
    );
    // The bridge table's sets are shared, keyed by the tap.
    assert.deepEqual(
      t.bridge.sets!.map((s) => [s.name, s.elements]),
      [
        ['ports', [`"${d}"`]],
        ['port-macs', [`"${d}" . fa:16:3e:aa:bb:01`]],
        ['port-addr4', [`"${d}" . fa:16:3e:aa:bb:01 . 10.0.0.5`]],
        ['port-addr6', [`"${d}" . fa:16:3e:aa:bb:01 . fe80::f816:3eff:feaa:bb01`]],
      ],
    );
    assert.deepEqual(chain(t.bridge, 'prerouting'), ['iifname @ports jump from-port']);
    const from = chain(t.bridge, 'from-port');
    assert.equal(from[0], 'iifname . ether saddr != @port-macs drop');
    assert.ok(from.includes('ether type ip iifname . ether saddr . ip saddr != @port-addr4 drop'));
    assert.ok(from.includes('ether type arp iifname . arp saddr ether . arp saddr ip != @port-addr4 drop'));
    assert.ok(from.includes('ether type ip meta l4proto 17 th sport 67 th dport 68 drop'), 'no DHCP server in a VM');
    assert.ok(from.includes('ether type ip6 meta l4proto 58 icmpv6 type 134 drop'), 'no router advertisements from a VM');
    assert.ok(
      from.some((r) => r.startsWith('ether type ip ip saddr 0.0.0.0 ip daddr 255.255.255.255 meta l4proto 17 th sport 68 th dport 67')),
      'DHCP discovery',
    );
    assert.equal(from.at(-1), 'meta protocol { ip, ip6 } meta mark set iifname map @port-ids');
    assert.deepEqual(chain(t.bridge, `to-${d}`), ['meta protocol { ip, ip6 } meta mark set meta mark and 0xffff or 65536']);
    assert.deepEqual(chain(t.inet, `ingress-${d}`), [
      'meta nfproto ipv6 meta l4proto 58 icmpv6 type { 130, 135, 136 } return',
      'ct state established,related return',
      `meta nfproto ipv4 ip saddr @sg4-${G} return`,
      `meta nfproto ipv6 ip6 saddr @sg6-${G} return`,
      'ct state invalid drop',
      'drop',
    ]);
    assert.deepEqual(chain(t.inet, `egress-${d}`).slice(3), [
      'ct state established,related return',
      'meta nfproto ipv4 return',
      'meta nfproto ipv6 return',
      'ct state invalid drop',
      'drop',
    ]);
    // Remote group members per ethertype; the bridges whose marks are ours.
    assert.deepEqual(t.inet.maps!.find((x) => x.name === 'bridge-zones')!.elements, ['"brq00000000-00" : 1']);
    assert.deepEqual(chain(t.inet, 'prerouting'), ['ct zone set iifname map @bridge-zones']);
    assert.deepEqual(
      t.inet.sets!.map((s) => [s.name, s.type, s.elements]),
      [
        ['bridges', 'ifname', ['"brq00000000-00"']],
        [`sg4-${G}`, 'ipv4_addr', ['10.0.0.5', '10.0.0.6']],
        [`sg6-${G}`, 'ipv6_addr', []],
      ],
    );
    assert.deepEqual(portFootprint(t, d), { rules: 1 + 8 + 6, chains: 3, setElements: 4 });
  });

  it("leaves out ports without port security and Neutron's own ports", () => {
    const ports = [
      port(),
      port({ device: 'tap22222222-bb', port_security_enabled: false }),
      port({ device: 'tap33333333-cc', device_owner: 'network:dhcp' }),
    ];
    assert.deepEqual(ports.map(isFiltered), [true, false, false]);
    const t = renderFirewall(model(ports));
    assert.equal(t.bridge.maps![0]!.elements!.length, 1);
    assert.ok(!t.inet.chains.some((c) => c.name.includes('tap22222222') || c.name.includes('tap33333333')));
  });

  it("rules of several groups once each, in one order whatever the groups' order; stateless groups without conntrack", () => {
    const p = port({
      security_groups: [G, WEB],
      security_group_rules: [
        {
          direction: 'ingress',
          ethertype: 'IPv4',
          protocol: 'udp',
          port_range_min: 68,
          port_range_max: 68,
          source_port_range_min: 67,
          source_port_range_max: 67,
          dest_ip_prefix: '10.0.0.5/32',
        },
      ],
    });
    const groups = new Map([
      [G, defaultRules(G)],
      [
        WEB,
        [
          { direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', port_range_min: 80, port_range_max: 80 },
          { direction: 'egress', ethertype: 'IPv4' },
        ],
      ],
    ]);
    const ingress = chain(renderFirewall(model([p], { groups })).inet, 'ingress-tap11111111-aa');
    assert.ok(ingress.includes('meta nfproto ipv4 ip daddr 10.0.0.5 meta l4proto 17 th sport 67 th dport 68 return'));
    const swapped = new Map([...groups].map(([g, rules]) => [g, [...rules].reverse()]));
    assert.deepEqual(
      chain(renderFirewall(model([port({ ...p, security_groups: [WEB, G] })], { groups: swapped })).inet, 'ingress-tap11111111-aa'),
      ingress,
    );
    assert.ok(ingress.includes('meta nfproto ipv4 meta l4proto 6 th dport 80 return'));
    const egress = chain(renderFirewall(model([p], { groups })).inet, 'egress-tap11111111-aa');
    assert.equal(egress.filter((r) => r === 'meta nfproto ipv4 return').length, 1, 'the same rule from two groups once');
    const stateless = new Map([[WEB, [{ direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', stateful: false }]]]);
    const s = renderFirewall(model([port({ security_groups: [WEB] })], { groups: stateless })).inet;
    assert.ok(!chain(s, 'ingress-tap11111111-aa').some((r) => r.startsWith('ct state')));
  });

  it('renders the same text for the same model: an unchanged model plans nothing', () => {
    const m = model([port(), port({ device: 'tap22222222-bb', mac_address: 'fa:16:3e:aa:bb:02', fixed_ips: ['10.0.0.6'] })]);
    const a = renderFirewall(m);
    const b = renderFirewall({ ...m, ports: [...m.ports].reverse() });
    assert.deepEqual(planTable(b.bridge, asActual(a.bridge), { incremental: true }), { kind: 'none' });
    assert.deepEqual(planTable(b.inet, asActual(a.inet), { incremental: true }), { kind: 'none' });
  });

  it('a member joining a remote group or a new allowed address pair changes set elements only', () => {
    const m = model([port()]);
    const before = renderFirewall(m);
    const joined = renderFirewall({
      ...m,
      members: new Map([
        [
          G,
          {
            IPv4: [
              ['10.0.0.5', null],
              ['10.0.0.6', null],
              ['10.0.0.7', null],
            ],
          },
        ],
      ]),
    });
    assert.deepEqual(planTable(joined.inet, asActual(before.inet), { incremental: true }), {
      kind: 'elements',
      script: `add element inet neutrino_sg sg4-${G} { 10.0.0.7 }\n`,
    });
    assert.deepEqual(planTable(joined.bridge, asActual(before.bridge), { incremental: true }), { kind: 'none' });
    const pair = renderFirewall({ ...m, ports: [port({ allowed_address_pairs: [{ ip_address: '10.0.0.100' }] })] });
    const plan = planTable(pair.bridge, asActual(before.bridge), { incremental: true });
    assert.equal(plan.kind, 'elements');
    assert.match(
      plan.kind === 'elements' ? plan.script : '',
      /^add element bridge neutrino_sg port-addr4 \{ "tap11111111-aa" \. fa:16:3e:aa:bb:01 \. 10\.0\.0\.100 \}\n$/,
    );
  });

  it('a rule change rewrites the chains of the ports in that group only; a new port adds its own', () => {
    const other = port({ device: 'tap22222222-bb', mac_address: 'fa:16:3e:aa:bb:02', fixed_ips: ['10.0.0.6'], security_groups: [WEB] });
    const m = model([port(), other]);
    const before = renderFirewall(m);
    const groups = new Map(m.groups);
    groups.set(WEB, [...groups.get(WEB)!, { direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', port_range_min: 443, port_range_max: 443 }]);
    const plan = planTable(renderFirewall({ ...m, groups }).inet, asActual(before.inet), { incremental: true });
    assert.equal(plan.kind, 'changes');
    const script = plan.kind === 'changes' ? plan.script : '';
    assert.match(script, /^flush chain inet neutrino_sg ingress-tap22222222-bb\n/);
    assert.ok(!script.includes('tap11111111-aa'), script);
    assert.match(script, /th dport 443 return/);

    const third = port({ device: 'tap33333333-cc', mac_address: 'fa:16:3e:aa:bb:03', fixed_ips: ['10.0.0.9'] });
    const ports = [port(), other, third];
    const more = renderFirewall({
      ...m,
      ports,
      ids: allocateIds(
        ports.map((p) => p.device),
        m.ids,
      ),
    });
    const p2 = planTable(more.bridge, asActual(before.bridge), { incremental: true });
    const s2 = p2.kind === 'changes' ? p2.script : '';
    const lines = s2.trim().split('\n');
    assert.ok(
      lines.every((l) => l.includes('tap33333333-cc')),
      s2,
    );
    assert.ok(lines[0]!.startsWith('add chain bridge neutrino_sg to-tap33333333-cc'));
    assert.ok(
      lines.findIndex((l) => l.startsWith('add chain')) < lines.findIndex((l) => l.startsWith('add element bridge neutrino_sg to-ports')),
      'the chain exists before the map points at it',
    );
  });
});

describe('linuxbridge firewall: connections a change no longer allows', () => {
  const state = (ports: FirewallPort[], groups: Map<string, SgRule[]>, members = new Map<string, any>()) => ({
    ports: new Map(ports.map((p) => [p.device, p])),
    groups,
    members,
  });
  const icmp: SgRule = { direction: 'ingress', ethertype: 'IPv4', protocol: 'icmp' };
  const web = port({ security_groups: [WEB], fixed_ips: ['10.0.0.5', '2001:db8::5'] });

  it("a deleted rule: its protocol to the addresses of the group's ports (from them for egress)", () => {
    const prev = state(
      [web],
      new Map([[WEB, [icmp, { direction: 'egress', ethertype: 'IPv6', protocol: 'tcp' }, { direction: 'egress', ethertype: 'IPv4' }]]]),
    );
    const next = state([web], new Map([[WEB, [{ direction: 'egress', ethertype: 'IPv4' }]]]));
    assert.deepEqual(staleFlows(prev, next), [
      { v: 4, proto: 1, dst: '10.0.0.5' },
      { v: 6, proto: 6, src: '2001:db8::5' },
    ]);
    assert.deepEqual(conntrackArgv({ v: 4, proto: 1, dst: '10.0.0.5' }), ['conntrack', '-D', '-f', 'ipv4', '-p', '1', '-d', '10.0.0.5']);
    assert.deepEqual(staleFlows(next, next), [], 'nothing changed, nothing to delete');
  });

  it('a port that left a group or is gone: all its connections', () => {
    const groups = new Map([
      [WEB, [icmp]],
      [G, []],
    ]);
    const prev = state([web], groups);
    const moved = state([{ ...web, security_groups: [G] }], groups);
    assert.deepEqual(staleFlows(prev, moved), [
      { v: 4, dst: '10.0.0.5' },
      { v: 4, src: '10.0.0.5' },
      { v: 6, dst: '2001:db8::5' },
      { v: 6, src: '2001:db8::5' },
    ]);
    assert.equal(staleFlows(prev, state([], groups)).length, 4);
    assert.deepEqual(staleFlows(prev, state([{ ...web, security_groups: [WEB, G] }], groups)), [], 'joining a group takes nothing away');
  });

  it('members gone from a remote group: between them and the ports whose rules name the group', () => {
    const groups = new Map([[G, defaultRules(G)]]);
    const p = port();
    const prev = state(
      [p],
      groups,
      new Map([
        [
          G,
          {
            IPv4: [
              ['10.0.0.5', null],
              ['10.0.0.6', null],
              ['10.0.9.0/24', 'fa:16:3e:00:00:09'],
            ],
          },
        ],
      ]),
    );
    const next = state([p], groups, new Map([[G, { IPv4: [['10.0.0.5', null]] }]]));
    assert.deepEqual(staleFlows(prev, next), [
      { v: 4, src: '10.0.0.6', dst: '10.0.0.5' },
      { v: 4, src: '10.0.0.5', dst: '10.0.0.6' },
    ]);
    // In the zone of the port's network.
    const zoned = staleFlows({ ...prev, zones: new Map([[p.device, 3]]) }, { ...next, zones: new Map([[p.device, 3]]) });
    assert.deepEqual(conntrackArgv(zoned[0]!), ['conntrack', '-D', '-f', 'ipv4', '-s', '10.0.0.6', '-d', '10.0.0.5', '-w', '3']);
  });

  it('host routes gone from a remote address group: as addresses (networks are left to the rules)', () => {
    const AGID = 'a9e2d3c4-0000-4000-8000-00000000000a';
    const groups = new Map([[G, [{ direction: 'ingress', ethertype: 'IPv4', remote_address_group_id: AGID }]]]);
    const p = port();
    const members = (l: string[]) => new Map([[AGID, { IPv4: l.map((c) => [c, null]) }]]);
    const prev = state([p], groups, members(['192.0.2.7/32', '198.51.100.0/24', '203.0.113.1/32']));
    const next = state([p], groups, members(['203.0.113.1/32']));
    assert.deepEqual(staleFlows(prev, next), [
      { v: 4, src: '192.0.2.7', dst: '10.0.0.5' },
      { v: 4, src: '10.0.0.5', dst: '192.0.2.7' },
    ]);
  });
});

describe('linuxbridge firewall: [securitygroup] options', () => {
  const cfg = (securitygroup: Record<string, string>) => loadConfig([], { securitygroup });
  it("nftables unless noop (Neutron's driver names accepted); none without security groups", () => {
    assert.equal(firewallFromConfig(cfg({})), 'nftables');
    for (const d of ['nftables', 'iptables', 'iptables_hybrid', 'neutron.agent.linux.iptables_firewall.IptablesFirewallDriver'])
      assert.equal(firewallFromConfig(cfg({ firewall_driver: d })), 'nftables');
    for (const d of ['noop', 'neutron.agent.firewall.NoopFirewallDriver']) assert.equal(firewallFromConfig(cfg({ firewall_driver: d })), 'noop');
    assert.equal(firewallFromConfig(cfg({ enable_security_group: 'false' })), 'noop');
    assert.throws(
      () => firewallFromConfig(cfg({ firewall_driver: 'openvswitch' })),
      /\[securitygroup\] firewall_driver: unknown driver "openvswitch"/,
    );
  });
});

// The L3 agent's HA core: an HA router's plan (the ha- link added, addresses and routes handed to
// keepalived), keepalived's configuration, and keepalived's states in Neutron's words.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { haSilenceTable, haStateOf, isHaRouter, notifyScript, planHa, renderKeepalived, type HaSync } from '../../src/agents/l3/ha.js';
import { planRouter, type SyncRouter } from '../../src/agents/l3/model.js';

const R = '5b1b7c2e-0a34-4d7e-9a0e-3c7f2a1d9e01';
const GW = 'aaaaaaaa-1111-4111-8111-000000000001';
const QR = 'bbbbbbbb-2222-4222-8222-000000000002';
const HA = 'dddddddd-5555-4555-8555-000000000005';
const HANET = 'ffffffff-6666-4666-8666-000000000006';

const router: SyncRouter & HaSync = {
  id: R,
  admin_state_up: true,
  enable_snat: true,
  ha: true,
  ha_vr_id: 7,
  gw_port: {
    id: GW,
    network_id: 'eeeeeeee-3333-4333-8333-000000000003',
    mac_address: 'fa:16:3e:00:00:01',
    fixed_ips: [{ subnet_id: 's-ext', ip_address: '203.0.113.20', prefixlen: 24 }],
    subnets: [{ id: 's-ext', cidr: '203.0.113.0/24', gateway_ip: '203.0.113.1' }],
  },
  _interfaces: [
    {
      id: QR,
      network_id: 'cccccccc-4444-4444-8444-000000000004',
      mac_address: 'fa:16:3e:00:00:02',
      fixed_ips: [{ subnet_id: 's1', ip_address: '10.0.0.1', prefixlen: 24 }],
    },
  ],
  _floatingips: [{ id: 'f1', floating_ip_address: '203.0.113.50', fixed_ip_address: '10.0.0.5', router_id: R, status: 'DOWN' }],
  routes: [{ destination: '192.0.2.0/24', nexthop: '10.0.0.9' }],
  _ha_interface: {
    id: HA,
    network_id: HANET,
    mac_address: 'fa:16:3e:00:00:03',
    fixed_ips: [{ subnet_id: 'sha', ip_address: '169.254.192.5', prefixlen: 18 }],
    mtu: 1450,
  },
};

describe('L3 agent HA model', () => {
  it('an HA router needs its HA port and VRRP id', () => {
    assert.equal(isHaRouter(router), true);
    assert.equal(isHaRouter({ ...router, _ha_interface: undefined }), false);
    assert.equal(isHaRouter({ ...router, ha: false }), false);
  });

  it('adds the ha- veth into the HA bridge and leaves qr-/qg- addresses and routes to keepalived', () => {
    const { plan, vips, routes } = planHa(router, planRouter(router));
    const ha = plan.routerLinks.find((l) => l.name === 'ha-dddddddd-55')!;
    assert.deepEqual(ha.addresses, ['169.254.192.5/18']);
    assert.equal(ha.mtu, 1450);
    assert.ok(
      plan.hostLinks.some((l) => l.kind === 'veth' && l.name === 'tapdddddddd-55' && l.master === 'brqffffffff-66' && l.peer === 'ha-dddddddd-55'),
    );
    assert.ok(plan.hostLinks.some((l) => l.name === 'brqffffffff-66' && l.kind === 'bridge'));
    for (const l of plan.routerLinks.filter((x) => /^q[rg]-/.test(x.name))) assert.equal(l.addresses, undefined, `${l.name} unmanaged`);
    assert.deepEqual(plan.routes, []);
    assert.deepEqual(vips, ['10.0.0.1/24 dev qr-bbbbbbbb-22', '203.0.113.20/24 dev qg-aaaaaaaa-11', '203.0.113.50/32 dev qg-aaaaaaaa-11']);
    assert.deepEqual(routes, ['0.0.0.0/0 via 203.0.113.1 dev qg-aaaaaaaa-11', '192.0.2.0/24 via 10.0.0.9']);
    // NAT stays the agent's: the same on both instances.
    assert.deepEqual(plan.nat, planRouter(router).nat);
  });

  it('gives keepalived an ECMP default route over every gateway, which the real keepalived parses as one multipath route', async () => {
    const second = {
      id: 'abababab-7777-4777-8777-000000000007',
      network_id: 'eeeeeeee-9999-4999-8999-000000000009',
      mac_address: 'fa:16:3e:00:00:09',
      fixed_ips: [{ subnet_id: 's-ext2', ip_address: '198.51.100.20', prefixlen: 24 }],
      subnets: [{ id: 's-ext2', cidr: '198.51.100.0/24', gateway_ip: '198.51.100.1' }],
    };
    const multi = { ...router, enable_default_route_ecmp: true, _extra_gw_ports: [second] };
    const { vips, routes } = planHa(multi, planRouter(multi));
    assert.ok(vips.includes('198.51.100.20/24 dev qg-abababab-77'), JSON.stringify(vips));
    assert.equal(routes[0], '0.0.0.0/0 nexthop via 203.0.113.1 dev qg-aaaaaaaa-11 nexthop via 198.51.100.1 dev qg-abababab-77');
    const conf = renderKeepalived({
      vrId: 7,
      haDev: 'ha-x',
      vips,
      routes,
      notifyScript: '/n',
      vrrp: { authType: 'PASS', authPassword: '', advertInt: 2 },
    });
    // The route's options before its hops: after them keepalived would give them to the last hop.
    assert.match(
      conf,
      /0\.0\.0\.0\/0 protocol 18 no_track nexthop via 203\.0\.113\.1 dev qg-aaaaaaaa-11 nexthop via 198\.51\.100\.1 dev qg-abababab-77\n/,
    );
    const keepalived = spawnSync('keepalived', ['--version']);
    if (keepalived.error) {
      if (process.env.CI) assert.fail('keepalived is not installed (test/dataplane/install-deps.sh installs it)');
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'neutrino-keepalived-'));
    try {
      writeFileSync(join(dir, 'k.conf'), conf);
      const t = spawnSync('keepalived', ['--config-test', '-f', join(dir, 'k.conf'), '-l', '-D'], { encoding: 'utf8' });
      const said = `${t.stdout}${t.stderr}`;
      // keepalived warns that the test's interfaces do not exist; a route it could not make one
      // multipath route of, or options it gave a hop, it reports by the route.
      assert.doesNotMatch(said, /cannot track route|unknown|invalid|error/i, said);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("renders keepalived's configuration: VRRP instance, authentication, addresses, routes, notify", () => {
    const vips = Array.from({ length: 22 }, (_, i) => `203.0.113.${100 + i}/32 dev qg-x`);
    const conf = renderKeepalived({
      vrId: 7,
      haDev: 'ha-x',
      vips,
      routes: ['0.0.0.0/0 via 203.0.113.1 dev qg-x'],
      notifyScript: '/s/notify.sh',
      vrrp: { authType: 'PASS', authPassword: 'secret', advertInt: 2 },
    });
    assert.match(conf, /vrrp_instance VR_7 \{/);
    assert.match(conf, /\n {4}state BACKUP\n/);
    assert.match(conf, /\n {4}interface ha-x\n/);
    assert.match(conf, /virtual_router_id 7\n/);
    assert.match(conf, /nopreempt/);
    assert.match(conf, /advert_int 2\n/);
    assert.match(conf, /auth_type PASS\n {8}auth_pass secret\n/);
    const block = (name: string) => conf.split(`${name} {`)[1]!.split('    }')[0]!;
    assert.equal(block('virtual_ipaddress').trim().split('\n').length, 20, 'at most 20 in virtual_ipaddress');
    assert.equal(block('virtual_ipaddress_excluded').trim().split('\n').length, 2);
    assert.match(block('virtual_routes'), /0\.0\.0\.0\/0 via 203\.0\.113\.1 dev qg-x protocol 18 no_track/);
    assert.match(conf, /notify "\/s\/notify.sh"/);
    assert.match(conf, /notify_stop "\/s\/notify.sh INSTANCE VR_7 STOP 0"/);
    const open = renderKeepalived({
      vrId: 1,
      haDev: 'ha-x',
      vips: [],
      routes: [],
      notifyScript: '/n',
      vrrp: { authType: 'PASS', authPassword: '', advertInt: 2 },
    });
    assert.doesNotMatch(open, /authentication/);
    assert.doesNotMatch(open, /virtual_ipaddress/);
    assert.doesNotMatch(open, /version 3/, 'whole seconds: VRRPv2, as Neutron');
    const fast = renderKeepalived({
      vrId: 1,
      haDev: 'ha-x',
      vips: [],
      routes: [],
      notifyScript: '/n',
      vrrp: { authType: 'PASS', authPassword: '', advertInt: 0.5 },
    });
    assert.match(fast, /\n {4}version 3\n {4}advert_int 0\.5\n/, 'a fraction of a second: VRRPv3, before advert_int');
  });

  it("IPv6: the global addresses and each IPv6 link's EUI-64 link-local address (scope link) are keepalived's too", () => {
    const v6: SyncRouter & HaSync = {
      ...router,
      _interfaces: [
        ...router._interfaces!,
        {
          id: 'bbbbbbbb-7777-4777-8777-000000000007',
          network_id: 'cccccccc-8888-4888-8888-000000000008',
          mac_address: 'fa:16:3e:00:00:07',
          fixed_ips: [{ subnet_id: 's6', ip_address: '2001:db8:1::1', prefixlen: 64 }],
        },
      ],
    };
    const { plan, vips, ipv6 } = planHa(v6, planRouter(v6));
    assert.equal(ipv6, true);
    assert.deepEqual(vips.slice(3), ['2001:db8:1::1/64 dev qr-bbbbbbbb-77', 'fe80::f816:3eff:fe00:7/64 dev qr-bbbbbbbb-77 scope link']);
    assert.equal(plan.routerLinks.find((l) => l.name === 'qr-bbbbbbbb-77')!.addresses, undefined);
    assert.equal(planHa(router, planRouter(router)).ipv6, false, 'no link-local address for IPv4-only links');
    const conf = renderKeepalived({
      vrId: 1,
      haDev: 'ha-x',
      vips,
      routes: [],
      notifyScript: '/n',
      vrrp: { authType: 'PASS', authPassword: '', advertInt: 2 },
    });
    const excluded = /virtual_ipaddress_excluded \{\n([^}]*)\}/.exec(conf)?.[1] ?? '';
    // Without nodad: the kernel announces them (unsolicited NA) as keepalived adds them.
    assert.match(excluded, /fe80::f816:3eff:fe00:7\/64 dev qr-bbbbbbbb-77 scope link -nodad no_track\n/, 'IPv6: excluded addresses (VRRP over IPv4)');
    assert.match(excluded, /2001:db8:1::1\/64 dev qr-bbbbbbbb-77 -nodad no_track\n/);
  });

  it('the notify script: leaving MASTER, radvd stops before the bounce; IPv6 forwarding is left alone', () => {
    const s = notifyScript('/d/state', { devices: ['qr-a', 'qg-b'], radvdPidFile: '/ra/r.pid.radvd' });
    assert.doesNotMatch(s, /forwarding/, 'forwarding stays on whatever the state');
    const leave = s.split('\n').find((l) => l.includes('ip link set'))!;
    const order = ['ip -o addr show dev qr-a', 'kill "$(cat \'/ra/r.pid.radvd\')"', 'ip link set dev qr-a down', 'ip link set dev qg-b up'].map((x) =>
      leave.indexOf(x),
    );
    assert.ok(
      order.every((i, k) => i >= 0 && (k === 0 || i > order[k - 1]!)),
      leave,
    );
    const v4 = notifyScript('/d/state', { devices: ['qr-a'] });
    assert.doesNotMatch(v4, /kill/, 'no radvd to stop');
  });

  it("the standby's silence: what leaves qr-/qg- from the unspecified address is dropped", () => {
    const t = haSilenceTable();
    assert.equal(t.family, 'ip6');
    assert.deepEqual(t.chains[0]!.base, { type: 'filter', hook: 'output', priority: 0, policy: 'accept' });
    assert.deepEqual(t.chains[0]!.rules, ['oifname "qr-*" ip6 saddr :: drop', 'oifname "qg-*" ip6 saddr :: drop']);
  });

  it("keepalived's states are Neutron's ha_state", () => {
    assert.equal(haStateOf('MASTER'), 'active');
    assert.equal(haStateOf('BACKUP\n'), 'standby');
    assert.equal(haStateOf('FAULT'), 'standby');
    assert.equal(haStateOf('STOP'), 'standby');
    assert.equal(haStateOf('what'), 'unknown');
  });
});

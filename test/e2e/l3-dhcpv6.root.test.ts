// End to end, as root: DHCPv6 subnets behind a router (two-hosts.ts with its L3 agent on host A,
// radvd intervals 3-10 s, the DHCP agent on host A; VMs on host B, across VXLAN). One router has
// an interface on a dhcpv6-stateful subnet and one on a dhcpv6-stateless subnet, as Neutron's
// ra.py advertises them:
//   - stateful: the M flag, the prefix on-link but not autonomous; a VM gets its port's address
//     from dnsmasq with a real `dhclient -6` and its default route from the router's RA;
//   - stateless: the O flag, the prefix autonomous; a VM makes the port's EUI-64 address itself,
//     takes the RA's default route, and gets its DNS server from dnsmasq (`dhclient -6 -S`);
//   - the two VMs ping each other through the router.
// Figures (time to address) are printed (`# two-hosts e2e figures`).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { radvdPid, runInNetns } from '../../src/dataplane/index.js';
import { RA_DIR } from '../../src/agents/l3/services.js';
import { parseEnv, rootGate } from '../dataplane/root-helpers.js';
import { skipUnlessRabbit } from '../rpc/rabbit.js';
import { TwoHosts, type BusMode } from './two-hosts.js';
import { L3Topology } from './l3-topology.js';
import { waitFor, waitThroughErrors } from '../helpers/wait.js';

const gate = rootGate('L3 DHCPv6 end-to-end', ['ip', 'bridge', 'nsenter', 'nft', 'radvd', 'dnsmasq', 'dhclient', 'busybox', 'rabbitmqctl']);
const rabbitSkip = gate.skip ? false : await skipUnlessRabbit();
const modes = (['memory', 'rabbit'] as BusMode[]).filter((m) => !process.env.NEUTRINO_E2E_BUS || process.env.NEUTRINO_E2E_BUS === m);

/** The global, non-tentative IPv6 addresses of the VM's eth0. */
async function globalV6(ns: string): Promise<string[]> {
  const r = await runInNetns(ns, { argv: ['ip', '-json', '-6', 'addr', 'show', 'dev', 'eth0', 'scope', 'global'] });
  const infos = (JSON.parse(r.stdout || '[]') as any[]).flatMap((l) => l.addr_info ?? []);
  return infos.filter((a: any) => a.local && !a.tentative).map((a: any) => String(a.local));
}

/** The VM's IPv6 default route, as `ip -6 route` shows it (one line), or ''. */
async function defaultV6(ns: string): Promise<string> {
  return (await runInNetns(ns, { argv: ['ip', '-6', 'route', 'show', 'default'] })).stdout.trim();
}

/** radvd.conf's `interface` block for the device. */
function interfaceBlock(conf: string, dev: string): string {
  const block = conf.split(/^interface /m).find((b) => b.startsWith(`${dev}\n`));
  assert.ok(block, `radvd.conf has an interface block for ${dev}:\n${conf}`);
  return block;
}

for (const mode of modes)
  describe(`L3 e2e (root, ${mode} bus): DHCPv6 subnets behind a router`, { skip: gate.skip || (mode === 'rabbit' && rabbitSkip) }, () => {
    let t: TwoHosts;
    let topo: L3Topology;
    let router: any;
    let stateful: { net: any; subnet: any };
    let stateless: { net: any; subnet: any };
    let dir = '';
    let statefulIp = '';
    let statelessIp = '';
    const vmA = () => `nt${t.s}d6a`;
    const vmB = () => `nt${t.s}d6b`;
    const fail = (e: unknown): never => {
      throw new Error(`${(e as Error).message}\n${t.dump()}`);
    };
    const raDir = () => join(t.dir, 'l3-state', RA_DIR);

    /** dhclient -6 once in the VM, with a script that records what it got and adds the address (as dhclient-script does). */
    const dhclient = async (ns: string, extra: string[]): Promise<Record<string, string>> => {
      const script = join(dir, `${ns}.sh`);
      await writeFile(
        script,
        [
          '#!/bin/sh',
          `env > ${dir}/${ns}-env-$reason`,
          'case "$reason" in BOUND6|REBOOT6)',
          '  [ -n "$new_ip6_address" ] && ip -6 addr add "$new_ip6_address/$new_ip6_prefixlen" dev "$interface";;',
          'esac',
          'exit 0',
          '',
        ].join('\n'),
        { mode: 0o755 },
      );
      await runInNetns(ns, {
        argv: ['dhclient', '-6', ...extra, '-1', '-lf', join(dir, `${ns}.leases`), '-pf', join(dir, `${ns}.pid`), '-sf', script, 'eth0'],
        timeoutMs: 60_000,
      });
      const reasons = extra.includes('-S') ? ['INFORM6', 'RENEW6'] : ['BOUND6'];
      for (const r of reasons) {
        const text = await readFile(join(dir, `${ns}-env-${r}`), 'utf8').catch(() => null);
        if (text !== null) return parseEnv(text);
      }
      throw new Error(`dhclient in ${ns}: none of ${reasons.join(', ')} reported`);
    };
    const linkLocalReady = (ns: string) =>
      waitThroughErrors(
        `${ns} link-local ready`,
        async () => {
          const r = await runInNetns(ns, { argv: ['ip', '-6', 'addr', 'show', 'dev', 'eth0'] });
          return r.stdout.includes('fe80::') && !r.stdout.includes('tentative');
        },
        20_000,
        50,
      ).catch(fail);
    const vmPort = async (subnet: any) =>
      (await topo.ok('POST', '/ports', { port: { network_id: subnet.network_id, port_security_enabled: false } }, 201)).port;

    before(async () => {
      gate.check();
      dir = await mkdtemp(join(tmpdir(), 'neutrino-l3v6-dhclient-'));
      t = new TwoHosts(mode, { l3: true });
      topo = new L3Topology(t);
      await t.start();
    });
    after(async () => {
      // dhclient stays in the background once bound: the fixture's stop ends only its own daemons.
      for (const ns of t ? [vmA(), vmB()] : []) {
        const pid = Number((await readFile(join(dir, `${ns}.pid`), 'utf8').catch(() => '')).trim());
        if (pid > 0)
          try {
            process.kill(pid, 'SIGTERM');
          } catch {
            // gone
          }
      }
      await t?.stop();
      await rm(dir, { recursive: true, force: true });
    });

    it("the router advertises the stateful subnet with the M flag and the stateless one with the O flag (Neutron's radvd.conf)", async () => {
      await topo.external('d6-ext');
      const v6 = (mode: string, cidr: string, dns: string) => ({
        enable_dhcp: true,
        ipv6_ra_mode: mode,
        ipv6_address_mode: mode,
        dns_nameservers: [dns],
        cidr,
      });
      stateful = await topo.tenant('d6-stateful', 'fd00:81::/64', v6('dhcpv6-stateful', 'fd00:81::/64', 'fd00:81::53'));
      stateless = await topo.tenant('d6-stateless', 'fd00:82::/64', v6('dhcpv6-stateless', 'fd00:82::/64', 'fd00:82::53'));
      const t0 = Date.now();
      router = await topo.router('d6-r', [stateful.subnet, stateless.subnet]);
      await waitFor('radvd', () => radvdPid(raDir(), router.id), 30_000, 50).catch(fail);
      t.figures.push(`DHCPv6: two IPv6 interfaces added → radvd running ${Date.now() - t0} ms`);
      const ports = (await topo.ok('GET', `/ports?device_id=${router.id}&device_owner=network:router_interface`)).ports as any[];
      const devOf = (subnet: any) => `qr-${ports.find((p) => p.fixed_ips.some((f: any) => f.subnet_id === subnet.id)).id.slice(0, 11)}`;
      const conf = await readFile(join(raDir(), `${router.id}.radvd.conf`), 'utf8');
      const full = interfaceBlock(conf, devOf(stateful.subnet));
      assert.match(full, /AdvManagedFlag on;/);
      assert.doesNotMatch(full, /AdvOtherConfigFlag/);
      assert.match(full, /prefix fd00:81::\/64\s*\{\s*AdvOnLink on;\s*AdvAutonomous off;/);
      const less = interfaceBlock(conf, devOf(stateless.subnet));
      assert.match(less, /AdvOtherConfigFlag on;/);
      assert.doesNotMatch(less, /AdvManagedFlag/);
      assert.match(less, /prefix fd00:82::\/64\s*\{\s*AdvOnLink on;\s*AdvAutonomous on;/);
      // No RDNSS: DNS servers of DHCPv6 subnets come from DHCPv6 (Neutron adds RDNSS for SLAAC only).
      assert.doesNotMatch(conf, /RDNSS/);
    });

    it("dhcpv6-stateful: a VM gets its port's address from dnsmasq with dhclient -6 and its default route from the RA, and no SLAAC address", async () => {
      const port = await vmPort(stateful.subnet);
      statefulIp = port.fixed_ips.find((f: any) => f.subnet_id === stateful.subnet.id).ip_address;
      await waitThroughErrors('dnsmasq for the stateful network', () => t.dnsmasqPid(stateful.net.id), 30_000, 100).catch(fail);
      const t0 = Date.now();
      await t.plug(port.id, vmA(), 1);
      await linkLocalReady(vmA());
      const t1 = Date.now();
      const lease = await dhclient(vmA(), []).catch(fail);
      assert.equal(lease.new_ip6_address, statefulIp, "the port's address, from DHCPv6");
      assert.equal(lease.new_dhcp6_name_servers, 'fd00:81::53');
      const addrs = await waitFor(
        'the DHCPv6 address ready',
        async () => ((await globalV6(vmA())).includes(statefulIp) ? globalV6(vmA()) : null),
        20_000,
        50,
      );
      t.figures.push(`DHCPv6-stateful behind a router: dhclient -6 → address ready ${Date.now() - t1} ms (plug → address ${Date.now() - t0} ms)`);
      const route = await waitFor(
        'the RA default route',
        async () => ((await defaultV6(vmA())).includes('via fe80::') ? defaultV6(vmA()) : null),
        30_000,
        50,
      ).catch(fail);
      assert.match(route, /proto ra/, route);
      // The prefix is not autonomous: the DHCPv6 address is the only global one.
      assert.deepEqual(addrs, [statefulIp]);
    });

    it('dhcpv6-stateless: a VM makes its SLAAC address, takes the RA default route, and gets its DNS server from DHCPv6', async () => {
      const port = await vmPort(stateless.subnet);
      statelessIp = port.fixed_ips.find((f: any) => f.subnet_id === stateless.subnet.id).ip_address;
      await waitThroughErrors('dnsmasq for the stateless network', () => t.dnsmasqPid(stateless.net.id), 30_000, 100).catch(fail);
      const t0 = Date.now();
      await t.plug(port.id, vmB(), 1);
      const addrs = await waitFor('the SLAAC address', async () => ((await globalV6(vmB())).length ? globalV6(vmB()) : null), 30_000, 50).catch(fail);
      t.figures.push(`DHCPv6-stateless behind a router: plug → SLAAC address ${Date.now() - t0} ms`);
      assert.deepEqual(addrs, [statelessIp], 'the EUI-64 address the API shows on the port');
      assert.match(await defaultV6(vmB()), /via fe80::.* proto ra/);
      const info = await dhclient(vmB(), ['-S']).catch(fail);
      assert.equal(info.new_dhcp6_name_servers, 'fd00:82::53');
      assert.equal(info.new_ip6_address, undefined, 'stateless: no address from DHCPv6');
    });

    it('the two VMs reach each other through the router', async () => {
      const ping = (ns: string, ip: string) => runInNetns(ns, { argv: ['busybox', 'ping', '-6', '-c', '2', '-W', '2', ip], okCodes: [0, 1] });
      await waitThroughErrors('stateful VM → stateless VM', async () => (await ping(vmA(), statelessIp)).code === 0, 20_000, 200).catch(fail);
      const back = await ping(vmB(), statefulIp);
      assert.equal(back.code, 0, back.stdout);
    });
  });

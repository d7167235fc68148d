// Figures of the L3 agent beside bench:agents (root; `npm run bench:l3ha -- --help`), on the
// two-hosts fixture of the end-to-end tests (test/e2e/two-hosts.ts: hosts and VMs as network
// namespaces; the server, the in-memory bus and the agents in this process):
// (e) HA failover: a router with ha=true on the two hosts' L3 agents (keepalived, VRRP every
//     0.5 s as in the e2e test), an IPv4 tenant network and two SLAAC ones; a VM pings the
//     outside host and a VM on one IPv6 network pings one on the other, every 50 ms. --failovers
//     times, the active router's keepalived is killed (SIGTERM): for each ping, the outage (the
//     longest time without a reply around the kill, i.e. kill → first reply through the new
//     active router) and the echoes lost; median and max. The killed keepalived is started again
//     by its agent and stays standby before the next one.
// (f) DHCPv6: a dhcpv6-stateful subnet behind a router; --dhcpv6 VMs plugged one by one on the
//     other host, each running `dhclient -6` once its link-local address is ready: the time from
//     the plug to the port's address on the VM's eth0; median and max.
// Timing is printed, never asserted.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runInNetns } from '../src/dataplane/index.js';
import { TwoHosts } from '../test/e2e/two-hosts.js';
import { L3Topology, OUTSIDE_IP } from '../test/e2e/l3-topology.js';
import { Pinger } from '../test/e2e/l3-probes.js';
import { sleep, waitThroughErrors } from '../test/helpers/wait.js';

const HELP = `npm run bench:l3ha -- [--failovers 5] [--dhcpv6 5]
  --failovers N   HA failovers measured in (e) (default 5; 0 skips (e))
  --dhcpv6 N      VMs plugged on a DHCPv6-stateful subnet in (f) (default 5; 0 skips (f))`;

const PING_S = 0.05;

function stats(xs: number[]): string {
  if (!xs.length) return 'n=0';
  const s = [...xs].sort((a, b) => a - b);
  return `median ${s[Math.floor((s.length - 1) / 2)]}, max ${s.at(-1)} (n=${s.length})`;
}

/** The global, non-tentative IPv6 addresses of the VM's eth0. */
async function globalV6(ns: string): Promise<string[]> {
  const r = await runInNetns(ns, { argv: ['ip', '-json', '-6', 'addr', 'show', 'dev', 'eth0', 'scope', 'global'] });
  return (JSON.parse(r.stdout || '[]') as any[])
    .flatMap((l) => l.addr_info ?? [])
    .filter((a: any) => a.local && !a.tentative)
    .map((a: any) => String(a.local));
}

/** The host index whose agent the API says is active for the router (the other one standby). */
async function activeHost(t: TwoHosts, routerId: string, not?: 0 | 1): Promise<0 | 1> {
  return waitThroughErrors(
    'one active, one standby',
    async () => {
      const agents = (await t.api('GET', `/routers/${routerId}/l3-agents`)).body.agents as any[];
      if (
        agents
          .map((a) => a.ha_state)
          .sort()
          .join() !== 'active,standby'
      )
        return null;
      const i = t.host.indexOf(agents.find((a) => a.ha_state === 'active').host) as 0 | 1;
      return i === not ? null : { i };
    },
    30_000,
    100,
  ).then((x) => x.i);
}

async function haFailovers(n: number): Promise<void> {
  const t = new TwoHosts('memory', { l3: true, ha: true });
  const topo = new L3Topology(t);
  const pingers: Pinger[] = [];
  await t.start();
  try {
    await topo.external('bh-ext');
    const { subnet } = await topo.tenant('bh-net', '10.74.1.0/24');
    const router = await topo.router('bh-r', [subnet], { ha: true });
    const vmHost = await activeHost(t, router.id);
    await topo.vm(`nt${t.s}bv`, vmHost, subnet, '10.74.1.10', '10.74.1.1');
    const slaac = { enable_dhcp: true, ipv6_ra_mode: 'slaac', ipv6_address_mode: 'slaac' };
    const nets = [await topo.tenant('bh-6a', '2001:db8:74:1::/64', slaac), await topo.tenant('bh-6b', '2001:db8:74:2::/64', slaac)];
    for (const x of nets) await topo.ok('PUT', `/routers/${router.id}/add_router_interface`, { subnet_id: x.subnet.id });
    const ips: string[] = [];
    for (const [k, x] of nets.entries()) {
      const port = (await topo.ok('POST', '/ports', { port: { network_id: x.net.id, port_security_enabled: false } }, 201)).port;
      ips.push(port.fixed_ips[0].ip_address);
      await t.plug(port.id, `nt${t.s}b6${k}`, vmHost);
      await waitThroughErrors('SLAAC address', async () => (await globalV6(`nt${t.s}b6${k}`)).includes(ips[k]!) || null, 30_000, 50);
    }
    const p4 = new Pinger(`nt${t.s}bv`, OUTSIDE_IP, PING_S);
    const p6 = new Pinger(`nt${t.s}b60`, ips[1]!, PING_S);
    pingers.push(p4, p6);
    await waitThroughErrors('both pings answered', async () => (p4.replies.length >= 3 && p6.replies.length >= 3) || null, 30_000, 100);
    const out = { gap4: [] as number[], gap6: [] as number[], lost4: [] as number[], lost6: [] as number[], api: [] as number[] };
    const each: string[] = [];
    for (let i = 0; i < n; i++) {
      const before = await activeHost(t, router.id);
      const t0 = Date.now();
      t.keepalivedPid(before, router.id, 'SIGTERM');
      await activeHost(t, router.id, before);
      out.api.push(Date.now() - t0);
      await waitThroughErrors(
        'both pings answered again',
        async () => (p4.replies.at(-1)! > Date.now() - 200 && p6.replies.at(-1)! > Date.now() - 200) || null,
        30_000,
        50,
      );
      await sleep(1000);
      out.gap4.push(p4.gapSince(t0 - 1000));
      out.gap6.push(p6.gapSince(t0 - 1000));
      out.lost4.push(p4.lostSince(t0));
      out.lost6.push(p6.lostSince(t0));
      each.push(
        `host ${before} → ${1 - before}${before === vmHost ? ' (away from the VMs)' : ' (to the VMs)'}: IPv4 ${out.gap4.at(-1)} ms, IPv6 ${out.gap6.at(-1)} ms`,
      );
      // The agent starts the killed keepalived again (its 3 s check); it comes back standby.
      await waitThroughErrors('keepalived restarted', async () => t.keepalivedPid(before, router.id) !== null || null, 20_000, 200);
      await sleep(3000);
    }
    console.log(`(e) HA failover, active keepalived killed (SIGTERM), VRRP advert_int 0.5 s, pings every ${PING_S * 1000} ms, ${n} times`);
    console.log(`  IPv4 VM → outside: outage ${stats(out.gap4)} ms; echoes lost ${stats(out.lost4)}`);
    console.log(`  IPv6 VM → VM:      outage ${stats(out.gap6)} ms; echoes lost ${stats(out.lost6)}`);
    console.log(`  kill → the other agent active in the API: ${stats(out.api)} ms`);
    for (const e of each) console.log(`    ${e}`);
  } finally {
    for (const p of pingers) p.stop();
    await t.stop();
  }
}

async function dhcpv6(n: number): Promise<void> {
  const t = new TwoHosts('memory', { l3: true });
  const topo = new L3Topology(t);
  const dir = await mkdtemp(join(tmpdir(), 'neutrino-bench-dhclient-'));
  const vms: string[] = [];
  await t.start();
  try {
    await topo.external('bd-ext');
    const mode = 'dhcpv6-stateful';
    const st = await topo.tenant('bd-st', 'fd00:91::/64', { enable_dhcp: true, ipv6_ra_mode: mode, ipv6_address_mode: mode });
    await topo.router('bd-r', [st.subnet]);
    await waitThroughErrors('dnsmasq for the network', () => t.dnsmasqPid(st.net.id), 30_000, 100);
    // dhclient's script adds the address, as dhclient-script does.
    const script = join(dir, 'script.sh');
    const add = '[ -n "$new_ip6_address" ] && ip -6 addr add "$new_ip6_address/$new_ip6_prefixlen" dev "$interface"';
    await writeFile(script, `#!/bin/sh\ncase "$reason" in BOUND6|REBOOT6) ${add};; esac\nexit 0\n`, { mode: 0o755 });
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      const port = (await topo.ok('POST', '/ports', { port: { network_id: st.net.id, port_security_enabled: false } }, 201)).port;
      const ip = port.fixed_ips[0].ip_address;
      const ns = `nt${t.s}bd${i}`;
      vms.push(ns);
      const t0 = Date.now();
      await t.plug(port.id, ns, 1);
      await waitThroughErrors(
        'link-local ready',
        async () => {
          const r = await runInNetns(ns, { argv: ['ip', '-6', 'addr', 'show', 'dev', 'eth0'] });
          return (r.stdout.includes('fe80::') && !r.stdout.includes('tentative')) || null;
        },
        20_000,
        20,
      );
      await runInNetns(ns, {
        argv: ['dhclient', '-6', '-1', '-lf', join(dir, `${ns}.leases`), '-pf', join(dir, `${ns}.pid`), '-sf', script, 'eth0'],
        timeoutMs: 60_000,
      });
      await waitThroughErrors('the DHCPv6 address', async () => (await globalV6(ns)).includes(ip) || null, 20_000, 20);
      times.push(Date.now() - t0);
    }
    console.log(`(f) DHCPv6-stateful behind a router: plug → the port's address on the VM (dhclient -6): ${stats(times)} ms`);
  } finally {
    for (const ns of vms) {
      const pid = Number((await readFile(join(dir, `${ns}.pid`), 'utf8').catch(() => '')).trim());
      if (pid > 0) spawnSync('kill', [String(pid)]);
    }
    await t.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values: v } = parseArgs({ options: { failovers: { type: 'string' }, dhcpv6: { type: 'string' }, help: { type: 'boolean' } } });
  if (v.help) {
    console.log(HELP);
    return;
  }
  if (process.getuid?.() !== 0) throw new Error('bench:l3ha needs root (namespaces, keepalived, dnsmasq)');
  const failovers = Number(v.failovers ?? 5);
  const d6 = Number(v.dhcpv6 ?? 5);
  if (!Number.isInteger(failovers) || failovers < 0 || !Number.isInteger(d6) || d6 < 0)
    throw new Error(`--failovers and --dhcpv6 take whole numbers\n${HELP}`);
  if (failovers) await haFailovers(failovers);
  if (d6) await dhcpv6(d6);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

// HA routers on the L3 agent (Neutron's ha_router.py, keepalived.py and the
// keepalived-state-change monitor, in our shape):
//   - the router's namespace gets one more veth, ha-<HA port id[:11]>, into the HA network's
//     bridge, with the HA port's address: VRRP speaks there;
//   - keepalived, one per router, in the namespace: a VRRP instance VR_<ha_vr_id> on ha-, every
//     instance BACKUP with equal priority and nopreempt (the first up stays active), whose
//     virtual addresses are the router's interface, gateway and floating addresses and whose
//     virtual routes are the default and extra routes. The agent therefore leaves the qr-/qg-
//     addresses and the routes to keepalived; a standby router holds its links but no address.
//     keepalived sends the gratuitous ARPs when it becomes master;
//   - keepalived's notify script writes the new state (MASTER/BACKUP/FAULT) to a file; the agent
//     watches these files and reports changes with update_ha_routers_states (active/standby), as
//     Neutron's agent does when its state-change monitor tells it;
//   - a keepalived that died is started again by the periodic check (Neutron's process monitor);
//   - IPv6 as Neutron's HA routers do it: the namespace makes no link-local addresses itself
//     (addr_gen_mode 1) and accepts no router advertisements; each qr-/qg- link with IPv6 gets its
//     EUI-64 link-local address (the same on every host: the port's MAC) as a keepalived address
//     of scope link beside its global ones, so only the active router has any IPv6 address and a
//     standby says nothing. radvd follows the state (the agent runs it on the active router only;
//     the notify script stops it on leaving MASTER, before the links' bounce);
//   - the new master announces its IPv6 addresses (keepalived announces only IPv4 ones): they are
//     added without IFA_F_NODAD (`-nodad`) in a namespace with accept_dad 0 and ndisc_notify 1,
//     so the kernel sends an unsolicited NA (override, router) for each one as it is added; the
//     bridges learn the new location of the router's MACs and the instances' caches are refreshed.
//     IPv6 forwarding is on in the namespace whatever the state, so that these NAs, and the
//     answers to the instances' probes in the moment after, say "router": one saying otherwise
//     makes an instance drop its default route until the next advertisement (Neutron's agent,
//     turning forwarding on after the transition, has that window). A standby then joins the
//     all-routers group too: what its links would send from the unspecified address (MLD
//     reports, after the bounce; a standby has no address to send from) is dropped by an ip6
//     nftables table (HA_SILENCE_TABLE), so it still teaches no bridge where the router's MACs are.
import { existsSync, watch, type FSWatcher } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DesiredLink, Exec } from '../../dataplane/index.js';
import {
  applyNftPlans,
  listLinks,
  planTable,
  processAlive,
  readNftTable,
  readPidFile,
  runInNetns,
  terminate,
  type NftTable,
} from '../../dataplane/index.js';
import { linkLocalAddress } from '../../ipam/index.js';
import type { RpcLogger } from '../../rpc/index.js';
import { bridgeOf, tapOf, type RouterPlan, type SyncPort, type SyncRouter } from './model.js';

export const haDevOf = (portId: string) => `ha-${portId.slice(0, 11)}`;

/** Sync data of an HA router (l3_hamode_db's _process_sync_ha_data). */
export interface HaSync {
  ha?: boolean;
  ha_vr_id?: number | null;
  _ha_interface?: SyncPort;
  _ha_state?: string;
}

export interface VrrpSettings {
  /** [DEFAULT] ha_vrrp_auth_type, ha_vrrp_auth_password ('' : no authentication). */
  authType: 'AH' | 'PASS';
  authPassword: string;
  /** [DEFAULT] ha_vrrp_advert_int, seconds (a fraction: VRRPv3, without authentication). */
  advertInt: number;
}

export interface KeepalivedConfig {
  vrId: number;
  haDev: string;
  /** "addr/len dev name" */
  vips: string[];
  /** "dst via nexthop [dev name]" */
  routes: string[];
  notifyScript: string;
  vrrp: VrrpSettings;
}

const isV4 = (ip: string) => !ip.includes(':');
/** keepalived takes at most 20 addresses in virtual_ipaddress; the rest go in the excluded block. */
const MAX_VIPS = 20;
/** Routes keepalived installs carry this protocol (RTPROT_KEEPALIVED): the agent's own are `static`. */
const RTPROT_KEEPALIVED = 18;

export function isHaRouter(r: SyncRouter & HaSync): boolean {
  return r.ha === true && !!r._ha_interface && !!r.ha_vr_id;
}

/**
 * The plan of an HA router: the ha- link is added (exact addresses: the HA port's), the qr-/qg-
 * addresses and the routes move to keepalived. Returns the plan and keepalived's addresses/routes.
 */
export function planHa(r: SyncRouter & HaSync, plan: RouterPlan): { plan: RouterPlan; vips: string[]; routes: string[]; ipv6: boolean } {
  const port = r._ha_interface!;
  const dev = haDevOf(port.id);
  const bridge = bridgeOf(port.network_id);
  const mtu = port.mtu && port.mtu > 0 ? { mtu: port.mtu } : {};
  const prefix = (ip: string, subnetId: string) => {
    const f = port.fixed_ips.find((x) => x.ip_address === ip && x.subnet_id === subnetId);
    const s = port.subnets?.find((x) => x.id === subnetId);
    return f?.prefixlen ?? (s ? Number(s.cidr.split('/')[1]) : 32);
  };
  const vips: string[] = [];
  const v6: string[] = [];
  const routerLinks: DesiredLink[] = plan.routerLinks.map((l) => {
    const addrs = l.addresses ?? [];
    for (const a of addrs) (isV4(a.split('/')[0]!) ? vips : v6).push(`${a} dev ${l.name}`);
    // The link-local address radvd sends from and instances route through: the active router's only.
    if (l.address && addrs.some((a) => !isV4(a.split('/')[0]!))) v6.push(`${linkLocalAddress(l.address)}/64 dev ${l.name} scope link`);
    const { addresses: _managedByKeepalived, ...rest } = l;
    return rest;
  });
  vips.push(...v6);
  routerLinks.push({
    kind: 'external',
    name: dev,
    address: port.mac_address,
    up: true,
    addresses: port.fixed_ips.filter((f) => isV4(f.ip_address)).map((f) => `${f.ip_address}/${prefix(f.ip_address, f.subnet_id)}`),
    ...mtu,
  });
  const hostLinks: DesiredLink[] = [
    ...plan.hostLinks,
    { kind: 'bridge', name: bridge, up: true },
    { kind: 'veth', name: tapOf(port.id), peer: dev, peerNetns: plan.namespace, master: bridge, up: true, ...mtu },
  ];
  // keepalived's route syntax; a multipath default route (enable_default_route_ecmp) as its
  // `nexthop` list, one per gateway.
  const via = (h: { via?: string; dev?: string }) => `via ${h.via}${h.dev ? ` dev ${h.dev}` : ''}`;
  const routes = plan.routes.map((x) => {
    const dst = x.dst === 'default' ? '0.0.0.0/0' : x.dst;
    return x.nexthops?.length ? `${dst} ${x.nexthops.map((h) => `nexthop ${via(h)}`).join(' ')}` : `${dst} ${via(x)}`;
  });
  const seen = new Set<string>();
  const dedupHosts = hostLinks.filter((l) => (seen.has(l.name) ? false : (seen.add(l.name), true)));
  return { plan: { ...plan, hostLinks: dedupHosts, routerLinks, routes: [] }, vips, routes, ipv6: v6.length > 0 };
}

/** keepalived.conf of one HA router (Neutron's KeepalivedConf, without the unused knobs). */
export function renderKeepalived(c: KeepalivedConfig): string {
  // no_track (as Neutron's keepalived_use_no_track): keepalived 2 would otherwise put the
  // instance in FAULT when a VIP's link goes down, as the notify script's bounce does.
  // The instance speaks VRRP over IPv4: IPv6 addresses may only be excluded ones (keepalived
  // ignores a virtual address of the other family), as are all of Neutron's but its primary VIP.
  const v4 = c.vips.filter((v) => isV4(v.split('/')[0]!));
  const vips = v4.slice(0, MAX_VIPS).map((v) => `${v} no_track`);
  // IPv6 ones without nodad: the kernel announces them as it adds them (see the header).
  const v6 = c.vips.filter((v) => !isV4(v.split('/')[0]!)).map((v) => `${v} -nodad`);
  const excluded = [...v4.slice(MAX_VIPS), ...v6].map((v) => `${v} no_track`);
  const block = (name: string, lines: string[]) => (lines.length ? [`    ${name} {`, ...lines.map((l) => `        ${l}`), '    }'] : []);
  // A fractional interval needs VRRPv3 (centiseconds); v2, Neutron's, counts whole seconds.
  const v3 = !Number.isInteger(c.vrrp.advertInt);
  const auth = c.vrrp.authPassword && !v3 ? block('authentication', [`auth_type ${c.vrrp.authType}`, `auth_pass ${c.vrrp.authPassword}`]) : [];
  return [
    'global_defs {',
    '    notification_email_from neutron@openstack.local',
    '    router_id neutron',
    '    enable_script_security',
    '    script_user root',
    '}',
    `vrrp_instance VR_${c.vrId} {`,
    '    state BACKUP',
    `    interface ${c.haDev}`,
    `    virtual_router_id ${c.vrId}`,
    '    priority 50',
    '    nopreempt',
    ...(v3 ? ['    version 3'] : []),
    `    advert_int ${c.vrrp.advertInt}`,
    // Announce at once on becoming master, and again a little later (switches may have missed it).
    '    garp_master_delay 1',
    '    garp_master_repeat 3',
    ...block('track_interface', [c.haDev]),
    ...auth,
    ...block('virtual_ipaddress', vips),
    ...block('virtual_ipaddress_excluded', excluded),
    ...block(
      'virtual_routes',
      // The route's own options go before a nexthop list (after it they would be the last hop's).
      c.routes.map((r) => {
        const opts = `protocol ${RTPROT_KEEPALIVED} no_track`;
        const at = r.indexOf(' nexthop ');
        return at < 0 ? `${r} ${opts}` : `${r.slice(0, at)} ${opts}${r.slice(at)}`;
      }),
    ),
    `    notify "${c.notifyScript}"`,
    // Stopping (SIGTERM) lets go of the addresses: say so at once, not at the next start.
    `    notify_stop "${c.notifyScript} INSTANCE VR_${c.vrId} STOP 0"`,
    '}',
    '',
  ].join('\n');
}

/** What the notify script does besides recording the state. */
export interface NotifyOptions {
  /** The router's qr-/qg- links (bounced on leaving MASTER). */
  devices: readonly string[];
  /** radvd's pid file: radvd is stopped on leaving MASTER (the agent starts it on the new master). */
  radvdPidFile?: string;
}

/**
 * keepalived's notify script (called as: notify.sh INSTANCE VR_<id> MASTER|BACKUP|FAULT|STOP
 * <priority>): writes the state for the agent; on leaving MASTER, once keepalived has taken the
 * addresses, it stops radvd and then takes the router's qr-/qg- links down and up again. The standby's links keep the router's MACs, and the bridge
 * of its host would go on sending the router's traffic to them (it learnt them there) until the
 * new master's gratuitous ARPs reach it; the bounce drops the bridge's entries for that port
 * (a port that loses carrier is flushed), so the frames flood and find the new master at once.
 * The addresses and routes are keepalived's and already gone by then, and a standby's links make
 * no IPv6 address of their own, so after the bounce they say nothing.
 */
export function notifyScript(stateFile: string, o: NotifyOptions): string {
  const { devices } = o;
  const bounce = devices.map((d) => `ip link set dev ${d} down; ip link set dev ${d} up`);
  // keepalived may still be taking the addresses away when it calls the script (a link that
  // still has them answers and teaches its bridge again): wait for them to go (at most 2 s).
  const owned = devices.map((d) => `ip -o addr show dev ${d}`).join('; ');
  // radvd exiting sends a last advertisement (router lifetime 0) if it still can: only once the link-local address is gone.
  const radvd = o.radvdPidFile ? [`[ -f '${o.radvdPidFile}' ] && kill "$(cat '${o.radvdPidFile}')"`] : [];
  const leave = [...radvd, ...bounce];
  return [
    '#!/bin/sh',
    `printf '%s' "$3" > '${stateFile}.tmp' && mv '${stateFile}.tmp' '${stateFile}'`,
    ...(leave.length
      ? [
          'case "$3" in BACKUP|FAULT|STOP)',
          `  (i=0; while [ $i -lt 20 ] && [ -n "$(${owned || 'true'})" ]; do sleep 0.1; i=$((i+1)); done; ${leave.join('; ')}) </dev/null >/dev/null 2>&1 &`,
          ';; esac',
        ]
      : []),
    'exit 0',
    '',
  ].join('\n');
}

/** keepalived's word → Neutron's ha_state. */
export function haStateOf(keepalivedState: string): string {
  const s = keepalivedState.trim().toUpperCase();
  // A stopped keepalived has let go of the addresses: standby, as Neutron's monitor sees it.
  return s === 'MASTER' ? 'active' : s === 'BACKUP' || s === 'FAULT' || s === 'STOP' ? 'standby' : 'unknown';
}

export interface HaRoutersOptions {
  /** [DEFAULT] ha_confs_path. */
  confsPath: string;
  vrrp: VrrpSettings;
  exec?: Exec;
  logger: RpcLogger;
  /** update_ha_routers_states (a cast: resolves once sent; a failed send is retried). */
  report(states: Record<string, string>): Promise<void>;
  /** How often keepalived processes are checked, ms (default 3000). */
  checkMs?: number;
  /** The router's state here changed (active ↔ standby): the agent starts or stops radvd. */
  onStateChange?(routerId: string, state: string): void;
}

interface HaRouterState {
  ns: string;
  conf: string;
  reported: string | null;
  /** The state last read from the notify script's file. */
  seen: string | null;
}

/**
 * An HA router namespace's IPv6 settings, set before its links come in (a link moved into the
 * namespace takes its `default` values): no link-local address of its own, no router
 * advertisements accepted (a standby would make the active one's SLAAC addresses), forwarding on
 * whatever the state, no DAD and an unsolicited NA for each address added (the header says why),
 * IPv6 on.
 */
const HA_SYSCTLS: ReadonlyArray<[string, string]> = [
  ['net.ipv6.conf.all.addr_gen_mode', '1'],
  ['net.ipv6.conf.default.addr_gen_mode', '1'],
  ['net.ipv6.conf.all.accept_ra', '0'],
  ['net.ipv6.conf.default.accept_ra', '0'],
  ['net.ipv6.conf.all.accept_dad', '0'],
  ['net.ipv6.conf.default.accept_dad', '0'],
  ['net.ipv6.conf.all.ndisc_notify', '1'],
  ['net.ipv6.conf.all.forwarding', '1'],
  // After addr_gen_mode: links that had IPv6 off (an older agent's namespace) come back without addresses.
  ['net.ipv6.conf.all.disable_ipv6', '0'],
  ['net.ipv6.conf.default.disable_ipv6', '0'],
];

/** The ip6 table of an HA router's namespace that keeps a standby's links silent. */
export const HA_SILENCE_TABLE = 'neutrino_ha';

/**
 * What leaves the router's qr-/qg- links from the unspecified address is dropped: MLD reports a
 * link without an address sends with the router's MAC (a standby after its bounce), which would
 * teach its bridge that the router is there. The active router sends from its link-local address.
 */
export function haSilenceTable(): NftTable {
  const rules = ['qr-*', 'qg-*'].map((dev) => `oifname "${dev}" ip6 saddr :: drop`);
  return {
    family: 'ip6',
    name: HA_SILENCE_TABLE,
    chains: [{ name: 'output', base: { type: 'filter', hook: 'output', priority: 0, policy: 'accept' }, rules }],
  };
}

/** keepalived per HA router: its files, its process, its state reports. */
export class HaRouters {
  private readonly routers = new Map<string, HaRouterState>();
  /**
   * One watcher per router directory: Node 20's recursive fs.watch on Linux notices a state file
   * replaced in an existing subdirectory only by polling it (seconds late), a plain one at once.
   */
  private readonly watchers = new Map<string, FSWatcher>();
  private timer: NodeJS.Timeout | null = null;
  private reporting: Promise<void> = Promise.resolve();

  constructor(private readonly o: HaRoutersOptions) {}

  private dir(routerId: string): string {
    return join(this.o.confsPath, routerId);
  }

  async start(): Promise<void> {
    await mkdir(this.o.confsPath, { recursive: true });
    this.timer = setInterval(() => void this.check(), this.o.checkMs ?? 3000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    if (this.timer) clearInterval(this.timer);
    await this.reporting;
  }

  has(routerId: string): boolean {
    return this.routers.has(routerId);
  }

  /** Writes keepalived's configuration and makes sure it runs with it (SIGHUP when it changed). */
  async ensure(routerId: string, ns: string, c: Omit<KeepalivedConfig, 'notifyScript' | 'vrrp'> & NotifyOptions): Promise<void> {
    const dir = this.dir(routerId);
    await mkdir(dir, { recursive: true });
    const script = join(dir, 'notify.sh');
    const { devices, radvdPidFile, ...kc } = c;
    const text = notifyScript(join(dir, 'state'), { devices, ...(radvdPidFile ? { radvdPidFile } : {}) });
    if (!existsSync(script) || (await readFile(script, 'utf8')) !== text) {
      await writeFile(script, text);
      await chmod(script, 0o755);
    }
    const conf = renderKeepalived({ ...kc, notifyScript: script, vrrp: this.o.vrrp });
    const confFile = join(dir, 'keepalived.conf');
    const before = existsSync(confFile) ? await readFile(confFile, 'utf8') : null;
    if (before !== conf) await writeFile(confFile, conf);
    const pid = await this.pid(routerId);
    if (pid === null) await this.spawn(routerId, ns);
    else if (before !== conf) process.kill(pid, 'SIGHUP');
    const prev = this.routers.get(routerId);
    this.routers.set(routerId, { ns, conf, reported: prev?.reported ?? null, seen: prev?.seen ?? null });
    if (!this.watchers.has(routerId)) {
      try {
        const w = watch(dir, (_e, f) => {
          if (f && String(f) === 'state') this.reportChanges();
        });
        w.on('error', () => {}); // the directory went with the router; the timer still reports
        this.watchers.set(routerId, w);
      } catch {
        // the periodic check reports instead
      }
    }
    this.reportChanges();
  }

  /**
   * A standby's qr-/qg- links hold the active router's MACs, and any frame they sent (IPv6
   * neighbour discovery, MLD reports) would teach the bridges to send the router's traffic to
   * the standby: before the router's links come into its namespace (once per process; it reads
   * first), the namespace is set to make no IPv6 address itself (HA_SYSCTLS); keepalived gives
   * the active router its addresses. Links already there (an older agent's) accept no
   * advertisements either. Returns the writes.
   */
  async prepareNamespace(ns: string): Promise<number> {
    const target = { netns: ns, ...(this.o.exec ? { exec: this.o.exec } : {}) };
    // The silence first: forwarding on makes the links join the all-routers group.
    const nft = planTable(haSilenceTable(), await readNftTable('ip6', HA_SILENCE_TABLE, target));
    await applyNftPlans([nft], target);
    const writes = nft.kind !== 'none' ? 1 : 0;
    const now = (await runInNetns(ns, { argv: ['sysctl', '-n', ...HA_SYSCTLS.map(([k]) => k)] }, this.o.exec)).stdout.trim().split('\n');
    const off = HA_SYSCTLS.filter(([, v], i) => now[i]?.trim() !== v);
    if (!off.length) return writes;
    const links = (await listLinks(target)).filter((l) => l.name !== 'lo');
    const perLink = links.flatMap((l) => [`net.ipv6.conf.${l.name}.accept_ra=0`, `net.ipv6.conf.${l.name}.accept_dad=0`]);
    await runInNetns(ns, { argv: ['sysctl', '-qw', ...off.map(([k, v]) => `${k}=${v}`), ...perLink], write: true }, this.o.exec);
    return writes + 1;
  }

  /** Whether keepalived says the router is active here (its notify script's last word). */
  async active(routerId: string): Promise<boolean> {
    const word = await readFile(join(this.dir(routerId), 'state'), 'utf8').catch(() => '');
    return haStateOf(word) === 'active';
  }

  private async spawn(routerId: string, ns: string): Promise<void> {
    const dir = this.dir(routerId);
    await rm(join(dir, 'state'), { force: true });
    await runInNetns(
      ns,
      {
        argv: ['keepalived', '-P', '-f', join(dir, 'keepalived.conf'), '-p', join(dir, 'keepalived.pid'), '-r', join(dir, 'vrrp.pid'), '-l'],
        write: true,
      },
      this.o.exec,
    );
    this.o.logger.info({ routerId, ns }, 'keepalived started');
  }

  /** The main keepalived process of the router, if it runs. */
  async pid(routerId: string): Promise<number | null> {
    const pid = await readPidFile(join(this.dir(routerId), 'keepalived.pid'));
    return pid !== null && (await processAlive(pid)) ? pid : null;
  }

  /** Stops the router's keepalived (it lets go of its addresses) and forgets its files. */
  async remove(routerId: string): Promise<void> {
    const pid = await this.pid(routerId);
    if (pid !== null) await terminate([pid]);
    this.routers.delete(routerId);
    this.watchers.get(routerId)?.close();
    this.watchers.delete(routerId);
    await rm(this.dir(routerId), { recursive: true, force: true });
  }

  /** The periodic check: a keepalived that died is started again; states are reported. */
  private async check(): Promise<void> {
    for (const [id, s] of this.routers) {
      if ((await this.pid(id)) === null) {
        this.o.logger.warn({ routerId: id }, 'keepalived is not running; starting it again');
        await this.spawn(id, s.ns).catch((err: unknown) =>
          this.o.logger.warn({ routerId: id, err: (err as Error).message }, 'keepalived start failed'),
        );
      }
    }
    this.reportChanges();
  }

  /** The states that changed since the last report, in one update_ha_routers_states. */
  private reportChanges(): void {
    this.reporting = this.reporting.then(async () => {
      const states: Record<string, string> = {};
      for (const [id, s] of this.routers) {
        let word: string;
        try {
          word = await readFile(join(this.dir(id), 'state'), 'utf8');
        } catch {
          continue;
        }
        const state = haStateOf(word);
        if (state !== s.reported) states[id] = state;
        if (state !== s.seen) {
          s.seen = state;
          this.o.onStateChange?.(id, state);
        }
      }
      if (!Object.keys(states).length) return;
      try {
        await this.o.report(states);
        for (const [id, st] of Object.entries(states)) {
          const r = this.routers.get(id);
          if (r) r.reported = st;
        }
        this.o.logger.info({ states }, 'HA router states reported');
      } catch (err) {
        this.o.logger.warn({ err: (err as Error).message }, 'update_ha_routers_states failed; will retry');
      }
    });
  }
}

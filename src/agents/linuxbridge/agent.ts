// The L2 agent for Linux bridges (`neutrino agent linuxbridge`), Neutron's linuxbridge agent
// rebuilt as a reconciler:
//   - watches taps `tap<port-id[:11]>`, its bridges, VXLAN devices and forwarding entries with a
//     long-running `ip monitor link neigh`, and its nftables tables with `nft monitor tables`
//     (events: what someone deletes is rebuilt at once), plus a periodic full pass (repairs
//     whatever an event missed);
//   - asks the server about new taps (get_devices_details_list on 'q-plugin'), wires each into its
//     network's bridge `brq<net-id[:11]>` with a `vxlan-<vni>` device on local_ip (or a flat
//     interface / VLAN sub-interface), then reports them up (update_device_list); gone taps are
//     reported down;
//   - keeps the l2population view (add/remove/update_fdb_entries fanouts, get_fdb_entries for a
//     resync) and reconciles the VXLAN devices' forwarding (and neighbour) entries from it;
//   - passes run on the agents' work queue (reconciler.ts): one at a time, a request during a
//     pass makes one more, a full pass does a waiting quick one's work, a failed pass is retried
//     after a growing backoff;
//   - every pass is one read of the links and zero or one batch write; a quick pass (an event
//     named a few taps) reads just those taps and their networks' links, a full pass (every
//     polling_interval) reads them all and also removes what is no longer needed; restarting
//     the agent finds the kernel already right and writes nothing, so traffic never stops.
//   - with a firewall (security-groups.ts, firewall.ts) each pass first brings the nftables
//     security group tables up to date, before new taps join their bridges.
import {
  diffLinks,
  linkOpsToBatch,
  listLinks,
  listNamedLinks,
  reconcileFdb,
  reconcileNeigh,
  stats,
  watchLinksAndNeighbours,
  watchNftTables,
  type Exec,
  type KernelEvent,
  type Link,
  type LinkOp,
  type Target,
  type Watcher,
} from '../../dataplane/index.js';
import { agentRpcContext, RpcRemoteError, type RpcBus, type RpcLogger, type RpcServerHandle } from '../../rpc/index.js';
import { rpcVersion } from '../rpc-versions.js';
import { PendingKeys, Reconciler } from '../reconciler.js';
import { StateReporter } from '../state-reporter.js';
import {
  FdbView,
  desiredFdb,
  desiredLinks,
  isTap,
  networkBridge,
  ownedLinks,
  unsupportedReason,
  vxlanName,
  VXLAN_PREFIX,
  type DeviceInfo,
  type ModelOptions,
  type NetworkFdb,
} from './model.js';
import { SecurityGroupFirewall } from './security-groups.js';
import { NetworkLog } from './network-log.js';
import { FW_TABLE } from './firewall.js';
import type { AgentMetrics } from '../metrics.js';
import {
  AGENT_TYPE_LINUXBRIDGE,
  L2POP_TOPIC,
  LOG_PUSH_TOPIC,
  LOGGING_PLUGIN_TOPIC,
  PLUGIN_TOPIC,
  PORT_DELETE_TOPIC,
  PORT_UPDATE_TOPIC,
  SG_UPDATE_TOPIC,
} from '../../core/wire.js';

export const AGENT_BINARY = 'neutron-linuxbridge-agent';
/** More taps named by events than this, and a quick pass reads every link instead (one dump beats many lookups). */
const SCOPED_MAX = 64;
/** The first retry of a failed pass waits this long, ms; each further one twice as long, up to polling_interval. */
const RETRY_BASE_MS = 200;

/** A quick pass looks at what events named; a full pass at everything. */
type PassKind = 'quick' | 'full';

export interface LinuxBridgeAgentOptions extends ModelOptions {
  bus: RpcBus;
  host: string;
  /** Where to count passes, the queue and the firewall ([agent] metrics_bind_port). */
  metrics?: AgentMetrics;
  /** Manage links in this named namespace instead of the agent's own (tests: one netns per "host"). */
  netns?: string;
  l2Population: boolean;
  /** [agent] report_interval, seconds (0: no reports). */
  reportInterval: number;
  /** [agent] polling_interval, seconds: the periodic full pass. */
  pollingInterval: number;
  /** Full l2population resync every this many seconds (default 30). */
  fdbResyncInterval?: number;
  /** Watch kernel events (links, forwarding entries, nftables tables; default true); off, only the periodic pass sees new taps and repairs drift. */
  monitor?: boolean;
  rpcTimeoutMs?: number;
  /** Runs the kernel commands (default: the real one); the benchmark counts this agent's with it. */
  exec?: Exec;
  /** Security groups in the kernel: 'nftables', or 'noop' (the default here; the CLI's is nftables). */
  firewall?: 'nftables' | 'noop';
  /** With a firewall: ask the server about every port's groups again this often, seconds (default 60). */
  sgResyncInterval?: number;
  /** With a firewall: read its nftables tables on a full pass this often to repair drift, seconds (default 30). */
  sgKernelCheckInterval?: number;
  /** [agent] extensions = log (with the firewall): network logs, [network_log]'s limits and file. */
  networkLog?: { rate: number; burst: number; outputFile: string | null };
  logger: RpcLogger;
}

export interface PassResult {
  linkOps: number;
  fdbOps: number;
  neighOps: number;
  /** nftables transactions for security groups (0 or 1). */
  firewallOps: number;
  up: string[];
  down: string[];
  /** Where the pass spent its time (ms): asking the server about taps, reading links, diffing and writing them, FDB, reporting. */
  ms: { ask: number; read: number; links: number; fdb: number; report: number };
}

export class LinuxBridgeAgent {
  /** Taps wired (or to wire) here: what the server said about them. */
  readonly devices = new Map<string, DeviceInfo>();
  /** Taps the server knows nothing about for this host (yet); retried on full passes. */
  private readonly unresolved = new Set<string>();
  /** Taps reported up (or down, for admin-down ports) since the agent started. */
  private readonly reported = new Map<string, 'up' | 'down'>();
  /** Taps whose details must be fetched again (port_update). */
  private readonly refresh = new Set<string>();
  /** Taps named by events since the last pass: what a quick pass looks at. */
  private readonly touched = new PendingKeys<string>();
  private readonly fdb = new FdbView();
  /** Networks whose l2pop view was loaded from the server since they appeared here. */
  private readonly fdbSynced = new Set<string>();
  /** Networks whose l2pop view changed since their VXLAN device's entries were last reconciled. */
  private readonly fdbDirty = new PendingKeys<string>();
  private readonly target: Target;
  private readonly agentId: string;
  private readonly reporter: StateReporter;
  /** Security groups (null: no firewall). */
  readonly firewall: SecurityGroupFirewall | null;
  /** The `log` extension (null: not loaded, or no firewall). */
  readonly networkLog: NetworkLog | null;
  private handles: RpcServerHandle[] = [];
  /** The kernel event watchers (none with monitor off). */
  private readonly watchers: Watcher[] = [];
  private running = false;
  /** The passes' queue: keys 'quick' and 'full', one pass at a time, 'full' every polling_interval. */
  private work: Reconciler<PassKind> | null = null;
  private lastFdbResync = 0;
  /**
   * Whether the server answers get_fdb_entries (neutrino's own l2pop resync); null until asked.
   * Neutron's server has no such method: it pushes a network's whole view to this agent
   * (add_fdb_entries to its host) when the agent's first ports there go up, or when an
   * update_device_list carries refresh_tunnels.
   */
  private fdbEntriesServed: boolean | null = null;
  /** The next update_device_list asks for refresh_tunnels: the agent (re)started or was revived, as Neutron's agents ask. */
  private refreshTunnels = true;
  /** Resolves after the first complete pass. */
  readonly ready: Promise<void>;
  private markReady!: () => void;
  passes = 0;
  lastPass: PassResult | null = null;

  constructor(private readonly o: LinuxBridgeAgentOptions) {
    this.target = { ...(o.netns ? { netns: o.netns } : {}), ...(o.exec ? { exec: o.exec } : {}) };
    this.agentId = `lb-${o.host}`;
    this.ready = new Promise((r) => (this.markReady = r));
    this.networkLog =
      o.firewall === 'nftables' && o.networkLog
        ? new NetworkLog({
            call: (m, a) =>
              this.o.bus.call(LOGGING_PLUGIN_TOPIC, m, a, { context: agentRpcContext(), version: '1.1', timeoutMs: this.o.rpcTimeoutMs ?? 10_000 }),
            host: o.host,
            ...(o.netns ? { netns: o.netns } : {}),
            ...o.networkLog,
            logger: o.logger,
            resyncInterval: o.sgResyncInterval,
          })
        : null;
    this.firewall =
      o.firewall === 'nftables'
        ? new SecurityGroupFirewall({
            call: (m, a) => this.call(m, a),
            target: this.target,
            logger: o.logger,
            resyncInterval: o.sgResyncInterval,
            kernelCheckInterval: o.sgKernelCheckInterval,
            ...(this.networkLog ? { networkLog: this.networkLog } : {}),
          })
        : null;
    this.reporter = new StateReporter({
      bus: o.bus,
      agentType: AGENT_TYPE_LINUXBRIDGE,
      binary: AGENT_BINARY,
      host: o.host,
      topic: 'N/A',
      reportInterval: o.reportInterval,
      configurations: () => ({
        interface_mappings: o.interfaceMappings,
        bridge_mappings: o.bridgeMappings,
        tunnel_types: o.enableVxlan && o.localIp ? ['vxlan'] : [],
        ...(o.localIp ? { tunneling_ip: o.localIp } : {}),
        l2_population: o.l2Population,
        arp_responder_enabled: o.arpResponder,
        firewall_driver: this.firewall ? 'nftables' : 'noop',
        extensions: this.networkLog ? ['log'] : [],
        devices: this.devices.size,
      }),
      // The server lost track of us: everything it knew may be stale, resync it all.
      onRevived: () => {
        this.refreshTunnels = true;
        this.reported.clear();
        // The server may have been replaced meanwhile (Neutron's by neutrino's, or back): ask again.
        this.fdbEntriesServed = null;
        this.firewall?.resyncAll();
        this.schedule('full', true);
      },
      logger: o.logger,
      onError: (err) => o.logger.warn({ err: (err as Error).message }, 'state report failed'),
    });
  }

  async start(): Promise<void> {
    this.running = true;
    this.work = new Reconciler<PassKind>({
      run: (kind) => this.runPass(kind),
      fullKey: 'full',
      resyncMs: this.o.pollingInterval * 1000,
      coveredByFull: (kind) => kind === 'quick',
      observer: this.o.metrics?.passObserver<PassKind>(
        'linuxbridge',
        (k) => k,
        (k) => k === 'full',
      ),
      backoff: { baseMs: RETRY_BASE_MS, maxMs: Math.max(RETRY_BASE_MS, this.o.pollingInterval * 1000) },
      onFailure: (kind, err, failures, retryInMs) =>
        this.o.logger.warn(
          { err: (err as Error).message, kind, failures, retryInMs },
          'agent pass failed; retrying after a backoff (or on the next request)',
        ),
    });
    this.o.metrics?.watchQueue('linuxbridge', () => this.work?.waiting ?? 0);
    if (this.firewall) this.o.metrics?.watchFirewallChains(() => this.firewall?.chainCount ?? 0);
    const h = this.o.host;
    this.handles.push(
      await this.o.bus.serve(PORT_UPDATE_TOPIC, h, {
        port_update: (_ctx, args: { port?: { id?: string } }) => {
          const id = args?.port?.id;
          if (!id) return;
          const tap = `tap${id.slice(0, 11)}`;
          if (this.devices.has(tap) || this.unresolved.has(tap)) {
            this.refresh.add(tap);
            this.touched.add(tap);
            this.firewall?.portUpdated(tap);
            this.networkLog?.portUpdated(id);
            this.schedule('quick');
          }
        },
      }),
    );
    if (this.firewall) {
      await this.firewall.checkKernel();
      this.handles.push(
        await this.o.bus.serve(
          SG_UPDATE_TOPIC,
          h,
          this.firewall.handlers(() => this.schedule('quick')),
        ),
      );
    }
    if (this.networkLog) {
      this.networkLog.start();
      this.handles.push(
        await this.o.bus.serve(
          LOG_PUSH_TOPIC,
          h,
          this.networkLog.handlers(() => this.schedule('quick')),
        ),
      );
    }
    this.handles.push(await this.o.bus.serve(PORT_DELETE_TOPIC, h, { port_delete: () => undefined }));
    if (this.o.l2Population) {
      this.handles.push(
        await this.o.bus.serve(L2POP_TOPIC, h, {
          add_fdb_entries: (_ctx, a: { fdb_entries: Record<string, NetworkFdb> }) => {
            this.o.logger.debug({ fdb_entries: a.fdb_entries }, 'add_fdb_entries');
            this.fdb.add(a.fdb_entries);
            this.fdbChanged(a.fdb_entries, (e) => Object.keys(e?.ports ?? {}));
          },
          remove_fdb_entries: (_ctx, a: { fdb_entries: Record<string, NetworkFdb> }) => {
            this.o.logger.debug({ fdb_entries: a.fdb_entries }, 'remove_fdb_entries');
            this.fdb.remove(a.fdb_entries);
            this.fdbChanged(a.fdb_entries, (e) => Object.keys(e?.ports ?? {}));
          },
          update_fdb_entries: (_ctx, a: { fdb_entries: Parameters<FdbView['update']>[0] }) => {
            this.fdb.update(a.fdb_entries);
            this.fdbChanged(a.fdb_entries?.chg_ip, (e) => Object.keys(e ?? {}));
          },
        }),
      );
    }
    this.reporter.start();
    if (this.o.monitor ?? true) this.startMonitor();
    this.schedule('full', true);
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const w of this.watchers.splice(0)) w.stop();
    await this.reporter.stop();
    for (const h of this.handles) await h.stop().catch(() => {});
    this.handles = [];
    await this.work?.stop();
    await this.networkLog?.stop();
  }

  /** l2pop news: the networks where another host's entries changed need a look (our own we ignore). */
  private fdbChanged<E>(byNetwork: Record<string, E> | undefined, ipsOf: (e: E) => string[]): void {
    let any = false;
    for (const [net, e] of Object.entries(byNetwork ?? {})) {
      if (!ipsOf(e).some((ip) => ip !== this.o.localIp)) continue;
      this.fdbDirty.add(net);
      any = true;
    }
    if (any) this.schedule('quick');
  }

  /**
   * Kernel events (`ip -o monitor link neigh`), each only marking what to look at:
   *   - a tap the agent does not know yet appeared, or a known one went (a tap leaving its
   *     bridge also prints as "Deleted", so a deleted bridge is repaired at once too);
   *   - a bridge or VXLAN device a wired tap needs went (or left its bridge): its network's taps
   *     are looked at, which brings back their bridge and segment device (and a re-created VXLAN
   *     device gets its forwarding entries);
   *   - a forwarding (or neighbour) entry went from the VXLAN device of a network here: that
   *     network's entries are reconciled.
   * Everything else (our own changes, carrier and bridge-port state, other links) waits for the
   * periodic full pass, which repairs any drift: reacting to every message would make each of
   * our writes cost a pass. (Our own deletions of entries do cost one read.)
   */
  private onKernelEvent(e: KernelEvent): void {
    if (e.kind === 'neigh') {
      // Only entries with a remote (ours; arp_responder's neighbours too): the bridge's learned
      // entries on the VXLAN port print without one and age out all the time.
      if (!e.deleted || !e.dst || !e.dev.startsWith(VXLAN_PREFIX)) return;
      const net = [...this.devices.values()].find((d) => d.network_type === 'vxlan' && vxlanName(d.segmentation_id!) === e.dev)?.network_id;
      if (!net) return;
      this.fdbDirty.add(net);
      this.schedule('quick');
      return;
    }
    if (isTap(e.name)) {
      const known = this.devices.has(e.name) || this.unresolved.has(e.name);
      if (e.deleted ? !known : known) return;
      this.touched.add(e.name);
      this.schedule('quick');
      return;
    }
    if (!e.deleted) return;
    let any = false;
    for (const d of this.devices.values()) {
      if (networkBridge(d, this.o) !== e.name && !(d.network_type === 'vxlan' && vxlanName(d.segmentation_id!) === e.name)) continue;
      this.touched.add(d.device);
      any = true;
    }
    if (any) this.schedule('quick');
  }

  private startMonitor(): void {
    const warn = (msg: string) => (m: string) => this.o.logger.warn({ err: m }, msg);
    this.watchers.push(
      watchLinksAndNeighbours(this.o.netns, {
        onEvent: (e) => this.onKernelEvent(e),
        // Events may have been missed meanwhile: a full pass.
        onRestart: () => this.schedule('full'),
        onError: warn('ip monitor'),
      }),
    );
    const fw = this.firewall;
    if (fw) {
      this.watchers.push(
        watchNftTables(this.o.netns, {
          onEvent: (e) => {
            if (!e.deleted || e.table !== FW_TABLE) return;
            fw.tableDeleted();
            this.schedule('quick');
          },
          onRestart: () => {
            fw.tableDeleted();
            this.schedule('quick');
          },
          onError: warn('nft monitor'),
        }),
      );
    }
  }

  /** Asks for a pass (see the work queue for what a request while one runs does). */
  schedule(kind: PassKind, fdbResync = false): void {
    if (!this.running || !this.work) return;
    if (fdbResync) this.lastFdbResync = 0;
    void this.work.enqueue(kind);
  }

  /** Asks for a full pass and resolves when one has succeeded (a failed one is retried). */
  async sync(): Promise<PassResult | null> {
    if (!this.running || !this.work) return this.lastPass;
    let outcome = await this.work.enqueue('full');
    while (!outcome.ok && this.running) outcome = await this.work.nextRun('full');
    return this.lastPass;
  }

  /** Resolves once no pass runs or waits to start. */
  async idle(): Promise<void> {
    await this.work?.idle();
  }

  /** One pass off the work queue, logged when it changed something. */
  private async runPass(kind: PassKind): Promise<void> {
    const full = kind === 'full';
    const t0 = Date.now();
    const lp = await this.pass(full);
    this.lastPass = lp;
    this.passes++;
    if (lp.linkOps || lp.fdbOps || lp.neighOps || lp.firewallOps || lp.up.length || lp.down.length) {
      this.o.logger.info({ full, ...lp, ms: Date.now() - t0, steps: lp.ms }, 'agent pass changed things');
    }
    if (this.passes === 1 || full) this.markReady();
  }

  private call<T>(method: string, args: Record<string, unknown>): Promise<T> {
    return this.o.bus.call<T>(PLUGIN_TOPIC, method, args, {
      context: agentRpcContext(),
      version: rpcVersion(method),
      timeoutMs: this.o.rpcTimeoutMs ?? 10_000,
    });
  }

  /**
   * One reconcile pass; see the file comment. A quick pass looks only at the taps events named
   * (and their networks' bridges and segment devices): a few direct lookups instead of listing a
   * namespace that may hold thousands of links. A full pass (or a burst of events) reads all.
   */
  async pass(full: boolean): Promise<PassResult> {
    const touched = this.touched.take();
    const fdbDirty = this.fdbDirty.take();
    try {
      return await this.passOver(full, !full && touched.size <= SCOPED_MAX ? touched : null, fdbDirty);
    } catch (err) {
      // What this pass was to look at is still to be looked at.
      this.touched.putBack(touched);
      this.fdbDirty.putBack(fdbDirty);
      throw err;
    }
  }

  /**
   * The stages of a pass, in order: learn about the taps (read the kernel, forget the gone ones,
   * ask the server about the new ones), then bring the kernel to what they need (security
   * groups, then links, then l2population entries), then tell the server what is up and down.
   * `scope`: the taps a quick pass looks at (null: all of them).
   */
  private async passOver(full: boolean, scope: Set<string> | null, fdbDirty: Set<string>): Promise<PassResult> {
    const lap = laps();
    const down: string[] = [];
    // Scoped: ask first (a tap already gone again is simply not found by the read), then read
    // only the links these devices involve.
    if (scope) down.push(...(await this.askServerAbout([...scope].filter((t) => this.needsDetails(t)))));
    let askMs = lap();
    const actual = await this.readActualLinks(scope);
    const readMs = lap();
    const taps = new Set(actual.filter((l) => isTap(l.name)).map((l) => l.name));
    down.push(...this.forgetGoneTaps(taps, scope));
    if (!scope) down.push(...(await this.askServerAbout(this.tapsToAskAbout(taps, full))));
    askMs += lap();
    const firewallOps = await this.applySecurityGroups(full);
    const ops = await this.applyLinks(actual, scope);
    const linksMs = lap();
    const { fdbOps, neighOps } = this.o.l2Population ? await this.applyL2Population(ops, fdbDirty) : { fdbOps: 0, neighOps: 0 };
    const fdbMs = lap();
    const { up, down: devicesDown } = await this.reportDeviceStates(down);
    return {
      linkOps: ops.length,
      fdbOps,
      neighOps,
      firewallOps,
      up,
      down: devicesDown,
      ms: { ask: askMs, read: readMs, links: linksMs, fdb: fdbMs, report: lap() },
    };
  }

  /** A tap the agent knows nothing about yet, or whose port changed (port_update). */
  private needsDetails(tap: string): boolean {
    return (!this.devices.has(tap) && !this.unresolved.has(tap)) || this.refresh.has(tap);
  }

  /** Taps a full read found that need the server's word: new ones, refreshed ones, and (full pass) those unknown so far. */
  private tapsToAskAbout(taps: ReadonlySet<string>, full: boolean): string[] {
    return [...taps].filter((t) => this.needsDetails(t) || (full && this.unresolved.has(t)));
  }

  private inScope(scope: Set<string> | null): (d: DeviceInfo) => boolean {
    return (d) => !scope || scope.has(d.device);
  }

  /** The kernel's links: every one (full), or just the scope's taps and the links their networks need. */
  private async readActualLinks(scope: Set<string> | null): Promise<Link[]> {
    if (!scope) return listLinks(this.target);
    const wanted = desiredLinks([...this.devices.values()].filter(this.inScope(scope)), this.o).map((l) => l.name);
    return listNamedLinks([...scope, ...wanted], this.target);
  }

  /** Taps gone from the kernel (among those looked at) are forgotten; returns the wired ones, to report down. */
  private forgetGoneTaps(taps: ReadonlySet<string>, scope: Set<string> | null): string[] {
    const down: string[] = [];
    for (const tap of [...this.devices.keys(), ...this.unresolved]) {
      if (taps.has(tap) || (scope && !scope.has(tap))) continue;
      if (this.devices.has(tap)) down.push(tap);
      this.devices.delete(tap);
      this.unresolved.delete(tap);
      this.reported.delete(tap);
      this.refresh.delete(tap);
    }
    return down;
  }

  /**
   * get_devices_details_list for `ask`: what to wire, what is unknown (or cannot be wired here).
   * Returns the devices the server no longer knows that were wired: they are to be reported down.
   */
  private async askServerAbout(ask: string[]): Promise<string[]> {
    if (!ask.length) return [];
    const o = this.o;
    const down: string[] = [];
    const details = await this.call<Array<Partial<DeviceInfo> & { device: string }>>('get_devices_details_list', {
      devices: ask,
      agent_id: this.agentId,
      host: o.host,
    });
    for (const d of details) {
      this.refresh.delete(d.device);
      if (d.network_id && d.port_id) {
        const info = d as DeviceInfo;
        const why = unsupportedReason(info, o);
        if (why) {
          o.logger.warn({ device: d.device, why }, 'cannot wire device');
          this.unresolved.add(d.device);
          this.devices.delete(d.device);
          continue;
        }
        const prev = this.devices.get(d.device);
        if (prev && prev.admin_state_up !== info.admin_state_up) this.reported.delete(d.device);
        this.devices.set(d.device, info);
        this.unresolved.delete(d.device);
      } else {
        this.unresolved.add(d.device);
        if (this.devices.delete(d.device)) down.push(d.device);
      }
    }
    return down;
  }

  /** Security groups first: a tap joins its bridge only once its filter is in place. Returns nft transactions. */
  private async applySecurityGroups(full: boolean): Promise<number> {
    if (!this.firewall) return 0;
    const bridges = new Map<string, string>();
    for (const [tap, d] of this.devices) bridges.set(tap, networkBridge(d, this.o));
    return (await this.firewall.sync(bridges, full)).writes;
  }

  /**
   * Links: one diff against the read, one batch. Only a full read may delete (a scoped one does
   * not know whether a bridge still holds other taps). Returns the operations applied.
   */
  private async applyLinks(actual: Link[], scope: Set<string> | null): Promise<LinkOp[]> {
    const desired = desiredLinks([...this.devices.values()].filter(this.inScope(scope)), this.o);
    const ops = diffLinks(desired, actual, scope ? {} : { owned: ownedLinks(actual) });
    if (ops.length) await linkOpsToBatch(ops).apply(this.target);
    return ops;
  }

  /**
   * l2population: loads the view of networks new here (or all of them, every
   * fdbResyncInterval), then reconciles the local VXLAN devices' entries: all of them with that
   * periodic resync, otherwise those whose view changed, was just loaded, or whose device this
   * pass (re)created (`ops`). Only this agent writes these entries (the devices do not learn),
   * so checking them all every polling_interval would find nothing new at the cost of a read.
   */
  private async applyL2Population(ops: LinkOp[], fdbDirty: Set<string>): Promise<{ fdbOps: number; neighOps: number }> {
    const o = this.o;
    const nets = new Map<string, DeviceInfo>();
    for (const d of this.devices.values()) if (d.network_type === 'vxlan' && !nets.has(d.network_id)) nets.set(d.network_id, d);
    for (const n of this.fdbSynced) if (!nets.has(n)) this.fdbSynced.delete(n);
    const resyncAll = Date.now() - this.lastFdbResync > (o.fdbResyncInterval ?? 30) * 1000;
    const load = [...nets.keys()].filter((n) => resyncAll || !this.fdbSynced.has(n));
    if (load.length && this.fdbEntriesServed !== false) {
      // Fanouts heard while the call is out are applied again over its answer (see FdbView).
      await this.fdb
        .load(load, () => this.call<Record<string, NetworkFdb>>('get_fdb_entries', { host: o.host, network_ids: load }))
        .then(
          () => (this.fdbEntriesServed = true),
          (err: unknown) => {
            if (!(err instanceof RpcRemoteError && err.remoteType === 'NoSuchMethod')) throw err;
            this.fdbEntriesServed = false;
            o.logger.info({}, "the server has no get_fdb_entries (Neutron's): l2population entries come from its pushes");
          },
        );
    }
    if (load.length) {
      for (const n of load) this.fdbSynced.add(n);
      if (resyncAll) this.lastFdbResync = Date.now();
    }
    const loaded = new Set(load);
    const created = new Set(ops.flatMap((op) => (op.op === 'create' && op.link.kind === 'vxlan' ? [op.link.name] : [])));
    const devs: string[] = [];
    const fdb = [];
    const neigh = [];
    for (const [netId, d] of nets) {
      const dev = vxlanName(d.segmentation_id!);
      if (!resyncAll && !fdbDirty.has(netId) && !loaded.has(netId) && !created.has(dev)) continue;
      devs.push(dev);
      const want = desiredFdb(this.fdb, netId, dev, o.localIp, o.arpResponder);
      fdb.push(...want.fdb);
      neigh.push(...want.neigh);
    }
    if (!devs.length) return { fdbOps: 0, neighOps: 0 };
    const fdbOps = (await reconcileFdb(devs, fdb, this.target)).length;
    const neighOps = o.arpResponder ? (await reconcileNeigh(devs, neigh, this.target)).length : 0;
    return { fdbOps, neighOps };
  }

  /**
   * Tells the server, in one call, which taps are up (wired, admin up) and down (`gone`, and
   * admin-down ports) since it was last told; returns what was reported.
   */
  private async reportDeviceStates(gone: string[]): Promise<{ up: string[]; down: string[] }> {
    const up: string[] = [];
    const adminDown: string[] = [];
    for (const [tap, d] of this.devices) {
      const want = d.admin_state_up ? 'up' : 'down';
      if (this.reported.get(tap) === want) continue;
      (d.admin_state_up ? up : adminDown).push(tap);
    }
    const down = [...gone, ...adminDown];
    if (up.length || down.length) {
      const refresh = this.refreshTunnels && up.length > 0;
      const r = await this.call<{ failed_devices_up?: string[]; failed_devices_down?: string[] }>('update_device_list', {
        devices_up: up,
        devices_down: down,
        agent_id: this.agentId,
        host: this.o.host,
        refresh_tunnels: refresh,
      });
      if (refresh) this.refreshTunnels = false;
      const failed = new Set([...(r?.failed_devices_up ?? []), ...(r?.failed_devices_down ?? [])]);
      for (const t of up) if (!failed.has(t)) this.reported.set(t, 'up');
      for (const t of adminDown) if (!failed.has(t)) this.reported.set(t, 'down');
    }
    return { up, down };
  }

  /** Kernel commands this process issued (reads, writes). */
  static stats() {
    return stats();
  }
}

/** A stopwatch: each call returns the ms since the previous one. */
function laps(): () => number {
  let t = performance.now();
  return () => {
    const now = performance.now();
    const d = Math.round(now - t);
    t = now;
    return d;
  };
}

// The DHCP agent (`neutrino agent dhcp`), Neutron's DhcpAgentWithStateReport with the dnsmasq
// driver, as a reconciler:
//   - reports state (agent_type 'DHCP agent', binary neutron-dhcp-agent, topic dhcp_agent);
//   - on start, one full sync: get_active_networks_info(host) gives every network it serves;
//     networks found under state_path/dhcp/<uuid> that are no longer among them are torn down
//     (Neutron's existing_dhcp_networks: its own state directory only; a qdhcp-* namespace
//     may be another agent's);
//   - then the server's casts on dhcp_agent.<host>: a port created, updated or deleted is applied
//     from the cast's payload to the agent's cache of the network (cache.ts, Neutron's
//     NetworkCache) and the network is passed again on the cache, so a port costs no fetch of the
//     network's every port; the network is fetched again (get_network_info) for network and
//     subnet events, when it is not known yet, when a payload lacks what is needed or concerns
//     the agent's own DHCP port, when the cache is found out of sync, and after a failed pass;
//     a burst of casts on a big network waits between passes (RELOAD_MS_PER_PORT): dnsmasq
//     reads its whole hosts file again on each reload;
//   - networks and the full sync are keys of the agents' work queue (reconciler.ts): one pass
//     per network at a time (a change that arrives during a pass makes one more), a few
//     networks in parallel, a failed pass retried after a backoff that grows up to
//     resync_interval; a 'revived' state report (the server had seen the agent as dead) or
//     agent_updated makes a full sync;
//   - what the kernel loses is put back: a qdhcp- namespace deleted (inotify on /run/netns) or a
//     DHCP tap deleted (`ip monitor link`) makes a pass for its network at once, and every
//     check_child_processes_interval each served network is passed again on what the server
//     last said (a killed dnsmasq is seen so); such a pass writes nothing when all is there.
// One pass for one network: the DHCP port (created/updated through RPC), the namespace
// qdhcp-<net>, a veth tap<port[:11]> (host end, in bridge brq<net[:11]>, made if missing) /
// ns-<port[:11]> (in the namespace, the port's MAC and addresses), and dnsmasq with its files
// under state_path/dhcp/<net>: unchanged → nothing written; files changed → rewrite + SIGHUP;
// arguments changed → restart. dnsmasq outlives the agent; a restarted agent adopts it.
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  deleteNetns,
  diffLinks,
  dnsmasqPaths,
  ensureDnsmasq,
  ensureNetns,
  linkOpsToBatch,
  listLinks,
  listNamedLinks,
  stopDnsmasq,
  watchLinksAndNeighbours,
  watchNetns,
  type DesiredLink,
  type DnsmasqAction,
  type LinkOp,
  type Watcher,
} from '../../dataplane/index.js';
import { agentRpcContext, type RpcBus, type RpcLogger, type RpcServerHandle } from '../../rpc/index.js';
import { rpcVersion } from '../rpc-versions.js';
import { silentLogger } from '../../rpc/index.js';
import { Reconciler } from '../reconciler.js';
import { StateReporter } from '../state-reporter.js';
import type { AgentMetrics } from '../metrics.js';
import {
  bridgeOf,
  dhcpSubnets,
  namespaceOf,
  nsIfOf,
  NS_PREFIX,
  portAddresses,
  renderArgs,
  renderHosts,
  renderOpts,
  tapOf,
  type NetworkInfo,
  type PortInfo,
  type RenderOptions,
  type SubnetInfo,
} from './render.js';
import {
  AGENT_TYPE_DHCP,
  DEVICE_ID_RESERVED_DHCP_PORT,
  DEVICE_OWNER_DHCP,
  DHCP_AGENT_EVENTS,
  DHCP_AGENT_TOPIC,
  PLUGIN_TOPIC,
  dhcpDeviceId,
} from '../../core/wire.js';
import { NetworkCache, type PortChange } from './cache.js';
import { metadataAddresses, metadataRoutes, stopNetworkMetadata, syncMetadataProxy, type DhcpMetadataOptions } from './metadata.js';

/** What the server's `<resource>_<action>_end` casts carry that says which network changed. */
interface DhcpEventPayload {
  network?: { id?: string };
  subnet?: { network_id?: string };
  port?: { network_id?: string };
  network_id?: string;
  port_id?: string;
}

const isString = (v: unknown): v is string => typeof v === 'string' && v !== '';

/** A port as the cache needs it from a cast (as get_network_info gives ports), or null: fetch the network instead. */
function payloadPort(p: unknown): PortInfo | null {
  if (!p || typeof p !== 'object') return null;
  const r = p as Record<string, unknown>;
  const ips = r.fixed_ips;
  const ok =
    isString(r.id) &&
    isString(r.network_id) &&
    isString(r.mac_address) &&
    typeof r.device_id === 'string' &&
    typeof r.device_owner === 'string' &&
    // Without it the cast could not be ordered against the cached copy.
    typeof r.revision_number === 'number' &&
    Array.isArray(ips) &&
    ips.every(
      (f) => f && typeof f === 'object' && isString((f as Record<string, unknown>).subnet_id) && isString((f as Record<string, unknown>).ip_address),
    );
  return ok ? (r as unknown as PortInfo) : null;
}

/** Full syncs of at least this many networks report their progress (by default), every PROGRESS_EVERY_MS. */
const PROGRESS_MIN_NETWORKS = 20;
const PROGRESS_EVERY_MS = 5_000;

export const DHCP_AGENT_BINARY = 'neutron-dhcp-agent';
export { DHCP_AGENT_TOPIC };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** The work queue's key for the full sync (the other keys are network ids). */
const FULL_SYNC = 'full';
/** The first retry of a failed pass waits this long, ms (then twice as long each time, up to resync_interval). */
const RETRY_BASE_MS = 500;
/**
 * A cast's pass waits until this long per port of the network has passed since the last pass
 * began (0.5 s at 10,000 ports, none to speak of on small networks), up to RELOAD_MAX_MS: dnsmasq
 * reads its whole hosts file again on each reload (about 10 µs a port), so a burst of creates on
 * a big network is served by a few reloads, not one per port.
 */
const RELOAD_MS_PER_PORT = 0.05;
const RELOAD_MAX_MS = 2_000;

export interface DhcpAgentOptions extends Partial<RenderOptions> {
  bus: RpcBus;
  host: string;
  /**
   * The namespace holding this host's bridges (where the L2 agent works; its --netns), if not the
   * agent's own: the veth's host end goes into the network's bridge there. Tests simulate hosts so.
   */
  netns?: string;
  /** [DEFAULT] state_path: dnsmasq's files go to state_path/dhcp/<network-id>/. */
  statePath: string;
  /** [agent] report_interval, seconds; 0: no reports. */
  reportInterval: number;
  /** [DEFAULT] resync_interval, seconds. */
  resyncInterval?: number;
  /** Network passes run in parallel (default 8). */
  syncConcurrency?: number;
  /** Full sync this often, seconds, besides the one at start (default 0: never, as Neutron's agent). */
  fullSyncInterval?: number;
  /** RPC call timeout, ms. */
  rpcTimeoutMs?: number;
  /** [agent] availability_zone, reported with the agent's state. */
  availabilityZone?: string;
  /** enable_isolated_metadata / force_metadata and where the metadata agent listens (metadata.ts). */
  metadata?: DhcpMetadataOptions;
  /** [agent] check_child_processes_interval, seconds: every served network is checked this often (0: never). */
  checkInterval?: number;
  /** Watch the kernel for deleted namespaces and taps (default true); off, only the periodic check repairs. */
  monitor?: boolean;
  logger?: RpcLogger;
  /** Full syncs of at least this many networks log their progress (default 20). */
  progressMinNetworks?: number;
  /** Where to count passes, the queue and dnsmasq's reloads ([agent] metrics_bind_port). */
  metrics?: AgentMetrics;
}

export interface NetworkState {
  /** What the last pass did to dnsmasq. */
  action: DnsmasqAction | 'disabled';
  portId: string | null;
  ports: number;
  subnets: number;
}

export class DhcpAgent {
  readonly dhcpDir: string;
  private readonly render: RenderOptions;
  private readonly log: RpcLogger;
  private reporter: StateReporter | null = null;
  private server: RpcServerHandle | null = null;
  /** Network ids and FULL_SYNC. */
  private readonly work: Reconciler<string>;
  /**
   * What the server last said about each network, with the casts' ports applied since: every
   * pass renders from it. Its fetches are numbered, and an answer older than what it holds is
   * dropped: a full sync's list overtaken by a port's change would take the port out of dnsmasq
   * again (its DHCP REQUEST then gets a NAK, and no offer ever after).
   */
  private readonly cache = new NetworkCache();
  private stopped = false;
  /** Per served network: what the last pass did. */
  readonly networks = new Map<string, NetworkState>();
  /**
   * Per served network, the ports the server was told dnsmasq serves (dhcp_ready_on_ports), each
   * with its MAC and addresses as told: Neutron's server keeps a port DOWN until then (its DHCP
   * provisioning block), and blocks it again when its MAC or fixed IPs change.
   */
  private readonly readyReported = new Map<string, Map<string, { port: PortInfo; what: string }>>();
  /**
   * Per network, the hosts file lines of each port object (renderHosts' memo), kept while the
   * network's subnets are the same array: a fetch makes new ones, a cast a new port object.
   */
  private readonly hostsMemo = new Map<string, { subnets: SubnetInfo[]; lines: WeakMap<PortInfo, string[]> }>();
  /** Networks whose next pass must ask the server first. */
  private readonly toFetch = new Set<string>();
  /** Per network: when its last pass began; and the cast's pass waiting for its turn (RELOAD_MS_PER_PORT). */
  private readonly lastPass = new Map<string, number>();
  private readonly delayed = new Map<string, { timer: NodeJS.Timeout; fired: Promise<void>; fire: () => void }>();
  private readonly watchers: Watcher[] = [];
  private checkTimer: NodeJS.Timeout | null = null;
  /**
   * Passes run and their outcome counts, for tests and benchmarks; repairs: passes that found the
   * kernel had lost something; fetches: get_network_info calls; portCasts: port changes applied
   * from a cast's payload (no fetch).
   */
  readonly counters = { passes: 0, failures: 0, fullSyncs: 0, repairs: 0, fetches: 0, portCasts: 0 };

  constructor(private readonly o: DhcpAgentOptions) {
    this.dhcpDir = join(o.statePath, 'dhcp');
    this.render = {
      dnsDomain: o.dnsDomain ?? 'openstacklocal',
      leaseDuration: o.leaseDuration ?? 86400,
      leaseMax: o.leaseMax ?? 16777216,
      dnsServers: o.dnsServers ?? [],
    };
    this.log = o.logger ?? silentLogger;
    const resyncMs = (o.resyncInterval ?? 5) * 1000;
    this.work = new Reconciler<string>({
      run: (key) => (key === FULL_SYNC ? this.fullSync() : this.pass(key)),
      concurrency: o.syncConcurrency ?? 8,
      fullKey: FULL_SYNC,
      observer: o.metrics?.dhcpObserver(FULL_SYNC, (id) => this.networks.get(id)?.action),
      resyncMs: (o.fullSyncInterval ?? 0) * 1000,
      backoff: { baseMs: Math.min(RETRY_BASE_MS, resyncMs), maxMs: resyncMs },
      onFailure: (key, err, failures, retryInMs) =>
        this.log.warn(
          { ...(key === FULL_SYNC ? { fullSync: true } : { networkId: key }), err: (err as Error).message, failures, retryInMs },
          key === FULL_SYNC ? 'DHCP full sync failed; will retry' : 'DHCP network sync failed; will retry',
        ),
    });
    o.metrics?.watchQueue('dhcp', () => this.work.waiting);
  }

  private call<T>(method: string, args: Record<string, unknown>): Promise<T> {
    return this.o.bus.call<T>(PLUGIN_TOPIC, method, args, {
      context: agentRpcContext(),
      version: rpcVersion(method),
      timeoutMs: this.o.rpcTimeoutMs ?? 60_000,
    });
  }

  /** Serves the notifications, reports state once, runs the full sync, then keeps reporting. */
  async start(): Promise<void> {
    // 0755 on the way: dnsmasq reads its files as 'nobody' on SIGHUP.
    await mkdir(this.dhcpDir, { recursive: true, mode: 0o755 });
    const handler = (method: string) => (_ctx: unknown, args: { payload?: DhcpEventPayload }) => this.onEvent(method, args?.payload ?? {});
    this.server = await this.o.bus.serve(DHCP_AGENT_TOPIC, this.o.host, {
      ...Object.fromEntries(DHCP_AGENT_EVENTS.map((m) => [m, handler(m)])),
      network_delete_end: (_ctx: unknown, args: { payload?: { network_id?: string } }) => {
        const id = args?.payload?.network_id;
        if (!id || this.stopped) return;
        this.toFetch.delete(id);
        this.cache.gone(id);
        void this.work.enqueue(id);
      },
      // Neutron's agent_updated (admin_state_up changes): resync everything.
      agent_updated: () => void this.work.enqueue(FULL_SYNC),
    });
    this.reporter = new StateReporter({
      bus: this.o.bus,
      agentType: AGENT_TYPE_DHCP,
      binary: DHCP_AGENT_BINARY,
      host: this.o.host,
      topic: DHCP_AGENT_TOPIC,
      reportInterval: this.o.reportInterval,
      ...(this.o.availabilityZone !== undefined ? { availabilityZone: this.o.availabilityZone } : {}),
      configurations: () => this.configurations(),
      onRevived: () => void this.work.enqueue(FULL_SYNC),
      logger: this.log,
      onError: (err) => this.log.warn({ err: (err as Error).message }, 'DHCP agent state report failed'),
    });
    // The first report registers the agent, so that the server schedules networks to it.
    if (this.o.reportInterval > 0)
      await this.reporter.reportOnce().catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'first state report failed'));
    await this.sync();
    this.reporter.start();
    if (this.o.monitor ?? true) this.startWatching();
    const every = (this.o.checkInterval ?? 60) * 1000;
    if (every > 0) {
      this.checkTimer = setInterval(() => {
        for (const id of this.networks.keys()) this.check(id);
      }, every);
      this.checkTimer.unref();
    }
  }

  /** Kernel events that say a served network lost something: its namespace, or its tap (and the veth with it). */
  private startWatching(): void {
    const warn = (msg: string) => (m: string) => this.log.warn({ err: m }, msg);
    this.watchers.push(
      watchNetns((name, exists) => {
        if (!exists && name.startsWith(NS_PREFIX) && this.networks.has(name.slice(NS_PREFIX.length))) this.check(name.slice(NS_PREFIX.length));
      }, warn('namespace watch')),
      watchLinksAndNeighbours(this.o.netns, {
        neighbours: false,
        onEvent: (e) => {
          if (e.kind !== 'link' || !e.deleted) return;
          for (const [id, n] of this.networks) if (n.portId && tapOf(n.portId) === e.name) this.check(id);
        },
        onRestart: () => {
          for (const id of this.networks.keys()) this.check(id);
        },
        onError: warn('ip monitor'),
      }),
    );
  }

  /**
   * A pass for a served network on what the server last said (no RPC), unless one that asks the
   * server is already wanted: it puts back whatever the kernel lost and writes nothing otherwise.
   */
  check(networkId: string): void {
    if (this.stopped || !this.cache.get(networkId) || this.toFetch.has(networkId)) return;
    void this.work.enqueue(networkId);
  }

  configurations(): Record<string, unknown> {
    let ports = 0;
    let subnets = 0;
    for (const n of this.networks.values()) {
      ports += n.ports;
      subnets += n.subnets;
    }
    return {
      dhcp_driver: 'neutron.agent.linux.dhcp.Dnsmasq',
      dhcp_lease_duration: this.render.leaseDuration,
      log_agent_heartbeats: false,
      networks: this.networks.size,
      subnets,
      ports,
    };
  }

  /** How many served networks' last pass did what to dnsmasq, e.g. {none: 3} after a quiet restart. */
  actions(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const n of this.networks.values()) out[n.action] = (out[n.action] ?? 0) + 1;
    return out;
  }

  /** Stops listening and reporting; dnsmasq, namespaces and files stay (a restart adopts them). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.checkTimer) clearInterval(this.checkTimer);
    for (const d of this.delayed.values()) {
      clearTimeout(d.timer);
      d.fire();
    }
    this.delayed.clear();
    for (const w of this.watchers.splice(0)) w.stop();
    await this.server?.stop();
    await this.reporter?.stop();
    await this.work.stop();
  }

  /** Resolves once no pass is running or waiting to start (failed ones waiting to retry aside). */
  async idle(): Promise<void> {
    // The casts' passes waiting for their turn count as waiting to start.
    while (this.delayed.size) await Promise.all([...this.delayed.values()].map((d) => d.fired));
    await this.work.idle();
  }

  private onEvent(method: string, payload: DhcpEventPayload): void {
    if (this.stopped) return;
    const id: unknown = payload.network?.id ?? payload.subnet?.network_id ?? payload.port?.network_id ?? payload.network_id;
    if (!isString(id)) return;
    // The agent's own DHCP port on a network it serves: Neutron resyncs the network on its changes too.
    const ours = (deviceId: string | undefined) => deviceId === this.deviceId(id) && this.networks.has(id);
    let change: PortChange | null = null;
    if (method === 'port_create_end' || method === 'port_update_end') {
      const port = payloadPort(payload.port);
      if (port && !ours(port.device_id)) change = { port };
    } else if (method === 'port_delete_end' && isString(payload.port_id)) {
      if (!ours(this.cache.port(id, payload.port_id)?.device_id)) change = { deleted: payload.port_id };
    }
    // Network and subnet events, our own port, payloads without what the cache needs: the network is fetched whole.
    if (change) this.portChanged(id, change);
    else void this.refetch(id);
  }

  /** A port change from a cast's payload: applied to the cache, then a pass on it (no fetch). */
  private portChanged(networkId: string, change: PortChange): void {
    const outcome = this.cache.apply(networkId, change);
    if (outcome === 'applied') {
      this.counters.portCasts++;
      // A network not served (no DHCP subnet, admin down) has nothing to render.
      const info = this.cache.get(networkId);
      if (this.networks.has(networkId) || this.toFetch.has(networkId) || this.isServable(info)) this.passSoon(networkId, info?.ports.length ?? 0);
    } else if (outcome === 'unknown' || outcome === 'conflict') {
      if (outcome === 'conflict') this.log.warn({ networkId }, 'DHCP cache out of sync (an address held by two ports); fetching the network');
      void this.refetch(networkId);
    }
    // unchanged: stale or nothing to do; pending: the fetch in flight brings the network, then a pass.
  }

  /** A pass for the cast(s), once RELOAD_MS_PER_PORT × ports has passed since the network's last pass began. */
  private passSoon(networkId: string, ports: number): void {
    if (this.delayed.has(networkId)) return; // casts meanwhile join the waiting pass
    const wait = (this.lastPass.get(networkId) ?? 0) + Math.min(RELOAD_MAX_MS, ports * RELOAD_MS_PER_PORT) - Date.now();
    if (wait <= 0) {
      void this.work.enqueue(networkId);
      return;
    }
    let fire = () => {};
    const fired = new Promise<void>((r) => (fire = r));
    const timer = setTimeout(() => {
      this.delayed.delete(networkId);
      if (!this.stopped) void this.work.enqueue(networkId);
      fire();
    }, wait);
    timer.unref();
    this.delayed.set(networkId, { timer, fired, fire });
  }

  private isServable(info: NetworkInfo | null | undefined): info is NetworkInfo {
    return !!info && info.admin_state_up !== false && dhcpSubnets(info).length > 0;
  }

  /** A pass for the network that asks the server first; resolves when it has run, whatever its outcome (a failed one is retried). */
  async refetch(networkId: string): Promise<void> {
    if (this.stopped) return;
    this.toFetch.add(networkId);
    await this.work.enqueue(networkId);
  }

  /** One network's pass; throws when it failed (the work queue retries it). */
  private async pass(networkId: string): Promise<void> {
    this.counters.passes++;
    this.lastPass.set(networkId, Date.now());
    const fetch = this.toFetch.has(networkId) || this.cache.get(networkId) === undefined;
    this.toFetch.delete(networkId);
    try {
      if (fetch) {
        const seq = this.cache.beginFetch(networkId);
        try {
          this.counters.fetches++;
          const info = await this.call<NetworkInfo | null>('get_network_info', { network_id: networkId, host: this.o.host });
          // Dropped if a fresher answer is already in the cache (the full sync's, a network_delete_end).
          this.cache.put(networkId, info, seq);
        } finally {
          this.cache.endFetch(seq);
        }
      }
      const info = this.cache.get(networkId);
      // A copy: the pass puts its DHCP port in it, the cache's view stays as it is.
      if (this.isServable(info)) await this.enable({ ...info });
      else await this.disable(networkId, !!info);
    } catch (err) {
      this.counters.failures++;
      // The retry asks the server again: the cache may be what made the pass fail.
      this.toFetch.add(networkId);
      throw err;
    }
  }

  /** Full sync, and every network pass it asks for: resolves when they have run; throws if the sync could not start. */
  async sync(): Promise<void> {
    const outcome = await this.work.enqueue(FULL_SYNC);
    if (!outcome.ok) throw outcome.error;
    await this.work.idle();
  }

  /** Full sync: a pass for every network the server gives this agent, and teardown of the rest. */
  private async fullSync(): Promise<void> {
    this.counters.fullSyncs++;
    const seq = this.cache.beginFetch(null);
    let nets: NetworkInfo[];
    let gone: string[];
    try {
      // Every subnet, as Neutron's agent asks for it (enable_dhcp_filter false).
      nets = await this.call<NetworkInfo[]>('get_active_networks_info', { host: this.o.host, enable_dhcp_filter: false });
      const wanted = new Set(nets.map((n) => n.id));
      gone = [...(await this.existingNetworks())].filter((id) => !wanted.has(id));
      for (const n of nets) this.cache.put(n.id, n, seq);
      for (const id of gone) this.cache.put(id, null, seq);
    } finally {
      this.cache.endFetch(seq);
    }
    const passes = [...nets, ...gone].map(async (n) => {
      const id = typeof n === 'string' ? n : n.id;
      // A later fetch of the network was asked meanwhile: its pass brings it.
      if (!this.stopped) await this.work.enqueue(id);
    });
    this.reportProgress(
      passes,
      nets.reduce((sum, n) => sum + n.ports.length, 0),
    );
  }

  /**
   * Progress of a full sync of many networks (an operator waiting on a restart): a line every
   * PROGRESS_EVERY_MS while it runs, and one when it is done.
   */
  private reportProgress(passes: Promise<void>[], ports: number): void {
    if (passes.length < (this.o.progressMinNetworks ?? PROGRESS_MIN_NETWORKS)) return;
    const started = Date.now();
    let done = 0;
    for (const p of passes) void p.then(() => done++);
    const timer = setInterval(
      () => this.log.info({ done, total: passes.length }, `DHCP full sync: ${done}/${passes.length} networks`),
      PROGRESS_EVERY_MS,
    );
    timer.unref();
    void Promise.all(passes).then(() => {
      clearInterval(timer);
      this.log.info(
        { networks: passes.length, ports, seconds: (Date.now() - started) / 1000 },
        `DHCP full sync done: ${passes.length} networks, ${ports} ports`,
      );
    });
  }

  /**
   * Networks this agent has state for: its state_path/dhcp/<uuid> directories, as Neutron's
   * existing_dhcp_networks. Not the qdhcp-<uuid> namespaces: their names are machine-wide, and
   * another agent on the machine (another state_path) may own them.
   */
  async existingNetworks(): Promise<Set<string>> {
    const out = new Set<string>();
    if (existsSync(this.dhcpDir)) for (const d of await readdir(this.dhcpDir)) if (UUID.test(d)) out.add(d);
    return out;
  }

  private deviceId(networkId: string): string {
    return dhcpDeviceId(networkId, this.o.host);
  }

  /** The agent's DHCP port on the network, created or given the served subnets as needed (and put in the cache). */
  private async ensurePort(n: NetworkInfo): Promise<PortInfo> {
    const had = n.ports;
    const port = await this.dhcpPort(n);
    // What the server has just answered (dhcpPort put it in `n`, a copy): its cast comes later.
    if (!had.includes(port)) this.cache.apply(n.id, { port }, true);
    return port;
  }

  private async dhcpPort(n: NetworkInfo): Promise<PortInfo> {
    const deviceId = this.deviceId(n.id);
    const served = dhcpSubnets(n)
      .map((s) => s.id)
      .sort();
    let port = n.ports.find((p) => p.device_id === deviceId && p.device_owner === DEVICE_OWNER_DHCP);
    // A port kept when the network was taken from an agent (Neutron's reserved DHCP port): this
    // agent takes it over, with its addresses, rather than making another.
    const reserved = port ? undefined : n.ports.find((p) => p.device_id === DEVICE_ID_RESERVED_DHCP_PORT && p.device_owner === DEVICE_OWNER_DHCP);
    if (reserved) {
      port = await this.call<PortInfo>('update_dhcp_port', {
        port_id: reserved.id,
        port: { port: { network_id: n.id, device_id: deviceId } },
        host: this.o.host,
      });
      n.ports = n.ports.map((p) => (p.id === reserved.id ? port! : p));
    }
    if (!port) {
      port = await this.call<PortInfo>('create_dhcp_port', {
        port: {
          port: {
            network_id: n.id,
            // Neutron's server fills no project in for an RPC caller: its agent names the network's.
            ...(n.project_id ? { tenant_id: n.project_id, project_id: n.project_id } : {}),
            device_id: deviceId,
            device_owner: DEVICE_OWNER_DHCP,
            name: '',
            admin_state_up: true,
            fixed_ips: served.map((subnet_id) => ({ subnet_id })),
          },
        },
        host: this.o.host,
      });
      if (!port) throw new Error(`network ${n.id} went away while its DHCP port was created`);
      n.ports = [...n.ports, port];
      return port;
    }
    const have = [...new Set(port.fixed_ips.map((f) => f.subnet_id))].sort();
    if (have.join() !== served.join()) {
      const keep = port.fixed_ips.filter((f) => served.includes(f.subnet_id));
      const add = served.filter((id) => !have.includes(id)).map((subnet_id) => ({ subnet_id }));
      const updated = await this.call<PortInfo>('update_dhcp_port', {
        port_id: port.id,
        // Neutron's update_dhcp_port reads the network from the port body.
        port: { port: { network_id: n.id, fixed_ips: [...keep, ...add] } },
        host: this.o.host,
      });
      n.ports = n.ports.map((p) => (p.id === updated.id ? updated : p));
      return updated;
    }
    return port;
  }

  private async enable(n: NetworkInfo): Promise<void> {
    const port = await this.ensurePort(n);
    const ns = namespaceOf(n.id);
    const nsCreated = await ensureNetns(ns);
    const tap = tapOf(port.id);
    const nsIf = nsIfOf(port.id);
    const mtu = n.mtu && n.mtu > 0 ? n.mtu : undefined;
    const inNs: DesiredLink[] = [
      {
        kind: 'external',
        name: nsIf,
        address: port.mac_address,
        up: true,
        addresses: [...portAddresses(n, port), ...metadataAddresses(this.o.metadata)],
        ...(mtu ? { mtu } : {}),
      },
    ];
    let nsLinks = await listLinks({ netns: ns });
    // Host side: the network's bridge (the L2 agent's, or ours if it has not made it yet) and the
    // veth's host end in it. Only attributes that are ours are desired: the L2 agent may own the
    // rest. Looked up by name: the host may hold thousands of links.
    const host: DesiredLink[] = [
      { kind: 'bridge', name: bridgeOf(n.id), up: true },
      { kind: 'veth', name: tap, peer: nsIf, peerNetns: ns, master: bridgeOf(n.id), up: true, ...(mtu ? { mtu } : {}) },
    ];
    const hostTarget = this.o.netns ? { netns: this.o.netns } : {};
    let hostLinks = await listNamedLinks(
      host.map((l) => l.name),
      hostTarget,
    );
    const lostPeer = !nsLinks.some((l) => l.name === nsIf) && hostLinks.some((l) => l.name === tap);
    // The namespace was deleted under a running dnsmasq: the old namespace lives on with it and
    // the veth's other end in it. The tap goes, and the veth is made again into the new namespace.
    if (lostPeer) hostLinks = hostLinks.filter((l) => l.name !== tap);
    const hostOps: LinkOp[] = [
      ...(lostPeer ? [{ op: 'delete' as const, name: tap, why: `its peer is not in ${ns}` }] : []),
      ...diffLinks(host, hostLinks),
    ];
    if (hostOps.length) {
      await linkOpsToBatch(hostOps).apply(hostTarget);
      if (hostOps.some((o) => o.op === 'create')) nsLinks = await listLinks({ netns: ns });
    }
    const nsOps = diffLinks(inNs, nsLinks);
    await linkOpsToBatch(nsOps).apply({ netns: ns });
    let memo = this.hostsMemo.get(n.id);
    if (memo?.subnets !== n.subnets) this.hostsMemo.set(n.id, (memo = { subnets: n.subnets, lines: new WeakMap() }));
    const hosts = renderHosts(n, this.render, memo.lines);
    // dnsmasq 2.90 (Debian 12) segfaults on SIGHUP once it has leased an address to a host
    // whose dhcp-hostsfile line carries a `set:` tag (ports with extra_dhcp_opts): a change
    // involving such lines is a restart instead (leases survive in the lease file).
    const current = await readFile(dnsmasqPaths(this.dhcpDir, n.id).hosts, 'utf8').catch(() => null);
    let restartedForTags = false;
    if (current !== null && current !== hosts && (current.includes(',set:') || hosts.includes(',set:'))) {
      restartedForTags = await stopDnsmasq(this.dhcpDir, n.id);
    }
    let action = await ensureDnsmasq({
      id: n.id,
      stateDir: this.dhcpDir,
      netns: ns,
      interface: nsIf,
      hosts,
      opts: renderOpts(n, metadataRoutes(this.o.metadata, n, port)),
      args: renderArgs(n, this.render),
    });
    if (restartedForTags && action === 'started') action = 'restarted';
    const had = this.networks.get(n.id);
    // Served already, same port, and the namespace, a link or dnsmasq had to be made again: the
    // kernel lost them (or someone removed them). Say so: it is not a change from the server.
    const lost = [
      ...(nsCreated ? [`namespace ${ns}`] : []),
      ...hostOps.filter((o) => o.op === 'create').map((o) => (o.op === 'create' ? o.link.name : '')),
      ...(action === 'started' && !restartedForTags ? ['dnsmasq'] : []),
    ];
    if (had && had.portId === port.id && lost.length) {
      this.counters.repairs++;
      this.log.warn(
        { networkId: n.id, lost, linkOps: hostOps.length + nsOps.length, dnsmasq: action },
        'DHCP network had lost part of its dataplane; repaired',
      );
    } else if (action !== 'none') this.log.info({ networkId: n.id, action }, 'dnsmasq');
    this.networks.set(n.id, { action, portId: port.id, ports: n.ports.length, subnets: dhcpSubnets(n).length });
    await this.reportReady(n);
    const proxy = await syncMetadataProxy(this.o.metadata, n, ns, nsIf);
    if (proxy !== 'none') this.log.info({ networkId: n.id, action: proxy }, 'metadata proxy');
  }

  /**
   * Tells the server which of the network's ports dnsmasq now serves, new ones and those whose
   * MAC or addresses changed (as Neutron's agent does after it configured a network or reloaded
   * its hosts): they leave Neutron's DHCP
   * provisioning block. A failure fails the pass, whose retry tells it again.
   */
  private async reportReady(n: NetworkInfo): Promise<void> {
    const told = this.readyReported.get(n.id);
    const current = new Map<string, { port: PortInfo; what: string }>();
    const fresh: string[] = [];
    for (const p of n.ports) {
      const was = told?.get(p.id);
      // The same object as last time (the cache's): unchanged, no need to compare.
      const what =
        was?.port === p
          ? was.what
          : `${p.mac_address} ${p.fixed_ips
              .map((f) => f.ip_address)
              .sort()
              .join(',')}`;
      if (was?.what !== what) fresh.push(p.id);
      current.set(p.id, { port: p, what });
    }
    if (fresh.length) await this.call('dhcp_ready_on_ports', { port_ids: fresh });
    this.readyReported.set(n.id, current);
  }

  /** Tears the network down here: dnsmasq, namespace (and the veth with it), files, DHCP port. */
  private async disable(networkId: string, networkExists: boolean): Promise<void> {
    const dir = join(this.dhcpDir, networkId);
    const had = this.networks.has(networkId) || existsSync(dir);
    // Forgotten first: the namespace's deletion below must not look like a loss to repair.
    this.networks.delete(networkId);
    this.readyReported.delete(networkId);
    this.hostsMemo.delete(networkId);
    this.lastPass.delete(networkId);
    await stopDnsmasq(this.dhcpDir, networkId);
    await stopNetworkMetadata(this.o.metadata, networkId);
    await deleteNetns(namespaceOf(networkId));
    if (networkExists && had) await this.call('release_dhcp_port', { network_id: networkId, device_id: this.deviceId(networkId), host: this.o.host });
    // Last: a retry after a failure above still finds the directory, so it releases the port.
    if (existsSync(dir)) await rm(dir, { recursive: true, force: true });
  }
}

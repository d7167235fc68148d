// The L3 agent (`neutrino agent l3`), Neutron's L3NATAgentWithStateReport in legacy mode with the
// Linux-bridge interface driver, as a reconciler:
//   - reports state (agent_type 'L3 agent', binary neutron-l3-agent, topic l3_agent), so that
//     the server schedules routers to it;
//   - on start, one full sync: sync_routers(host) gives every router it serves; routers it has
//     state for that are no longer among them are torn down;
//   - then the server's casts on l3_agent.<host> (routers_updated, router_added_to_agent,
//     agent_updated) mark a router dirty, and its pass fetches it (sync_routers with its id) and
//     reconciles it; router_removed_from_agent and router_deleted tear it down without fetching;
//   - routers and the full sync are keys of the agents' work queue (reconciler.ts).
// One pass for one router (model.ts says what): the namespace, the veths into the L2 agent's
// bridges, addresses, routes, then one `nft -f` transaction for its NAT table; conntrack entries
// of floating IPs that went are deleted, gratuitous ARP announces addresses that came, and the
// floating IPs' statuses that changed are reported; then the router's metadata proxy and radvd
// (services.ts). Every step reads first and writes only a
// difference, so a restart over an unchanged kernel writes nothing and keeps NAT'd connections.
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  applyNftPlans,
  canonicalDst,
  canonicalIfAddr,
  canonicalIp,
  deleteNetns,
  diffLinks,
  diffRoutes,
  ensureNetns,
  linkOpsToBatch,
  listLinks,
  listNamedLinks,
  listNetns,
  listStaticRoutes,
  netnsExists,
  expectedTable,
  normalizeMac,
  planTable,
  radvdPaths,
  readNftTable,
  routeOpsToBatch,
  runInNetns,
  type DesiredLink,
  type Exec,
  type Link,
  type LinkOp,
  type Target,
} from '../../dataplane/index.js';
import { agentRpcContext, silentLogger, type RpcBus, type RpcLogger, type RpcServerHandle } from '../../rpc/index.js';
import { AGENT_TYPE_L3, L3_AGENT_TOPIC, L3_PLUGIN_TOPIC } from '../../core/wire.js';
import { Reconciler } from '../reconciler.js';
import { rpcVersion } from '../rpc-versions.js';
import type { AgentMetrics } from '../metrics.js';
import { StateReporter } from '../state-reporter.js';
import { HaRouters, haDevOf, isHaRouter, planHa, type HaSync, type VrrpSettings } from './ha.js';
import type { MetadataProxyOptions } from '../metadata/proxy.js';
import type { RaOptions } from './ra.js';
import { RouterServices } from './services.js';
import { NAT_TABLE, fipStatusChanges, planRouter, routerIdOfNamespace, routerNamespace, type RouterPlan, type SyncRouter } from './model.js';
import { goneForwardings } from './port-forwarding.js';
import { NdpProxies } from './ndp-proxy.js';
import { prefetchRouterReads, type RouterReads } from './prefetch.js';

export const L3_AGENT_BINARY = 'neutron-l3-agent';
/** The work queue's key for the full sync (the other keys are router ids). */
const FULL_SYNC = 'full';
const RETRY_BASE_MS = 500;
const OWNED_IN_ROUTER = (l: { name: string }) => /^(qr|qg|ha)-/.test(l.name);

export interface L3AgentOptions {
  bus: RpcBus;
  host: string;
  /** The namespace holding this host's bridges (the L2 agent's --netns), if not the agent's own. */
  netns?: string;
  /** [DEFAULT] state_path: the routers this agent built are remembered under state_path/l3/. */
  statePath: string;
  /** [agent] report_interval, seconds; 0: no reports. */
  reportInterval: number;
  /** Longest wait before retrying a failed pass, seconds (default 5). */
  resyncInterval?: number;
  /** Full sync this often, seconds, besides the one at start (default 0: never). */
  fullSyncInterval?: number;
  /** Router passes run in parallel (default 8). */
  syncConcurrency?: number;
  /** Where to count passes, resyncs and the queue ([agent] metrics_bind_port, or aio's server registry). */
  metrics?: AgentMetrics;
  rpcTimeoutMs?: number;
  /** [DEFAULT] handle_internal_only_routers: serve routers without a gateway (default true). */
  handleInternalOnlyRouters?: boolean;
  /** [DEFAULT] send_arp_for_ha: gratuitous ARPs sent for an address that appears (0: none). */
  sendArpCount?: number;
  /** [DEFAULT] interface_driver, reported as Neutron's agents report it. */
  interfaceDriver?: string;
  availabilityZone?: string;
  logger?: RpcLogger;
  /** Runs the kernel's tools (default: the real thing); tests count this agent's writes with it. */
  exec?: Exec;
  /** HA routers: [DEFAULT] ha_confs_path (default state_path/ha_confs) and the VRRP settings. */
  haConfsPath?: string;
  /** Router namespace names other than qrouter-<id> (tests: two simulated hosts on one machine). */
  namespaceOf?: (routerId: string) => string;
  vrrp?: VrrpSettings;
  /** enable_metadata_proxy: the proxies' options (absent: no metadata proxy in routers). */
  metadataProxy?: MetadataProxyOptions;
  /** min_rtr_adv_interval, max_rtr_adv_interval of the routers' radvd. */
  raOptions?: RaOptions;
}

export interface RouterState {
  plan: RouterPlan;
  /** Floating IPs reported ACTIVE/ERROR by this agent (those that go are reported DOWN). */
  reported: Set<string>;
  /** What the last pass changed in the kernel (0: nothing). */
  changes: number;
}

export class L3Agent {
  readonly stateDir: string;
  private readonly log: RpcLogger;
  private reporter: StateReporter | null = null;
  private server: RpcServerHandle | null = null;
  private readonly work: Reconciler<string>;
  /** Sync data to use for a router's next pass instead of fetching it (null: tear it down). */
  private readonly given = new Map<string, SyncRouter | null>();
  /**
   * The namespaces and the host's links a full sync listed, while its passes run (null
   * otherwise): one read each for all routers instead of one per router. A pass's own changes
   * touch only its own links; a wrong guess fails its write and the retry reads.
   */
  private listedNamespaces: Set<string> | null = null;
  private listedHostLinks: Map<string, Link> | null = null;
  /** The full sync's reads of the router namespaces (prefetch.ts), each taken once by its pass. */
  private prefetched = new Map<string, RouterReads>();
  /** Router namespaces this process has seen exist with ip_forward on (checked once). */
  private readonly forwarding = new Set<string>();
  private stopped = false;
  readonly routers = new Map<string, RouterState>();
  /** Each router's metadata proxy and radvd (services.ts). */
  readonly services: RouterServices;
  /** Each router's NDP proxies (l3-ndp-proxy, ndp-proxy.ts). */
  readonly ndp: NdpProxies;
  readonly counters = { passes: 0, failures: 0, fullSyncs: 0, statusReports: 0, garps: 0 };
  readonly ha: HaRouters;

  constructor(private readonly o: L3AgentOptions) {
    this.stateDir = join(o.statePath, 'l3');
    this.log = o.logger ?? silentLogger;
    this.ha = new HaRouters({
      confsPath: o.haConfsPath ?? join(o.statePath, 'ha_confs'),
      vrrp: o.vrrp ?? { authType: 'PASS', authPassword: '', advertInt: 2 },
      ...(o.exec ? { exec: o.exec } : {}),
      logger: this.log,
      // A cast, as Neutron's L3PluginApi sends it: the agent waits for no answer.
      report: (states) => this.cast('update_ha_routers_states', { host: o.host, states }),
      // Neutron's state-change handling: radvd follows the state.
      onStateChange: (routerId) => void this.schedule(routerId),
    });
    this.ndp = new NdpProxies(o.exec);
    this.services = new RouterServices({
      statePath: o.statePath,
      metadata: o.metadataProxy ?? null,
      ...(o.raOptions ? { ra: o.raOptions } : {}),
      ...(o.exec ? { exec: o.exec } : {}),
      logger: this.log,
    });
    const resyncMs = (o.resyncInterval ?? 5) * 1000;
    this.work = new Reconciler<string>({
      run: (key) => (key === FULL_SYNC ? this.fullSync() : this.pass(key)),
      concurrency: o.syncConcurrency ?? 8,
      fullKey: FULL_SYNC,
      resyncMs: (o.fullSyncInterval ?? 0) * 1000,
      backoff: { baseMs: Math.min(RETRY_BASE_MS, resyncMs), maxMs: resyncMs },
      onFailure: (key, err, failures, retryInMs) =>
        this.log.warn(
          { ...(key === FULL_SYNC ? { fullSync: true } : { routerId: key }), err: (err as Error).message, failures, retryInMs },
          key === FULL_SYNC ? 'L3 full sync failed; will retry' : 'router sync failed; will retry',
        ),
      ...(o.metrics
        ? {
            observer: o.metrics.passObserver<string>(
              'l3',
              (k) => (k === FULL_SYNC ? 'full_sync' : 'router'),
              (k) => k === FULL_SYNC,
            ),
          }
        : {}),
    });
    o.metrics?.watchQueue('l3', () => this.work.waiting);
  }

  /** The router's namespace (qrouter-<id>; a simulated host on a shared machine names its own). */
  private nsOf(routerId: string): string {
    return this.o.namespaceOf?.(routerId) ?? routerNamespace(routerId);
  }

  private get hostTarget(): Target {
    return this.target(this.o.netns);
  }

  private target(netns?: string): Target {
    return { ...(netns ? { netns } : {}), ...(this.o.exec ? { exec: this.o.exec } : {}) };
  }

  private call<T>(method: string, args: Record<string, unknown>): Promise<T> {
    // An admin context, as Neutron's agents send: Neutron's server scopes what it reads by it
    // (get_ports for a context without admin and project finds nothing).
    return this.o.bus.call<T>(L3_PLUGIN_TOPIC, method, args, {
      context: agentRpcContext(),
      version: rpcVersion(method),
      timeoutMs: this.o.rpcTimeoutMs ?? 60_000,
    });
  }

  /** As call, without waiting for an answer (resolves once the transport took the message). */
  private cast(method: string, args: Record<string, unknown>): Promise<void> {
    return this.o.bus.cast(L3_PLUGIN_TOPIC, method, args, { context: agentRpcContext(), version: rpcVersion(method) });
  }

  /** Serves the notifications, reports state once, runs the full sync, then keeps reporting. */
  async start(): Promise<void> {
    await mkdir(this.stateDir, { recursive: true });
    await this.ha.start();
    const mark = (ids: unknown) => {
      for (const id of Array.isArray(ids) ? ids : [ids]) if (typeof id === 'string') void this.schedule(id);
    };
    // A router that went from this host is torn down without asking the server, as Neutron's
    // agent does: asking (sync_routers) would auto-schedule it, unhosted, straight back here.
    const gone = (id: unknown) => {
      if (typeof id === 'string') void this.schedule(id, null);
    };
    this.server = await this.o.bus.serve(L3_AGENT_TOPIC, this.o.host, {
      routers_updated: (_c: unknown, a: { routers?: unknown }) => mark(a?.routers),
      router_deleted: (_c: unknown, a: { router_id?: unknown }) => gone(a?.router_id),
      router_added_to_agent: (_c: unknown, a: { payload?: unknown }) => mark(a?.payload),
      router_removed_from_agent: (_c: unknown, a: { payload?: { router_id?: unknown } }) => gone(a?.payload?.router_id),
      agent_updated: () => void this.work.enqueue(FULL_SYNC),
    });
    this.reporter = new StateReporter({
      bus: this.o.bus,
      agentType: AGENT_TYPE_L3,
      binary: L3_AGENT_BINARY,
      host: this.o.host,
      topic: L3_AGENT_TOPIC,
      reportInterval: this.o.reportInterval,
      ...(this.o.availabilityZone !== undefined ? { availabilityZone: this.o.availabilityZone } : {}),
      configurations: () => this.configurations(),
      onRevived: () => void this.work.enqueue(FULL_SYNC),
      logger: this.log,
      onError: (err) => this.log.warn({ err: (err as Error).message }, 'L3 agent state report failed'),
    });
    if (this.o.reportInterval > 0)
      await this.reporter.reportOnce().catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'first state report failed'));
    await this.sync();
    this.reporter.start();
  }

  /** What Neutron's L3 agent reports in `configurations` (the scheduler reads agent_mode and handle_internal_only_routers). */
  configurations(): Record<string, unknown> {
    let gw = 0;
    let interfaces = 0;
    let fips = 0;
    for (const r of this.routers.values()) {
      gw += r.plan.gatewayDevs.length;
      interfaces += r.plan.routerLinks.length - r.plan.gatewayDevs.length;
      fips += Object.keys(r.plan.fipStatuses).length;
    }
    return {
      agent_mode: 'legacy',
      handle_internal_only_routers: this.o.handleInternalOnlyRouters ?? true,
      interface_driver: this.o.interfaceDriver ?? 'linuxbridge',
      log_agent_heartbeats: false,
      routers: this.routers.size,
      ex_gw_ports: gw,
      interfaces,
      floating_ips: fips,
    };
  }

  /** Stops listening and reporting; namespaces stay (a restart adopts them). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.server?.stop();
    await this.reporter?.stop();
    await this.work.stop();
    await this.ha.stop();
  }

  async idle(): Promise<void> {
    await this.work.idle();
  }

  /** Asks for a pass for the router (with its sync data, if given; null: tear down); resolves when it ran. */
  async schedule(routerId: string, data?: SyncRouter | null): Promise<void> {
    if (this.stopped) return;
    if (data === undefined) this.given.delete(routerId);
    else this.given.set(routerId, data);
    await this.work.enqueue(routerId);
  }

  /** Full sync and every router pass it asks for; throws if the sync could not start. */
  async sync(): Promise<void> {
    const outcome = await this.work.enqueue(FULL_SYNC);
    if (!outcome.ok) throw outcome.error;
    await this.work.idle();
  }

  private async fullSync(): Promise<void> {
    this.counters.fullSyncs++;
    const routers = await this.call<SyncRouter[]>('sync_routers', { host: this.o.host, router_ids: null });
    const wanted = new Set(routers.map((r) => r.id));
    const [namespaces, hostLinks] = await Promise.all([listNetns(this.o.exec), listLinks(this.hostTarget)]);
    this.listedNamespaces = new Set(namespaces.map((n) => n.name));
    this.listedHostLinks = new Map(hostLinks.map((l) => [l.name, l]));
    // One process reads every existing router namespace (instead of several per router).
    const present = routers.map((r) => this.nsOf(r.id)).filter((ns) => this.listedNamespaces!.has(ns));
    this.prefetched = await prefetchRouterReads(present, this.o.exec);
    const passes = routers.map((r) => this.schedule(r.id, r));
    for (const id of await this.existingRouters(namespaces)) if (!wanted.has(id)) passes.push(this.schedule(id, null));
    // The list is stale once these passes ran (a router may have been torn down since).
    void Promise.all(passes).finally(() => {
      this.listedNamespaces = null;
      this.listedHostLinks = null;
      this.prefetched.clear();
    });
  }

  /**
   * Routers this host has state for: markers under state_path/l3 and, unless the agent drives
   * another namespace's bridges (a simulated host shares the machine's namespace names with
   * others), the qrouter-<uuid> namespaces.
   */
  async existingRouters(namespaces?: Array<{ name: string }>): Promise<Set<string>> {
    const out = new Set<string>(this.routers.keys());
    if (existsSync(this.stateDir)) for (const f of await readdir(this.stateDir)) if (routerIdOfNamespace(routerNamespace(f))) out.add(f);
    for (const ns of this.o.netns ? [] : (namespaces ?? (await listNetns(this.o.exec)))) {
      const id = routerIdOfNamespace(ns.name);
      if (id) out.add(id);
    }
    return out;
  }

  private async pass(routerId: string): Promise<void> {
    this.counters.passes++;
    const given = this.given.get(routerId);
    this.given.delete(routerId);
    try {
      const data =
        given !== undefined
          ? given
          : ((await this.call<SyncRouter[]>('sync_routers', { host: this.o.host, router_ids: [routerId] })).find((r) => r.id === routerId) ?? null);
      const internalOnly = data && !data.gw_port && this.o.handleInternalOnlyRouters === false;
      if (!data || data.admin_state_up === false || internalOnly) await this.teardown(routerId);
      else await this.build(data, given === undefined);
    } catch (err) {
      this.counters.failures++;
      // Look at the namespace and read its state again next time.
      this.forwarding.delete(this.nsOf(routerId));
      this.listedNamespaces?.delete(this.nsOf(routerId));
      this.listedHostLinks = null;
      this.routers.delete(routerId);
      this.services.forget(routerId);
      this.ndp.forget(routerId);
      throw err;
    }
  }

  /** The host's links of this router: from the full sync's listing, or looked up by name. */
  private async hostLinksNow(plan: RouterPlan): Promise<Link[]> {
    const names = plan.hostLinks.map((l) => l.name);
    const listed = this.listedHostLinks;
    if (listed) return names.flatMap((n) => (listed.has(n) ? [listed.get(n)!] : []));
    return listNamedLinks(names, this.hostTarget);
  }

  /** `trusted`: the kernel may be taken to be as this process's last pass of the router left it. */
  private async build(r: SyncRouter, trusted: boolean): Promise<void> {
    const t0 = Date.now();
    const base = planRouter(r, this.nsOf(r.id));
    const ha = isHaRouter(r) ? planHa(r, base) : null;
    const plan = this.services.extend(ha?.plan ?? base);
    const ns = plan.namespace;
    const inNs = this.target(ns);
    let changes = 0;
    const marker = join(this.stateDir, r.id);
    if (!existsSync(marker)) await writeFile(marker, '');
    // The namespace (and its ip_forward) is checked once per process; a failed pass forgets it.
    // A full sync lists the namespaces once for all its routers.
    let forwardingRead: Promise<string> | null = null;
    const last = trusted ? this.routers.get(r.id) : undefined;
    // The full sync's reads of this namespace, if it made them (once: a retry reads again).
    const pre: RouterReads = (!last && this.prefetched.get(ns)) || {};
    this.prefetched.delete(ns);
    if (!this.forwarding.has(ns)) {
      if (!this.listedNamespaces?.has(ns) && (await ensureNetns(ns, this.o.exec))) changes++;
      // Before the router's links come in: an HA namespace makes no IPv6 address of its own.
      if (ha) changes += await this.ha.prepareNamespace(ns);
      forwardingRead =
        pre.ipForward !== undefined
          ? Promise.resolve(pre.ipForward)
          : runInNetns(ns, { argv: ['sysctl', '-n', 'net.ipv4.ip_forward'] }, this.o.exec).then((v) => v.stdout.trim());
      forwardingRead.catch(() => {}); // awaited below, with the other reads
    }
    // What the kernel holds: read (every read at once: the host's links of this router, looked up
    // by name as a host may have thousands; the namespace's links, static routes and NAT table),
    // or, on a notification's pass after a pass of this process succeeded, what that pass left
    // (nothing else writes there; a write that fails on a wrong guess makes the retry read, and
    // the full syncs read).
    const [hostActual, nsActual, routesActual, natActual] = last
      ? [
          sameJson(last.plan.hostLinks, plan.hostLinks)
            ? null
            : await listNamedLinks(
                plan.hostLinks.map((l) => l.name),
                this.hostTarget,
              ),
          expectedLinks(last.plan.routerLinks),
          last.plan.routes.map((x) => ({ ...x, dst: canonicalDst(x.dst), ...(x.via ? { via: canonicalIp(x.via) } : {}) })),
          expectedTable(last.plan.nat),
        ]
      : await Promise.all([
          this.hostLinksNow(plan),
          pre.links ?? listLinks(inNs),
          pre.routes ?? listStaticRoutes(inNs),
          pre.nat !== undefined ? pre.nat : readNftTable('ip', NAT_TABLE, inNs),
        ]);
    if (forwardingRead !== null) {
      if ((await forwardingRead) !== '1') {
        await runInNetns(ns, { argv: ['sysctl', '-qw', 'net.ipv4.ip_forward=1'], write: true }, this.o.exec);
        changes++;
      }
      this.forwarding.add(ns);
    }
    const hostOps = hostActual ? diffLinks(plan.hostLinks, hostActual) : [];
    await linkOpsToBatch(hostOps).apply(this.hostTarget);
    // A new veth put its peer into the namespace: read it again.
    const nsLinks = hostOps.some((o) => o.op === 'create') ? await listLinks(inNs) : nsActual;
    const linkOps = diffLinks(plan.routerLinks, nsLinks, { owned: OWNED_IN_ROUTER });
    const routeOps = diffRoutes(plan.routes, routesActual);
    // Links, addresses and routes in one batch, routes last (their devices and next hops exist
    // by then); then the NAT table's one transaction.
    await routeOpsToBatch(routeOps, linkOpsToBatch(linkOps)).apply(inNs);
    const nft = planTable(plan.nat, natActual, { incremental: true });
    await applyNftPlans([nft], inNs);
    changes += hostOps.length + linkOps.length + routeOps.length + (nft.kind !== 'none' ? 1 : 0);
    if (ha)
      await this.ha.ensure(r.id, ns, {
        vrId: (r as HaSync).ha_vr_id!,
        haDev: haDevOf((r as HaSync)._ha_interface!.id),
        vips: ha.vips,
        routes: ha.routes,
        devices: plan.routerLinks.map((l) => l.name).filter((n) => !n.startsWith('ha-')),
        radvdPidFile: radvdPaths(this.services.raDir, r.id).pid,
      });
    // Floating addresses that went: their NAT'd connections go too (Neutron deletes the conntrack
    // state of a removed floating IP); the ones that came (and a new gateway address) are announced.
    const gone = plan.gatewayDevs.flatMap((dev) => addressesOf(linkOps, 'addr-del', dev));
    for (const ip of gone) await this.forgetConnections(ns, ip);
    for (const f of goneForwardings(natActual, plan.nat)) await this.forgetConnections(ns, f.ip, ['-p', f.protocol, '--orig-port-dst', f.port]);
    const came: string[] = [];
    for (const dev of plan.gatewayDevs) {
      for (const ip of addressesOf(linkOps, 'addr-add', dev)) {
        came.push(ip);
        this.announce(ns, dev, ip);
      }
    }

    const prev = this.routers.get(r.id);
    const reportedBefore = prev?.reported ?? new Set<string>();
    const statuses = fipStatusChanges(r, plan, reportedBefore);
    if (Object.keys(statuses).length) {
      await this.call('update_floatingip_statuses', { router_id: r.id, fip_statuses: statuses });
      this.counters.statusReports++;
    }
    const state: RouterState = { plan, reported: new Set(Object.keys(plan.fipStatuses)), changes };
    this.routers.set(r.id, state);
    // Last: the router routes and its statuses are reported even if haproxy or radvd cannot start
    // (the pass then fails and is retried, as every failed pass is).
    changes += await this.services.apply(r, plan, !!last, ha ? { active: await this.ha.active(r.id) } : null);
    changes += await this.ndp.apply(r, ns, !!last, pre.ndp);
    state.changes = changes;
    if (changes) this.log.info({ routerId: r.id, changes, nft: nft.kind, gone, came, ms: Date.now() - t0 }, 'router changed');
  }

  private async teardown(routerId: string): Promise<void> {
    const state = this.routers.get(routerId);
    const ns = this.nsOf(routerId);
    await this.ha.remove(routerId);
    await this.services.teardown(routerId);
    this.ndp.forget(routerId);
    if (await netnsExists(ns, this.o.exec)) {
      // The router's links go first: a namespace outlives its name while a process is still in
      // it (an arping under way), and its veths would keep routing.
      await linkOpsToBatch(diffLinks([], await listLinks(this.target(ns)), { owned: OWNED_IN_ROUTER })).apply(this.target(ns));
      await deleteNetns(ns, this.o.exec);
      this.log.info({ routerId }, 'router removed');
    }
    this.forwarding.delete(ns);
    this.listedNamespaces?.delete(ns);
    await rm(join(this.stateDir, routerId), { force: true });
    this.routers.delete(routerId);
    // Its floating IPs are no longer served here (the router may still exist, unscheduled).
    if (state?.reported.size) {
      const statuses = Object.fromEntries([...state.reported].map((id) => [id, 'DOWN']));
      await this.call('update_floatingip_statuses', { router_id: routerId, fip_statuses: statuses }).catch(() => {});
    }
  }

  /**
   * conntrack -D for one address, as original destination (DNAT'd in) and reply destination
   * (SNAT'd out); `only`: one forwarded socket's (its protocol and port), as original destination.
   */
  private async forgetConnections(ns: string, ip: string, only?: string[]): Promise<void> {
    for (const flag of only ? ['-d'] : ['-d', '-q'])
      await runInNetns(ns, { argv: ['conntrack', '-D', flag, ip, ...(only ?? [])], write: true, okCodes: [0, 1] }, this.o.exec).catch(
        (err: unknown) => this.log.warn({ ns, ip, err: (err as Error).message }, 'conntrack -D failed'),
      );
  }

  /**
   * Gratuitous ARP for an address that appeared on the gateway, with iputils' arping as Neutron
   * does (a raw ARP frame from Node would need a native module). In the background: it takes
   * about a second per packet and nothing waits for it.
   */
  private announce(ns: string, dev: string, ip: string): void {
    const count = this.o.sendArpCount ?? 3;
    if (count <= 0) return;
    this.counters.garps++;
    void runInNetns(ns, { argv: ['arping', '-U', '-I', dev, '-c', String(count), '-w', String(count + 1), ip], okCodes: [0, 1] }, this.o.exec).catch(
      (err: unknown) => this.log.warn({ ns, ip, err: (err as Error).message }, 'gratuitous ARP failed'),
    );
  }
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** The links of the router's namespace as a read would show them right after `desired` was applied. */
function expectedLinks(desired: readonly DesiredLink[]): Link[] {
  return desired.map((d, index) => ({
    index,
    name: d.name,
    kind: 'veth',
    mtu: d.mtu ?? 0,
    address: d.address ? normalizeMac(d.address) : '',
    up: d.up ?? true,
    lowerUp: true,
    master: null,
    parent: null,
    addresses: (d.addresses ?? []).map(canonicalIfAddr),
  }));
}

/** The IPv4 /32 addresses of `dev` that the link operations added or deleted. */
function addressesOf(ops: readonly LinkOp[], op: 'addr-add' | 'addr-del', dev: string | null): string[] {
  if (!dev) return [];
  return ops.flatMap((o) => (o.op === op && o.name === dev && !o.cidr.includes(':') ? [o.cidr.split('/')[0]!] : []));
}

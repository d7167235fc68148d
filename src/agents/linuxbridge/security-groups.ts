// The L2 agent's security group side (Neutron's SecurityGroupAgentRpc with a firewall driver):
// keeps what the server said about this host's ports, their groups' rules and the members of
// remote groups, and reconciles the two nftables tables of firewall.ts from it.
//
//   - the agent calls sync() in every pass, before it wires taps into bridges (a port is
//     filtered before its first frame can cross the bridge);
//   - new devices, and devices a notification concerns, are asked about in one
//     security_group_info_for_devices call: port_update marks its device;
//     security_groups_rule_updated (a group's rules) and security_groups_member_updated (a
//     remote group's members) mark one port each group concerns, whose answer carries the
//     group's rules and members (Neutron asks about every port of the group again);
//   - a change is one `nft -f` transaction with only what differs (a membership change: set
//     elements; a rule change: that port's chains), planned against what the last transaction
//     left (no read; if the kernel has drifted and the transaction fails, it reads and plans
//     again); nothing changed, nothing done; a full pass reads the kernel and repairs drift
//     (every kernelCheckInterval), and every resyncInterval it asks the server about every port
//     again;
//   - the port ids in packet marks are read back from the kernel on the first pass, so a
//     restarted agent renders exactly the tables that are there and writes nothing;
//   - after a change, connections it no longer allows are removed from conntrack (a deleted
//     rule, a port that left a group, members gone from a remote group), as Neutron does;
//     established connections would otherwise go on under the old rules.
import { readFile } from 'node:fs/promises';
import {
  applyNftPlans,
  execOf,
  expectedTable,
  listNftTables,
  planTable,
  readNftTable,
  type ActualTable,
  type NftPlan,
  type Target,
} from '../../dataplane/index.js';
import type { RpcHandlers, RpcLogger } from '../../rpc/index.js';
import {
  FW_TABLE,
  allocateIds,
  conntrackArgv,
  idsFromTable,
  isFiltered,
  remoteOf,
  renderFirewall,
  staleFlows,
  zonesFromTable,
  type FirewallPort,
  type FirewallState,
  type MemberIps,
  type SgRule,
} from './firewall.js';
import { PendingKeys } from '../reconciler.js';
import type { NetworkLog } from './network-log.js';

export interface SecurityGroupInfo {
  devices?: Record<string, FirewallPort>;
  security_groups?: Record<string, SgRule[]>;
  sg_member_ips?: Record<string, MemberIps>;
}

export interface SecurityGroupAgentOptions {
  /** A call to the server on q-plugin. */
  call<T>(method: string, args: Record<string, unknown>): Promise<T>;
  target: Target;
  logger: RpcLogger;
  /** Ask the server about every port again on a full pass this often, seconds (default 60). */
  resyncInterval?: number;
  /**
   * Read the kernel's tables on a full pass this often, seconds (default 30): between two
   * reads a full pass plans against what the last transaction left, as a quick one does. A
   * read costs nft a listing of every port's rules (a quarter of a second for 500 ports).
   */
  kernelCheckInterval?: number;
  /** The `log` extension: network logs of the ports' security group events. */
  networkLog?: NetworkLog;
}

export interface FirewallSyncResult {
  /** nft transactions written: 0 or 1 (2 when a cached plan failed on a drifted kernel). */
  writes: number;
  /** What the transaction did, per table ('none', 'elements', 'changes', 'replace'). */
  plans: Array<NftPlan['kind']>;
  /** Devices filtered after this pass. */
  filtered: number;
}

/**
 * What a notification asks for, as a key of the pending set (a group updated ten times before
 * the next pass is looked at once): `device:TAP`, `rule:GROUP`, `member:GROUP` or `all`.
 */
type Note = `device:${string}` | `rule:${string}` | `member:${string}` | 'all';

export class SecurityGroupFirewall {
  /** Device → what the server said (null: not filtered, e.g. port security off or a network:* port). */
  readonly ports = new Map<string, FirewallPort | null>();
  private readonly groups = new Map<string, SgRule[]>();
  private readonly members = new Map<string, MemberIps>();
  /** Devices to ask the server about again; a failed ask puts them back. */
  private readonly stale = new PendingKeys<string>();
  private readonly notes = new PendingKeys<Note>();
  private ids = new Map<string, number>();
  /** Bridge → conntrack zone. */
  private zones = new Map<string, number>();
  private bridgesOf = new Map<string, string>();
  private dirty = true;
  private tablesToCheck = false;
  private lastResync = 0;
  private lastRead = 0;
  /** What the kernel's tables were last rendered from (null until the first pass). */
  private applied: FirewallState | null = null;
  private conntrackMissing = false;
  /** conntrack -D commands run since the start. */
  conntrackDeletes = 0;
  /** The tables as the last transaction (or full read) left them: [bridge, inet]. */
  private expected: [ActualTable | null, ActualTable | null] | null = null;
  /** Chains of both tables as the last transaction (or full read) left them (metrics). */
  get chainCount(): number {
    return (this.expected ?? []).reduce((n, t) => n + (t?.chains.size ?? 0), 0);
  }
  /** Time from the start of the last sync that wrote to its transaction being applied, ms. */
  lastWriteMs = 0;
  /** Where that time went: asking the server, reading the kernel, rendering and planning, the transaction. */
  lastWriteTimings = { fetchMs: 0, readMs: 0, planMs: 0, applyMs: 0 };
  /** Transactions written since the start, and per table how many of each plan kind. */
  readonly counts = { transactions: 0, elements: 0, changes: 0, replace: 0 };

  constructor(private readonly o: SecurityGroupAgentOptions) {}

  /** Handlers for SG_UPDATE_TOPIC; `changed` asks the agent for a pass. */
  handlers(changed: () => void): RpcHandlers {
    const note = (n: Note) => {
      this.notes.add(n);
      changed();
    };
    const groups = (kind: 'rule' | 'member', a: { security_groups?: unknown }) => {
      for (const g of ids(a)) note(`${kind}:${g}`);
    };
    const ids = (a: { security_groups?: unknown }) =>
      Array.isArray(a?.security_groups) ? a.security_groups.filter((x): x is string => typeof x === 'string') : [];
    return {
      security_groups_rule_updated: (_ctx, a: { security_groups?: string[] }) => groups('rule', a),
      security_groups_member_updated: (_ctx, a: { security_groups?: string[] }) => groups('member', a),
      security_groups_provider_updated: () => note('all'),
    };
  }

  /** A port_update for a device of this host: ask about it again. */
  portUpdated(device: string): void {
    this.notes.add(`device:${device}`);
  }

  /**
   * The kernel said one of our tables was deleted (`nft monitor`): the next pass lists the
   * tables (a cheap read) and, if one is missing, reads and repairs them. Our own transactions
   * that replace a table also print a deletion; the listing tells them apart.
   */
  tableDeleted(): void {
    this.tablesToCheck = true;
  }

  /** Everything may be stale (the server lost track of the agent): ask about every port again. */
  resyncAll(): void {
    this.notes.add('all');
  }

  /** Warns when bridged IP traffic skips the ip/ip6 hooks (the stateful rules would never run). */
  async checkKernel(): Promise<void> {
    for (const proto of ['iptables', 'ip6tables']) {
      const path = `/proc/sys/net/bridge/bridge-nf-call-${proto}`;
      let value: string;
      try {
        value =
          this.o.target.netns || this.o.target.exec
            ? (await execOf(this.o.target)({ argv: ['cat', path], netns: this.o.target.netns, okCodes: [0, 1] })).stdout.trim()
            : (await readFile(path, 'utf8')).trim();
      } catch {
        value = '';
      }
      if (value !== '1') {
        this.o.logger.error(
          { path, value: value || 'missing' },
          'security group rules need br_netfilter: load it and set net.bridge.bridge-nf-call-iptables and -ip6tables to 1 (anti-spoofing works without it)',
        );
      }
    }
  }

  /** Turns notifications into stale devices, judged on what is known now. */
  private takeNotes(): void {
    for (const n of this.notes.take()) {
      if (n === 'all') {
        for (const d of this.ports.keys()) this.stale.add(d);
        continue;
      }
      const colon = n.indexOf(':');
      const kind = n.slice(0, colon);
      const id = n.slice(colon + 1);
      if (kind === 'device') {
        this.stale.add(id);
        continue;
      }
      // A group's rules or members changed: asking about any one port that is in the group (or
      // whose rules name it) brings them back with that port's description; the other ports'
      // descriptions have not changed, so they are not asked about again.
      const concerned =
        kind === 'rule'
          ? (p: FirewallPort) => (p.security_groups ?? []).includes(id)
          : (p: FirewallPort) => (p.security_groups ?? []).some((sg) => (this.groups.get(sg) ?? []).some((r) => remoteOf(r) === id));
      const d = [...this.ports].find(([, p]) => p && concerned(p))?.[0];
      if (d) this.stale.add(d);
    }
  }

  private async fetch(devices: string[], all: boolean): Promise<void> {
    // call_version 1.3: Neutron's server then gives remote group members as [ip, mac] pairs (below
    // 1.3 it logs a version mismatch and sends bare addresses).
    const info = await this.o.call<SecurityGroupInfo>('security_group_info_for_devices', { devices, call_version: '1.3' });
    const got = new Map<string, FirewallPort>();
    for (const p of Object.values(info?.devices ?? {})) if (p && typeof p.device === 'string') got.set(p.device, p);
    // What did not change keeps its identity: the renderer reuses a port's text by it.
    const same = <T>(old: T | null | undefined, now: T): T => (old && JSON.stringify(old) === JSON.stringify(now) ? old : now);
    for (const d of devices) this.ports.set(d, same(this.ports.get(d), got.get(d) ?? null));
    const groups = new Map(Object.entries(info?.security_groups ?? {}).map(([g, rules]) => [g, same(this.groups.get(g), rules)]));
    if (all) {
      this.groups.clear();
      this.members.clear();
    }
    for (const [g, rules] of groups) this.groups.set(g, rules);
    for (const [g, m] of Object.entries(info?.sg_member_ips ?? {})) this.members.set(g, m);
    this.dirty = true;
  }

  /** Groups and members no port refers to any more. */
  private forgetUnused(): void {
    const used = new Set<string>();
    const remote = new Set<string>();
    for (const p of this.ports.values()) for (const g of p?.security_groups ?? []) used.add(g);
    for (const g of used) for (const r of this.groups.get(g) ?? []) if (remoteOf(r)) remote.add(remoteOf(r)!);
    for (const g of this.groups.keys()) if (!used.has(g)) this.groups.delete(g);
    for (const g of this.members.keys()) if (!remote.has(g)) this.members.delete(g);
  }

  /**
   * One pass. `devices`: the taps the agent has wired (or is about to), each with its bridge.
   * Asks the server about what it does not know, then reconciles the kernel: on a quick pass
   * only if something changed, on a full pass always (one read per table, maybe no write).
   */
  async sync(devices: ReadonlyMap<string, string>, full: boolean): Promise<FirewallSyncResult> {
    const t0 = Date.now();
    for (const d of [...this.ports.keys()]) {
      if (!devices.has(d)) {
        this.ports.delete(d);
        this.dirty = true;
      }
    }
    if (!sameMap(this.bridgesOf, devices)) {
      this.bridgesOf = new Map(devices);
      this.dirty = true;
    }
    const timings = { fetchMs: 0, readMs: 0, planMs: 0, applyMs: 0 };
    const resync = full && Date.now() - this.lastResync >= (this.o.resyncInterval ?? 60) * 1000;
    // Notifications that arrive while a call is out are judged on its answer: ask again.
    for (let round = 0; round < 3; round++) {
      this.takeNotes();
      const all = resync && round === 0;
      // Stale devices no longer here are dropped with the take.
      const stale = this.stale.take();
      const need = [...devices.keys()].filter((d) => all || !this.ports.has(d) || stale.has(d));
      if (!need.length) break;
      const f0 = Date.now();
      try {
        await this.fetch(need, all && need.length === devices.size);
      } catch (err) {
        // The pass fails and is retried: these are still to be asked about.
        this.stale.putBack(need);
        throw err;
      }
      timings.fetchMs += Date.now() - f0;
      if (all) this.lastResync = Date.now();
      if (!this.notes.size) break;
    }
    this.forgetUnused();
    const filtered = [...this.ports.values()].filter((p): p is FirewallPort => !!p && isFiltered(p));
    const logged = this.o.networkLog ? await this.o.networkLog.sync(filtered, full) : null;
    if (logged?.changed) this.dirty = true;

    const t = this.o.target;
    const read = async (): Promise<[ActualTable | null, ActualTable | null]> => {
      const r0 = Date.now();
      const both: [ActualTable | null, ActualTable | null] = [await readNftTable('bridge', FW_TABLE, t), await readNftTable('inet', FW_TABLE, t)];
      timings.readMs += Date.now() - r0;
      return both;
    };
    if (this.tablesToCheck && this.expected) {
      this.tablesToCheck = false;
      const have = await listNftTables(t);
      if (!have.has(`bridge ${FW_TABLE}`) || !have.has(`inet ${FW_TABLE}`)) {
        this.o.logger.warn({ tables: [...have].filter((x) => x.endsWith(FW_TABLE)) }, 'a security group table was deleted; repairing it');
        this.expected = null;
        this.dirty = true;
      }
    }
    const check = full && Date.now() - this.lastRead >= (this.o.kernelCheckInterval ?? 30) * 1000;
    if (!this.dirty && !check) return { writes: 0, plans: [], filtered: filtered.length };
    const cached = !check && this.expected !== null;
    let actual = cached ? this.expected! : await read();
    if (!cached) this.lastRead = Date.now();
    const p0 = Date.now();
    if (!this.ids.size) this.ids = idsFromTable(actual[1]);
    if (!this.zones.size) this.zones = zonesFromTable(actual[1]);
    this.ids = allocateIds(
      filtered.map((p) => p.device),
      this.ids,
    );
    this.zones = allocateIds(filtered.map((p) => devices.get(p.device)!).filter(Boolean), this.zones);
    const tables = renderFirewall({
      ports: filtered,
      groups: this.groups,
      members: this.members,
      ids: this.ids,
      bridges: this.zones,
      ...(logged && this.o.networkLog ? { logs: logged.events, logging: this.o.networkLog.settings } : {}),
    });
    const plan = () => [planTable(tables.bridge, actual[0], { incremental: true }), planTable(tables.inet, actual[1], { incremental: true })];
    let plans = plan();
    timings.planMs = Date.now() - p0;
    let writes = plans.some((p) => p.kind !== 'none') ? 1 : 0;
    if (writes) {
      const a0 = Date.now();
      for (const p of plans) if (p.kind === 'replace' || p.kind === 'changes') this.o.logger.debug({ why: p.why }, 'firewall change');
      try {
        await applyNftPlans(plans, t);
      } catch (err) {
        this.expected = null;
        if (!cached) throw err;
        // The kernel is not what the last transaction left: read it and plan again.
        this.o.logger.warn({ err: (err as Error).message.split('\n')[0] }, 'firewall drifted; reading the kernel again');
        actual = await read();
        this.lastRead = Date.now();
        plans = plan();
        await applyNftPlans(plans, t);
        writes = plans.some((p) => p.kind !== 'none') ? 2 : 1;
      }
      this.lastWriteMs = Date.now() - t0;
      this.lastWriteTimings = { ...timings, applyMs: Date.now() - a0 };
      this.counts.transactions++;
      for (const p of plans) if (p.kind !== 'none') this.counts[p.kind]++;
    }
    this.expected = [expectedTable(tables.bridge), expectedTable(tables.inet)];
    this.dirty = false;
    const state: FirewallState = {
      ports: new Map(filtered.map((p) => [p.device, p])),
      groups: new Map(this.groups),
      members: new Map(this.members),
      zones: new Map(filtered.map((p) => [p.device, this.zones.get(devices.get(p.device)!)!])),
    };
    if (this.applied) await this.dropStaleFlows(staleFlows(this.applied, state));
    this.applied = state;
    return { writes, plans: plans.map((p) => p.kind), filtered: filtered.length };
  }

  private async dropStaleFlows(flows: ReturnType<typeof staleFlows>): Promise<void> {
    if (this.conntrackMissing) return;
    for (const f of flows) {
      try {
        await execOf(this.o.target)({ argv: conntrackArgv(f), netns: this.o.target.netns, okCodes: [0, 1], write: true });
        this.conntrackDeletes++;
      } catch (err) {
        if (/ENOENT|not found/i.test((err as Error).message)) {
          this.conntrackMissing = true;
          this.o.logger.warn({}, 'conntrack (conntrack-tools) is not installed: connections a rule change no longer allows stay up until they end');
          return;
        }
        this.o.logger.warn({ err: (err as Error).message }, 'conntrack -D failed');
      }
    }
  }
}

function sameMap(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

// Security groups for the L2 agents (Neutron's SecurityGroupServerRpcCallback and
// SecurityGroupAgentRpcApiMixin):
//   on 'q-plugin': security_group_info_for_devices (ports, their groups' rules once per group,
//   members of remote groups per ethertype; what agents use) and security_group_rules_for_devices
//   (the older form: every port with its rules, remote groups expanded to addresses);
//   fanouts on 'q-agent-notifier-security_group-update', after commit:
//   security_groups_rule_updated (a group's rules changed) and security_groups_member_updated
//   (a group's members or their addresses changed: port create, delete, addresses or groups
//   updated). Changes to one port also reach its agent as port_update (rpc-callbacks.ts).
//
// Every port gets the "provider" rules Neutron adds (DHCP replies to its addresses and to
// broadcast, DHCPv6 replies, router advertisements when it has IPv6): they are not in any group.
// Neutron's own ports (device_owner network:* or neutron:*) are not described: never filtered.
import type { Db } from '../../db/connection.js';
import type { Reader } from '../../db/tx.js';
import { i2b } from '../../db/tx.js';
import type { Rec } from '../../core/resource.js';
import { newRpcContext, silentLogger, toRpcContext, type RpcBus, type RpcContext, type RpcHandlers, type RpcLogger } from '../../rpc/index.js';
import { idChunks, whereIdIn } from '../common/list-sql.js';
import { SG_UPDATE_TOPIC, isNetworkOwned } from '../../core/wire.js';
import { Events, type CallbackRegistry, type EventPayload } from '../../core/callbacks.js';
import { addressesOf } from './address-groups.js';

export interface SgRuleInfo {
  direction: string;
  ethertype: string;
  stateful: boolean;
  security_group_id?: string;
  protocol?: string;
  port_range_min?: number;
  port_range_max?: number;
  source_port_range_min?: number;
  source_port_range_max?: number;
  source_ip_prefix?: string;
  dest_ip_prefix?: string;
  remote_group_id?: string;
  remote_address_group_id?: string;
}

type Member = [ip: string, mac: string | null];

export interface SecurityGroupRpcOptions {
  db: Db;
  /** Port dicts (fixed_ips, allowed_address_pairs, security_groups, port_security_enabled, …) of these ids. */
  portDicts(db: Reader, ids: string[]): Promise<Rec[]>;
}

/** Neutron's is_port_trusted. */
export function isTrustedPort(p: { device_owner?: unknown }): boolean {
  return isNetworkOwned(p.device_owner);
}

const version = (ip: string) => (ip.includes(':') ? 6 : 4);
const ipsOf = (p: Rec) => ((p.fixed_ips as Array<{ ip_address: string }> | undefined) ?? []).map((f) => f.ip_address);

/** DHCP replies (to the port's addresses, broadcast, link-local) and RAs the port may receive. */
export function providerRules(ips: string[]): SgRuleInfo[] {
  const out: SgRuleInfo[] = [];
  if (ips.some((ip) => version(ip) === 6))
    out.push({ direction: 'ingress', ethertype: 'IPv6', stateful: true, protocol: 'ipv6-icmp', source_port_range_min: 134 });
  for (const v of [4, 6] as const) {
    const dests = [...ips.filter((ip) => version(ip) === v).map((ip) => `${ip}/${v === 4 ? 32 : 128}`), v === 4 ? '255.255.255.255/32' : 'fe80::/64'];
    const [sport, dport] = v === 4 ? [67, 68] : [547, 546];
    for (const dest of dests) {
      out.push({
        direction: 'ingress',
        ethertype: `IPv${v}`,
        stateful: true,
        protocol: 'udp',
        port_range_min: dport,
        port_range_max: dport,
        source_port_range_min: sport,
        source_port_range_max: sport,
        dest_ip_prefix: dest,
      });
    }
  }
  return out;
}

/** Short device names ('tap' + 11 characters of the id) or ids → port ids, in a few queries. */
async function portIdsOf(db: Db, devices: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const short: string[] = [];
  for (const device of devices) {
    const d = (device.startsWith('tap') ? device.slice(3) : device).toLowerCase();
    if (!/^[0-9a-f-]{1,36}$/.test(d)) continue;
    if (d.length === 36) out.set(device, d);
    else short.push(device);
  }
  // One query per chunk of short names: ids between the prefix and the prefix followed by 'g'
  // (the next character after hex digits and '-'), so an index on ports.id serves it.
  for (let i = 0; i < short.length; i += 50) {
    const part = short.slice(i, i + 50);
    const prefixes = part.map((d) => d.slice(3).toLowerCase());
    const rows = await db.kysely
      .selectFrom('ports')
      .select('id')
      .where((eb) => eb.or(prefixes.map((p) => eb.and([eb('id', '>=', p), eb('id', '<', `${p}g`)]))))
      .orderBy('id')
      .execute();
    for (const [k, p] of prefixes.entries()) {
      const hit = rows.find((r) => r.id.startsWith(p));
      if (hit) out.set(part[k]!, hit.id);
    }
  }
  return out;
}

export class SecurityGroupRpc {
  constructor(private readonly o: SecurityGroupRpcOptions) {}

  /** Port id → port dict with `device` (the name the agent asked with); trusted ports left out. */
  private async ports(devices: string[]): Promise<Map<string, Rec>> {
    const deviceOf = new Map([...(await portIdsOf(this.o.db, devices))].map(([d, id]) => [id, d]));
    const out = new Map<string, Rec>();
    if (!deviceOf.size) return out;
    const ids = [...deviceOf.keys()];
    for (let i = 0; i < ids.length; i += 500) {
      for (const p of await this.o.portDicts(this.o.db.kysely, ids.slice(i, i + 500))) {
        if (isTrustedPort(p)) continue;
        out.set(p.id as string, { ...p, device: deviceOf.get(p.id as string) });
      }
    }
    return out;
  }

  /** Rules of the groups (Neutron's rule dicts, without ids), and whether each group is stateful. */
  private async groupRules(db: Reader, groupIds: string[]): Promise<Map<string, SgRuleInfo[]>> {
    const out = new Map<string, SgRuleInfo[]>(groupIds.map((g) => [g, []]));
    if (!groupIds.length) return out;
    const stateful = new Map<string, boolean>();
    for (const part of idChunks(this.o.db, groupIds)) {
      for (const g of await whereIdIn(this.o.db, db.selectFrom('security_groups').select(['id', 'stateful']), 'id', part).execute())
        stateful.set(g.id, i2b(g.stateful));
      const q = whereIdIn(this.o.db, db.selectFrom('security_group_rules').selectAll(), 'security_group_id', part)
        .orderBy('created_at')
        .orderBy('id');
      for (const r of await q.execute()) {
        const rule: SgRuleInfo = { direction: r.direction, ethertype: r.ethertype, stateful: stateful.get(r.security_group_id) ?? true };
        if (r.protocol !== null) rule.protocol = r.protocol;
        if (r.port_range_min !== null) rule.port_range_min = Number(r.port_range_min);
        if (r.port_range_max !== null) rule.port_range_max = Number(r.port_range_max);
        if (r.remote_ip_prefix !== null)
          rule[r.direction === 'egress' ? 'dest_ip_prefix' : 'source_ip_prefix'] = r.normalized_cidr ?? r.remote_ip_prefix;
        if (r.remote_group_id !== null) rule.remote_group_id = r.remote_group_id;
        if (r.remote_address_group_id !== null) rule.remote_address_group_id = r.remote_address_group_id;
        const list = out.get(r.security_group_id)!;
        if (!list.some((x) => sameRule(x, rule))) list.push(rule);
      }
    }
    return out;
  }

  /** Addresses of the ports in each group: fixed IPs (mac null) and allowed address pairs. */
  private async memberIps(db: Reader, groupIds: string[]): Promise<Map<string, Member[]>> {
    const out = new Map<string, Member[]>(groupIds.map((g) => [g, []]));
    for (const part of idChunks(this.o.db, groupIds)) {
      const fixed = whereIdIn(
        this.o.db,
        db
          .selectFrom('security_group_port_bindings as b')
          .innerJoin('ip_allocations as a', 'a.port_id', 'b.port_id')
          .select(['b.security_group_id as g', 'a.ip_address as ip']),
        'b.security_group_id',
        part,
      );
      for (const r of await fixed.execute()) out.get(r.g)!.push([r.ip, null]);
      const pairs = whereIdIn(
        this.o.db,
        db
          .selectFrom('security_group_port_bindings as b')
          .innerJoin('allowed_address_pairs as p', 'p.port_id', 'b.port_id')
          .select(['b.security_group_id as g', 'p.ip_address as ip', 'p.mac_address as mac']),
        'b.security_group_id',
        part,
      );
      for (const r of await pairs.execute()) out.get(r.g)!.push([r.ip, r.mac]);
    }
    for (const [g, l] of out) {
      const seen = new Set<string>();
      out.set(
        g,
        l.filter(([ip, mac]) => !seen.has(`${ip}|${mac}`) && !!seen.add(`${ip}|${mac}`)).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)),
      );
    }
    return out;
  }

  /** security_group_info_for_devices (RPC 1.3): see the file comment. */
  async infoForDevices(devices: string[]): Promise<Rec> {
    const ports = await this.ports(devices);
    const db = this.o.db.kysely;
    const groupIds = [...new Set([...ports.values()].flatMap((p) => (p.security_groups as string[] | undefined) ?? []))].sort();
    const rules = await this.groupRules(db, groupIds);
    // Remote groups and the ethertypes their rules use, per port too (Neutron's bookkeeping).
    const remote = new Map<string, Set<string>>();
    const remoteAg = new Map<string, Set<string>>();
    const outDevices: Record<string, Rec> = {};
    for (const [id, p] of ports) {
      const source = new Set<string>();
      const sourceAg = new Set<string>();
      for (const g of (p.security_groups as string[] | undefined) ?? []) {
        for (const r of rules.get(g) ?? []) {
          if (r.remote_address_group_id) {
            sourceAg.add(r.remote_address_group_id);
            (remoteAg.get(r.remote_address_group_id) ?? remoteAg.set(r.remote_address_group_id, new Set()).get(r.remote_address_group_id)!).add(
              r.ethertype,
            );
          }
          if (!r.remote_group_id) continue;
          source.add(r.remote_group_id);
          (remote.get(r.remote_group_id) ?? remote.set(r.remote_group_id, new Set()).get(r.remote_group_id)!).add(r.ethertype);
        }
      }
      const ips = ipsOf(p);
      outDevices[id] = {
        ...p,
        fixed_ips: ips,
        security_group_rules: providerRules(ips),
        security_group_source_groups: [...source].sort(),
        security_group_remote_address_groups: [...sourceAg].sort(),
      };
    }
    const members = await this.memberIps(db, [...remote.keys()]);
    const sgMemberIps: Record<string, Record<string, Member[]>> = {};
    for (const [g, ethertypes] of remote) {
      const entry: Record<string, Member[]> = {};
      for (const e of ethertypes) entry[e] = (members.get(g) ?? []).filter(([ip]) => `IPv${version(ip)}` === e);
      sgMemberIps[g] = entry;
    }
    // Address groups' CIDRs go in sg_member_ips too, under the address group's id and with no
    // MAC, so that agents treat both kinds of remote alike (as Neutron sends them).
    const agAddresses = await addressesOf(this.o.db, db, [...remoteAg.keys()]);
    for (const [ag, ethertypes] of remoteAg) {
      const entry: Record<string, Member[]> = {};
      for (const e of ethertypes)
        entry[e] = (agAddresses.get(ag) ?? []).filter((cidr) => `IPv${version(cidr)}` === e).map((cidr): Member => [cidr, null]);
      sgMemberIps[ag] = entry;
    }
    return { devices: outDevices, security_groups: Object.fromEntries(rules), sg_member_ips: sgMemberIps };
  }

  /** security_group_rules_for_devices (RPC 1.1): every port with its rules, remote groups as addresses. */
  async rulesForDevices(devices: string[]): Promise<Rec> {
    const info = await this.infoForDevices(devices);
    const groups = info.security_groups as Record<string, SgRuleInfo[]>;
    const members = info.sg_member_ips as Record<string, Record<string, Member[]>>;
    const out: Record<string, Rec> = {};
    for (const [id, p] of Object.entries(info.devices as Record<string, Rec>)) {
      const own = new Set(p.fixed_ips as string[]);
      const list: SgRuleInfo[] = [];
      for (const g of (p.security_groups as string[] | undefined) ?? []) {
        for (const r of groups[g] ?? []) {
          const rule = { ...r, security_group_id: g };
          delete (rule as { stateful?: boolean }).stateful;
          const remoteId = r.remote_group_id ?? r.remote_address_group_id;
          if (!remoteId) {
            list.push(rule);
            continue;
          }
          const key = r.direction === 'egress' ? 'dest_ip_prefix' : 'source_ip_prefix';
          for (const [ip] of members[remoteId]?.[r.ethertype] ?? []) {
            if (own.has(ip)) continue;
            list.push({ ...rule, [key]: ip.includes('/') ? ip : `${ip}/${version(ip) === 4 ? 32 : 128}` });
          }
        }
      }
      out[id] = { ...p, security_group_rules: [...list, ...(p.security_group_rules as SgRuleInfo[])] };
    }
    return out;
  }

  handlers(): RpcHandlers {
    const list = (a: { devices?: unknown }) => (Array.isArray(a?.devices) ? a.devices.filter((d): d is string => typeof d === 'string') : []);
    return {
      security_group_info_for_devices: (_ctx, args: { devices?: string[] }) => this.infoForDevices(list(args)),
      security_group_rules_for_devices: (_ctx, args: { devices?: string[] }) => this.rulesForDevices(list(args)),
    };
  }
}

function sameRule(a: SgRuleInfo, b: SgRuleInfo): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k as keyof SgRuleInfo] === b[k as keyof SgRuleInfo]);
}

// ---- notifications ------------------------------------------------------------------------

const groupsOf = (p: Rec | null | undefined) => (p?.security_groups as string[] | undefined) ?? [];
const pairsKey = (p: Rec) =>
  JSON.stringify(((p.allowed_address_pairs as Rec[] | undefined) ?? []).map((x) => `${x.ip_address}|${x.mac_address}`).sort());
const sameSet = (a: string[], b: string[]) => a.length === b.length && new Set([...a, ...b]).size === a.length;

/**
 * Fanouts to every L2 agent after commit. Sent in the background (an API request does not wait
 * for the broker), in order; settled() waits for those sent so far.
 */
export class SecurityGroupNotifier {
  private chain: Promise<void> = Promise.resolve();
  private pending = 0;
  /** The last message queued and not yet sent: a same-method message joins it (a bulk port create sends one). */
  private queued: { method: string; groups: Set<string> } | null = null;

  constructor(
    private readonly bus: RpcBus,
    private readonly log: RpcLogger = silentLogger,
  ) {}

  private send(method: string, groups: Iterable<string>, ctx?: RpcContext): void {
    const add = [...groups];
    if (!add.length) return;
    if (this.queued?.method === method) {
      for (const g of add) this.queued.groups.add(g);
      return;
    }
    const msg = { method, groups: new Set(add) };
    this.queued = msg;
    this.pending++;
    this.chain = this.chain
      .then(() => {
        if (this.queued === msg) this.queued = null;
        const ids = [...msg.groups].sort();
        return this.bus.fanout(SG_UPDATE_TOPIC, method, { security_groups: ids }, { context: ctx ?? newRpcContext() });
      })
      .catch((err: unknown) =>
        this.log.warn({ method, security_groups: [...msg.groups], err: (err as Error).message }, 'security group notification failed'),
      )
      .finally(() => this.pending--);
  }

  ruleUpdated(groups: Iterable<string>, ctx?: RpcContext): void {
    this.send('security_groups_rule_updated', groups, ctx);
  }

  memberUpdated(groups: Iterable<string>, ctx?: RpcContext): void {
    this.send('security_groups_member_updated', groups, ctx);
  }

  async settled(): Promise<void> {
    while (this.pending) await this.chain;
  }

  // The port side: a port's groups gain or lose a member or an address.
  created(ports: Rec[]): void {
    this.memberUpdated(ports.filter((p) => !isTrustedPort(p)).flatMap(groupsOf));
  }

  updated(before: Rec, after: Rec): void {
    const a = groupsOf(before);
    const b = groupsOf(after);
    if (!sameSet(a, b)) this.memberUpdated([...a, ...b]);
    else if (!sameSet(ipsOf(before), ipsOf(after)) || before.mac_address !== after.mac_address || pairsKey(before) !== pairsKey(after))
      this.memberUpdated(b);
  }

  deleted(before: Rec): void {
    this.memberUpdated(groupsOf(before));
  }
}

/**
 * The agents hear after each committed change: a rule created or deleted changes its group;
 * deleting a group also deleted the rules of other groups that named it as their remote group;
 * a port's groups gain or lose a member or an address.
 */
export function subscribeSecurityGroupNotifier(callbacks: CallbackRegistry, n: SecurityGroupNotifier, db?: Db): void {
  const ctxOf = (p: EventPayload) => (p.context ? toRpcContext(p.context) : undefined);
  const opts = { name: 'security-group-notifier' };
  callbacks.subscribe(
    'security_group_rule',
    Events.AFTER_CREATE,
    (p: EventPayload) => n.ruleUpdated([p.after!.security_group_id as string], ctxOf(p)),
    opts,
  );
  callbacks.subscribe(
    'security_group_rule',
    Events.AFTER_DELETE,
    (p: EventPayload) => n.ruleUpdated([p.before!.security_group_id as string], ctxOf(p)),
    opts,
  );
  callbacks.subscribe(
    'security_group',
    Events.AFTER_DELETE,
    (p: EventPayload) => n.ruleUpdated((p.metadata?.referringGroups as string[]) ?? [], ctxOf(p)),
    opts,
  );
  // An address group's addresses changed: the groups whose rules name it (as Neutron's agents
  // turn address_group_updated into security_groups_rule_updated of those groups).
  if (db)
    callbacks.subscribe(
      'address_group',
      Events.AFTER_UPDATE,
      async (p: EventPayload) => {
        const before = ((p.before?.addresses as string[] | undefined) ?? []).join(',');
        const after = ((p.after?.addresses as string[] | undefined) ?? []).join(',');
        if (before === after) return;
        const rows = await db.kysely
          .selectFrom('security_group_rules')
          .select('security_group_id')
          .distinct()
          .where('remote_address_group_id', '=', p.resourceId!)
          .execute();
        n.ruleUpdated(
          rows.map((r) => r.security_group_id),
          ctxOf(p),
        );
      },
      opts,
    );
  callbacks.subscribe('port', Events.AFTER_CREATE, (p: EventPayload) => n.created([p.after!]), opts);
  callbacks.subscribe('port', Events.AFTER_UPDATE, (p: EventPayload) => n.updated(p.before!, p.after!), opts);
  callbacks.subscribe('port', Events.AFTER_DELETE, (p: EventPayload) => n.deleted(p.before!), opts);
}

// Links (bridges, veth pairs, VXLAN and VLAN devices) and their addresses: read the actual state
// with one `ip -json -details addr show` (it carries link details and addresses together), diff
// it against the desired state (pure, see diffLinks) and apply the difference as one IpBatch.
import { execOf, type Target } from './exec.js';
import { IpBatch, type VxlanAttrs } from './batch.js';
import { assertIfName, canonicalIfAddr, canonicalIp, normalizeMac } from './values.js';

export { IpBatch, BridgeBatch } from './batch.js';

export interface Link {
  index: number;
  name: string;
  /** linkinfo.info_kind: 'bridge', 'veth', 'vxlan', 'vlan', … or null for physical/loopback. */
  kind: string | null;
  mtu: number;
  address: string;
  /** Administratively up (IFF_UP). */
  up: boolean;
  /** Carrier (LOWER_UP). */
  lowerUp: boolean;
  master: string | null;
  /** The parent (VLAN) or peer (veth) by name, when it lives in the same namespace. */
  parent: string | null;
  vxlan?: { vni: number; local: string | null; dev: string | null; dstport: number; learning: boolean; proxy: boolean };
  vlan?: { id: number; protocol: string };
  /** Interface addresses as "addr/len"; link-local IPv6 (fe80::/10) left out: the kernel makes those. */
  addresses: string[];
}

interface RawLink {
  ifindex: number;
  ifname: string;
  flags?: string[];
  mtu: number;
  address?: string;
  master?: string;
  link?: string | null;
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> };
  addr_info?: Array<{ family: string; local?: string; prefixlen?: number; scope?: string }>;
}

/** Parses `ip -json -details addr show` (or `… link show`, which has no addr_info). */
export function parseLinks(json: string): Link[] {
  if (json.trim() === '') return [];
  return (JSON.parse(json) as RawLink[]).map(parseLink);
}

function parseLink(r: RawLink): Link {
  const flags = r.flags ?? [];
  const kind = r.linkinfo?.info_kind ?? null;
  const data = r.linkinfo?.info_data ?? {};
  const l: Link = {
    index: r.ifindex,
    name: r.ifname,
    kind,
    mtu: r.mtu,
    address: (r.address ?? '').toLowerCase(),
    up: flags.includes('UP'),
    lowerUp: flags.includes('LOWER_UP'),
    master: r.master ?? null,
    parent: typeof r.link === 'string' ? r.link : null,
    addresses: (r.addr_info ?? [])
      .filter((a) => (a.family === 'inet' || a.family === 'inet6') && a.local !== undefined && a.scope !== 'link')
      .map((a) => `${canonicalIp(a.local!)}/${a.prefixlen}`),
  };
  if (kind === 'vxlan') {
    const local = (data.local ?? data.local6) as string | undefined;
    l.vxlan = {
      vni: Number(data.id),
      local: local ? canonicalIp(local) : null,
      dev: typeof data.link === 'string' ? data.link : null,
      dstport: Number(data.port ?? 0),
      learning: data.learning === true,
      proxy: data.proxy === true,
    };
  }
  if (kind === 'vlan') l.vlan = { id: Number(data.id), protocol: String(data.protocol ?? '802.1Q') };
  return l;
}

export async function listLinks(t?: Target): Promise<Link[]> {
  const argv = ['ip'];
  if (t?.netns) argv.push('-n', t.netns);
  argv.push('-json', '-details', 'addr', 'show');
  return parseLinks((await execOf(t)({ argv })).stdout);
}

/**
 * Only the named links (those that do not exist are left out), with one `ip -force -batch` of
 * `link show dev NAME` lines: each is a direct lookup, not a dump, so on a namespace with
 * thousands of links this costs a few ms where listLinks costs tens. No addresses (link show).
 */
export async function listNamedLinks(names: Iterable<string>, t?: Target): Promise<Link[]> {
  const unique = [...new Set(names)].map(assertIfName);
  if (unique.length === 0) return [];
  const argv = ['ip'];
  if (t?.netns) argv.push('-n', t.netns);
  argv.push('-json', '-details', '-force', '-batch', '-');
  const r = await execOf(t)({ argv, input: unique.map((n) => `link show dev ${n}\n`).join(''), okCodes: [0, 1] });
  if (r.code !== 0) {
    // Missing devices are expected; anything else (no such namespace, …) is a real failure.
    const other = r.stderr.split('\n').filter((l) => l.trim() && !/^Device ".*" does not exist\.$/.test(l) && !/^Command failed -:\d+$/.test(l));
    if (other.length) throw new Error(`ip link show (batch of ${unique.length}) failed: ${other.join('; ')}`);
  }
  return r.stdout
    .split('\n')
    .filter((l) => l.trim())
    .flatMap((l) => parseLinks(l));
}

// ---- desired state and the pure diff --------------------------------------------------------

interface DesiredCommon {
  name: string;
  mtu?: number;
  address?: string;
  /** Bridge to enslave to; null = not enslaved; undefined = leave as it is. */
  master?: string | null;
  /** Admin state; undefined = leave as it is. */
  up?: boolean;
  /** The exact set of interface addresses ("addr/len"); undefined = leave addresses alone. */
  addresses?: string[];
}

export type DesiredLink = DesiredCommon &
  (
    | { kind: 'bridge' }
    | ({ kind: 'vxlan' } & Omit<VxlanAttrs, 'mtu' | 'address'>)
    | { kind: 'vlan'; parent: string; vlanId: number }
    /** The peer is created with it (optionally in another namespace) and is not diffed here. */
    | { kind: 'veth'; peer: string; peerNetns?: string }
    /** Made by someone else (a VM's tap, a physical NIC, a veth end moved here): attributes only, never created or deleted. */
    | { kind: 'external' }
  );

export type LinkOp =
  | { op: 'delete'; name: string; why: string }
  | { op: 'create'; link: DesiredLink }
  | { op: 'mtu'; name: string; mtu: number }
  | { op: 'address'; name: string; address: string }
  | { op: 'master'; name: string; master: string | null }
  | { op: 'addr-del'; name: string; cidr: string }
  | { op: 'addr-add'; name: string; cidr: string }
  | { op: 'up'; name: string; up: boolean };

export interface DiffLinksOptions {
  /**
   * Links not in `desired` that are ours and must go (e.g. name starts with 'brq'/'vxlan-').
   * Without it nothing undesired is ever deleted: other software's devices are not ours to touch.
   */
  owned?: (l: Link) => boolean;
}

/** Kinds ordered so that what a link refers to (bridge, veth underlay) is created before it. */
const CREATE_RANK: Record<DesiredLink['kind'], number> = { bridge: 0, veth: 1, external: 2, vxlan: 3, vlan: 4 };

/**
 * Why an existing link cannot be turned into the desired one in place (wrong kind, or an
 * attribute the kernel fixes at creation: VNI, local IP, underlay, port, VLAN id); null if it can.
 */
export function recreateReason(d: DesiredLink, a: Link): string | null {
  if (d.kind === 'external') return null;
  if (a.kind !== d.kind) return `kind ${a.kind ?? 'none'} != ${d.kind}`;
  if (d.kind === 'vxlan') {
    const x = a.vxlan!;
    if (x.vni !== d.vni) return `vni ${x.vni} != ${d.vni}`;
    if (d.local !== undefined && x.local !== canonicalIp(d.local)) return `local ${x.local} != ${d.local}`;
    if (d.dev !== undefined && x.dev !== d.dev) return `dev ${x.dev} != ${d.dev}`;
    if (x.dstport !== (d.dstport ?? 4789)) return `dstport ${x.dstport} != ${d.dstport ?? 4789}`;
    if (x.learning !== (d.learning ?? false)) return `learning ${x.learning}`;
    if (x.proxy !== (d.proxy ?? false)) return `proxy ${x.proxy}`;
  }
  if (d.kind === 'vlan') {
    if (a.vlan!.id !== d.vlanId) return `vlan id ${a.vlan!.id} != ${d.vlanId}`;
    if (a.parent !== d.parent) return `parent ${a.parent} != ${d.parent}`;
  }
  return null;
}

/**
 * desired + actual → the operations that make actual equal desired, in an order that works as
 * one batch: deletions, creations (dependencies first), attributes, addresses, then links up.
 * Returns [] when nothing differs: that is what makes a no-op resync issue no write.
 */
export function diffLinks(desired: readonly DesiredLink[], actual: readonly Link[], opts: DiffLinksOptions = {}): LinkOp[] {
  const byName = new Map(actual.map((l) => [l.name, l]));
  const wanted = new Set(desired.map((d) => d.name));
  if (wanted.size !== desired.length) throw new Error('desired links contain a duplicate name');
  const dels: LinkOp[] = [];
  const creates: Array<{ op: 'create'; link: DesiredLink }> = [];
  const attrs: LinkOp[] = [];
  const masters: LinkOp[] = [];
  const addrs: LinkOp[] = [];
  const ups: LinkOp[] = [];

  for (const a of actual) {
    if (!wanted.has(a.name) && opts.owned?.(a)) dels.push({ op: 'delete', name: a.name, why: 'not desired' });
  }
  // The peer of a veth created here in this namespace appears with it: an 'external' desired
  // link of that name gets its attributes in the same batch instead of on the next pass.
  const bornAsPeer = new Set<string>();
  for (const d of desired) {
    if (d.kind === 'veth' && d.peerNetns === undefined && (!byName.has(d.name) || recreateReason(d, byName.get(d.name)!))) bornAsPeer.add(d.peer);
  }
  for (const d of desired) {
    assertIfName(d.name);
    let a = byName.get(d.name);
    if (a) {
      const why = recreateReason(d, a);
      if (why) {
        dels.push({ op: 'delete', name: d.name, why });
        a = undefined;
      }
    }
    if (!a) {
      if (d.kind === 'external' && !bornAsPeer.has(d.name)) continue; // not ours to create: absent until its owner makes it
      if (d.kind === 'external') {
        if (d.mtu !== undefined) attrs.push({ op: 'mtu', name: d.name, mtu: d.mtu });
        if (d.address !== undefined) attrs.push({ op: 'address', name: d.name, address: normalizeMac(d.address) });
      } else {
        creates.push({ op: 'create', link: d });
      }
      // A create line sets mtu and address itself; the rest follows as for an existing link.
      if (d.master != null) masters.push({ op: 'master', name: d.name, master: d.master });
      for (const c of d.addresses ?? []) addrs.push({ op: 'addr-add', name: d.name, cidr: canonicalIfAddr(c) });
      if (d.up) ups.push({ op: 'up', name: d.name, up: true });
      continue;
    }
    if (d.mtu !== undefined && a.mtu !== d.mtu) attrs.push({ op: 'mtu', name: d.name, mtu: d.mtu });
    if (d.address !== undefined && a.address !== normalizeMac(d.address))
      attrs.push({ op: 'address', name: d.name, address: normalizeMac(d.address) });
    if (d.master !== undefined && a.master !== d.master) masters.push({ op: 'master', name: d.name, master: d.master });
    if (d.addresses !== undefined) {
      const want = new Set(d.addresses.map(canonicalIfAddr));
      const have = new Set(a.addresses);
      // Deletions first: removing a primary IPv4 address also removes its secondaries (unless
      // net.ipv4.conf.*.promote_secondaries), so deleting after adding could undo an add.
      for (const c of a.addresses) if (!want.has(c)) addrs.unshift({ op: 'addr-del', name: d.name, cidr: c });
      for (const c of want) if (!have.has(c)) addrs.push({ op: 'addr-add', name: d.name, cidr: c });
    }
    if (d.up !== undefined && a.up !== d.up) ups.push({ op: 'up', name: d.name, up: d.up });
  }
  creates.sort((x, y) => CREATE_RANK[x.link.kind] - CREATE_RANK[y.link.kind]);
  return [...dels, ...creates, ...attrs, ...masters, ...addrs, ...ups];
}

/** Renders operations as batch lines (pure; apply with batch.apply(target)). */
export function linkOpsToBatch(ops: readonly LinkOp[], batch = new IpBatch()): IpBatch {
  for (const o of ops) {
    switch (o.op) {
      case 'delete':
        batch.deleteLink(o.name);
        break;
      case 'create': {
        const d = o.link;
        const attrs = { ...(d.mtu !== undefined ? { mtu: d.mtu } : {}), ...(d.address !== undefined ? { address: d.address } : {}) };
        if (d.kind === 'bridge') batch.addBridge(d.name, attrs);
        else if (d.kind === 'veth') batch.addVeth(d.name, d.peer, { ...attrs, ...(d.peerNetns !== undefined ? { peerNetns: d.peerNetns } : {}) });
        else if (d.kind === 'vxlan') batch.addVxlan(d.name, { ...d, ...attrs });
        else if (d.kind === 'vlan') batch.addVlan(d.name, d.parent, d.vlanId, attrs);
        else throw new Error(`cannot create external link ${d.name}`);
        break;
      }
      case 'mtu':
        batch.setMtu(o.name, o.mtu);
        break;
      case 'address':
        batch.setAddress(o.name, o.address);
        break;
      case 'master':
        batch.setMaster(o.name, o.master);
        break;
      case 'addr-del':
        batch.delAddr(o.name, o.cidr);
        break;
      case 'addr-add':
        batch.addAddr(o.name, o.cidr);
        break;
      case 'up':
        batch.setUp(o.name, o.up);
        break;
    }
  }
  return batch;
}

/**
 * One reconcile pass for links in one namespace: one read, then zero or one batch write.
 * Returns the operations applied (empty when the kernel already matched).
 */
export async function reconcileLinks(desired: readonly DesiredLink[], t?: Target, opts: DiffLinksOptions = {}): Promise<LinkOp[]> {
  const ops = diffLinks(desired, await listLinks(t), opts);
  await linkOpsToBatch(ops).apply(t);
  return ops;
}

// ---- single changes, for callers that do not reconcile ---------------------------------------

export async function createBridge(name: string, t?: Target, a: { mtu?: number; up?: boolean } = {}): Promise<void> {
  const b = new IpBatch().addBridge(name, a.mtu !== undefined ? { mtu: a.mtu } : {});
  if (a.up) b.setUp(name, true);
  await b.apply(t);
}

export async function createVeth(name: string, peer: string, t?: Target, a: { peerNetns?: string; mtu?: number } = {}): Promise<void> {
  await new IpBatch().addVeth(name, peer, a).apply(t);
}

export async function createVxlan(name: string, a: VxlanAttrs, t?: Target): Promise<void> {
  await new IpBatch().addVxlan(name, a).apply(t);
}

export async function createVlan(name: string, parent: string, vlanId: number, t?: Target): Promise<void> {
  await new IpBatch().addVlan(name, parent, vlanId).apply(t);
}

export async function deleteLink(name: string, t?: Target): Promise<void> {
  await new IpBatch().deleteLink(name).apply(t);
}

export async function setLink(
  name: string,
  s: { master?: string | null; up?: boolean; mtu?: number; address?: string; netns?: string },
  t?: Target,
): Promise<void> {
  const b = new IpBatch();
  if (s.mtu !== undefined) b.setMtu(name, s.mtu);
  if (s.address !== undefined) b.setAddress(name, s.address);
  if (s.master !== undefined) b.setMaster(name, s.master);
  if (s.up !== undefined) b.setUp(name, s.up);
  if (s.netns !== undefined) b.setNetns(name, s.netns);
  await b.apply(t);
}

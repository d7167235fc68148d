// VXLAN forwarding entries ("self" entries of a vxlan device): the all-zeros entry with one remote
// per peer host is the flood list for broadcast/unknown traffic; a unicast MAC with one remote
// pins a port's MAC to the host it lives on (l2population). Read with `bridge -json fdb show`,
// diffed purely, applied as one `bridge -batch -`.
import { execOf, type Target } from './exec.js';
import { BridgeBatch } from './batch.js';
import { canonicalIp, isFloodMac, normalizeMac } from './values.js';

export interface FdbEntry {
  mac: string;
  dev: string;
  /** Remote tunnel endpoint; absent for entries that are not tunnel entries. */
  dst?: string;
}

export interface FdbRow extends FdbEntry {
  /** 'self': the device's own table (what we manage); 'master': the bridge's table. */
  table: 'self' | 'master';
  /** 'permanent', 'static', '' (learned), … as `bridge` prints it. */
  state: string;
  vlan?: number;
}

interface RawFdb {
  mac: string;
  ifname?: string;
  dst?: string;
  vlan?: number;
  flags?: string[];
  master?: string;
  state?: string;
}

/** `dev` fills in the device name, which bridge leaves out when the listing was filtered by device. */
export function parseFdb(json: string, dev?: string): FdbRow[] {
  if (json.trim() === '') return [];
  return (JSON.parse(json) as RawFdb[]).map((r) => {
    const row: FdbRow = {
      mac: r.mac.toLowerCase(),
      dev: r.ifname ?? dev ?? '',
      table: r.master !== undefined || !(r.flags ?? []).includes('self') ? 'master' : 'self',
      state: r.state ?? '',
    };
    if (r.dst !== undefined) row.dst = canonicalIp(r.dst);
    if (r.vlan !== undefined) row.vlan = r.vlan;
    return row;
  });
}

/** All FDB rows of one device (both its own and its bridge's). */
export async function listFdb(dev: string, t?: Target): Promise<FdbRow[]> {
  const argv = ['bridge'];
  if (t?.netns) argv.push('-n', t.netns);
  argv.push('-json', 'fdb', 'show', 'dev', dev);
  return parseFdb((await execOf(t)({ argv })).stdout, dev);
}

/** Every FDB row of the namespace (each row names its device). */
export async function listAllFdb(t?: Target): Promise<FdbRow[]> {
  const argv = ['bridge'];
  if (t?.netns) argv.push('-n', t.netns);
  argv.push('-json', 'fdb', 'show');
  return parseFdb((await execOf(t)({ argv })).stdout);
}

/** The entries we manage among rows: the device's own permanent tunnel entries. */
export function managedFdb(rows: readonly FdbRow[]): FdbEntry[] {
  return rows
    .filter((r) => r.table === 'self' && r.state === 'permanent' && r.dst !== undefined)
    .map((r) => ({ mac: r.mac, dev: r.dev, dst: r.dst! }));
}

export type FdbOp =
  | { op: 'append'; mac: string; dev: string; dst: string }
  | { op: 'replace'; mac: string; dev: string; dst: string }
  /** Without dst: the whole entry with all its remotes. */
  | { op: 'del'; mac: string; dev: string; dst?: string };

function norm(e: FdbEntry): Required<FdbEntry> {
  if (e.dst === undefined) throw new Error(`FDB entry ${e.mac} dev ${e.dev} needs a dst`);
  return { mac: normalizeMac(e.mac), dev: e.dev, dst: canonicalIp(e.dst) };
}

/** dev|mac → set of remotes. */
function group(entries: ReadonlyArray<Required<FdbEntry>>): Map<string, { mac: string; dev: string; dsts: Set<string> }> {
  const m = new Map<string, { mac: string; dev: string; dsts: Set<string> }>();
  for (const e of entries) {
    const k = `${e.dev}|${e.mac}`;
    let g = m.get(k);
    if (!g) m.set(k, (g = { mac: e.mac, dev: e.dev, dsts: new Set() }));
    g.dsts.add(e.dst);
  }
  return m;
}

/**
 * desired + actual tunnel entries → operations (pure).
 * Flood MACs (all-zeros, multicast) hold a list of remotes: append the missing ones, delete the
 * extra ones, additions first so the flood list never passes through empty.
 * A unicast MAC has one remote: a new or moved MAC is a single `replace` (`append` is silently
 * ignored by the kernel for an existing unicast entry, and del+add would leave a gap).
 */
export function diffFdb(desired: readonly FdbEntry[], actual: readonly FdbEntry[]): FdbOp[] {
  const want = group(desired.map(norm));
  const have = group(actual.map(norm));
  const adds: FdbOp[] = [];
  const dels: FdbOp[] = [];
  for (const [k, w] of want) {
    const h = have.get(k)?.dsts ?? new Set<string>();
    if (isFloodMac(w.mac)) {
      for (const dst of w.dsts) if (!h.has(dst)) adds.push({ op: 'append', mac: w.mac, dev: w.dev, dst });
      for (const dst of h) if (!w.dsts.has(dst)) dels.push({ op: 'del', mac: w.mac, dev: w.dev, dst });
      continue;
    }
    if (w.dsts.size > 1) throw new Error(`unicast MAC ${w.mac} on ${w.dev} desired at ${w.dsts.size} remotes`);
    const dst = [...w.dsts][0]!;
    if (h.size === 1 && h.has(dst)) continue;
    // Several remotes on a unicast MAC is not a state we make; clear it before replacing.
    if (h.size > 1) adds.push({ op: 'del', mac: w.mac, dev: w.dev });
    adds.push({ op: 'replace', mac: w.mac, dev: w.dev, dst });
  }
  for (const [k, h] of have) {
    if (want.has(k)) continue;
    dels.push({ op: 'del', mac: h.mac, dev: h.dev });
  }
  return [...adds, ...dels];
}

export function fdbOpsToBatch(ops: readonly FdbOp[], batch = new BridgeBatch()): BridgeBatch {
  for (const o of ops) {
    if (o.op === 'append') batch.fdbAppend(o.mac, o.dev, o.dst);
    else if (o.op === 'replace') batch.fdbReplace(o.mac, o.dev, o.dst);
    else batch.fdbDel(o.mac, o.dev, o.dst);
  }
  return batch;
}

/**
 * One pass over the tunnel entries of `devs`: one read, then zero or one batch. Entries of
 * devices outside `devs` are not touched. `bridge fdb show dev D` costs about as much as a dump
 * of the whole table (on a host with 1,000 taps, ~3,000 rows either way), so several devices
 * are read with one dump rather than one command each.
 */
export async function reconcileFdb(devs: readonly string[], desired: readonly FdbEntry[], t?: Target): Promise<FdbOp[]> {
  const scope = new Set(devs);
  for (const d of desired) if (!scope.has(d.dev)) throw new Error(`FDB entry for ${d.dev}, which is not among the devices reconciled`);
  if (scope.size === 0) return [];
  const rows = scope.size === 1 ? await listFdb(devs[0]!, t) : (await listAllFdb(t)).filter((r) => scope.has(r.dev));
  const actual = managedFdb(rows);
  const ops = diffFdb(desired, actual);
  await fdbOpsToBatch(ops).apply(t);
  return ops;
}

// Permanent neighbour (ARP/NDP) entries on a VXLAN device created with `proxy`: the device then
// answers ARP requests for remote ports itself from these entries instead of flooding them to
// every host (Neutron's l2population ARP responder). Only PERMANENT entries are ours; the
// kernel's own learned entries (REACHABLE, STALE, …) are never touched.
import { execOf, type Target } from './exec.js';
import { IpBatch } from './batch.js';
import { canonicalIp, normalizeMac } from './values.js';

export interface NeighEntry {
  ip: string;
  mac: string;
  dev: string;
}

export interface NeighRow extends NeighEntry {
  state: string[];
}

interface RawNeigh {
  dst: string;
  dev?: string;
  lladdr?: string;
  state?: string[];
}

/** `dev` fills in the device name, which ip leaves out when the listing was filtered by device. */
export function parseNeigh(json: string, dev?: string): NeighRow[] {
  if (json.trim() === '') return [];
  return (JSON.parse(json) as RawNeigh[])
    .filter((r) => r.lladdr !== undefined)
    .map((r) => ({ ip: canonicalIp(r.dst), mac: r.lladdr!.toLowerCase(), dev: r.dev ?? dev ?? '', state: r.state ?? [] }));
}

/** Permanent entries of one device, or of every device with null (IPv4 and IPv6). */
export async function listPermanentNeigh(dev: string | null, t?: Target): Promise<NeighEntry[]> {
  const argv = ['ip'];
  if (t?.netns) argv.push('-n', t.netns);
  argv.push('-json', 'neigh', 'show', ...(dev === null ? [] : ['dev', dev]), 'nud', 'permanent');
  return parseNeigh((await execOf(t)({ argv })).stdout, dev ?? undefined)
    .filter((r) => r.state.includes('PERMANENT'))
    .map(({ ip, mac, dev: d }) => ({ ip, mac, dev: d }));
}

export type NeighOp = { op: 'replace'; ip: string; mac: string; dev: string } | { op: 'del'; ip: string; dev: string };

/** desired + actual → replace (missing or wrong MAC) and del (not desired); pure. */
export function diffNeigh(desired: readonly NeighEntry[], actual: readonly NeighEntry[]): NeighOp[] {
  const have = new Map(actual.map((a) => [`${a.dev}|${canonicalIp(a.ip)}`, normalizeMac(a.mac)]));
  const want = new Map<string, NeighEntry>();
  for (const d of desired) {
    const e = { ip: canonicalIp(d.ip), mac: normalizeMac(d.mac), dev: d.dev };
    const k = `${e.dev}|${e.ip}`;
    if (want.has(k) && want.get(k)!.mac !== e.mac) throw new Error(`${e.ip} on ${e.dev} desired with two MACs`);
    want.set(k, e);
  }
  const ops: NeighOp[] = [];
  for (const [k, e] of want) if (have.get(k) !== e.mac) ops.push({ op: 'replace', ...e });
  for (const a of actual) {
    const k = `${a.dev}|${canonicalIp(a.ip)}`;
    if (!want.has(k)) ops.push({ op: 'del', ip: canonicalIp(a.ip), dev: a.dev });
  }
  return ops;
}

export function neighOpsToBatch(ops: readonly NeighOp[], batch = new IpBatch()): IpBatch {
  for (const o of ops) {
    if (o.op === 'replace') batch.neighReplace(o.ip, o.mac, o.dev);
    else batch.neighDel(o.ip, o.dev);
  }
  return batch;
}

/** One pass over the permanent entries of `devs`: one read (one device, or all), zero or one batch. */
export async function reconcileNeigh(devs: readonly string[], desired: readonly NeighEntry[], t?: Target): Promise<NeighOp[]> {
  const scope = new Set(devs);
  for (const d of desired) if (!scope.has(d.dev)) throw new Error(`neighbour entry for ${d.dev}, which is not among the devices reconciled`);
  if (scope.size === 0) return [];
  const actual = scope.size === 1 ? await listPermanentNeigh(devs[0]!, t) : (await listPermanentNeigh(null, t)).filter((e) => scope.has(e.dev));
  const ops = diffNeigh(desired, actual);
  await neighOpsToBatch(ops).apply(t);
  return ops;
}

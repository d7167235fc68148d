// Routes of one namespace that we own: those with `proto static` (routes the kernel derives from
// addresses are `proto kernel` and never touched). Read with one `ip -json route show proto
// static`, diffed (pure) against the desired list, and applied as one `ip -batch -`.
import { execOf, type Target } from './exec.js';
import { IpBatch } from './batch.js';
import { canonicalIp, ipFamily } from './values.js';

export interface Route {
  /** 'default' or a prefix ('10.0.0.0/24'). */
  dst: string;
  /** Next hop; absent for a route through the device alone. */
  via?: string;
  /** Out device; absent: the kernel finds it from the next hop. */
  dev?: string;
  /** A multipath (ECMP) route: its next hops, in place of via/dev. */
  nexthops?: Array<{ via: string; dev?: string }>;
}

export type RouteOp = { op: 'replace'; route: Route } | { op: 'delete'; route: Route };

interface RawRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  nexthops?: Array<{ gateway?: string; dev?: string }>;
}

/** The canonical destination: 'default', or the prefix with /32 (/128) written out. */
export function canonicalDst(dst: string): string {
  if (dst === 'default' || dst === '0.0.0.0/0') return 'default';
  const [ip, len] = dst.split('/');
  const c = canonicalIp(ip!);
  return `${c}/${len ?? (ipFamily(c) === 4 ? 32 : 128)}`;
}

export function parseRoutes(json: string): Route[] {
  if (json.trim() === '') return [];
  return (JSON.parse(json) as RawRoute[]).map((r) => ({
    dst: canonicalDst(r.dst),
    ...(r.gateway ? { via: canonicalIp(r.gateway) } : {}),
    ...(r.dev ? { dev: r.dev } : {}),
    ...(r.nexthops ? { nexthops: r.nexthops.map((h) => ({ via: canonicalIp(h.gateway ?? ''), ...(h.dev ? { dev: h.dev } : {}) })) } : {}),
  }));
}

/** The static IPv4 routes of the target's main table. One read. */
export async function listStaticRoutes(t?: Target): Promise<Route[]> {
  const argv = ['ip'];
  if (t?.netns) argv.push('-n', t.netns);
  argv.push('-json', '-4', 'route', 'show', 'proto', 'static');
  return parseRoutes((await execOf(t)({ argv })).stdout);
}

const hopsKey = (r: Route) =>
  (r.nexthops ?? [])
    .map((h) => `${canonicalIp(h.via)} ${h.dev ?? ''}`)
    .sort()
    .join(',');
const same = (a: Route, b: Route) =>
  a.dst === b.dst && (a.via ?? '') === (b.via ?? '') && (b.dev === undefined || a.dev === b.dev) && hopsKey(a) === hopsKey(b);

/** desired + actual (static routes) → replace the missing or different ones, delete the rest; [] when equal. */
export function diffRoutes(desired: readonly Route[], actual: readonly Route[]): RouteOp[] {
  const want = desired.map((r) => ({ ...r, dst: canonicalDst(r.dst), ...(r.via ? { via: canonicalIp(r.via) } : {}) }));
  const ops: RouteOp[] = [];
  for (const a of actual) if (!want.some((d) => d.dst === a.dst)) ops.push({ op: 'delete', route: a });
  for (const d of want) {
    const a = actual.find((x) => x.dst === d.dst);
    if (!a || !same(a, d)) ops.push({ op: 'replace', route: d });
  }
  return ops;
}

export function routeOpsToBatch(ops: readonly RouteOp[], batch = new IpBatch()): IpBatch {
  for (const o of ops) {
    const w: string[] = [o.route.dst];
    if (o.route.nexthops?.length) {
      // ip takes every word after the first `nexthop` as next hops: the protocol goes before.
      const hops = o.route.nexthops.flatMap((h) => ['nexthop', 'via', h.via, ...(h.dev ? ['dev', h.dev] : [])]);
      if (o.op === 'delete') batch.line('route', 'del', ...w);
      else batch.line('route', 'replace', ...w, 'proto', 'static', ...hops);
      continue;
    }
    if (o.route.via) w.push('via', o.route.via);
    if (o.route.dev) w.push('dev', o.route.dev);
    if (o.op === 'delete') batch.line('route', 'del', ...w);
    else batch.line('route', 'replace', ...w, 'proto', 'static');
  }
  return batch;
}

/** One pass: one read, then zero or one batch. Returns what was applied. */
export async function reconcileRoutes(desired: readonly Route[], t?: Target): Promise<RouteOp[]> {
  const ops = diffRoutes(desired, await listStaticRoutes(t));
  await routeOpsToBatch(ops).apply(t);
  return ops;
}

// A full sync's reads of every router namespace in one process (readInNamespaces): what each
// router's pass would otherwise read with a process per kind (ip_forward, links and addresses,
// static routes, the NAT table, the NDP proxy table), five per router, which made a restart of
// an agent with 200 routers spend most of its time spawning. Each pass takes its namespace's
// reads once; what is missing or failed is read the ordinary way by the pass.
import {
  nftTableOfRuleset,
  parseLinks,
  parseRoutes,
  readInNamespaces,
  type ActualTable,
  type Exec,
  type Link,
  type NsCommandResult,
  type Route,
} from '../../dataplane/index.js';
import { NAT_TABLE } from './model.js';
import { NDP_TABLE } from './ndp-proxy.js';

const READS = {
  ipForward: ['sysctl', '-n', 'net.ipv4.ip_forward'],
  links: ['ip', '-json', '-details', 'addr', 'show'],
  routes: ['ip', '-json', '-4', 'route', 'show', 'proto', 'static'],
  ruleset: ['nft', '-j', 'list', 'ruleset'],
} as const;

/** A router namespace's reads; a field is undefined when it must be read the ordinary way. */
export interface RouterReads {
  ipForward?: string;
  links?: Link[];
  routes?: Route[];
  /** The NAT table (null: none). */
  nat?: ActualTable | null;
  /** The NDP proxy table (null: none). */
  ndp?: ActualTable | null;
}

/** Decodes one namespace's results (pure); a command that failed or printed nonsense gives nothing. */
export function routerReadsOf(r: ReadonlyMap<string, NsCommandResult> | undefined): RouterReads {
  const out: RouterReads = {};
  if (!r) return out;
  const ok = (k: keyof typeof READS) => {
    const x = r.get(k);
    return x && x.code === 0 ? x.stdout : undefined;
  };
  const parse = <T>(k: keyof typeof READS, f: (s: string) => T): T | undefined => {
    const s = ok(k);
    if (s === undefined) return undefined;
    try {
      return f(s);
    } catch {
      return undefined;
    }
  };
  const fwd = ok('ipForward');
  if (fwd !== undefined) out.ipForward = fwd.trim();
  const links = parse('links', parseLinks);
  if (links) out.links = links;
  const routes = parse('routes', parseRoutes);
  if (routes) out.routes = routes;
  const nat = parse('ruleset', (s) => nftTableOfRuleset(s, 'ip', NAT_TABLE));
  if (nat !== undefined) out.nat = nat;
  const ndp = parse('ruleset', (s) => nftTableOfRuleset(s, 'ip6', NDP_TABLE));
  if (ndp !== undefined) out.ndp = ndp;
  return out;
}

/** Every namespace's reads, by namespace; empty when the batch itself failed (the passes read). */
export async function prefetchRouterReads(namespaces: readonly string[], exec?: Exec): Promise<Map<string, RouterReads>> {
  try {
    const raw = await readInNamespaces(namespaces, READS, exec);
    return new Map(namespaces.map((ns) => [ns, routerReadsOf(raw.get(ns))]));
  } catch {
    return new Map();
  }
}

// NDP proxies (l3-ndp-proxy) in a router's namespace, as Neutron's L3 agent extension does them
// for a legacy router: with enable_ndp_proxy the gateway device answers neighbour solicitations
// for each proxied address (proxy_ndp on it, `ip -6 neigh add proxy ADDR dev qg-…`), and IPv6
// arriving on the gateway for the router's internal subnets in the gateway's address scope is
// forwarded only to proxied addresses (Neutron's NDP proxy chain: accept those, drop the rest;
// here an `ip6` nftables table of its own). Without enable_ndp_proxy none of it exists.
// Reads first, writes the difference: a pass over an unchanged kernel writes nothing.
import {
  applyNftPlans,
  deleteNftTable,
  planTable,
  readNftTable,
  runInNetns,
  type ActualTable,
  type Exec,
  type NftTable,
} from '../../dataplane/index.js';
import { gatewayDevOf, type SyncPort, type SyncRouter } from './model.js';

export const NDP_TABLE = 'neutrino_ndp';
const NDP_CHAIN = 'ndp_proxy';

/** What the server adds to a router's sync data for this (plugins/ndp-proxy). */
export interface NdpSync {
  enable_ndp_proxy?: boolean;
  _ndp_proxies?: Array<{ ip_address: string }>;
}

type ScopedPort = SyncPort & { address_scopes?: Record<string, string | null> };

export interface NdpPlan {
  gwDev: string;
  /** Proxied addresses, sorted. */
  proxies: string[];
  table: NftTable;
}

const isV6 = (cidr: string) => cidr.includes(':');

/** The router's NDP proxy state (pure); null when it serves none (no gateway or disabled). */
export function planNdp(r: SyncRouter & NdpSync): NdpPlan | null {
  const gw = r.gw_port as ScopedPort | undefined;
  if (!gw || !r.enable_ndp_proxy) return null;
  const gwDev = gatewayDevOf(gw.id);
  const scope = gw.address_scopes?.['6'] ?? null;
  // _init_ndp_proxy_rule: internal IPv6 subnets whose port shares the gateway's IPv6 scope.
  const cidrs = new Set<string>();
  for (const p of (r._interfaces ?? []) as ScopedPort[]) {
    if ((p.address_scopes?.['6'] ?? null) !== scope) continue;
    for (const s of p.subnets ?? []) if (isV6(s.cidr)) cidrs.add(s.cidr);
  }
  const proxies = [...new Set((r._ndp_proxies ?? []).map((p) => p.ip_address))].sort();
  const table: NftTable = {
    family: 'ip6',
    name: NDP_TABLE,
    chains: [
      {
        name: 'forward',
        base: { type: 'filter', hook: 'forward', priority: 0, policy: 'accept' },
        rules: [...cidrs].sort().map((c) => `iifname "${gwDev}" ip6 daddr ${c} jump ${NDP_CHAIN}`),
      },
      { name: NDP_CHAIN, rules: [...proxies.map((ip) => `ip6 daddr ${ip} accept`), `iifname "${gwDev}" drop`] },
    ],
  };
  return { gwDev, proxies, table };
}

interface NeighJson {
  dst: string;
}

/** The proxy entries on `dev` in `ns`. */
async function proxiesOn(ns: string, dev: string, exec?: Exec): Promise<string[]> {
  const r = await runInNetns(ns, { argv: ['ip', '-j', '-6', 'neigh', 'show', 'proxy', 'dev', dev], okCodes: [0, 1] }, exec);
  if (r.code !== 0 || !r.stdout.trim()) return [];
  return (JSON.parse(r.stdout) as NeighJson[]).map((n) => n.dst);
}

export class NdpProxies {
  /** Per router: the plan this process last applied (null: none), to skip rereads. */
  private readonly applied = new Map<string, NdpPlan | null>();

  constructor(private readonly exec?: Exec) {}

  /**
   * Brings the router's namespace to its NDP proxy state; returns the writes made. `table`: the
   * NDP table as a full sync already read it (null: none), undefined: read it here.
   */
  async apply(r: SyncRouter, ns: string, trusted: boolean, table?: ActualTable | null): Promise<number> {
    const plan = planNdp(r as SyncRouter & NdpSync);
    const last = this.applied.get(r.id);
    if (trusted && last !== undefined && JSON.stringify(last) === JSON.stringify(plan)) return 0;
    let changes = 0;
    const target = { netns: ns, ...(this.exec ? { exec: this.exec } : {}) };
    if (!plan) {
      if (table !== null && (await deleteNftTable('ip6', NDP_TABLE, target))) changes++;
      // Proxy entries this agent made live on the gateway device of the last plan.
      if (last) for (const ip of await proxiesOn(ns, last.gwDev, this.exec)) changes += await this.neigh(ns, 'del', ip, last.gwDev);
      this.applied.set(r.id, null);
      return changes;
    }
    const key = `net.ipv6.conf.${plan.gwDev}.proxy_ndp`;
    const now = await runInNetns(ns, { argv: ['sysctl', '-n', key] }, this.exec);
    if (now.stdout.trim() !== '1') {
      await runInNetns(ns, { argv: ['sysctl', '-qw', `${key}=1`], write: true }, this.exec);
      changes++;
    }
    const have = new Set(await proxiesOn(ns, plan.gwDev, this.exec));
    const want = new Set(plan.proxies);
    for (const ip of want) if (!have.has(ip)) changes += await this.neigh(ns, 'add', ip, plan.gwDev);
    for (const ip of have) if (!want.has(ip)) changes += await this.neigh(ns, 'del', ip, plan.gwDev);
    const nft = planTable(plan.table, table !== undefined ? table : await readNftTable('ip6', NDP_TABLE, target));
    await applyNftPlans([nft], target);
    if (nft.kind !== 'none') changes++;
    this.applied.set(r.id, plan);
    return changes;
  }

  private async neigh(ns: string, op: 'add' | 'del', ip: string, dev: string): Promise<number> {
    await runInNetns(ns, { argv: ['ip', '-6', 'neigh', op, 'proxy', ip, 'dev', dev], write: true }, this.exec);
    return 1;
  }

  /** The router went (its namespace with it) or its pass failed: look again next time. */
  forget(routerId: string): void {
    this.applied.delete(routerId);
  }
}

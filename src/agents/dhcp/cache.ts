// Pure: what the DHCP agent knows of its networks (Neutron's NetworkCache): what the server last
// said of each (get_network_info, the full sync's list), with the ports of the server's casts
// applied on top, so that a port created, updated or deleted changes the cache without fetching
// every port of its network again.
//   - A port replaces the cached one of its id unless that one is newer (revision_number).
//   - A deleted port's id is remembered for DELETED_MAX_AGE_MS: a create or update of it that
//     arrives late is dropped (it would put the port back in dnsmasq for good).
//   - A port with an address another cached port holds means the cache missed something
//     (Neutron's duplicate IP check): 'conflict', the caller fetches the network.
//   - Fetches are numbered in the order they were asked for. An answer older than what the cache
//     holds is dropped. A change heard while a fetch is in flight is kept until it is answered
//     and applied again on the answer, which may have been read before that change committed.
import type { NetworkInfo, PortInfo } from './render.js';

export type PortChange = { port: PortInfo } | { deleted: string };

/** applied: the cache changed; unchanged: stale or already so; pending: a fetch in flight will bring the network; unknown: no fetch will; conflict: out of sync, fetch it. */
export type ApplyOutcome = 'applied' | 'unchanged' | 'pending' | 'unknown' | 'conflict';

/** How long a deleted port's late create/update is dropped (Neutron keeps them a day; a fetch repairs anything older). */
export const DELETED_MAX_AGE_MS = 3_600_000;

interface Entry {
  /** null: the server says the network is gone (or not this agent's). */
  base: Omit<NetworkInfo, 'ports'> | null;
  ports: Map<string, PortInfo>;
  /** The same ports sorted by id, as dnsmasq's files list them: a pass's sort then has nothing to do. */
  sorted: PortInfo[];
  /** Address → id of the port holding it. */
  byIp: Map<string, string>;
  /** Number of the fetch the base came from. */
  seq: number;
  /** The NetworkInfo last handed out, until a change. */
  view: NetworkInfo | null;
}

const revision = (p: PortInfo) => (typeof p.revision_number === 'number' ? p.revision_number : 0);

export class NetworkCache {
  private seq = 0;
  private readonly nets = new Map<string, Entry>();
  /** Fetches asked and not yet over: number → the network fetched (null: every one, the full sync). */
  private readonly inFlight = new Map<number, string | null>();
  /** Changes heard while a fetch was in flight, to apply again on its answer. */
  private journal: Array<{ seq: number; networkId: string; change: PortChange }> = [];
  /** Ids of deleted ports → when. */
  private readonly deleted = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  /** A fetch of one network (or of all: null) starts; its number, to give put() and endFetch(). */
  beginFetch(networkId: string | null): number {
    const seq = ++this.seq;
    this.inFlight.set(seq, networkId);
    return seq;
  }

  /** The fetch is over, answered or not: the changes only it needed are let go. */
  endFetch(seq: number): void {
    this.inFlight.delete(seq);
    const oldest = Math.min(...this.inFlight.keys());
    this.journal = this.inFlight.size ? this.journal.filter((j) => j.seq > oldest) : [];
  }

  /** Whether a fetch in flight brings the network. */
  fetching(networkId: string): boolean {
    for (const n of this.inFlight.values()) if (n === null || n === networkId) return true;
    return false;
  }

  /**
   * The answer of fetch `seq` for a network (null: gone). False, and nothing changes, when the
   * cache holds a later fetch's. The changes heard since the fetch was asked are applied on it.
   */
  put(networkId: string, info: NetworkInfo | null, seq: number): boolean {
    const had = this.nets.get(networkId);
    if (had && had.seq > seq) return false;
    const { ports = [], ...base } = info ?? {};
    const e: Entry = { base: info ? (base as Omit<NetworkInfo, 'ports'>) : null, ports: new Map(), sorted: [], byIp: new Map(), seq, view: null };
    this.pruneDeleted();
    for (const p of info ? ports : []) if (!this.deleted.has(p.id)) this.setPort(e, p, false);
    e.sorted = [...e.ports.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    this.nets.set(networkId, e);
    for (const j of this.journal) if (j.networkId === networkId && j.seq > seq) this.change(e, j.change, true);
    return true;
  }

  /** The network is gone now (network_delete_end), as if a fetch asked now had said so. */
  gone(networkId: string): void {
    this.put(networkId, null, ++this.seq);
  }

  /** What the cache holds (null: gone; undefined: never fetched), its ports sorted by id. */
  get(networkId: string): NetworkInfo | null | undefined {
    const e = this.nets.get(networkId);
    if (!e?.base) return e ? null : undefined;
    e.view ??= { ...e.base, ports: e.sorted.slice() } as NetworkInfo;
    return e.view;
  }

  port(networkId: string, portId: string): PortInfo | undefined {
    return this.nets.get(networkId)?.ports.get(portId);
  }

  /**
   * A change the server told (a port_*_end cast). `force`: the server has just answered with this
   * port (the agent's own DHCP port): no conflict check.
   */
  apply(networkId: string, change: PortChange, force = false): ApplyOutcome {
    if ('deleted' in change) {
      this.pruneDeleted();
      this.deleted.set(change.deleted, this.now());
    } else if (this.deleted.has(change.port.id)) return 'unchanged';
    const seq = ++this.seq;
    if (this.inFlight.size) this.journal.push({ seq, networkId, change });
    const e = this.nets.get(networkId);
    if (!e?.base) return this.fetching(networkId) ? 'pending' : e ? 'unchanged' : 'unknown';
    return this.change(e, change, force);
  }

  private change(e: Entry, change: PortChange, force: boolean): ApplyOutcome {
    if ('deleted' in change) {
      const had = e.ports.get(change.deleted);
      if (!had) return 'unchanged';
      this.dropPort(e, had);
      e.view = null;
      return 'applied';
    }
    const p = change.port;
    const had = e.ports.get(p.id);
    if (had && revision(had) > revision(p)) return 'unchanged';
    if (!force && p.fixed_ips.some((f) => (e.byIp.get(f.ip_address) ?? p.id) !== p.id)) return 'conflict';
    if (had) this.dropPort(e, had);
    this.setPort(e, p);
    e.view = null;
    return 'applied';
  }

  private setPort(e: Entry, p: PortInfo, sorted = true): void {
    e.ports.set(p.id, p);
    for (const f of p.fixed_ips) e.byIp.set(f.ip_address, p.id);
    if (sorted) {
      const i = sortedIndex(e.sorted, p.id);
      e.sorted.splice(i, e.sorted[i]?.id === p.id ? 1 : 0, p);
    }
  }

  private dropPort(e: Entry, p: PortInfo): void {
    e.ports.delete(p.id);
    for (const f of p.fixed_ips) if (e.byIp.get(f.ip_address) === p.id) e.byIp.delete(f.ip_address);
    const i = sortedIndex(e.sorted, p.id);
    if (e.sorted[i]?.id === p.id) e.sorted.splice(i, 1);
  }

  private pruneDeleted(): void {
    const before = this.now() - DELETED_MAX_AGE_MS;
    // Insertion order is deletion order (a port is deleted once).
    for (const [id, at] of this.deleted) {
      if (at > before) break;
      this.deleted.delete(id);
    }
  }
}

/** Where a port of this id is or would go in ports sorted by id. */
function sortedIndex(ports: PortInfo[], id: string): number {
  let lo = 0;
  let hi = ports.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ports[mid]!.id < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

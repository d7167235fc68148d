// Fixed IP allocation for ports (Neutron's IPAM backend): explicit addresses are checked against
// the subnet, automatic ones come from random probes of the allocation pools, confirmed against
// the database in one indexed query, with a full scan only when the pools are nearly full.
// A port create holds no exclusive lock on the network: the (subnet_id, ip_address) primary key
// decides between concurrent creates (allocateNew). Updates and service plugins' writes hold the
// network's row lock, which keeps creates out meanwhile.
import { invalidAttribute, invalidInput } from '../../core/errors.js';
import { NOT_SPECIFIED } from '../../definitions/common.js';
import { TransactionRace, type Tx } from '../../db/tx.js';
import { isDuplicateKey, isForeignKeyViolation } from '../../db/connection.js';
import { Precompiled, type Slot } from '../../db/precompiled.js';
import {
  allocationOnAutoAddressSubnet,
  canonicalIp,
  eui64Address,
  formatIp,
  invalidIpForNetwork,
  invalidIpForSubnet,
  ipAddressAlreadyAllocated,
  ipAddressGenerationFailure,
  ipAddressGenerationFailureNetwork,
  ipAddressGenerationFailureNoMatchingSubnet,
  ipInCidr,
  isAutoAddressSubnet,
  isValidIpForSubnet,
  parseIp,
  pickIp,
  randomFreeIp,
} from '../../ipam/index.js';
import type { Ml2Context } from './context.js';
import type { SubnetInfo } from './subnets.js';
import { DEVICE_OWNER_DHCP, ROUTER_PORT_OWNERS } from '../../core/wire.js';

export interface FixedIp {
  subnet_id: string;
  ip_address: string;
}

const PROBES = 8;

/**
 * How allocate() treats the addresses it picks: `checked` reads the database first (taken ones
 * are not picked, or refused when asked for); `optimistic` picks without reading, leaving it to
 * the insert's unique key to refuse a taken one (allocateNew then tries again, checked).
 */
export type AllocationCheck = 'checked' | 'optimistic';

/** Rounds of allocateNew(): each lost one means another transaction committed an address meanwhile. */
const STORE_ATTEMPTS = 20;

const isAuto = (s: SubnetInfo) => s.ip_version === 6 && isAutoAddressSubnet({ ipv6_address_mode: s.ipv6_address_mode, ipv6_ra_mode: s.ipv6_ra_mode });
const isRouterOwner = (owner: string) => ROUTER_PORT_OWNERS.includes(owner);

/**
 * subnet-service-types (Neutron's query_filter_service_subnets): a port takes addresses from the
 * subnets without service types, those naming its device owner, and (a DHCP port) those with
 * DHCP on; those with service types first. None of several subnets fitting is an error.
 */
export function serviceSubnets(networkId: string, subnets: SubnetInfo[], owner: string): SubnetInfo[] {
  if (!subnets.some((s) => s.service_types.length)) return subnets;
  const fit = subnets.filter(
    (s) => s.service_types.length === 0 || s.service_types.includes(owner) || (owner === DEVICE_OWNER_DHCP && s.enable_dhcp),
  );
  if (fit.length === 0) throw ipAddressGenerationFailureNoMatchingSubnet(networkId, owner);
  return [...fit.filter((s) => s.service_types.length), ...fit.filter((s) => !s.service_types.length)];
}

export class PortIpAllocator {
  constructor(private readonly m: Ml2Context) {}

  /**
   * The port's fixed IPs after a create (current = []) or an update: kept entries stay, new ones
   * are allocated. Throws Neutron's 400/409 errors for bad or taken addresses.
   */
  async allocate(
    tx: Tx,
    networkId: string,
    subnets: SubnetInfo[],
    requested: unknown,
    mac: string,
    owner: string,
    current: FixedIp[],
    check: AllocationCheck = 'checked',
  ): Promise<FixedIp[]> {
    subnets = serviceSubnets(networkId, subnets, owner);
    if (requested === NOT_SPECIFIED || requested === undefined) return this.allocateDefault(tx, networkId, subnets, mac, owner, check);
    const entries = requested as Array<{ subnet_id?: unknown; ip_address?: unknown }>;
    if (entries.length > this.m.core.maxFixedIpsPerPort) throw invalidInput('Exceeded maximum amount of fixed ips per port');
    const byId = new Map(subnets.map((s) => [s.id, s]));
    const out: FixedIp[] = [];
    const taken = new Set<string>();
    const remaining = [...current];
    const claim = (ip: FixedIp) => {
      const key = `${ip.subnet_id}/${ip.ip_address}`;
      if (taken.has(key)) throw ipAddressAlreadyAllocated(ip.ip_address, ip.subnet_id);
      taken.add(key);
      out.push(ip);
    };
    const pending: SubnetInfo[] = [];
    for (const e of entries) {
      if (e.subnet_id !== undefined && typeof e.subnet_id !== 'string')
        throw invalidAttribute('fixed_ips', `'${String(e.subnet_id)}' is not a valid UUID`);
      let subnet: SubnetInfo | undefined;
      if (e.subnet_id !== undefined) {
        subnet = byId.get(e.subnet_id as string);
        if (!subnet)
          throw invalidInput(`Failed to create port on network ${networkId}, because fixed_ips included invalid subnet ${String(e.subnet_id)}`);
      }
      if (e.ip_address !== undefined && e.ip_address !== null) {
        let ip: string;
        try {
          ip = canonicalIp(String(e.ip_address), 'ip_address');
        } catch {
          throw invalidAttribute('fixed_ips', `'${String(e.ip_address)}' is not a valid IP address`);
        }
        if (!subnet) {
          subnet = subnets.find((s) => ipInCidr(ip, s.cidr));
          if (!subnet) throw invalidIpForNetwork(ip);
        }
        if (!isValidIpForSubnet(subnet.cidr, ip, owner)) throw invalidIpForSubnet(ip);
        if (isAuto(subnet) && !isRouterOwner(owner) && ip !== eui64Address(subnet.cidr, mac)) {
          throw allocationOnAutoAddressSubnet(ip, subnet.id);
        }
        const kept = takeMatch(remaining, (c) => c.subnet_id === subnet!.id && c.ip_address === ip);
        if (!kept && check === 'checked' && (await this.isAllocated(tx, subnet.id, ip))) {
          throw ipAddressAlreadyAllocated(ip, subnet.id);
        }
        claim({ subnet_id: subnet.id, ip_address: ip });
      } else if (subnet) {
        const kept = takeMatch(remaining, (c) => c.subnet_id === subnet!.id);
        if (kept) claim(kept);
        else if (isAuto(subnet) && !isRouterOwner(owner)) claim({ subnet_id: subnet.id, ip_address: eui64Address(subnet.cidr, mac) });
        else pending.push(subnet);
      } else {
        throw invalidInput('a fixed_ips entry needs a subnet_id, an ip_address or both');
      }
    }
    for (const subnet of pending) {
      const ip = await this.anyFree(tx, subnet, taken, check);
      if (!ip) throw ipAddressGenerationFailure(subnet.id);
      claim({ subnet_id: subnet.id, ip_address: ip });
    }
    return out;
  }

  /**
   * A new port's fixed IPs given explicitly, plus the SLAAC / DHCPv6-stateless address of every
   * such subnet of the network the list did not name: Neutron's IPAM adds them to any port but a
   * router's, since the host configures them from router advertisements whatever was asked.
   */
  withAutoAddresses(subnets: SubnetInfo[], fixed: FixedIp[], mac: string, owner: string): FixedIp[] {
    if (isRouterOwner(owner)) return fixed;
    const named = new Set(fixed.map((ip) => ip.subnet_id));
    const auto = subnets.filter((s) => isAuto(s) && !named.has(s.id)).map((s) => ({ subnet_id: s.id, ip_address: eui64Address(s.cidr, mac) }));
    return auto.length ? [...fixed, ...auto] : fixed;
  }

  /**
   * An update's fixed_ips: the port's SLAAC / DHCPv6-stateless addresses on subnets the new list
   * does not name are kept (Neutron's _get_changed_ips_for_port removes an unnamed address only
   * where the subnet needs one set by hand, or for a router's port). `stale` says which of them
   * were made from a MAC being replaced: those are asked for again by subnet, to be made anew.
   */
  keepAutoAddresses(
    subnets: SubnetInfo[],
    requested: Record<string, unknown>[],
    current: FixedIp[],
    owner: string,
    stale: (f: FixedIp) => boolean,
  ): Record<string, unknown>[] {
    if (isRouterOwner(owner)) return requested;
    const auto = new Set(subnets.filter(isAuto).map((s) => s.id));
    const named = new Set(requested.map((f) => f.subnet_id));
    const kept = current.filter((f) => auto.has(f.subnet_id) && !named.has(f.subnet_id)).map((f) => (stale(f) ? { subnet_id: f.subnet_id } : f));
    return kept.length ? [...requested, ...kept] : requested;
  }

  /**
   * A new port's fixed IPs, allocated and stored. No lock keeps other creates off the network:
   * each round's insert claims the addresses, the (subnet_id, ip_address) key refusing any that
   * another transaction holds (once that one has committed; PostgreSQL and InnoDB wait for it).
   * The first round trusts its random picks (in a pool that is not nearly full they are nearly
   * always free: one statement saved); after a refusal they are picked again against what is
   * committed now, and a requested address found taken is IpAddressAlreadyAllocated. Neutron's
   * IPAM retries the same way instead of locking.
   */
  async allocateNew(
    tx: Tx,
    portId: string,
    networkId: string,
    subnets: SubnetInfo[],
    requested: unknown,
    mac: string,
    owner: string,
  ): Promise<FixedIp[]> {
    for (let round = 0; ; round++) {
      const allocated = await this.allocate(tx, networkId, subnets, requested, mac, owner, [], round === 0 ? 'optimistic' : 'checked');
      const fixed = requested === NOT_SPECIFIED ? allocated : this.withAutoAddresses(subnets, allocated, mac, owner);
      if (await this.tryStore(tx, portId, networkId, fixed)) return fixed;
      if (round + 1 >= STORE_ATTEMPTS) throw await this.takenError(tx, fixed);
    }
  }

  /**
   * Inserts a new port's addresses: false, with none of them left inserted, when one is taken.
   * A failed statement aborts a PostgreSQL transaction, so there the taken ones are skipped
   * (ON CONFLICT DO NOTHING) and the others deleted again; MySQL and SQLite undo only the failed
   * statement.
   */
  private async tryStore(tx: Tx, portId: string, networkId: string, ips: FixedIp[]): Promise<boolean> {
    if (!ips.length) return true;
    const pg = this.m.db.dialect === 'postgres';
    try {
      if (ips.length === 1) {
        // The usual case, by a statement compiled once.
        const args = [portId, networkId, ips[0]!.subnet_id, ips[0]!.ip_address];
        if (!pg) await INSERT_ONE.run(this.m.db, tx, args);
        return !pg || (await INSERT_ONE_UNLESS_TAKEN.run(this.m.db, tx, args)).length === 1;
      }
      if (pg) {
        const done = await tx
          .insertInto('ip_allocations')
          .values(ips.map((ip) => ({ port_id: portId, network_id: networkId, subnet_id: ip.subnet_id, ip_address: ip.ip_address })))
          .onConflict((oc) => oc.doNothing())
          .returning('ip_address')
          .execute();
        if (done.length === ips.length) return true;
        if (done.length) await tx.deleteFrom('ip_allocations').where('port_id', '=', portId).execute();
        return false;
      }
      await this.store(tx, portId, networkId, ips);
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      // The subnet was deleted since it was read (its delete locks only its row): start again
      // from the network's subnets as they are now.
      if (isForeignKeyViolation(err)) throw new TransactionRace(`a subnet of network ${networkId} went away during a port create`);
      throw err;
    }
  }

  /** After rounds all lost: the address found taken (an EUI-64 one is not checked before), else the pools count as full. */
  private async takenError(tx: Tx, fixed: FixedIp[]): Promise<Error> {
    for (const ip of fixed)
      if (await this.isAllocated(tx, ip.subnet_id, ip.ip_address)) return ipAddressAlreadyAllocated(ip.ip_address, ip.subnet_id);
    return ipAddressGenerationFailure(fixed[0]?.subnet_id ?? '');
  }

  /** No fixed_ips given: one address per IP version (first subnet with room), plus SLAAC ones. */
  private async allocateDefault(
    tx: Tx,
    networkId: string,
    subnets: SubnetInfo[],
    mac: string,
    owner: string,
    check: AllocationCheck,
  ): Promise<FixedIp[]> {
    const out: FixedIp[] = [];
    const groups = [subnets.filter((s) => s.ip_version === 4), subnets.filter((s) => s.ip_version === 6 && !isAuto(s))];
    for (const group of groups) {
      if (!group.length) continue;
      let got: FixedIp | null = null;
      for (const s of group) {
        const ip = await this.anyFree(tx, s, new Set(), check);
        if (ip) {
          got = { subnet_id: s.id, ip_address: ip };
          break;
        }
      }
      if (!got) throw ipAddressGenerationFailureNetwork(networkId);
      out.push(got);
    }
    if (!isRouterOwner(owner)) {
      for (const s of subnets.filter(isAuto)) out.push({ subnet_id: s.id, ip_address: eui64Address(s.cidr, mac) });
    }
    return out;
  }

  private async isAllocated(tx: Tx, subnetId: string, ip: string): Promise<boolean> {
    const r = await tx
      .selectFrom('ip_allocations')
      .select('port_id')
      .where('subnet_id', '=', subnetId)
      .where('ip_address', '=', ip)
      .executeTakeFirst();
    return r !== undefined;
  }

  /** A free address of the subnet's pools (optimistic: one that may be free), or null when they are full. */
  private async anyFree(tx: Tx, s: SubnetInfo, claimed: Set<string>, check: AllocationCheck): Promise<string | null> {
    if (!s.pools.length) return null;
    const v = s.ip_version;
    const claimedHere = (n: bigint) => claimed.has(`${s.id}/${formatIp(n, v)}`);
    if (check === 'optimistic') {
      const c = pickIp(s.pools, claimedHere, Math.random, { maxProbes: 4 });
      return c === null ? null : formatIp(c, v);
    }
    const candidates = new Set<bigint>();
    for (let i = 0; i < PROBES; i++) {
      const c = pickIp(s.pools, (n) => candidates.has(n) || claimedHere(n), Math.random, { maxProbes: 4 });
      if (c === null) break;
      candidates.add(c);
    }
    if (candidates.size) {
      const texts = [...candidates].map((c) => formatIp(c, v));
      const used = new Set(
        (await tx.selectFrom('ip_allocations').select('ip_address').where('subnet_id', '=', s.id).where('ip_address', 'in', texts).execute()).map(
          (r) => r.ip_address,
        ),
      );
      const free = texts.find((t) => !used.has(t));
      if (free) return free;
    }
    // Dense pools: read every allocation once, and pick at random among the first free ones, so
    // that concurrent creates on a nearly full pool seldom pick the same one.
    const all = new Set(
      (await tx.selectFrom('ip_allocations').select('ip_address').where('subnet_id', '=', s.id).execute()).map((r) => parseIp(r.ip_address).value),
    );
    const n = randomFreeIp(s.pools, (x) => all.has(x) || claimedHere(x));
    return n === null ? null : formatIp(n, v);
  }

  async store(tx: Tx, portId: string, networkId: string, ips: FixedIp[]): Promise<void> {
    if (!ips.length) return;
    await tx
      .insertInto('ip_allocations')
      .values(ips.map((ip) => ({ port_id: portId, network_id: networkId, ...ip })))
      .execute();
  }

  /** Applies the difference between a port's old and new fixed IPs. */
  async replace(tx: Tx, portId: string, networkId: string, before: FixedIp[], after: FixedIp[]): Promise<void> {
    const key = (ip: FixedIp) => `${ip.subnet_id}/${ip.ip_address}`;
    const keep = new Set(after.map(key));
    const had = new Set(before.map(key));
    for (const ip of before) {
      if (!keep.has(key(ip))) {
        await tx
          .deleteFrom('ip_allocations')
          .where('port_id', '=', portId)
          .where('subnet_id', '=', ip.subnet_id)
          .where('ip_address', '=', ip.ip_address)
          .execute();
      }
    }
    await this.store(
      tx,
      portId,
      networkId,
      after.filter((ip) => !had.has(key(ip))),
    );
  }
}

const oneAllocation = (slot: Slot) => ({ port_id: slot(0), network_id: slot(1), subnet_id: slot(2), ip_address: slot(3) });
const INSERT_ONE = new Precompiled((db, slot) => db.kysely.insertInto('ip_allocations').values(oneAllocation(slot)));
/** PostgreSQL: no row, rather than an error (which would abort the transaction), for a taken address. */
const INSERT_ONE_UNLESS_TAKEN = new Precompiled((db, slot) =>
  db.kysely
    .insertInto('ip_allocations')
    .values(oneAllocation(slot))
    .onConflict((oc) => oc.doNothing())
    .returning('ip_address'),
);

function takeMatch<T>(list: T[], pred: (x: T) => boolean): T | undefined {
  const i = list.findIndex(pred);
  return i < 0 ? undefined : list.splice(i, 1)[0];
}

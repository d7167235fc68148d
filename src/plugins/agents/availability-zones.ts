// Availability zones (Neutron's availability_zone, network_availability_zone and
// router_availability_zone extensions). A zone is not stored anywhere: it exists while an agent
// reports it (the agents' availability_zone column). DHCP agents make zones of resource
// "network", L3 agents zones of resource "router"; a zone is "available" when at least one of its
// agents is administratively up (Neutron does not look at heartbeats here).
//
// Networks and routers carry availability_zone_hints (given on create only, each hint must be a
// zone of the resource's kind, else 404) and availability_zones (the zones of the agents hosting
// them). The DHCP and L3 schedulers only pick agents of the hinted zones
// ([DEFAULT] default_availability_zones when a resource has no hints).
import { availabilityZoneNotFound } from './errors.js';
import type { RequestContext } from '../../core/context.js';
import type { Rec } from '../../core/resource.js';
import type { Reader } from '../../db/tx.js';
import type { Ml2ExtensionDriver } from '../ml2/extension-drivers.js';
import { AGENT_TYPE_DHCP, AGENT_TYPE_L3 } from '../../core/wire.js';

export type ZoneResource = 'network' | 'router';

/** Neutron's RESOURCE_AGENT_TYPE_MAP. */
export const AGENT_TYPE_OF: Record<ZoneResource, string> = { network: AGENT_TYPE_DHCP, router: AGENT_TYPE_L3 };

/** utils.get_az_hints: the resource's hints sorted, or the configured defaults. */
export function effectiveHints(hints: readonly string[] | undefined | null, defaults: readonly string[]): string[] {
  return hints && hints.length ? [...hints].sort() : [...defaults];
}

export function parseHints(text: string | null | undefined): string[] {
  if (!text) return [];
  try {
    const v = JSON.parse(text) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

/** validate_availability_zones: every zone is reported by an agent of the resource's kind. */
export async function validateAvailabilityZones(db: Reader, resource: ZoneResource, zones: readonly string[]): Promise<void> {
  if (!zones.length) return;
  const rows = await db
    .selectFrom('agents')
    .select('availability_zone')
    .distinct()
    .where('agent_type', '=', AGENT_TYPE_OF[resource])
    .where('availability_zone', 'in', [...zones])
    .execute();
  const known = new Set(rows.map((r) => r.availability_zone));
  const missing = zones.find((z) => !known.has(z));
  if (missing !== undefined) throw availabilityZoneNotFound(missing);
}

export interface AvailabilityZone {
  name: string;
  resource: ZoneResource;
  state: 'available' | 'unavailable';
}

/** Every zone with its state, from the DHCP and L3 agents' reports, sorted by resource then name. */
export async function listAvailabilityZones(db: Reader): Promise<AvailabilityZone[]> {
  const rows = await db
    .selectFrom('agents')
    .select(['availability_zone', 'agent_type', 'admin_state_up'])
    .where('agent_type', 'in', [AGENT_TYPE_DHCP, AGENT_TYPE_L3])
    .where('availability_zone', 'is not', null)
    .execute();
  const zones = new Map<string, AvailabilityZone>();
  for (const r of rows) {
    if (!r.availability_zone) continue;
    const resource: ZoneResource = r.agent_type === AGENT_TYPE_DHCP ? 'network' : 'router';
    const key = `${resource}\u0000${r.availability_zone}`;
    const up = Number(r.admin_state_up) === 1;
    const z = zones.get(key);
    if (!z) zones.set(key, { name: r.availability_zone, resource, state: up ? 'available' : 'unavailable' });
    else if (up) z.state = 'available';
  }
  return [...zones.values()].sort((a, b) => a.resource.localeCompare(b.resource) || a.name.localeCompare(b.name));
}

/**
 * Fills `availability_zones` of network or router dicts: the distinct, sorted zones of the agents
 * bound to each (DHCP agents for networks, L3 agents for routers).
 */
export async function fillAvailabilityZones(db: Reader, resource: ZoneResource, dicts: Rec[]): Promise<void> {
  const ids = dicts.map((d) => d.id as string);
  const zones = new Map<string, Set<string>>();
  for (let i = 0; i < ids.length; i += 500) {
    const part = ids.slice(i, i + 500);
    const rows =
      resource === 'network'
        ? await db
            .selectFrom('networkdhcpagentbindings as b')
            .innerJoin('agents as a', 'a.id', 'b.dhcp_agent_id')
            .select(['b.network_id as id', 'a.availability_zone as zone'])
            .where('b.network_id', 'in', part)
            .execute()
        : await db
            .selectFrom('routerl3agentbindings as b')
            .innerJoin('agents as a', 'a.id', 'b.l3_agent_id')
            .select(['b.router_id as id', 'a.availability_zone as zone'])
            .where('b.router_id', 'in', part)
            .execute();
    for (const r of rows) {
      if (!r.zone) continue;
      let s = zones.get(r.id);
      if (!s) zones.set(r.id, (s = new Set()));
      s.add(r.zone);
    }
  }
  for (const d of dicts) d.availability_zones = [...(zones.get(d.id as string) ?? [])].sort();
}

/**
 * The network side as an ML2 extension driver: hints are checked (and defaulted, and sorted) in
 * the network's create transaction; network dicts get the zones of their DHCP agents.
 */
export class NetworkAvailabilityZoneDriver implements Ml2ExtensionDriver {
  constructor(private readonly defaults: readonly string[]) {}

  async prepareCreateNetwork(tx: Reader, _ctx: RequestContext, body: Rec): Promise<void> {
    const given = Array.isArray(body.availability_zone_hints) ? (body.availability_zone_hints as string[]) : [];
    const hints = effectiveHints(given, this.defaults);
    await validateAvailabilityZones(tx, 'network', hints);
    body.availability_zone_hints = hints;
  }

  async extendNetworkDicts(db: Reader, dicts: Rec[]): Promise<void> {
    await fillAvailabilityZones(db, 'network', dicts);
  }
}

// Which DHCP agents serve which network (Neutron's DhcpFilter/ChanceScheduler with the
// networkdhcpagentbindings table): a network with at least one DHCP-enabled subnet is given to
// `dhcp_agents_per_network` alive, enabled DHCP agents, the least loaded first.
import { sql, type CompiledQuery } from 'kysely';
import type { Db } from '../../db/connection.js';
import { isDuplicateKey } from '../../db/connection.js';
import type { AgentTable } from '../../db/schema.js';
import { isoAt } from '../agents/agents.js';
import { effectiveHints, parseHints } from '../agents/availability-zones.js';
import { AGENT_TYPE_DHCP } from '../../core/wire.js';

/** The resource notifications the server casts to DHCP agents on DHCP_AGENT_TOPIC. */

export interface SchedulerOptions {
  /** [DEFAULT] agent_down_time, seconds. */
  agentDownTime: number;
  /** [DEFAULT] dhcp_agents_per_network. */
  agentsPerNetwork: number;
  /** [DEFAULT] default_availability_zones: the hints of networks that have none. */
  defaultAvailabilityZones?: readonly string[];
  now?: () => number;
}

export type DhcpAgentRow = Pick<AgentTable, 'id' | 'host' | 'admin_state_up' | 'heartbeat_timestamp'>;

function cutoff(o: SchedulerOptions): string {
  return isoAt((o.now ?? Date.now)() - o.agentDownTime * 1000);
}

export function isAlive(a: DhcpAgentRow, o: SchedulerOptions): boolean {
  return a.heartbeat_timestamp >= cutoff(o);
}

/** The DHCP agents bound to a network (alive or not). */
export async function agentsHosting(db: Db, networkId: string): Promise<DhcpAgentRow[]> {
  return db.kysely
    .selectFrom('networkdhcpagentbindings as b')
    .innerJoin('agents as a', 'a.id', 'b.dhcp_agent_id')
    .select(['a.id', 'a.host', 'a.admin_state_up', 'a.heartbeat_timestamp'])
    .where('b.network_id', '=', networkId)
    .execute();
}

type AgentsForRow = DhcpAgentRow & { bound: number };
const NETWORK_MARK = '\u0000network-id';
const agentsForCompiled = new WeakMap<Db, CompiledQuery<AgentsForRow>>();

/**
 * Every DHCP agent, each marked with whether it hosts the network: in one query, what a
 * notification needs to know (its targets, and whether scheduling could find any agent at all).
 * With no DHCP agent registered (no DHCP in this deployment) it is one cheap empty select.
 */
export async function dhcpAgentsFor(db: Db, networkId: string): Promise<Array<DhcpAgentRow & { bound: boolean }>> {
  // Runs on every port write: compiled once per database, only the network id changes.
  let compiled = agentsForCompiled.get(db);
  if (!compiled) {
    compiled = db.kysely
      .selectFrom('agents as a')
      .select(['a.id', 'a.host', 'a.admin_state_up', 'a.heartbeat_timestamp'])
      .select(
        sql<number>`exists (select 1 from networkdhcpagentbindings b where b.dhcp_agent_id = a.id and b.network_id = ${NETWORK_MARK})`.as('bound'),
      )
      .where('a.agent_type', '=', AGENT_TYPE_DHCP)
      .compile();
    agentsForCompiled.set(db, compiled);
  }
  const { rows } = await db.kysely.executeQuery<AgentsForRow>({
    ...compiled,
    parameters: compiled.parameters.map((p) => (p === NETWORK_MARK ? networkId : p)),
  });
  return rows.map((r) => ({
    id: r.id,
    host: r.host,
    admin_state_up: r.admin_state_up,
    heartbeat_timestamp: r.heartbeat_timestamp,
    bound: !!Number(r.bound),
  }));
}

export async function dhcpAgentOfHost(db: Db, host: string): Promise<DhcpAgentRow | undefined> {
  return db.kysely
    .selectFrom('agents')
    .select(['id', 'host', 'admin_state_up', 'heartbeat_timestamp'])
    .where('agent_type', '=', AGENT_TYPE_DHCP)
    .where('host', '=', host)
    .executeTakeFirst();
}

/** Whether the network has a subnet with enable_dhcp. */
export async function needsDhcp(db: Db, networkId: string): Promise<boolean> {
  const r = await db.kysely
    .selectFrom('subnets')
    .select('id')
    .where('network_id', '=', networkId)
    .where('enable_dhcp', '=', 1)
    .limit(1)
    .executeTakeFirst();
  return r !== undefined;
}

async function bind(db: Db, networkId: string, agentId: string): Promise<boolean> {
  try {
    await db.kysely.insertInto('networkdhcpagentbindings').values({ network_id: networkId, dhcp_agent_id: agentId }).execute();
    return true;
  } catch (err) {
    if (isDuplicateKey(err)) return false; // a concurrent scheduler bound it first
    throw err;
  }
}

/**
 * Binds the network to as many more alive, enabled DHCP agents as it lacks (dead agents keep
 * their bindings, as in Neutron without network rescheduling, but do not count). Returns the
 * agents newly bound; [] when nothing was needed or no agent is available.
 */
export async function scheduleNetwork(db: Db, networkId: string, o: SchedulerOptions): Promise<DhcpAgentRow[]> {
  if (!(await needsDhcp(db, networkId))) return [];
  const hosting = await agentsHosting(db, networkId);
  const want = o.agentsPerNetwork - hosting.filter((a) => isAlive(a, o) && a.admin_state_up).length;
  if (want <= 0) return [];
  const taken = new Set(hosting.map((a) => a.id));
  let candidatesQ = db.kysely
    .selectFrom('agents')
    .select(['id', 'host', 'admin_state_up', 'heartbeat_timestamp'])
    .where('agent_type', '=', AGENT_TYPE_DHCP)
    .where('admin_state_up', '=', 1)
    .where('heartbeat_timestamp', '>=', cutoff(o));
  // Only agents of the network's availability zones (AZ-aware scheduling).
  const zones = await networkZoneHints(db, networkId, o);
  if (zones.length) candidatesQ = candidatesQ.where('availability_zone', 'in', zones);
  const candidates = await candidatesQ.execute();
  const free = candidates.filter((a) => !taken.has(a.id));
  if (!free.length) return [];
  const loads = new Map<string, number>();
  const counts = await db.kysely
    .selectFrom('networkdhcpagentbindings')
    .select(['dhcp_agent_id'])
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where(
      'dhcp_agent_id',
      'in',
      free.map((a) => a.id),
    )
    .groupBy('dhcp_agent_id')
    .execute();
  for (const c of counts) loads.set(c.dhcp_agent_id, Number(c.n));
  free.sort((x, y) => (loads.get(x.id) ?? 0) - (loads.get(y.id) ?? 0) || x.host.localeCompare(y.host));
  const out: DhcpAgentRow[] = [];
  for (const a of free.slice(0, want)) if (await bind(db, networkId, a.id)) out.push(a);
  return out;
}

/**
 * Neutron's auto_schedule_networks for one agent: every network with DHCP-enabled subnets that
 * lacks alive agents is offered to this one. Returns the ids of the networks it now hosts.
 */
export async function autoScheduleForAgent(db: Db, agent: DhcpAgentRow, o: SchedulerOptions): Promise<string[]> {
  if (agent.admin_state_up && isAlive(agent, o)) {
    const nets = await db.kysely
      .selectFrom('subnets')
      .innerJoin('networks', 'networks.id', 'subnets.network_id')
      .select(['subnets.network_id', 'networks.availability_zone_hints'])
      .distinct()
      .where('subnets.enable_dhcp', '=', 1)
      .execute();
    const zone =
      (await db.kysely.selectFrom('agents').select('availability_zone').where('id', '=', agent.id).executeTakeFirst())?.availability_zone ?? null;
    const bound = await db.kysely
      .selectFrom('networkdhcpagentbindings as b')
      .innerJoin('agents as a', 'a.id', 'b.dhcp_agent_id')
      .select(['b.network_id', 'a.id', 'a.admin_state_up', 'a.heartbeat_timestamp', 'a.host'])
      .execute();
    const alive = new Map<string, number>();
    const mine = new Set<string>();
    for (const b of bound) {
      if (b.id === agent.id) mine.add(b.network_id);
      if (b.admin_state_up && isAlive(b, o)) alive.set(b.network_id, (alive.get(b.network_id) ?? 0) + 1);
    }
    for (const { network_id, availability_zone_hints } of nets) {
      if (mine.has(network_id) || (alive.get(network_id) ?? 0) >= o.agentsPerNetwork) continue;
      const hints = effectiveHints(parseHints(availability_zone_hints), o.defaultAvailabilityZones ?? []);
      if (hints.length && (zone === null || !hints.includes(zone))) continue;
      await bind(db, network_id, agent.id);
    }
  }
  const rows = await db.kysely.selectFrom('networkdhcpagentbindings').select('network_id').where('dhcp_agent_id', '=', agent.id).execute();
  return rows.map((r) => r.network_id);
}

/** The zones a network may be served from: its hints, else the configured defaults. */
async function networkZoneHints(db: Db, networkId: string, o: SchedulerOptions): Promise<string[]> {
  const row = await db.kysely.selectFrom('networks').select('availability_zone_hints').where('id', '=', networkId).executeTakeFirst();
  return effectiveHints(parseHints(row?.availability_zone_hints), o.defaultAvailabilityZones ?? []);
}

export async function unbindNetwork(db: Db, networkId: string): Promise<void> {
  await db.kysely.deleteFrom('networkdhcpagentbindings').where('network_id', '=', networkId).execute();
}

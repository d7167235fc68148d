// The server side of agents' heartbeats: Neutron's AgentExtRpcCallback.report_state on topic
// `q-reports-plugin`. An agent reports {agent_type, binary, host, topic, configurations, ...}
// every report_interval seconds; the first report of an (agent_type, host) inserts its row, the
// following ones refresh heartbeat_timestamp and configurations. Concurrent first reports rely
// on the unique (agent_type, host) key: the losers of the insert race update the winner's row.
import { randomUUID } from 'node:crypto';
import type { Db } from '../../db/connection.js';
import { isDuplicateKey } from '../../db/connection.js';
import type { AgentTable } from '../../db/schema.js';
import type { RpcBus, RpcContext, RpcServerHandle } from '../../rpc/index.js';
import { isoAt } from './agents.js';
import { AGENT_TYPE_DHCP, AGENT_TYPE_L3, REPORTS_TOPIC } from '../../core/wire.js';

/** What an agent reports (neutron agents' self.agent_state). */
export interface AgentState {
  agent_type: string;
  binary: string;
  host: string;
  topic: string;
  configurations?: Record<string, unknown>;
  availability_zone?: string | null;
  resource_versions?: Record<string, unknown> | null;
  start_flag?: boolean;
  [k: string]: unknown;
}

/** Neutron's agent_consts.AGENT_NEW / AGENT_ALIVE / AGENT_REVIVED. */
export type AgentStatus = 'new' | 'alive' | 'revived';

export interface ReportStateOptions {
  /** [DEFAULT] agent_down_time, seconds: an agent silent longer was dead, so it is 'revived'. */
  agentDownTime: number;
  /** Clock, for tests. */
  now?: () => number;
  /** Reports stamped before this instant (ms) are stale and ignored, as Neutron's START_TIME. */
  startTime?: number;
}

const REQUIRED = ['agent_type', 'binary', 'host', 'topic'] as const;

/** Neutron's _get_agent_load: DHCP agents weigh by networks, L3 agents by routers. */
function agentLoad(state: AgentState): number {
  const key = state.agent_type === AGENT_TYPE_DHCP ? 'networks' : state.agent_type === AGENT_TYPE_L3 ? 'routers' : null;
  const v = key ? Number(state.configurations?.[key] ?? 0) : 0;
  return Number.isFinite(v) ? Math.trunc(v) : 0;
}

/** oslo's strtime ("2024-01-02T03:04:05.123456", UTC, no zone) to epoch ms; NaN when unreadable. */
export function parseReportTime(t: unknown): number {
  if (typeof t !== 'string') return NaN;
  const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/.exec(t.trim());
  if (!m) return NaN;
  const frac = m[3] ? m[3].slice(0, 4) : '';
  return Date.parse(`${m[1]}T${m[2]}${frac}${m[4] ?? 'Z'}`);
}

/** Inserts or refreshes the reporting agent's row; Neutron's create_or_update_agent. */
export async function createOrUpdateAgent(db: Db, state: AgentState, opts: ReportStateOptions): Promise<AgentStatus> {
  for (const k of REQUIRED) {
    if (typeof state[k] !== 'string' || !state[k]) throw new Error(`agent state report without ${k}`);
  }
  const now = opts.now ?? Date.now;
  const k = db.kysely;
  for (let attempt = 0; ; attempt++) {
    const nowMs = now();
    const ts = isoAt(nowMs);
    const fields: Partial<AgentTable> = {
      binary: state.binary,
      topic: state.topic,
      configurations: JSON.stringify(state.configurations ?? {}),
      load: agentLoad(state),
      heartbeat_timestamp: ts,
    };
    if ('availability_zone' in state) fields.availability_zone = state.availability_zone ?? null;
    if (state.resource_versions && Object.keys(state.resource_versions).length) fields.resource_versions = JSON.stringify(state.resource_versions);
    const existing = await k
      .selectFrom('agents')
      .select(['id', 'heartbeat_timestamp'])
      .where('agent_type', '=', state.agent_type)
      .where('host', '=', state.host)
      .executeTakeFirst();
    if (existing) {
      const wasAlive = existing.heartbeat_timestamp >= isoAt(nowMs - opts.agentDownTime * 1000);
      if (state.start_flag) fields.started_at = ts;
      await k.updateTable('agents').set(fields).where('id', '=', existing.id).execute();
      return wasAlive ? 'alive' : 'revived';
    }
    try {
      await k
        .insertInto('agents')
        .values({
          id: randomUUID(),
          agent_type: state.agent_type,
          host: state.host,
          availability_zone: null,
          admin_state_up: 1,
          created_at: ts,
          started_at: ts,
          description: null,
          resource_versions: null,
          ...fields,
        } as AgentTable)
        .execute();
      return 'new';
    } catch (err) {
      // Another report from the same agent inserted first: update that row instead.
      if (!isDuplicateKey(err) || attempt >= 5) throw err;
    }
  }
}

/**
 * The RPC endpoint: report_state(agent_state={agent_state: {...}}, time='...'), as Neutron's
 * agents send it (a bare {agent_state: {...}} is accepted too). Returns the AgentStatus, or
 * nothing for a stale report.
 */
export function reportStateHandlers(db: Db, opts: ReportStateOptions) {
  return {
    async report_state(
      _ctx: RpcContext,
      args: { agent_state?: { agent_state?: AgentState } | AgentState; time?: string },
    ): Promise<AgentStatus | null> {
      const outer = args?.agent_state as Record<string, unknown> | undefined;
      const state = (outer && typeof outer.agent_state === 'object' && outer.agent_state !== null ? outer.agent_state : outer) as
        | AgentState
        | undefined;
      if (!state || typeof state !== 'object') throw new Error('report_state without agent_state');
      const sent = parseReportTime(args.time);
      if (opts.startTime !== undefined && Number.isFinite(sent) && sent < opts.startTime) return null;
      return createOrUpdateAgent(db, state, opts);
    },
  };
}

/** Serves report_state on q-reports-plugin for `serverHost`; stop the handle to stop serving. */
export function serveReportState(bus: RpcBus, serverHost: string, db: Db, opts: ReportStateOptions, topic = REPORTS_TOPIC): Promise<RpcServerHandle> {
  return bus.serve(topic, serverHost, reportStateHandlers(db, opts));
}

// GET/PUT/DELETE /v2.0/agents (Neutron's agents_db.AgentDbMixin behind the `agent` extension).
// Rows come from the agents' own state reports (report-state.ts); the API can only read them,
// change admin_state_up/description, or forget an agent. `alive` is computed: a heartbeat within
// [DEFAULT] agent_down_time seconds.
import { sql, type SqlBool } from 'kysely';
import type { RequestContext } from '../../core/context.js';
import { agentDef } from '../../definitions/agent.js';
import type { Rec } from '../../core/resource.js';
import type { Db } from '../../db/connection.js';
import type { AgentTable } from '../../db/schema.js';
import { b2i, i2b, inTransaction, type Reader } from '../../db/tx.js';
import { Events, type CallbackRegistry } from '../../core/callbacks.js';
import { agentNotFound } from '../common/errors.js';
import { TableResource, type TableQuery } from '../common/table-resource.js';
import { badAgentRequest } from './errors.js';

/** Timestamps are stored as ISO-8601 (sortable text); Neutron shows agents' as "YYYY-MM-DD HH:MM:SS". */
export const isoAt = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
export const neutronTime = (iso: string) => iso.replace('T', ' ').replace(/(\.\d+)?Z$/, '');

export interface AgentSettings {
  /** [DEFAULT] agent_down_time, seconds. */
  agentDownTime: number;
  /** Clock, for tests. */
  now?: () => number;
}

export class AgentHandler extends TableResource<'agents'> {
  private readonly now: () => number;
  /** `callbacks`: agent after_update events (an agent enabled or disabled is told so). */
  constructor(
    db: Db,
    private readonly settings: AgentSettings,
    private readonly callbacks?: CallbackRegistry,
  ) {
    // Agents belong to no project: the policy alone decides who reads them (admin by default).
    super({ def: agentDef, db, notFound: agentNotFound, visibility: 'all' });
    this.now = settings.now ?? Date.now;
  }

  /** `alive` is no column: a heartbeat within agent_down_time; Neutron looks at the first value only. */
  protected override filterRest(_ctx: RequestContext, qb: TableQuery<'agents'>, rest: Record<string, unknown[]>) {
    const alive = rest.alive;
    if (!alive) return qb;
    const hb = sql.ref('agents.heartbeat_timestamp');
    const cutoff = this.aliveCutoff();
    return qb.where(alive[0] ? sql<SqlBool>`${hb} >= ${cutoff}` : sql<SqlBool>`${hb} < ${cutoff}`);
  }

  protected async dictsOf(_ctx: RequestContext, _db: Reader, rows: AgentTable[]): Promise<Rec[]> {
    const cutoff = this.aliveCutoff();
    return rows.map((r) => this.toDict(r, cutoff));
  }

  /** Heartbeats at or after this instant count as alive. */
  private aliveCutoff(): string {
    return isoAt(this.now() - this.settings.agentDownTime * 1000);
  }

  toDict(row: AgentTable, cutoff = this.aliveCutoff()): Rec {
    return {
      id: row.id,
      agent_type: row.agent_type,
      binary: row.binary,
      topic: row.topic,
      host: row.host,
      admin_state_up: i2b(row.admin_state_up),
      created_at: neutronTime(row.created_at),
      started_at: neutronTime(row.started_at),
      heartbeat_timestamp: neutronTime(row.heartbeat_timestamp),
      alive: row.heartbeat_timestamp >= cutoff,
      configurations: JSON.parse(row.configurations) as Rec,
      description: row.description,
      availability_zone: row.availability_zone,
      resources_synced: null,
    };
  }

  /** Neutron's AgentPluginBase.create_agent: agents register themselves, never through the API. */
  async create(): Promise<Rec[]> {
    throw badAgentRequest('agents cannot be created through the API.');
  }

  async update(ctx: RequestContext, id: string, body: Rec): Promise<Rec> {
    const set: Partial<AgentTable> = {};
    if ('admin_state_up' in body) set.admin_state_up = b2i(body.admin_state_up as boolean);
    if ('description' in body) set.description = body.description as string | null;
    const before = await this.db.kysely.selectFrom('agents').select(['admin_state_up']).where('id', '=', id).executeTakeFirst();
    if (Object.keys(set).length) await this.db.kysely.updateTable('agents').set(set).where('id', '=', id).execute();
    const d = await this.get(ctx, id);
    if (!d) throw this.notFound(id);
    if (before && this.callbacks) {
      await this.callbacks.publish('agent', Events.AFTER_UPDATE, {
        context: ctx,
        resourceId: id,
        before: { admin_state_up: Number(before.admin_state_up) === 1 },
        after: d,
      });
    }
    return d;
  }

  async delete(_ctx: RequestContext, id: string): Promise<void> {
    await inTransaction(this.db, async (tx) => {
      // Its networks are left unhosted (its routers' bindings go by foreign key).
      await tx.deleteFrom('networkdhcpagentbindings').where('dhcp_agent_id', '=', id).execute();
      const r = await tx.deleteFrom('agents').where('id', '=', id).executeTakeFirst();
      if (Number(r.numDeletedRows) === 0) throw this.notFound(id);
    });
  }
}

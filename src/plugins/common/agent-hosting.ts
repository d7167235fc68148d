// What both agent schedulers (DHCP: networks, L3: routers) ask of the agents table, with the
// errors Neutron gives: an unknown agent is AgentNotFound, and so is listing what an unknown
// agent hosts (an existing agent that hosts nothing lists nothing).
import type { AgentTable } from '../../db/schema.js';
import type { Reader } from '../../db/tx.js';
import { agentNotFound } from './errors.js';

/** The agent's row, or AgentNotFound. */
export async function agentOrNotFound(db: Reader, id: string): Promise<AgentTable> {
  const a = await db.selectFrom('agents').selectAll().where('id', '=', id).executeTakeFirst();
  if (!a) throw agentNotFound(id);
  return a;
}

/** The ids an agent hosts, as read from its bindings; AgentNotFound when there are none and no such agent. */
export async function hostedBy(db: Reader, agentId: string, hosted: string[]): Promise<string[]> {
  if (!hosted.length) await agentOrNotFound(db, agentId);
  return hosted;
}

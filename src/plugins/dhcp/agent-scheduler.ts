// The dhcp_agent_scheduler extension's operations (Neutron's DhcpAgentSchedulerDbMixin): which
// networks a DHCP agent hosts, which agents host a network, and an administrator adding or
// removing a network by hand. A binding is one networkdhcpagentbindings row: its primary key makes
// concurrent adds of one network to one agent give one binding (the others get 409). The agent is
// told after commit, as the DHCP notifier tells it of scheduling (network_create_end /
// network_delete_end to dhcp_agent.<host>), so it starts or stops serving the network.
import { adminContext, type RequestContext } from '../../core/context.js';
import type { NeutronError } from '../../core/errors.js';
import type { Rec } from '../../core/resource.js';
import type { Db } from '../../db/connection.js';
import { isDuplicateKey } from '../../db/connection.js';
import { forUpdate, inTransaction } from '../../db/tx.js';
import { toRpcContext } from '../../rpc/index.js';
import { agentOrNotFound, hostedBy } from '../common/agent-hosting.js';
import { networkNotFound } from '../ml2/errors.js';
import { invalidDhcpAgent, networkHostedByDhcpAgent, networkNotHostedByDhcpAgent } from './errors.js';
import type { DhcpAgentNotifier } from './notifier.js';
import { AGENT_TYPE_DHCP, DEVICE_ID_RESERVED_DHCP_PORT, DEVICE_OWNER_DHCP, dhcpDeviceId } from '../../core/wire.js';

/** What removing needs of the ports' API controller (CollectionController fits). */
export interface DhcpPortUpdater {
  update(ctx: RequestContext, id: string, body: unknown): Promise<Rec>;
}

export class DhcpAgentScheduling {
  /** `notifier`: tells the agents (null without an RPC bus). */
  constructor(
    private readonly db: Db,
    private readonly ports: DhcpPortUpdater,
    private readonly notifier: DhcpAgentNotifier | null,
  ) {}

  /** The ids of the networks the agent hosts; AgentNotFound when it hosts none and does not exist. */
  async networksOnAgent(agentId: string): Promise<string[]> {
    const rows = await this.db.kysely.selectFrom('networkdhcpagentbindings').select('network_id').where('dhcp_agent_id', '=', agentId).execute();
    return hostedBy(
      this.db.kysely,
      agentId,
      rows.map((r) => r.network_id),
    );
  }

  /** The ids of the agents hosting the network (none for an unknown network, as Neutron). */
  async agentsHostingNetwork(networkId: string): Promise<string[]> {
    const rows = await this.db.kysely.selectFrom('networkdhcpagentbindings').select('dhcp_agent_id').where('network_id', '=', networkId).execute();
    return rows.map((r) => r.dhcp_agent_id);
  }

  /**
   * add_network_to_dhcp_agent: the network must exist, the agent be an enabled DHCP agent not
   * yet hosting it. The network's row lock orders this against the network's delete.
   */
  async addNetwork(ctx: RequestContext, agentId: string, networkId: string): Promise<void> {
    let host: string;
    try {
      host = await inTransaction(this.db, async (tx) => {
        const net = await forUpdate(this.db, tx.selectFrom('networks').select('id').where('id', '=', networkId)).executeTakeFirst();
        if (!net) throw networkNotFound(networkId);
        const a = await agentOrNotFound(tx, agentId);
        if (a.agent_type !== AGENT_TYPE_DHCP || Number(a.admin_state_up) !== 1) throw invalidDhcpAgent(agentId);
        const bound = await tx
          .selectFrom('networkdhcpagentbindings')
          .select('network_id')
          .where('network_id', '=', networkId)
          .where('dhcp_agent_id', '=', agentId)
          .executeTakeFirst();
        if (bound) throw networkHostedByDhcpAgent(networkId, agentId);
        await tx.insertInto('networkdhcpagentbindings').values({ network_id: networkId, dhcp_agent_id: agentId }).execute();
        return a.host;
      });
    } catch (err) {
      // Another request bound it between our check and our insert.
      if (isDuplicateKey(err)) throw networkHostedByDhcpAgent(networkId, agentId);
      throw err;
    }
    this.notifier?.networkAddedToAgent(toRpcContext(ctx), networkId, host);
  }

  /**
   * remove_network_from_dhcp_agent: drops the binding (409 when there is none), keeps the agent's
   * DHCP port as a reserved one so that its address is reused when the network comes back, and
   * tells the agent to stop serving the network.
   */
  async removeNetwork(ctx: RequestContext, agentId: string, networkId: string): Promise<void> {
    const a = await agentOrNotFound(this.db.kysely, agentId);
    const r = await this.db.kysely
      .deleteFrom('networkdhcpagentbindings')
      .where('network_id', '=', networkId)
      .where('dhcp_agent_id', '=', agentId)
      .executeTakeFirst();
    if (Number(r.numDeletedRows) === 0) throw networkNotHostedByDhcpAgent(networkId, agentId);
    const deviceId = dhcpDeviceId(networkId, a.host);
    const dhcpPorts = await this.db.kysely
      .selectFrom('ports')
      .select('id')
      .where('network_id', '=', networkId)
      .where('device_id', '=', deviceId)
      .where('device_owner', '=', DEVICE_OWNER_DHCP)
      .execute();
    const admin = adminContext(ctx.requestId);
    for (const p of dhcpPorts) {
      try {
        await this.ports.update(admin, p.id, { port: { device_id: DEVICE_ID_RESERVED_DHCP_PORT } });
      } catch (err) {
        if ((err as NeutronError).status !== 404) throw err; // deleted meanwhile: nothing to keep
      }
    }
    this.notifier?.networkRemovedFromAgent(toRpcContext(ctx), networkId, a.host);
  }
}

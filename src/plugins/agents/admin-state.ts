// An agent an administrator enabled or disabled (PUT /v2.0/agents/{id} admin_state_up) is told so
// with Neutron's agent_updated cast on its own topic; DHCP and L3 agents resync on it.
import { Events, type CallbackRegistry, type EventPayload } from '../../core/callbacks.js';
import { newRpcContext, type RpcBus } from '../../rpc/index.js';

export function castAgentUpdated(callbacks: CallbackRegistry, bus: RpcBus, agentType: string, topic: string): void {
  callbacks.subscribe(
    'agent',
    Events.AFTER_UPDATE,
    async (p: EventPayload) => {
      const a = p.after!;
      if (a.agent_type !== agentType || p.before!.admin_state_up === a.admin_state_up) return;
      await bus.cast(
        { topic, server: a.host as string },
        'agent_updated',
        { payload: { admin_state_up: a.admin_state_up } },
        { context: newRpcContext() },
      );
    },
    { name: `${topic}-admin-state` },
  );
}

// DHCP agents as the core plugin serves them (Neutron's DhcpAgentSchedulerDbMixin and
// DhcpRpcCallback in ML2): the DHCP agents' RPC, their notifications after network, subnet and
// port writes (with scheduling), and the dhcp_agent_scheduler extension. Always loaded.
import { AGENT_TYPE_DHCP, DHCP_AGENT_TOPIC, PLUGIN_TOPIC } from '../../core/wire.js';
import { castAgentUpdated } from '../agents/admin-state.js';
import type { PluginDefinition } from '../contract.js';
import { schedulerRoutes } from '../common/scheduler-routes.js';
import type { CoreHandlers } from '../ml2/plugin.js';
import { DhcpAgentScheduling } from './agent-scheduler.js';
import { DhcpAgentNotifier, subscribeDhcpNotifier } from './notifier.js';
import { dhcpRpcHandlers, type PortWriter } from './rpc.js';

export const dhcpPlugin: PluginDefinition = {
  name: 'dhcp',
  aliases: () => ['dhcp_agent_scheduler'],
  create(ctx) {
    const { cfg, db, bus, callbacks } = ctx;
    const scheduler = {
      agentDownTime: cfg.DEFAULT.agent_down_time,
      agentsPerNetwork: cfg.DEFAULT.dhcp_agents_per_network,
      defaultAvailabilityZones: [...cfg.DEFAULT.default_availability_zones],
    };
    const notifier = bus && cfg.DEFAULT.dhcp_agent_notification ? new DhcpAgentNotifier(bus, db, scheduler) : null;
    if (notifier) subscribeDhcpNotifier(callbacks, notifier);
    if (bus) castAgentUpdated(callbacks, bus, AGENT_TYPE_DHCP, DHCP_AGENT_TOPIC);
    // DHCP ports are written the way a client writes them: through the ports' API (resolved per
    // call: the API exists once the server is assembled).
    const portsApi = () => ctx.api.collection('ports')!;
    const portWriter: PortWriter = {
      create: (c, body) => portsApi().create(c, body),
      update: (c, id, body) => portsApi().update(c, id, body),
      delete: (c, id) => portsApi().delete(c, id),
    };
    const scheduling = new DhcpAgentScheduling(db, portWriter, notifier);
    const core = ctx.exportsOf<CoreHandlers>('ml2')!;
    return {
      rpc: [{ topic: PLUGIN_TOPIC, handlers: dhcpRpcHandlers({ db, ...core, portWriter, scheduler }) }],
      routes: schedulerRoutes({
        hosted: 'dhcp-networks',
        hosts: 'dhcp-agents',
        items: 'networks',
        idKey: 'network_id',
        itemsOnAgent: (id) => scheduling.networksOnAgent(id),
        agentsHosting: (id) => scheduling.agentsHostingNetwork(id),
        add: (c, agent, net) => scheduling.addNetwork(c, agent, net),
        remove: (c, agent, net) => scheduling.removeNetwork(c, agent, net),
      }),
      settled: async () => notifier?.settled(),
    };
  },
};

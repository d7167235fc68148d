// Agents as the core plugin lists them (/v2.0/agents), the availability zones their reports make,
// and the service providers catalogue. Always loaded.
import type { PluginDefinition } from '../contract.js';
import { AgentHandler } from './agents.js';
import { availabilityZoneRoutes, serviceProviderRoutes } from './catalogue-routes.js';

export const agentsPlugin: PluginDefinition = {
  name: 'agents',
  aliases: () => ['agent', 'agent-resources-synced', 'availability_zone', 'availability_zone_filter', 'service-type'],
  create(ctx) {
    return {
      resources: [new AgentHandler(ctx.db, { agentDownTime: ctx.cfg.DEFAULT.agent_down_time }, ctx.callbacks)],
      routes: [...availabilityZoneRoutes(ctx.db), ...serviceProviderRoutes()],
    };
  },
};

// Which plugins a configuration loads. The core (ML2 with security groups, DHCP and agent
// scheduling, address management) always loads; `[DEFAULT] service_plugins` names the service
// plugins by Neutron's names (or class paths); unset, every service plugin neutrino has loads.
// Neutron's default service plugins load whatever the list says, as in Neutron. The RBAC plugin
// loads last: it shares the object types every other plugin declares.
import { ConfigError, type Config } from '../config/index.js';
import type { PluginDefinition } from '../plugins/contract.js';
import { agentsPlugin } from '../plugins/agents/plugin.js';
import { autoAllocatePlugin } from '../plugins/auto-allocate/plugin.js';
import { dhcpPlugin } from '../plugins/dhcp/plugin.js';
import { flavorsPlugin } from '../plugins/flavors/plugin.js';
import { ndpProxyPlugin } from '../plugins/ndp-proxy/plugin.js';
import { routerPlugin } from '../plugins/l3/plugin.js';
import { loggingPlugin } from '../plugins/logging/plugin.js';
import { meteringPlugin } from '../plugins/metering/plugin.js';
import { metadataPlugin } from '../plugins/metadata/plugin.js';
import { conntrackHelperPlugin, portForwardingPlugin } from '../plugins/port-forwarding/plugin.js';
import { ml2Plugin } from '../plugins/ml2/plugin.js';
import { qosPlugin } from '../plugins/qos/plugin.js';
import { rbacPlugin } from '../plugins/rbac/plugin.js';
import { segmentsPlugin } from '../plugins/segments/plugin.js';
import { networkSegmentRangePlugin } from '../plugins/segment-ranges/plugin.js';
import { securityGroupPlugin } from '../plugins/securitygroups/plugin.js';
import { addressManagementPlugin, ipAvailabilityPlugin } from '../plugins/subnetpools/plugin.js';
import { trunkPlugin } from '../plugins/trunk/plugin.js';

const CORE: readonly PluginDefinition[] = [ml2Plugin, securityGroupPlugin, agentsPlugin, dhcpPlugin, metadataPlugin, addressManagementPlugin];
/** In load order (QoS, port forwarding and conntrack helpers after router: they use its handlers and floating IPs). */
const SERVICES: readonly PluginDefinition[] = [
  routerPlugin,
  qosPlugin,
  trunkPlugin,
  segmentsPlugin,
  networkSegmentRangePlugin,
  meteringPlugin,
  ipAvailabilityPlugin,
  autoAllocatePlugin,
  portForwardingPlugin,
  conntrackHelperPlugin,
  flavorsPlugin,
  ndpProxyPlugin,
  loggingPlugin,
];
/** Loaded whether named or not (Neutron's DEFAULT_SERVICE_PLUGINS that neutrino has). */
const DEFAULT_SERVICES = new Set(['network_ip_availability', 'flavors']);
/** Neutron's default service plugins whose work neutrino's core does (tags, timestamps, revisions): accepted. */
const BUILT_IN = new Set(['tag', 'timestamp', 'revisions']);

function servicePluginNames(): string[] {
  return SERVICES.map((p) => p.name);
}

/** The plugins to load, in load order; an unknown name stops start-up. */
export function pluginsFor(cfg: Config): PluginDefinition[] {
  const named = cfg.DEFAULT.service_plugins.map((n) => n.trim()).filter((n) => n);
  const wanted = new Set<string>(named.length ? DEFAULT_SERVICES : SERVICES.map((p) => p.name));
  const unknown: string[] = [];
  for (const name of named) {
    const p = SERVICES.find((s) => s.name === name || s.classPaths?.includes(name));
    if (p) wanted.add(p.name);
    else if (!BUILT_IN.has(name)) unknown.push(name);
  }
  if (unknown.length) {
    throw new ConfigError(`[DEFAULT] service_plugins: ${unknown.join(', ')} not available; neutrino has ${servicePluginNames().join(', ')}`, {
      section: 'DEFAULT',
      option: 'service_plugins',
    });
  }
  return [...CORE, ...SERVICES.filter((p) => wanted.has(p.name)), rbacPlugin];
}

// The flavors service plugin (Neutron's FlavorsPlugin, one of its default service plugins):
// flavors, service profiles and their bindings. Routers name a flavor through l3-flavors (the L3
// plugin's flavor_id, checked against this plugin's tables).
import type { PluginDefinition } from '../contract.js';
import { FLAVOR_RULES } from '../../policy/defaults/flavors.js';
import { flavorBindingRoutes } from './binding-routes.js';
import { FlavorHandler } from './flavors.js';
import { ServiceProfileHandler } from './service-profiles.js';

/** The plugin type (neutron_lib.plugins.constants) each extension alias stands for. */
const SERVICE_TYPE_OF_ALIAS: ReadonlyArray<readonly [alias: string, type: string]> = [
  ['router', 'L3_ROUTER_NAT'],
  ['flavors', 'FLAVORS'],
  ['qos', 'QOS'],
  ['metering', 'METERING'],
  ['floating-ip-port-forwarding', 'PORTFORWARDING'],
  ['expose-l3-conntrack-helper', 'CONNTRACKHELPER'],
  ['network-segment-range', 'NETWORK_SEGMENT_RANGE'],
  ['floatingip-pools', 'FLOATINGIPPOOL'],
  ['trunk', 'trunk'],
  ['segment', 'segments'],
  ['auto-allocated-topology', 'auto-allocated-topology'],
  ['network-ip-availability', 'network-ip-availability'],
  ['l3-ndp-proxy', 'NDPPROXY'],
  ['local_ip', 'LOCAL_IP'],
  ['logging', 'LOGGING'],
];

/** The service types a flavor may name under this configuration (type:service_plugin_type). */
export function loadedServiceTypes(aliases: ReadonlySet<string>): Set<string> {
  return new Set(['CORE', ...SERVICE_TYPE_OF_ALIAS.filter(([a]) => aliases.has(a)).map(([, t]) => t)]);
}

export const flavorsPlugin: PluginDefinition = {
  name: 'flavors',
  policies: FLAVOR_RULES,
  classPaths: ['neutron.services.flavors.flavors_plugin.FlavorsPlugin'],
  aliases: () => ['flavors'],
  create: (ctx) => {
    const types = loadedServiceTypes(ctx.aliases);
    return {
      resources: [new FlavorHandler(ctx.db, types), new ServiceProfileHandler(ctx.db, types)],
      routes: flavorBindingRoutes(ctx.db, types),
      exports: { serviceTypes: types },
    };
  },
};

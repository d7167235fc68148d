// The core plugin (Neutron's ML2): networks, subnets and ports with port binding (one active
// binding, and inactive ones for other hosts: binding-extended), security groups
// on ports, the L2 agents' RPC and notifications, the core's ML2 extension drivers (availability
// zones, DNS), standard attributes, tags and quotas. Always loaded.
import { PLUGIN_TOPIC } from '../../core/wire.js';
import { ConfigError } from '../../config/index.js';
import { tableCounter } from '../../quota/quota.js';
import type { PluginDefinition } from '../contract.js';
import { NetworkAvailabilityZoneDriver } from '../agents/availability-zones.js';
import { tagRoutes } from '../common/tag-routes.js';
import { TagStore } from '../common/tags.js';
import { DnsIntegration, dnsAliases } from '../dns/integration.js';
import { quotaRoutes } from '../quotas/routes.js';
import { PortSecurityGroups, SecurityGroupStore } from '../securitygroups/index.js';
import { Ml2PortHandler } from './bound-ports.js';
import type { Ml2ExtensionDriver } from './extension-drivers.js';
import { L2Population } from './l2pop.js';
import { NetworkHandler } from './networks.js';
import { portBindingRoutes } from './port-binding-routes.js';
import { PortAttributesDriver, portAttributeAliases } from './port-attributes.js';
import { PortBindings } from './port-bindings.js';
import { AgentNotifier, Ml2Rpc } from './rpc-callbacks.js';
import { SubnetHandler } from './subnets.js';
import { BASE_RULES } from '../../policy/defaults/base.js';
import { MISC_RULES } from '../../policy/defaults/misc.js';
import { NETWORK_RULES } from '../../policy/defaults/network.js';
import { PORT_RULES } from '../../policy/defaults/port.js';
import { SUBNET_RULES } from '../../policy/defaults/subnet.js';

const CORE_ALIASES = [
  'project-id',
  'standard-attr-description',
  'standard-attr-timestamp',
  'standard-attr-revisions',
  'revision-if-match',
  'standard-attr-tag',
  'tag-ext',
  'tag-ports-during-bulk-creation',
  'tag',
  'provider',
  'multi-provider',
  'external-net',
  'net-mtu',
  'net-mtu-writable',
  'binding',
  'binding-extended',
  'port-security',
  'allowed-address-pairs',
  'extra_dhcp_opt',
  'quotas',
  'quota_details',
  'quota-check-limit',
  'quota-check-limit-default',
  'filter-validation',
  'empty-string-filtering',
  'ip-substring-filtering',
  'sorting',
  'pagination',
  'port-mac-address-regenerate',
  'port-mac-override',
  'network_availability_zone',
  'subnet-service-types',
];

/** The mechanism drivers neutrino has; `[ml2] mechanism_drivers` names some of them (empty: all). */
const MECHANISM_DRIVERS = ['linuxbridge', 'l2population'];

function mechanismDrivers(names: readonly string[]): Set<string> {
  if (!names.length) return new Set(MECHANISM_DRIVERS);
  const unknown = names.filter((n) => !MECHANISM_DRIVERS.includes(n));
  if (unknown.length) {
    throw new ConfigError(`[ml2] mechanism_drivers: ${unknown.join(', ')} not supported; neutrino has ${MECHANISM_DRIVERS.join(', ')}`, {
      section: 'ml2',
      option: 'mechanism_drivers',
    });
  }
  if (!names.includes('linuxbridge'))
    throw new ConfigError('[ml2] mechanism_drivers: linuxbridge is required (the only driver that binds ports)', {
      section: 'ml2',
      option: 'mechanism_drivers',
    });
  return new Set(names);
}

/** What the core plugin exports to the others (ctx.exportsOf('ml2')). */
export interface CoreHandlers {
  networks: NetworkHandler;
  subnets: SubnetHandler;
  ports: Ml2PortHandler;
}

export const ml2Plugin: PluginDefinition = {
  name: 'ml2',
  policies: [...BASE_RULES, ...NETWORK_RULES, ...SUBNET_RULES, ...PORT_RULES, ...MISC_RULES],
  aliases: (cfg) => [...CORE_ALIASES, ...dnsAliases(cfg.ml2.extension_drivers), ...portAttributeAliases(cfg.ml2.extension_drivers)],
  create(ctx) {
    const { cfg, db, ml2, bus, aliases } = ctx;
    const binding = { agentDownTime: cfg.DEFAULT.agent_down_time, mac: { baseMac: ml2.core.baseMac, retries: ml2.core.macGenerationRetries } };
    const securityGroupStore = cfg.securitygroup.enable_security_group ? new SecurityGroupStore(db, ctx.quota, ctx.callbacks) : null;
    if (securityGroupStore) ml2.securityGroups = new PortSecurityGroups(securityGroupStore);
    const extensions: Ml2ExtensionDriver[] = [new NetworkAvailabilityZoneDriver([...cfg.DEFAULT.default_availability_zones])];
    if (aliases.has('dns-integration')) extensions.push(new DnsIntegration(cfg.DEFAULT.dns_domain));
    const portAttributes = new PortAttributesDriver(db, aliases);
    if (!portAttributes.empty) extensions.push(portAttributes);
    const core: CoreHandlers = { networks: new NetworkHandler(ml2), subnets: new SubnetHandler(ml2), ports: new Ml2PortHandler(ml2, binding) };
    const { ports } = core;
    // L2 agents: device details/up/down and l2population on q-plugin; port notifications after commit.
    const l2pop = new L2Population(db, mechanismDrivers(cfg.ml2.mechanism_drivers).has('l2population') ? bus : null, binding);
    if (bus) new AgentNotifier(bus, l2pop, db, binding).subscribe(ctx.callbacks);
    const tags = new TagStore(db);
    return {
      resources: [core.networks, core.subnets, ports],
      ml2Extensions: extensions,
      quotas: [
        { resource: 'network', default: 100, counter: tableCounter('networks') },
        { resource: 'subnet', default: 100, counter: tableCounter('subnets') },
        { resource: 'port', default: 500, counter: tableCounter('ports') },
      ],
      rpc: [{ topic: PLUGIN_TOPIC, handlers: new Ml2Rpc({ db, ports, l2pop, binding, callbacks: ctx.callbacks }).handlers() }],
      routes: (served) => [
        ...tagRoutes(tags, served),
        ...quotaRoutes(db, ctx.quota, { checkByDefault: aliases.has('quota-check-limit-default') }),
        ...portBindingRoutes(new PortBindings(ml2, ports, binding)),
      ],
      exports: { ...core, securityGroupStore },
    };
  },
};

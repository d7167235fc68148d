// Address management as the core plugin has it: subnet pools (with their member actions) and
// address scopes, and the subnetpool quota (as Neutron registers it). Always loaded.
import { tableCounter } from '../../quota/quota.js';
import type { PluginDefinition } from '../contract.js';
import { AddressScopeHandler } from './address-scopes.js';
import { SubnetPoolHandler } from './subnetpools.js';
import { NetworkIpAvailabilityHandler } from './ip-availability.js';

export const addressManagementPlugin: PluginDefinition = {
  name: 'address-management',
  aliases: () => ['subnet_allocation', 'default-subnetpools', 'subnetpool-prefix-ops', 'subnet_onboard', 'address-scope'],
  create(ctx) {
    return {
      resources: [new SubnetPoolHandler({ db: ctx.db, quota: ctx.quota }), new AddressScopeHandler(ctx.db)],
      quotas: [{ resource: 'subnetpool', default: -1, counter: tableCounter('subnetpools') }],
    };
  },
};

/** network_ip_availability: one of Neutron's default service plugins (loaded whatever the list says). */
export const ipAvailabilityPlugin: PluginDefinition = {
  name: 'network_ip_availability',
  classPaths: ['neutron.services.network_ip_availability.plugin.NetworkIPAvailabilityPlugin'],
  aliases: () => ['network-ip-availability'],
  create: (ctx) => ({ resources: [new NetworkIpAvailabilityHandler(ctx.db)] }),
};

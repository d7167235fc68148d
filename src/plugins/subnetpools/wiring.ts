// Address management and RBAC as the server assembles them: subnet pools (with their member
// actions), address scopes, network IP availability and rbac-policies, each present when its
// extension is listed; their quotas (subnetpool, rbac_policy, as Neutron registers them).
import type { RouteInstaller } from '../../api/server.js';
import type { ResourceHandler } from '../../core/resource.js';
import type { Db } from '../../db/connection.js';
import { tableCounter, type QuotaEngine } from '../../quota/quota.js';
import { addressScopeKind, networkKind, securityGroupKind, subnetpoolKind, type RbacKind } from '../rbac/kinds.js';
import { RbacPolicyHandler } from '../rbac/rbac-policies.js';
import { AddressScopeHandler } from './address-scopes.js';
import { NetworkIpAvailabilityHandler } from './ip-availability.js';
import { subnetpoolActionRoutes } from './routes.js';
import { SubnetPoolHandler } from './subnetpools.js';

export interface AddressManagement {
  handlers: ResourceHandler[];
  routes: RouteInstaller[];
}

/**
 * `rbacKinds`: further RBAC object types of other plugins. network always, subnetpool,
 * address_scope and security_group when their rbac-* extension is on.
 */
export function addressManagement(db: Db, quota: QuotaEngine, aliases: ReadonlySet<string>, rbacKinds: RbacKind[] = []): AddressManagement {
  const handlers: ResourceHandler[] = [];
  const routes: RouteInstaller[] = [];
  if (aliases.has('subnet_allocation')) {
    quota.register('subnetpool', -1, tableCounter('subnetpools'));
    const pools = new SubnetPoolHandler({ db, quota });
    handlers.push(pools);
    routes.push(subnetpoolActionRoutes(pools, { onboard: aliases.has('subnet_onboard') }));
  }
  if (aliases.has('address-scope')) handlers.push(new AddressScopeHandler(db));
  if (aliases.has('network-ip-availability')) handlers.push(new NetworkIpAvailabilityHandler(db));
  if (aliases.has('rbac-policies')) {
    quota.register('rbac_policy', 10, tableCounter('rbac_entries'));
    const kinds: RbacKind[] = [networkKind];
    if (aliases.has('rbac-subnetpool')) kinds.push(subnetpoolKind);
    if (aliases.has('rbac-address-scope')) kinds.push(addressScopeKind);
    if (aliases.has('rbac-security-groups') && aliases.has('security-group')) kinds.push(securityGroupKind);
    kinds.push(...rbacKinds);
    handlers.push(new RbacPolicyHandler(db, quota, kinds));
  }
  return { handlers, routes };
}

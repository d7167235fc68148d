// Everything the ML2 resource handlers share: database, type drivers, quotas, settings.
import type { Db } from '../../db/connection.js';
import type { QuotaEngine } from '../../quota/quota.js';
import type { TypeDrivers } from './type-drivers.js';
import type { Ml2Settings } from './settings.js';
import type { PortSecurityGroups } from '../securitygroups/ports.js';
import type { Ml2ExtensionDriver } from './extension-drivers.js';
import type { CallbackRegistry } from '../../core/callbacks.js';

export interface CoreSettings {
  baseMac: string;
  macGenerationRetries: number;
  maxFixedIpsPerPort: number;
  maxDnsNameservers: number;
  maxSubnetHostRoutes: number;
  maxAllowedAddressPairs: number;
}

export interface Ml2Context {
  db: Db;
  types: TypeDrivers;
  quota: QuotaEngine;
  ml2: Ml2Settings;
  core: CoreSettings;
  /** Where the core resources publish their events (see core/callbacks.ts). */
  callbacks: CallbackRegistry;
  /** Security groups on ports (security-group extension), when it is on. */
  securityGroups?: PortSecurityGroups;
  /**
   * ML2 extension drivers, in the order they were added: availability zones and DNS (the server's
   * own), then those of service plugins (QoS, trunks).
   */
  extensions?: Ml2ExtensionDriver[];
  /** segments-peer-subnet-host-routes: routed networks' subnets route to each other (segments plugin). */
  peerSubnetHostRoutes?: boolean;
}

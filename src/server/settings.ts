// Maps the typed configuration onto the settings each part of the server takes.
import { join, resolve } from 'node:path';
import type { Config } from '../config/index.js';
import { ConfigError, parseMappings, parseVlanRanges, parseVniRanges } from '../config/index.js';
import { parseConnectionUrl } from '../db/connection.js';
import type { Ml2Settings } from '../plugins/ml2/settings.js';
import type { CoreSettings } from '../plugins/ml2/context.js';

export function databaseUrl(cfg: Config): string {
  const url = cfg.database.connection;
  if (url) return url;
  return `sqlite:///${resolve(join(cfg.DEFAULT.state_path, 'neutrino.sqlite'))}`;
}

/**
 * `[database] slave_connection`, checked against `connection`: a replica of the same kind of
 * server (SQLite has its own read connection and no replica).
 */
export function readerUrl(cfg: Config): string | null {
  const url = cfg.database.slave_connection;
  if (!url) return null;
  const main = parseConnectionUrl(databaseUrl(cfg)).dialect;
  let replica: string;
  try {
    replica = parseConnectionUrl(url).dialect;
  } catch (err) {
    throw new ConfigError(`[database] slave_connection: ${(err as Error).message.replace(/^\[database\] connection: /, '')}`, {});
  }
  if (main === 'sqlite' || replica !== main)
    throw new ConfigError(
      `[database] slave_connection: a ${replica} replica of a ${main} database; a replica must be PostgreSQL or MySQL, of the same kind as [database] connection`,
      {},
    );
  return url;
}

export function ml2Settings(cfg: Config): Ml2Settings {
  const vlan = parseVlanRanges(cfg.ml2_type_vlan.network_vlan_ranges);
  const vlanRanges: Ml2Settings['vlanRanges'] = [];
  for (const [physnet, ranges] of vlan) {
    if (ranges.length === 0) vlanRanges.push({ physnet });
    for (const [min, max] of ranges) vlanRanges.push({ physnet, min, max });
  }
  const physnetMtus: Record<string, number> = {};
  for (const [k, v] of parseMappings(cfg.ml2.physical_network_mtus, '[ml2] physical_network_mtus')) physnetMtus[k] = Number(v);
  return {
    typeDrivers: [...cfg.ml2.type_drivers],
    tenantNetworkTypes: [...cfg.ml2.tenant_network_types],
    flatNetworks: [...cfg.ml2_type_flat.flat_networks],
    vlanRanges,
    vxlanRanges: parseVniRanges(cfg.ml2_type_vxlan.vni_ranges, 'vxlan').map(([a, b]) => [a, b]),
    geneveRanges: parseVniRanges(cfg.ml2_type_geneve.vni_ranges, 'geneve').map(([a, b]) => [a, b]),
    globalPhysnetMtu: cfg.DEFAULT.global_physnet_mtu,
    pathMtu: cfg.ml2.path_mtu,
    physnetMtus,
    geneveMaxHeaderSize: cfg.ml2_type_geneve.max_header_size,
    overlayIpVersion: cfg.ml2.overlay_ip_version === 6 ? 6 : 4,
  };
}

export function coreSettings(cfg: Config): CoreSettings {
  return {
    baseMac: cfg.DEFAULT.base_mac,
    macGenerationRetries: cfg.DEFAULT.mac_generation_retries,
    maxFixedIpsPerPort: cfg.DEFAULT.max_fixed_ips_per_port,
    maxDnsNameservers: cfg.DEFAULT.max_dns_nameservers,
    maxSubnetHostRoutes: cfg.DEFAULT.max_subnet_host_routes,
    maxAllowedAddressPairs: 10,
  };
}

export function quotaDefaults(cfg: Config): Record<string, number> {
  const q = cfg.quotas as unknown as Record<string, number>;
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(q)) if (k.startsWith('quota_') && typeof v === 'number') out[k.slice(6)] = v;
  return out;
}

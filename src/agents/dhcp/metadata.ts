// Metadata for networks the DHCP agent serves (Neutron's enable_isolated_metadata and
// force_metadata, with the dnsmasq driver's rules):
//   - either option puts 169.254.169.254/32 on the namespace's ns- interface, and fe80::a9fe:a9fe/64
//     (added without DAD: two DHCP agents of a network both hold it and both serve, as they both
//     hold 169.254.169.254; Neutron waits for DAD instead), where the proxy listens too;
//   - the proxy runs in qdhcp-<network> when force_metadata is set, or when enable_isolated_metadata
//     is set and a DHCP subnet is isolated: no router interface holds its gateway address;
//   - DHCP pushes a classless static route to 169.254.169.254/32 via the DHCP port's address on
//     the subnet when force_metadata is set or the subnet is isolated, and via the gateway
//     otherwise (a routed subnet reaches metadata through its router's proxy).
// Neutron pushes the gateway route even with both options off; here nothing about metadata
// changes DHCP's answers unless one of them is on.
import { ROUTER_INTERFACE_OWNERS } from '../../core/wire.js';
import { IpBatch, runInNetns } from '../../dataplane/index.js';
import {
  METADATA_CIDR,
  METADATA_V6_CIDR,
  METADATA_V6_IP,
  startNetworkMetadataProxy,
  stopMetadataProxy,
  type MetadataProxyOptions,
} from '../metadata/proxy.js';
import { dhcpSubnets, type NetworkInfo, type PortInfo } from './render.js';

export interface DhcpMetadataOptions extends MetadataProxyOptions {
  enableIsolatedMetadata: boolean;
  forceMetadata: boolean;
}

const on = (o: DhcpMetadataOptions | undefined): o is DhcpMetadataOptions => !!o && (o.enableIsolatedMetadata || o.forceMetadata);

/** Subnets whose gateway address no router interface holds (Neutron's get_isolated_subnets). */
export function isolatedSubnets(n: NetworkInfo): Set<string> {
  const gateways = new Map(n.subnets.map((s) => [s.id, s.gateway_ip]));
  const routed = new Set<string>();
  for (const p of n.ports) {
    if (!ROUTER_INTERFACE_OWNERS.includes(p.device_owner)) continue;
    for (const f of p.fixed_ips) if (gateways.get(f.subnet_id) === f.ip_address) routed.add(f.subnet_id);
  }
  return new Set(n.subnets.filter((s) => !routed.has(s.id)).map((s) => s.id));
}

/** Whether the network gets a metadata proxy in its namespace (Neutron's should_enable_metadata). */
export function shouldServeMetadata(o: DhcpMetadataOptions | undefined, n: NetworkInfo): boolean {
  if (!on(o)) return false;
  const subnets = n.subnets.filter((s) => s.enable_dhcp);
  if (!subnets.length) return false;
  if (o.forceMetadata) return true;
  const isolated = isolatedSubnets(n);
  return subnets.some((s) => isolated.has(s.id));
}

/** Extra addresses of the ns- interface. */
export function metadataAddresses(o: DhcpMetadataOptions | undefined): string[] {
  return on(o) ? [METADATA_CIDR] : [];
}

/** Per IPv4 DHCP subnet, the metadata host route ("169.254.169.254/32,<nexthop>") DHCP pushes. */
export function metadataRoutes(o: DhcpMetadataOptions | undefined, n: NetworkInfo, port: PortInfo): Map<string, string> {
  const out = new Map<string, string>();
  if (!on(o)) return out;
  const isolated = isolatedSubnets(n);
  for (const s of dhcpSubnets(n)) {
    if (s.ip_version !== 4) continue;
    const own = port.fixed_ips.find((f) => f.subnet_id === s.id)?.ip_address;
    if (o.forceMetadata || (isolated.has(s.id) && o.enableIsolatedMetadata)) {
      if (own) out.set(s.id, `${METADATA_CIDR},${own}`);
    } else if (!isolated.has(s.id) && s.gateway_ip) {
      out.set(s.id, `${METADATA_CIDR},${s.gateway_ip}`);
    }
  }
  return out;
}

/**
 * fe80::a9fe:a9fe/64 on the namespace's interface: the links' diff leaves link-local addresses
 * alone (the kernel makes those), so this step reads and adds it. Returns the writes made.
 */
async function ensureMetadataV6Address(netns: string, dev: string): Promise<number> {
  const r = await runInNetns(netns, { argv: ['ip', '-json', '-6', 'addr', 'show', 'dev', dev] });
  const have = (JSON.parse(r.stdout || '[]') as Array<{ addr_info?: Array<{ local?: string }> }>).flatMap((l) => l.addr_info ?? []);
  if (have.some((a) => a.local === METADATA_V6_IP)) return 0;
  await new IpBatch().line('addr', 'add', METADATA_V6_CIDR, 'dev', dev, 'nodad').apply({ netns });
  return 1;
}

/**
 * Starts, keeps or stops the network's proxy after its namespace and interface (`dev`) are in
 * place; with either option on, `dev` holds the IPv6 metadata address and the proxy listens there too.
 */
export async function syncMetadataProxy(o: DhcpMetadataOptions | undefined, n: NetworkInfo, netns: string, dev: string): Promise<string> {
  if (!o) return 'none';
  if (on(o)) await ensureMetadataV6Address(netns, dev);
  if (shouldServeMetadata(o, n)) return startNetworkMetadataProxy(o, n.id, netns, dev);
  return (await stopMetadataProxy(o, n.id)) ? 'stopped' : 'none';
}

/** Stops the network's proxy (the network leaves this agent). */
export async function stopNetworkMetadata(o: DhcpMetadataOptions | undefined, networkId: string): Promise<void> {
  if (o) await stopMetadataProxy(o, networkId);
}

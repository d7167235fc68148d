// `neutrino db import-neutron --from URL`: copies a Neutron (Zed or later) database into neutrino's
// empty one in a single transaction. What neutrino cannot carry is refused before anything is
// written: any non-empty Neutron table that is neither carried nor runtime state agents rebuild,
// and values neutrino has no place for (DVR routers, VLAN-transparent networks, ...).
import type { Db } from '../db/connection.js';
import type { Database } from '../db/schema.js';
import { inTransaction, type Tx } from '../db/tx.js';
import { parseIpPrefix } from '../definitions/security-group.js';
import { bool, ImportRefused, isoTime, openNeutronSource, type NeutronSource, type Row } from './neutron-source.js';

/** Neutron tables whose rows are copied (all columns that matter to the API). */
const CARRIED = new Set([
  'standardattributes',
  'networks',
  'externalnetworks',
  'networksecuritybindings',
  'networksegments',
  'networkdnsdomains',
  'subnets',
  'ipallocationpools',
  'dnsnameservers',
  'subnetroutes',
  'subnet_service_types',
  'ports',
  'portsecuritybindings',
  'ml2_port_bindings',
  'ipallocations',
  'allowedaddresspairs',
  'extradhcpopts',
  'portdnses',
  'securitygroups',
  'securitygrouprules',
  'securitygroupportbindings',
  'default_security_group',
  'routers',
  'routerports',
  'routerroutes',
  'router_extra_attributes',
  'floatingips',
  'networkrbacs',
  'securitygrouprbacs',
  'qospolicyrbacs',
  'qos_policies',
  'qos_policies_default',
  'qos_bandwidth_limit_rules',
  'qos_dscp_marking_rules',
  'qos_minimum_bandwidth_rules',
  'qos_network_policy_bindings',
  'qos_port_policy_bindings',
  'qos_fip_policy_bindings',
  'qos_router_gw_policy_bindings',
  'trunks',
  'subports',
  'quotas',
  'tags',
  'address_scopes',
  'addressscoperbacs',
  'subnetpools',
  'subnetpoolprefixes',
  'subnetpoolrbacs',
  'address_groups',
  'address_associations',
  'addressgrouprbacs',
  'portforwardings',
  'meteringlabels',
  'meteringlabelrules',
  'network_segment_ranges',
  'ha_router_networks',
  'ha_router_vrid_allocations',
  'ha_router_agent_port_bindings',
  // Agents come with their scheduling so that each keeps its networks and routers (HA ports name them).
  'agents',
  'networkdhcpagentbindings',
  'routerl3agentbindings',
]);

/**
 * Neutron tables left behind on purpose: state the agents and servers rebuild (hosts' segment
 * mappings and tunnel endpoints are re-reported),
 * usage caches recounted, Neutron's own IPAM copy of ipallocations, and the type drivers' range
 * rows (neutrino marks each carried segment's id as taken and fills the ranges from its config).
 */
const REBUILT = new Set([
  'alembic_version',
  'alembic_version_fwaas',
  'segmenthostmappings',
  'provisioningblocks',
  'quotausages',
  'reservations',
  'resourcedeltas',
  'ipamsubnets',
  'ipamallocationpools',
  'ipamallocations',
  'ml2_flat_allocations',
  'ml2_vlan_allocations',
  'ml2_vxlan_allocations',
  'ml2_geneve_allocations',
  'ml2_gre_allocations',
  'ml2_vxlan_endpoints',
  'ml2_geneve_endpoints',
  'ml2_gre_endpoints',
  // Neutron's lock rows for subnet changes and routers' service-provider choice (neutrino has one L3).
  'network_subnet_lock',
  'providerresourceassociations',
  'ovn_hash_ring',
  'ovn_revision_numbers',
]);

export { ImportRefused };

export interface ImportSummary {
  /** Rows written per neutrino table. */
  written: Record<string, number>;
}

type Out = { [T in keyof Database]?: Array<Record<string, unknown>> };

const json = (v: unknown, empty: string): string => {
  if (v === null || v === undefined || v === '') return empty;
  return String(v);
};
const str = (v: unknown): string => (v === null || v === undefined ? '' : String(v));
const nullable = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export async function importNeutron(fromUrl: string, db: Db): Promise<ImportSummary> {
  const src = await openNeutronSource(fromUrl);
  try {
    const out = await readNeutron(src);
    await ensureEmpty(db);
    const written: Record<string, number> = {};
    await inTransaction(
      db,
      async (tx) => {
        for (const [table, rows] of Object.entries(out) as Array<[keyof Database, Array<Record<string, unknown>>]>) {
          await insertAll(tx, table, rows);
          written[table] = rows.length;
        }
      },
      0,
    );
    return { written };
  } finally {
    await src.close();
  }
}

async function ensureEmpty(db: Db): Promise<void> {
  for (const t of ['networks', 'ports', 'security_groups', 'routers', 'qos_policies'] as const) {
    const r = await db.kysely
      .selectFrom(t)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    if (Number(r.n) > 0) throw new ImportRefused(`the target database already has ${t}; import into an empty neutrino database`);
  }
}

async function insertAll(tx: Tx, table: keyof Database, rows: Array<Record<string, unknown>>): Promise<void> {
  if (!rows.length) return;
  // Chunked so that no statement passes SQLite's or PostgreSQL's bound-parameter limits.
  const per = Math.max(1, Math.floor(2000 / Object.keys(rows[0]!).length));
  for (let i = 0; i < rows.length; i += per) {
    await tx
      .insertInto(table)
      .values(rows.slice(i, i + per) as never)
      .execute();
  }
}

/** Reads the whole source and maps it to neutrino's rows; throws ImportRefused listing every reason. */
export async function readNeutron(src: NeutronSource): Promise<Out> {
  const refusals: string[] = [];
  for (const t of await src.tables()) {
    if (CARRIED.has(t) || REBUILT.has(t)) continue;
    const n = await src.count(t);
    if (n > 0) refusals.push(`table ${t} has ${n} row(s): neutrino does not carry it`);
  }
  const R = async (t: string) => src.rows(t);
  const byKey = <K extends string>(rows: Row[], key: K) => new Map(rows.map((r) => [String(r[key]), r]));

  const std = byKey(await R('standardattributes'), 'id');
  /** standard_attr_id → [resource id, neutrino tag type], for tags. */
  const tagTargets = new Map<string, [string, string]>();
  const standard = (r: Row, tagType: string | null) => {
    const s = std.get(String(r.standard_attr_id));
    if (!s) throw new ImportRefused(`${String(r.id)}: standard attributes row ${String(r.standard_attr_id)} is missing`);
    if (tagType) tagTargets.set(String(r.standard_attr_id), [String(r.id), tagType]);
    return {
      description: str(s.description),
      revision_number: Number(s.revision_number ?? 0),
      created_at: isoTime(s.created_at),
      updated_at: isoTime(s.updated_at ?? s.created_at),
    };
  };
  const out: Out = {};

  // Agents first: HA port bindings and scheduling rows point at them.
  out.agents = (await R('agents')).map((a) => ({
    id: a.id,
    agent_type: str(a.agent_type),
    binary: str(a.binary),
    topic: str(a.topic),
    host: str(a.host),
    availability_zone: nullable(a.availability_zone),
    admin_state_up: bool(a.admin_state_up),
    created_at: isoTime(a.created_at),
    started_at: isoTime(a.started_at),
    heartbeat_timestamp: isoTime(a.heartbeat_timestamp),
    description: nullable(a.description),
    configurations: json(a.configurations, '{}'),
    resource_versions: nullable(a.resource_versions),
    load: Number(a.load ?? 0),
  }));

  // Address scopes and subnet pools (before the subnets allocated from them).
  out.address_scopes = (await R('address_scopes')).map((a) => ({
    id: a.id,
    project_id: str(a.project_id),
    name: str(a.name),
    ip_version: Number(a.ip_version),
  }));
  out.subnetpools = (await R('subnetpools')).map((p) => ({
    id: p.id,
    project_id: str(p.project_id),
    name: str(p.name),
    ip_version: Number(p.ip_version),
    default_prefixlen: Number(p.default_prefixlen),
    min_prefixlen: Number(p.min_prefixlen),
    max_prefixlen: Number(p.max_prefixlen),
    default_quota: num(p.default_quota),
    is_default: bool(p.is_default),
    address_scope_id: nullable(p.address_scope_id),
    ...standard(p, 'subnetpool'),
  }));
  out.subnetpool_prefixes = (await R('subnetpoolprefixes')).map((p) => ({ subnetpool_id: p.subnetpool_id, cidr: str(p.cidr) }));

  // Address groups (before the security group rules that name them).
  out.address_groups = (await R('address_groups')).map((g) => ({ id: g.id, project_id: str(g.project_id), name: str(g.name), ...standard(g, null) }));
  out.address_associations = (await R('address_associations')).map((a) => ({ address_group_id: a.address_group_id, address: str(a.address) }));

  // Segment ranges: the default ones are the ML2 configuration's, which neutrino writes itself at
  // start (ids derived from the range); those an admin made are carried.
  out.network_segment_ranges = (await R('network_segment_ranges'))
    .filter((r) => !bool(r.default))
    .map((r) => ({
      id: r.id,
      name: str(r.name),
      is_default: 0,
      shared: bool(r.shared),
      project_id: nullable(r.project_id),
      network_type: str(r.network_type),
      physical_network: nullable(r.physical_network),
      minimum: Number(r.minimum),
      maximum: Number(r.maximum),
      ...standard(r, 'network_segment_range'),
    }));

  // Networks.
  const external = byKey(await R('externalnetworks'), 'network_id');
  const netSecurity = byKey(await R('networksecuritybindings'), 'network_id');
  out.networks = (await R('networks')).map((n) => {
    if (bool(n.vlan_transparent)) refusals.push(`network ${String(n.id)} is vlan_transparent: neutrino has no vlan-transparent extension`);
    const ext = external.get(String(n.id));
    const sec = netSecurity.get(String(n.id));
    return {
      id: n.id,
      project_id: str(n.project_id),
      name: str(n.name),
      status: str(n.status),
      admin_state_up: bool(n.admin_state_up),
      mtu: Number(n.mtu ?? 1500),
      router_external: ext ? 1 : 0,
      is_default: ext ? bool(ext.is_default) : 0,
      port_security_enabled: sec ? bool(sec.port_security_enabled) : 1,
      availability_zone_hints: json(n.availability_zone_hints, '[]'),
      ...standard(n, 'network'),
    };
  });
  out.networkdnsdomains = (await R('networkdnsdomains')).map((d) => ({ network_id: d.network_id, dns_domain: str(d.dns_domain) }));

  // Segments, and their ids marked taken so that no new network gets them.
  const segments = await R('networksegments');
  out.network_segments = segments.map((s) => ({
    id: s.id,
    network_id: s.network_id,
    network_type: str(s.network_type),
    physical_network: nullable(s.physical_network),
    segmentation_id: num(s.segmentation_id),
    segment_index: Number(s.segment_index ?? 0),
    is_dynamic: bool(s.is_dynamic),
    name: nullable(s.name),
    ...standard(s, 'segment'),
  }));
  out.segment_allocations = segments
    .filter((s) => ['flat', 'vlan', 'vxlan', 'geneve', 'gre'].includes(String(s.network_type)))
    .map((s) => ({
      network_type: String(s.network_type),
      physical_network: str(s.physical_network),
      segmentation_id: Number(s.segmentation_id ?? 0),
      allocated: 1,
    }));

  // Subnets.
  out.subnets = (await R('subnets')).map((s) => {
    return {
      id: s.id,
      network_id: s.network_id,
      project_id: str(s.project_id),
      name: str(s.name),
      ip_version: Number(s.ip_version),
      cidr: str(s.cidr),
      gateway_ip: nullable(s.gateway_ip),
      enable_dhcp: bool(s.enable_dhcp),
      ipv6_ra_mode: nullable(s.ipv6_ra_mode),
      ipv6_address_mode: nullable(s.ipv6_address_mode),
      subnetpool_id: nullable(s.subnetpool_id),
      segment_id: nullable(s.segment_id),
      ...standard(s, 'subnet'),
    };
  });
  out.allocation_pools = (await R('ipallocationpools')).map((p) => ({ subnet_id: p.subnet_id, first_ip: str(p.first_ip), last_ip: str(p.last_ip) }));
  out.dns_nameservers = (await R('dnsnameservers')).map((d) => ({ subnet_id: d.subnet_id, address: str(d.address), position: Number(d.order ?? 0) }));
  out.subnet_routes = (await R('subnetroutes')).map((r) => ({ subnet_id: r.subnet_id, destination: str(r.destination), nexthop: str(r.nexthop) }));
  out.subnet_service_types = (await R('subnet_service_types')).map((r) => ({ subnet_id: r.subnet_id, service_type: str(r.service_type) }));

  // Ports: the active binding on the port row, others as inactive bindings.
  const portSecurity = byKey(await R('portsecuritybindings'), 'port_id');
  const active = new Map<string, Row>();
  out.port_inactive_bindings = [];
  for (const b of await R('ml2_port_bindings')) {
    if (String(b.status ?? 'ACTIVE') === 'ACTIVE') active.set(String(b.port_id), b);
    else
      out.port_inactive_bindings.push({
        port_id: b.port_id,
        host: str(b.host),
        vnic_type: str(b.vnic_type) || 'normal',
        profile: json(b.profile, '{}'),
        vif_type: str(b.vif_type),
        vif_details: json(b.vif_details, '{}'),
      });
  }
  out.ports = (await R('ports')).map((p) => {
    if (p.ip_allocation && p.ip_allocation !== 'immediate')
      refusals.push(`port ${String(p.id)} has ip_allocation ${String(p.ip_allocation)}: neutrino allocates immediately only`);
    const b = active.get(String(p.id));
    const sec = portSecurity.get(String(p.id));
    return {
      id: p.id,
      network_id: p.network_id,
      project_id: str(p.project_id),
      name: str(p.name),
      mac_address: str(p.mac_address),
      admin_state_up: bool(p.admin_state_up),
      status: str(p.status),
      device_id: str(p.device_id),
      device_owner: str(p.device_owner),
      port_security_enabled: sec ? bool(sec.port_security_enabled) : 1,
      binding_host_id: b ? str(b.host) : '',
      binding_vnic_type: (b && str(b.vnic_type)) || 'normal',
      binding_profile: json(b?.profile, '{}'),
      binding_vif_type: b ? str(b.vif_type) : 'unbound',
      binding_vif_details: json(b?.vif_details, '{}'),
      ...standard(p, 'port'),
    };
  });
  out.ip_allocations = (await R('ipallocations')).map((a) => ({
    port_id: a.port_id,
    ip_address: str(a.ip_address),
    subnet_id: a.subnet_id,
    network_id: a.network_id,
  }));
  out.allowed_address_pairs = (await R('allowedaddresspairs')).map((a) => ({
    port_id: a.port_id,
    mac_address: str(a.mac_address),
    ip_address: str(a.ip_address),
  }));
  out.extra_dhcp_opts = (await R('extradhcpopts')).map((o) => ({
    id: o.id,
    port_id: o.port_id,
    opt_name: str(o.opt_name),
    opt_value: str(o.opt_value),
    ip_version: Number(o.ip_version ?? 4),
  }));
  out.portdnses = (await R('portdnses')).map((d) => ({ port_id: d.port_id, dns_name: str(d.dns_name), dns_domain: str(d.dns_domain) }));

  // Security groups.
  out.security_groups = (await R('securitygroups')).map((g) => ({
    id: g.id,
    project_id: str(g.project_id),
    name: str(g.name),
    stateful: g.stateful === null || g.stateful === undefined ? 1 : bool(g.stateful),
    ...standard(g, 'security_group'),
  }));
  out.default_security_groups = (await R('default_security_group')).map((d) => ({
    project_id: str(d.project_id),
    security_group_id: d.security_group_id,
  }));
  out.security_group_rules = (await R('securitygrouprules')).map((r) => {
    const prefix = nullable(r.remote_ip_prefix);
    return {
      id: r.id,
      project_id: str(r.project_id),
      security_group_id: r.security_group_id,
      remote_group_id: nullable(r.remote_group_id),
      remote_address_group_id: nullable(r.remote_address_group_id),
      direction: str(r.direction),
      ethertype: str(r.ethertype),
      protocol: nullable(r.protocol),
      port_range_min: num(r.port_range_min),
      port_range_max: num(r.port_range_max),
      remote_ip_prefix: prefix,
      // Neutron computes it on read; neutrino keeps it (the agents' rules use it).
      normalized_cidr: prefix ? (parseIpPrefix(prefix)?.cidr ?? prefix) : null,
      ...standard(r, 'security_group_rule'),
    };
  });
  out.security_group_port_bindings = (await R('securitygroupportbindings')).map((b) => ({
    port_id: b.port_id,
    security_group_id: b.security_group_id,
  }));

  // Routers.
  const extra = byKey(await R('router_extra_attributes'), 'router_id');
  out.routers = (await R('routers')).map((r) => {
    const x = extra.get(String(r.id));
    if (x && bool(x.distributed)) refusals.push(`router ${String(r.id)} is distributed (DVR): neutrino has no DVR`);
    if (r.flavor_id) refusals.push(`router ${String(r.id)} has flavor ${String(r.flavor_id)}: neutrino has no flavors`);
    return {
      id: r.id,
      project_id: str(r.project_id),
      name: str(r.name),
      status: str(r.status),
      admin_state_up: bool(r.admin_state_up),
      gw_port_id: nullable(r.gw_port_id),
      enable_snat: bool(r.enable_snat),
      availability_zone_hints: json(x?.availability_zone_hints, '[]'),
      ha: x ? bool(x.ha) : 0,
      ha_vr_id: x && bool(x.ha) ? num(x.ha_vr_id) : null,
      ...standard(r, 'router'),
    };
  });
  out.router_ports = (await R('routerports')).map((p) => ({ router_id: p.router_id, port_id: p.port_id, port_type: str(p.port_type) }));
  out.router_routes = (await R('routerroutes')).map((p) => ({ router_id: p.router_id, destination: str(p.destination), nexthop: str(p.nexthop) }));
  // HA: each project's HA network, the routers' VRRP ids on it (neutrino's row names its router),
  // and the HA ports per L3 agent with the state last reported.
  out.ha_router_networks = (await R('ha_router_networks')).map((h) => ({ project_id: str(h.project_id), network_id: h.network_id }));
  const haNet = new Map(out.ha_router_networks.map((h) => [String(h.project_id), String(h.network_id)]));
  out.ha_router_vrid_allocations = [];
  for (const r of out.routers) {
    if (!r.ha) continue;
    const net = haNet.get(String(r.project_id));
    if (!net || r.ha_vr_id === null) {
      refusals.push(`HA router ${String(r.id)} has no HA network or VRRP id`);
      continue;
    }
    out.ha_router_vrid_allocations.push({ network_id: net, vr_id: r.ha_vr_id, router_id: r.id });
  }
  out.ha_router_agent_port_bindings = (await R('ha_router_agent_port_bindings')).map((b) => ({
    port_id: b.port_id,
    router_id: b.router_id,
    l3_agent_id: nullable(b.l3_agent_id),
    state: str(b.state) || 'standby',
  }));
  out.routerl3agentbindings = (await R('routerl3agentbindings')).map((b) => ({
    router_id: b.router_id,
    l3_agent_id: b.l3_agent_id,
    binding_index: Number(b.binding_index ?? 1),
  }));
  out.networkdhcpagentbindings = (await R('networkdhcpagentbindings')).map((b) => ({ network_id: b.network_id, dhcp_agent_id: b.dhcp_agent_id }));

  out.floatingips = (await R('floatingips')).map((f) => ({
    id: f.id,
    project_id: str(f.project_id),
    floating_ip_address: str(f.floating_ip_address),
    floating_network_id: f.floating_network_id,
    floating_port_id: f.floating_port_id,
    fixed_port_id: nullable(f.fixed_port_id),
    fixed_ip_address: nullable(f.fixed_ip_address),
    router_id: nullable(f.router_id),
    last_known_router_id: nullable(f.last_known_router_id),
    status: str(f.status),
    ...standard(f, 'floatingip'),
  }));

  out.portforwardings = (await R('portforwardings')).map((f) => ({
    id: f.id,
    floatingip_id: f.floatingip_id,
    internal_neutron_port_id: f.internal_neutron_port_id,
    protocol: str(f.protocol),
    internal_ip_address: str(f.internal_ip_address),
    internal_port_start: Number(f.internal_port_start),
    internal_port_end: Number(f.internal_port_end),
    external_port_start: Number(f.external_port_start),
    external_port_end: Number(f.external_port_end),
    // Neutron keeps it among the standard attributes; neutrino's row has no others.
    description: standard(f, null).description,
  }));

  // Metering: labels have no standard attributes in either.
  out.metering_labels = (await R('meteringlabels')).map((l) => ({
    id: l.id,
    project_id: str(l.project_id),
    name: str(l.name),
    description: str(l.description),
    shared: bool(l.shared),
  }));
  out.metering_label_rules = (await R('meteringlabelrules')).map((r) => ({
    id: r.id,
    metering_label_id: r.metering_label_id,
    direction: str(r.direction),
    remote_ip_prefix: nullable(r.remote_ip_prefix),
    source_ip_prefix: nullable(r.source_ip_prefix),
    destination_ip_prefix: nullable(r.destination_ip_prefix),
    excluded: bool(r.excluded),
  }));

  // RBAC: Neutron's table per object type, neutrino's one table.
  out.rbac_entries = [];
  for (const [table, objectType] of [
    ['networkrbacs', 'network'],
    ['securitygrouprbacs', 'security_group'],
    ['qospolicyrbacs', 'qos_policy'],
    ['subnetpoolrbacs', 'subnetpool'],
    ['addressscoperbacs', 'address_scope'],
    ['addressgrouprbacs', 'address_group'],
  ] as const) {
    for (const r of await R(table)) {
      out.rbac_entries.push({
        id: r.id,
        object_type: objectType,
        object_id: r.object_id,
        project_id: str(r.project_id),
        target_project: str(r.target_project),
        action: str(r.action),
      });
    }
  }

  // QoS.
  out.qos_policies = (await R('qos_policies')).map((q) => ({ id: q.id, project_id: str(q.project_id), name: str(q.name), ...standard(q, 'policy') }));
  out.qos_policies_default = (await R('qos_policies_default')).map((d) => ({ project_id: str(d.project_id), qos_policy_id: d.qos_policy_id }));
  out.qos_bandwidth_limit_rules = (await R('qos_bandwidth_limit_rules')).map((r) => ({
    id: r.id,
    qos_policy_id: r.qos_policy_id,
    max_kbps: num(r.max_kbps),
    max_burst_kbps: num(r.max_burst_kbps),
    direction: str(r.direction) || 'egress',
  }));
  out.qos_dscp_marking_rules = (await R('qos_dscp_marking_rules')).map((r) => ({
    id: r.id,
    qos_policy_id: r.qos_policy_id,
    dscp_mark: num(r.dscp_mark),
  }));
  out.qos_minimum_bandwidth_rules = (await R('qos_minimum_bandwidth_rules')).map((r) => ({
    id: r.id,
    qos_policy_id: r.qos_policy_id,
    min_kbps: num(r.min_kbps),
    direction: str(r.direction) || 'egress',
  }));
  out.qos_network_policy_bindings = (await R('qos_network_policy_bindings')).map((b) => ({ network_id: b.network_id, policy_id: b.policy_id }));
  out.qos_port_policy_bindings = (await R('qos_port_policy_bindings')).map((b) => ({ port_id: b.port_id, policy_id: b.policy_id }));
  out.qos_fip_policy_bindings = (await R('qos_fip_policy_bindings')).map((b) => ({ fip_id: b.fip_id, policy_id: b.policy_id }));
  // qos-gateway-ip: the policy of a router's gateway IP (external_gateway_info.qos_policy_id).
  out.qos_router_gw_policy_bindings = (await R('qos_router_gw_policy_bindings')).map((b) => ({ router_id: b.router_id, policy_id: b.policy_id }));

  // Trunks.
  out.trunks = (await R('trunks')).map((t) => ({
    id: t.id,
    project_id: str(t.project_id),
    name: str(t.name),
    admin_state_up: bool(t.admin_state_up),
    port_id: t.port_id,
    status: str(t.status),
    ...standard(t, 'trunk'),
  }));
  out.subports = (await R('subports')).map((s) => ({
    port_id: s.port_id,
    trunk_id: s.trunk_id,
    segmentation_type: str(s.segmentation_type),
    segmentation_id: Number(s.segmentation_id),
  }));

  out.quotas = (await R('quotas')).map((q) => ({ project_id: str(q.project_id), resource: str(q.resource), hard_limit: Number(q.limit) }));

  // Tags, last: they point at resources through standard_attr_id.
  out.tags = [];
  for (const t of await R('tags')) {
    const target = tagTargets.get(String(t.standard_attr_id));
    if (!target) {
      const s = std.get(String(t.standard_attr_id));
      refusals.push(`tag "${String(t.tag)}" is on a ${s ? String(s.resource_type) : 'missing resource'}: neutrino does not carry those`);
      continue;
    }
    out.tags.push({ resource_id: target[0], resource_type: target[1], tag: str(t.tag) });
  }

  if (refusals.length) throw new ImportRefused(`cannot import this Neutron database:\n  ${refusals.join('\n  ')}`);
  return out;
}

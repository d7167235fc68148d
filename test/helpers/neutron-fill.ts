// A real Neutron filled through its API, and the GET-by-GET comparison with neutrino, for the
// import test (test/db/import-neutron.test.ts).
import assert from 'node:assert/strict';
import type { Ini } from './process-server.js';

export const PROJECT = '6f0c1e7a2b5d4c3e9a8b7c6d5e4f3a21';
export const OTHER = '0b1c2d3e4f5a46b7c8d9e0f1a2b3c4d5';

const absentVsNull = (a: unknown, b: unknown) => a === undefined && b === null;

/**
 * Fields that legitimately differ, per collection ('*' for all), each with why; with `only`, the
 * field is let through only for the values it admits (Neutron's, neutrino's).
 */
export const DIFFERENCES: Array<{ collection: string; field: string; reason: string; only?: (a: unknown, b: unknown) => boolean }> = [
  ...(['created_at', 'updated_at', 'revision_number'] as const).map((field) => ({
    collection: 'address_groups',
    field,
    reason: "Zed does not show an address group's standard attributes (it keeps them); neutrino shows them as for every other standard resource",
    only: (a: unknown) => a === undefined,
  })),
  ...(['project_id', 'physical_network'] as const).map((field) => ({
    collection: 'network_segment_ranges',
    field,
    reason: "Neutron leaves out a shared range's project_id and a non-VLAN range's physical_network; neutrino shows them as null",
    only: absentVsNull,
  })),
  ...(['internal_port', 'external_port'] as const).map((field) => ({
    collection: 'port_forwardings',
    field,
    reason: 'Neutron leaves out the single ports of a forwarding of a port range; neutrino shows them as null',
    only: absentVsNull,
  })),
  {
    collection: 'floatingips',
    field: 'port_forwardings',
    reason:
      "in a floating IP's port_forwardings, neutrino keeps a ranged forwarding's ranges (and null single ports) where Neutron shows neither: its L3 agent reads them there (sync_routers)",
    only: (a, b) => JSON.stringify(canonical(a)) === JSON.stringify(canonical(withoutRangeExtras(a, b))),
  },
  { collection: 'networks', field: 'l2_adjacency', reason: 'neutrino has no l2_adjacency extension (a constant true in ML2)' },
  { collection: 'routers', field: 'external_gateways', reason: 'external-gateway-multihoming is newer than Zed' },
  { collection: 'routers', field: 'enable_default_route_ecmp', reason: 'enable-default-route-ecmp is newer than Zed' },
  {
    collection: 'networks',
    field: 'is_default',
    reason: "neutrino shows is_default only with auto-allocated-topology's own listing; Neutron adds it to every external network",
  },
  {
    collection: 'segments',
    field: 'tags',
    reason: 'neutrino tags segments (standard-attr-tag on every standard resource); Zed does not list them for segments',
  },
  {
    collection: 'segments',
    field: 'description',
    reason: "Neutron shows null for a description it never set; neutrino's column is NOT NULL and shows ''",
  },
  {
    collection: 'security_group_rules',
    field: 'description',
    reason: "Neutron shows null for rules it made itself (default group); neutrino shows ''",
  },
  {
    collection: 'security_groups',
    field: 'security_group_rules',
    reason: "compared rule by rule under security_group_rules; Neutron's embedded copies also leak its internal standard_attr_id",
  },
  { collection: 'ports', field: 'resource_request', reason: 'neutrino has no port-resource-request extension (Placement is not used)' },
  {
    collection: 'ports',
    field: 'ip_allocation',
    reason: "neutrino has no ip_allocation extension; the importer refuses any port whose value is not 'immediate'",
  },
  { collection: 'routers', field: 'distributed', reason: 'neutrino has no DVR extension; the importer refuses distributed routers' },
  { collection: 'routers', field: 'flavor_id', reason: 'neutrino has no l3-flavors extension; the importer refuses routers with a flavor' },
];

export const ML2: Ini = {
  ml2: { type_drivers: 'flat,vlan,vxlan', tenant_network_types: 'vxlan', extension_drivers: 'port_security,qos' },
  ml2_type_flat: { flat_networks: '*' },
  ml2_type_vlan: { network_vlan_ranges: 'physnet1:100:200' },
  ml2_type_vxlan: { vni_ranges: '1000:2000' },
};

export interface Api {
  url: string;
  req(method: string, path: string, body?: unknown): Promise<Record<string, any>>;
}

export function api(url: string): Api {
  return {
    url,
    async req(method, path, body) {
      const r = await fetch(`${url}/v2.0${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await r.text();
      if (!r.ok) throw new Error(`${method} ${path} → ${r.status}: ${text}`);
      return text ? JSON.parse(text) : {};
    },
  };
}

/**
 * Creates one of everything the importer carries through Neutron's API; returns nothing (GETs find
 * them). `sql` runs a statement on Neutron's database, `q` quotes an identifier in its dialect.
 */
export async function fill(n: Api, sql: (statement: string) => Promise<void>, q: (name: string) => string): Promise<void> {
  const p = { project_id: PROJECT };
  const ext = (
    await n.req('POST', '/networks', {
      network: { ...p, name: 'public', 'router:external': true, 'provider:network_type': 'flat', 'provider:physical_network': 'ext' },
    })
  ).network;
  const extSub = (
    await n.req('POST', '/subnets', {
      subnet: {
        ...p,
        network_id: ext.id,
        ip_version: 4,
        cidr: '203.0.113.0/24',
        enable_dhcp: false,
        allocation_pools: [{ start: '203.0.113.10', end: '203.0.113.99' }],
      },
    })
  ).subnet;
  void extSub;
  const net = (await n.req('POST', '/networks', { network: { ...p, name: 'private', description: 'the tenant net' } })).network;
  const vlan = (
    await n.req('POST', '/networks', {
      network: {
        ...p,
        name: 'vlan',
        shared: true,
        'provider:network_type': 'vlan',
        'provider:physical_network': 'physnet1',
        'provider:segmentation_id': 150,
      },
    })
  ).network;
  await n.req('POST', '/networks', { network: { ...p, name: 'insecure', port_security_enabled: false, admin_state_up: false, mtu: 1400 } });
  await n.req('PUT', `/networks/${net.id}/tags`, { tags: ['blue', 'prod'] });
  const sub = (
    await n.req('POST', '/subnets', {
      subnet: {
        ...p,
        name: 'v4',
        network_id: net.id,
        ip_version: 4,
        cidr: '10.10.0.0/24',
        dns_nameservers: ['192.0.2.53', '192.0.2.54'],
        host_routes: [{ destination: '192.168.50.0/24', nexthop: '10.10.0.254' }],
        allocation_pools: [
          { start: '10.10.0.10', end: '10.10.0.50' },
          { start: '10.10.0.100', end: '10.10.0.200' },
        ],
      },
    })
  ).subnet;
  await n.req('POST', '/subnets', {
    subnet: { ...p, name: 'v6', network_id: net.id, ip_version: 6, cidr: '2001:db8:10::/64', ipv6_ra_mode: 'slaac', ipv6_address_mode: 'slaac' },
  });
  await n.req('POST', '/subnets', { subnet: { ...p, network_id: vlan.id, ip_version: 4, cidr: '10.20.0.0/24', gateway_ip: null } });

  const sg = (await n.req('POST', '/security-groups', { security_group: { ...p, name: 'web', description: 'web servers' } })).security_group;
  await n.req('POST', '/security-group-rules', {
    security_group_rule: {
      ...p,
      security_group_id: sg.id,
      direction: 'ingress',
      ethertype: 'IPv4',
      protocol: 'tcp',
      port_range_min: 22,
      port_range_max: 22,
      remote_ip_prefix: '198.51.100.7/24',
    },
  });
  await n.req('POST', '/security-group-rules', {
    security_group_rule: {
      ...p,
      security_group_id: sg.id,
      direction: 'ingress',
      ethertype: 'IPv6',
      protocol: 'ipv6-icmp',
      remote_group_id: sg.id,
      description: 'pings',
    },
  });
  await n.req('PUT', `/security-groups/${sg.id}/tags`, { tags: ['sg-tag'] });

  const port = (
    await n.req('POST', '/ports', {
      port: {
        ...p,
        name: 'vm1',
        network_id: net.id,
        fixed_ips: [{ subnet_id: sub.id, ip_address: '10.10.0.20' }],
        security_groups: [sg.id],
        allowed_address_pairs: [{ ip_address: '10.10.0.222' }],
        extra_dhcp_opts: [{ opt_name: 'mtu', opt_value: '1400' }],
        device_id: 'c9c7b1a0-0000-4000-8000-000000000001',
        device_owner: 'compute:nova',
        'binding:host_id': 'host-a',
        'binding:profile': { local_link_information: [] },
      },
    })
  ).port;
  await n.req('PUT', `/ports/${port.id}/tags`, { tags: ['vm'] });
  await n.req('POST', '/ports', { port: { ...p, name: 'nosec', network_id: net.id, port_security_enabled: false, security_groups: [] } });
  await n.req('POST', '/ports', { port: { ...p, network_id: vlan.id, admin_state_up: false } });

  const router = (await n.req('POST', '/routers', { router: { ...p, name: 'r1', external_gateway_info: { network_id: ext.id, enable_snat: true } } }))
    .router;
  await n.req('PUT', `/routers/${router.id}/add_router_interface`, { subnet_id: sub.id });
  await n.req('PUT', `/routers/${router.id}`, { router: { routes: [{ destination: '172.16.0.0/16', nexthop: '10.10.0.30' }] } });
  await n.req('POST', '/floatingips', { floatingip: { ...p, floating_network_id: ext.id, port_id: port.id, description: 'vm1 public' } });
  await n.req('POST', '/floatingips', { floatingip: { ...p, floating_network_id: ext.id } });

  const qos = (await n.req('POST', '/qos/policies', { policy: { ...p, name: 'gold', description: 'gold service' } })).policy;
  await n.req('POST', `/qos/policies/${qos.id}/bandwidth_limit_rules`, { bandwidth_limit_rule: { max_kbps: 10000, max_burst_kbps: 1000 } });
  await n.req('POST', `/qos/policies/${qos.id}/dscp_marking_rules`, { dscp_marking_rule: { dscp_mark: 26 } });
  // Linux bridge cannot enforce a minimum: that rule goes on a policy no port uses.
  const silver = (await n.req('POST', '/qos/policies', { policy: { ...p, name: 'silver' } })).policy;
  await n.req('POST', `/qos/policies/${silver.id}/minimum_bandwidth_rules`, { minimum_bandwidth_rule: { min_kbps: 1000 } });
  await n.req('PUT', `/ports/${port.id}`, { port: { qos_policy_id: qos.id } });
  // qos-gateway-ip: the router's gateway IP gets a policy too (Neutron's qos_router_gw_policy_bindings).
  await n.req('PUT', `/routers/${router.id}`, {
    router: { external_gateway_info: { network_id: ext.id, enable_snat: true, qos_policy_id: qos.id } },
  });
  await n.req('POST', '/rbac-policies', {
    rbac_policy: { ...p, object_type: 'qos_policy', object_id: qos.id, action: 'access_as_shared', target_tenant: OTHER },
  });
  await n.req('POST', '/rbac-policies', {
    rbac_policy: { ...p, object_type: 'network', object_id: net.id, action: 'access_as_shared', target_tenant: OTHER },
  });

  const parent = (await n.req('POST', '/ports', { port: { ...p, name: 'trunk-parent', network_id: net.id } })).port;
  const child = (await n.req('POST', '/ports', { port: { ...p, name: 'trunk-child', network_id: net.id } })).port;
  await n.req('POST', '/trunks', {
    trunk: { ...p, name: 't1', port_id: parent.id, sub_ports: [{ port_id: child.id, segmentation_type: 'vlan', segmentation_id: 101 }] },
  });
  await n.req('PUT', `/quotas/${PROJECT}`, { quota: { network: 20, port: 150, router: 3 } });

  // Address scopes and subnet pools, a subnet allocated from one, sharing through RBAC.
  const scope = (await n.req('POST', '/address-scopes', { address_scope: { ...p, name: 'scope4', ip_version: 4 } })).address_scope;
  await n.req('POST', '/address-scopes', { address_scope: { ...p, name: 'scope6', ip_version: 6, shared: true } });
  const pool = (
    await n.req('POST', '/subnetpools', {
      subnetpool: {
        ...p,
        name: 'pool4',
        description: 'the pool',
        prefixes: ['10.100.0.0/16', '10.101.0.0/16'],
        default_prefixlen: 26,
        min_prefixlen: 24,
        max_prefixlen: 28,
        default_quota: 1024,
        address_scope_id: scope.id,
      },
    })
  ).subnetpool;
  await n.req('PUT', `/subnetpools/${pool.id}/tags`, { tags: ['pool-tag'] });
  // The scope first: a pool is shared only with projects that may use its scope.
  await n.req('POST', '/rbac-policies', {
    rbac_policy: { ...p, object_type: 'address_scope', object_id: scope.id, action: 'access_as_shared', target_tenant: OTHER },
  });
  await n.req('POST', '/rbac-policies', {
    rbac_policy: { ...p, object_type: 'subnetpool', object_id: pool.id, action: 'access_as_shared', target_tenant: OTHER },
  });
  // A network's subnets all come from one pool (or none): this one gets a network of its own.
  const pooledNet = (await n.req('POST', '/networks', { network: { ...p, name: 'pooled-net' } })).network;
  const pooled = (
    await n.req('POST', '/subnets', {
      subnet: { ...p, name: 'pooled', network_id: pooledNet.id, ip_version: 4, subnetpool_id: pool.id, prefixlen: 27 },
    })
  ).subnet;

  // An address group a rule points at, shared with another project.
  const ag = (
    await n.req('POST', '/address-groups', {
      address_group: { ...p, name: 'office', description: 'office ranges', addresses: ['192.0.2.0/28', '198.51.100.5/32'] },
    })
  ).address_group;
  await n.req('POST', '/security-group-rules', {
    security_group_rule: { ...p, security_group_id: sg.id, direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', remote_address_group_id: ag.id },
  });
  await n.req('POST', '/rbac-policies', {
    rbac_policy: { ...p, object_type: 'address_group', object_id: ag.id, action: 'access_as_shared', target_tenant: OTHER },
  });

  // A port forwarding on a floating IP of the router's external network to a port behind it.
  const inner = (
    await n.req('POST', '/ports', {
      port: { ...p, name: 'pf-target', network_id: net.id, fixed_ips: [{ subnet_id: sub.id, ip_address: '10.10.0.77' }] },
    })
  ).port;
  const pfFip = (await n.req('POST', '/floatingips', { floatingip: { ...p, floating_network_id: ext.id, description: 'forwarded' } })).floatingip;
  await n.req('POST', `/floatingips/${pfFip.id}/port_forwardings`, {
    port_forwarding: {
      protocol: 'tcp',
      internal_port_id: inner.id,
      internal_ip_address: '10.10.0.77',
      internal_port: 22,
      external_port: 2222,
      description: 'ssh',
    },
  });
  await n.req('POST', `/floatingips/${pfFip.id}/port_forwardings`, {
    port_forwarding: {
      protocol: 'udp',
      internal_port_id: inner.id,
      internal_ip_address: '10.10.0.77',
      internal_port_range: '5000:5009',
      external_port_range: '6000:6009',
    },
  });

  // Metering labels and rules (one shared label, rules with the source/destination fields).
  const label = (await n.req('POST', '/metering/metering-labels', { metering_label: { ...p, name: 'billing', description: 'all traffic' } }))
    .metering_label;
  await n.req('POST', '/metering/metering-labels', { metering_label: { ...p, name: 'shared-label', shared: true } });
  await n.req('POST', '/metering/metering-label-rules', {
    metering_label_rule: { metering_label_id: label.id, direction: 'ingress', remote_ip_prefix: '0.0.0.0/0' },
  });
  await n.req('POST', '/metering/metering-label-rules', {
    metering_label_rule: {
      metering_label_id: label.id,
      direction: 'egress',
      source_ip_prefix: '10.10.0.0/24',
      destination_ip_prefix: '192.0.2.0/24',
      excluded: true,
    },
  });

  // Segment ranges an admin made (the default ones come from the ML2 configuration on both sides).
  const range = (
    await n.req('POST', '/network-segment-ranges', {
      network_segment_range: {
        name: 'proj-vni',
        description: 'one project',
        network_type: 'vxlan',
        minimum: 5000,
        maximum: 5099,
        shared: false,
        project_id: PROJECT,
      },
    })
  ).network_segment_range;
  await n.req('PUT', `/network_segment_ranges/${range.id}/tags`, { tags: ['range-tag'] });
  await n.req('POST', '/network-segment-ranges', {
    network_segment_range: { name: 'shared-vlan', network_type: 'vlan', physical_network: 'physnet1', minimum: 300, maximum: 310, shared: true },
  });

  // An HA router scheduled on two L3 agents. Agents come from the agents' own report_state, which
  // this Neutron has no bus for: they are rows written as report_state would, alive while the
  // router is scheduled, then made old so that both servers call them dead whatever the clock.
  const agents = ['l3-host-a', 'l3-host-b'].map((host, i) => ({ id: `a${i}000000-0000-4000-8000-00000000000${i + 1}`, host }));
  const now = new Date().toISOString().slice(0, 19).replace('T', ' ');
  for (const a of agents) {
    await sql(
      `INSERT INTO agents (id, agent_type, ${q('binary')}, topic, host, availability_zone, admin_state_up, created_at, started_at, heartbeat_timestamp, description, configurations, resource_versions, ${q('load')})
       VALUES ('${a.id}', 'L3 agent', 'neutron-l3-agent', 'l3_agent', '${a.host}', 'nova', true, '${now}', '${now}', '${now}', NULL,
       '{"agent_mode": "legacy", "routers": 0, "interfaces": 0}', '{"Port": "1.1"}', 0)`,
    );
  }
  const ha = (await n.req('POST', '/routers', { router: { ...p, name: 'ha1', ha: true } })).router;
  await n.req('PUT', `/routers/${ha.id}/add_router_interface`, { subnet_id: pooled.id });
  const hosting = (await n.req('GET', `/routers/${ha.id}/l3-agents`)).agents as Array<{ id: string }>;
  assert.equal(hosting.length, 2, 'the HA router is scheduled on both L3 agents');
  await sql(`UPDATE agents SET heartbeat_timestamp = '2026-01-01 00:00:00'`);
  // Neutron makes the caller's default security group on its first list: make it before the import.
  await n.req('GET', '/security-groups');
}

/** The collections compared, with their path. */
const COLLECTIONS: Array<[string, string]> = [
  ['networks', '/networks'],
  ['segments', '/segments'],
  ['subnets', '/subnets'],
  ['ports', '/ports'],
  ['security_groups', '/security-groups'],
  ['security_group_rules', '/security-group-rules'],
  ['routers', '/routers'],
  ['floatingips', '/floatingips'],
  ['rbac_policies', '/rbac-policies'],
  ['policies', '/qos/policies'],
  ['trunks', '/trunks'],
  ['address_scopes', '/address-scopes'],
  ['subnetpools', '/subnetpools'],
  ['address_groups', '/address-groups'],
  ['metering_labels', '/metering/metering-labels'],
  ['metering_label_rules', '/metering/metering-label-rules'],
  ['network_segment_ranges', '/network-segment-ranges'],
  ['agents', '/agents'],
];

function ignored(collection: string, field: string, a: unknown, b: unknown): boolean {
  return DIFFERENCES.some((d) => (d.collection === collection || d.collection === '*') && d.field === field && (!d.only || d.only(a, b)));
}

/** neutrino's embedded forwardings without the keys Neutron's same entry lacks that are ranges or null. */
function withoutRangeExtras(a: unknown, b: unknown): unknown {
  if (!Array.isArray(a) || !Array.isArray(b)) return b;
  const theirs = new Map(a.map((x: Record<string, unknown>) => [x.id, x]));
  return b.map((x: Record<string, unknown>) => {
    const t = theirs.get(x.id);
    if (!t) return x;
    return Object.fromEntries(Object.entries(x).filter(([k, v]) => k in t || !(v === null || k.endsWith('_range'))));
  });
}

/** Field-by-field differences of one item, less the listed ones. */
function diffItem(collection: string, label: string, a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (ignored(collection, k, a[k], b[k])) continue;
    const x = JSON.stringify(canonical(a[k]));
    const y = JSON.stringify(canonical(b[k]));
    if (x !== y) out.push(`${collection} ${label}.${k}: neutron ${x} ≠ neutrino ${y}`);
  }
  return out;
}

/** Sorts arrays of scalars and of objects (by their JSON) so that order alone is no difference. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.entries(v)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, x]) => [k, canonical(x)]),
    );
  return v;
}

/** Default segment ranges are made by each server from its ML2 configuration: compared by content. */
const rangeKey = (r: Record<string, unknown>) =>
  JSON.stringify([r.network_type, r.physical_network, r.minimum, r.maximum, r.shared, r.default, r.project_id, r.name]);

export async function compare(neutron: Api, neutrino: Api): Promise<string[]> {
  const problems: string[] = [];
  for (const [collection, path] of COLLECTIONS) {
    let theirs = (await neutron.req('GET', path))[collection] as Array<Record<string, unknown>>;
    let ours: Array<Record<string, unknown>>;
    try {
      ours = (await neutrino.req('GET', path))[collection] as Array<Record<string, unknown>>;
    } catch (e) {
      problems.push(`${collection}: ${(e as Error).message}`);
      continue;
    }
    assert.ok(theirs.length > 0, `Neutron has ${collection}`);
    if (collection === 'network_segment_ranges') {
      const defaults = (rows: Array<Record<string, unknown>>) =>
        rows
          .filter((r) => r.default === true)
          .map(rangeKey)
          .sort();
      assert.ok(defaults(theirs).length > 0, 'Neutron has default segment ranges');
      if (JSON.stringify(defaults(theirs)) !== JSON.stringify(defaults(ours)))
        problems.push(`default segment ranges: neutron ${JSON.stringify(defaults(theirs))} ≠ neutrino ${JSON.stringify(defaults(ours))}`);
      theirs = theirs.filter((r) => r.default !== true);
      ours = ours.filter((r) => r.default !== true);
    }
    const ourIds = new Set(ours.map((r) => r.id));
    for (const t of theirs) if (!ourIds.has(t.id)) problems.push(`${collection} ${String(t.id)}: missing from neutrino's list`);
    for (const t of theirs) {
      const single = Object.keys((await neutron.req('GET', `${path}/${String(t.id)}`)) as object)[0]!;
      const a = (await neutron.req('GET', `${path}/${String(t.id)}`))[single] as Record<string, unknown>;
      let b: Record<string, unknown>;
      try {
        b = (await neutrino.req('GET', `${path}/${String(t.id)}`))[single] as Record<string, unknown>;
      } catch (e) {
        problems.push(`${collection} ${String(t.id)}: ${(e as Error).message}`);
        continue;
      }
      problems.push(...diffItem(collection, String(t.name ?? t.id), a, b));
    }
  }
  // Port forwardings live under their floating IP.
  let forwardings = 0;
  for (const fip of (await neutron.req('GET', '/floatingips')).floatingips as Array<{ id: string }>) {
    const path = `/floatingips/${fip.id}/port_forwardings`;
    const theirs = (await neutron.req('GET', path)).port_forwardings as Array<Record<string, unknown>>;
    const ours = (await neutrino.req('GET', path)).port_forwardings as Array<Record<string, unknown>>;
    forwardings += theirs.length;
    const ids = (l: Array<Record<string, unknown>>) => JSON.stringify(l.map((x) => x.id).sort());
    if (ids(theirs) !== ids(ours)) problems.push(`${path}: neutron ${ids(theirs)} ≠ neutrino ${ids(ours)}`);
    for (const t of theirs) {
      const ourListed = ours.find((x) => x.id === t.id);
      if (ourListed) problems.push(...diffItem('port_forwardings', `${String(t.id)} (listed)`, t, ourListed));
      const a = (await neutron.req('GET', `${path}/${String(t.id)}`)).port_forwarding;
      try {
        const b = (await neutrino.req('GET', `${path}/${String(t.id)}`)).port_forwarding;
        problems.push(...diffItem('port_forwardings', String(t.id), a, b));
      } catch (e) {
        problems.push(`port_forwarding ${String(t.id)}: ${(e as Error).message}`);
      }
    }
  }
  assert.ok(forwardings > 0, 'Neutron has port forwardings');
  return problems;
}

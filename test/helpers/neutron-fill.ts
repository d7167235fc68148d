// A real Neutron filled through its API, and the GET-by-GET comparison with neutrino, for the
// import test (test/db/import-neutron.test.ts).
import assert from 'node:assert/strict';
import type { Ini } from './process-server.js';

export const PROJECT = '6f0c1e7a2b5d4c3e9a8b7c6d5e4f3a21';
export const OTHER = '0b1c2d3e4f5a46b7c8d9e0f1a2b3c4d5';

/** Fields that legitimately differ, per collection ('*' for all), each with why. */
export const DIFFERENCES: Array<{ collection: string; field: string; reason: string }> = [
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

/** Creates one of everything the importer carries through Neutron's API; returns nothing (GETs find them). */
export async function fill(n: Api): Promise<void> {
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
];

function ignored(collection: string, field: string): boolean {
  return DIFFERENCES.some((d) => (d.collection === collection || d.collection === '*') && d.field === field);
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

export async function compare(neutron: Api, neutrino: Api): Promise<string[]> {
  const problems: string[] = [];
  for (const [collection, path] of COLLECTIONS) {
    const theirs = (await neutron.req('GET', path))[collection] as Array<Record<string, unknown>>;
    const ours = (await neutrino.req('GET', path))[collection] as Array<Record<string, unknown>>;
    assert.ok(theirs.length > 0, `Neutron has ${collection}`);
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
      for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
        if (ignored(collection, k)) continue;
        const x = JSON.stringify(canonical(a[k]));
        const y = JSON.stringify(canonical(b[k]));
        if (x !== y) problems.push(`${collection} ${String(t.name ?? t.id)}.${k}: neutron ${x} ≠ neutrino ${y}`);
      }
    }
  }
  return problems;
}

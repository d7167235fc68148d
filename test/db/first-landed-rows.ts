// Rows of every table the first landed schema (migrations 001–005, 007) had, as its code wrote
// them: a project's network with a VXLAN segment, a subnet from a subnet pool in an address scope
// with its pools, DNS servers and host routes, a VM port with a fixed IP, an address pair, a DHCP
// option, a tag and a security group; a router with an interface on the subnet, a gateway on an
// external network and a floating IP for the VM; a DHCP agent hosting the network; RBAC, quota
// and lock rows. In insert order (foreign keys).

const T0 = '2026-11-22T06:00:00Z';
const T1 = '2026-11-22T06:30:00Z';
const P = 'project-first';
const NET = '11111111-0000-4000-8000-000000000001';
const EXT = '11111111-0000-4000-8000-000000000002';
const SEG = '22222222-0000-4000-8000-000000000001';
const EXT_SEG = '22222222-0000-4000-8000-000000000002';
const SCOPE = '33333333-0000-4000-8000-000000000001';
const POOL = '33333333-0000-4000-8000-000000000002';
const SUBNET = '44444444-0000-4000-8000-000000000001';
const EXT_SUBNET = '44444444-0000-4000-8000-000000000002';
const VM_PORT = '55555555-0000-4000-8000-000000000001';
const IF_PORT = '55555555-0000-4000-8000-000000000002';
const GW_PORT = '55555555-0000-4000-8000-000000000003';
const FIP_PORT = '55555555-0000-4000-8000-000000000004';
const SG = '66666666-0000-4000-8000-000000000001';
const RULE = '66666666-0000-4000-8000-000000000002';
const ROUTER = '77777777-0000-4000-8000-000000000001';
const FIP = '77777777-0000-4000-8000-000000000002';
const AGENT = '88888888-0000-4000-8000-000000000001';

const std = { description: 'from the first schema', revision_number: 2, created_at: T0, updated_at: T1 };

const network = (id: string, name: string, external: number) => ({
  id,
  project_id: P,
  name,
  status: 'ACTIVE',
  admin_state_up: 1,
  mtu: 1450,
  router_external: external,
  port_security_enabled: 1,
  availability_zone_hints: '["nova"]',
  ...std,
});
const segment = (id: string, networkId: string, vni: number) => ({
  id,
  network_id: networkId,
  network_type: 'vxlan',
  physical_network: null,
  segmentation_id: vni,
  segment_index: 0,
  is_dynamic: 0,
  name: null,
});
const subnet = (id: string, networkId: string, cidr: string, gateway: string, pool: string | null) => ({
  id,
  network_id: networkId,
  project_id: P,
  name: `subnet ${cidr}`,
  ip_version: 4,
  cidr,
  gateway_ip: gateway,
  enable_dhcp: 1,
  ipv6_ra_mode: null,
  ipv6_address_mode: null,
  subnetpool_id: pool,
  segment_id: null,
  ...std,
});
const port = (id: string, networkId: string, mac: string, deviceId: string, owner: string) => ({
  id,
  network_id: networkId,
  project_id: P,
  name: `port ${mac}`,
  mac_address: mac,
  admin_state_up: 1,
  status: 'ACTIVE',
  device_id: deviceId,
  device_owner: owner,
  port_security_enabled: owner.startsWith('compute:') ? 1 : 0,
  binding_host_id: 'host-a',
  binding_vnic_type: 'normal',
  binding_profile: '{}',
  binding_vif_type: 'bridge',
  binding_vif_details: '{"port_filter":true,"connectivity":"l2"}',
  ...std,
});
const fixedIp = (portId: string, ip: string, subnetId: string, networkId: string) => ({
  port_id: portId,
  ip_address: ip,
  subnet_id: subnetId,
  network_id: networkId,
});

export const FIRST_LANDED_ROWS: [string, Record<string, unknown>[]][] = [
  ['networks', [network(NET, 'private', 0), network(EXT, 'public', 1)]],
  ['network_segments', [segment(SEG, NET, 1001), segment(EXT_SEG, EXT, 1002)]],
  [
    'segment_allocations',
    [
      { network_type: 'vxlan', physical_network: '', segmentation_id: 1001, allocated: 1 },
      { network_type: 'vxlan', physical_network: '', segmentation_id: 1003, allocated: 0 },
    ],
  ],
  [
    'rbac_entries',
    [
      {
        id: '99999999-0000-4000-8000-000000000001',
        object_type: 'network',
        object_id: EXT,
        project_id: P,
        target_project: '*',
        action: 'access_as_external',
      },
    ],
  ],
  ['address_scopes', [{ id: SCOPE, project_id: P, name: 'scope', ip_version: 4 }]],
  [
    'subnetpools',
    [
      {
        id: POOL,
        project_id: P,
        name: 'pool',
        ip_version: 4,
        default_prefixlen: 24,
        min_prefixlen: 16,
        max_prefixlen: 28,
        default_quota: null,
        is_default: 0,
        address_scope_id: SCOPE,
        ...std,
      },
    ],
  ],
  ['subnetpool_prefixes', [{ subnetpool_id: POOL, cidr: '10.0.0.0/16' }]],
  ['subnets', [subnet(SUBNET, NET, '10.0.0.0/24', '10.0.0.1', POOL), subnet(EXT_SUBNET, EXT, '203.0.113.0/24', '203.0.113.1', null)]],
  [
    'allocation_pools',
    [
      { subnet_id: SUBNET, first_ip: '10.0.0.2', last_ip: '10.0.0.254' },
      { subnet_id: EXT_SUBNET, first_ip: '203.0.113.10', last_ip: '203.0.113.99' },
    ],
  ],
  [
    'dns_nameservers',
    [
      { subnet_id: SUBNET, address: '192.0.2.53', position: 0 },
      { subnet_id: SUBNET, address: '192.0.2.54', position: 1 },
    ],
  ],
  ['subnet_routes', [{ subnet_id: SUBNET, destination: '198.51.100.0/24', nexthop: '10.0.0.254' }]],
  [
    'ports',
    [
      port(VM_PORT, NET, 'fa:16:3e:00:00:01', 'vm-1', 'compute:nova'),
      port(IF_PORT, NET, 'fa:16:3e:00:00:02', ROUTER, 'network:router_interface'),
      port(GW_PORT, EXT, 'fa:16:3e:00:00:03', ROUTER, 'network:router_gateway'),
      port(FIP_PORT, EXT, 'fa:16:3e:00:00:04', FIP, 'network:floatingip'),
    ],
  ],
  [
    'ip_allocations',
    [
      fixedIp(VM_PORT, '10.0.0.5', SUBNET, NET),
      fixedIp(IF_PORT, '10.0.0.1', SUBNET, NET),
      fixedIp(GW_PORT, '203.0.113.10', EXT_SUBNET, EXT),
      fixedIp(FIP_PORT, '203.0.113.11', EXT_SUBNET, EXT),
    ],
  ],
  ['allowed_address_pairs', [{ port_id: VM_PORT, mac_address: 'fa:16:3e:00:00:01', ip_address: '10.0.0.200/32' }]],
  [
    'extra_dhcp_opts',
    [{ id: '99999999-0000-4000-8000-000000000002', port_id: VM_PORT, opt_name: 'bootfile-name', opt_value: 'pxelinux.0', ip_version: 4 }],
  ],
  ['tags', [{ resource_id: NET, resource_type: 'networks', tag: 'blue' }]],
  ['quotas', [{ project_id: P, resource: 'port', hard_limit: 100 }]],
  ['project_locks', [{ project_id: P, counter: 7 }]],
  [
    'agents',
    [
      {
        id: AGENT,
        agent_type: 'DHCP agent',
        binary: 'neutron-dhcp-agent',
        topic: 'dhcp_agent',
        host: 'host-a',
        availability_zone: 'nova',
        admin_state_up: 1,
        created_at: T0,
        started_at: T0,
        heartbeat_timestamp: T1,
        description: null,
        configurations: '{"networks":1}',
        resource_versions: null,
        load: 1,
      },
    ],
  ],
  ['security_groups', [{ id: SG, project_id: P, name: 'default', stateful: 1, ...std }]],
  ['default_security_groups', [{ project_id: P, security_group_id: SG }]],
  [
    'security_group_rules',
    [
      {
        id: RULE,
        project_id: P,
        security_group_id: SG,
        remote_group_id: null,
        remote_address_group_id: null,
        direction: 'ingress',
        ethertype: 'IPv4',
        protocol: 'tcp',
        port_range_min: 22,
        port_range_max: 22,
        remote_ip_prefix: '0.0.0.0/0',
        normalized_cidr: '0.0.0.0/0',
        ...std,
      },
    ],
  ],
  ['security_group_port_bindings', [{ port_id: VM_PORT, security_group_id: SG }]],
  ['routers', [{ id: ROUTER, project_id: P, name: 'router', status: 'ACTIVE', admin_state_up: 1, gw_port_id: GW_PORT, enable_snat: 1, ...std }]],
  [
    'router_ports',
    [
      { port_id: IF_PORT, router_id: ROUTER, port_type: 'network:router_interface' },
      { port_id: GW_PORT, router_id: ROUTER, port_type: 'network:router_gateway' },
    ],
  ],
  ['router_routes', [{ router_id: ROUTER, destination: '192.0.2.0/24', nexthop: '10.0.0.254' }]],
  [
    'floatingips',
    [
      {
        id: FIP,
        project_id: P,
        floating_ip_address: '203.0.113.11',
        floating_network_id: EXT,
        floating_port_id: FIP_PORT,
        fixed_port_id: VM_PORT,
        fixed_ip_address: '10.0.0.5',
        router_id: ROUTER,
        last_known_router_id: ROUTER,
        status: 'ACTIVE',
        ...std,
      },
    ],
  ],
  ['networkdhcpagentbindings', [{ network_id: NET, dhcp_agent_id: AGENT }]],
];

/** Columns the upgrade adds to tables that already had rows, and what those rows get. */
export const UPGRADE_DEFAULTS: { table: string; where: [string, string]; expect: Record<string, unknown> }[] = [
  // 011: segments got standard attributes; old ones are dated from their network.
  { table: 'network_segments', where: ['id', SEG], expect: { description: '', revision_number: 0, created_at: T0, updated_at: T0 } },
  // 010: routers got availability zone hints.
  { table: 'routers', where: ['id', ROUTER], expect: { availability_zone_hints: '[]' } },
];

// Every option neutrino reads, declared once with Neutron's section, name and default (help texts
// shortened from Neutron, oslo.db, oslo.log, oslo.policy, oslo.messaging and keystonemiddleware).
// Options not listed here are ignored when found in a file, as oslo.config does.
import { bool, enm, float, int, list, port, str, url } from './options.js';

const HTTP = ['http', 'https'] as const;

export const SCHEMA = {
  DEFAULT: {
    bind_host: str({ default: '0.0.0.0', help: 'The host IP to bind to.' }),
    bind_port: port({ default: 9696, help: 'The port to bind to.' }),
    state_path: str({
      default: '/var/lib/neutrino',
      help: 'Where to store state files (SQLite database, agent files). Neutron uses /var/lib/neutron.',
    }),
    auth_strategy: enm({
      choices: ['keystone', 'noauth'],
      default: 'keystone',
      help: 'The type of authentication to use (`neutrino aio` overrides this to noauth).',
    }),
    base_mac: str({
      default: 'fa:16:3e:00:00:00',
      help: 'The base MAC address for VIFs. The first 3 octets remain unchanged; a non-zero 4th octet is also kept.',
    }),
    mac_generation_retries: int({ default: 16, min: 1, help: 'How many times to try to generate a unique MAC address.' }),
    allow_overlapping_ips: bool({ default: true, help: 'Allow overlapping IP support in Neutron.' }),
    max_fixed_ips_per_port: int({ default: 5, min: 1, help: 'Maximum number of fixed IPs per port.' }),
    dhcp_agent_notification: bool({ default: true, help: 'Send resource operation notifications to the DHCP agent.' }),
    core_plugin: str({ default: 'ml2', help: 'The core plugin (only ml2 is implemented).' }),
    service_plugins: list({ help: 'The service plugins to load (e.g. router, segments, trunk, qos).' }),
    allowed_conntrack_helpers: list({
      default: [
        'amanda:tcp',
        'ftp:tcp',
        'h323:udp',
        'h323:tcp',
        'irc:tcp',
        'netbios-ns:udp',
        'pptp:tcp',
        'sane:tcp',
        'sip:udp',
        'sip:tcp',
        'snmp:udp',
        'tftp:udp',
      ],
      help: 'The conntrack helpers routers may use, as <helper>:<protocol> items (conntrack_helper plugin).',
    }),
    api_extensions_path: str({ default: '', help: 'Accepted for compatibility with neutron.conf; not used.' }),
    allow_bulk: bool({ default: true, help: 'Allow the usage of the bulk API.' }),
    max_bulk_items: int({
      default: 1000,
      min: 0,
      help:
        'neutrino only: the most items one bulk create may hold (Neutron has no such limit, only a body size); 0 means no limit. ' +
        'One bulk create is one transaction: this bounds how long it holds the database.',
    }),
    pagination_max_limit: int({
      default: -1,
      aliases: { infinite: -1 },
      help: "The maximum number of items returned in a single response; 'infinite' or a value <= 0 means no limit.",
    }),
    max_dns_nameservers: int({ default: 5, min: 0, help: 'Maximum number of DNS nameservers per subnet.' }),
    max_subnet_host_routes: int({ default: 20, min: 0, help: 'Maximum number of host routes per subnet.' }),
    ipv6_pd_enabled: bool({ default: false, help: 'Enable IPv6 Prefix Delegation for subnet allocation.' }),
    dns_domain: str({ default: 'openstacklocal', help: 'Domain to use for building the hostnames.' }),
    global_physnet_mtu: int({ default: 1500, min: 68, help: 'MTU of the underlying physical network.' }),
    transport_url: url({
      help: 'Messaging transport URL (oslo.messaging): rabbit://user:pass@host:port/vhost for RabbitMQ; unset: the in-process bus.',
      secret: true,
    }),
    control_exchange: str({ default: 'neutron', help: 'The default exchange under which topics are scoped (oslo.messaging).' }),
    rpc_response_timeout: int({ default: 60, min: 1, help: 'Seconds to wait for a response from a call (oslo.messaging).' }),
    agent_down_time: int({ default: 75, min: 1, help: 'Seconds to regard the agent as down; at least twice report_interval.' }),
    debug: bool({ default: false, help: 'Log at debug level.' }),
    graceful_shutdown_timeout: int({
      default: 60,
      min: 0,
      help: 'Seconds SIGTERM waits for requests in flight before the server exits anyway (0: no limit), as oslo.service.',
    }),
    log_file: str({
      help: 'Log to this file instead of stderr (relative: under log_dir); reopened on SIGHUP, as logrotate expects (oslo.log).',
    }),
    log_dir: str({ help: 'The directory of a relative log_file; with no log_file, log to <binary>.log there (oslo.log).' }),
    use_json: bool({ default: false, help: "Log lines as JSON objects, in oslo.log's JSONFormatter's keys, instead of text." }),
    api_workers: int({
      min: 0,
      help: 'Number of API worker processes sharing bind_port (node:cluster). Unset: the CPU count for `neutrino server`, 1 for `neutrino aio`; 0 is 1.',
    }),
    rpc_workers: int({
      min: 0,
      help: 'Number of RPC worker processes answering the agents. Unset: half the CPU count (at least 1) for `neutrino server`, 0 for `neutrino aio`; 0: the API process(es) answer the agents themselves.',
    }),
    rpc_state_report_workers: int({
      default: 1,
      min: 0,
      help: "Number of processes answering only the agents' report_state (q-reports-plugin), beside the RPC workers (which answer it too, as Neutron's); forked only when there are RPC workers.",
    }),
    vlan_transparent: bool({ default: false, help: 'Allow VLAN transparent networks.' }),
    default_availability_zones: list({ help: 'Default availability zone hints for resources that give none.' }),
    host: str({ help: "This host's name for agents and RPC (default: the machine's hostname)." }),
    dhcp_agents_per_network: int({ default: 1, min: 1, help: 'Number of DHCP agents scheduled to host a network.' }),
    router_auto_schedule: bool({ default: true, help: 'Schedule routers without an L3 agent to an L3 agent when they change.' }),
    network_auto_schedule: bool({ default: true, help: 'Schedule networks without a DHCP agent to DHCP agents as they sync.' }),
    dhcp_lease_duration: int({ default: 86400, min: -1, help: 'DHCP lease duration in seconds; -1 means infinite.' }),
    resync_interval: int({ default: 5, min: 1, help: 'DHCP agent: seconds between retries of networks whose sync failed.' }),
    interface_driver: str({
      help: 'DHCP and L3 agents: interface driver; unset or linuxbridge (a veth into the Linux bridge); the L3 agent refuses others.',
    }),
    agent_mode: enm({
      choices: ['legacy', 'dvr', 'dvr_snat', 'dvr_no_external'],
      default: 'legacy',
      help: 'L3 agent mode; only legacy (centralised routers) is implemented: the L3 agent refuses the others.',
    }),
    handle_internal_only_routers: bool({ default: true, help: 'L3 agent: also serve routers without an external gateway.' }),
    send_arp_for_ha: int({ default: 3, min: 0, help: 'L3 agent: gratuitous ARPs sent for an address that appears on a gateway (0: none).' }),
    periodic_interval: int({ default: 40, min: 0, help: 'L3 agent: seconds between full syncs with the server (0: only at start).' }),
    enable_metadata_proxy: bool({
      default: true,
      help: 'L3 agent: run the metadata proxy (haproxy on port 9697, 169.254.169.254:80 redirected to it) in each router namespace.',
    }),
    min_rtr_adv_interval: int({ default: 30, min: 3, help: "L3 agent: MinRtrAdvInterval of the routers' radvd (seconds)." }),
    max_rtr_adv_interval: int({ default: 100, min: 4, help: "L3 agent: MaxRtrAdvInterval of the routers' radvd (seconds)." }),
    enable_isolated_metadata: bool({
      default: false,
      help: 'DHCP agent: serve metadata (169.254.169.254 proxy in qdhcp-<network>) on networks whose subnets have no router interface at their gateway.',
    }),
    force_metadata: bool({
      default: false,
      help: 'DHCP agent: serve metadata on every network, routed or not, with the 169.254.169.254 host route via the DHCP port.',
    }),
    dnsmasq_dns_servers: list({ help: 'DNS servers dnsmasq forwards to (--server).' }),
    dnsmasq_lease_max: int({ default: 16777216, min: 1, help: 'Limit on the number of leases per network.' }),
    max_routes: int({ default: 30, min: 0, help: 'Maximum number of routes per router.' }),
    enable_snat_by_default: bool({ default: true, help: 'The value of enable_snat when external_gateway_info does not give it.' }),
    enable_default_route_ecmp: bool({
      default: false,
      help: 'The value of enable_default_route_ecmp of routers created without it (enable-default-route-ecmp).',
    }),
    router_distributed: bool({
      default: false,
      help: 'Create distributed (DVR) routers by default. neutrino has no distributed dataplane: true stops start-up; routers answer distributed=false.',
    }),
    enable_ndp_proxy_by_default: bool({
      default: false,
      help: "A router's enable_ndp_proxy when its create does not give it (and its gateway allows NDP proxies).",
    }),
    // HA routers (l3-ha): server side (Neutron's l3_hamode_db options) and the L3 agent's keepalived.
    l3_ha: bool({ default: false, help: 'Routers are HA (keepalived on several L3 agents) unless created with ha=false.' }),
    max_l3_agents_per_router: int({ default: 3, min: 2, help: 'L3 agents an HA router is scheduled to, at most.' }),
    l3_ha_net_cidr: str({ default: '169.254.192.0/18', help: "Subnet of the projects' HA networks (VRRP traffic between a router's instances)." }),
    l3_ha_network_type: str({ default: '', help: 'Network type of HA networks (empty: the tenant network type).' }),
    l3_ha_network_physical_name: str({ default: '', help: 'Physical network of HA networks (flat/vlan types).' }),
    ha_vrrp_auth_type: enm({ choices: ['AH', 'PASS'], default: 'PASS', help: 'L3 agent: VRRP authentication type.' }),
    ha_vrrp_auth_password: str({ default: '', help: 'L3 agent: VRRP authentication password (empty: none).' }),
    // Neutron's option is an integer; a fraction (keepalived's VRRPv3, centiseconds) is ours, for
    // failover within 3 s when a host goes (VRRP waits 3 advertisements and a skew).
    ha_vrrp_advert_int: float({
      default: 2,
      min: 0.01,
      max: 255,
      help: 'L3 agent: seconds between VRRP advertisements; a fraction (e.g. 0.5) runs VRRPv3, which has no authentication.',
    }),
    ha_confs_path: str({ help: "L3 agent: where keepalived's files go (default: $state_path/ha_confs)." }),
    // The metadata agent (metadata_agent.ini) and the proxies that forward to it.
    metadata_proxy_socket: str({
      help: 'Unix socket the metadata agent listens on and the namespace proxies forward to (default: $state_path/metadata_proxy).',
    }),
    nova_metadata_host: str({ default: '127.0.0.1', help: "IP address or DNS name of Nova's metadata server." }),
    nova_metadata_port: port({ default: 8775, help: "TCP port of Nova's metadata server." }),
    nova_metadata_protocol: enm({ choices: HTTP, default: 'http', help: "Protocol to access Nova's metadata server." }),
    metadata_proxy_shared_secret: str({
      default: '',
      secret: true,
      help: "Shared secret to sign instance ids (X-Instance-ID-Signature); the same as Nova's [neutron] metadata_proxy_shared_secret.",
    }),
    metadata_workers: int({
      min: 0,
      help: 'Metadata agent worker processes (node:cluster); unset: half the CPUs; 0 or 1: served in the agent process itself.',
    }),
    metadata_backlog: int({ default: 4096, min: 1, help: "Backlog of the metadata agent's Unix socket." }),
  },
  oslo_messaging_rabbit: {
    amqp_durable_queues: bool({
      default: false,
      help: 'Use durable queues in AMQP: the control exchange and topic queues survive a broker restart.',
    }),
    amqp_auto_delete: bool({ default: false, help: 'Auto-delete the control exchange and topic queues in AMQP.' }),
    rabbit_transient_queues_ttl: int({
      default: 1800,
      min: 1,
      help: 'Seconds an unused reply or fanout queue lives before RabbitMQ deletes it (x-expires).',
    }),
    rabbit_ha_queues: bool({ default: false, help: 'Declare queues with x-ha-policy: all (mirrored queues, RabbitMQ before 3.0).' }),
    rabbit_quorum_queue: bool({ default: false, help: 'Declare the topic queues as quorum queues (x-queue-type: quorum); implies durable.' }),
    rabbit_quorum_delivery_limit: int({ default: 0, min: 0, help: 'Quorum queues: x-delivery-limit; 0 sets none.' }),
    rabbit_quroum_max_memory_length: int({ default: 0, min: 0, help: "Quorum queues: x-max-in-memory-length; 0 sets none (oslo's spelling)." }),
    rabbit_quroum_max_memory_bytes: int({ default: 0, min: 0, help: "Quorum queues: x-max-in-memory-bytes; 0 sets none (oslo's spelling)." }),
  },
  database: {
    connection: str({
      default: '',
      secret: true,
      help: 'Database URL (sqlite:///path, mysql+pymysql://..., postgresql://...). Empty: a SQLite file under state_path.',
    }),
    slave_connection: str({
      default: '',
      secret: true,
      help: 'Database URL of a read replica (same kind as connection): API lists and shows read there; writes and the reads inside them stay on connection.',
    }),
    max_retries: int({ default: 10, min: -1, help: 'Maximum database connection retries at start-up (-1: forever).' }),
    retry_interval: int({ default: 10, min: 0, help: 'Seconds between database connection retries at start-up.' }),
    max_pool_size: int({
      default: 5,
      min: 0,
      help: 'Database connections each pool (per process, and again for slave_connection) keeps open; 0: no limit.',
    }),
    max_overflow: int({
      default: 50,
      min: -1,
      help: 'Connections a pool may open past max_pool_size at a peak; closed again once idle (-1: no limit).',
    }),
    pool_timeout: int({
      default: 30,
      min: 1,
      help: 'Seconds a request waits for a database connection (to open one or for a free one) before it fails with 503.',
    }),
    query_timeout: int({
      default: 60,
      min: 0,
      help: 'neutrino: seconds one SQL statement may go unanswered before its connection is dropped and the request fails with 503 (0: no limit).',
    }),
  },
  keystone_authtoken: {
    www_authenticate_uri: url({
      schemes: HTTP,
      deprecatedNames: ['auth_uri'],
      help: 'Public Identity endpoint sent in WWW-Authenticate on 401 (defaults to auth_url).',
    }),
    auth_url: url({ schemes: HTTP, help: 'Identity endpoint used to authenticate the service user and validate tokens.' }),
    auth_type: enm({ choices: ['password', 'v3password'], default: 'password', help: 'Authentication plugin; only password is supported.' }),
    username: str({ help: 'Service user name.' }),
    password: str({ secret: true, help: "Service user's password." }),
    project_name: str({ help: "Service user's project name." }),
    user_domain_name: str({ default: 'Default', help: "Service user's domain name (ignored when user_domain_id is set)." }),
    project_domain_name: str({ default: 'Default', help: "Service project's domain name (ignored when project_domain_id is set)." }),
    user_domain_id: str({ help: "Service user's domain id." }),
    project_domain_id: str({ help: "Service project's domain id." }),
    region_name: str({ help: 'The region in which the identity server can be found.' }),
    token_cache_time: int({ default: 300, min: -1, help: 'Seconds to cache validated tokens; -1 disables caching.' }),
    service_token_roles_required: bool({ default: false, help: 'Require service tokens to carry service roles.' }),
    memcached_servers: list({ help: 'Ignored: tokens are always cached in-process.' }),
  },
  quotas: {
    quota_network: int({ default: 100, help: 'Networks allowed per project; negative means unlimited.' }),
    quota_subnet: int({ default: 100, help: 'Subnets allowed per project; negative means unlimited.' }),
    quota_port: int({ default: 500, help: 'Ports allowed per project; negative means unlimited.' }),
    quota_router: int({ default: 10, help: 'Routers allowed per project; negative means unlimited.' }),
    quota_floatingip: int({ default: 50, help: 'Floating IPs allowed per project; negative means unlimited.' }),
    quota_security_group: int({ default: 10, help: 'Security groups allowed per project; negative means unlimited.' }),
    quota_rbac_policy: int({
      default: 10,
      help: 'RBAC policies allowed per project; negative means unlimited.',
      deprecatedNames: ['quota_rbac_entry'],
    }),
    quota_security_group_rule: int({ default: 100, help: 'Security group rules allowed per project; negative means unlimited.' }),
    default_quota: int({ default: -1, help: 'Default quota for other resources; negative means unlimited.' }),
    quota_driver: str({ help: 'Ignored: quotas are always kept in the database.' }),
    track_quota_usage: bool({ default: true, help: 'Track current resource quota usage in the database.' }),
  },
  oslo_policy: {
    policy_file: str({ default: 'policy.yaml', help: 'Policy file, relative to the config file directories or absolute.' }),
    enforce_scope: bool({
      default: false,
      help: 'Refuse project-scoped rules (all of the API) to system- and domain-scoped tokens, as oslo.policy does.',
    }),
    enforce_new_defaults: bool({
      default: false,
      help: 'Enforce the secure-RBAC defaults alone (admin, project manager/member/reader, service); off: OR-ed with the deprecated rules, and admins skip the checks.',
    }),
    policy_dirs: list({
      default: ['policy.d'],
      multi: true,
      help: 'Directories of extra policy files, found like policy_file; their files are read in sorted order after it, later rules winning.',
    }),
  },
  ml2: {
    type_drivers: list({ default: ['local', 'flat', 'vlan', 'geneve', 'vxlan'], help: 'Network type drivers to load.' }),
    tenant_network_types: list({ default: ['local'], help: 'Ordered list of network types to allocate as project networks.' }),
    mechanism_drivers: list({ help: 'Ordered list of mechanism drivers.' }),
    extension_drivers: list({
      help: 'Ordered list of extension drivers, e.g. port_security,qos. dns, dns_domain_ports and subnet_dns_publish_fixed_ip only when named; port_device_profile, port_numa_affinity_policy(_socket), port_hints, port_trusted and uplink_status_propagation all when unset, else those named.',
    }),
    path_mtu: int({ default: 0, min: 0, help: 'Maximum IP packet size on the overlay underlay; 0 uses global_physnet_mtu.' }),
    physical_network_mtus: list({ help: 'List of <physnet>:<mtu> overriding global_physnet_mtu.' }),
    overlay_ip_version: int({ default: 4, choices: [4, 6], help: 'IP version of all overlay (tunnel) endpoints.' }),
  },
  ml2_type_flat: {
    flat_networks: list({ default: ['*'], help: "Physical networks allowed for flat networks; '*' any, empty disables flat." }),
  },
  ml2_type_vlan: {
    network_vlan_ranges: list({ help: 'List of <physnet>[:<vlan_min>:<vlan_max>]; a physnet alone allows VLANs 1-4094.' }),
  },
  ml2_type_vxlan: {
    vni_ranges: list({ help: 'List of <vni_min>:<vni_max> VXLAN VNI ranges for project networks.' }),
    vxlan_group: str({ help: 'Multicast group for VXLAN; unset disables multicast mode.' }),
  },
  ml2_type_geneve: {
    vni_ranges: list({ help: 'List of <vni_min>:<vni_max> Geneve VNI ranges for project networks.' }),
    max_header_size: int({ default: 38, min: 30, help: 'Maximum Geneve encapsulation header size in bytes.' }),
  },
  linux_bridge: {
    physical_interface_mappings: list({ help: 'List of <physnet>:<interface>.' }),
    bridge_mappings: list({ help: 'List of <physnet>:<bridge>.' }),
  },
  vxlan: {
    enable_vxlan: bool({ default: true, help: 'Enable VXLAN on the agent.' }),
    local_ip: str({ help: 'IP address of the local overlay (tunnel) endpoint.' }),
    l2_population: bool({ default: false, help: 'Use the l2population mechanism to fill VXLAN forwarding tables.' }),
    arp_responder: bool({ default: false, help: 'VXLAN devices answer ARP locally from l2population entries (proxy) instead of flooding it.' }),
  },
  agent: {
    report_interval: float({ default: 30, min: 0, help: 'Seconds between agent state reports; 0 disables them.' }),
    polling_interval: int({ default: 2, min: 1, help: 'Seconds between agent polls for local device changes.' }),
    availability_zone: str({ default: 'nova', help: 'Availability zone the DHCP (and L3) agent reports for its host.' }),
    check_child_processes_interval: int({
      default: 60,
      min: 0,
      help: 'DHCP agent: seconds between checks that every served network is still whole (dnsmasq alive, its namespace and interface there), repairing what is not; 0 disables them.',
    }),
    metrics_bind_port: port({ help: "Serve the agent's Prometheus metrics on this port at /metrics (unset: not served)." }),
    metrics_bind_host: str({ default: '127.0.0.1', help: "The address the agent's metrics listen on." }),
    extensions: list({ help: 'L2 agent extensions: `log` writes network logs (the logging API) of security group events; others are refused.' }),
  },
  // Neutron's [network_log] options of the L2 agent's log extension.
  network_log: {
    rate_limit: int({ default: 100, min: 100, help: 'Packets logged per second at most, per port and event (nftables limit).' }),
    burst_limit: int({ default: 25, min: 25, help: 'Packets logged in a burst above rate_limit.' }),
    local_output_log_base: str({ help: "The file network log lines go to (default: the agent's own log)." }),
  },
  aio: {
    agents: list({
      help: 'Agents `neutrino aio` runs in its own process on the in-memory bus: linuxbridge, dhcp, l3, metadata (need root, iproute2, dnsmasq, nftables; haproxy for metadata). Empty: the API only.',
    }),
  },
  securitygroup: {
    enable_security_group: bool({ default: true, help: 'Enable the security group API and agent-side filtering.' }),
    firewall_driver: str({ help: 'Firewall driver for security groups in the L2 agent.' }),
  },
  // oslo.middleware's [healthcheck] options, with backends of neutrino's own (src/server/health.ts).
  healthcheck: {
    detailed: bool({
      default: false,
      help: 'Show details (each check, versions, uptime) in /healthcheck answers. They may tell an attacker about the deployment.',
    }),
    backends: list({
      default: ['database', 'messaging'],
      help: 'Checks /healthcheck runs: database (a query), messaging (the RPC bus is connected), disable_by_file.',
    }),
    disable_by_file_path: str({ help: 'disable_by_file backend: /healthcheck answers 503 while this file exists.' }),
  },
  metrics: {
    enabled: bool({
      default: true,
      help: 'Serve Prometheus metrics at /metrics on the API port, without authentication (like /healthcheck).',
    }),
  },
  ui: {
    enabled: bool({
      default: true,
      help: "Serve the operator's page at /ui/ on the API port: the topology of a project and, for admins, agents and ports per host, updated live. It signs in with Keystone (or runs open under noauth); the data it shows is authenticated and filtered by policy like the API.",
    }),
  },
};

export type Schema = typeof SCHEMA;

// The DHCP agent's CPU per port change on a big network, without the kernel (no root): what a
// pass computes in the agent's process, the old way and the new way, in the same run.
//
//   npm run bench:dhcp-pass -- [--ports 10000] [--changes 500]
//
// fetch:  the agent parses get_network_info's answer (every port of the network, as the server
//         serializes API port dicts) and renders dnsmasq's hosts and opts files from it, and the
//         dhcp_ready_on_ports comparison;
// cast:   the port from the cast's payload is applied to the cache (cache.ts) and the files are
//         rendered from the cache's view, the unchanged ports' hosts lines taken from the memo.
// Each is timed over --changes port creations; CPU ms per change is printed. The dataplane part
// of a pass (ip, the file comparison and write, dnsmasq's SIGHUP) is the same both ways and is
// measured, with the server's side, by `npm run bench:dhcp` (root).
import { randomUUID } from 'node:crypto';
import { parseOptions } from '../src/config/command-line.js';
import { NetworkCache } from '../src/agents/dhcp/cache.js';
import { renderHosts, renderOpts, type NetworkInfo, type PortInfo } from '../src/agents/dhcp/render.js';

const USAGE = 'usage: npm run bench:dhcp-pass -- [--ports 10000] [--changes 500]';
const { values: v } = parseOptions(
  process.argv.slice(2),
  { ports: { type: 'string' }, changes: { type: 'string' }, help: { type: 'boolean' } } as const,
  USAGE,
  (m) => new Error(m),
);
if (v.help) {
  console.log(USAGE);
  process.exit(0);
}
const PORTS = Number(v.ports ?? 10_000);
const CHANGES = Number(v.changes ?? 500);
const NET = randomUUID();
const SUBNET = randomUUID();
const R = { dnsDomain: 'openstacklocal', leaseDuration: 86400, leaseMax: 16777216, dnsServers: [] };

/** A port dict as the API (and get_network_info) gives it. */
function apiPort(i: number): Record<string, unknown> {
  const ip = `10.${96 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
  const hex = (n: number) => (n & 255).toString(16).padStart(2, '0');
  return {
    id: randomUUID(),
    name: '',
    network_id: NET,
    tenant_id: 'a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5',
    mac_address: `fa:16:3e:${hex(i >> 16)}:${hex(i >> 8)}:${hex(i)}`,
    admin_state_up: true,
    status: 'ACTIVE',
    device_id: randomUUID(),
    device_owner: 'compute:nova',
    fixed_ips: [{ subnet_id: SUBNET, ip_address: ip }],
    allowed_address_pairs: [],
    extra_dhcp_opts: [],
    security_groups: [randomUUID()],
    description: '',
    'binding:vnic_type': 'normal',
    'binding:profile': {},
    'binding:host_id': 'compute-1',
    'binding:vif_type': 'bridge',
    'binding:vif_details': { connectivity: 'l2', port_filter: true },
    port_security_enabled: true,
    dns_name: '',
    dns_assignment: [{ ip_address: ip, hostname: `host-${ip.replace(/\./g, '-')}`, fqdn: `host-${ip.replace(/\./g, '-')}.openstacklocal.` }],
    qos_policy_id: null,
    qos_network_policy_id: null,
    resource_request: null,
    tags: [],
    created_at: '2026-12-07T18:00:00Z',
    updated_at: '2026-12-07T18:00:00Z',
    revision_number: 1,
    project_id: 'a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5',
  };
}

const network = (ports: unknown[]) => ({
  id: NET,
  name: 'bench',
  admin_state_up: true,
  mtu: 1450,
  project_id: 'a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5',
  subnets: [
    {
      id: SUBNET,
      network_id: NET,
      ip_version: 4,
      cidr: '10.96.0.0/12',
      gateway_ip: '10.96.0.1',
      enable_dhcp: true,
      dns_nameservers: [],
      host_routes: [],
    },
  ],
  non_local_subnets: [],
  ports,
});

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** The dhcp_ready_on_ports comparison of a pass: the old one builds every port's string. */
function readyStrings(ports: PortInfo[]): Map<string, string> {
  return new Map(
    ports.map((p) => [
      p.id,
      `${p.mac_address} ${p.fixed_ips
        .map((f) => f.ip_address)
        .sort()
        .join(',')}`,
    ]),
  );
}

const base = Array.from({ length: PORTS }, (_, i) => apiPort(i));
const added = Array.from({ length: CHANGES }, (_, i) => apiPort(PORTS + i));

// fetch: each change, the whole network as JSON text (what the bus hands the agent), parsed and rendered.
let sink = 0;
let serialize = 0;
let parseRender = 0;
const fetchRun = () => {
  const ports = [...base];
  for (const p of added) {
    ports.push(p);
    const a = cpuMs();
    const text = JSON.stringify(network(ports)); // the server's side, counted apart
    const b = cpuMs();
    const n = JSON.parse(text) as NetworkInfo;
    sink += renderHosts(n, R).length + renderOpts(n).length + readyStrings(n.ports).size;
    serialize += b - a;
    parseRender += cpuMs() - b;
  }
};

/** The agent's dhcp_ready_on_ports comparison now: a port object seen last time is not compared again. */
function readyIncremental(ports: PortInfo[], told: Map<string, { port: PortInfo; what: string }>) {
  const current = new Map<string, { port: PortInfo; what: string }>();
  for (const p of ports) {
    const was = told.get(p.id);
    const what = was?.port === p ? was.what : `${p.mac_address} ${p.fixed_ips.map((f) => f.ip_address).join(',')}`;
    current.set(p.id, { port: p, what });
  }
  return current;
}

// cast: the port applied to the cache, rendered from its view with the memo.
const castRun = (withMemo = true) => {
  const cache = new NetworkCache();
  const seq = cache.beginFetch(NET);
  cache.put(NET, JSON.parse(JSON.stringify(network(base))) as NetworkInfo, seq);
  cache.endFetch(seq);
  const memo = new WeakMap<PortInfo, string[]>();
  renderHosts(cache.get(NET)!, R, memo);
  let told = readyIncremental(cache.get(NET)!.ports, new Map());
  const t0 = cpuMs();
  for (const p of added) {
    cache.apply(NET, { port: JSON.parse(JSON.stringify(p)) as PortInfo });
    const n = cache.get(NET)!;
    told = readyIncremental(n.ports, told);
    sink += renderHosts(n, R, withMemo ? memo : undefined).length + renderOpts(n).length;
  }
  return cpuMs() - t0;
};

castRun(); // warm-up
fetchRun();
const castMs = castRun();
const noMemoMs = castRun(false);
console.log(`DHCP agent CPU per port created on a network of ${PORTS} ports (${CHANGES} creations, one pass each)`);
console.log(`  fetch (parse get_network_info's answer, render, ready check): ${(parseRender / CHANGES).toFixed(2)} ms`);
console.log(`    (the server's JSON.stringify of that answer alone: ${(serialize / CHANGES).toFixed(2)} ms)`);
console.log(`  cast (apply the payload's port, render from the cache): ${(castMs / CHANGES).toFixed(2)} ms`);
console.log(`    (the same rendering every port's hosts lines again: ${(noMemoMs / CHANGES).toFixed(2)} ms)`);
if (sink < 0) console.log(sink);

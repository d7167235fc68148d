// The L2 agent's security group firewall at scale, as root, in a scratch network namespace: N
// ports in one group (Neutron's default group: ingress from members, egress anywhere), the
// server replaced by a function. Prints how long each kind of pass takes and what it costs in
// kernel commands: the first pass, a pass with nothing new, a full pass (read, nothing to
// write; and one that reads the kernel to check for drift), a rule added to the group (every port's ingress chain), a member joining (one set
// element), a restarted agent adopting the tables; and the kernel footprint of a port.
//
//   node dist/bench/firewall-bench.js [--ports 500] [--runs 3] [--json out.json]
import { writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { deleteNetns, ensureNetns, readNftTable, stats } from '../src/dataplane/index.js';
import { silentLogger } from '../src/rpc/index.js';
import { SecurityGroupFirewall, type SecurityGroupInfo } from '../src/agents/linuxbridge/security-groups.js';
import { FW_TABLE, type SgRule } from '../src/agents/linuxbridge/firewall.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}
const N = arg('ports', 500);
const RUNS = arg('runs', 3);
const jsonAt = process.argv.indexOf('--json');

const G = 'bbbbbbbb-0000-4000-8000-000000000001';
const rules: SgRule[] = [
  { direction: 'ingress', ethertype: 'IPv4', remote_group_id: G, stateful: true },
  { direction: 'ingress', ethertype: 'IPv6', remote_group_id: G, stateful: true },
  { direction: 'egress', ethertype: 'IPv4', stateful: true },
  { direction: 'egress', ethertype: 'IPv6', stateful: true },
];
const ip = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
const dev = (i: number) => `tap${i.toString(16).padStart(8, '0')}-be`;
const mac = (i: number) =>
  `fa:16:3e:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
let members = Array.from({ length: N }, (_, i) => ip(i + 1));

async function server<T>(_method: string, a: Record<string, unknown>): Promise<T> {
  const info: SecurityGroupInfo = {
    devices: {},
    security_groups: { [G]: rules.map((r) => ({ ...r })) },
    sg_member_ips: { [G]: { IPv4: members.map((m) => [m, null]), IPv6: [] } },
  };
  for (const d of a.devices as string[]) {
    const i = parseInt(d.slice(3, 11), 16);
    info.devices![`port-${i}`] = {
      device: d,
      mac_address: mac(i),
      fixed_ips: [ip(i)],
      security_groups: [G],
      port_security_enabled: true,
      security_group_rules: [
        {
          direction: 'ingress',
          ethertype: 'IPv4',
          protocol: 'udp',
          port_range_min: 68,
          port_range_max: 68,
          source_port_range_min: 67,
          source_port_range_max: 67,
          dest_ip_prefix: `${ip(i)}/32`,
        },
        {
          direction: 'ingress',
          ethertype: 'IPv4',
          protocol: 'udp',
          port_range_min: 68,
          port_range_max: 68,
          source_port_range_min: 67,
          source_port_range_max: 67,
          dest_ip_prefix: '255.255.255.255/32',
        },
      ],
    };
  }
  return info as T;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('firewall-bench needs root (it makes a network namespace)');
  const ns = `fwbench-${randomBytes(3).toString('hex')}`;
  await ensureNetns(ns);
  const out: Record<string, unknown> = { ports: N };
  const devices = new Map(Array.from({ length: N }, (_, i) => [dev(i + 1), 'brqbench0000-0'] as const));
  const fw = (kernelCheckInterval = 30) =>
    new SecurityGroupFirewall({ call: server, target: { netns: ns }, logger: silentLogger, kernelCheckInterval });
  const timed = async (name: string, fn: () => Promise<unknown>) => {
    const times: number[] = [];
    let cost = { reads: 0, writes: 0 };
    for (let r = 0; r < RUNS; r++) {
      const s0 = stats();
      const t0 = performance.now();
      await fn();
      times.push(performance.now() - t0);
      const s1 = stats();
      cost = { reads: s1.reads - s0.reads, writes: s1.writes - s0.writes };
    }
    const sorted = [...times].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    out[name] = { median_ms: Math.round(median * 10) / 10, kernel: cost };
    process.stdout.write(
      `${name.padEnd(34)} ${median.toFixed(1).padStart(8)} ms  (median of ${RUNS}; last: ${cost.reads} reads, ${cost.writes} writes)\n`,
    );
  };
  try {
    process.stdout.write(`security group firewall, ${N} ports in one group, namespace ${ns}\n`);
    const a = fw();
    const s0 = stats();
    const t0 = performance.now();
    await a.sync(devices, true);
    const first = performance.now() - t0;
    out.first_pass = { ms: Math.round(first), kernel: { reads: stats().reads - s0.reads, writes: stats().writes - s0.writes } };
    process.stdout.write(`${'first pass (empty kernel)'.padEnd(34)} ${first.toFixed(1).padStart(8)} ms\n`);
    await timed('quick pass, nothing new', () => a.sync(devices, false));
    await timed('full pass, nothing to write', () => a.sync(devices, true));
    const reader = fw(0);
    await reader.sync(devices, true);
    await timed('full pass reading the kernel', () => reader.sync(devices, true));
    let port = 1000;
    await timed('rule added to the group', async () => {
      rules.push({ direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', port_range_min: port, port_range_max: port++, stateful: true });
      a.handlers(() => {}).security_groups_rule_updated!({ requestId: 'bench', projectId: null }, { security_groups: [G] });
      await a.sync(devices, false);
    });
    let extra = N + 1;
    await timed('member joins the group', async () => {
      members = [...members, ip(++extra)];
      a.handlers(() => {}).security_groups_member_updated!({ requestId: 'bench', projectId: null }, { security_groups: [G] });
      await a.sync(devices, false);
    });
    await timed('restarted agent, first pass', () => fw().sync(devices, true));
    const bridge = await readNftTable('bridge', FW_TABLE, { netns: ns });
    const inet = await readNftTable('inet', FW_TABLE, { netns: ns });
    const d = dev(1);
    const rulesOf = (t: typeof bridge) =>
      [...(t?.chains ?? new Map())].filter(([n]) => n.endsWith(`-${d}`)).reduce((n, [, c]) => n + c.tags.length, 0);
    out.per_port = {
      bridge_rules: rulesOf(bridge),
      inet_rules: rulesOf(inet),
      sets: [...(bridge?.sets.keys() ?? [])].filter((n) => n.endsWith(`-${d}`)).length,
    };
    out.table_rules = [...(bridge?.chains.values() ?? []), ...(inet?.chains.values() ?? [])].reduce((n, c) => n + c.tags.length, 0);
    process.stdout.write(`per port: ${JSON.stringify(out.per_port)}; both tables: ${String(out.table_rules)} rules\n`);
  } finally {
    await deleteNetns(ns);
  }
  if (jsonAt > 0) writeFileSync(process.argv[jsonAt + 1]!, `${JSON.stringify(out, null, 2)}\n`);
}

await main();

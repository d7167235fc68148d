// `neutrino linuxbridge-cleanup`: removes the Linux-bridge agent's leftovers from a host, as
// Neutron's neutron-linuxbridge-cleanup does (run it at boot, before the agent starts; like
// Neutron's, it must not race with a VM being plugged).
//
// What goes (planCleanup, pure):
//   - a `brq…` bridge with no `tap…` interface in it, unless it is a bridge_mappings bridge (the
//     deployer's) or carries IP addresses (the agent never puts any on its bridges, so someone
//     else uses it);
//   - with such a bridge, the members the agent made for it: its `vxlan-<vni>` device and a VLAN
//     sub-interface `<parent>.<vid>` of a physical_interface_mappings interface (the physical
//     interfaces themselves are only detached, which deleting the bridge does);
//   - a `vxlan-<vni>` device in no bridge at all (a wiring cut short).
// Everything else is left alone. One read of the links, one `ip -force -batch` of deletions.
import { resolve } from 'node:path';
import { ConfigError, loadConfig, parseMappings } from '../../config/index.js';
import { IpBatch, listLinks, type Link, type Target } from '../../dataplane/index.js';
import { BRIDGE_PREFIX, VXLAN_PREFIX, isTap } from './model.js';
import { parseOptions } from '../../config/command-line.js';

export interface CleanupOptions {
  /** physnet → bridge ([linux_bridge] bridge_mappings): never removed. */
  bridgeMappings: Record<string, string>;
  /** physnet → interface ([linux_bridge] physical_interface_mappings): VLAN parents, never removed. */
  interfaceMappings: Record<string, string>;
}

export interface CleanupItem {
  name: string;
  kind: string | null;
  why: string;
}

export interface CleanupPlan {
  /** In deletion order: members before their bridge. */
  remove: CleanupItem[];
  /** brq bridges and vxlan devices that stay, with the reason. */
  keep: CleanupItem[];
}

/** A vxlan device named as the agent names them: `vxlan-<its own VNI>`. */
function isAgentVxlan(l: Link): boolean {
  if (l.kind !== 'vxlan' || !l.name.startsWith(VXLAN_PREFIX)) return false;
  return l.vxlan !== undefined && l.name === `${VXLAN_PREFIX}${l.vxlan.vni}`;
}

/** A VLAN sub-interface named as the agent names them: `<parent[:10]>.<vid>` of a mapped interface. */
function isAgentVlan(l: Link, parents: Set<string>): boolean {
  if (l.kind !== 'vlan' || !l.vlan || !l.parent || !parents.has(l.parent)) return false;
  return l.name === `${l.parent.slice(0, 10)}.${l.vlan.id}`;
}

export function planCleanup(links: readonly Link[], o: CleanupOptions): CleanupPlan {
  const mapped = new Set(Object.values(o.bridgeMappings));
  const parents = new Set(Object.values(o.interfaceMappings));
  const members = new Map<string, Link[]>();
  for (const l of links) if (l.master) (members.get(l.master) ?? members.set(l.master, []).get(l.master)!).push(l);
  const plan: CleanupPlan = { remove: [], keep: [] };
  for (const br of links) {
    if (br.kind !== 'bridge' || !br.name.startsWith(BRIDGE_PREFIX)) continue;
    const inside = members.get(br.name) ?? [];
    const tap = inside.find((m) => isTap(m.name));
    if (mapped.has(br.name)) plan.keep.push({ name: br.name, kind: br.kind, why: 'a bridge_mappings bridge' });
    else if (tap) plan.keep.push({ name: br.name, kind: br.kind, why: `${tap.name} is plugged` });
    else if (br.addresses.length)
      plan.keep.push({ name: br.name, kind: br.kind, why: `has addresses (${br.addresses.join(', ')}): not the agent's` });
    else {
      for (const m of inside) {
        if (isAgentVxlan(m)) plan.remove.push({ name: m.name, kind: m.kind, why: `VXLAN device of ${br.name}` });
        else if (isAgentVlan(m, parents)) plan.remove.push({ name: m.name, kind: m.kind, why: `VLAN interface of ${br.name}` });
      }
      plan.remove.push({ name: br.name, kind: br.kind, why: 'no tap plugged' });
      continue;
    }
    for (const m of inside) if (isAgentVxlan(m)) plan.keep.push({ name: m.name, kind: m.kind, why: `in ${br.name}, which stays` });
  }
  for (const l of links) {
    if (!isAgentVxlan(l)) continue;
    if (l.master === null) plan.remove.push({ name: l.name, kind: l.kind, why: 'in no bridge' });
    else if (!l.master.startsWith(BRIDGE_PREFIX)) plan.keep.push({ name: l.name, kind: l.kind, why: `in ${l.master}, not an agent bridge` });
  }
  return plan;
}

export interface CleanupResult extends CleanupPlan {
  /** Planned removals still present after the batch (each with the error), [] on success. */
  failed: CleanupItem[];
  dryRun: boolean;
}

/** Reads the links of the target, removes what planCleanup says (unless dryRun). */
export async function linuxbridgeCleanup(o: CleanupOptions & { target?: Target; dryRun?: boolean }): Promise<CleanupResult> {
  const plan = planCleanup(await listLinks(o.target), o);
  const result: CleanupResult = { ...plan, failed: [], dryRun: !!o.dryRun };
  if (o.dryRun || plan.remove.length === 0) return result;
  const batch = new IpBatch();
  for (const r of plan.remove) batch.deleteLink(r.name);
  try {
    // -force: a device that vanished meanwhile must not stop the other deletions.
    await batch.apply(o.target, { force: true });
  } catch (err) {
    const still = new Set((await listLinks(o.target)).map((l) => l.name));
    const msg = (err as Error).message.split('\n')[0]!;
    result.failed = plan.remove.filter((r) => still.has(r.name)).map((r) => ({ ...r, why: msg }));
    const failed = new Set(result.failed.map((f) => f.name));
    result.remove = plan.remove.filter((r) => !failed.has(r.name));
  }
  return result;
}

export const CLEANUP_USAGE = `usage: neutrino linuxbridge-cleanup [--config-file FILE]... [--netns NAME] [--dry-run]

Removes brq bridges with no tap plugged (not bridge_mappings ones), their vxlan-/VLAN devices,
and vxlan- devices in no bridge. Run it before the agent starts, not while VMs are plugged.
Reads [linux_bridge] bridge_mappings and physical_interface_mappings.
`;

export interface CleanupCliArgs {
  configFiles: string[];
  netns?: string;
  dryRun: boolean;
}

export function parseCleanupArgs(argv: string[]): CleanupCliArgs | 'help' {
  const spec = {
    'config-file': { type: 'string', multiple: true },
    netns: { type: 'string' },
    'dry-run': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  } as const;
  const { values: v, positionals } = parseOptions(argv, spec, CLEANUP_USAGE, (m) => new ConfigError(m, {}));
  if (v.help) return 'help';
  if (positionals.length) throw new ConfigError(`unexpected argument ${positionals[0]}\n\n${CLEANUP_USAGE}`, {});
  return {
    configFiles: (v['config-file'] ?? []).map((f) => resolve(f)),
    dryRun: v['dry-run'] ?? false,
    ...(v.netns !== undefined ? { netns: v.netns } : {}),
  };
}

/** The command: prints one line per device removed, kept or failed; exit status 1 if any failed. */
export async function runLinuxBridgeCleanup(argv: string[], write: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  const args = parseCleanupArgs(argv);
  if (args === 'help') {
    write(CLEANUP_USAGE);
    return 0;
  }
  const cfg = loadConfig(args.configFiles, {});
  const mappings = (v: readonly string[], opt: string) => Object.fromEntries(parseMappings([...v], opt));
  const r = await linuxbridgeCleanup({
    bridgeMappings: mappings(cfg.linux_bridge.bridge_mappings, '[linux_bridge] bridge_mappings'),
    interfaceMappings: mappings(cfg.linux_bridge.physical_interface_mappings, '[linux_bridge] physical_interface_mappings'),
    ...(args.netns ? { target: { netns: args.netns } } : {}),
    dryRun: args.dryRun,
  });
  const verb = r.dryRun ? 'would remove' : 'removed';
  for (const x of r.remove) write(`${verb} ${x.kind} ${x.name}: ${x.why}\n`);
  for (const x of r.keep) write(`kept ${x.kind} ${x.name}: ${x.why}\n`);
  for (const x of r.failed) write(`FAILED to remove ${x.kind} ${x.name}: ${x.why}\n`);
  write(`linuxbridge-cleanup: ${r.remove.length} ${verb}, ${r.keep.length} kept, ${r.failed.length} failed\n`);
  return r.failed.length ? 1 : 0;
}

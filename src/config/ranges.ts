// Parsers for Neutron's structured list options, mirroring neutron_lib.plugins.utils
// (parse_network_vlan_ranges, verify_tunnel_range) and neutron_lib.utils.helpers.parse_mappings.
// `option` names the option in errors, e.g. "[ml2_type_vlan] network_vlan_ranges".
import { ConfigError } from './errors.js';
import { splitList } from './options.js';

export type IdRange = readonly [min: number, max: number];
export type TunnelType = 'vxlan' | 'geneve' | 'gre';

export const VLAN_MIN = 1;
export const VLAN_MAX = 4094;
export const VNI_LIMITS: Readonly<Record<TunnelType, IdRange>> = {
  vxlan: [1, 2 ** 24 - 1],
  geneve: [1, 2 ** 24 - 1],
  gre: [1, 2 ** 32 - 1],
};

type Entries = string | readonly string[];
const entriesOf = (v: Entries): string[] => (typeof v === 'string' ? splitList(v) : v.map((s) => s.trim()).filter(Boolean));

function fail(option: string, entry: string, why: string): never {
  const m = /^\[([^\]]+)\]\s*(.+)$/.exec(option);
  throw new ConfigError(`${option}: ${why} in "${entry}"`, m ? { section: m[1], option: m[2] } : { option });
}

function toId(option: string, entry: string, s: string, what: string, [min, max]: IdRange): number {
  const t = s.trim();
  const n = /^\d+$/.test(t) ? Number(t) : NaN;
  if (!(n >= min && n <= max)) fail(option, entry, `${t === '' ? '(empty)' : t} is not a valid ${what} (expected ${min}-${max})`);
  return n;
}

/**
 * `physnet1:100:200,physnet2` -> Map { physnet1 => [[100,200]], physnet2 => [[1,4094]] }, in file
 * order. A physnet listed without a range gets the whole VLAN space, which also wins over any range
 * listed for it (Neutron does the same).
 */
export function parseVlanRanges(value: Entries, option = '[ml2_type_vlan] network_vlan_ranges'): Map<string, IdRange[]> {
  const out = new Map<string, IdRange[]>();
  const whole: IdRange = [VLAN_MIN, VLAN_MAX];
  for (const entry of entriesOf(value)) {
    const parts = entry.split(':');
    if (parts.length !== 1 && parts.length !== 3) fail(option, entry, 'expected <physical_network>[:<vlan_min>:<vlan_max>]');
    const physnet = parts[0]!.trim();
    if (!physnet) fail(option, entry, 'missing physical network name');
    if (parts.length === 1) {
      out.set(physnet, [whole]);
      continue;
    }
    const min = toId(option, entry, parts[1]!, 'VLAN tag', whole);
    const max = toId(option, entry, parts[2]!, 'VLAN tag', whole);
    if (max < min) fail(option, entry, 'end of VLAN range is less than start of VLAN range');
    const ranges = out.get(physnet);
    if (ranges?.[0] === whole) continue;
    if (ranges) ranges.push([min, max]);
    else out.set(physnet, [[min, max]]);
  }
  return out;
}

/** `1:1000,2000:2100` -> [[1,1000],[2000,2100]], each checked against the tunnel type's ID space. */
export function parseVniRanges(value: Entries, type: TunnelType = 'vxlan', option = `[ml2_type_${type}] vni_ranges`): IdRange[] {
  const limits = VNI_LIMITS[type];
  const what = `${type.toUpperCase()} ${type === 'gre' ? 'tunnel id' : 'VNI'}`;
  return entriesOf(value).map((entry) => {
    const parts = entry.split(':');
    if (parts.length !== 2) fail(option, entry, `expected <${type === 'gre' ? 'tun' : 'vni'}_min>:<${type === 'gre' ? 'tun' : 'vni'}_max>`);
    const min = toId(option, entry, parts[0]!, what, limits);
    const max = toId(option, entry, parts[1]!, what, limits);
    if (max < min) fail(option, entry, 'end of tunnel range is less than start of tunnel range');
    return [min, max] as const;
  });
}

/**
 * `physnet1:eth0,physnet2:eth1` -> Map { physnet1 => eth0, physnet2 => eth1 }. Keys must be
 * unique and, unless uniqueValues is false, so must values (two physnets on one NIC is a mistake).
 */
export function parseMappings(value: Entries, option: string, opts: { uniqueValues?: boolean } = {}): Map<string, string> {
  const out = new Map<string, string>();
  const seen = new Set<string>();
  for (const entry of entriesOf(value)) {
    const parts = entry.split(':');
    if (parts.length !== 2) fail(option, entry, 'expected <key>:<value>');
    const key = parts[0]!.trim();
    const val = parts[1]!.trim();
    if (!key) fail(option, entry, 'missing key');
    if (!val) fail(option, entry, 'missing value');
    if (out.has(key)) fail(option, entry, `key ${key} is not unique`);
    if (opts.uniqueValues !== false && seen.has(val)) fail(option, entry, `value ${val} is not unique`);
    out.set(key, val);
    seen.add(val);
  }
  return out;
}

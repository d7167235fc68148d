// Annotated sample config files from the option schema, written the way oslo-config-generator
// writes Neutron's: every option commented out with its help, type, limits and default, each in the
// file(s) where Neutron's generator namespaces put it (etc/oslo-config-generator/*.ini).
import type { OptDef } from './options.js';
import { SCHEMA } from './schema.js';

export const SAMPLE_FILES = [
  'neutron.conf',
  'ml2_conf.ini',
  'linuxbridge_agent.ini',
  'dhcp_agent.ini',
  'l3_agent.ini',
  'metadata_agent.ini',
] as const;
export type SampleFile = (typeof SAMPLE_FILES)[number];

type AnyOpt = OptDef<unknown> & { min?: number; max?: number; choices?: readonly unknown[] };

const DHCP_DEFAULT = [
  'resync_interval',
  'enable_isolated_metadata',
  'force_metadata',
  'dnsmasq_dns_servers',
  'dnsmasq_lease_max',
  'interface_driver',
];
const L3_DEFAULT = [
  'agent_mode',
  'handle_internal_only_routers',
  'send_arp_for_ha',
  'periodic_interval',
  'enable_metadata_proxy',
  'min_rtr_adv_interval',
  'max_rtr_adv_interval',
  'ha_vrrp_auth_type',
  'ha_vrrp_auth_password',
  'ha_vrrp_advert_int',
  'ha_confs_path',
  'interface_driver',
];
const METADATA_DEFAULT = [
  'metadata_proxy_socket',
  'nova_metadata_host',
  'nova_metadata_port',
  'nova_metadata_protocol',
  'metadata_proxy_shared_secret',
  'metadata_workers',
  'metadata_backlog',
];
/** Options every agent reads from its own file as well ([DEFAULT] host, debug, log_file, the bus). */
const AGENT_COMMON_DEFAULT = ['host', 'debug', 'log_file', 'log_dir', 'use_json', 'transport_url', 'control_exchange', 'rpc_response_timeout'];

/** Options Neutron does not have: the sample says so. */
const NEUTRINO_ONLY = new Set([
  'DEFAULT/max_bulk_items',
  'database/query_timeout',
  'agent/metrics_bind_port',
  'agent/metrics_bind_host',
  'metrics/enabled',
  'ui/enabled',
  'aio/agents',
]);

/** The files `[section] name` goes in, as Neutron's generator configs place it. */
export function sampleFilesFor(section: string, name: string): SampleFile[] {
  switch (section) {
    case 'ml2':
    case 'ml2_type_flat':
    case 'ml2_type_vlan':
    case 'ml2_type_vxlan':
    case 'ml2_type_geneve':
      return ['ml2_conf.ini'];
    case 'linux_bridge':
    case 'vxlan':
    case 'securitygroup':
    case 'network_log':
      return ['linuxbridge_agent.ini'];
    case 'agent':
      if (name === 'availability_zone') return ['dhcp_agent.ini', 'l3_agent.ini'];
      if (name === 'check_child_processes_interval') return ['dhcp_agent.ini', 'l3_agent.ini'];
      if (name === 'polling_interval' || name === 'extensions') return ['linuxbridge_agent.ini'];
      return ['neutron.conf', 'linuxbridge_agent.ini', 'dhcp_agent.ini', 'l3_agent.ini', 'metadata_agent.ini'];
    case 'oslo_messaging_rabbit':
      return ['neutron.conf', 'linuxbridge_agent.ini', 'dhcp_agent.ini', 'l3_agent.ini', 'metadata_agent.ini'];
    case 'DEFAULT': {
      const files: SampleFile[] = [];
      const agentOnly = DHCP_DEFAULT.includes(name) || L3_DEFAULT.includes(name) || METADATA_DEFAULT.includes(name);
      if (!agentOnly) files.push('neutron.conf');
      if (DHCP_DEFAULT.includes(name)) files.push('dhcp_agent.ini');
      if (L3_DEFAULT.includes(name)) files.push('l3_agent.ini');
      if (METADATA_DEFAULT.includes(name)) files.push('metadata_agent.ini');
      if (AGENT_COMMON_DEFAULT.includes(name)) files.push('linuxbridge_agent.ini', 'dhcp_agent.ini', 'l3_agent.ini', 'metadata_agent.ini');
      return files;
    }
    default:
      return ['neutron.conf'];
  }
}

/** Word-wraps comment text to oslo-config-generator's 70 columns (hand-written: a dozen lines). */
function comment(text: string): string[] {
  const out: string[] = [];
  let line = '#';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line.length > 1 && line.length + 1 + word.length > 70) {
      out.push(line);
      line = '#';
    }
    line += ` ${word}`;
  }
  if (line.length > 1) out.push(line);
  return out;
}

const TYPE_NAME: Record<AnyOpt['kind'], string> = {
  string: 'string value',
  int: 'integer value',
  float: 'floating point value',
  bool: 'boolean value',
  list: 'list value',
  port: 'port value',
  enum: 'string value',
  url: 'URI value',
};

function defaultText(opt: AnyOpt): string {
  const d = opt.default;
  if (d === null || d === undefined) return '<None>';
  if (Array.isArray(d)) return d.join(',');
  return String(d);
}

function optionBlock(section: string, name: string, opt: AnyOpt): string[] {
  const type = opt.multi ? 'multi valued' : TYPE_NAME[opt.kind];
  const lines = comment(`${opt.help} (${type})`);
  if (NEUTRINO_ONLY.has(`${section}/${name}`)) lines.push('# neutrino only: Neutron has no such option.');
  if (opt.choices && opt.kind !== 'int') lines.push('# Possible values:', ...opt.choices.map((c) => `# ${String(c)}`));
  if (opt.choices && opt.kind === 'int') lines.push(`# Allowed values: ${opt.choices.join(', ')}`);
  if (opt.min !== undefined && opt.kind !== 'port') lines.push(`# Minimum value: ${opt.min}`);
  if (opt.max !== undefined && opt.kind !== 'port') lines.push(`# Maximum value: ${opt.max}`);
  for (const old of opt.deprecatedNames ?? []) lines.push(`# Deprecated group/name - [${section}]/${old}`);
  const d = defaultText(opt);
  lines.push(d === '' ? `#${name} =` : `#${name} = ${d}`);
  return lines;
}

/** The text of every sample file, keyed by file name. */
export function sampleConfigs(): Record<SampleFile, string> {
  const bySection = new Map<SampleFile, Map<string, string[][]>>(SAMPLE_FILES.map((f) => [f, new Map()]));
  const sections = SCHEMA as unknown as Record<string, Record<string, AnyOpt>>;
  for (const [section, opts] of Object.entries(sections)) {
    for (const [name, opt] of Object.entries(opts)) {
      for (const file of sampleFilesFor(section, name)) {
        const sectionsOfFile = bySection.get(file)!;
        const blocks = sectionsOfFile.get(section) ?? [];
        blocks.push(optionBlock(section, name, opt));
        sectionsOfFile.set(section, blocks);
      }
    }
  }
  const out = {} as Record<SampleFile, string>;
  for (const file of SAMPLE_FILES) {
    const sectionsOfFile = bySection.get(file)!;
    // [DEFAULT] first, as oslo's generator writes it; the rest in schema order.
    const names = [...sectionsOfFile.keys()].sort((a, b) => (a === 'DEFAULT' ? -1 : b === 'DEFAULT' ? 1 : 0));
    if (!names.includes('DEFAULT')) names.unshift('DEFAULT');
    const parts = names.map((s) => [`[${s}]`, '', ...(sectionsOfFile.get(s) ?? []).map((b) => `${b.join('\n')}\n`)].join('\n'));
    out[file] = `${parts.join('\n')}`.replace(/\n*$/, '\n');
  }
  return out;
}

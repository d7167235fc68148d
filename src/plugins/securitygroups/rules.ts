// The pure core of security group rules, as Neutron's SecurityGroupDbMixin validates them
// (neutron/db/securitygroups_db.py): canonical forms (legacy IPv6 ICMP names, the full port range
// as "no range"), port ranges per protocol, ethertype against remote_ip_prefix and protocol, one
// remote at most, and the key that tells duplicate rules apart.
import type { SecurityGroupRuleTable } from '../../db/schema.js';
import { parseIpPrefix } from '../../definitions/security-group.js';
import { IP_PROTOCOLS } from '../../core/wire.js';
import {
  invalidCidr,
  securityGroupEthertypeConflictWithProtocol,
  securityGroupInvalidIcmpValue,
  securityGroupInvalidPortRange,
  securityGroupInvalidPortValue,
  securityGroupInvalidProtocolForPort,
  securityGroupMissingIcmpType,
  securityGroupMultipleRemoteEntites,
  securityGroupProtocolRequiredWithPorts,
  securityGroupRuleParameterConflict,
} from './errors.js';

/** What a rule says: its stored columns other than identity and standard attributes. */
export type RuleSpec = Pick<
  SecurityGroupRuleTable,
  | 'security_group_id'
  | 'direction'
  | 'ethertype'
  | 'protocol'
  | 'port_range_min'
  | 'port_range_max'
  | 'remote_ip_prefix'
  | 'remote_group_id'
  | 'remote_address_group_id'
>;

export type NormalizedRule = RuleSpec & Pick<SecurityGroupRuleTable, 'normalized_cidr'>;

/** Protocols whose rules may carry port ranges (neutron/common/_constants.py SG_PORT_PROTO_*). */
const PORT_PROTOCOLS = new Set([33, 132, 6, 17, 136]);
const PORT_PROTOCOL_NAMES = 'DCCP, SCTP, TCP, UDP, UDPLITE';
const ICMP_PROTOCOLS = new Set([1, 58]);
/** Protocols that only exist over IPv6: refused in IPv4 rules. */
const IPV6_ONLY = new Set([
  'ipv6-encap',
  'ipv6-frag',
  'ipv6-icmp',
  'icmpv6',
  'ipv6-nonxt',
  'ipv6-opts',
  'ipv6-route',
  '41',
  '44',
  '58',
  '59',
  '60',
  '43',
]);

/** Number -> name, the last name of a number winning, without the legacy 'icmpv6' (IP_PROTOCOL_NUM_TO_NAME_MAP). */
const NUM_TO_NAME: ReadonlyMap<number, string> = new Map(
  Object.entries(IP_PROTOCOLS)
    .filter(([name]) => name !== 'icmpv6')
    .map(([name, num]) => [num, name]),
);

/** The protocol's number (names through the map, numbers as they are); null for "any". */
export function protocolNumber(protocol: string | null): number | null {
  if (protocol === null) return null;
  const byName = IP_PROTOCOLS[protocol];
  return byName !== undefined ? byName : Number(protocol);
}

function validatePortRange(r: RuleSpec): void {
  const { port_range_min: min, port_range_max: max } = r;
  if (min === null && max === null) return;
  if (!r.protocol) throw securityGroupProtocolRequiredWithPorts();
  const proto = protocolNumber(r.protocol)!;
  if (PORT_PROTOCOLS.has(proto)) {
    if (min === 0 || max === 0) throw securityGroupInvalidPortValue(0);
    if (min === null || max === null || min > max) {
      throw securityGroupInvalidPortRange();
    }
  } else if (ICMP_PROTOCOLS.has(proto)) {
    for (const [value, attr, field] of [
      [min, 'port_range_min', 'type'],
      [max, 'port_range_max', 'code'],
    ] as const) {
      if (value !== null && !(value >= 0 && value <= 255)) {
        throw securityGroupInvalidIcmpValue(field, attr, value);
      }
    }
    if (min === null && max !== null) {
      throw securityGroupMissingIcmpType(max);
    }
  } else {
    throw securityGroupInvalidProtocolForPort(proto, PORT_PROTOCOL_NAMES);
  }
}

/**
 * Canonical form of a rule, or the 400 Neutron gives for it. Input values have already been
 * through the attribute converters (protocol lower-case name or number string, ports integers,
 * ethertype 'IPv4'/'IPv6', remote_ip_prefix "addr/len").
 */
export function normalizeRule(input: RuleSpec): NormalizedRule {
  const r: RuleSpec = { ...input };
  // Legacy IPv6 ICMP spellings become 'ipv6-icmp' / 58.
  if (r.ethertype === 'IPv6') {
    if (r.protocol === 'icmp' || r.protocol === 'icmpv6') r.protocol = 'ipv6-icmp';
    else if (r.protocol === '1') r.protocol = '58';
  }
  // The entire port range is the same as no range.
  if (r.port_range_min === 1 && r.port_range_max === 65535) {
    r.port_range_min = null;
    r.port_range_max = null;
  }
  validatePortRange(r);
  let normalized: string | null = null;
  if (r.remote_ip_prefix) {
    const p = parseIpPrefix(r.remote_ip_prefix);
    if (!p) throw invalidCidr(r.remote_ip_prefix);
    r.remote_ip_prefix = p.prefix;
    normalized = p.cidr;
    if (r.ethertype !== `IPv${p.version}`) {
      throw securityGroupRuleParameterConflict(r.ethertype, input.remote_ip_prefix);
    }
  }
  if (r.protocol !== null && IPV6_ONLY.has(r.protocol) && r.ethertype === 'IPv4') {
    throw securityGroupEthertypeConflictWithProtocol(r.ethertype, r.protocol);
  }
  const remotes = [r.remote_ip_prefix, r.remote_group_id, r.remote_address_group_id].filter((x) => x);
  if (remotes.length > 1) {
    throw securityGroupMultipleRemoteEntites();
  }
  return { ...r, normalized_cidr: normalized };
}

/** Protocol as [name, number] text, so that 'tcp' and '6' (or 'icmpv6' and '58') compare equal. */
function protocolKey(protocol: string | null, ethertype: string): string {
  if (protocol === null) return '+';
  let p = protocol;
  if (ethertype === 'IPv6') {
    if (p === 'icmp' || p === 'icmpv6') p = 'ipv6-icmp';
    else if (p === '1') p = '58';
  }
  if (p in IP_PROTOCOLS) return `${p}/${IP_PROTOCOLS[p]}`;
  const name = /^\d+$/.test(p) ? NUM_TO_NAME.get(Number(p)) : undefined;
  return name ? `${name}/${p}` : `${p}/${p}`;
}

const ANY_PREFIX = new Set(['0.0.0.0/0', '::/0']);

/** What makes two rules of a group the same rule (Neutron's _rule_to_key). */
export function ruleKey(r: RuleSpec): string {
  const v = (x: unknown) => (x === null || x === undefined ? '+' : String(x));
  return [
    r.direction,
    r.ethertype,
    v(r.port_range_max),
    v(r.port_range_min),
    protocolKey(r.protocol, r.ethertype),
    v(r.remote_group_id),
    v(r.remote_address_group_id),
    r.remote_ip_prefix === null || ANY_PREFIX.has(r.remote_ip_prefix) ? '+' : r.remote_ip_prefix,
    r.security_group_id,
  ].join('_');
}

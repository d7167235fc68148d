// The pure core of security group rules: attribute converters, canonical forms, per-protocol
// port range checks and the duplicate key, as Neutron's securitygroups_db behaves.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { convertEthertype, convertIpPrefix, convertPort, convertProtocol, parseIpPrefix } from '../../src/definitions/security-group.js';
import { normalizeRule, ruleKey, type RuleSpec } from '../../src/plugins/securitygroups/rules.js';
import { assertThrowsNeutron } from '../helpers/assert-error.js';

const base: RuleSpec = {
  security_group_id: 'sg',
  direction: 'ingress',
  ethertype: 'IPv4',
  protocol: null,
  port_range_min: null,
  port_range_max: null,
  remote_ip_prefix: null,
  remote_group_id: null,
  remote_address_group_id: null,
};
const spec = (r: Partial<RuleSpec>): RuleSpec => ({ ...base, ...r });

describe('security group rule converters', () => {
  test('protocols: names in any case, numbers 0-255 as strings, any/null as null', () => {
    assert.equal(convertProtocol('TCP', 'protocol'), 'tcp');
    assert.equal(convertProtocol(17, 'protocol'), '17');
    assert.equal(convertProtocol('6', 'protocol'), '6');
    assert.equal(convertProtocol('any', 'protocol'), null);
    assert.equal(convertProtocol(null, 'protocol'), null);
    assertThrowsNeutron(
      () => convertProtocol('bad', 'protocol'),
      400,
      'SecurityGroupRuleInvalidProtocol',
      /Only protocol values \[None, 'any', 'ah'/,
    );
    assertThrowsNeutron(() => convertProtocol(256, 'protocol'), 400, 'SecurityGroupRuleInvalidProtocol');
    assertThrowsNeutron(() => convertProtocol(true, 'protocol'), 400, 'SecurityGroupRuleInvalidProtocol');
  });

  test('ports, ethertypes and prefixes', () => {
    assert.equal(convertPort('80', 'port_range_min'), 80);
    assert.equal(convertPort(0, 'port_range_min'), 0);
    assertThrowsNeutron(() => convertPort(65536, 'port_range_max'), 400, 'SecurityGroupInvalidPortValue', /Invalid value for port 65536/);
    assertThrowsNeutron(() => convertPort(1.5, 'port_range_max'), 400, 'SecurityGroupInvalidPortValue');
    assert.equal(convertEthertype('ipv6', 'ethertype'), 'IPv6');
    assertThrowsNeutron(() => convertEthertype('IPv5', 'ethertype'), 400, 'SecurityGroupRuleInvalidEtherType', /\['IPv4', 'IPv6'\]/);
    assert.equal(convertIpPrefix('10.0.0.1', 'remote_ip_prefix'), '10.0.0.1/32');
    assert.equal(convertIpPrefix('', 'remote_ip_prefix'), null);
    assertThrowsNeutron(() => convertIpPrefix('10.0.0.0/33', 'remote_ip_prefix'), 400, 'InvalidCIDR');
    assert.deepEqual(parseIpPrefix('10.1.2.3/8'), { version: 4, prefix: '10.1.2.3/8', cidr: '10.0.0.0/8' });
  });
});

describe('normalizeRule', () => {
  test('canonical forms', () => {
    assert.equal(normalizeRule(spec({ ethertype: 'IPv6', protocol: 'icmp' })).protocol, 'ipv6-icmp');
    assert.equal(normalizeRule(spec({ ethertype: 'IPv6', protocol: '1' })).protocol, '58');
    const full = normalizeRule(spec({ protocol: 'tcp', port_range_min: 1, port_range_max: 65535 }));
    assert.equal(full.port_range_min, null);
    assert.equal(full.port_range_max, null);
    assert.equal(normalizeRule(spec({ remote_ip_prefix: '10.0.0.5/24' })).normalized_cidr, '10.0.0.0/24');
  });

  test('port ranges per protocol', () => {
    assert.doesNotThrow(() => normalizeRule(spec({ protocol: 'udplite', port_range_min: 5, port_range_max: 5 })));
    assert.doesNotThrow(() => normalizeRule(spec({ protocol: '6', port_range_min: 5, port_range_max: 6 })));
    assert.doesNotThrow(() => normalizeRule(spec({ protocol: 'icmp', port_range_min: 0, port_range_max: 0 })));
    assertThrowsNeutron(
      () => normalizeRule(spec({ protocol: 'tcp', port_range_min: 0, port_range_max: 5 })),
      400,
      'SecurityGroupInvalidPortValue',
      /port 0/,
    );
    assertThrowsNeutron(() => normalizeRule(spec({ protocol: 'tcp', port_range_min: 6, port_range_max: 5 })), 400, 'SecurityGroupInvalidPortRange');
    assertThrowsNeutron(() => normalizeRule(spec({ protocol: 'tcp', port_range_min: 6 })), 400, 'SecurityGroupInvalidPortRange');
    assertThrowsNeutron(
      () => normalizeRule(spec({ protocol: 'icmp', port_range_min: 256 })),
      400,
      'SecurityGroupInvalidIcmpValue',
      /ICMP type \(port_range_min\) 256/,
    );
    assertThrowsNeutron(() => normalizeRule(spec({ protocol: 'icmp', port_range_max: 3 })), 400, 'SecurityGroupMissingIcmpType');
    assertThrowsNeutron(() => normalizeRule(spec({ protocol: 'esp', port_range_min: 3 })), 400, 'SecurityGroupInvalidProtocolForPort', /protocol 50/);
    assertThrowsNeutron(() => normalizeRule(spec({ port_range_min: 3 })), 400, 'SecurityGroupProtocolRequiredWithPorts');
  });

  test('ethertype against prefix and protocol, one remote', () => {
    assertThrowsNeutron(
      () => normalizeRule(spec({ remote_ip_prefix: '::/0' })),
      400,
      'SecurityGroupRuleParameterConflict',
      /Conflicting value ethertype IPv4 for CIDR ::\/0/,
    );
    assertThrowsNeutron(() => normalizeRule(spec({ protocol: 'ipv6-frag' })), 400, 'SecurityGroupEthertypeConflictWithProtocol');
    assertThrowsNeutron(
      () => normalizeRule(spec({ remote_ip_prefix: '10.0.0.0/8', remote_group_id: 'g' })),
      400,
      'SecurityGroupMultipleRemoteEntites',
    );
  });
});

describe('ruleKey', () => {
  test('protocol spellings, any-address prefixes and absent values compare equal', () => {
    assert.equal(ruleKey(spec({ protocol: 'tcp' })), ruleKey(spec({ protocol: '6' })));
    assert.equal(ruleKey(spec({ ethertype: 'IPv6', protocol: 'icmpv6' })), ruleKey(spec({ ethertype: 'IPv6', protocol: '58' })));
    assert.equal(ruleKey(spec({ remote_ip_prefix: '0.0.0.0/0' })), ruleKey(spec({})));
    assert.notEqual(ruleKey(spec({ protocol: 'tcp' })), ruleKey(spec({ protocol: 'udp' })));
    assert.notEqual(ruleKey(spec({ remote_group_id: 'a' })), ruleKey(spec({})));
    assert.notEqual(ruleKey(spec({ direction: 'egress' })), ruleKey(spec({})));
  });
});

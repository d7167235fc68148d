// Unit tests for src/ipam: expected values were checked against Neutron's own code
// (neutron.ipam.utils, neutron_lib validators/converters, oslo_utils.netutils on netaddr).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mergeOverlapping, prefixSet } from '../../src/ipam/prefix-set.js';
import {
  canonicalIp,
  isWholeSpace,
  linkLocalAddress,
  rangeText,
  tryParseRange,
  cidrsOverlap,
  countPoolAddresses,
  defaultAllocationPools,
  defaultGateway,
  eui64Address,
  firstFreeIp,
  formatCidr,
  formatIp,
  formatPools,
  ipInCidr,
  ipInPools,
  ipVersionOf,
  isAutoAddressSubnet,
  isEui64Address,
  isMulticastMac,
  isValidIp,
  isValidIpForSubnet,
  isValidMac,
  normalizeMac,
  parseAllocationPools,
  parseBaseMac,
  parseCidr,
  parseIp,
  pickIp,
  randomBelow,
  randomMac,
  tryParseCidr,
  tryParseIp,
  validateAllocationPools,
  validateDnsNameservers,
  validateGatewayIp,
  validateGatewayOutOfPools,
  validateHostRoutes,
  validateIpAddress,
  validateIpv6Attributes,
  validateIpv6EnableDhcpUpdate,
  validateIpv6Modes,
  validateMacAddress,
  validateMacNotMulticast,
  validateRouteCidr,
  validateSubnetCidr,
  validateSubnetOverlap,
  validateSubnetText,
  type IpRange,
} from '../../src/ipam/index.js';
import { assertThrowsNeutron } from '../helpers/assert-error.js';

const ip = (s: string) => parseIp(s).value;
const pools = (rs: IpRange[]) => formatPools(rs).map((p) => `${p.start}-${p.end}`);
/** Deterministic rand() for reproducible tests (LCG). */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 0x1_0000_0000;
  };
}

describe('ipam addresses', () => {
  it('parses and formats IPv4', () => {
    assert.deepEqual(parseIp('10.0.0.1'), { version: 4, value: 0x0a000001n });
    assert.equal(formatIp(0xc0a80001n, 4), '192.168.0.1');
    assert.equal(formatIp(0n, 4), '0.0.0.0');
    assert.equal(formatIp(0xffffffffn, 4), '255.255.255.255');
  });

  it('formats IPv6 as netaddr/inet_ntop does', () => {
    const cases: [string, string][] = [
      ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero group stays
      ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // the longest run is compressed
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // ties: the leftmost
      ['0:0:0:0:0:0:0:0', '::'],
      ['::1', '::1'],
      ['1:0:0:0:0:0:0:0', '1::'],
      ['2001:0db8::0001', '2001:db8::1'],
      ['0:0:0:0:0:ffff:102:304', '::ffff:1.2.3.4'], // IPv4-mapped
      ['::ffff:0:0', '::ffff:0.0.0.0'],
      ['::1.2.3.4', '::1.2.3.4'], // IPv4-compatible, value above 0xffff
      ['::0.0.1.0', '::100'], // ... but not at or below 0xffff
      ['::ffff', '::ffff'],
      ['::1:ffff', '::0.1.255.255'],
      ['64:ff9b::1.2.3.4', '64:ff9b::102:304'],
      ['fe80::', 'fe80::'],
    ];
    for (const [input, want] of cases) assert.equal(canonicalIp(input), want, input);
  });

  it('rejects malformed addresses with Neutron reasons', () => {
    for (const bad of [
      '10.0.0',
      '1.2.3.4.5',
      '256.1.1.1',
      '0x1.2.3.4',
      '1::2::3',
      'fe80::1%eth0',
      ' 1.2.3.4',
      '',
      '1:2:3:4:5:6:7:8:9',
      '1:2:3:4:5:6:7::8',
      '12345::',
      '::ffff:01.2.3.4',
      '1.2.3.4/32',
      ':1::',
      '1::2:',
    ]) {
      assert.equal(tryParseIp(bad), null, bad);
      assert.equal(isValidIp(bad), false, bad);
    }
    assert.equal(validateIpAddress('10.0.0'), "'10.0.0' is not a valid IP address");
    assert.equal(validateIpAddress('010.0.0.1'), "'010.0.0.1' is not an accepted IP address, '10.0.0.1' is recommended");
    assert.equal(validateIpAddress('1.2.3.04'), "'1.2.3.04' is not an accepted IP address, '1.2.3.4' is recommended");
    assert.equal(validateIpAddress(42), "'42' is not a valid IP address");
    assert.equal(validateIpAddress('2001:DB8::1'), null);
    assertThrowsNeutron(
      () => parseIp('x', 'gateway_ip'),
      400,
      'HTTPBadRequest',
      "Invalid input for gateway_ip. Reason: 'x' is not a valid IP address.",
    );
    assertThrowsNeutron(() => parseIp('x'), 400, 'InvalidInput', "Invalid input for operation: 'x' is not a valid IP address.");
  });

  it('knows the version of an address', () => {
    assert.equal(ipVersionOf('10.1.2.3'), 4);
    assert.equal(ipVersionOf('::ffff:1.2.3.4'), 6);
    assert.equal(ipVersionOf('nope'), null);
    assert.equal(isValidIp('1:2:3:4:5:6:7:8'), true);
    assert.equal(isValidIp('1:2:3:4:5:6:1.2.3.4'), true);
  });
});

describe('ipam cidrs', () => {
  it('parses a cidr, keeping the written address and clearing host bits in network', () => {
    const c = parseCidr('10.0.0.1/24');
    assert.equal(c.version, 4);
    assert.equal(c.prefixlen, 24);
    assert.equal(c.network, ip('10.0.0.0'));
    assert.equal(c.first, ip('10.0.0.0'));
    assert.equal(c.last, ip('10.0.0.255'));
    assert.equal(c.size, 256n);
    assert.equal(c.ip, ip('10.0.0.1'));
    assert.equal(formatCidr(c), '10.0.0.0/24');
    const v6 = parseCidr('2001:DB8::1/64');
    assert.equal(formatCidr(v6), '2001:db8::/64');
    assert.equal(v6.size, 1n << 64n);
    assert.equal(parseCidr('0.0.0.0/0').size, 1n << 32n);
    assert.equal(parseCidr('10.0.0.7/32').size, 1n);
  });

  it('refuses what validate_subnet refuses, saying what to send instead', () => {
    assert.equal(validateSubnetText('10.0.0.0'), "'10.0.0.0' isn't a recognized IP subnet cidr, '10.0.0.0/32' is recommended");
    assert.equal(validateSubnetText('010.0.0.0/24'), "'010.0.0.0/24' isn't a recognized IP subnet cidr, '10.0.0.0/24' is recommended");
    assert.equal(validateSubnetText('10.0.0.0/024'), "'10.0.0.0/024' isn't a recognized IP subnet cidr, '10.0.0.0/24' is recommended");
    for (const bad of ['10.0.0.0/33', '2001:db8::/129', 'foo', '10.0.0.0/-1', '10.0.0.0/255.255.255.0', '10/8', ' 10.0.0.0/24']) {
      assert.equal(validateSubnetText(bad), `'${bad}' is not a valid IP subnet`, bad);
      assert.equal(tryParseCidr(bad), null, bad);
    }
    assertThrowsNeutron(() => parseCidr('foo'), 400, 'HTTPBadRequest', "Invalid input for cidr. Reason: 'foo' is not a valid IP subnet.");
  });

  it('tests membership and overlap, version-aware', () => {
    assert.equal(ipInCidr('10.0.0.255', '10.0.0.0/24'), true);
    assert.equal(ipInCidr('10.0.1.0', '10.0.0.0/24'), false);
    assert.equal(ipInCidr('::a00:1', '10.0.0.0/24'), false);
    assert.equal(ipInCidr('2001:db8::ffff', '2001:db8::/64'), true);
    assert.equal(cidrsOverlap('10.0.0.0/8', '10.1.0.0/16'), true);
    assert.equal(cidrsOverlap('10.0.0.0/25', '10.0.0.128/25'), false);
    assert.equal(cidrsOverlap('0.0.0.0/0', '::/0'), false);
  });

  it('validates route destinations as validate_route_cidr does', () => {
    assert.equal(validateRouteCidr('0.0.0.0/0'), null);
    assert.equal(validateRouteCidr('::/0'), null);
    assert.equal(validateRouteCidr('10.0.0.1/24'), "'10.0.0.1/24' is not a recognized CIDR, '10.0.0.0/24' is recommended");
    assert.equal(validateRouteCidr('10.0.0.1'), "'10.0.0.1' is not a recognized CIDR, '10.0.0.1/32' is recommended");
    assert.equal(validateRouteCidr('127.0.0.0/8'), "'127.0.0.0/8' is not a routable CIDR");
    assert.equal(validateRouteCidr('bad'), "'bad' is not a valid CIDR");
  });
});

describe('ipam subnet cidr and gateway', () => {
  it('normalises host bits and checks ip_version', () => {
    assert.equal(formatCidr(validateSubnetCidr('10.129.122.5/8', 4)), '10.0.0.0/8');
    assert.equal(formatCidr(validateSubnetCidr('13.129.122.5/18', 4)), '13.129.64.0/18');
    assertThrowsNeutron(
      () => validateSubnetCidr('10.0.2.0/24', 6),
      400,
      'InvalidInput',
      "Invalid input for operation: cidr '10.0.2.0/24' does not match the ip_version '6'.",
    );
    assertThrowsNeutron(() => validateSubnetCidr('fe80::0/80', 4), 400, 'InvalidInput', /cidr 'fe80::\/80' does not match/);
  });

  it('refuses /0 for both versions', () => {
    assertThrowsNeutron(
      () => validateSubnetCidr('0.0.0.0/0', 4),
      400,
      'InvalidInput',
      'Invalid input for operation: 0 is not allowed as CIDR prefix length.',
    );
    assertThrowsNeutron(() => validateSubnetCidr('::/0', 6), 400, 'InvalidInput', /0 is not allowed as CIDR prefix length/);
  });

  it('allows /31, /32, /127, /128 unless DHCP is enabled', () => {
    for (const [c, v] of [
      ['10.0.0.0/31', 4],
      ['10.0.0.0/32', 4],
      ['2001:db8::/127', 6],
      ['2001:db8::/128', 6],
    ] as const) {
      assert.doesNotThrow(() => validateSubnetCidr(c, v));
      assertThrowsNeutron(
        () => validateSubnetCidr(c, v, { enableDhcp: true }),
        400,
        'InvalidInput',
        /prefix length that is incompatible with DHCP service enabled/,
      );
    }
    assert.doesNotThrow(() => validateSubnetCidr('10.0.0.0/30', 4, { enableDhcp: true }));
    assert.doesNotThrow(() => validateSubnetCidr('2001:db8::/126', 6, { enableDhcp: true }));
    assertThrowsNeutron(() => validateSubnetCidr('224.0.0.0/24', 4, { enableDhcp: true }), 400, 'InvalidInput', /Multicast/);
    assertThrowsNeutron(() => validateSubnetCidr('127.0.0.0/24', 4, { enableDhcp: true }), 400, 'InvalidInput', /Loopback/);
    assertThrowsNeutron(() => validateSubnetCidr('0.0.0.0/24', 4, { enableDhcp: true }), 400, 'InvalidInput', /First IP '0.0.0.0'/);
    assert.doesNotThrow(() => validateSubnetCidr('0.0.0.0/24', 4));
  });

  it('picks the default gateway as Neutron does', () => {
    assert.equal(defaultGateway('10.0.0.0/24'), '10.0.0.1');
    assert.equal(defaultGateway('2001:db8::/64'), '2001:db8::'); // subnet-router anycast
    assert.equal(defaultGateway('10.0.0.0/31'), '10.0.0.1');
    assert.equal(defaultGateway('10.0.0.4/32'), '10.0.0.5'); // outside the /32, as in Neutron
    assert.equal(defaultGateway('255.255.255.255/32'), null);
  });

  it('validates a requested gateway', () => {
    assert.equal(validateGatewayIp('10.0.0.0/24', '10.0.0.254', 4), '10.0.0.254');
    assert.equal(validateGatewayIp('10.0.0.0/24', '100.0.0.1', 4), '100.0.0.1'); // outside: accepted
    assert.equal(validateGatewayIp('2001::/64', '2001::0', 6), '2001::'); // v6 network address ok
    assert.equal(validateGatewayIp('2001::/64', 'fe80::1', 6), 'fe80::1');
    assertThrowsNeutron(
      () => validateGatewayIp('10.0.0.0/24', '10.0.0.0', 4),
      400,
      'InvalidInput',
      'Invalid input for operation: Gateway is not valid on subnet.',
    );
    assertThrowsNeutron(() => validateGatewayIp('10.0.0.0/24', '10.0.0.255', 4), 400, 'InvalidInput', /Gateway is not valid/);
    assertThrowsNeutron(() => validateGatewayIp('10.0.0.0/31', '10.0.0.1', 4), 400, 'InvalidInput', /Gateway is not valid/);
    assertThrowsNeutron(
      () => validateGatewayIp('10.0.2.0/24', 'fe80::1', 4),
      400,
      'InvalidInput',
      "Invalid input for operation: gateway_ip 'fe80::1' does not match the ip_version '4'.",
    );
    assertThrowsNeutron(() => validateGatewayIp('2001:db8::/64', '2001:db8::1/64', 6), 400, 'HTTPBadRequest', /gateway_ip/);
  });

  it('decides which fixed IPs a port may request (check_subnet_ip)', () => {
    assert.equal(isValidIpForSubnet('10.0.0.0/24', '10.0.0.0'), false);
    assert.equal(isValidIpForSubnet('10.0.0.0/24', '10.0.0.255'), false);
    assert.equal(isValidIpForSubnet('10.0.0.0/24', '10.0.0.7'), true);
    assert.equal(isValidIpForSubnet('10.0.0.0/24', '10.0.1.7'), false);
    assert.equal(isValidIpForSubnet('10.0.0.0/30', '10.0.0.3'), false);
    assert.equal(isValidIpForSubnet('10.0.0.0/31', '10.0.0.0'), false);
    assert.equal(isValidIpForSubnet('10.0.0.0/31', '10.0.0.1'), true);
    assert.equal(isValidIpForSubnet('10.0.0.0/32', '10.0.0.0'), false);
    assert.equal(isValidIpForSubnet('2001:db8::/64', '2001:db8::', 'compute:nova'), false);
    assert.equal(isValidIpForSubnet('2001:db8::/64', '2001:db8::', 'network:router_gateway'), true);
    assert.equal(isValidIpForSubnet('2001:db8::/64', '2001:db8::'), true); // owner unknown
    assert.equal(isValidIpForSubnet('2001:db8::/64', '10.0.0.1'), false);
  });

  it('refuses overlapping subnets on one network', () => {
    assert.doesNotThrow(() => validateSubnetOverlap('10.0.1.0/24', ['10.0.0.0/24', '2001:db8::/64'], 'net-1'));
    assertThrowsNeutron(
      () => validateSubnetOverlap('10.0.0.128/25', ['192.168.0.0/24', '10.0.0.0/24'], 'net-1'),
      400,
      'InvalidInput',
      'Invalid input for operation: Requested subnet with cidr: 10.0.0.128/25 for network: net-1 overlaps with another subnet.',
    );
    assert.doesNotThrow(() => validateSubnetOverlap('::/64', ['::/64'], 'net-1')); // provisional PD prefix
    assertThrowsNeutron(() => validateSubnetOverlap('2001:db8::/48', ['2001:db8:0:1::/64'], 'n'), 400, 'InvalidInput');
  });
});

describe('ipam allocation pools', () => {
  it('generates default pools around the gateway (generate_pools)', () => {
    assert.deepEqual(pools(defaultAllocationPools('10.0.0.0/24', '10.0.0.1')), ['10.0.0.2-10.0.0.254']);
    assert.deepEqual(pools(defaultAllocationPools('10.0.0.0/24', null)), ['10.0.0.1-10.0.0.254']);
    assert.deepEqual(pools(defaultAllocationPools('10.0.0.0/24', '10.0.0.100')), ['10.0.0.1-10.0.0.99', '10.0.0.101-10.0.0.254']);
    assert.deepEqual(pools(defaultAllocationPools('10.0.0.0/24', '10.0.0.254')), ['10.0.0.1-10.0.0.253']);
    assert.deepEqual(pools(defaultAllocationPools('10.0.0.0/24', '192.168.0.1')), ['10.0.0.1-10.0.0.254']);
    assert.deepEqual(pools(defaultAllocationPools('10.0.0.0/29', '10.0.0.2')), ['10.0.0.1-10.0.0.1', '10.0.0.3-10.0.0.6']);
  });

  it('handles the small prefixes as Neutron does', () => {
    assert.deepEqual(pools(defaultAllocationPools('10.0.0.0/30', '10.0.0.1')), ['10.0.0.2-10.0.0.2']);
    assert.deepEqual(pools(defaultAllocationPools('10.0.0.0/30', null)), ['10.0.0.1-10.0.0.2']);
    assert.deepEqual(pools(defaultAllocationPools('10.0.0.0/31', null)), ['10.0.0.0-10.0.0.1']);
    assert.deepEqual(pools(defaultAllocationPools('10.0.0.0/31', '10.0.0.1')), ['10.0.0.0-10.0.0.0']);
    assert.deepEqual(pools(defaultAllocationPools('10.0.0.0/32', null)), ['10.0.0.0-10.0.0.0']);
    assert.deepEqual(pools(defaultAllocationPools('10.0.0.0/32', '10.0.0.0')), ['10.0.0.0-10.0.0.0']);
    assert.deepEqual(pools(defaultAllocationPools('2001:db8::/127', '2001:db8::')), ['2001:db8::1-2001:db8::1']);
    assert.deepEqual(pools(defaultAllocationPools('2001:db8::/127', null)), ['2001:db8::1-2001:db8::1']);
    assert.deepEqual(pools(defaultAllocationPools('2001:db8::/128', '2001:db8::')), ['2001:db8::-2001:db8::']);
  });

  it('generates IPv6 /64 pools excluding only the subnet-router anycast address', () => {
    assert.deepEqual(pools(defaultAllocationPools('2001:db8::/64', '2001:db8::')), ['2001:db8::1-2001:db8::ffff:ffff:ffff:ffff']);
    assert.deepEqual(pools(defaultAllocationPools('2001:db8::/64', '2001:db8::1')), ['2001:db8::2-2001:db8::ffff:ffff:ffff:ffff']);
    assert.equal(countPoolAddresses(defaultAllocationPools('2001:db8::/64', defaultGateway('2001:db8::/64'))), (1n << 64n) - 1n);
  });

  it('accepts valid user pools and returns them sorted', () => {
    const r = validateAllocationPools(
      '10.0.0.0/24',
      [
        { start: '10.0.0.10', end: '10.0.0.20' },
        { start: '10.0.0.2', end: '10.0.0.5' },
      ],
      '10.0.0.1',
    );
    assert.deepEqual(pools(r), ['10.0.0.2-10.0.0.5', '10.0.0.10-10.0.0.20']);
    assert.deepEqual(pools(validateAllocationPools('10.0.0.0/31', [{ start: '10.0.0.0', end: '10.0.0.1' }], null)), ['10.0.0.0-10.0.0.1']);
    assert.deepEqual(pools(validateAllocationPools('2001:db8::/64', [{ start: '2001:DB8::1', end: '2001:db8:0::0005' }], null)), [
      '2001:db8::1-2001:db8::5',
    ]);
    assert.deepEqual(pools(validateAllocationPools('fe80::/80', [{ start: 'fe80::2', end: 'fe80::ffff:fffa:ffff' }], 'fe80::1')), [
      'fe80::2-fe80::ffff:fffa:ffff',
    ]);
  });

  it('refuses bad pools with Neutron errors', () => {
    const c = '10.0.0.0/24';
    assertThrowsNeutron(
      () => validateAllocationPools(c, [{ start: '10.0.0.5', end: '10.0.0.1' }], null),
      400,
      'InvalidAllocationPool',
      "The allocation pool {'start': '10.0.0.5', 'end': '10.0.0.1'} is not valid.",
    );
    assertThrowsNeutron(() => validateAllocationPools(c, [{ start: '10.0.0.1', end: '::5' }], null), 400, 'InvalidAllocationPool');
    assertThrowsNeutron(
      () => validateAllocationPools(c, [{ start: '2001:db8::1', end: '2001:db8::5' }], null),
      400,
      'InvalidAllocationPool',
      'The allocation pool 2001:db8::1-2001:db8::5 is not valid.',
    );
    assertThrowsNeutron(
      () => validateAllocationPools(c, [{ start: '10.0.0.2', end: '10.0.1.6' }], null),
      400,
      'OutOfBoundsAllocationPool',
      'The allocation pool 10.0.0.2-10.0.1.6 spans beyond the subnet cidr 10.0.0.0/24.',
    );
    // network and broadcast addresses are outside the usable range
    assertThrowsNeutron(() => validateAllocationPools(c, [{ start: '10.0.0.0', end: '10.0.0.6' }], null), 400, 'OutOfBoundsAllocationPool');
    assertThrowsNeutron(() => validateAllocationPools(c, [{ start: '10.0.0.1', end: '10.0.0.255' }], null), 400, 'OutOfBoundsAllocationPool');
    assertThrowsNeutron(
      () => validateAllocationPools('2001:db8::/64', [{ start: '2001:db8::', end: '2001:db8::5' }], null),
      400,
      'OutOfBoundsAllocationPool',
    );
    assertThrowsNeutron(
      () => validateAllocationPools('2001:db8::/128', [{ start: '2001:db8::', end: '2001:db8::' }], null),
      400,
      'OutOfBoundsAllocationPool',
    );
    assertThrowsNeutron(
      () =>
        validateAllocationPools(
          c,
          [
            { start: '10.0.0.2', end: '10.0.0.150' },
            { start: '10.0.0.140', end: '10.0.0.180' },
          ],
          '10.0.0.1',
        ),
      409,
      'OverlappingAllocationPools',
      'Found overlapping allocation pools: 10.0.0.2-10.0.0.150 10.0.0.140-10.0.0.180 for subnet 10.0.0.0/24.',
    );
    assertThrowsNeutron(
      () => validateAllocationPools(c, [{ start: '10.0.0.1', end: '10.0.0.100' }], '10.0.0.50'),
      409,
      'GatewayConflictWithAllocationPools',
      'Gateway ip 10.0.0.50 conflicts with allocation pool 10.0.0.1-10.0.0.100.',
    );
    // the default gateway (10.0.0.1) in a user pool is a conflict too
    assertThrowsNeutron(
      () => validateAllocationPools(c, [{ start: '10.0.0.1', end: '10.0.0.5' }], defaultGateway(c)),
      409,
      'GatewayConflictWithAllocationPools',
    );
  });

  it('checks the pool list shape as the API does', () => {
    assertThrowsNeutron(
      () => parseAllocationPools({ start: '10.0.0.1' }),
      400,
      'HTTPBadRequest',
      "Invalid input for allocation_pools. Reason: Invalid data format for IP pool: '{'start': '10.0.0.1'}'.",
    );
    assertThrowsNeutron(
      () => parseAllocationPools([{ start: '10.0.0.1' }]),
      400,
      'HTTPBadRequest',
      "Invalid input for allocation_pools. Reason: Validation of dictionary's keys failed. Expected keys: {'end', 'start'} Provided keys: {'start'}.",
    );
    assertThrowsNeutron(
      () => parseAllocationPools([{ start: '10.0.0.1', end: '10.0.0.256' }]),
      400,
      'HTTPBadRequest',
      /'10.0.0.256' is not a valid IP address/,
    );
  });

  it('checks the gateway against existing pools on update', () => {
    const r = defaultAllocationPools('10.0.0.0/24', '10.0.0.1');
    assert.doesNotThrow(() => validateGatewayOutOfPools('10.0.0.1', r));
    assertThrowsNeutron(
      () => validateGatewayOutOfPools('10.0.0.9', r),
      409,
      'GatewayConflictWithAllocationPools',
      'Gateway ip 10.0.0.9 conflicts with allocation pool 10.0.0.2-10.0.0.254.',
    );
  });

  it('answers membership and size', () => {
    const r = defaultAllocationPools('10.0.0.0/24', '10.0.0.100');
    assert.equal(ipInPools('10.0.0.1', r), true);
    assert.equal(ipInPools('10.0.0.100', r), false);
    assert.equal(ipInPools('10.0.0.255', r), false);
    assert.equal(ipInPools('::a00:1', r), false);
    assert.equal(countPoolAddresses(r), 253n);
    assert.equal(countPoolAddresses([]), 0n);
  });
});

describe('ipam address choice', () => {
  it('returns a free address inside the pools, randomly spread', () => {
    const r = defaultAllocationPools('10.0.0.0/24', '10.0.0.100');
    const rand = seeded(7);
    const seen = new Set<bigint>();
    for (let i = 0; i < 500; i++) {
      const got = pickIp(r, () => false, rand);
      assert.notEqual(got, null);
      assert.ok(ipInPools({ version: 4, value: got! }, r), formatIp(got!, 4));
      seen.add(got!);
    }
    assert.ok(seen.size > 100, `only ${seen.size} distinct picks`);
  });

  it('weights pools by size', () => {
    const small: IpRange = { version: 4, first: ip('10.0.0.1'), last: ip('10.0.0.1') };
    const big: IpRange = { version: 4, first: ip('10.0.1.0'), last: ip('10.0.1.255') };
    const rand = seeded(3);
    let inSmall = 0;
    for (let i = 0; i < 2000; i++) if (pickIp([small, big], () => false, rand) === small.first) inSmall++;
    assert.ok(inSmall < 40, `small pool picked ${inSmall} times`);
  });

  it('skips taken addresses and falls back to the first free one', () => {
    const r = defaultAllocationPools('10.0.0.0/24', '10.0.0.1'); // .2 - .254
    const taken = new Set<bigint>();
    for (let v = ip('10.0.0.2'); v <= ip('10.0.0.254'); v++) taken.add(v);
    taken.delete(ip('10.0.0.200'));
    assert.equal(
      pickIp(r, (x) => taken.has(x), seeded(1)),
      ip('10.0.0.200'),
    );
    assert.equal(
      pickIp(r, (x) => taken.has(x), seeded(1), { maxProbes: 0 }),
      ip('10.0.0.200'),
    );
  });

  it('returns null when the pools are full or empty', () => {
    const r = defaultAllocationPools('10.0.0.0/30', '10.0.0.1');
    assert.equal(
      pickIp(r, () => true),
      null,
    );
    assert.equal(
      pickIp([], () => false),
      null,
    );
    assert.equal(
      firstFreeIp(r, () => true),
      null,
    );
  });

  it('finds the first free address for DHCP-style ports', () => {
    const r = defaultAllocationPools('10.0.0.0/24', '10.0.0.100');
    assert.equal(
      firstFreeIp(r, () => false),
      ip('10.0.0.1'),
    );
    const taken = new Set([ip('10.0.0.1'), ip('10.0.0.2')]);
    assert.equal(
      firstFreeIp(r, (x) => taken.has(x)),
      ip('10.0.0.3'),
    );
  });

  it('picks from a sparse IPv6 /64 in a few probes', () => {
    const r = defaultAllocationPools('2001:db8::/64', '2001:db8::');
    let calls = 0;
    const got = pickIp(r, () => (calls++, false), seeded(9));
    assert.equal(calls, 1);
    assert.ok(ipInPools({ version: 6, value: got! }, r));
    assert.ok(got! > ip('2001:db8::ffff:ffff'), 'picks land across the whole /64');
  });

  it('draws uniform bigints below a bound', () => {
    const rand = seeded(11);
    for (const n of [1n, 2n, 255n, 1n << 64n, (1n << 128n) - 1n]) {
      for (let i = 0; i < 50; i++) {
        const v = randomBelow(n, rand);
        assert.ok(v >= 0n && v < n);
      }
    }
    assert.throws(() => randomBelow(0n));
  });
});

describe('ipam host routes and nameservers', () => {
  it('accepts and canonicalises host routes', () => {
    assert.deepEqual(
      validateHostRoutes(
        [
          { destination: '0.0.0.0/0', nexthop: '10.0.0.1' },
          { destination: '172.16.0.0/24', nexthop: '10.0.0.2' },
        ],
        20,
        4,
      ),
      [
        { destination: '0.0.0.0/0', nexthop: '10.0.0.1' },
        { destination: '172.16.0.0/24', nexthop: '10.0.0.2' },
      ],
    );
    assert.deepEqual(validateHostRoutes([{ destination: '2001:DB8::/64', nexthop: '2001:DB8::1' }], 20, 6), [
      { destination: '2001:db8::/64', nexthop: '2001:db8::1' },
    ]);
  });

  it('refuses bad host routes with Neutron messages', () => {
    const route = { destination: '10.0.0.0/24', nexthop: '10.0.0.1' };
    assertThrowsNeutron(
      () => validateHostRoutes([route, { ...route }], 20, 4),
      400,
      'HTTPBadRequest',
      "Invalid input for host_routes. Reason: Duplicate hostroute '{'destination': '10.0.0.0/24', 'nexthop': '10.0.0.1'}'.",
    );
    assertThrowsNeutron(
      () => validateHostRoutes([{ destination: '10.0.0.1/24', nexthop: '10.0.0.1' }], 20, 4),
      400,
      'HTTPBadRequest',
      /'10.0.0.1\/24' is not a recognized CIDR, '10.0.0.0\/24' is recommended/,
    );
    assertThrowsNeutron(
      () => validateHostRoutes([{ destination: '10.0.0.0/24' }], 20, 4),
      400,
      'HTTPBadRequest',
      /Expected keys: \{'destination', 'nexthop'\} Provided keys: \{'destination'\}/,
    );
    assertThrowsNeutron(() => validateHostRoutes('x', 20, 4), 400, 'HTTPBadRequest', /Invalid data format for hostroute: 'x'/);
    assertThrowsNeutron(
      () => validateHostRoutes([route, { destination: '10.0.1.0/24', nexthop: '10.0.0.1' }], 1, 4),
      400,
      'HostRoutesExhausted',
      'Unable to complete operation for new subnet. The number of host routes exceeds the limit 1.',
    );
    assertThrowsNeutron(
      () => validateHostRoutes([{ destination: '172.16.0.0/24', nexthop: 'fe80::1' }], 20, 4, 'sub-1'),
      400,
      'InvalidInput',
      "Invalid input for operation: nexthop 'fe80::1' does not match the ip_version '4'.",
    );
    assertThrowsNeutron(
      () => validateHostRoutes([{ destination: 'fe80::/48', nexthop: '10.0.2.20' }], 20, 4),
      400,
      'InvalidInput',
      "Invalid input for operation: destination 'fe80::/48' does not match the ip_version '4'.",
    );
  });

  it('validates dns nameservers', () => {
    assert.deepEqual(validateDnsNameservers(['8.8.8.8', '1.1.1.1'], 5, 4), ['8.8.8.8', '1.1.1.1']);
    assert.deepEqual(validateDnsNameservers([], 0, 6), []);
    assertThrowsNeutron(
      () => validateDnsNameservers(['8.8.8.8', '8.8.8.8'], 5, 4),
      400,
      'HTTPBadRequest',
      "Invalid input for dns_nameservers. Reason: Duplicate nameserver '8.8.8.8'.",
    );
    assertThrowsNeutron(() => validateDnsNameservers(['2001:db8::1', '2001:DB8::1'], 5, 6), 400, 'HTTPBadRequest', /Duplicate nameserver/);
    assertThrowsNeutron(
      () => validateDnsNameservers(['8.8.8.8', 'foo'], 5, 4),
      400,
      'HTTPBadRequest',
      "Invalid input for dns_nameservers. Reason: 'foo' is not a valid nameserver. 'foo' is not a valid IP address.",
    );
    assertThrowsNeutron(
      () => validateDnsNameservers(['1.1.1.1', '1.1.1.2', '1.1.1.3'], 2, 4, 'sub-1'),
      400,
      'DNSNameServersExhausted',
      'Unable to complete operation for sub-1. The number of DNS nameservers exceeds the limit 2.',
    );
    assertThrowsNeutron(
      () => validateDnsNameservers(['192.168.0.1'], 5, 6),
      400,
      'InvalidInput',
      "Invalid input for operation: dns_nameserver '192.168.0.1' does not match the ip_version '6'.",
    );
    // limit and version are both numbers: a swapped call fails loudly
    assert.throws(() => validateDnsNameservers([], 6, 5 as 4), TypeError);
    assert.throws(() => validateHostRoutes([], 4, 20 as 4), TypeError);
  });
});

describe('ipam IPv6 modes and EUI-64', () => {
  it('recognises auto-address subnets', () => {
    assert.equal(isAutoAddressSubnet({ ipv6_address_mode: 'slaac', ipv6_ra_mode: 'slaac' }), true);
    assert.equal(isAutoAddressSubnet({ ipv6_address_mode: 'dhcpv6-stateless', ipv6_ra_mode: null }), true);
    assert.equal(isAutoAddressSubnet({ ipv6_address_mode: null, ipv6_ra_mode: 'slaac' }), true);
    assert.equal(isAutoAddressSubnet({ ipv6_address_mode: 'dhcpv6-stateful', ipv6_ra_mode: 'dhcpv6-stateful' }), false);
    assert.equal(isAutoAddressSubnet({}), false);
  });

  it('allows every mode alone and equal pairs, refuses unequal pairs', () => {
    const modes = ['dhcpv6-stateful', 'dhcpv6-stateless', 'slaac'];
    const base = { ip_version: 6 as const, cidr: 'fe80::/64', enable_dhcp: true };
    for (const m of modes) {
      assert.doesNotThrow(() => validateIpv6Attributes({ ...base, ipv6_ra_mode: m }));
      assert.doesNotThrow(() => validateIpv6Attributes({ ...base, ipv6_address_mode: m }));
      assert.doesNotThrow(() => validateIpv6Attributes({ ...base, ipv6_ra_mode: m, ipv6_address_mode: m }));
      for (const n of modes) {
        if (m === n) continue;
        assertThrowsNeutron(
          () => validateIpv6Attributes({ ...base, ipv6_ra_mode: m, ipv6_address_mode: n }),
          400,
          'InvalidInput',
          `Invalid input for operation: ipv6_ra_mode set to '${m}' with ipv6_address_mode set to '${n}' is not valid. ` +
            'If both attributes are set, they must be the same value.',
        );
      }
    }
    assert.doesNotThrow(() => validateIpv6Attributes({ ...base, enable_dhcp: false }));
  });

  it('refuses modes without DHCP, on IPv4, unknown values and non-/64 SLAAC', () => {
    assertThrowsNeutron(
      () => validateIpv6Attributes({ ip_version: 6, cidr: 'fe80::/64', enable_dhcp: false, ipv6_ra_mode: 'slaac' }),
      400,
      'InvalidInput',
      /cannot be set when enable_dhcp is set to False/,
    );
    assertThrowsNeutron(
      () => validateIpv6Attributes({ ip_version: 4, cidr: '10.0.0.0/24', enable_dhcp: true, ipv6_ra_mode: 'slaac' }),
      400,
      'InvalidInput',
      'Invalid input for operation: ipv6_ra_mode is not valid when ip_version is 4.',
    );
    assertThrowsNeutron(
      () => validateIpv6Attributes({ ip_version: 4, cidr: '10.0.0.0/24', enable_dhcp: true, ipv6_address_mode: 'slaac' }),
      400,
      'InvalidInput',
      /ipv6_address_mode is not valid when ip_version is 4/,
    );
    assertThrowsNeutron(
      () => validateIpv6Attributes({ ip_version: 6, cidr: 'fe80::/64', enable_dhcp: true, ipv6_ra_mode: 'foo' }),
      400,
      'HTTPBadRequest',
      /Invalid input for ipv6_ra_mode. Reason: foo is not in \['dhcpv6-stateful'/,
    );
    assertThrowsNeutron(
      () => validateIpv6Attributes({ ip_version: 6, cidr: '2001:db8::/80', enable_dhcp: true, ipv6_address_mode: 'slaac' }),
      400,
      'InvalidInput',
      'Invalid input for operation: Invalid CIDR 2001:db8::/80 for IPv6 address mode. OpenStack uses the EUI-64 address format, which requires the prefix to be /64.',
    );
    // stateful DHCPv6 has no EUI-64 addresses, so any prefix will do
    assert.doesNotThrow(() =>
      validateIpv6Attributes({
        ip_version: 6,
        cidr: '2001:db8::/80',
        enable_dhcp: true,
        ipv6_ra_mode: 'dhcpv6-stateful',
        ipv6_address_mode: 'dhcpv6-stateful',
      }),
    );
  });

  it('offers the same rules positionally', () => {
    assert.doesNotThrow(() => validateIpv6Modes(6, parseCidr('2001:db8::/64'), 'slaac', 'slaac', true));
    assert.doesNotThrow(() => validateIpv6Modes(4, '10.0.0.0/24', null, null, false));
    assertThrowsNeutron(() => validateIpv6Modes(6, '2001:db8::/64', 'slaac', null, false), 400, 'InvalidInput', /enable_dhcp/);
    assertThrowsNeutron(() => validateIpv6Modes(6, '2001:db8::/64', 'slaac', 'dhcpv6-stateful'), 400, 'InvalidInput');
  });

  it('refuses disabling DHCP on an IPv6-mode subnet', () => {
    assertThrowsNeutron(
      () => validateIpv6EnableDhcpUpdate({ enable_dhcp: false }, { ipv6_ra_mode: 'slaac' }),
      400,
      'InvalidInput',
      'Invalid input for operation: Cannot disable enable_dhcp with ipv6 attributes set.',
    );
    assert.doesNotThrow(() => validateIpv6EnableDhcpUpdate({ enable_dhcp: false }, {}));
    assert.doesNotThrow(() => validateIpv6EnableDhcpUpdate({ enable_dhcp: true }, { ipv6_ra_mode: 'slaac' }));
  });

  it('computes SLAAC addresses as netutils.get_ipv6_addr_by_EUI64', () => {
    assert.equal(eui64Address('2001:db8::/64', 'fa:16:3e:33:44:55'), '2001:db8::f816:3eff:fe33:4455');
    assert.equal(eui64Address('2001:db8::1/64', '00:16:3e:33:44:55'), '2001:db8::216:3eff:fe33:4455');
    assert.equal(eui64Address('2001:db8::/80', '02:16:3e:33:44:55'), '2001:db8::16:3eff:fe33:4455');
    assert.equal(eui64Address('2001:db8::/64', 'FA-16-3E-33-44-55'), '2001:db8::f816:3eff:fe33:4455');
    assertThrowsNeutron(() => eui64Address('10.0.0.0/24', 'fa:16:3e:33:44:55'), 500, 'AddressCalculationFailure');
    assertThrowsNeutron(() => eui64Address('2001:db8::/64', 'nope'), 500, 'AddressCalculationFailure');
    assert.equal(isEui64Address('2001:db8::f816:3eff:fe33:4455'), true);
    assert.equal(isEui64Address('2001:db8::1'), false);
    assert.equal(isEui64Address('10.0.0.1'), false);
  });
});

describe('ipam MAC addresses', () => {
  it('accepts the spellings netaddr accepts and normalises them', () => {
    for (const m of [
      'fa:16:3e:00:00:01',
      'FA:16:3E:00:00:01',
      'fa-16-3e-00-00-01',
      'fa16.3e00.0001',
      'fa163e000001',
      'fa:16:3e:0:0:1',
      'fa163e-000001',
      'fa163e:000001',
      'fa16:3e00:0001',
    ]) {
      assert.equal(normalizeMac(m), 'fa:16:3e:00:00:01', m);
      assert.equal(isValidMac(m), true, m);
    }
    assert.equal(normalizeMac('f:a:1:6:3:e'), '0f:0a:01:06:03:0e');
  });

  it('refuses what validate_mac_address refuses', () => {
    for (const m of [
      'fa:16:3e:00:00',
      '00:00:00:00:00:00',
      'ff:ff:ff:ff:ff:ff',
      'FF-FF-FF-FF-FF-FF',
      ' fa:16:3e:00:00:01',
      'fa:16:3e:00:00:0g',
      '0xfa163e000001',
      'fa.16.3e.00.00.01',
      'fa:16:3e:00:00:01:02',
    ]) {
      assert.equal(isValidMac(m), false, m);
      assert.equal(validateMacAddress(m), `'${m}' is not a valid MAC address`);
    }
    assertThrowsNeutron(
      () => normalizeMac('00:00:00:00:00:00'),
      400,
      'HTTPBadRequest',
      "Invalid input for mac_address. Reason: '00:00:00:00:00:00' is not a valid MAC address.",
    );
  });

  it('accepts multicast MACs on ports but can flag them (allowed address pairs)', () => {
    assert.equal(isValidMac('01:00:5e:00:00:01'), true);
    assert.equal(isMulticastMac('01:00:5e:00:00:01'), true);
    assert.equal(isMulticastMac('fa:16:3e:00:00:01'), false);
    assert.equal(validateMacNotMulticast('01:00:5e:00:00:01'), 'MAC address 01:00:5e:00:00:01 is a multicast address, which is not supported.');
    assert.equal(validateMacNotMulticast('fa:16:3e:00:00:01'), null);
  });

  it('parses base_mac as Neutron checks it at start-up', () => {
    assert.deepEqual(parseBaseMac('fa:16:3e:00:00:00'), { octets: [0xfa, 0x16, 0x3e, 0, 0, 0], fixed: 3 });
    assert.equal(parseBaseMac('fa:16:3e:4f:00:00').fixed, 4);
    assert.throws(() => parseBaseMac('fb:16:3e:00:00:00'), /Base MAC: 'fb:16:3e:00:00:00' is not a valid input/); // multicast
    assert.throws(() => parseBaseMac('fa-16-3e-00-00-00'), /Base MAC/);
  });

  it('keeps the base_mac prefix and randomises the rest', () => {
    const rand = seeded(5);
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const m = randomMac('fa:16:3e:00:00:00', rand);
      assert.match(m, /^fa:16:3e:[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}$/);
      seen.add(m);
    }
    assert.ok(seen.size > 190);
    const base = parseBaseMac('fa:16:3e:4f:00:00');
    for (let i = 0; i < 50; i++) assert.match(randomMac(base, rand), /^fa:16:3e:4f:[0-9a-f]{2}:[0-9a-f]{2}$/);
    assert.equal(
      randomMac('fa:16:3e:00:00:00', () => 0),
      'fa:16:3e:00:00:00',
    );
    assert.equal(
      randomMac('fa:16:3e:00:00:00', () => 0.999999),
      'fa:16:3e:ff:ff:ff',
    );
  });
});

describe("ipam ranges for set elements (what the agents' firewall renders)", () => {
  it('reads an address or a CIDR as the range it covers, host bits ignored', () => {
    assert.deepEqual(tryParseRange('10.0.0.9/29'), { version: 4, first: 0x0a000008n, last: 0x0a00000fn });
    assert.deepEqual(tryParseRange('2001:DB8::1'), { version: 6, first: (0x20010db8n << 96n) | 1n, last: (0x20010db8n << 96n) | 1n });
    assert.equal(tryParseRange('10.0.0.300'), null);
    assert.equal(tryParseRange('fa:16:3e:00:00:01'), null);
  });
  it('writes a range as an address, a prefix when it is one, else first-last', () => {
    const r = (s: string) => tryParseRange(s)!;
    assert.equal(rangeText(r('10.0.0.1/32')), '10.0.0.1');
    assert.equal(rangeText(r('10.0.0.77/24')), '10.0.0.0/24');
    assert.equal(rangeText({ version: 4, first: 0x0a000001n, last: 0x0a000002n }), '10.0.0.1-10.0.0.2');
    assert.equal(rangeText({ version: 4, first: 0x0a000002n, last: 0x0a000005n }), '10.0.0.2-10.0.0.5', 'four addresses, not aligned: no prefix');
    assert.equal(rangeText(r('::/0')), '::/0');
    assert.ok(isWholeSpace(r('0.0.0.0/0')) && isWholeSpace(r('::/0')) && !isWholeSpace(r('0.0.0.0/1')));
  });
  it('merges overlapping ranges and keeps adjacent ones apart (prefixSet merges both)', () => {
    const list = ['10.0.0.0/29', '10.0.0.7', '10.0.0.8', '10.0.0.16/28', '10.0.0.20'].map((s) => tryParseRange(s)!);
    assert.deepEqual(mergeOverlapping(4, list).map(rangeText), ['10.0.0.0/29', '10.0.0.8', '10.0.0.16/28']);
    assert.deepEqual(prefixSet(4, list).ranges.map(rangeText), ['10.0.0.0-10.0.0.8', '10.0.0.16/28']);
  });
  it("gives a MAC's EUI-64 link-local address", () => {
    assert.equal(linkLocalAddress('fa:16:3e:aa:bb:01'), 'fe80::f816:3eff:feaa:bb01');
  });
});

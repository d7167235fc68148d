import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, parseMappings, parseVlanRanges, parseVniRanges, type Config } from '../../src/config/index.js';

let dir: string;
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

/** Asserts fn throws a ConfigError whose message is exactly `message` (or matches it). */
function throwsConfig(fn: () => unknown, message: string | RegExp): ConfigError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof ConfigError, `expected ConfigError, got ${String(caught)}`);
  if (typeof message === 'string') assert.equal(caught.message, message);
  else assert.match(caught.message, message);
  return caught;
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'neutrino-config-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('defaults', () => {
  test('Neutron defaults without any file', () => {
    const cfg = loadConfig([]);
    // Compile-time: typed access without casts.
    const port: number = cfg.DEFAULT.bind_port;
    const strategy: 'keystone' | 'noauth' = cfg.DEFAULT.auth_strategy;
    const workers: number | null = cfg.DEFAULT.api_workers;
    const types: readonly string[] = cfg.ml2.tenant_network_types;
    assert.equal(port, 9696);
    assert.equal(strategy, 'keystone');
    assert.equal(workers, null);
    assert.deepEqual(types, ['local']);
    assert.equal(cfg.DEFAULT.bind_host, '0.0.0.0');
    assert.equal(cfg.DEFAULT.state_path, '/var/lib/neutrino');
    assert.equal(cfg.DEFAULT.base_mac, 'fa:16:3e:00:00:00');
    assert.equal(cfg.DEFAULT.pagination_max_limit, -1);
    assert.equal(cfg.DEFAULT.global_physnet_mtu, 1500);
    assert.equal(cfg.DEFAULT.max_routes, 30);
    assert.equal(cfg.DEFAULT.enable_snat_by_default, true);
    assert.equal(cfg.DEFAULT.core_plugin, 'ml2');
    assert.deepEqual(cfg.DEFAULT.service_plugins, []);
    assert.equal(cfg.database.connection, '');
    assert.equal(cfg.keystone_authtoken.user_domain_name, 'Default');
    assert.equal(cfg.keystone_authtoken.token_cache_time, 300);
    assert.equal(cfg.keystone_authtoken.auth_url, null);
    assert.equal(cfg.quotas.quota_port, 500);
    assert.equal(cfg.quotas.default_quota, -1);
    assert.equal(cfg.oslo_policy.policy_file, 'policy.yaml');
    assert.deepEqual(cfg.oslo_policy.policy_dirs, ['policy.d']);
    assert.deepEqual(cfg.ml2.type_drivers, ['local', 'flat', 'vlan', 'geneve', 'vxlan']);
    assert.deepEqual(cfg.ml2_type_flat.flat_networks, ['*']);
    assert.equal(cfg.ml2_type_geneve.max_header_size, 38);
    assert.equal(cfg.agent.report_interval, 30);
    assert.equal(cfg.securitygroup.enable_security_group, true);
  });

  test('the result is frozen', () => {
    const cfg = loadConfig([]);
    assert.ok(Object.isFrozen(cfg) && Object.isFrozen(cfg.DEFAULT) && Object.isFrozen(cfg.ml2.type_drivers));
  });
});

describe('merging', () => {
  test('later --config-file wins per option, overrides win over files', () => {
    const a = file('a.conf', '[DEFAULT]\nbind_port = 1111\ndebug = true\ncore_plugin = ml2\n[quotas]\nquota_network = 7\n');
    const b = file('b.ini', '[DEFAULT]\nbind_port = 2222\n[ml2]\nmechanism_drivers = linuxbridge,l2population\n');
    let cfg: Config = loadConfig([a, b]);
    assert.equal(cfg.DEFAULT.bind_port, 2222);
    assert.equal(cfg.DEFAULT.debug, true); // only in a
    assert.equal(cfg.quotas.quota_network, 7);
    assert.deepEqual(cfg.ml2.mechanism_drivers, ['linuxbridge', 'l2population']);
    cfg = loadConfig([b, a]);
    assert.equal(cfg.DEFAULT.bind_port, 1111);
    cfg = loadConfig([a, b], { DEFAULT: { bind_port: '3333', auth_strategy: 'noauth' } });
    assert.equal(cfg.DEFAULT.bind_port, 3333);
    assert.equal(cfg.DEFAULT.auth_strategy, 'noauth');
  });

  test('repeated key in one file: the last one wins', () => {
    const f = file('dup.conf', '[DEFAULT]\ndns_domain = one.\ndns_domain = two.\n');
    assert.equal(loadConfig([f]).DEFAULT.dns_domain, 'two.');
  });

  test('multi options (policy_dirs) accumulate across lines and files; an override replaces them', () => {
    const a = file('p1.conf', '[oslo_policy]\npolicy_dirs = d1\npolicy_dirs = d2\n');
    const b = file('p2.conf', '[oslo_policy]\npolicy_dirs = d3\n');
    assert.deepEqual(loadConfig([a, b]).oslo_policy.policy_dirs, ['d1', 'd2', 'd3']);
    assert.deepEqual(loadConfig([a, b], { oslo_policy: { policy_dirs: 'x' } }).oslo_policy.policy_dirs, ['x']);
  });

  test('only the winning value is validated', () => {
    const bad = file('bad-early.conf', '[DEFAULT]\nbind_port = nope\n');
    const good = file('good-late.conf', '[DEFAULT]\nbind_port = 9797\n');
    assert.equal(loadConfig([bad, good]).DEFAULT.bind_port, 9797);
  });
});

describe('oslo INI dialect', () => {
  test('comments, separators, quotes, inline ; and #, [] keys, continuation lines, section case', () => {
    const f = file(
      'dialect.conf',
      [
        '# a comment',
        '; another comment',
        '[DEFAULT]',
        'bind_host: 127.0.0.1',
        'dns_domain = "example.org."',
        "log_file = '/var/log/neutrino; really.log'",
        'api_extensions_path = /opt/ext # not a comment in oslo; nor this',
        'some_list[] = ignored unknown option',
        '[QUOTAS]',
        'quota_port = 42',
        '[ml2]',
        'mechanism_drivers = linuxbridge,',
        '   l2population',
        '',
        '[Keystone_AuthToken]',
        'auth_uri = http://ks.example:5000',
        '[unknown_section]',
        'whatever = 1',
      ].join('\r\n'),
    );
    const cfg = loadConfig([f]);
    assert.equal(cfg.DEFAULT.bind_host, '127.0.0.1');
    assert.equal(cfg.DEFAULT.dns_domain, 'example.org.');
    assert.equal(cfg.DEFAULT.log_file, '/var/log/neutrino; really.log');
    assert.equal(cfg.DEFAULT.api_extensions_path, '/opt/ext # not a comment in oslo; nor this');
    assert.equal(cfg.quotas.quota_port, 42); // [QUOTAS] is [quotas], as oslo normalises group names
    assert.deepEqual(cfg.ml2.mechanism_drivers, ['linuxbridge', 'l2population']);
    // Deprecated keystonemiddleware name read into the new option.
    assert.equal(cfg.keystone_authtoken.www_authenticate_uri, 'http://ks.example:5000');
  });

  test('syntax errors name the file and line', () => {
    const noSection = file('nosec.conf', 'bind_port = 1\n');
    const e = throwsConfig(() => loadConfig([noSection]), `${noSection}:1: section must be started before assignment`);
    assert.equal(e.line, 1);
    const noEq = file('noeq.conf', '[DEFAULT]\n\njust words\n');
    throwsConfig(() => loadConfig([noEq]), `${noEq}:3: no ':' or '=' found in assignment "just words"`);
    const cont = file('cont.conf', '[DEFAULT]\n  indented\n');
    throwsConfig(() => loadConfig([cont]), `${cont}:2: unexpected continuation line`);
    const sect = file('sect.conf', '[DEFAULT\n');
    throwsConfig(() => loadConfig([sect]), `${sect}:1: invalid section (must end with ])`);
  });

  test('a missing file is an error', () => {
    const missing = join(dir, 'nope.conf');
    throwsConfig(() => loadConfig([missing]), new RegExp(`^${missing}: cannot read config file: ENOENT`));
  });
});

describe('types', () => {
  const one = (section: string, line: string): Config => loadConfig([file(`t-${section}.conf`, `[${section}]\n${line}\n`)]);

  test('bool accepts true/false/yes/no/on/off/1/0 in any case', () => {
    for (const [raw, want] of [
      ['True', true],
      ['yes', true],
      ['ON', true],
      ['1', true],
      ['false', false],
      ['No', false],
      ['off', false],
      ['0', false],
    ] as const) {
      assert.equal(one('DEFAULT', `debug = ${raw}`).DEFAULT.debug, want, raw);
    }
  });

  test('int, float, port, list, enum, url', () => {
    assert.equal(one('DEFAULT', 'max_fixed_ips_per_port = 12').DEFAULT.max_fixed_ips_per_port, 12);
    assert.equal(one('quotas', 'quota_network = -1').quotas.quota_network, -1);
    assert.equal(one('DEFAULT', 'pagination_max_limit = Infinite').DEFAULT.pagination_max_limit, -1);
    assert.equal(one('DEFAULT', 'pagination_max_limit = 1000').DEFAULT.pagination_max_limit, 1000);
    assert.equal(one('agent', 'report_interval = 2.5').agent.report_interval, 2.5);
    assert.equal(one('DEFAULT', 'bind_port = 0').DEFAULT.bind_port, 0);
    assert.deepEqual(one('DEFAULT', 'service_plugins = router , segments,,trunk').DEFAULT.service_plugins, ['router', 'segments', 'trunk']);
    assert.equal(one('ml2', 'overlay_ip_version = 6').ml2.overlay_ip_version, 6);
    assert.equal(one('keystone_authtoken', 'auth_url = http://127.0.0.1:5000/v3').keystone_authtoken.auth_url, 'http://127.0.0.1:5000/v3');
  });

  test('empty values: typed options fall back to the default, lists become empty, strings stay empty', () => {
    assert.equal(one('DEFAULT', 'bind_port =').DEFAULT.bind_port, 9696);
    assert.equal(one('DEFAULT', 'api_workers =').DEFAULT.api_workers, null);
    assert.deepEqual(one('ml2_type_flat', 'flat_networks =').ml2_type_flat.flat_networks, []);
    assert.equal(one('DEFAULT', 'dns_domain =').DEFAULT.dns_domain, '');
  });
});

describe('bad values name file, section, option and what is expected', () => {
  const bad = (name: string, section: string, line: string) => {
    const f = file(name, `[${section}]\n${line}\n`);
    return { f, run: () => loadConfig([f]) };
  };

  test('port', () => {
    const { f, run } = bad('neutron.conf', 'DEFAULT', 'bind_port = abc');
    const e = throwsConfig(run, `${f}: [DEFAULT] bind_port: expected an integer 0-65535, got "abc"`);
    assert.deepEqual([e.file, e.section, e.option, e.line], [f, 'DEFAULT', 'bind_port', 2]);
    throwsConfig(bad('p2.conf', 'DEFAULT', 'bind_port = 70000').run, /bind_port: expected an integer 0-65535, got "70000"$/);
  });

  test('bool, int range, enum, url, list-less types', () => {
    throwsConfig(
      bad('b.conf', 'DEFAULT', 'debug = maybe').run,
      /: \[DEFAULT\] debug: expected a boolean \(true\/false, yes\/no, on\/off, 1\/0\), got "maybe"$/,
    );
    throwsConfig(
      bad('i.conf', 'DEFAULT', 'mac_generation_retries = 0').run,
      /\[DEFAULT\] mac_generation_retries: expected an integer >= 1, got "0"$/,
    );
    throwsConfig(bad('i2.conf', 'quotas', 'quota_port = 1.5').run, /\[quotas\] quota_port: expected an integer, got "1.5"$/);
    throwsConfig(bad('e.conf', 'DEFAULT', 'auth_strategy = basic').run, /\[DEFAULT\] auth_strategy: expected one of keystone, noauth, got "basic"$/);
    throwsConfig(bad('c.conf', 'ml2', 'overlay_ip_version = 5').run, /\[ml2\] overlay_ip_version: expected one of 4, 6, got "5"$/);
    throwsConfig(
      bad('u.conf', 'keystone_authtoken', 'auth_url = 127.0.0.1:5000').run,
      /\[keystone_authtoken\] auth_url: expected a URL \(http:\/\/, https:\/\/\), got "127.0.0.1:5000"$/,
    );
    throwsConfig(bad('pg.conf', 'DEFAULT', 'pagination_max_limit = lots').run, /pagination_max_limit: expected an integer or infinite, got "lots"$/);
  });

  test('secret values are not echoed', () => {
    const { run } = bad('secret.conf', 'DEFAULT', 'transport_url = not a url');
    throwsConfig(run, /\[DEFAULT\] transport_url: expected a URL, got "<secret>"$/);
  });

  test('overrides: bad values and unknown options', () => {
    throwsConfig(() => loadConfig([], { DEFAULT: { bind_port: 'x' } }), '<overrides>: [DEFAULT] bind_port: expected an integer 0-65535, got "x"');
    throwsConfig(() => loadConfig([], { DEFAULT: { bind_prot: '1' } }), '<overrides>: [DEFAULT] bind_prot: unknown option');
  });
});

describe('ranges and mappings', () => {
  test('network_vlan_ranges', () => {
    const r = parseVlanRanges('physnet1:100:200, physnet2,physnet1:300:400');
    assert.deepEqual(
      [...r.entries()],
      [
        [
          'physnet1',
          [
            [100, 200],
            [300, 400],
          ],
        ],
        ['physnet2', [[1, 4094]]],
      ],
    );
    // A bare physnet takes the whole VLAN space, even when ranges are listed for it too.
    assert.deepEqual([...parseVlanRanges(['p:1:10', 'p', 'p:20:30']).entries()], [['p', [[1, 4094]]]]);
    assert.equal(parseVlanRanges('').size, 0);
  });

  test('network_vlan_ranges errors', () => {
    const opt = '[ml2_type_vlan] network_vlan_ranges';
    const e = throwsConfig(() => parseVlanRanges('physnet1:1:5000'), `${opt}: 5000 is not a valid VLAN tag (expected 1-4094) in "physnet1:1:5000"`);
    assert.deepEqual([e.section, e.option], ['ml2_type_vlan', 'network_vlan_ranges']);
    throwsConfig(() => parseVlanRanges('physnet1:0:10'), /0 is not a valid VLAN tag/);
    throwsConfig(() => parseVlanRanges('physnet1:x:10'), /x is not a valid VLAN tag/);
    throwsConfig(() => parseVlanRanges('physnet1:20:10'), `${opt}: end of VLAN range is less than start of VLAN range in "physnet1:20:10"`);
    throwsConfig(() => parseVlanRanges('physnet1:10'), /expected <physical_network>\[:<vlan_min>:<vlan_max>\] in "physnet1:10"/);
    throwsConfig(() => parseVlanRanges(':1:10'), /missing physical network name/);
  });

  test('vni_ranges for vxlan and geneve', () => {
    assert.deepEqual(parseVniRanges('1:1000, 2000:16777215'), [
      [1, 1000],
      [2000, 16777215],
    ]);
    assert.deepEqual(parseVniRanges(['5:6'], 'geneve'), [[5, 6]]);
    throwsConfig(
      () => parseVniRanges('1:16777216'),
      '[ml2_type_vxlan] vni_ranges: 16777216 is not a valid VXLAN VNI (expected 1-16777215) in "1:16777216"',
    );
    throwsConfig(() => parseVniRanges('0:10', 'geneve'), '[ml2_type_geneve] vni_ranges: 0 is not a valid GENEVE VNI (expected 1-16777215) in "0:10"');
    throwsConfig(() => parseVniRanges('10:1'), /end of tunnel range is less than start of tunnel range in "10:1"$/);
    throwsConfig(() => parseVniRanges('100'), /\[ml2_type_vxlan\] vni_ranges: expected <vni_min>:<vni_max> in "100"$/);
  });

  test('mappings', () => {
    const opt = '[linux_bridge] physical_interface_mappings';
    assert.deepEqual(
      [...parseMappings('physnet1:eth0, physnet2:eth1', opt).entries()],
      [
        ['physnet1', 'eth0'],
        ['physnet2', 'eth1'],
      ],
    );
    throwsConfig(() => parseMappings('physnet1', opt), `${opt}: expected <key>:<value> in "physnet1"`);
    throwsConfig(() => parseMappings('a:eth0,a:eth1', opt), `${opt}: key a is not unique in "a:eth1"`);
    throwsConfig(() => parseMappings('a:eth0,b:eth0', opt), `${opt}: value eth0 is not unique in "b:eth0"`);
    assert.equal(parseMappings('a:eth0,b:eth0', opt, { uniqueValues: false }).size, 2);
    throwsConfig(() => parseMappings('a:', opt), /missing value in "a:"$/);
  });
});

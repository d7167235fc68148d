// PolicyEngine: defaults, policy files, overrides, and Neutron scenarios with
// Tempest-style users (project members holding only the `member` role).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PolicyEngine, computeIsAdmin, computeIsAdvsvc, toPolicyCredentials, type PolicyCredentials } from '../../src/policy/engine.js';
import { PolicyFileError } from '../../src/policy/file.js';
import { PolicyRuleError } from '../../src/policy/parser.js';
import { DEFAULT_RULES } from '../../src/policy/defaults.js';

const engine = new PolicyEngine();

function creds(project: string | null, roles: string[]): PolicyCredentials {
  const c: PolicyCredentials = { user_id: `user-${project}`, project_id: project, tenant_id: project, roles, is_admin: false };
  c.is_admin = computeIsAdmin(engine, c);
  return c;
}
const member = (project: string) => creds(project, ['member']);
const admin = creds('admin-project', ['admin']);

/** A resource target as the API layer builds it: project and tenant id, plus parent owners. */
function owned(project: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { project_id: project, tenant_id: project, ...extra };
}
function onNetwork(project: string, networkOwner: string, extra: Record<string, unknown> = {}) {
  return owned(project, { network_id: 'net-1', 'network:project_id': networkOwner, 'network:tenant_id': networkOwner, ...extra });
}

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'neutrino-policy-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('PolicyEngine: credentials', () => {
  test('computeIsAdmin evaluates context_is_admin on the credentials', () => {
    assert.equal(admin.is_admin, true);
    assert.equal(creds('p1', ['Admin']).is_admin, true);
    assert.equal(member('p1').is_admin, false);
    assert.equal(computeIsAdvsvc(engine, creds('p1', ['advsvc'])), true);
    assert.equal(computeIsAdvsvc(engine, member('p1')), false);
  });

  test('computeIsAdmin follows an overridden context_is_admin', () => {
    const e = new PolicyEngine({ overrides: { context_is_admin: 'role:cloud_admin' } });
    assert.equal(computeIsAdmin(e, { ...member('p1'), roles: ['cloud_admin'] }), true);
    assert.equal(computeIsAdmin(e, { ...member('p1'), roles: ['admin'] }), false);
  });

  test('toPolicyCredentials maps a request context', () => {
    const c = toPolicyCredentials({
      userId: 'u1',
      projectId: 'p1',
      roles: ['member'],
      isAdmin: false,
      isAdvsvc: false,
      requestId: 'r',
      extra: { project_id: 'spoofed', domain_id: 'd1' },
    });
    assert.deepEqual(c, { user_id: 'u1', project_id: 'p1', tenant_id: 'p1', roles: ['member'], is_admin: false, domain_id: 'd1' });
  });
});

describe('PolicyEngine: Neutron networks', () => {
  test('a member can create a network but not a shared one; admin can', () => {
    const t = owned('p1', { shared: true });
    assert.equal(engine.check('create_network', t, member('p1')), true);
    assert.equal(engine.check('create_network:shared', t, member('p1')), false);
    assert.equal(engine.check('create_network:router:external', t, member('p1')), false);
    assert.equal(engine.check('create_network:provider:network_type', t, member('p1')), false);
    assert.equal(engine.check('create_network:shared', t, admin), true);
  });

  test('admin passes on the rules alone too (without the is_admin shortcut)', () => {
    const strict = new PolicyEngine({ adminBypass: false });
    const t = owned('p1');
    assert.equal(strict.check('create_network:shared', t, admin), true);
    assert.equal(strict.check('get_port:binding:vif_type', t, admin), true);
    assert.equal(strict.check('create_network:shared', t, member('p1')), false);
  });

  test('owners manage their networks; other projects cannot', () => {
    const net = owned('p1', { shared: false, 'router:external': false });
    for (const action of ['get_network', 'update_network', 'delete_network']) {
      assert.equal(engine.check(action, net, member('p1')), true, `${action} by owner`);
      assert.equal(engine.check(action, net, member('p2')), false, `${action} by other project`);
    }
  });

  test('get_network is allowed to other projects for shared or external networks', () => {
    assert.equal(engine.check('get_network', owned('p1', { shared: true }), member('p2')), true);
    assert.equal(engine.check('get_network', owned('p1', { 'router:external': true }), member('p2')), true);
    assert.equal(engine.check('get_network', owned('p1', { shared: false }), member('p2')), false);
    assert.equal(engine.check('update_network', owned('p1', { shared: true }), member('p2')), false);
  });

  test('provider attributes and segments are admin-only to read', () => {
    const net = owned('p1');
    assert.equal(engine.check('get_network:provider:network_type', net, member('p1')), false);
    assert.equal(engine.check('get_network:segments', net, member('p1')), false);
    assert.equal(engine.check('get_network:provider:segmentation_id', net, admin), true);
    assert.equal(engine.check('get_network:router:external', net, member('p2')), true);
  });

  test('persona roles work as well as legacy ownership', () => {
    const net = owned('p1');
    assert.equal(engine.check('get_network', net, creds('p1', ['reader'])), true);
    assert.equal(engine.check('get_network', net, creds('p2', ['reader'])), false);
  });
});

describe('PolicyEngine: Neutron subnets and ports', () => {
  test('subnets follow the network owner', () => {
    assert.equal(engine.check('create_subnet', onNetwork('p1', 'p1'), member('p1')), true);
    assert.equal(engine.check('create_subnet', onNetwork('p2', 'p1'), member('p2')), false);
    assert.equal(engine.check('create_subnet:segment_id', onNetwork('p1', 'p1'), member('p1')), false);
    assert.equal(engine.check('get_subnet', onNetwork('p1', 'p1', { shared: true }), member('p2')), true);
    assert.equal(engine.check('get_subnet', onNetwork('p1', 'p1', { shared: false }), member('p2')), false);
  });

  test('the port owner can get a port; another project cannot', () => {
    const port = onNetwork('p1', 'p1');
    assert.equal(engine.check('get_port', port, member('p1')), true);
    assert.equal(engine.check('get_port', port, member('p2')), false);
    assert.equal(engine.check('delete_port', port, member('p2')), false);
    // The network owner also sees ports others plugged into its network.
    assert.equal(engine.check('get_port', onNetwork('p2', 'p1'), member('p1')), true);
  });

  test('the network owner may choose a MAC on its network; a non-owner member may not', () => {
    assert.equal(engine.check('create_port:mac_address', onNetwork('p1', 'p1'), member('p1')), true);
    assert.equal(engine.check('create_port:mac_address', onNetwork('p2', 'p1'), member('p2')), false);
    assert.equal(engine.check('create_port:fixed_ips:ip_address', onNetwork('p2', 'p1'), member('p2')), false);
    assert.equal(engine.check('create_port:mac_address', onNetwork('p2', 'p1'), admin), true);
    // On a shared network a non-owner may still pick a subnet.
    assert.equal(engine.check('create_port:fixed_ips:subnet_id', onNetwork('p2', 'p1', { shared: true }), member('p2')), true);
    assert.equal(engine.check('create_port', onNetwork('p2', 'p1', { shared: true }), member('p2')), true);
  });

  test('network: device owners are reserved to the network owner', () => {
    const dhcp = { device_owner: 'network:dhcp' };
    assert.equal(engine.check('create_port:device_owner', onNetwork('p2', 'p1', dhcp), member('p2')), false);
    assert.equal(engine.check('create_port:device_owner', onNetwork('p1', 'p1', dhcp), member('p1')), true);
    assert.equal(engine.check('create_port:device_owner', onNetwork('p2', 'p1', { device_owner: 'compute:nova' }), member('p2')), true);
  });

  test('binding attributes are admin (or service) only', () => {
    const port = onNetwork('p1', 'p1');
    for (const attr of ['binding:vif_type', 'binding:vif_details', 'binding:host_id', 'binding:profile']) {
      assert.equal(engine.check(`get_port:${attr}`, port, member('p1')), false, attr);
      assert.equal(engine.check(`get_port:${attr}`, port, admin), true, attr);
      assert.equal(engine.check(`get_port:${attr}`, port, creds('svc', ['service'])), true, attr);
    }
    assert.equal(engine.check('create_port:binding:host_id', port, member('p1')), false);
    assert.equal(engine.check('create_port:binding:vnic_type', port, member('p1')), true);
    assert.equal(engine.check('update_port:mac_address', port, member('p1')), false);
  });

  test('security group rules follow the group owner', () => {
    const rule = owned('p1', { 'security_group:project_id': 'p1' });
    assert.equal(engine.check('create_security_group_rule', rule, member('p1')), true);
    assert.equal(engine.check('get_security_group_rule', rule, member('p1')), true);
    assert.equal(engine.check('get_security_group_rule', owned('p2', { 'security_group:project_id': 'p1' }), member('p1')), true);
    assert.equal(engine.check('create_security_group_rule', owned('p2', { 'security_group:project_id': 'p2' }), member('p1')), false);
  });
});

describe('PolicyEngine: other resources', () => {
  test('quota changes and agents are admin-only; extensions are open', () => {
    assert.equal(engine.check('update_quota', owned('p1'), member('p1')), false);
    assert.equal(engine.check('update_quota', owned('p1'), admin), true);
    assert.equal(engine.check('get_quota', owned('p1'), creds('p1', ['manager'])), true);
    assert.equal(engine.check('get_agent', {}, member('p1')), false);
    assert.equal(engine.check('get_network_ip_availability', owned('p1'), member('p1')), false);
    assert.equal(engine.check('get_extension', {}, member('p1')), true);
  });

  test('RBAC wildcard sharing needs admin', () => {
    assert.equal(engine.check('create_rbac_policy:target_tenant', owned('p1', { target_tenant: 'p2' }), member('p1')), true);
    assert.equal(engine.check('create_rbac_policy:target_tenant', owned('p1', { target_tenant: '*' }), member('p1')), false);
  });

  test('tag rules: current names and their first names', () => {
    assert.equal(engine.check('update_network:tags', owned('p1'), member('p1')), true);
    assert.equal(engine.check('update_network:tags', owned('p1'), member('p2')), false);
    assert.equal(engine.check('update_networks_tags', owned('p1'), member('p1')), true);
    assert.equal(engine.check('get_port:tags', onNetwork('p1', 'p1'), creds('p1', ['reader'])), true);
    assert.equal(engine.check('get_segments_tags', {}, member('p1')), false);
  });

  test('unknown actions fall back to default (admin_or_owner)', () => {
    assert.equal(engine.has('frobnicate_widget'), false);
    assert.equal(engine.has('create_network'), true);
    assert.equal(engine.check('frobnicate_widget', owned('p1'), member('p1')), true);
    assert.equal(engine.check('frobnicate_widget', owned('p1'), member('p2')), false);
    assert.equal(engine.check('frobnicate_widget', owned('p1'), admin), true);
  });

  test('targetKeys lists what a rule reads from the target, across references', () => {
    const keys = engine.targetKeys('create_port:mac_address');
    assert.ok(keys.has('network:project_id'));
    assert.ok(!keys.has('shared'));
    assert.ok(engine.targetKeys('get_network').has('router:external'));
    assert.ok(engine.targetKeys('create_port:device_owner').has('device_owner'));
  });

  test('every default parses and every rule: reference is defined', () => {
    assert.ok(DEFAULT_RULES.size > 250);
    assert.deepEqual(engine.undefinedReferences(), []);
    for (const name of [
      'context_is_admin',
      'owner',
      'admin_or_owner',
      'context_is_advsvc',
      'admin_or_network_owner',
      'admin_owner_or_network_owner',
      'network_owner',
      'admin_only',
      'regular_user',
      'shared',
      'external',
      'default',
      'admin_or_data_plane_int',
      'shared_subnetpools',
    ]) {
      assert.ok(engine.has(name), name);
    }
  });
});

describe('PolicyEngine: policy files and overrides', () => {
  test('a YAML policy file overrides defaults', () => {
    const policyFile = file(
      'policy.yaml',
      [
        '# operators let members share networks',
        '"create_network:shared": "role:member"',
        'get_extension: "!"',
        'my_custom_rule: "rule:admin_or_owner and not role:banned"',
      ].join('\n'),
    );
    const e = new PolicyEngine({ policyFile });
    assert.equal(e.check('create_network:shared', owned('p1'), member('p1')), true);
    assert.equal(e.check('get_extension', {}, member('p1')), false);
    assert.equal(e.check('my_custom_rule', owned('p1'), member('p1')), true);
    assert.equal(e.check('my_custom_rule', owned('p1'), creds('p1', ['member', 'banned'])), false);
    assert.equal(e.ruleText('create_network:shared'), 'role:member');
    // Untouched rules keep their defaults.
    assert.equal(e.check('create_network:router:external', owned('p1'), member('p1')), false);
  });

  test('a JSON policy file works too, and overrides apply after it', () => {
    const policyFile = file('policy.json', JSON.stringify({ default: '!', get_network: 'rule:admin_only' }));
    const e = new PolicyEngine({ policyFile, overrides: { get_network: '@' } });
    assert.equal(e.check('frobnicate_widget', owned('p1'), member('p1')), false);
    assert.equal(e.check('get_network', owned('p2'), member('p1')), true);
  });

  test('an override of a renamed rule applies to its new name', () => {
    const policyFile = file('renamed.yaml', 'update_networks_tags: "rule:admin_only"\n');
    const e = new PolicyEngine({ policyFile });
    assert.equal(e.check('update_network:tags', owned('p1'), member('p1')), false);
    const both = new PolicyEngine({ policyFile: file('renamed2.yaml', 'update_networks_tags: "!"\nupdate_network:tags: "@"\n') });
    assert.equal(both.check('update_network:tags', owned('p2'), member('p1')), true);
  });

  test('an empty policy file changes nothing', () => {
    const e = new PolicyEngine({ policyFile: file('empty.yaml', '# nothing\n') });
    assert.equal(e.ruleText('create_network:shared'), engine.ruleText('create_network:shared'));
  });

  const fileErrors: Array<[string, string, RegExp]> = [
    ['bad-rule.yaml', 'get_port: "rule:admin_only or"\n', /rule "get_port": expected a check after "or"/],
    ['not-string.yaml', 'get_port: 42\n', /rule "get_port": rule must be a string/],
    ['null.yaml', 'get_port:\n', /rule "get_port": has no rule/],
    ['bang.yaml', 'get_port: !\n', /rule "get_port": unquoted "!"/],
    ['syntax.yaml', 'get_port: "x\n  y: [\n', /invalid YAML\/JSON/],
    ['list.yaml', '- a\n- b\n', /top level must be a mapping/],
    ['cycle.yaml', 'a: "rule:b"\nb: "rule:a or role:x"\n', /cycle: (a -> b -> a|b -> a -> b)/],
  ];
  for (const [name, text, why] of fileErrors) {
    test(`a bad policy file names file and rule: ${name}`, () => {
      const policyFile = file(name, text);
      assert.throws(
        () => new PolicyEngine({ policyFile }),
        (e: unknown) => {
          assert.ok(e instanceof PolicyFileError, String(e));
          assert.equal(e.file, policyFile);
          assert.ok(e.message.startsWith(`policy file ${policyFile}`), e.message);
          assert.match(e.message, why);
          return true;
        },
      );
    });
  }

  test('a missing policy file is an error naming it', () => {
    const missing = join(dir, 'nope.yaml');
    assert.throws(
      () => new PolicyEngine({ policyFile: missing }),
      (e: unknown) => e instanceof PolicyFileError && e.file === missing,
    );
  });

  test('a bad override names the rule', () => {
    assert.throws(
      () => new PolicyEngine({ overrides: { create_network: 'role:admin and and' } }),
      (e: unknown) => e instanceof PolicyRuleError && e.ruleName === 'create_network',
    );
    assert.throws(
      () => new PolicyEngine({ overrides: { default: 'rule:no_such_rule' } }),
      (e: unknown) => e instanceof PolicyRuleError && e.ruleName === 'default' && /cycle: default -> default/.test(e.message),
    );
  });
});

describe('PolicyEngine: decided once for a whole list', () => {
  // What PortHandler.scopeTargets gives a non-admin: their ports anywhere, anyone's on their networks.
  const unknown = '\0unknown project';
  const scope = (p: string) => [onNetwork(p, unknown), onNetwork(unknown, p)];

  test('the default get_port allows a member every port of their scope; admin-only attributes are denied to all', () => {
    const alice = member('p1');
    assert.equal(engine.allowsAnyTarget('get_port', alice), false);
    assert.equal(engine.allowsEveryTargetLike('get_port', alice, scope('p1')), true);
    assert.equal(engine.deniesEveryTarget('get_port:binding:host_id', alice), true);
    assert.equal(engine.deniesEveryTarget('get_port', alice), false, 'get_port reads the target');
    assert.equal(engine.deniesEveryTarget('get_port:binding:host_id', admin), false);
  });

  test('a rule that reads another key, or negates, or fails on a sample is left to each item', () => {
    const alice = member('p1');
    const reads = new PolicyEngine({ overrides: { get_port: 'project_id:%(project_id)s or device_owner:compute:nova' } });
    assert.equal(reads.allowsEveryTargetLike('get_port', alice, scope('p1')), false);
    const negates = new PolicyEngine({ overrides: { get_port: 'not project_id:%(network:project_id)s' } });
    assert.equal(negates.allowsEveryTargetLike('get_port', alice, scope('p1')), false);
    const ownOnly = new PolicyEngine({ overrides: { get_port: 'project_id:%(project_id)s' } });
    assert.equal(ownOnly.allowsEveryTargetLike('get_port', alice, scope('p1')), false, 'not the ports of others on their network');
    assert.equal(ownOnly.allowsEveryTargetLike('get_port', alice, [onNetwork('p1', unknown)]), true);
  });
});

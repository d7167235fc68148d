// [oslo_policy] enforce_new_defaults, enforce_scope and policy_dirs on the pure engine: the
// secure-RBAC personas (project reader, member, manager; admin), oslo's scope check, and the
// policy files a configuration loads.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PolicyEngine, computeIsAdmin, tokenScope, type PolicyCredentials } from '../../src/policy/engine.js';
import { DEFAULT_RULES, DEFAULT_RULE_SPECS, NEW_DEFAULT_RULES, PROJECT_SCOPED_RULES } from '../../src/policy/defaults.js';
import { policyFilesFromConfig, policyFromConfig } from '../../src/policy/from-config.js';
import { PolicyFileError } from '../../src/policy/file.js';
import { loadConfig } from '../../src/config/index.js';

const secure = new PolicyEngine({ enforceNewDefaults: true });
const legacy = new PolicyEngine();

/** Credentials as the server derives them (is_admin from context_is_admin). */
function creds(project: string | null, roles: string[], extra: Record<string, unknown> = {}): PolicyCredentials {
  const c: PolicyCredentials = { user_id: `u-${project}`, project_id: project, tenant_id: project, roles, is_admin: false, ...extra };
  c.is_admin = computeIsAdmin(secure, c);
  return c;
}
// Keystone's implied roles: manager implies member, member implies reader, admin implies all.
const reader = creds('p1', ['reader']);
const member = creds('p1', ['member', 'reader']);
const manager = creds('p1', ['manager', 'member', 'reader']);
const admin = creds('admin-project', ['admin', 'manager', 'member', 'reader']);
const own = (project = 'p1', extra: Record<string, unknown> = {}) => ({ project_id: project, tenant_id: project, ...extra });
const onNetwork = (owner: string) => own(owner, { 'network:project_id': owner, 'network:tenant_id': owner });

describe('enforce_new_defaults: the secure-RBAC personas', () => {
  test('a project reader reads its resources but creates, changes and deletes nothing', () => {
    for (const action of ['get_network', 'get_subnet', 'get_port', 'get_router', 'get_security_group', 'get_floatingip']) {
      const target = action === 'get_subnet' || action === 'get_port' ? onNetwork('p1') : own();
      assert.equal(secure.check(action, target, reader), true, action);
    }
    for (const action of ['create_network', 'update_network', 'delete_network', 'create_router', 'create_security_group']) {
      assert.equal(secure.check(action, own(), reader), false, action);
    }
    assert.equal(secure.check('create_port', onNetwork('p1'), reader), false);
    assert.equal(secure.check('create_subnet', onNetwork('p1'), reader), false);
  });

  test('a project member creates in its own project only', () => {
    for (const action of ['create_network', 'update_network', 'delete_network', 'create_router', 'create_floatingip', 'create_security_group']) {
      assert.equal(secure.check(action, own('p1'), member), true, action);
      assert.equal(secure.check(action, own('p2'), member), false, `${action} in another project`);
    }
    assert.equal(secure.check('create_subnet', onNetwork('p1'), member), true);
    assert.equal(secure.check('create_subnet', onNetwork('p2'), member), false);
    assert.equal(secure.check('get_network', own('p2'), member), false);
  });

  test('a project manager may what a member may, plus what Neutron gives managers', () => {
    assert.equal(secure.check('create_network', own(), manager), true);
    for (const [action, target] of [
      ['create_policy', own()],
      ['create_metering_label', own()],
      ['get_quota', own()],
      ['update_port:mac_address', onNetwork('p1')],
      ['create_floatingip:floating_ip_address', own()],
    ] as const) {
      assert.equal(secure.check(action, target, manager), true, action);
      assert.equal(secure.check(action, target, member), false, `${action} as a member`);
      assert.equal(secure.check(action, own('p2'), manager), false, `${action} in another project`);
    }
    assert.equal(secure.check('create_policy_bandwidth_limit_rule', { 'ext_parent:project_id': 'p1' }, manager), true);
    assert.equal(secure.check('create_policy_bandwidth_limit_rule', { 'ext_parent:project_id': 'p2' }, manager), false);
    // Still not an admin: the physical fabric and sharing stay with admins.
    assert.equal(secure.check('create_network:provider:network_type', own(), manager), false);
    assert.equal(secure.check('create_network:shared', own(), manager), false);
    assert.equal(secure.check('update_quota', own(), manager), false);
  });

  test('an admin passes on the rules themselves, in any project', () => {
    for (const action of ['create_network', 'create_network:shared', 'get_port:binding:host_id', 'update_quota', 'create_agent']) {
      assert.equal(secure.check(action, own('p2'), admin), true, action);
    }
  });

  test('is_admin no longer skips the rules (Neutron checks admins too once the new defaults are on)', () => {
    const strict = new PolicyEngine({ enforceNewDefaults: true, overrides: { create_network: '!' } });
    const old = new PolicyEngine({ overrides: { create_network: '!' } });
    assert.equal(old.check('create_network', own(), admin), true);
    assert.equal(strict.check('create_network', own(), admin), false);
  });

  test('legacy ownership alone (no reader/member role) works only without the new defaults', () => {
    const roleless = creds('p1', ['_member_']);
    for (const action of ['create_network', 'get_network', 'update_network', 'delete_network']) {
      assert.equal(legacy.check(action, own(), roleless), true, action);
      assert.equal(secure.check(action, own(), roleless), false, action);
    }
  });

  test('the legacy table keeps the rules it always had; the new table is the check alone', () => {
    assert.equal(DEFAULT_RULES.get('create_policy'), 'rule:admin_only');
    assert.equal(DEFAULT_RULES.get('create_metering_label'), 'rule:admin_only');
    assert.equal(DEFAULT_RULES.get('create_network:tags'), NEW_DEFAULT_RULES.get('create_network:tags'), 'no legacy form: the same in both');
    assert.match(DEFAULT_RULES.get('create_network')!, /^\(.*\) or \(rule:regular_user\)$/);
    assert.equal(NEW_DEFAULT_RULES.get('create_network'), '(rule:admin_only) or (role:member and project_id:%(project_id)s)');
    assert.equal(NEW_DEFAULT_RULES.get('create_policy'), '(rule:admin_only) or (role:manager and project_id:%(project_id)s)');
    assert.equal(legacy.check('create_policy', own(), manager), false);
  });
});

describe('enforce_scope: a token of another scope is refused the project-scoped rules', () => {
  const scoped = new PolicyEngine({ enforceNewDefaults: true, enforceScope: true });
  const systemAdmin = creds(null, ['admin', 'member', 'reader'], { system_scope: 'all' });
  const systemReader = creds(null, ['reader'], { system_scope: 'all' });
  const domainAdmin = creds(null, ['admin'], { domain_id: 'default' });

  test('tokenScope reads the credentials as oslo does', () => {
    assert.equal(tokenScope(systemAdmin), 'system');
    assert.equal(tokenScope(domainAdmin), 'domain');
    assert.equal(tokenScope(member), 'project');
  });

  test('system- and domain-scoped tokens are refused every API rule, even with the admin role', () => {
    assert.equal(systemAdmin.is_admin, true, 'context_is_admin has no scope: the role still makes an admin');
    for (const action of ['get_network', 'create_network', 'update_network', 'delete_port', 'get_agent', 'update_quota', 'get_availability_zone']) {
      assert.equal(scoped.check(action, own(), systemAdmin), false, action);
      assert.equal(scoped.check(action, own(), systemReader), false, action);
      assert.equal(scoped.check(action, own(), domainAdmin), false, action);
      assert.equal(secure.check(action, own(), systemAdmin), true, `${action} without enforce_scope`);
    }
    assert.equal(scoped.check('create_network', own(), member), true, 'project tokens are unaffected');
    assert.equal(scoped.check('create_network', own(), admin), true);
  });

  test('rules without a scope still answer: building blocks and the extension list', () => {
    assert.equal(scoped.check('context_is_admin', {}, systemAdmin), true);
    assert.equal(scoped.check('get_extension', {}, systemReader), true);
    assert.equal(scoped.check('no_such_rule', own(), systemAdmin), true, 'an unregistered action has no scope (default rule)');
  });

  test('without the new defaults an is_admin caller skips scope as it skips the rules (Neutron)', () => {
    const oldScoped = new PolicyEngine({ enforceScope: true });
    assert.equal(oldScoped.check('get_network', own(), systemAdmin), true);
    assert.equal(oldScoped.check('get_network', own('p1'), creds('p1', ['member'], { system_scope: 'all' })), false);
  });

  test('exactly the building blocks are unscoped, as Neutron registers them without scope_types', () => {
    const unscoped = DEFAULT_RULE_SPECS.map(([name]) => name)
      .filter((n) => !PROJECT_SCOPED_RULES.has(n))
      .sort();
    assert.deepEqual(unscoped, [
      'admin_only',
      'admin_or_data_plane_int',
      'admin_or_ext_parent_owner',
      'admin_or_network_owner',
      'admin_or_owner',
      'admin_or_sg_owner',
      'admin_owner_or_network_owner',
      'admin_owner_or_sg_owner',
      'context_is_admin',
      'context_is_advsvc',
      'context_with_global_access',
      'default',
      'ext_parent_owner',
      'external',
      'external_network',
      'get_extension',
      'network_device',
      'network_owner',
      'owner',
      'regular_user',
      'restrict_wildcard',
      'rule_default_sg',
      'service_api',
      'sg_owner',
      'shared',
      'shared_address_groups',
      'shared_address_scopes',
      'shared_qos_policy',
      'shared_security_group',
      'shared_subnetpools',
    ]);
  });
});

describe('policyFromConfig: [oslo_policy] from the configuration files', () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'neutrino-policy-cfg-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));
  const write = (path: string, text: string): string => {
    const p = join(root, path);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, text);
    return p;
  };

  test('policy_file, then every file of policy.d in sorted order; later files win', () => {
    const conf = write('etc/neutron.conf', '[DEFAULT]\n');
    write('etc/policy.yaml', 'create_network: "!"\nget_network: "!"\nupdate_network: "!"\n');
    write('etc/policy.d/20-second.json', '{"get_network": "role:second", "update_network": "role:second"}');
    write('etc/policy.d/10-first.yaml', 'create_network: "role:first"\nupdate_network: "role:first"\n');
    write('etc/policy.d/.hidden.yaml', 'delete_network: "!"\n');
    write('etc/policy.d/sub/30-nested.yaml', 'delete_network: "!"\n');
    symlinkSync(join(root, 'etc/policy.d/sub/30-nested.yaml'), join(root, 'etc/policy.d/40-link.yaml'));
    symlinkSync(join(root, 'nowhere.yaml'), join(root, 'etc/policy.d/50-dangling.yaml'));
    const cfg = loadConfig([conf]);
    assert.deepEqual(policyFilesFromConfig(cfg, [conf]), [
      join(root, 'etc/policy.yaml'),
      join(root, 'etc/policy.d/10-first.yaml'),
      join(root, 'etc/policy.d/20-second.json'),
      join(root, 'etc/policy.d/40-link.yaml'),
    ]);
    const e = policyFromConfig(cfg, [conf]);
    assert.equal(e.ruleText('create_network'), 'role:first');
    assert.equal(e.ruleText('get_network'), 'role:second');
    assert.equal(e.ruleText('update_network'), 'role:second');
    assert.equal(e.ruleText('delete_network'), '!', 'from the symlinked file');
  });

  test("relative names are looked up in the config files' directories, the last file's first", () => {
    const a = write('a/neutron.conf', '[oslo_policy]\npolicy_dirs = extra.d\n');
    const b = write('b/ml2.ini', '[oslo_policy]\nenforce_new_defaults = true\nenforce_scope = true\n');
    write('a/policy.yaml', 'get_network: "role:from_a"\n');
    write('b/policy.yaml', 'get_network: "role:from_b"\n');
    write('a/extra.d/x.yaml', 'get_port: "role:extra"\n');
    const cfg = loadConfig([a, b]);
    const e = policyFromConfig(cfg, [a, b]);
    assert.equal(e.ruleText('get_network'), 'role:from_b');
    assert.equal(e.ruleText('get_port'), 'role:extra');
    assert.equal(e.ruleText('create_network'), NEW_DEFAULT_RULES.get('create_network'), 'enforce_new_defaults is read');
    const system = creds(null, ['admin'], { system_scope: 'all' });
    assert.equal(e.check('create_network', own(), system), false, 'enforce_scope is read');
  });

  test('absolute paths; missing files and directories mean defaults, as in oslo', () => {
    const dir = join(root, 'abs.d');
    write('abs.d/p.yaml', 'get_subnet: "role:abs"\n');
    const cfg = loadConfig([], { oslo_policy: { policy_file: join(root, 'none.yaml'), policy_dirs: `${dir},missing.d` } });
    const e = policyFromConfig(cfg, []);
    assert.equal(e.ruleText('get_subnet'), 'role:abs');
    assert.equal(e.ruleText('get_network'), DEFAULT_RULES.get('get_network'));
  });

  test('a policy_dirs entry that is a file, or a broken file in a directory, stops start-up naming it', () => {
    const f = write('notadir', 'x: "@"\n');
    assert.throws(
      () => policyFromConfig(loadConfig([], { oslo_policy: { policy_dirs: f } }), []),
      (e: unknown) => e instanceof PolicyFileError && e.file === f && /policy_dirs names a file/.test(e.message),
    );
    const bad = write('bad.d/broken.yaml', 'get_network: "role:x" and (\n');
    assert.throws(
      () => policyFromConfig(loadConfig([], { oslo_policy: { policy_dirs: join(root, 'bad.d') } }), []),
      (e: unknown) => e instanceof PolicyFileError && e.file === bad,
    );
  });
});

// The oslo.policy rule language: parsing, precedence and check semantics.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRule, parseRule, PolicyRuleError } from '../../src/policy/parser.js';
import { describeNode, type Creds, type RuleResolver, type Target } from '../../src/policy/checks.js';

const shape = (rule: string): string => describeNode(parseRule(rule));

// Rule references resolve through this table; unknown names act as `default`.
function resolverOf(rules: Record<string, string>): RuleResolver {
  const table: RuleResolver = {
    resolve: (name) => compileRule(rules[name] ?? rules['default'] ?? '!', name).evaluate,
  };
  return table;
}
const noRules = resolverOf({});

function ev(rule: string, target: Target = {}, creds: Creds = {}, rules: RuleResolver = noRules): boolean {
  return compileRule(rule, 'test').evaluate(target, creds, rules);
}

describe('policy language: structure', () => {
  test('and binds tighter than or, not tighter than and', () => {
    assert.equal(shape('a:1 or b:2 and c:3'), '(a:1 or (b:2 and c:3))');
    assert.equal(shape('a:1 and b:2 or c:3'), '((a:1 and b:2) or c:3)');
    assert.equal(shape('a:1 and b:2 or c:3 and d:4'), '((a:1 and b:2) or (c:3 and d:4))');
    assert.equal(shape('not a:1 and b:2'), '(not a:1 and b:2)');
    assert.equal(shape('a:1 or not b:2 and c:3'), '(a:1 or (not b:2 and c:3))');
    assert.equal(shape('not not a:1'), 'not not a:1');
  });

  test('parentheses group, including when glued to checks', () => {
    assert.equal(shape('(a:1 or b:2) and c:3'), '((a:1 or b:2) and c:3)');
    assert.equal(shape('not (a:1 or b:2)'), 'not (a:1 or b:2)');
    assert.equal(shape('((a:1))'), 'a:1');
    // ')' inside %(...)s is part of the check, not a closing parenthesis.
    assert.equal(shape('(tenant_id:%(network:tenant_id)s)'), 'tenant_id:%(network:tenant_id)s');
  });

  test('keywords are case-insensitive; runs of the same operator flatten', () => {
    assert.equal(shape('a:1 OR b:2 Or c:3'), '(a:1 or b:2 or c:3)');
    assert.equal(shape('(a:1 or b:2) or c:3'), '(a:1 or b:2 or c:3)');
    assert.equal(shape('NOT a:1 AND b:2'), '(not a:1 and b:2)');
  });

  test('evaluation honours precedence', () => {
    // With and > or, "@ or ! and !" is true; left-to-right would give false.
    assert.equal(ev('@ or ! and !'), true);
    assert.equal(ev('(@ or !) and !'), false);
    assert.equal(ev('not ! and @'), true);
    assert.equal(ev('not (! or @)'), false);
    assert.equal(ev('! or not !'), true);
  });

  test('@, ! and the empty rule', () => {
    assert.equal(ev('@'), true);
    assert.equal(ev('!'), false);
    assert.equal(ev(''), true);
    assert.equal(ev('   '), true);
  });
});

describe('policy language: checks', () => {
  test('role: compares case-insensitively against credential roles', () => {
    assert.equal(ev('role:admin', {}, { roles: ['Admin'] }), true);
    assert.equal(ev('role:ADMIN', {}, { roles: ['admin'] }), true);
    assert.equal(ev('role:admin', {}, { roles: ['member', 'reader'] }), false);
    assert.equal(ev('role:admin', {}, {}), false);
    assert.equal(ev('role:%(wanted)s', { wanted: 'Reader' }, { roles: ['reader'] }), true);
    assert.equal(ev('role:%(wanted)s', {}, { roles: ['reader'] }), false);
  });

  test('generic %(attr)s substitution from the target', () => {
    const creds = { project_id: 'p1', user_id: 'u1' };
    assert.equal(ev('project_id:%(project_id)s', { project_id: 'p1' }, creds), true);
    assert.equal(ev('project_id:%(project_id)s', { project_id: 'p2' }, creds), false);
    assert.equal(ev('project_id:%(project_id)s', {}, creds), false, 'missing target key fails');
    // Parent-owner keys contain ':' and are taken whole.
    assert.equal(ev('tenant_id:%(network:tenant_id)s', { 'network:tenant_id': 'p1' }, { tenant_id: 'p1' }), true);
    assert.equal(ev('tenant_id:%(network:tenant_id)s', { 'network:tenant_id': 'p2' }, { tenant_id: 'p1' }), false);
    // Mixed literal and substitution text.
    assert.equal(ev('user_id:u-%(n)s', { n: 1 }, { user_id: 'u-1' }), true);
  });

  test('generic literal match and dotted credential paths', () => {
    assert.equal(ev('user_id:u1', {}, { user_id: 'u1' }), true);
    assert.equal(ev('user_id:u2', {}, { user_id: 'u1' }), false);
    assert.equal(ev('user.domain.id:%(d)s', { d: 'dom' }, { user: { domain: { id: 'dom' } } }), true);
    assert.equal(ev('user.domain.id:%(d)s', { d: 'dom' }, { user: {} }), false);
    // A list on the path matches if any element does.
    assert.equal(ev('groups.name:%(g)s', { g: 'ops' }, { groups: [{ name: 'dev' }, { name: 'ops' }] }), true);
    assert.equal(ev('roles:reader', {}, { roles: ['member', 'reader'] }), true);
    // Credential booleans compare as Python str(): "True".
    assert.equal(ev('is_admin:True', {}, { is_admin: true }), true);
    assert.equal(ev('is_admin:True', {}, { is_admin: false }), false);
  });

  test('null credentials never match (deliberate deviation from oslo)', () => {
    assert.equal(ev('project_id:%(project_id)s', { project_id: null }, { project_id: null }), false);
    assert.equal(ev('project_id:%(project_id)s', { project_id: 'None' }, { project_id: null }), false);
  });

  test('quoted and Python literal left sides compare with str() of the target value', () => {
    assert.equal(ev("'True':%(shared)s", { shared: true }), true);
    assert.equal(ev("'True':%(shared)s", { shared: false }), false);
    assert.equal(ev('True:%(shared)s', { shared: true }), true);
    assert.equal(ev('False:%(shared)s', { shared: false }), true);
    assert.equal(ev('True:%(shared)s', { shared: 'True' }), true);
    assert.equal(ev("'Member':%(role.name)s", { 'role.name': 'Member' }), true);
    assert.equal(ev('None:%(v)s', { v: null }), true);
    assert.equal(ev('42:%(v)s', { v: 42 }), true);
    assert.equal(ev('42:%(v)s', { v: '42' }), true);
    assert.equal(ev('1.5:%(v)s', { v: 1.5 }), true);
    assert.equal(ev('1.0:%(v)s', { v: '1.0' }), true);
  });

  test('field:collection:attr=value (Neutron FieldCheck)', () => {
    assert.equal(ev('field:networks:shared=True', { shared: true }), true);
    assert.equal(ev('field:networks:shared=True', { shared: false }), false);
    assert.equal(ev('field:networks:shared=False', { shared: false }), true);
    assert.equal(ev('field:networks:shared=True', {}), false);
    assert.equal(ev('field:networks:shared=True', { shared: null }), false);
    // The attribute may contain ':'.
    assert.equal(ev('field:networks:router:external=True', { 'router:external': true }), true);
    assert.equal(ev('field:networks:router:external=True', { 'router:external': false }), false);
    // Plain strings, numbers and '~regex' (anchored at the start, like re.match).
    assert.equal(ev('field:rbac_policy:target_tenant=*', { target_tenant: '*' }), true);
    assert.equal(ev('not field:rbac_policy:target_tenant=*', { target_tenant: 'p2' }), true);
    assert.equal(ev('field:networks:mtu=1500', { mtu: 1500 }), true);
    assert.equal(ev('field:port:device_owner=~^network:', { device_owner: 'network:dhcp' }), true);
    assert.equal(ev('field:port:device_owner=~network:', { device_owner: 'compute:network:x' }), false);
    assert.equal(ev('field:port:device_owner=~^network:', { device_owner: 'compute:nova' }), false);
  });

  test('rule: references resolve late; unknown names act as default', () => {
    const rules = resolverOf({ is_admin: 'role:admin', default: 'role:member' });
    assert.equal(ev('rule:is_admin', {}, { roles: ['admin'] }, rules), true);
    assert.equal(ev('rule:is_admin', {}, { roles: ['member'] }, rules), false);
    assert.equal(ev('rule:nope', {}, { roles: ['member'] }, rules), true);
    assert.equal(ev('not rule:is_admin', {}, { roles: [] }, rules), true);
  });

  test('legacy list-of-lists rules: outer or, inner and', () => {
    const rule = [['role:admin'], ['role:member', 'project_id:%(project_id)s']];
    const t = { project_id: 'p1' };
    const run = (creds: Creds) => compileRule(rule).evaluate(t, creds, noRules);
    assert.equal(run({ roles: ['admin'] }), true);
    assert.equal(run({ roles: ['member'], project_id: 'p1' }), true);
    assert.equal(run({ roles: ['member'], project_id: 'p2' }), false);
    assert.equal(compileRule([]).evaluate({}, {}, noRules), true);
    assert.equal(compileRule([[]]).evaluate({}, {}, noRules), false);
  });

  test('compiled rules are cached by text', () => {
    assert.equal(compileRule('role:admin or role:service'), compileRule('role:admin or role:service'));
  });
});

describe('policy language: errors', () => {
  const bad: Array<[string, RegExp]> = [
    ['role:admin and', /expected a check after "and"/],
    ['or role:admin', /unexpected "or" at start/],
    ['(role:admin or role:member', /missing "\)"/],
    ['role:admin)', /unexpected "\)"/],
    ['role:admin role:member', /missing "and"\/"or"/],
    ['not', /expected a check after "not"/],
    ['()', /unexpected "\)"/],
    ['admin', /"admin" is not a check/],
    ["'True'", /quoted string/],
    ['rule:', /needs a rule name/],
    ['field:networks:shared', /field:<collection>:<attribute>=<value>/],
    ['field:port:device_owner=~(', /bad regular expression/],
    ['project_id:%(project_id', /unterminated %\(/],
    ['project_id:%(project_id)d', /unsupported conversion/],
    ['project_id:100%', /bad substitution/],
  ];
  for (const [rule, why] of bad) {
    test(`rejects ${JSON.stringify(rule)}`, () => {
      assert.throws(
        () => parseRule(rule, 'my_rule'),
        (e: unknown) => {
          assert.ok(e instanceof PolicyRuleError);
          assert.equal(e.ruleName, 'my_rule');
          assert.equal(e.ruleText, rule);
          assert.match(e.message, /^policy rule "my_rule": /);
          assert.match(e.message, why);
          return true;
        },
      );
    });
  }
});

// Requests for the fuzz suite, generated with fast-check from the resource definitions: for every
// collection, its operations; for every attribute, what its definition says (allowPost/allowPut,
// filter, sort key, its default's type) drawn from values seen in the database (valid ones),
// boundary values and wrong types. The suite (test/api/fuzz.test.ts) sends them and checks the
// answers.
import fc from 'fast-check';
import type { AttributeDef, ResourceDef } from '../../src/core/definition.js';
import { addressScopeDef } from '../../src/definitions/address-scope.js';
import { agentDef } from '../../src/definitions/agent.js';
import { availabilityZoneDef } from '../../src/definitions/availability-zone.js';
import { floatingipDef } from '../../src/definitions/floatingip.js';
import { meteringLabelDef, meteringLabelRuleDef } from '../../src/definitions/metering.js';
import { networkIpAvailabilityDef } from '../../src/definitions/network-ip-availability.js';
import { networkDef } from '../../src/definitions/network.js';
import { portDef } from '../../src/definitions/port.js';
import * as qos from '../../src/definitions/qos.js';
import { RBAC_OBJECT_TYPES, rbacPolicyDef } from '../../src/definitions/rbac-policy.js';
import { routerDef } from '../../src/definitions/router.js';
import { securityGroupDef, securityGroupRuleDef } from '../../src/definitions/security-group.js';
import { segmentDef } from '../../src/definitions/segment.js';
import { subnetDef } from '../../src/definitions/subnet.js';
import { subnetpoolDef } from '../../src/definitions/subnetpool.js';
import { trunkDef } from '../../src/definitions/trunk.js';
import type { Caller } from './server.js';

/** Every definition the server may serve (those of extensions not loaded answer 404, which is fine). */
export const ALL_DEFS: ResourceDef[] = [
  networkDef,
  subnetDef,
  portDef,
  subnetpoolDef,
  addressScopeDef,
  routerDef,
  floatingipDef,
  securityGroupDef,
  securityGroupRuleDef,
  agentDef,
  availabilityZoneDef,
  networkIpAvailabilityDef,
  meteringLabelDef,
  meteringLabelRuleDef,
  segmentDef,
  trunkDef,
  rbacPolicyDef(RBAC_OBJECT_TYPES),
  qos.qosPolicyDef,
  qos.qosRuleTypeDef,
  ...qos.RULE_SPECS.flatMap((spec) => [qos.qosRuleDef(spec), qos.qosRuleAliasDef(spec)]),
];

/**
 * Routes plugins declare beyond the collections (ApiRoute): `{collection}` stands for an id of
 * that collection, `{project}` for a project, `{host}` for a host name.
 */
const PLUGIN_ROUTES: ReadonlyArray<readonly ['GET' | 'POST' | 'PUT' | 'DELETE', string]> = [
  ['GET', '/v2.0/networks/{networks}/dhcp-agents'],
  ['GET', '/v2.0/routers/{routers}/l3-agents'],
  ['GET', '/v2.0/agents/{agents}/dhcp-networks'],
  ['POST', '/v2.0/agents/{agents}/dhcp-networks'],
  ['DELETE', '/v2.0/agents/{agents}/dhcp-networks/{networks}'],
  ['GET', '/v2.0/agents/{agents}/l3-routers'],
  ['POST', '/v2.0/agents/{agents}/l3-routers'],
  ['DELETE', '/v2.0/agents/{agents}/l3-routers/{routers}'],
  ['GET', '/v2.0/service-providers'],
  ['GET', '/v2.0/quotas'],
  ['GET', '/v2.0/quotas/tenant'],
  ['GET', '/v2.0/quotas/project'],
  ['GET', '/v2.0/quotas/{project}'],
  ['PUT', '/v2.0/quotas/{project}'],
  ['DELETE', '/v2.0/quotas/{project}'],
  ['GET', '/v2.0/quotas/{project}/default'],
  ['GET', '/v2.0/quotas/{project}/details'],
  ['GET', '/v2.0/ports/{ports}/bindings'],
  ['POST', '/v2.0/ports/{ports}/bindings'],
  ['GET', '/v2.0/ports/{ports}/bindings/{host}'],
  ['DELETE', '/v2.0/ports/{ports}/bindings/{host}'],
  ['PUT', '/v2.0/ports/{ports}/bindings/{host}/activate'],
  ['GET', '/v2.0/extensions/{alias}'],
];

/** What the database held when the run started: per collection, its ids and the values of each attribute. */
export interface Seen {
  ids: Record<string, string[]>;
  values: Record<string, Record<string, unknown[]>>;
  /** A parent id for each sub-resource collection (its parentPath). */
  parents: Record<string, string[]>;
}

export interface FuzzRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  /** A JSON text (possibly malformed on purpose), or undefined for no body. */
  body?: string;
  as: Caller;
}

const INT_BOUNDARIES = [
  0,
  1,
  -1,
  67,
  68,
  255,
  256,
  4094,
  4095,
  4096,
  9000,
  65535,
  65536,
  16777215,
  16777216,
  2 ** 31 - 1,
  2 ** 31,
  -(2 ** 31),
  -(2 ** 31) - 1,
  2 ** 32,
  2 ** 53 - 1,
  2 ** 53,
  -(2 ** 53),
  2 ** 63,
  -(2 ** 63),
  2 ** 64,
  0.5,
  1.5,
  -0,
  1e308,
];
/** Integers beyond a double's precision, written into the JSON text as they are. */
const BIG_INT_TEXTS = ['9223372036854775807', '9223372036854775808', '-9223372036854775809', '18446744073709551616', '99999999999999999999999'];

const SPECIAL_STRINGS = [
  '',
  ' ',
  'a'.repeat(255),
  'a'.repeat(256),
  // Astral characters: one code point (Neutron's length) but two UTF-16 units.
  '😀'.repeat(255),
  '😀'.repeat(256),
  'é'.repeat(256),
  'x\u0000y',
  '\u0000',
  '\u0001\u001f\u007f\u0085',
  '\t\r\n',
  '\ud800',
  'a\udc00b',
  '\ufeff\u200b',
  'null',
  'None',
  'true',
  '0',
  '-1',
  '1.5',
  'a\'b"c\\d',
  '%00',
  '%',
  '../..',
  ',',
  'a,b',
  '*',
  'admin',
  'x'.repeat(5000),
];

const IPISH = [
  '10.0.0.1',
  '10.77.0.5',
  '10.77.0.0/24',
  '0.0.0.0',
  '0.0.0.0/0',
  '255.255.255.255',
  '300.1.1.1',
  '10.0.0.0/33',
  '::',
  '::1',
  '::/0',
  '2001:db8::1',
  '2001:db8:77::/64',
  '2001:db8::/129',
  'fe80::1%eth0',
  '1.2.3.4/24',
];
const MACISH = ['fa:16:3e:00:00:01', 'FA-16-3E-00-00-02', '00:00:00:00:00:00', 'ff:ff:ff:ff:ff:ff', '01:00:5e:00:00:01', 'fa:16:3e:zz:00:01'];
const ENUMISH = [
  'ingress',
  'egress',
  'IPv4',
  'IPv6',
  'tcp',
  'udp',
  'icmp',
  'icmpv6',
  '6',
  '255',
  'any',
  'vxlan',
  'vlan',
  'flat',
  'local',
  'geneve',
  'physnet1',
  'flat1',
  'slaac',
  'dhcpv6-stateful',
  'dhcpv6-stateless',
  'normal',
  'direct',
  'baremetal',
  'network:router_interface',
  'network:dhcp',
  'compute:nova',
  'access_as_shared',
  'access_as_external',
  'network',
  'qos_policy',
  'ACTIVE',
  'DOWN',
];

const DICT_KEYS = [
  'ip_address',
  'subnet_id',
  'mac_address',
  'opt_name',
  'opt_value',
  'ip_version',
  'destination',
  'nexthop',
  'start',
  'end',
  'network_id',
  'enable_snat',
  'external_fixed_ips',
  'port_id',
  'segmentation_type',
  'segmentation_id',
  'provider:network_type',
  'provider:physical_network',
  'provider:segmentation_id',
  'cidr',
  'x',
];

/** Nesting beyond what any body may hold (api/body.ts MAX_BODY_DEPTH). */
const deepText = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

/** A value as JSON text: most are JSON.stringify'd, some are raw texts (huge integers, deep nesting). */
type JsonText = { text: string };
const raw = (text: string): JsonText => ({ text });
const json = (v: unknown): JsonText => ({ text: JSON.stringify(v) });

function pick<T>(items: readonly T[]): fc.Arbitrary<T> {
  return fc.constantFrom(...items);
}

export class RequestModel {
  private readonly defs: ResourceDef[];
  private readonly allIds: string[];

  constructor(
    private readonly seen: Seen,
    served: ResourceDef[],
  ) {
    this.defs = served;
    this.allIds = Object.values(seen.ids).flat();
  }

  /** Any of: a list, show, create (single or bulk), update or delete of any served collection, or a malformed body. */
  request(): fc.Arbitrary<FuzzRequest> {
    const caller = fc.constantFrom<Caller>(
      { project: 'admin-project', roles: 'admin,member,reader', user: 'admin-user' },
      { project: 'project-alice', roles: 'member,reader', user: 'alice' },
      { project: 'project-bob', roles: 'reader', user: 'bob' },
    );
    const perDef = [...this.defs.map((def) => this.forDef(def)), this.pluginRoute()];
    return fc.tuple(fc.oneof(...perDef), caller).map(([r, as]) => ({ ...r, as }));
  }

  private forDef(def: ResourceDef): fc.Arbitrary<Omit<FuzzRequest, 'as'>> {
    const ops = new Set(def.operations ?? ['list', 'create', 'show', 'update', 'delete']);
    const base = this.basePath(def);
    const arbs: Array<fc.WeightedArbitrary<Omit<FuzzRequest, 'as'>>> = [];
    if (ops.has('list'))
      arbs.push({ weight: 4, arbitrary: fc.tuple(base, this.query(def)).map(([b, q]) => ({ method: 'GET' as const, path: b + q })) });
    if (ops.has('show')) {
      arbs.push({
        weight: 2,
        arbitrary: fc.tuple(base, this.id(def), this.fieldsQuery(def)).map(([b, id, q]) => ({ method: 'GET' as const, path: `${b}/${id}${q}` })),
      });
    }
    if (ops.has('create')) {
      arbs.push({ weight: 5, arbitrary: fc.tuple(base, this.createBody(def)).map(([b, body]) => ({ method: 'POST' as const, path: b, body })) });
    }
    if (ops.has('update')) {
      arbs.push({
        weight: 4,
        arbitrary: fc.tuple(base, this.id(def), this.updateBody(def)).map(([b, id, body]) => ({ method: 'PUT' as const, path: `${b}/${id}`, body })),
      });
    }
    if (ops.has('delete')) {
      arbs.push({ weight: 1, arbitrary: fc.tuple(base, this.id(def)).map(([b, id]) => ({ method: 'DELETE' as const, path: `${b}/${id}` })) });
    }
    for (const a of def.memberActions ?? []) {
      arbs.push({
        weight: 1,
        arbitrary: fc.tuple(base, this.id(def), this.dictText(def)).map(([b, id, body]) => ({
          method: (a.method === 'get' ? 'GET' : 'PUT') as 'GET' | 'PUT',
          path: `${b}/${id}/${a.name}`,
          body: a.method === 'get' ? undefined : body,
        })),
      });
    }
    if (def.taggable) {
      arbs.push({
        weight: 1,
        arbitrary: fc
          .tuple(base, this.id(def), this.string(), fc.constantFrom<'PUT' | 'DELETE' | 'GET'>('PUT', 'DELETE', 'GET'))
          .map(([b, id, tag, method]) => ({ method, path: `${b}/${id}/tags/${encodeSegment(tag)}` })),
      });
      arbs.push({
        weight: 1,
        arbitrary: fc
          .tuple(base, this.id(def), fc.array(this.value(), { maxLength: 4 }))
          .map(([b, id, tags]) => ({ method: 'PUT' as const, path: `${b}/${id}/tags`, body: `{"tags": [${tags.map((t) => t.text).join(', ')}]}` })),
      });
    }
    return fc.oneof(...arbs);
  }

  /** A plugin route (PLUGIN_ROUTES) with ids filled in, a query string and a body of any keys. */
  private pluginRoute(): fc.Arbitrary<Omit<FuzzRequest, 'as'>> {
    return pick(PLUGIN_ROUTES).chain(([method, template]) => {
      const parts = template.split(/(\{[a-z_]+\})/).map((part) => {
        const m = /^\{([a-z_]+)\}$/.exec(part);
        if (!m) return fc.constant(part);
        const kind = m[1]!;
        if (kind === 'project') return fc.oneof(pick(['project-alice', 'admin-project', 'x']), this.string().map(encodeSegment));
        if (kind === 'host' || kind === 'alias') return fc.oneof(pick(['host-a', 'router', 'x']), this.string().map(encodeSegment));
        const own = this.seen.ids[kind] ?? [];
        return own.length ? fc.oneof({ weight: 4, arbitrary: pick(own) }, { weight: 1, arbitrary: fc.uuid() }) : fc.uuid();
      });
      const body = method === 'POST' || method === 'PUT' ? this.routeBody() : fc.constant(undefined);
      return fc.tuple(fc.tuple(...parts), this.fieldsQuery(networkDef), body).map(([p, q, b]) => ({ method, path: p.join('') + q, body: b }));
    });
  }

  /** A plugin route's body: a dict of known keys (quota, binding, agent scheduling) or malformed. */
  private routeBody(): fc.Arbitrary<string> {
    const keys = ['quota', 'binding', 'network_id', 'router_id', 'host', 'vnic_type', 'profile', 'network', 'port', 'subnet', 'router'];
    const inner = fc
      .dictionary(
        pick([...keys, ...DICT_KEYS]),
        this.value().map((v) => v.text),
        { maxKeys: 3 },
      )
      .map((d) => objectText(d).text);
    return fc.oneof(
      fc.tuple(pick(keys), inner).map(([k, v]) => `{${JSON.stringify(k)}: ${v}}`),
      fc
        .dictionary(
          pick([...keys, ...DICT_KEYS]),
          this.value().map((v) => v.text),
          { maxKeys: 3 },
        )
        .map((d) => objectText(d).text),
      pick(['', '{', 'null', '[]', `{"quota": ${deepText(20000)}}`, '{"quota": {"network": 99999999999999999999}}', '{"quota": {"port": -2}}']),
    );
  }

  /** The collection's URL, under a known parent for sub-resources. */
  private basePath(def: ResourceDef): fc.Arbitrary<string> {
    const path = def.path ?? def.collection;
    if (!def.parentPath) return fc.constant(`/v2.0/${path}`);
    const parents = this.seen.parents[def.collection] ?? [];
    return fc
      .oneof(pick(parents.length ? parents : ['00000000-0000-0000-0000-000000000000']), fc.uuid())
      .map((p) => `/v2.0/${def.parentPath}/${p}/${path}`);
  }

  /** An id of the collection (mostly), of another one, random or junk. */
  private id(def: ResourceDef): fc.Arbitrary<string> {
    const own = this.seen.ids[def.collection] ?? [];
    const arbs: Array<fc.WeightedArbitrary<string>> = [
      { weight: 1, arbitrary: fc.uuid() },
      { weight: 1, arbitrary: pick(['x', 'a'.repeat(99), 'a'.repeat(101), '%20', '😀', '..', 'ID']).map(encodeSegment) },
    ];
    if (own.length) arbs.push({ weight: 8, arbitrary: pick(own) });
    if (this.allIds.length) arbs.push({ weight: 1, arbitrary: pick(this.allIds) });
    return fc.oneof(...arbs);
  }

  private string(): fc.Arbitrary<string> {
    return fc.oneof(
      { weight: 3, arbitrary: pick(SPECIAL_STRINGS) },
      { weight: 2, arbitrary: fc.string({ maxLength: 30 }) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
      { weight: 2, arbitrary: pick([...IPISH, ...MACISH, ...ENUMISH]) },
    );
  }

  /** Any JSON value: boundaries, wrong types, deep nesting and huge arrays. */
  private value(): fc.Arbitrary<JsonText> {
    const scalars: fc.Arbitrary<JsonText> = fc.oneof(
      { weight: 4, arbitrary: this.string().map(json) },
      { weight: 2, arbitrary: pick(INT_BOUNDARIES).map(json) },
      { weight: 1, arbitrary: pick(BIG_INT_TEXTS).map(raw) },
      { weight: 1, arbitrary: fc.integer().map(json) },
      { weight: 2, arbitrary: pick<unknown>([null, true, false, {}, [], 'True', 'false', 1, 0]).map(json) },
      { weight: 2, arbitrary: this.seenValue() },
    );
    return fc.oneof(
      { weight: 12, arbitrary: scalars },
      { weight: 2, arbitrary: fc.array(scalars, { maxLength: 4 }).map((l) => raw(`[${l.map((x) => x.text).join(', ')}]`)) },
      { weight: 3, arbitrary: this.dictListText(scalars) },
      {
        weight: 1,
        arbitrary: fc
          .dictionary(
            pick(DICT_KEYS),
            scalars.map((x) => x.text),
            { maxKeys: 4 },
          )
          .map(objectText),
      },
      { weight: 1, arbitrary: pick([40, 20000]).map((d) => raw(deepText(d))) },
      { weight: 1, arbitrary: fc.constant(raw(`[${Array(20000).fill('"x"').join(',')}]`)) },
      { weight: 1, arbitrary: fc.constant(raw(`[${Array(5000).fill('{"ip_address": "10.77.0.9"}').join(',')}]`)) },
    );
  }

  /** A list of dicts such as fixed_ips, allocation_pools, segments, sub_ports. */
  private dictListText(scalars: fc.Arbitrary<JsonText>): fc.Arbitrary<JsonText> {
    const entry = fc.dictionary(
      pick(DICT_KEYS),
      fc.oneof(
        scalars.map((x) => x.text),
        this.knownId().map((id) => JSON.stringify(id)),
      ),
      {
        maxKeys: 3,
      },
    );
    return fc.array(entry, { maxLength: 3 }).map((l) =>
      raw(
        `[${l
          .map(objectText)
          .map((t) => t.text)
          .join(', ')}]`,
      ),
    );
  }

  private knownId(): fc.Arbitrary<string> {
    return this.allIds.length ? pick(this.allIds) : fc.uuid();
  }

  /** A value the database holds for some attribute (valid somewhere, maybe not here). */
  private seenValue(): fc.Arbitrary<JsonText> {
    const all = Object.values(this.seen.values).flatMap((byAttr) => Object.values(byAttr).flat());
    return all.length ? pick(all).map(json) : fc.constant(json(null));
  }

  /** A value for `attr`: mostly one seen for that attribute (valid), else anything. */
  private valueFor(def: ResourceDef, attr: string, a: AttributeDef): fc.Arbitrary<JsonText> {
    const seen = this.seen.values[def.collection]?.[attr] ?? [];
    // Mostly valid values (one invalid attribute already makes the whole body a 400).
    const arbs: Array<fc.WeightedArbitrary<JsonText>> = [{ weight: 2, arbitrary: this.value() }];
    if (seen.length) arbs.push({ weight: 10, arbitrary: pick(seen).map(json) });
    if (attr.endsWith('_id') || attr.endsWith('_ids'))
      arbs.push({ weight: 2, arbitrary: this.knownId().map((id) => json(attr.endsWith('_ids') ? [id] : id)) });
    if (typeof a.default === 'boolean') arbs.push({ weight: 1, arbitrary: fc.boolean().map(json) });
    if (typeof a.default === 'number') arbs.push({ weight: 1, arbitrary: pick(INT_BOUNDARIES).map(json) });
    return fc.oneof(...arbs);
  }

  private attrsBody(def: ResourceDef, allowed: (a: AttributeDef) => boolean, required: string[]): fc.Arbitrary<string> {
    const names = Object.entries(def.attributes)
      .filter(([, a]) => allowed(a))
      .map(([n]) => n);
    const chosen = fc.subarray(names, { maxLength: Math.min(6, names.length) }).map((l) => [...new Set([...required, ...l])]);
    return chosen.chain((attrs) =>
      fc
        .tuple(
          ...attrs.map((n) => this.valueFor(def, n, def.attributes[n]!)),
          // Now and then an attribute that may not be given.
          fc.oneof(
            { weight: 12, arbitrary: fc.constant<string[]>([]) },
            { weight: 1, arbitrary: pick(['unknown_attribute', 'id', 'status', 'created_at']).map((x) => [x]) },
          ),
        )
        .map((parts) => {
          const extras = parts[parts.length - 1] as string[]; // (not pop(): fast-check shrinks this very array)
          const entries = attrs.map((n, i) => `${JSON.stringify(n)}: ${(parts[i] as JsonText).text}`);
          for (const e of extras) entries.push(`${JSON.stringify(e)}: "x"`);
          return `{${entries.join(', ')}}`;
        }),
    );
  }

  private createBody(def: ResourceDef): fc.Arbitrary<string> {
    const required = Object.entries(def.attributes)
      .filter(([n, a]) => a.allowPost && !('default' in a) && !a.defaultFn && n !== 'tenant_id' && n !== 'project_id')
      .map(([n]) => n);
    const item = this.attrsBody(def, (a) => a.allowPost, required);
    return fc.oneof(
      { weight: 8, arbitrary: item.map((b) => `{${JSON.stringify(def.name)}: ${b}}`) },
      { weight: 2, arbitrary: fc.array(item, { minLength: 1, maxLength: 3 }).map((l) => `{${JSON.stringify(def.collection)}: [${l.join(', ')}]}`) },
      { weight: 1, arbitrary: this.malformedBody(def) },
    );
  }

  private updateBody(def: ResourceDef): fc.Arbitrary<string> {
    return fc.oneof(
      { weight: 8, arbitrary: this.attrsBody(def, (a) => a.allowPut, []).map((b) => `{${JSON.stringify(def.name)}: ${b}}`) },
      { weight: 1, arbitrary: this.malformedBody(def) },
    );
  }

  /** A body for a member action: a dict of any keys. */
  private dictText(def: ResourceDef): fc.Arbitrary<string> {
    return fc.oneof(
      fc
        .dictionary(
          pick([...DICT_KEYS, ...Object.keys(def.attributes)]),
          this.value().map((v) => v.text),
          { maxKeys: 3 },
        )
        .map((d) => objectText(d).text),
      this.malformedBody(def),
    );
  }

  private malformedBody(def: ResourceDef): fc.Arbitrary<string> {
    return pick([
      '',
      'null',
      '[]',
      '{',
      '"x"',
      '{}',
      `{${JSON.stringify(def.name)}: null}`,
      `{${JSON.stringify(def.name)}: []}`,
      `{${JSON.stringify(def.name)}: "x"}`,
      `{${JSON.stringify(def.collection)}: []}`,
      `{${JSON.stringify(def.collection)}: {}}`,
      `{${JSON.stringify(def.collection)}: [null, 1]}`,
      `{${JSON.stringify(def.name)}: ${deepText(20000)}}`,
      `{${JSON.stringify(def.name)}: {"name": "\\u0000"}}`,
      `{${JSON.stringify(def.name)}: {"name": "\\ud800"}}`,
      `{${JSON.stringify(def.name)}: {"\\u0000": 1}}`,
    ]);
  }

  /** A list's query string: filters, tag filters, sorting, fields and pagination. */
  private query(def: ResourceDef): fc.Arbitrary<string> {
    const attrs = Object.entries(def.attributes);
    const filterNames = attrs.filter(([, a]) => a.filter).map(([n]) => n);
    const sortNames = attrs.filter(([, a]) => a.sortKey).map(([n]) => n);
    const allNames = attrs.map(([n]) => n);
    const filterValue = (n: string) =>
      fc.oneof(
        this.string(),
        pick(INT_BOUNDARIES.map(String)),
        pick(BIG_INT_TEXTS),
        (this.seen.values[def.collection]?.[n] ?? []).length ? pick(this.seen.values[def.collection]![n]!.map(queryText)) : this.string(),
      );
    const filter = fc
      .oneof({ weight: 5, arbitrary: pick(filterNames.length ? filterNames : ['name']) }, { weight: 1, arbitrary: pick(allNames) })
      .chain((n) => filterValue(n).map((v) => [n, v] as [string, string]));
    const tagFilter = fc.tuple(pick(['tags', 'tags-any', 'not-tags', 'not-tags-any']), this.string());
    const sort = fc.tuple(
      fc.oneof({ weight: 4, arbitrary: pick(sortNames.length ? sortNames : ['id']) }, { weight: 1, arbitrary: pick(allNames) }),
      pick(['asc', 'desc', 'ASC', 'up', '']),
    );
    const own = this.seen.ids[def.collection] ?? [];
    const marker = fc.oneof(own.length ? pick(own) : fc.uuid(), fc.uuid(), this.string());
    const params = fc.record(
      {
        filters: fc.array(filter, { maxLength: 3 }),
        tags: fc.array(tagFilter, { maxLength: 1 }),
        sorts: fc.array(sort, { maxLength: 2 }),
        fields: fc.array(fc.oneof({ weight: 5, arbitrary: pick(allNames) }, { weight: 1, arbitrary: this.string() }), { maxLength: 3 }),
        limit: pick(['1', '2', '0', '-1', 'abc', '1.5', '2147483647', '2147483648', '9223372036854775808', '99999999999999999999999']),
        marker,
        pageReverse: pick(['true', 'false', 'True', 'x']),
      },
      { requiredKeys: ['filters'] },
    );
    return params.map((p) => {
      const u = new URLSearchParams();
      for (const [k, v] of [...p.filters, ...(p.tags ?? [])]) u.append(k, v);
      for (const [k, d] of p.sorts ?? []) {
        u.append('sort_key', k);
        u.append('sort_dir', d);
      }
      for (const f of p.fields ?? []) u.append('fields', f);
      if (p.limit !== undefined) u.append('limit', p.limit);
      if (p.marker !== undefined) u.append('marker', p.marker);
      if (p.pageReverse !== undefined) u.append('page_reverse', p.pageReverse);
      const qs = u.toString();
      return qs ? `?${qs}` : '';
    });
  }

  private fieldsQuery(def: ResourceDef): fc.Arbitrary<string> {
    return fc
      .array(pick([...Object.keys(def.attributes), 'nope']), { maxLength: 2 })
      .map((f) => (f.length ? `?${f.map((x) => `fields=${encodeSegment(x)}`).join('&')}` : ''));
  }
}

/** encodeURIComponent, but a lone surrogate goes as its (ill-formed) 3-byte UTF-8 form, as a careless client would send it. */
function encodeSegment(s: string): string {
  return s
    .split(/(\p{Cs})/u)
    .map((part) => {
      if (!/^\p{Cs}$/u.test(part)) return encodeURIComponent(part);
      const c = part.charCodeAt(0);
      return [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
    })
    .join('');
}

function objectText(d: Record<string, string>): JsonText {
  return raw(
    `{${Object.entries(d)
      .map(([k, v]) => `${JSON.stringify(k)}: ${v}`)
      .join(', ')}}`,
  );
}

/** A seen value as a query-string value (booleans and numbers as text, lists and dicts as JSON). */
function queryText(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

// The OpenAPI 3.1 document: it validates (@readme/openapi-parser), `neutrino openapi` prints what
// the server serves, and a test generated from it calls every path and method of a running
// server (SQLite) with the document's example bodies, and gets no 5xx. Resources are created
// first (in dependency order, ids of earlier ones filling the *_id attributes), then every read,
// update and action, then the deletes, so that most calls reach a real object.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { validate } from '@readme/openapi-parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { BACKENDS } from '../helpers/backends.js';
import { ADMIN, startServer, type TestServer } from '../helpers/server.js';

type Schema = { type?: unknown; properties?: Record<string, Schema>; required?: string[]; examples?: unknown[]; format?: string; $ref?: string };
type Doc = {
  openapi: string;
  info: { version: string };
  paths: Record<string, Record<string, any>>;
  components: { schemas: Record<string, Schema> };
};

/** Which collection an attribute's id comes from. */
const ID_SOURCES: Record<string, string> = {
  network_id: '/v2.0/networks',
  floating_network_id: 'external',
  subnet_id: '/v2.0/subnets',
  port_id: '/v2.0/ports',
  router_id: '/v2.0/routers',
  security_group_id: '/v2.0/security-groups',
  remote_group_id: '/v2.0/security-groups',
  subnetpool_id: '/v2.0/subnetpools',
  address_scope_id: '/v2.0/address-scopes',
  qos_policy_id: '/v2.0/qos/policies',
  metering_label_id: '/v2.0/metering/metering-labels',
  segment_id: '/v2.0/segments',
  object_id: '/v2.0/networks',
};
/** Optional attributes worth sending too, beside the required ones and the name (the document's examples). */
const ALSO: Record<string, string[]> = {
  '/v2.0/subnets': ['cidr', 'ip_version'],
  '/v2.0/subnetpools': ['prefixes'],
  '/v2.0/floatingips': ['floating_network_id'],
  '/v2.0/metering/metering-label-rules': ['remote_ip_prefix'],
};
/** Values the definitions take as plain strings and the plugins check further (a CIDR). */
const VALUES: Record<string, unknown> = {
  cidr: '10.42.0.0/24',
  prefixes: ['10.50.0.0/16'],
  ip_version: 4,
  action: 'access_as_shared',
  network_type: 'vxlan',
  remote_ip_prefix: '10.0.0.0/24',
};
/** Creates that need others first; the rest follow in path order. */
const CREATE_ORDER = [
  '/v2.0/networks',
  '/v2.0/address-scopes',
  '/v2.0/subnetpools',
  '/v2.0/subnets',
  '/v2.0/security-groups',
  '/v2.0/ports',
  '/v2.0/routers',
  '/v2.0/qos/policies',
  '/v2.0/metering/metering-labels',
];

describe('OpenAPI document', () => {
  let s: TestServer;
  let doc: Doc;
  const ids = new Map<string, string>();
  const calls: Array<{ method: string; path: string; status: number; body: unknown }> = [];

  before(async () => {
    s = await startServer(BACKENDS[0]!);
    const r = await s.req('GET', '/v2.0/openapi.json', undefined, ADMIN);
    assert.equal(r.status, 200);
    doc = r.body;
  });
  after(() => s?.stop());

  it('is a valid OpenAPI 3.1 document carrying the package version, every collection and extension served', async () => {
    assert.equal(doc.openapi, '3.1.0');
    const result = await validate(structuredClone(doc) as never);
    assert.ok(result.valid, JSON.stringify(!result.valid && result.errors.slice(0, 5), null, 1));
    const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    assert.equal(doc.info.version, version);
    for (const c of ['networks', 'subnets', 'ports', 'routers', 'floatingips', 'security-groups', 'trunks', 'qos/policies', 'rbac-policies']) {
      assert.ok(doc.paths[`/v2.0/${c}`]?.get, `${c} listed`);
    }
    assert.ok(doc.paths['/v2.0/routers/{id}/add_router_interface']?.put, 'member actions');
    assert.ok(doc.paths['/v2.0/quotas/{project}']?.put, "plugins' routes");
    const extensions = (await s.req('GET', '/v2.0/extensions', undefined, ADMIN)).body.extensions.map((e: { alias: string }) => e.alias);
    assert.deepEqual((doc.components.schemas.Extension!.properties!.alias as { enum: string[] }).enum.sort(), extensions.sort());
    // Attributes come with their filters, and their types from the validators.
    const listNetworks = doc.paths['/v2.0/networks']!.get.parameters.map((p: { name: string }) => p.name);
    assert.ok(listNetworks.includes('router:external') && listNetworks.includes('sort_key') && listNetworks.includes('tags-any'));
    const port = doc.components.schemas.PortCreate!;
    assert.deepEqual(port.required, ['network_id']);
    assert.equal(port.properties!.admin_state_up!.type, 'boolean');
    assert.equal(port.properties!.network_id!.format, 'uuid');
    assert.equal((port.properties!.name as { maxLength?: number }).maxLength, 255);
    assert.ok(doc.components.schemas.NeutronError);
  });

  it('`neutrino openapi` prints the same paths for the same configuration', () => {
    const r = spawnSync(resolve('bin/neutrino'), ['openapi'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    assert.equal(r.status, 0, r.stderr);
    const printed = JSON.parse(r.stdout) as Doc;
    assert.deepEqual(Object.keys(printed.paths), Object.keys(doc.paths));
  });

  it('follows the loaded plugins: a service plugin left out brings none of its paths or attributes', async () => {
    const only = await startServer(BACKENDS[0]!, { DEFAULT: { service_plugins: 'router' } });
    try {
      const small = (await only.req('GET', '/v2.0/openapi.json', undefined, ADMIN)).body as Doc;
      assert.ok(small.paths['/v2.0/routers'], 'router kept');
      assert.equal(small.paths['/v2.0/trunks'], undefined, 'no trunk plugin, no trunks');
      assert.equal(small.paths['/v2.0/qos/policies'], undefined, 'no qos plugin, no policies');
      assert.equal(small.components.schemas.Network!.properties!.qos_policy_id, undefined, "no qos, no networks' qos_policy_id");
      assert.ok(doc.components.schemas.Network!.properties!.qos_policy_id, 'which the full server has');
    } finally {
      await only.stop();
    }
  });

  /** A value for one attribute: a live id when it names another resource, else the document's example. */
  function valueFor(name: string, schema: Schema): unknown {
    const source = ID_SOURCES[name];
    if (source && ids.has(source)) return ids.get(source);
    if (name in VALUES) return VALUES[name];
    if (schema.examples?.length) return schema.examples[0];
    if (schema.format === 'uuid') return randomUUID();
    return undefined;
  }

  function exampleBody(path: string, method: 'post' | 'put'): unknown {
    const op = doc.paths[path]![method];
    const schema = op.requestBody?.content?.['application/json']?.schema as Schema & { oneOf?: Schema[] };
    if (!schema) return undefined;
    const wrapper = schema.oneOf?.[0] ?? schema;
    const [key, inner] = Object.entries(wrapper.properties ?? {})[0] ?? [];
    if (!key || !inner?.$ref) return {};
    const target = doc.components.schemas[inner.$ref.split('/').pop()!]!;
    const item: Record<string, unknown> = {};
    for (const name of [...(target.required ?? []), 'name', ...(ALSO[path] ?? [])]) {
      const attr = target.properties?.[name];
      if (!attr) continue;
      const v = valueFor(name, attr);
      if (v !== undefined) item[name] = v;
    }
    return { [key]: item };
  }

  function fill(path: string): string {
    return path.replace(/\{(\w+)\}/g, (_m, p: string) => {
      const base = path.slice(0, path.indexOf(`{${p}}`) - 1);
      if (p === 'id' || p === 'parent_id') return ids.get(base) ?? randomUUID();
      if (p === 'alias') return 'router';
      if (p === 'tag') return 'blue';
      if (p === 'project') return ADMIN.project!;
      if (p === 'host') return 'host-1';
      return randomUUID();
    });
  }

  async function call(method: string, template: string, body?: unknown) {
    const path = fill(template);
    const r = await s.req(method.toUpperCase(), path, body, ADMIN, { accept: 'application/json' });
    calls.push({ method: method.toUpperCase(), path, status: r.status, body: r.body });
    return r;
  }

  it('every path and method of the document answers without a 5xx, with example bodies', async () => {
    const paths = Object.keys(doc.paths);
    // An external network with a subnet first, for floating IPs and router gateways.
    const ext = await s.req('POST', '/v2.0/networks', { network: { name: 'ext', 'router:external': true } }, ADMIN);
    assert.equal(ext.status, 201);
    ids.set('external', ext.body.network.id);
    await s.req('POST', '/v2.0/subnets', { subnet: { network_id: ext.body.network.id, cidr: '172.24.4.0/24', ip_version: 4 } }, ADMIN);

    const creates = paths
      .filter((p) => doc.paths[p]!.post && !p.endsWith('}'))
      .sort((a, b) => (CREATE_ORDER.indexOf(a) + 1 || 99) - (CREATE_ORDER.indexOf(b) + 1 || 99) || a.localeCompare(b));
    for (const p of creates) {
      const r = await call('post', p, exampleBody(p, 'post'));
      const created = r.body && typeof r.body === 'object' ? Object.values(r.body as object)[0] : undefined;
      if (r.status === 201 && created && typeof (created as { id?: unknown }).id === 'string') ids.set(p, (created as { id: string }).id);
    }
    for (const p of paths) {
      for (const method of ['get', 'head', 'put']) {
        if (!doc.paths[p]![method]) continue;
        await call(method, p, method === 'put' ? (exampleBody(p, 'put') ?? {}) : undefined);
      }
    }
    for (const p of paths.filter((q) => doc.paths[q]!.delete).reverse()) await call('delete', p);

    // 501 is Neutron's deliberate answer to an update a resource does not support (documented).
    const deliberate = (c: (typeof calls)[number]) =>
      (c.status === 501 && (c.body as { NeutronError?: { type?: string } })?.NeutronError?.type === 'NotImplementedError') ||
      (c.path === '/healthcheck' && c.status === 503);
    const failed = calls.filter((c) => c.status >= 500 && !deliberate(c));
    assert.deepEqual(failed, [], `${failed.length} of ${calls.length} calls failed`);
    const operations = paths.flatMap((p) => Object.keys(doc.paths[p]!).filter((k) => k !== 'parameters'));
    assert.ok(calls.length >= operations.length, `${calls.length} calls for ${operations.length} operations`);
    // Most creates reach the plugins and succeed: the example bodies are real bodies.
    for (const core of ['/v2.0/networks', '/v2.0/subnets', '/v2.0/ports', '/v2.0/routers', '/v2.0/security-groups']) {
      assert.ok(ids.has(core), `${core} created: ${JSON.stringify(calls.find((c) => c.path === core && c.method === 'POST'))}`);
    }
    // What the server answered fits what the document says it answers.
    const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
    ajv.addSchema({ $id: 'doc', components: doc.components });
    const misfits: string[] = [];
    let checked = 0;
    for (const c of calls.filter((x) => x.status === 200 || x.status === 201)) {
      const template = Object.keys(doc.paths).find((p) => new RegExp(`^${p.replace(/\{\w+\}/g, '[^/]+')}$`).test(c.path.split('?')[0]!));
      const schema = template && doc.paths[template]![c.method.toLowerCase()]?.responses?.[String(c.status)]?.content?.['application/json']?.schema;
      if (!schema) continue;
      const check = ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"doc#/components/')));
      checked++;
      if (!check(c.body)) misfits.push(`${c.method} ${c.path}: ${ajv.errorsText(check.errors)}`);
    }
    assert.deepEqual(misfits, [], `${misfits.length} of ${checked} answers do not fit the document`);
    const ok = calls.filter((c) => c.status < 300).length;
    console.log(`openapi: ${calls.length} calls, ${ok} 2xx, ${ids.size} of ${creates.length} creates succeeded`);
  });
});

// The OpenAPI 3.1 document of this server, generated from what it serves: every collection of a
// loaded plugin with its attributes (types probed from their validators, ./probe.ts), filters,
// sort keys, pagination and tag filters; member actions; the routes plugins declare; the
// versions, extensions, health and metrics endpoints; and Neutron's error body. Attributes of
// extensions that are not loaded are absent, as they are from the API.
import type { ApiRoute } from '../../core/api-route.js';
import type { AttributeDef, ResourceDef } from '../../core/definition.js';
import type { ExtensionInfo } from '../../definitions/extensions.js';
import { probeFilter, probeValidator, withNull, type JsonSchema } from './probe.js';

export interface OpenApiInput {
  resources: readonly ResourceDef[];
  extensions: readonly ExtensionInfo[];
  routes: readonly ApiRoute[];
  version: string;
  /** [metrics] enabled: whether /metrics is served. */
  metrics: boolean;
}

type Operation = Record<string, unknown>;
type PathItem = Record<string, Operation | unknown[]>;

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const errorRef = (description: string) => ({ description, content: { 'application/json': { schema: ref('NeutronError') } } });
const json = (schema: JsonSchema, description = 'OK') => ({ description, content: { 'application/json': { schema } } });
const pascal = (s: string) => s.replace(/(^|[_\-/])(\w)/g, (_m, _s, c: string) => c.toUpperCase());

/** Neutron's error statuses for each kind of operation (api/v2/base.py FAULT_MAP). */
function errors(kind: 'read' | 'list' | 'write' | 'create'): Record<string, unknown> {
  const out: Record<string, unknown> = { '401': errorRef('Authentication required (no or an invalid token).') };
  if (kind !== 'read') out['400'] = errorRef('Invalid input: a body, attribute, filter or query parameter was refused.');
  out['403'] = errorRef('The policy refuses this caller the action.');
  if (kind !== 'list') out['404'] = errorRef('No such resource, or the caller may not see it.');
  if (kind === 'write' || kind === 'create') out['409'] = errorRef('Conflict: in use, already exists, out of quota or addresses.');
  if (kind === 'write') {
    out['412'] = errorRef('If-Match: revision_number=N did not match.');
    out['501'] = errorRef("Not supported for this resource (Neutron's NotImplementedError).");
  }
  return out;
}

function attributeSchema(name: string, a: AttributeDef): JsonSchema {
  const probed = a.validate ? probeValidator(a.validate) : null;
  const schema: JsonSchema = { ...(probed?.schema ?? {}) };
  const notes: string[] = [];
  if (a.extension) notes.push(`From the ${a.extension} extension.`);
  if (a.enforcePolicy) notes.push('Policy may restrict who sets it.');
  if (notes.length) schema.description = [schema.description, ...notes].filter(Boolean).join(' ');
  const example = name.endsWith('_id') && probed?.schema && JSON.stringify(probed.schema).includes('uuid') ? undefined : probed?.example;
  if (example !== undefined) schema.examples = [example];
  if ('default' in a && isJson(a.default)) schema.default = a.default;
  return schema;
}

function isJson(v: unknown): boolean {
  return v === null || ['string', 'number', 'boolean'].includes(typeof v) || (typeof v === 'object' && JSON.stringify(v) !== undefined);
}

/**
 * The visible attributes as answers show them: one left unset on create (a null or "not
 * specified" default) reads null, whatever its validator takes.
 */
function shown(entries: Array<[string, AttributeDef]>): Record<string, JsonSchema> {
  const out: Record<string, JsonSchema> = {};
  for (const [n, a] of entries) {
    if (!a.visible) continue;
    let schema = attributeSchema(n, a);
    // Neutron shows some numbers as text (a subnet pool's prefix lengths): either form may come back.
    const types = [schema.type].flat();
    if (types.includes('integer')) {
      const { type: _type, minimum: _min, maximum: _max, ...rest } = schema;
      const alternatives: JsonSchema[] = [{ type: 'integer' }, { type: 'string', pattern: '^-?\\d+$' }];
      if (types.includes('null')) alternatives.push({ type: 'null' });
      schema = { ...rest, anyOf: alternatives };
    }
    const unset = 'default' in a && (a.default === null || typeof a.default === 'symbol');
    out[n] = unset && Object.keys(schema).some((k) => k === 'type' || k === 'enum' || k === 'anyOf') ? withNull(schema) : schema;
  }
  return out;
}

/** The resource as shown (visible attributes), as created (allowPost) and as updated (allowPut). */
function resourceSchemas(def: ResourceDef): Record<string, JsonSchema> {
  const entries = Object.entries(def.attributes);
  const props = (pick: (a: AttributeDef) => boolean) =>
    Object.fromEntries(entries.filter(([, a]) => pick(a)).map(([n, a]) => [n, attributeSchema(n, a)]));
  // Required on create: allowed, without a default, and not filled from the caller's project.
  const required = entries
    .filter(([n, a]) => a.allowPost && !('default' in a) && !a.defaultFn && n !== 'tenant_id' && n !== 'project_id')
    .map(([n]) => n);
  const base = pascal(def.parentPath ? `${def.parent?.resource ?? ''}_${def.name}` : def.name);
  const create: JsonSchema = { type: 'object', properties: props((a) => a.allowPost), additionalProperties: false };
  if (required.length) create.required = required;
  return {
    [base]: { type: 'object', properties: shown(entries) },
    [`${base}Create`]: create,
    [`${base}Update`]: { type: 'object', properties: props((a) => a.allowPut), additionalProperties: false },
  };
}

function listParameters(def: ResourceDef): unknown[] {
  const params: unknown[] = [
    { name: 'fields', in: 'query', schema: { type: 'array', items: { type: 'string' } }, explode: true, description: 'Attributes to return.' },
  ];
  for (const [name, a] of Object.entries(def.attributes)) {
    if (!a.filter) continue;
    params.push({
      name,
      in: 'query',
      schema: { type: 'array', items: probeFilter(a.filterConvert) },
      explode: true,
      description: 'Filter: any of the values.',
    });
  }
  const sortKeys = Object.entries(def.attributes)
    .filter(([, a]) => a.sortKey)
    .map(([n]) => n);
  if (sortKeys.length) {
    params.push({ name: 'sort_key', in: 'query', schema: { type: 'array', items: { enum: sortKeys } }, explode: true });
    params.push({ name: 'sort_dir', in: 'query', schema: { type: 'array', items: { enum: ['asc', 'desc'] } }, explode: true });
  }
  params.push(
    { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 0 } },
    { name: 'marker', in: 'query', schema: { type: 'string' }, description: 'The id of the last item of the previous page.' },
    { name: 'page_reverse', in: 'query', schema: { type: 'boolean' } },
  );
  if (def.taggable) {
    for (const t of ['tags', 'tags-any', 'not-tags', 'not-tags-any']) {
      params.push({ name: t, in: 'query', schema: { type: 'string' }, description: 'Comma-separated tags.' });
    }
  }
  return params;
}

const pathParam = (name: string) => ({ name, in: 'path', required: true, schema: { type: 'string' } });
const ifMatch = { name: 'If-Match', in: 'header', schema: { type: 'string', examples: ['revision_number=3'] } };

function collectionPaths(def: ResourceDef, activeExtensions: ReadonlySet<string>, paths: Record<string, PathItem>): void {
  const segment = def.path ?? def.collection;
  const base = def.parentPath ? `/v2.0/${def.parentPath}/{parent_id}/${segment}` : `/v2.0/${segment}`;
  const parentParams = def.parentPath ? [pathParam('parent_id')] : [];
  const name = pascal(def.parentPath ? `${def.parent?.resource ?? ''}_${def.name}` : def.name);
  const tag = def.parentPath ? `${def.parentPath.split('/')[0]}` : segment;
  const ops = new Set(def.operations ?? ['list', 'create', 'show', 'update', 'delete']);
  const one = (schema: string) => ({ type: 'object', properties: { [def.name]: ref(schema) }, required: [def.name] });
  const many = (schema: string) => ({
    type: 'object',
    properties: { [def.collection]: { type: 'array', items: ref(schema) } },
    required: [def.collection],
  });
  const collection: PathItem = {};
  if (parentParams.length) collection.parameters = parentParams;
  if (ops.has('list')) {
    collection.get = {
      tags: [tag],
      operationId: `list${name}s`,
      summary: `List ${def.collection}`,
      parameters: listParameters(def),
      responses: { '200': json(many(name)), ...errors('list') },
    };
  }
  if (ops.has('create')) {
    collection.post = {
      tags: [tag],
      operationId: `create${name}`,
      summary: `Create a ${def.name} (or several: a list under "${def.collection}", all or none)`,
      requestBody: { required: true, content: { 'application/json': { schema: { oneOf: [one(`${name}Create`), many(`${name}Create`)] } } } },
      responses: { '201': json({ oneOf: [one(name), many(name)] }, 'Created'), ...errors('create') },
    };
  }
  if (Object.keys(collection).length > (parentParams.length ? 1 : 0)) paths[base] = collection;

  const member: PathItem = { parameters: [...parentParams, pathParam('id')] };
  if (ops.has('show')) {
    member.get = {
      tags: [tag],
      operationId: `show${name}`,
      parameters: [{ name: 'fields', in: 'query', schema: { type: 'array', items: { type: 'string' } }, explode: true }],
      responses: { '200': json(one(name)), ...errors('read') },
    };
  }
  if (ops.has('update')) {
    member.put = {
      tags: [tag],
      operationId: `update${name}`,
      parameters: [ifMatch],
      requestBody: { required: true, content: { 'application/json': { schema: one(`${name}Update`) } } },
      responses: { '200': json(one(name)), ...errors('write') },
    };
  }
  if (ops.has('delete')) {
    member.delete = {
      tags: [tag],
      operationId: `delete${name}`,
      parameters: [ifMatch],
      responses: { '204': { description: 'Deleted' }, ...errors('write') },
    };
  }
  if (Object.keys(member).length > 1) paths[`${base}/{id}`] = member;

  for (const a of def.memberActions ?? []) {
    if (a.extension && !activeExtensions.has(a.extension)) continue;
    const method = a.method ?? 'put';
    const op: Operation = {
      tags: [tag],
      operationId: `${a.name.replace(/_(\w)/g, (_m, c: string) => c.toUpperCase())}${name}`,
      summary: `Member action ${a.name} of a ${def.name}`,
      responses: { '200': json({ type: 'object' }), ...errors('write') },
    };
    if (method === 'put') op.requestBody = { content: { 'application/json': { schema: { type: 'object' } } } };
    paths[`/v2.0/${segment}/{id}/${a.name}`] = { parameters: [pathParam('id')], [method]: op };
  }
}

/**
 * Two paths may differ only in `-` against `_` (a resource's own tag path and Neutron's tagging
 * path, /network-segment-ranges and /network_segment_ranges): the second gets a numbered id.
 */
function uniqueId(used: Set<string>, id: string): string {
  let out = id;
  for (let n = 2; used.has(out); n++) out = `${id}${n}`;
  used.add(out);
  return out;
}

function routePaths(routes: readonly ApiRoute[], paths: Record<string, PathItem>): void {
  const used = new Set<string>();
  for (const r of routes) {
    const params: string[] = [];
    const path = `/v2.0${r.path.replace(/:(\w+)/g, (_m, p: string) => (params.push(p), `{${p}}`))}`;
    const status = String(r.status ?? 200);
    const method = r.method.toLowerCase();
    const op: Operation = {
      tags: [r.path.split('/')[1] ?? 'other'],
      operationId: uniqueId(used, `${method}${pascal(r.path.replace(/:(\w+)/g, 'by_$1'))}`),
      responses: { [status]: status === '204' ? { description: 'Done' } : json({}), ...errors(method === 'get' ? 'read' : 'write') },
    };
    if (r.policy) op.description = `Checks the policy rule ${r.policy} first.`;
    if (method === 'post' || method === 'put') op.requestBody = { content: { 'application/json': { schema: { type: 'object' } } } };
    const item = (paths[path] ??= params.length ? { parameters: params.map(pathParam) } : {});
    item[method] = op;
  }
}

function fixedPaths(input: OpenApiInput): Record<string, PathItem> {
  const security = [{}]; // public: no token
  const paths: Record<string, PathItem> = {
    '/': { get: { tags: ['versions'], operationId: 'listVersions', security, responses: { '200': json({ type: 'object' }) } } },
    '/v2.0': { get: { tags: ['versions'], operationId: 'listCoreResources', responses: { '200': json({ type: 'object' }), ...errors('list') } } },
    '/v2.0/extensions': {
      get: {
        tags: ['extensions'],
        operationId: 'listExtensions',
        responses: { '200': json({ type: 'object', properties: { extensions: { type: 'array', items: ref('Extension') } } }), ...errors('list') },
      },
    },
    '/v2.0/extensions/{alias}': {
      parameters: [pathParam('alias')],
      get: {
        tags: ['extensions'],
        operationId: 'showExtension',
        responses: { '200': json({ type: 'object', properties: { extension: ref('Extension') } }), ...errors('read') },
      },
    },
    '/v2.0/openapi.json': {
      get: {
        tags: ['versions'],
        operationId: 'showOpenApi',
        summary: 'This document',
        responses: { '200': json({ type: 'object' }), ...errors('list') },
      },
    },
    '/healthcheck': {
      get: {
        tags: ['operations'],
        operationId: 'healthcheck',
        summary: "oslo.middleware's healthcheck: 200 when every backend is available, 503 with the reasons otherwise",
        security,
        responses: {
          '200': {
            description: 'Healthy',
            content: { 'text/plain': { schema: { type: 'string' } }, 'application/json': { schema: { type: 'object' } } },
          },
          '503': { description: 'A backend is unavailable', content: { 'text/plain': { schema: { type: 'string' } } } },
        },
      },
      head: {
        tags: ['operations'],
        operationId: 'healthcheckHead',
        security,
        responses: { '204': { description: 'Healthy' }, '503': { description: 'Unhealthy' } },
      },
    },
  };
  if (input.metrics) {
    paths['/metrics'] = {
      get: {
        tags: ['operations'],
        operationId: 'metrics',
        summary: 'Prometheus metrics (text exposition format)',
        security,
        responses: { '200': { description: 'Metrics', content: { 'text/plain': { schema: { type: 'string' } } } } },
      },
    };
  }
  return paths;
}

export function openApiDocument(input: OpenApiInput): Record<string, unknown> {
  const active = new Set(input.extensions.map((e) => e.alias));
  const paths = fixedPaths(input);
  const schemas: Record<string, JsonSchema> = {
    NeutronError: {
      type: 'object',
      required: ['NeutronError'],
      properties: {
        NeutronError: {
          type: 'object',
          required: ['type', 'message', 'detail'],
          properties: {
            type: { type: 'string', description: "Neutron's exception class name, e.g. NetworkNotFound.", examples: ['NetworkNotFound'] },
            message: { type: 'string' },
            detail: { type: 'string' },
          },
        },
      },
    },
    Extension: {
      type: 'object',
      properties: {
        alias: { enum: input.extensions.map((e) => e.alias) },
        name: { type: 'string' },
        description: { type: 'string' },
        updated: { type: 'string' },
        links: { type: 'array', items: { type: 'object' } },
      },
    },
  };
  for (const def of [...input.resources].sort((a, b) => a.collection.localeCompare(b.collection))) {
    Object.assign(schemas, resourceSchemas(def));
    collectionPaths(def, active, paths);
  }
  routePaths(input.routes, paths);
  return {
    openapi: '3.1.0',
    info: {
      title: 'neutrino: OpenStack Networking (Neutron) API v2.0',
      version: input.version,
      description: `Generated from the resource definitions of this server. Extensions loaded: ${[...active].sort().join(', ')}.`,
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: '/' }],
    security: [{ keystone: [] }],
    tags: [...new Set(Object.values(paths).flatMap((p) => Object.values(p).flatMap((o) => ((o as Operation).tags as string[]) ?? [])))]
      .sort()
      .map((name) => ({ name })),
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
    components: {
      schemas,
      securitySchemes: {
        keystone: { type: 'apiKey', in: 'header', name: 'X-Auth-Token', description: 'A Keystone token (none under auth_strategy = noauth).' },
      },
    },
  };
}

// The one generic collection controller (Neutron's api/v2/base.py Controller): body validation
// from the resource definition, policy (resource and attribute level), fields, 404-not-403 for
// what the caller may not see, If-Match revision checks. Plugins only see validated input.
import type { RequestContext } from '../core/context.js';
import type { AttributeDef, ResourceDef } from '../core/definition.js';
import { NOT_SPECIFIED } from '../definitions/common.js';
import type { PolicyEngine, PolicyCredentials } from '../policy/engine.js';
import { credentialsKey, credentialsOf } from '../policy/credentials.js';
import { badRequest, brief, policyNotAuthorized } from '../core/errors.js';
import { codePoints } from '../definitions/validators.js';
import { letOthersRun } from '../core/event-loop.js';
import type { ListQuery } from './query.js';
import type { Rec, ResourceHandler } from '../core/resource.js';

/** Callers whose seesEverything() answers are kept (then all are forgotten at once). */
const CALLER_CACHE_SIZE = 1000;

/** A bulk create's validation, policy checks and answer let other requests run every this many items. */
const YIELD_EVERY = 50;

/** [attribute, its get_<resource>:<attr> rule or null] to show, in definition order. */
type PresentPlan = ReadonlyArray<readonly [string, string | null]>;

export class CollectionController {
  readonly def: ResourceDef;
  private readonly attrs: Array<[string, AttributeDef]>;
  private readonly policyAttrs: Array<[string, AttributeDef]>;
  /** What Neutron's policy hook fetches before an update (fetch_resource's field list). */
  private readonly prefetchedKeys: string[];
  private fullPlan: PresentPlan | undefined;

  /** The resource's name in policy actions: a sub-resource's is prefixed by its parent's (get_policy_dscp_marking_rule). */
  private readonly policyName: string;

  constructor(
    readonly handler: ResourceHandler,
    private readonly policy: PolicyEngine,
  ) {
    this.def = handler.def;
    this.policyName = this.def.parentPath && this.def.parent ? `${this.def.parent.resource}_${this.def.name}` : this.def.name;
    this.attrs = Object.entries(this.def.attributes);
    this.policyAttrs = this.attrs.filter(([, a]) => a.enforcePolicy);
    this.prefetchedKeys = this.attrs.filter(([, a]) => a.requiredByPolicy || a.primaryKey || !('default' in a || a.defaultFn)).map(([name]) => name);
  }

  // ---- request bodies ------------------------------------------------------------------------

  /** Validates one item of a POST body, fills defaults and the owning project. */
  prepareCreate(ctx: RequestContext, raw: unknown): Rec {
    const item = this.expectObject(raw);
    this.rejectUnknown(item);
    const out: Rec = {};
    for (const [name, a] of this.attrs) {
      if (name in item) {
        if (!a.allowPost) throw badRequest(`Attribute '${name}' not allowed in POST`);
        if (name === 'tenant_id' || name === 'project_id') continue;
        out[name] = a.validate ? a.validate(item[name], name) : item[name];
      } else if (a.defaultFn) {
        out[name] = a.defaultFn();
      } else if (a.allowPost && name !== 'tenant_id' && name !== 'project_id') {
        if ('default' in a) out[name] = structuredCloneSafe(a.default);
        else throw badRequest(`Failed to parse request. Required attribute '${name}' not specified`);
      }
    }
    out.project_id = this.projectFor(ctx, item);
    out.tenant_id = out.project_id;
    return out;
  }

  private projectFor(ctx: RequestContext, item: Rec): string {
    const t = item.tenant_id;
    const p = item.project_id;
    for (const [k, v] of [
      ['tenant_id', t],
      ['project_id', p],
    ] as const) {
      if (v !== undefined && (typeof v !== 'string' || codePoints(v) > 255)) {
        throw badRequest(`Invalid input for ${k}. Reason: '${brief(v)}' is not a valid string.`);
      }
    }
    if (t !== undefined && p !== undefined && t !== p) {
      throw badRequest("'project_id' and 'tenant_id' do not match");
    }
    const given = (p ?? t) as string | undefined;
    // neutron-lib's _validate_privileges: only an admin (or advsvc) names another project.
    if (given !== undefined && given !== ctx.projectId && !ctx.isAdmin && !ctx.isAdvsvc) {
      throw badRequest("Specifying 'project_id' or 'tenant_id' other than the authenticated project in request requires admin or advsvc privileges");
    }
    if (given !== undefined && given !== '') return given;
    if (!ctx.projectId) {
      throw badRequest('Running without keystone AuthN requires that tenant_id is specified');
    }
    return ctx.projectId;
  }

  prepareUpdate(raw: unknown): Rec {
    const item = this.expectObject(raw);
    this.rejectUnknown(item);
    const out: Rec = {};
    for (const [name, v] of Object.entries(item)) {
      const a = this.def.attributes[name]!;
      if (!a.allowPut) throw badRequest(`Cannot update read-only attribute ${name}`);
      out[name] = a.validate ? a.validate(v, name) : v;
    }
    return out;
  }

  private expectObject(raw: unknown): Rec {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw badRequest(`Invalid format for ${this.def.name}: expected a JSON object`);
    }
    return raw as Rec;
  }

  private rejectUnknown(item: Rec): void {
    const unknown = Object.keys(item).filter((k) => !(k in this.def.attributes));
    if (unknown.length) throw badRequest(`Unrecognized attribute(s) '${unknown.join(', ')}'`);
  }

  // ---- policy --------------------------------------------------------------------------------

  private async target(ctx: RequestContext, item: Rec, cache?: Map<string, string | null>): Promise<Rec> {
    const t: Rec = { ...item };
    if (t.project_id !== undefined) t.tenant_id = t.project_id;
    const parent = this.def.parent;
    if (parent && this.handler.parentOwner) {
      const pid = item[parent.idAttr];
      if (typeof pid === 'string') {
        let owner = cache?.get(pid);
        if (owner === undefined) {
          owner = await this.handler.parentOwner(ctx, pid);
          cache?.set(pid, owner);
        }
        t[`${parent.resource}:tenant_id`] = owner;
        t[`${parent.resource}:project_id`] = owner;
      }
    }
    return t;
  }

  private allowed(ctx: RequestContext, action: string, target: Rec): boolean {
    return this.policy.check(action, target, credentialsOf(ctx));
  }

  /**
   * enforceWrite() for a target that may lack `shared` (ports): Neutron's field:networks:shared
   * check then looks the parent network up. The rules are evaluated with shared=false (what a
   * missing value counts as) and shared=true; only when the outcome differs is the network asked.
   */
  private async enforceWriteShared(ctx: RequestContext, verb: 'create' | 'update', target: Rec, given: Rec): Promise<void> {
    const parentId = this.def.parent ? target[this.def.parent.idAttr] : undefined;
    if ('shared' in target || !this.handler.parentShared || typeof parentId !== 'string') {
      this.enforceWrite(ctx, verb, target, given);
      return;
    }
    const attempt = (shared: boolean): unknown => {
      try {
        this.enforceWrite(ctx, verb, { ...target, shared }, given);
        return null;
      } catch (err) {
        return err;
      }
    };
    const unshared = attempt(false);
    const shared = attempt(true);
    if (unshared === null && shared === null) return;
    if (unshared !== null && shared !== null) throw unshared;
    const projectId = typeof target.project_id === 'string' ? target.project_id : ctx.projectId;
    const isShared = await this.handler.parentShared(parentId, projectId);
    this.enforceWrite(ctx, verb, { ...target, shared: isShared }, given);
  }

  /** create_<resource> on `item` as if the caller owned its parent (and shared it): 403 if denied even so. */
  private enforceAsParentOwner(ctx: RequestContext, item: Rec, parentResource: string): void {
    const action = `create_${this.policyName}`;
    const owner = ctx.projectId;
    const target: Rec = {
      shared: true,
      ...item,
      tenant_id: item.project_id,
      [`${parentResource}:tenant_id`]: owner,
      [`${parentResource}:project_id`]: owner,
    };
    if (!this.allowed(ctx, action, target)) throw policyNotAuthorized(action);
  }

  /** Create/update: the action itself and each attribute rule that the request touches. */
  private enforceWrite(ctx: RequestContext, verb: 'create' | 'update', target: Rec, given: Rec): void {
    const action = `${verb}_${this.policyName}`;
    if (!this.allowed(ctx, action, target)) throw policyNotAuthorized(action);
    this.enforceAttributes(ctx, action, target, given, verb === 'create');
  }

  /** `<action>:<attr>` for each policed attribute given, and `<action>:<attr>:<key>` of its dicts. */
  private enforceAttributes(ctx: RequestContext, action: string, target: Rec, given: Rec, skipDefaults = false): void {
    for (const [name, a] of this.policyAttrs) {
      if (!(name in given)) continue;
      const v = given[name];
      if (v === NOT_SPECIFIED) continue;
      if (skipDefaults && 'default' in a && deepEqual(v, a.default)) continue;
      const attrAction = `${action}:${name}`;
      if (this.policy.has(attrAction) && !this.allowed(ctx, attrAction, target)) throw policyNotAuthorized(attrAction);
      // Sub-attributes of lists of dicts (fixed_ips:ip_address) and dicts (binding:profile keys).
      const subs = Array.isArray(v) ? v : v && typeof v === 'object' ? [v] : [];
      for (const sub of subs) {
        if (!sub || typeof sub !== 'object') continue;
        for (const key of Object.keys(sub as Rec)) {
          const subAction = `${attrAction}:${key}`;
          if (this.policy.has(subAction) && !this.allowed(ctx, subAction, target)) throw policyNotAuthorized(subAction);
        }
      }
    }
  }

  /** Hides attributes whose get_<resource>:<attr> rule fails, then applies `fields`. */
  private present(ctx: RequestContext, item: Rec, target: Rec, fields: string[]): Rec {
    return this.presentWith(this.presentPlan(fields), item, target, credentialsOf(ctx));
  }

  /**
   * The visible attributes `fields` asks for (all when empty), in definition order, each with its
   * get_<resource>:<attr> rule when it has one. Worked out once per request, not per item.
   */
  private presentPlan(fields: string[]): PresentPlan {
    if (fields.length === 0 && this.fullPlan) return this.fullPlan;
    const getAction = `get_${this.policyName}`;
    const wanted = fields.length ? new Set(fields) : null;
    const plan: Array<[string, string | null]> = [];
    for (const [name, a] of this.attrs) {
      if (!a.visible || (wanted && !wanted.has(name))) continue;
      const attrAction = `${getAction}:${name}`;
      plan.push([name, a.enforcePolicy && this.policy.has(attrAction) ? attrAction : null]);
    }
    if (fields.length === 0) this.fullPlan = plan;
    return plan;
  }

  private presentWith(plan: PresentPlan, item: Rec, target: Rec, creds: PolicyCredentials): Rec {
    const out: Rec = {};
    for (let i = 0; i < plan.length; i++) {
      const [name, attrAction] = plan[i]!;
      if (!(name in item)) continue;
      if (attrAction !== null && !this.policy.check(attrAction, target, creds)) continue;
      out[name] = item[name];
    }
    return out;
  }

  // ---- operations ----------------------------------------------------------------------------

  /** `parentId`: the parent's id from the URL of a sub-resource (ResourceDef.parentPath). */
  async create(ctx: RequestContext, body: unknown, parentId?: string): Promise<{ status: number; body: Rec }> {
    const b = body as Rec | null;
    const bulk = b && typeof b === 'object' && Array.isArray(b[this.def.collection]);
    // A bulk item may come wrapped ({"security_group": {...}}), as Neutron's prepare_request_body takes it.
    const unwrap = (item: unknown): unknown =>
      item && typeof item === 'object' && !Array.isArray(item) && this.def.name in item ? (item as Rec)[this.def.name] : item;
    const rawItems: unknown[] = bulk
      ? (b![this.def.collection] as unknown[]).map(unwrap)
      : b && typeof b === 'object' && this.def.name in b
        ? [b[this.def.name]]
        : (() => {
            throw badRequest(`Unable to find '${this.def.name}' in request body`);
          })();
    if (bulk && rawItems.length === 0) throw badRequest(`No ${this.def.collection} given in bulk request`);
    const items: Rec[] = [];
    for (const r of rawItems) {
      items.push(this.prepareCreate(ctx, r));
      if (items.length % YIELD_EVERY === 0) await letOthersRun();
    }
    if (parentId !== undefined && this.def.parent) for (const item of items) item[this.def.parent.idAttr] = parentId;
    const givenKeys = rawItems.map((r) => r as Rec);
    const cache = new Map<string, string | null>();
    const parent = this.def.parent;
    for (let i = 0; i < items.length; i++) {
      const parentId = parent ? items[i]![parent.idAttr] : undefined;
      // Neutron enforces the action before it looks the parent up: an action the caller may not
      // take even on a parent of its own (an admin-only QoS rule) is a 403 whatever the parent is.
      if (parent && typeof parentId === 'string') this.enforceAsParentOwner(ctx, items[i]!, parent.resource);
      // Checked once per parent: later items of a bulk request on the same network reuse it.
      if (typeof parentId === 'string' && this.handler.checkParent && !cache.has(parentId)) {
        const owner = await this.handler.checkParent(ctx, parentId);
        if (owner !== undefined) cache.set(parentId, owner);
      }
      const target = await this.target(ctx, items[i]!, cache);
      await this.enforceWriteShared(ctx, 'create', target, pick(items[i]!, Object.keys(givenKeys[i]!)));
      if (i % YIELD_EVERY === YIELD_EVERY - 1) await letOthersRun();
    }
    const created = await this.handler.create(ctx, items);
    const shown: Rec[] = [];
    for (const c of created) {
      shown.push(this.present(ctx, c, await this.target(ctx, c, cache), []));
      if (shown.length % YIELD_EVERY === 0) await letOthersRun();
    }
    return { status: 201, body: bulk ? { [this.def.collection]: shown } : { [this.def.name]: shown[0] } };
  }

  /**
   * The list body's array as JSON text written by the handler's database (listJson), when the
   * caller may see every item and every attribute whatever their values (decided once here from
   * the policy, not per row) and no fields, page or parent narrow it; otherwise null (list()).
   */
  async listJson(ctx: RequestContext, q: ListQuery, parentId?: string): Promise<string | Uint8Array | null> {
    if (parentId !== undefined || q.fields.length || q.limit !== null || q.marker || q.pageReverse) return null;
    const keys = this.seesEverything(ctx);
    return keys && this.handler.listJson!(ctx, q, keys);
  }

  /**
   * show() as JSON text (`{"port":{...}}`) written by the database, on the same terms as
   * listJson(): one query instead of the item's and each of its lists'. Null: take show().
   */
  async showJson(ctx: RequestContext, id: string, fields: string[], parentId?: string): Promise<string | null> {
    if (parentId !== undefined || fields.length) return null;
    const keys = this.seesEverything(ctx);
    if (!keys) return null;
    const q: ListQuery = { filters: { id: [id] }, fields: [], sorts: [], limit: null, marker: null, pageReverse: false, tagFilters: {} };
    const raw = await this.handler.listJson!(ctx, q, keys);
    if (raw === null) return null;
    const text = typeof raw === 'string' ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8');
    if (text === '[]') throw this.handler.notFound(id);
    return `{"${this.def.name}":${text.slice(1, -1)}}`;
  }

  /**
   * The attributes to show when the caller may see every item and every attribute whatever their
   * values, decided once from the policy (not per item), and the handler can write them in SQL;
   * otherwise null.
   */
  private seesEverything(ctx: RequestContext): readonly string[] | null {
    if (!this.handler.listJson) return null;
    // The answer depends on the credentials alone (the policy engine never changes; scopeTargets
    // reads the project and is_admin they hold): worked out once per kind of caller.
    const key = credentialsKey(ctx);
    let keys = this.seesCache.get(key);
    if (keys === undefined) {
      keys = this.seesEverythingOf(ctx, credentialsOf(ctx));
      if (this.seesCache.size >= CALLER_CACHE_SIZE) this.seesCache.clear();
      this.seesCache.set(key, keys);
    }
    return keys;
  }

  /** seesEverything()'s answers by the caller's credentials (as JSON). */
  private readonly seesCache = new Map<string, readonly string[] | null>();

  private seesEverythingOf(ctx: RequestContext, creds: PolicyCredentials): readonly string[] | null {
    // A non-admin's scope (their own items, say) may be one policy allows every item of.
    const samples = this.handler.scopeTargets?.(ctx) ?? null;
    const allows = (rule: string) =>
      this.policy.allowsAnyTarget(rule, creds) || (samples !== null && this.policy.allowsEveryTargetLike(rule, creds, samples));
    if (!allows(`get_${this.policyName}`)) return null;
    const keys: string[] = [];
    for (const [name, rule] of this.presentPlan([])) {
      if (rule === null || allows(rule)) keys.push(name);
      else if (!this.policy.deniesEveryTarget(rule, creds)) return null;
    }
    return keys;
  }

  async list(ctx: RequestContext, q: ListQuery, parentId?: string): Promise<Rec[]> {
    if (parentId !== undefined && this.def.parent) {
      // A sub-resource's list: its parent must be visible, and only its children are listed.
      await this.handler.checkParent?.(ctx, parentId);
      q = { ...q, filters: { ...q.filters, [this.def.parent.idAttr]: [parentId] } };
    }
    const items = await this.handler.list(ctx, q);
    const out: Rec[] = [];
    const creds = credentialsOf(ctx);
    const plan = this.presentPlan(q.fields);
    const getAction = `get_${this.policyName}`;
    const parent = this.def.parent;
    const owners = new Map<string, string | null>();
    const tenantKey = `${parent?.resource}:tenant_id`;
    const projectKey = `${parent?.resource}:project_id`;
    const withParent = !!(parent && this.handler.parentOwner);
    if (parent && this.handler.parentOwner) {
      for (const item of items) {
        const pid = item[parent.idAttr];
        if (typeof pid === 'string' && !owners.has(pid)) owners.set(pid, await this.handler.parentOwner(ctx, pid));
      }
    }
    for (const item of items) {
      // The same keys as target() adds, set on the item itself: the dicts are the handler's fresh
      // copies, and presentWith() only copies attributes out, so copying each one is not needed.
      if (item.project_id !== undefined) item.tenant_id = item.project_id;
      if (withParent) {
        const pid = item[parent!.idAttr];
        if (typeof pid === 'string') {
          const owner = owners.get(pid)!;
          item[tenantKey] = owner;
          item[projectKey] = owner;
        }
      }
      if (!this.policy.check(getAction, item, creds)) continue;
      out.push(this.presentWith(plan, item, item, creds));
    }
    return out;
  }

  /** Loads an item the caller may see, or raises the resource's 404. */
  async load(ctx: RequestContext, id: string, cache?: Map<string, string | null>, parentId?: string): Promise<{ item: Rec; target: Rec }> {
    const idAttr = parentId !== undefined ? this.def.parent?.idAttr : undefined;
    if (idAttr !== undefined) await this.handler.checkParent?.(ctx, parentId!);
    const item = await this.handler.get(ctx, id);
    if (!item || (idAttr !== undefined && item[idAttr] !== parentId)) throw this.handler.notFound(id, parentId);
    const target = await this.target(ctx, item, cache);
    if (!this.allowed(ctx, `get_${this.policyName}`, target)) throw this.handler.notFound(id);
    return { item, target };
  }

  /**
   * Loads an item and checks `action` on it (403 if visible but not allowed); with a member
   * action's `body` ({"<resource>": {...}}), also the rules of the attributes it gives.
   */
  async authorize(ctx: RequestContext, id: string, action: string, body?: unknown): Promise<Rec> {
    const { item, target } = await this.load(ctx, id);
    if (!this.allowed(ctx, action, target)) throw policyNotAuthorized(action);
    const given = body && typeof body === 'object' ? (body as Rec)[this.def.name] : undefined;
    if (given && typeof given === 'object' && !Array.isArray(given)) this.enforceAttributes(ctx, action, target, given as Rec);
    return item;
  }

  async show(ctx: RequestContext, id: string, fields: string[], parentId?: string): Promise<Rec> {
    const { item, target } = await this.load(ctx, id, undefined, parentId);
    return { [this.def.name]: this.present(ctx, item, target, fields) };
  }

  async update(ctx: RequestContext, id: string, body: unknown, expectRevision?: number, parentId?: string): Promise<Rec> {
    const b = body as Rec | null;
    if (!b || typeof b !== 'object' || !(this.def.name in b)) throw badRequest(`Unable to find '${this.def.name}' in request body`);
    const changes = this.prepareUpdate(b[this.def.name]);
    // The parent cannot change in an update: its owner is looked up once.
    const cache = new Map<string, string | null>();
    const { item } = await this.load(ctx, id, cache, parentId);
    const target = await this.target(ctx, { ...item, ...changes }, cache);
    try {
      await this.enforceWriteShared(ctx, 'update', target, changes);
    } catch (err) {
      // Neutron re-checks get_<resource> on the object it prefetched for the update, which holds
      // only the attributes required by policy, primary keys and those without a default, plus
      // the changes: when that fails the caller is told 404, not 403. So an address group shared
      // by RBAC (its `shared` is no API attribute, hence never prefetched) is a 404 to update.
      const prefetched = await this.target(ctx, { ...pick(item, this.prefetchedKeys), ...changes }, cache);
      if (!this.allowed(ctx, `get_${this.policyName}`, prefetched)) throw this.handler.notFound(id);
      throw err;
    }
    const updated = await this.handler.update(ctx, id, changes, expectRevision);
    return { [this.def.name]: this.present(ctx, updated, await this.target(ctx, updated, cache), []) };
  }

  async delete(ctx: RequestContext, id: string, expectRevision?: number, parentId?: string): Promise<void> {
    const { target } = await this.load(ctx, id, undefined, parentId);
    const action = `delete_${this.policyName}`;
    if (!this.allowed(ctx, action, target)) throw policyNotAuthorized(action);
    await this.handler.delete(ctx, id, expectRevision);
  }
}

function pick(o: Rec, keys: string[]): Rec {
  const out: Rec = {};
  for (const k of keys) if (k in o) out[k] = o[k];
  return out;
}

function structuredCloneSafe(v: unknown): unknown {
  return v !== null && typeof v === 'object' ? structuredClone(v) : v;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

// What a plugin provides for one resource collection; the generic controller does the HTTP,
// validation, policy and field filtering around it.
import type { RequestContext } from './context.js';
import type { ResourceDef } from './definition.js';
import type { ListQuery } from './list-query.js';

export type Rec = Record<string, unknown>;

export interface ResourceHandler {
  def: ResourceDef;
  /** Creates every body in one transaction: all or nothing. */
  create(ctx: RequestContext, bodies: Rec[]): Promise<Rec[]>;
  /** The full dict, or null when it does not exist or the caller's scope cannot see it. */
  get(ctx: RequestContext, id: string): Promise<Rec | null>;
  list(ctx: RequestContext, q: ListQuery): Promise<Rec[]>;
  /**
   * The list as JSON text (`[{...},...]`), written by the database, with exactly the attributes
   * `keys` (in that order) that list() would give, for a caller who may see all of them; null
   * when it cannot (an attribute it does not know): the caller then takes list(). UTF-8 bytes
   * when the database gives them so (sent as they are, never decoded).
   */
  listJson?(ctx: RequestContext, q: ListQuery, keys: readonly string[]): Promise<string | Uint8Array | null>;
  /**
   * Policy targets that stand for every item list() may give this caller (PolicyEngine.
   * allowsEveryTargetLike): the keys its scope fixes, an unmatchable value for each other key
   * policy may read of them. Null or absent: per item policy only (listJson for admins alone).
   */
  scopeTargets?(ctx: RequestContext): Rec[] | null;
  /** `body` holds only the attributes the request gave; `expectRevision` comes from If-Match. */
  update(ctx: RequestContext, id: string, body: Rec, expectRevision?: number): Promise<Rec>;
  delete(ctx: RequestContext, id: string, expectRevision?: number): Promise<void>;
  /** Owner of the parent resource, for `<parent>:tenant_id` in policy targets. */
  parentOwner?(ctx: RequestContext, parentId: string): Promise<string | null>;
  /**
   * Raises the parent's 404 when the caller may not use it (checked before create policy). May
   * return the parent's owner, which then stands in for a parentOwner() call.
   */
  checkParent?(ctx: RequestContext, parentId: string): Promise<string | null | void>;
  /**
   * Whether the parent network is shared with `projectId`: `shared` in create/update targets of
   * resources whose dicts lack it (Neutron's field:networks:shared check looks the network up).
   */
  parentShared?(parentId: string, projectId: string | null): Promise<boolean>;
  /** 404 error for a missing item, e.g. NetworkNotFound (`parentId`: a sub-resource's parent). */
  notFound(id: string, parentId?: string): Error;
  /** Runs a member action the definition declares (`def.memberActions`); policy is already checked. */
  action?(ctx: RequestContext, id: string, name: string, body: unknown): Promise<unknown>;
}

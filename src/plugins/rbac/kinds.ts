// What each RBAC object type means (Neutron's RBAC_POLICY callbacks): which actions it has, who
// may share it, and which dependants stop a policy from being removed or retargeted (a project
// that uses a shared network, subnet pool, address scope or security group keeps its access).
import { NeutronError, invalidInput } from '../../core/errors.js';
import type { RequestContext } from '../../core/context.js';
import type { Db } from '../../db/connection.js';
import { forUpdate, i2b, nowIso, untyped, type Tx } from '../../db/tx.js';
import { networkVisible, rbacVisible } from '../common/visibility.js';
import { externalNetworkInUse, invalidSharedSetting, rbacPolicyInUse } from './errors.js';
import { ACCESS_EXTERNAL, ACCESS_SHARED, entriesOf, WILDCARD, type RbacEntry } from './store.js';
import { DEVICE_OWNER_ROUTER_GW } from '../../core/wire.js';

export interface RbacKind {
  type: string;
  actions: readonly string[];
  /** The object's owner, its row locked for the transaction; null when it does not exist. */
  lockOwner(db: Db, tx: Tx, id: string): Promise<string | null>;
  /** Whether the caller sees the object at all (else it "could not be found"). */
  visible(db: Db, tx: Tx, ctx: RequestContext, id: string): Promise<boolean>;
  /** Message of the object's NotFound. */
  notFoundMessage(id: string): string;
  /** Extra checks before an entry is created (after the ownership check). */
  beforeCreate?(db: Db, tx: Tx, ctx: RequestContext, e: RbacEntry, owner: string): Promise<void>;
  /**
   * Raises RbacPolicyInUse (or the type's own conflict) when `e.target_project` depends on the
   * entry: it is being deleted (newTarget undefined) or retargeted to `newTarget`.
   */
  checkRemoval(db: Db, tx: Tx, e: RbacEntry, owner: string, newTarget?: string): Promise<void>;
  afterCreate?(db: Db, tx: Tx, e: RbacEntry): Promise<void>;
  afterDelete?(db: Db, tx: Tx, e: RbacEntry): Promise<void>;
}

// ---- networks ----------------------------------------------------------------------------------

/**
 * The projects owning routers whose gateway port is on the network: an access_as_external policy
 * those routers depend on cannot be removed.
 */
export async function gatewayRouterProjects(tx: Tx, networkId: string): Promise<string[]> {
  const rows = await tx
    .selectFrom('routers')
    .innerJoin('ports', 'ports.id', 'routers.gw_port_id')
    .select('routers.project_id')
    .distinct()
    .where('ports.network_id', '=', networkId)
    .execute();
  return rows.map((r) => r.project_id);
}

/**
 * ensure_no_tenant_ports_on_network: `target` may lose its access_as_shared entry only when it has
 * no ports on the network (or a wildcard entry keeps it in). For the wildcard itself: every port
 * must belong to the owner or to a project with its own entry.
 */
export async function ensureNoTenantPorts(tx: Tx, networkId: string, owner: string, target: string): Promise<void> {
  const shared = await entriesOf(tx, 'network', networkId, ACCESS_SHARED);
  let q = tx.selectFrom('ports').select('id').where('network_id', '=', networkId);
  if (target === WILDCARD) {
    const allowed = [owner, ...shared.map((e) => e.target_project).filter((t) => t !== WILDCARD)];
    q = q.where('project_id', 'not in', allowed);
  } else {
    if (shared.some((e) => e.target_project === WILDCARD)) return;
    q = q.where('project_id', '=', target);
  }
  if (await q.limit(1).executeTakeFirst()) throw invalidSharedSetting(networkId);
}

/**
 * _validate_shared_update: a network can stop being shared (its wildcard entry removed) while the
 * projects with ports (other than the network's own network:* ports) or subnets on it are the owner
 * or have entries of their own.
 */
export async function checkUnshareNetwork(tx: Tx, networkId: string, owner: string): Promise<void> {
  const shared = await entriesOf(tx, 'network', networkId, ACCESS_SHARED);
  const allowed = [owner, ...shared.map((e) => e.target_project).filter((t) => t !== WILDCARD)];
  const port = await tx
    .selectFrom('ports')
    .select('id')
    .where('network_id', '=', networkId)
    .where('project_id', 'not in', allowed)
    .where('device_owner', 'not like', 'network:%')
    .limit(1)
    .executeTakeFirst();
  const subnet = port
    ? undefined
    : await tx
        .selectFrom('subnets')
        .select('id')
        .where('network_id', '=', networkId)
        .where('project_id', 'not in', allowed)
        .limit(1)
        .executeTakeFirst();
  if (port || subnet) throw invalidSharedSetting(networkId);
}

const bumpNetwork = (tx: Tx, id: string) =>
  tx
    .updateTable('networks')
    .set((eb) => ({ revision_number: eb('revision_number', '+', 1), updated_at: nowIso() }))
    .where('id', '=', id)
    .execute();

export const networkKind: RbacKind = {
  type: 'network',
  actions: [ACCESS_SHARED, ACCESS_EXTERNAL],
  async lockOwner(db, tx, id) {
    const r = await forUpdate(db, tx.selectFrom('networks').select('project_id').where('id', '=', id)).executeTakeFirst();
    return r?.project_id ?? null;
  },
  async visible(_db, tx, ctx, id) {
    if (ctx.isAdmin) return true;
    const r = await tx
      .selectFrom('networks')
      .select('id')
      .where('id', '=', id)
      .where(networkVisible(ctx, 'networks.project_id', 'networks.id'))
      .executeTakeFirst();
    return r !== undefined;
  },
  notFoundMessage: (id) => `Network ${id} could not be found`,
  async checkRemoval(_db, tx, e, owner, newTarget) {
    if (newTarget === e.target_project) return;
    if (e.action === ACCESS_SHARED) {
      if (e.target_project === owner || newTarget === WILDCARD) return;
      try {
        await ensureNoTenantPorts(tx, e.object_id, owner, e.target_project);
      } catch (err) {
        if (err instanceof NeutronError) throw rbacPolicyInUse(e.object_id, err.message);
        throw err;
      }
      return;
    }
    if (e.target_project === WILDCARD) {
      const net = await tx.selectFrom('networks').select('is_default').where('id', '=', e.object_id).executeTakeFirst();
      if (net && i2b(net.is_default)) throw rbacPolicyInUse(e.object_id, 'Default external networks must be shared to everyone.');
    }
    // access_as_external: routers with their gateway on the network keep their access.
    const projects = await gatewayRouterProjects(tx, e.object_id);
    if (projects.length === 0) return;
    const external = await entriesOf(tx, 'network', e.object_id, ACCESS_EXTERNAL);
    let stuck: boolean;
    if (e.target_project !== WILDCARD) {
      if (external.some((x) => x.target_project === WILDCARD)) return;
      stuck = projects.includes(e.target_project);
    } else {
      const keep = new Set(external.map((x) => x.target_project).filter((t) => t !== WILDCARD));
      if (newTarget) keep.add(newTarget);
      stuck = projects.some((p) => !keep.has(p));
    }
    if (stuck) throw rbacPolicyInUse(e.object_id, 'There are routers attached to this network that depend on this policy for access.');
  },
  async afterCreate(_db, tx, e) {
    if (e.action === ACCESS_EXTERNAL) {
      // Sharing as external makes the network external (without a wildcard entry).
      await tx.updateTable('networks').set({ router_external: 1 }).where('id', '=', e.object_id).where('router_external', '=', 0).execute();
    }
    await bumpNetwork(tx, e.object_id);
  },
  async afterDelete(_db, tx, e) {
    if (e.action === ACCESS_EXTERNAL && (await entriesOf(tx, 'network', e.object_id, ACCESS_EXTERNAL)).length === 0) {
      const net = await tx.selectFrom('networks').select('router_external').where('id', '=', e.object_id).executeTakeFirst();
      if (net && i2b(net.router_external)) {
        const gw = await tx
          .selectFrom('ports')
          .select('id')
          .where('network_id', '=', e.object_id)
          .where('device_owner', '=', DEVICE_OWNER_ROUTER_GW)
          .limit(1)
          .executeTakeFirst();
        if (gw) throw externalNetworkInUse(e.object_id);
        await tx.updateTable('networks').set({ router_external: 0, is_default: 0 }).where('id', '=', e.object_id).execute();
      }
    }
    await bumpNetwork(tx, e.object_id);
  },
};

// ---- subnet pools, address scopes, security groups (Neutron's RbacNeutronDbObjectMixin) ---------

/**
 * _validate_rbac_policy_delete for objects whose dependants are "bound projects": `target` may
 * lose access unless it is bound (uses the object); the wildcard only when every bound project,
 * the owner's included, has an entry of its own.
 */
async function checkBound(tx: Tx, e: RbacEntry, owner: string, newTarget: string | undefined, bound: Set<string>): Promise<void> {
  if (e.action !== ACCESS_SHARED || newTarget === e.target_project || newTarget === WILDCARD) return;
  if (e.target_project === owner) return;
  const shared = await entriesOf(tx, e.object_type, e.object_id, ACCESS_SHARED);
  if (e.target_project !== WILDCARD) {
    if (shared.some((x) => x.target_project === WILDCARD)) return;
    if (bound.has(e.target_project)) throw rbacPolicyInUse(e.object_id, `project_id=${e.target_project}`);
    return;
  }
  // Neutron counts only the other specific entries: not the owner's own use (its project is bound
  // too), nor the new target of an update (an update is checked as the old entry's delete).
  const keep = new Set(shared.map((x) => x.target_project).filter((t) => t !== WILDCARD));
  if ([...bound].some((p) => !keep.has(p))) throw rbacPolicyInUse(e.object_id, `project_id=${e.target_project}`);
}

export interface BoundKindSpec {
  type: string;
  table: 'subnetpools' | 'address_scopes' | string;
  label: string;
  /** Projects that use the object (get_bound_project_ids). */
  boundProjects(tx: Tx, id: string): Promise<Set<string>>;
  beforeCreate?: RbacKind['beforeCreate'];
}

/** boundProjects of an object its users name in a column: the projects of the rows that name it. */
function projectsOfRowsWith(table: 'subnets' | 'subnetpools', column: 'subnetpool_id' | 'address_scope_id'): BoundKindSpec['boundProjects'] {
  return async (tx, id) => {
    const rows = await tx.selectFrom(table).select('project_id').distinct().where(column, '=', id).execute();
    return new Set(rows.map((r) => r.project_id));
  };
}

/** A binding table joining an owned resource (its ports, networks, …) to the shared object. */
export interface BindingJoin {
  /** e.g. 'qos_port_policy_bindings'. */
  binding: string;
  /** Its column naming the shared object, e.g. 'policy_id'. */
  objectColumn: string;
  /** The owned resource's table and the binding's column naming it, e.g. 'ports', 'port_id'. */
  owner: string;
  ownerColumn: string;
}

/** The projects whose resources are bound to the object through any of `joins` (get_bound_project_ids). */
export function projectsBoundThrough(...joins: BindingJoin[]): BoundKindSpec['boundProjects'] {
  return async (tx, id) => {
    const projects = new Set<string>();
    for (const j of joins) {
      const rows = await untyped(tx)
        .selectFrom(j.binding)
        .innerJoin(j.owner, `${j.owner}.id`, `${j.binding}.${j.ownerColumn}`)
        .select(`${j.owner}.project_id as project_id`)
        .distinct()
        .where(`${j.binding}.${j.objectColumn}`, '=', id)
        .execute();
      for (const r of rows) projects.add(r.project_id as string);
    }
    return projects;
  };
}

export function boundKind(spec: BoundKindSpec): RbacKind {
  const table = spec.table as 'subnetpools';
  return {
    type: spec.type,
    actions: [ACCESS_SHARED],
    async lockOwner(db, tx, id) {
      const r = await forUpdate(db, tx.selectFrom(table).select('project_id').where('id', '=', id)).executeTakeFirst();
      return (r as { project_id?: string } | undefined)?.project_id ?? null;
    },
    async visible(_db, tx, ctx, id) {
      if (ctx.isAdmin) return true;
      const r = await tx
        .selectFrom(table)
        .select('id')
        .where('id', '=', id)
        .where(rbacVisible(ctx, spec.type, `${spec.table}.project_id`, `${spec.table}.id`))
        .executeTakeFirst();
      return r !== undefined;
    },
    notFoundMessage: (id) => `${spec.label} ${id} could not be found`,
    beforeCreate: spec.beforeCreate,
    async checkRemoval(_db, tx, e, owner, newTarget) {
      if (e.action !== ACCESS_SHARED || newTarget === e.target_project || newTarget === WILDCARD || e.target_project === owner) return;
      await checkBound(tx, e, owner, newTarget, await spec.boundProjects(tx, e.object_id));
    },
  };
}

export const subnetpoolKind = boundKind({
  type: 'subnetpool',
  table: 'subnetpools',
  label: 'Subnet pool',
  boundProjects: projectsOfRowsWith('subnets', 'subnetpool_id'),
  // SubnetPool.validate_rbac_policy_create: a pool in an address scope is shared only with
  // projects that can use the scope.
  async beforeCreate(_db, tx, _ctx, e) {
    const pool = await tx.selectFrom('subnetpools').select('address_scope_id').where('id', '=', e.object_id).executeTakeFirst();
    const scopeId = pool?.address_scope_id;
    if (!scopeId) return;
    const scope = await tx.selectFrom('address_scopes').select('project_id').where('id', '=', scopeId).executeTakeFirst();
    if (scope && e.target_project !== WILDCARD && scope.project_id === e.target_project) return;
    const targets = e.target_project === WILDCARD ? [WILDCARD] : [WILDCARD, e.target_project];
    const ok = await tx
      .selectFrom('rbac_entries')
      .select('id')
      .where('object_type', '=', 'address_scope')
      .where('object_id', '=', scopeId)
      .where('action', '=', ACCESS_SHARED)
      .where('target_project', 'in', targets)
      .executeTakeFirst();
    if (!ok) {
      throw invalidInput(
        `Failed to create RBAC policy on object ${e.object_id} because target project doesn't have access to associated address scope`,
      );
    }
  },
});

export const addressScopeKind = boundKind({
  type: 'address_scope',
  table: 'address_scopes',
  label: 'Address scope',
  boundProjects: projectsOfRowsWith('subnetpools', 'address_scope_id'),
});

export const securityGroupKind: RbacKind = {
  ...boundKind({
    type: 'security_group',
    table: 'security_groups',
    label: 'Security group',
    // SecurityGroup.get_bound_project_ids: the projects of the ports that use the group.
    boundProjects: projectsBoundThrough({
      binding: 'security_group_port_bindings',
      objectColumn: 'security_group_id',
      owner: 'ports',
      ownerColumn: 'port_id',
    }),
  }),
  notFoundMessage: (id) => `Security group ${id} does not exist`,
};

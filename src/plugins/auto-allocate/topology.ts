// Get-me-a-network (auto-allocated-topology, Neutron's AutoAllocatedTopologyMixin): on a project's
// first GET, a private network with one subnet from each default subnet pool, a router with its
// gateway on the default external network and an interface on each subnet, all created as the
// caller's API calls would create them (validation, policy, quotas); later GETs return the same
// network. DELETE tears it down. A failed build removes what it made.
import type { RequestContext } from '../../core/context.js';
import type { ApiServices } from '../../core/api-route.js';
import { NeutronError } from '../../core/errors.js';
import type { Rec, ResourceHandler } from '../../core/resource.js';
import type { Db } from '../../db/connection.js';
import { isDuplicateKey } from '../../db/connection.js';
import { defaultPool } from '../subnetpools/subnetpools.js';
import { autoAllocationFailure } from './errors.js';

/** The `fields` value asking only whether a topology could be built. */
export const DRY_RUN = 'dry-run';

interface Built {
  networkId?: string;
  routerId?: string;
  subnetIds: string[];
}

export class AutoAllocator {
  constructor(
    private readonly db: Db,
    private readonly routers: ResourceHandler,
  ) {}

  /** The project's topology (its network id), built on first use. */
  async get(ctx: RequestContext, api: ApiServices, projectId: string): Promise<string> {
    const existing = await this.networkOf(projectId);
    if (existing) return existing;
    const external = await this.defaultExternalNetwork();
    const built: Built = { subnetIds: [] };
    try {
      await this.provisionNetwork(ctx, api, projectId, built);
      await this.provisionRouter(ctx, api, projectId, external, built);
    } catch (err) {
      await this.cleanup(ctx, api, built);
      throw err;
    }
    try {
      await this.db.kysely
        .insertInto('auto_allocated_topologies')
        .values({ project_id: projectId, network_id: built.networkId!, router_id: built.routerId ?? null })
        .execute();
    } catch (err) {
      // A concurrent first GET won: its topology is the project's, this one goes.
      await this.cleanup(ctx, api, built);
      if (!isDuplicateKey(err)) throw err;
      return (await this.networkOf(projectId))!;
    }
    await api.collection('networks')!.update(ctx, built.networkId!, { network: { admin_state_up: true } });
    return built.networkId!;
  }

  /** dry-run: what a build needs is there (a default external network, a default pool). */
  async check(ctx: RequestContext): Promise<void> {
    await this.defaultExternalNetwork();
    if ((await this.defaultPools(ctx)).length === 0) throw autoAllocationFailure('No default subnetpools defined');
  }

  async delete(ctx: RequestContext, api: ApiServices, projectId: string): Promise<void> {
    const row = await this.db.kysely.selectFrom('auto_allocated_topologies').selectAll().where('project_id', '=', projectId).executeTakeFirst();
    if (!row) return;
    const subnets = await this.db.kysely.selectFrom('subnets').select('id').where('network_id', '=', row.network_id).execute();
    await this.cleanup(ctx, api, { networkId: row.network_id, routerId: row.router_id ?? undefined, subnetIds: subnets.map((s) => s.id) });
  }

  private async networkOf(projectId: string): Promise<string | undefined> {
    const row = await this.db.kysely
      .selectFrom('auto_allocated_topologies')
      .select('network_id')
      .where('project_id', '=', projectId)
      .executeTakeFirst();
    return row?.network_id;
  }

  private async defaultExternalNetwork(): Promise<string> {
    const row = await this.db.kysely
      .selectFrom('networks')
      .select('id')
      .where('is_default', '=', 1)
      .where('router_external', '=', 1)
      .orderBy('created_at')
      .executeTakeFirst();
    if (!row) throw autoAllocationFailure('No default router:external network');
    return row.id;
  }

  private async defaultPools(ctx: RequestContext): Promise<Array<{ id: string; version: 4 | 6 }>> {
    const out: Array<{ id: string; version: 4 | 6 }> = [];
    for (const version of [4, 6] as const) {
      const pool = await defaultPool(this.db, this.db.kysely, ctx, version);
      if (pool) out.push({ id: pool.id, version });
    }
    return out;
  }

  private async provisionNetwork(ctx: RequestContext, api: ApiServices, projectId: string, built: Built): Promise<void> {
    try {
      const pools = await this.defaultPools(ctx);
      if (pools.length === 0) throw autoAllocationFailure('Unable to provide tenant private network');
      const net = await api.collection('networks')!.create(ctx, {
        network: { name: 'auto_allocated_network', admin_state_up: false, tenant_id: projectId, shared: false },
      });
      built.networkId = (net.body.network as Rec).id as string;
      for (const pool of pools) {
        const sub = await api.collection('subnets')!.create(ctx, {
          subnet: {
            name: `auto_allocated_subnet_v${pool.version}`,
            network_id: built.networkId,
            tenant_id: projectId,
            ip_version: pool.version,
            subnetpool_id: pool.id,
          },
        });
        built.subnetIds.push((sub.body.subnet as Rec).id as string);
      }
    } catch (err) {
      if (err instanceof NeutronError && err.status >= 400 && err.status < 500) {
        throw autoAllocationFailure('Unable to provide tenant private network');
      }
      throw err;
    }
  }

  private async provisionRouter(ctx: RequestContext, api: ApiServices, projectId: string, external: string, built: Built): Promise<void> {
    try {
      const router = await api.collection('routers')!.create(ctx, {
        router: { name: 'auto_allocated_router', external_gateway_info: { network_id: external }, tenant_id: projectId, admin_state_up: true },
      });
      built.routerId = (router.body.router as Rec).id as string;
      for (const subnetId of built.subnetIds) await this.routers.action!(ctx, built.routerId, 'add_router_interface', { subnet_id: subnetId });
    } catch (err) {
      if (err instanceof NeutronError && err.status === 400) throw autoAllocationFailure('Unable to provide external connectivity');
      throw err;
    }
  }

  /** Removes what a build made; what is already gone (a concurrent delete) is no error. */
  private async cleanup(ctx: RequestContext, api: ApiServices, built: Built): Promise<void> {
    if (built.routerId) {
      for (const subnetId of built.subnetIds) {
        await ignoreNotFound(() => this.routers.action!(ctx, built.routerId!, 'remove_router_interface', { subnet_id: subnetId }));
      }
      await ignoreNotFound(() => api.collection('routers')!.delete(ctx, built.routerId!));
    }
    if (built.networkId) await ignoreNotFound(() => api.collection('networks')!.delete(ctx, built.networkId!));
  }
}

async function ignoreNotFound(fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (!(err instanceof NeutronError && err.status === 404)) throw err;
  }
}

// /v2.0/quotas (quotas and quota_details extensions): list non-default quotas, show, update,
// reset (DELETE), defaults and usage details per project. An update checks the project's usage
// first: a limit below what the project already has is refused. With quota-check-limit-default
// listed (Neutron since 2025.1) every update is checked unless the body says `force: true`
// (`check_limit` changes nothing); without it (Neutron up to 2024.2, quota-check-limit) only one
// that says `check_limit: true`. The check runs in the update's transaction under
// the project's lock row, which creates in the project take while its limits are enforced.
import type { ApiRoute, ApiServices } from '../../core/api-route.js';
import type { RequestContext } from '../../core/context.js';
import { badRequest } from '../../core/errors.js';
import type { Tx } from '../../db/tx.js';
import type { Db } from '../../db/connection.js';
import type { QuotaEngine } from '../../quota/quota.js';
import { policyNotAuthorized } from '../../core/errors.js';
import { clearQuotas, projectsWithQuotas, setQuotas } from './store.js';

const MAX_QUOTA = 2 ** 31 - 1;

const projectTarget = (projectId: string) => ({ project_id: projectId, tenant_id: projectId });

/** Like Neutron, a project may always read its own quota. */
function enforce(api: ApiServices, ctx: RequestContext, action: string, projectId: string): void {
  if (action === 'get_quota' && ctx.projectId === projectId) return;
  if (!api.allowed(ctx, action, projectTarget(projectId))) throw policyNotAuthorized(action);
}

function parseUpdate(quota: QuotaEngine, body: unknown): Record<string, number> {
  const q = (body as { quota?: unknown } | undefined)?.quota;
  if (!q || typeof q !== 'object' || Array.isArray(q)) throw badRequest("Unable to find 'quota' in request body");
  const known = new Set(quota.resources());
  const out: Record<string, number> = {};
  const unknown = Object.keys(q).filter((k) => !known.has(k) && k !== 'force' && k !== 'check_limit');
  if (unknown.length) throw badRequest(`Unrecognized attribute(s) '${unknown.join(', ')}'`);
  for (const [k, v] of Object.entries(q as Record<string, unknown>)) {
    if (!known.has(k)) continue;
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : NaN;
    if (!Number.isInteger(n)) throw badRequest(`Invalid input for ${k}. Reason: '${String(v)}' is not an integer.`);
    if (n < -1 || n > MAX_QUOTA) throw badRequest(`Invalid input for ${k}. Reason: '${n}' is not in range -1 through ${MAX_QUOTA}.`);
    out[k] = n;
  }
  return out;
}

/** Refuses a limit below the project's usage (-1, unlimited, never is). */
async function checkLimits(tx: Tx, quota: QuotaEngine, projectId: string, limits: Record<string, number>): Promise<void> {
  await quota.lockProject(tx, projectId);
  for (const [resource, limit] of Object.entries(limits)) {
    if (limit === -1) continue;
    const used = await quota.used(tx, projectId, resource);
    if (used > limit) {
      throw badRequest(`Quota limit ${limit} for ${resource} must be greater than or equal to already used ${used}`);
    }
  }
}

export function quotaRoutes(db: Db, quota: QuotaEngine, opts: { checkByDefault: boolean }): ApiRoute[] {
  const project = (p: Record<string, string>) => p.project!;
  return [
    {
      method: 'GET',
      path: '/quotas',
      async handle(r, api) {
        const quotas = [];
        for (const projectId of await projectsWithQuotas(db)) {
          if (!api.allowed(r.ctx, 'get_quota', projectTarget(projectId))) continue;
          quotas.push({ ...(await quota.limits(db.kysely, projectId)), ...projectTarget(projectId) });
        }
        return { quotas };
      },
    },
    { method: 'GET', path: '/quotas/tenant', handle: async (r) => ({ tenant: { tenant_id: r.ctx.projectId } }) },
    { method: 'GET', path: '/quotas/project', handle: async (r) => ({ project: { project_id: r.ctx.projectId } }) },
    {
      method: 'GET',
      path: '/quotas/:project',
      async handle(r, api) {
        enforce(api, r.ctx, 'get_quota', project(r.params));
        return { quota: await quota.limits(db.kysely, project(r.params)) };
      },
    },
    {
      method: 'GET',
      path: '/quotas/:project/default',
      async handle(r, api) {
        enforce(api, r.ctx, 'get_quota', project(r.params));
        return { quota: quota.defaultLimits() };
      },
    },
    {
      method: 'GET',
      path: '/quotas/:project/details',
      async handle(r, api) {
        enforce(api, r.ctx, 'get_quota', project(r.params));
        const limits = await quota.limits(db.kysely, project(r.params));
        const used = await quota.usage(db.kysely, project(r.params));
        const out: Record<string, { limit: number; used: number; reserved: number }> = {};
        for (const [res, limit] of Object.entries(limits)) out[res] = { limit, used: used[res] ?? 0, reserved: 0 };
        return { quota: out };
      },
    },
    {
      method: 'PUT',
      path: '/quotas/:project',
      async handle(r, api) {
        enforce(api, r.ctx, 'update_quota', project(r.params));
        const limits = parseUpdate(quota, r.body);
        const given = (r.body as { quota: Record<string, unknown> }).quota;
        const check = opts.checkByDefault ? given.force !== true : given.check_limit === true;
        await setQuotas(db, project(r.params), limits, check ? (tx) => checkLimits(tx, quota, project(r.params), limits) : undefined);
        return { quota: await quota.limits(db.kysely, project(r.params)) };
      },
    },
    {
      method: 'DELETE',
      path: '/quotas/:project',
      status: 204,
      async handle(r, api) {
        enforce(api, r.ctx, 'delete_quota', project(r.params));
        await clearQuotas(db, project(r.params));
      },
    },
  ];
}

// /v2.0/quotas (quotas and quota_details extensions): list non-default quotas, show, update,
// reset (DELETE), defaults and usage details per project.
import type { FastifyInstance } from 'fastify';
import type { RequestContext } from '../core/context.js';
import type { Db } from '../db/connection.js';
import { inTransaction } from '../db/tx.js';
import type { PolicyEngine } from '../policy/engine.js';
import type { QuotaEngine } from '../quota/quota.js';
import { credentialsOf } from './controller.js';
import { NeutronError, badRequest } from '../core/errors.js';
import type { RouteHelpers } from './server.js';

const MAX_QUOTA = 2 ** 31 - 1;

export function quotaRoutes(db: Db, quota: QuotaEngine, policy: PolicyEngine) {
  const enforce = (ctx: RequestContext, action: string, projectId: string) => {
    // Like Neutron, a project may always read its own quota.
    if (action === 'get_quota' && ctx.projectId === projectId) return;
    if (!policy.check(action, { project_id: projectId, tenant_id: projectId }, credentialsOf(ctx))) {
      throw new NeutronError(403, 'PolicyNotAuthorized', `(rule:${action}) is disallowed by policy`);
    }
  };

  const parseUpdate = (body: unknown): Record<string, number> => {
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
  };

  return (app: FastifyInstance, h: RouteHelpers): void => {
    type P = { Params: { project: string } };
    app.get('/v2.0/quotas', async (req) => {
      const ctx = h.ctx(req);
      const rows = await db.kysely.selectFrom('quotas').select('project_id').distinct().execute();
      const quotas = [];
      for (const { project_id } of rows) {
        if (!policy.check('get_quota', { project_id, tenant_id: project_id }, credentialsOf(ctx))) continue;
        quotas.push({ ...(await quota.limits(db.kysely, project_id)), project_id, tenant_id: project_id });
      }
      return { quotas };
    });
    app.get('/v2.0/quotas/tenant', async (req) => ({ tenant: { tenant_id: h.ctx(req).projectId } }));
    app.get('/v2.0/quotas/project', async (req) => ({ project: { project_id: h.ctx(req).projectId } }));
    app.get<P>('/v2.0/quotas/:project', async (req) => {
      enforce(h.ctx(req), 'get_quota', req.params.project);
      return { quota: await quota.limits(db.kysely, req.params.project) };
    });
    app.get<P>('/v2.0/quotas/:project/default', async (req) => {
      enforce(h.ctx(req), 'get_quota', req.params.project);
      return { quota: quota.defaultLimits() };
    });
    app.get<P>('/v2.0/quotas/:project/details', async (req) => {
      enforce(h.ctx(req), 'get_quota', req.params.project);
      const limits = await quota.limits(db.kysely, req.params.project);
      const used = await quota.usage(db.kysely, req.params.project);
      const out: Record<string, { limit: number; used: number; reserved: number }> = {};
      for (const [r, limit] of Object.entries(limits)) out[r] = { limit, used: used[r] ?? 0, reserved: 0 };
      return { quota: out };
    });
    app.put<P>('/v2.0/quotas/:project', async (req) => {
      enforce(h.ctx(req), 'update_quota', req.params.project);
      const changes = parseUpdate(req.body);
      const project = req.params.project;
      await inTransaction(db, async (tx) => {
        for (const [resource, limit] of Object.entries(changes)) {
          await tx.deleteFrom('quotas').where('project_id', '=', project).where('resource', '=', resource).execute();
          await tx.insertInto('quotas').values({ project_id: project, resource, hard_limit: limit }).execute();
        }
      });
      return { quota: await quota.limits(db.kysely, project) };
    });
    app.delete<P>('/v2.0/quotas/:project', async (req, reply) => {
      enforce(h.ctx(req), 'delete_quota', req.params.project);
      await db.kysely.deleteFrom('quotas').where('project_id', '=', req.params.project).execute();
      return reply.status(204).send();
    });
  };
}

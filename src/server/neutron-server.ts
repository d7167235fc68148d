// Assembles the API server from configuration: database (migrated), ML2 core plugin, quotas,
// policy, auth, and the HTTP routes.
import { mkdirSync, existsSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/index.js';
import { openDb, type Db } from '../db/connection.js';
import { upgrade } from '../db/migrate.js';
import { buildApi, type Authenticator } from '../api/server.js';
import { CollectionController } from '../api/controller.js';
import { tagRoutes } from '../api/tag-routes.js';
import { quotaRoutes } from '../api/quota-routes.js';
import { CORE_EXTENSIONS } from '../definitions/extensions.js';
import type { ResourceDef } from '../definitions/types.js';
import { PolicyEngine } from '../policy/engine.js';
import { QuotaEngine, tableCounter } from '../quota/quota.js';
import { TypeDrivers } from '../plugins/ml2/type-drivers.js';
import { NetworkHandler } from '../plugins/ml2/networks.js';
import { SubnetHandler } from '../plugins/ml2/subnets.js';
import { PortHandler } from '../plugins/ml2/ports.js';
import type { Ml2Context } from '../plugins/ml2/context.js';
import type { ResourceHandler } from '../api/resource-handler.js';
import { TagStore } from '../plugins/common/tags.js';
import { makeAuthenticator } from './auth.js';
import { hostname } from 'node:os';
import type { RpcBus, RpcServerHandle } from '../rpc/index.js';
import { AgentHandler } from '../plugins/agents/agents.js';
import { serveReportState } from '../plugins/agents/report-state.js';
import { coreSettings, databaseUrl, ml2Settings, quotaDefaults } from './settings.js';

export interface NeutrinoServer {
  app: FastifyInstance;
  db: Db;
  ml2: Ml2Context;
  close(): Promise<void>;
}

/** Keeps only the attributes of extensions that are on. */
function activeDef(def: ResourceDef, aliases: Set<string>): ResourceDef {
  const attributes = Object.fromEntries(Object.entries(def.attributes).filter(([, a]) => !a.extension || aliases.has(a.extension)));
  return { ...def, attributes };
}

function policyFile(cfg: Config, configFiles: string[]): string | undefined {
  const name = cfg.oslo_policy.policy_file;
  if (!name) return undefined;
  if (isAbsolute(name)) return existsSync(name) ? name : undefined;
  for (const f of configFiles) {
    const p = join(dirname(f), name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

export async function createServer(cfg: Config, opts: {
  configFiles?: string[]; authenticate?: Authenticator; logger?: boolean;
  /** RPC bus: when given, the server answers agents' report_state on q-reports-plugin. The caller owns (closes) it. */
  bus?: RpcBus | null;
} = {}): Promise<NeutrinoServer> {
  const startTime = Date.now();
  mkdirSync(cfg.DEFAULT.state_path, { recursive: true });
  const db = openDb(databaseUrl(cfg));
  await upgrade(db);
  const ml2s = ml2Settings(cfg);
  const types = new TypeDrivers(ml2s, db);
  await types.syncAllocations();
  const quota = new QuotaEngine(db, quotaDefaults(cfg));
  quota.register('network', 100, tableCounter('networks'));
  quota.register('subnet', 100, tableCounter('subnets'));
  quota.register('port', 500, tableCounter('ports'));
  const ml2: Ml2Context = { db, types, quota, ml2: ml2s, core: coreSettings(cfg) };
  const policy = new PolicyEngine({ policyFile: policyFile(cfg, opts.configFiles ?? []) });

  const extensions = CORE_EXTENSIONS;
  const aliases = new Set(extensions.map((e) => e.alias));
  const handlers: ResourceHandler[] = [new NetworkHandler(ml2), new SubnetHandler(ml2), new PortHandler(ml2)];
  if (aliases.has('agent')) handlers.push(new AgentHandler(db, { agentDownTime: cfg.DEFAULT.agent_down_time }));
  const controllers = handlers.map((h) => {
    const def = activeDef(h.def, aliases);
    (h as { def: ResourceDef }).def = def;
    return new CollectionController(h, policy);
  });

  const app = buildApi({
    controllers,
    extensions,
    authenticate: opts.authenticate ?? makeAuthenticator(cfg, policy),
    paginationMaxLimit: cfg.DEFAULT.pagination_max_limit,
    logger: opts.logger ?? false,
    extraRoutes: [tagRoutes(new TagStore(db)), quotaRoutes(db, quota, policy)],
  });
  // Agents' heartbeats. On RabbitMQ serve() waits for the broker: the API does not wait with it.
  let closed = false;
  let reports: Promise<RpcServerHandle | null> = Promise.resolve(null);
  if (opts.bus) {
    reports = serveReportState(opts.bus, hostname(), db, { agentDownTime: cfg.DEFAULT.agent_down_time, startTime })
      .then(async (h) => {
        if (closed) await h.stop();
        return closed ? null : h;
      }, () => null);
    if (opts.bus.transport === 'memory') await reports;
  }
  return {
    app, db, ml2,
    async close() {
      closed = true;
      const handle = await Promise.race([reports, Promise.resolve(null)]);
      await handle?.stop();
      await app.close();
      await db.close();
    },
  };
}

// Assembles the API server from configuration: the database (migrated), the core plugin's shared
// state, the plugins the configuration loads (src/server/plugins.ts), and from what they declare
// (src/plugins/contract.ts) the HTTP API, the RPC endpoints, the quotas and /v2.0/extensions.
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { ApiServices } from '../core/api-route.js';
import { CallbackRegistry } from '../core/callbacks.js';
import type { Config } from '../config/index.js';
import { openDb, reachDatabase, type Db } from '../db/connection.js';
import { DatabaseUnreachableError, isConnectionError } from '../db/errors.js';
import { upgrade } from '../db/migrate.js';
import { apiServices, buildApi, type Authenticator } from '../api/server.js';
import { CollectionController } from '../api/controller.js';
import { KNOWN_EXTENSIONS } from '../definitions/extensions.js';
import type { ResourceDef } from '../core/definition.js';
import { policyFromConfig } from '../policy/from-config.js';
import type { PolicyEngine } from '../policy/engine.js';
import { credentialsOf } from '../policy/credentials.js';
import { QuotaEngine } from '../quota/quota.js';
import type { RpcBus } from '../rpc/index.js';
import type { PluginContext, PluginDefinition, ServicePlugin } from '../plugins/contract.js';
import type { Ml2Context } from '../plugins/ml2/context.js';
import { TypeDrivers } from '../plugins/ml2/type-drivers.js';
import type { RbacKind } from '../plugins/rbac/kinds.js';
import { RpcRegistry } from './rpc-registry.js';
import { serveReportState } from '../plugins/agents/report-state.js';
import { makeAuthenticator } from './auth.js';
import { pluginsFor } from './plugins.js';
import { coreSettings, databaseUrl, ml2Settings, quotaDefaults, readerUrl } from './settings.js';
import { serveInBackground, type Serving } from './serve-rpc.js';
import { serverMetrics } from './metrics.js';
import type { Registry } from 'prom-client';
import { healthBackends } from './health.js';
import { registerHealthcheck } from '../api/healthcheck.js';
import { once, openApiDocument, serveOpenApi } from '../api/openapi/index.js';
import { packageVersion } from '../core/version.js';
import { serveUi } from '../api/ui/index.js';

export interface NeutrinoServer {
  app: FastifyInstance;
  db: Db;
  /** The extension aliases the loaded plugins brought. */
  aliases: ReadonlySet<string>;
  /** Their default policy rules, overlaid with the configured policy files. */
  policy: PolicyEngine;
  /** Resolves when every notification sent so far has been handed to the transport. */
  settled(): Promise<void>;
  /** The OpenAPI 3.1 document of what this server serves (GET /v2.0/openapi.json). */
  openapi(): Record<string, unknown>;
  /** The registry /metrics serves ([metrics] enabled), for what runs beside the server (the aio's agents). */
  metricsRegistry: Registry | null;
  close(): Promise<void>;
}

/** Keeps only the attributes of extensions that are on, updatable and validated as the extensions on say. */
function activeDef(def: ResourceDef, aliases: ReadonlySet<string>): ResourceDef {
  const attributes = Object.fromEntries(
    Object.entries(def.attributes)
      .filter(([, a]) => !a.extension || aliases.has(a.extension))
      .map(([name, a]) => [name, a.putWith && aliases.has(a.putWith) ? { ...a, allowPut: true } : a] as const)
      .map(([name, a]) => [name, a.widenedBy && aliases.has(a.widenedBy.extension) ? { ...a, validate: a.widenedBy.validate } : a]),
  );
  return { ...def, attributes };
}

/** The core plugin's shared state, from the migrated database and the configuration. */
async function coreState(cfg: Config, db: Db): Promise<Ml2Context> {
  // The allocations are synced once the plugins are created (the segment range plugin changes where ranges come from).
  const types = new TypeDrivers(ml2Settings(cfg), db);
  const quota = new QuotaEngine(db, quotaDefaults(cfg));
  return { db, types, quota, ml2: ml2Settings(cfg), core: coreSettings(cfg), callbacks: new CallbackRegistry(), extensions: [] };
}

/** Creates the plugins in order; each one's ML2 extension drivers and quotas take effect at once. */
async function createPlugins(
  definitions: readonly PluginDefinition[],
  base: Omit<PluginContext, 'exportsOf' | 'rbacKinds'>,
): Promise<ServicePlugin[]> {
  const plugins = new Map<string, ServicePlugin>();
  const ctx: PluginContext = {
    ...base,
    exportsOf: <T>(name: string) => plugins.get(name)?.exports as T | undefined,
    rbacKinds: () => [...plugins.values()].flatMap((p): RbacKind[] => p.rbacKinds ?? []),
  };
  for (const d of definitions) {
    const p = await d.create(ctx);
    plugins.set(d.name, p);
    base.ml2.extensions!.push(...(p.ml2Extensions ?? []));
    for (const q of p.quotas ?? []) base.quota.register(q.resource, q.default, q.counter);
  }
  return [...plugins.values()];
}

/** The collections as plugins may act on them, usable once `bind` gave it the controllers. */
function lateApiServices(allowed: ApiServices['allowed']): { services: ApiServices; bind(controllers: CollectionController[]): void } {
  let api: ApiServices | null = null;
  return {
    services: { collection: (c) => api?.collection(c), collections: () => api?.collections() ?? [], allowed },
    bind: (controllers) => {
      api = apiServices(controllers, allowed);
    },
  };
}

/** The agents' RPC: every plugin's endpoints (each topic served once) and the heartbeats. */
function serveAgents(bus: RpcBus, plugins: readonly ServicePlugin[], db: Db, cfg: Config, startTime: number, reportsOnly: boolean): Promise<Serving> {
  const rpc = new RpcRegistry();
  for (const e of plugins.flatMap((p) => p.rpc ?? [])) rpc.add(e.topic, e.handlers);
  // Neutron's server serves `<topic>.<[DEFAULT] host>` too.
  const host = cfg.DEFAULT.host || hostname();
  const reports = () => serveReportState(bus, host, db, { agentDownTime: cfg.DEFAULT.agent_down_time, startTime }).then((h) => [h]);
  return serveInBackground(bus, reportsOnly ? [reports] : [reports, () => rpc.serveAll(bus, host)]);
}

export async function createServer(
  cfg: Config,
  opts: {
    configFiles?: string[];
    authenticate?: Authenticator;
    /** RPC bus: when given, the server answers the agents and notifies them. The caller owns (closes) it. */
    bus?: RpcBus | null;
    /** Told of each failed attempt to reach the database at start-up. */
    onDatabaseRetry?: (attempt: number, reason: string) => void;
    /**
     * Whether this process answers the agents on the bus (default: yes). An API worker whose
     * agents' RPC runs in RPC workers (src/server/workers.ts) still notifies them on the bus.
     * 'reports': report_state only (a state-report worker).
     */
    serveRpc?: boolean | 'reports';
  } = {},
): Promise<NeutrinoServer> {
  const startTime = Date.now();
  mkdirSync(cfg.DEFAULT.state_path, { recursive: true });
  const db = openDb(databaseUrl(cfg), {
    size: cfg.database.max_pool_size,
    overflow: cfg.database.max_overflow,
    connectTimeoutMs: cfg.database.pool_timeout * 1000,
    queryTimeoutMs: cfg.database.query_timeout * 1000,
    ...(readerUrl(cfg) ? { readerUrl: readerUrl(cfg)! } : {}),
  });
  try {
    await reachDatabase(db, {
      retries: cfg.database.max_retries,
      intervalMs: cfg.database.retry_interval * 1000,
      ...(opts.onDatabaseRetry ? { onRetry: opts.onDatabaseRetry } : {}),
    });
  } catch (err) {
    await db.close();
    throw err;
  }
  const ml2 = await startingUp(db, async () => {
    await upgrade(db);
    return coreState(cfg, db);
  });
  const health = healthBackends(cfg, db, opts.bus ?? null);
  const metrics = serverMetrics(cfg, db, opts.bus ?? null);
  const bus = metrics?.bus ?? opts.bus ?? null;

  // Every plugin's extensions are known before any is created (features that need another's check them).
  const definitions = pluginsFor(cfg);
  const loaded = new Set(definitions.map((d) => d.name));
  const aliases = new Set(definitions.flatMap((d) => d.aliases(cfg, loaded)));
  const policy = policyFromConfig(
    cfg,
    opts.configFiles ?? [],
    definitions.flatMap((d) => d.policies ?? []),
  );
  const allowed: ApiServices['allowed'] = (ctx, action, target) => policy.check(action, target, credentialsOf(ctx));
  const api = lateApiServices(allowed);
  const plugins = await createPlugins(definitions, { cfg, db, ml2, quota: ml2.quota, callbacks: ml2.callbacks, bus, aliases, api: api.services });
  await startingUp(db, () => ml2.types.syncAllocations());

  const controllers = plugins
    .flatMap((p) => p.resources ?? [])
    .map((h) => {
      (h as { def: ResourceDef }).def = activeDef(h.def, aliases);
      return new CollectionController(h, policy);
    });
  const served = controllers.map((c) => c.def);
  const extensions = KNOWN_EXTENSIONS.filter((e) => aliases.has(e.alias));
  const routes = plugins.flatMap((p) => (typeof p.routes === 'function' ? p.routes(served) : (p.routes ?? [])));
  const app = buildApi({
    controllers,
    extensions,
    authenticate: opts.authenticate ?? makeAuthenticator(cfg, policy),
    paginationMaxLimit: cfg.DEFAULT.pagination_max_limit,
    isUnavailable: isConnectionError,
    allowBulk: cfg.DEFAULT.allow_bulk,
    maxBulkItems: cfg.DEFAULT.max_bulk_items,
    routes,
    allowed,
  });
  api.bind(controllers);
  metrics?.serve(app);
  registerHealthcheck(app, { backends: health, detailed: cfg.healthcheck.detailed });
  const openapi = once(() => openApiDocument({ resources: served, extensions, routes, version: packageVersion(), metrics: cfg.metrics.enabled }));
  serveOpenApi(app, openapi);
  if (cfg.ui.enabled) {
    const auth = cfg.DEFAULT.auth_strategy === 'noauth' ? 'noauth' : 'keystone';
    serveUi(app, { auth, keystoneUrl: cfg.keystone_authtoken.auth_url, callbacks: ml2.callbacks, allowed });
  }

  const serving = bus && opts.serveRpc !== false ? await serveAgents(bus, plugins, db, cfg, startTime, opts.serveRpc === 'reports') : null;
  const settled = async () => {
    for (const p of plugins) await p.settled?.();
  };
  return {
    app,
    db,
    aliases,
    policy,
    settled,
    openapi,
    metricsRegistry: metrics?.registry ?? null,
    async close() {
      // HTTP first: requests in flight finish (and notify), then the agents' RPC, then what
      // those requests notified is handed to the bus before the database goes.
      await app.close();
      await serving?.stop();
      await settled();
      await db.close();
    },
  };
}

/**
 * A start-up step on the database: no `[database] query_timeout` (a schema upgrade's DDL on a busy
 * server may take longer than a request's statement should), and a lost connection is reported
 * as the database being unreachable, naming it, rather than as the driver's words.
 */
async function startingUp<T>(db: Db, step: () => Promise<T>): Promise<T> {
  try {
    return await (db.withoutQueryTimeout ? db.withoutQueryTimeout(step) : step());
  } catch (err) {
    if (isConnectionError(err)) throw new DatabaseUnreachableError(db.describe, 1, (err as Error).message);
    throw err;
  }
}

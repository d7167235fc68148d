// The service-plugin contract: everything a plugin brings to the server, declared in one place.
// The server (src/server/) loads the plugins the configuration names, in catalogue order, and
// assembles the API, the RPC endpoints and the quotas from what they declare; plugins react to
// each other only through the callbacks registry (src/core/callbacks.ts).
//
// A plugin is loaded in two steps: `aliases()` first, for every plugin named in the
// configuration, so that each plugin's `create()` knows the whole set of extensions that will be
// listed (a feature that needs another plugin's extension checks `ctx.aliases`).
import type { ApiRoute, ApiServices } from '../core/api-route.js';
import type { CallbackRegistry } from '../core/callbacks.js';
import type { ResourceHandler } from '../core/resource.js';
import type { ResourceDef } from '../core/definition.js';
import type { Config } from '../config/index.js';
import type { Db } from '../db/connection.js';
import type { Counter, QuotaEngine } from '../quota/quota.js';
import type { RpcBus, RpcHandlers } from '../rpc/index.js';
import type { Ml2Context } from './ml2/context.js';
import type { Ml2ExtensionDriver } from './ml2/extension-drivers.js';
import type { RbacKind } from './rbac/kinds.js';
import type { RuleSpec } from '../policy/defaults.js';

export interface PluginContext {
  cfg: Config;
  db: Db;
  /** The core (ML2) plugin's shared state: type drivers, quotas, settings, callbacks. */
  ml2: Ml2Context;
  quota: QuotaEngine;
  callbacks: CallbackRegistry;
  /** The RPC bus to the agents; null for an API-only server (tests). */
  bus: RpcBus | null;
  /** Every extension alias the loaded plugins bring. */
  aliases: ReadonlySet<string>;
  /**
   * The served collections, as the API would act on them (validation, defaults, policy): for
   * plugins that write other plugins' resources the way a client would (the DHCP agent's ports).
   * Usable once the server is assembled, i.e. from request and RPC handlers, not in create().
   */
  api: ApiServices;
  /** The RBAC object types the plugins loaded so far declare (the RBAC plugin loads last). */
  rbacKinds(): RbacKind[];
  /** What an earlier plugin exported (`ServicePlugin.exports`), by plugin name. */
  exportsOf<T>(plugin: string): T | undefined;
}

export interface QuotaResource {
  resource: string;
  /** Default limit when neither [quotas] quota_<resource> nor a project override sets one. */
  default: number;
  counter: Counter;
}

export interface RpcEndpoint {
  topic: string;
  handlers: RpcHandlers;
}

export interface ServicePlugin {
  /** Collections served by the generic controller (with their member actions). */
  resources?: ResourceHandler[];
  /** Other routes (sub-resources, catalogues); a function gets the definitions of every served collection. */
  routes?: ApiRoute[] | ((served: readonly ResourceDef[]) => ApiRoute[]);
  /** RPC methods for the agents, by topic (one server per topic serves every plugin's methods). */
  rpc?: RpcEndpoint[];
  /** Attributes this plugin adds to networks, ports and floating IPs. */
  ml2Extensions?: Ml2ExtensionDriver[];
  quotas?: QuotaResource[];
  /** Object types this plugin's resources can be shared as through rbac-policies. */
  rbacKinds?: RbacKind[];
  /** Anything later plugins may use (found with ctx.exportsOf(name)). */
  exports?: unknown;
  /** Resolves when the notifications sent so far have been handed to the transport. */
  settled?(): Promise<void>;
}

export interface PluginDefinition {
  /** The name `[DEFAULT] service_plugins` uses (Neutron's entry point name), e.g. 'router'. */
  name: string;
  /** Neutron's class paths for the same plugin, accepted in service_plugins too. */
  classPaths?: string[];
  /** Its default policy rules (Neutron's conf/policies of its resources): none are defined without it. */
  policies?: readonly RuleSpec[];
  /** The extension aliases it brings under this configuration, given the other loaded plugins. */
  aliases(cfg: Config, loaded: ReadonlySet<string>): string[];
  create(ctx: PluginContext): ServicePlugin | Promise<ServicePlugin>;
}

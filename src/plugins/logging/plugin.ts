// The logging service plugin (`log`, Neutron's LoggingPlugin): /v2.0/log/logs and
// /v2.0/log/loggable-resources (logging), with the Linux-bridge log driver: security group
// logs, which the L2 agents' `log` extension writes (src/agents/linuxbridge/network-log.ts).
// Agents ask on LOGGING_PLUGIN_TOPIC which logs bind their ports and hear of changed logs on
// LOG_PUSH_TOPIC (Neutron's push of Log objects).
import type { PluginDefinition } from '../contract.js';
import type { RequestContext } from '../../core/context.js';
import type { ListQuery } from '../../core/list-query.js';
import type { Rec, ResourceHandler } from '../../core/resource.js';
import { Events, type EventPayload } from '../../core/callbacks.js';
import { httpNotFound } from '../../core/errors.js';
import { adminContext } from '../../core/context.js';
import { getLogger } from '../../core/log.js';
import { LOG_PUSH_TOPIC, LOGGING_PLUGIN_TOPIC } from '../../core/wire.js';
import type { Tx } from '../../db/tx.js';
import { loggableResourceDef } from '../../definitions/logging.js';
import { newRpcContext, type RpcBus } from '../../rpc/index.js';
import { LOGGING_RULES } from '../../policy/defaults/logging.js';
import { LogHandler, SUPPORTED_LOGGING_TYPES, type LogNotifier } from './logs.js';
import { loggingRpcHandlers } from './rpc.js';

/** /v2.0/log/loggable-resources: one {type} per supported logging type. */
class LoggableResourceHandler implements ResourceHandler {
  readonly def = loggableResourceDef;
  notFound(id: string): Error {
    return httpNotFound(`Loggable resource ${id} could not be found.`);
  }
  async get(): Promise<Rec | null> {
    return null;
  }
  async list(_ctx: RequestContext, _q: ListQuery): Promise<Rec[]> {
    return SUPPORTED_LOGGING_TYPES.map((type) => ({ type }));
  }
  async create(): Promise<Rec[]> {
    throw new Error('loggable resources are read-only');
  }
  async update(): Promise<Rec> {
    throw new Error('loggable resources are read-only');
  }
  async delete(): Promise<void> {
    throw new Error('loggable resources are read-only');
  }
}

/** Fans the changed logs out to the agents, in order, after the commit; settled() waits for them. */
class LogPushNotifier implements LogNotifier {
  private chain: Promise<void> = Promise.resolve();
  constructor(
    private readonly bus: RpcBus | null,
    private readonly warn: (msg: string, err: unknown) => void,
  ) {}
  changed(ctx: RequestContext, logs: Rec[], event: 'created' | 'updated' | 'deleted'): void {
    const bus = this.bus;
    if (!bus || !logs.length) return;
    // The shape of an oslo versioned object's primitive, as Neutron's ResourcesPushRpcApi sends.
    const resourceList = logs.map((l) => ({
      'versioned_object.name': 'Log',
      'versioned_object.namespace': 'versionedobjects',
      'versioned_object.version': '1.0',
      'versioned_object.data': {
        id: l.id,
        project_id: l.project_id,
        name: l.name,
        resource_type: l.resource_type,
        resource_id: l.resource_id,
        target_id: l.target_id,
        event: l.event,
        enabled: l.enabled,
      },
    }));
    this.chain = this.chain
      .then(() => bus.fanout(LOG_PUSH_TOPIC, 'push', { resource_list: resourceList, event_type: event }, { context: newRpcContext(ctx.projectId) }))
      .catch((err: unknown) => this.warn('log notification failed', err));
  }
  settled(): Promise<void> {
    return this.chain;
  }
}

export const loggingPlugin: PluginDefinition = {
  name: 'log',
  policies: LOGGING_RULES,
  classPaths: ['neutron.services.logapi.logging_plugin.LoggingPlugin'],
  aliases: () => ['logging'],
  create(ctx) {
    const log = getLogger('neutrino.logging');
    const notifier = new LogPushNotifier(ctx.bus, (msg, err) => log.warn({ err: (err as Error).message }, msg));
    const logs = new LogHandler(ctx.db, notifier);
    // A security group's logs go with it (after the delete, as in Neutron); a port's logs go in
    // the port's own delete transaction.
    ctx.callbacks.subscribe(
      'security_group',
      Events.AFTER_DELETE,
      async (p: EventPayload) => {
        const gone = await logs.deleteNaming('resource_id', p.resourceId);
        if (gone.length) notifier.changed(adminContext(), gone, 'deleted');
      },
      { name: 'logging' },
    );
    ctx.callbacks.subscribe(
      'port',
      Events.PRECOMMIT_DELETE,
      async (p: EventPayload) => {
        await (p.tx as Tx).deleteFrom('logs').where('target_id', '=', p.resourceId).execute();
      },
      { name: 'logging' },
    );
    return {
      resources: [logs, new LoggableResourceHandler()],
      rpc: [{ topic: LOGGING_PLUGIN_TOPIC, handlers: loggingRpcHandlers(ctx.db.kysely) }],
      settled: () => notifier.settled(),
    };
  },
};

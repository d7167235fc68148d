// Two service plugins on the L3 router plugin: `port_forwarding` (floating IP port forwardings,
// shown on floating IPs) and `conntrack_helper` (router conntrack helpers, shown on routers).
// Both reach the L3 agent through sync_routers: the forwardings as each floating IP's
// `port_forwardings`, the helpers as the router's `conntrack_helpers`, the same dicts the API
// shows (Neutron's agent pulls the objects from its resource cache instead; one path here means
// a change is one routers_updated and one pass of the router). Without the router plugin they
// bring nothing.
import { Events, type EventPayload } from '../../core/callbacks.js';
import type { Rec } from '../../core/resource.js';
import type { Tx } from '../../db/tx.js';
import { CONNTRACK_HELPER_RULES, PORT_FORWARDING_RULES } from '../../policy/defaults/port-forwarding.js';
import type { PluginDefinition } from '../contract.js';
import type { L3AgentScheduler } from '../l3/agent-scheduler.js';
import type { FloatingIpHandler } from '../l3/floatingips.js';
import type { RouterHandler } from '../l3/routers.js';
import { allowedHelpers, ConntrackHelperHandler, helpersOfRouters } from './conntrack-helpers.js';
import { fipInUseByPortForwarding } from './errors.js';
import { forwardingsOfFips, PortForwardingHandler, unbindIfLast } from './forwardings.js';

interface L3Exports {
  routers: RouterHandler;
  floatingips: FloatingIpHandler;
  scheduler: L3AgentScheduler;
}

export const portForwardingPlugin: PluginDefinition = {
  name: 'port_forwarding',
  policies: PORT_FORWARDING_RULES,
  classPaths: ['neutron.services.portforwarding.pf_plugin.PortForwardingPlugin'],
  aliases: (_cfg, loaded) =>
    loaded.has('router')
      ? [
          'floating-ip-port-forwarding',
          'floating-ip-port-forwarding-description',
          'floating-ip-port-forwarding-port-ranges',
          'floating-ip-port-forwarding-detail',
          'expose-port-forwarding-in-fip',
        ]
      : [],
  create(ctx) {
    const l3 = ctx.exportsOf<L3Exports>('router');
    if (!l3) return {};
    const routersUpdated = (c: Parameters<L3AgentScheduler['routersUpdated']>[0], ids: string[]) =>
      ids.length ? l3.scheduler.routersUpdated(c, ids) : Promise.resolve();
    const handler = new PortForwardingHandler({ db: ctx.db, floatingips: l3.floatingips, routersUpdated });
    // A port deleted takes its forwardings along; a floating IP left without any is unbound, and
    // its router's agents hear of it once the delete commits.
    const routersOfDeletedPort = new Map<string, string[]>();
    // Neutron's _check_floatingip_request: a floating IP with forwardings is not deleted (409).
    ctx.callbacks.subscribe(
      'floatingip',
      Events.PRECOMMIT_DELETE,
      async (p: EventPayload) => {
        const pf = await (p.tx as Tx)
          .selectFrom('portforwardings')
          .select('id')
          .where('floatingip_id', '=', p.resourceId)
          .limit(1)
          .executeTakeFirst();
        if (pf) throw fipInUseByPortForwarding(p.resourceId);
      },
      { name: 'port_forwarding' },
    );
    ctx.callbacks.subscribe(
      'port',
      Events.PRECOMMIT_DELETE,
      async (p: EventPayload) => {
        const tx = p.tx as Tx;
        const gone = await tx
          .selectFrom('portforwardings as pf')
          .innerJoin('floatingips as f', 'f.id', 'pf.floatingip_id')
          .select(['pf.floatingip_id', 'f.router_id'])
          .where('pf.internal_neutron_port_id', '=', p.resourceId)
          .execute();
        if (!gone.length) return;
        await tx.deleteFrom('portforwardings').where('internal_neutron_port_id', '=', p.resourceId).execute();
        for (const fip of new Set(gone.map((g) => g.floatingip_id))) await unbindIfLast(tx, fip);
        routersOfDeletedPort.set(p.resourceId, [...new Set(gone.map((g) => g.router_id).filter((r): r is string => !!r))]);
      },
      { name: 'port_forwarding' },
    );
    // A port's fixed IPs recomputed: forwardings to an IPv4 address it no longer has go (Neutron
    // does this only when the port keeps some IPv4 address).
    const routersOfUpdatedPort = new Map<string, string[]>();
    ctx.callbacks.subscribe(
      'port',
      Events.PRECOMMIT_UPDATE,
      async (p: EventPayload) => {
        const kept = new Set(
          ((p.after?.fixed_ips as Array<{ ip_address: string }> | undefined) ?? []).map((f) => f.ip_address).filter((ip) => !ip.includes(':')),
        );
        if (!kept.size) return;
        const tx = p.tx as Tx;
        const mine = await tx
          .selectFrom('portforwardings as pf')
          .innerJoin('floatingips as f', 'f.id', 'pf.floatingip_id')
          .select(['pf.id', 'pf.internal_ip_address', 'pf.floatingip_id', 'f.router_id'])
          .where('pf.internal_neutron_port_id', '=', p.resourceId)
          .execute();
        const gone = mine.filter((m) => !kept.has(m.internal_ip_address));
        if (!gone.length) return;
        await tx
          .deleteFrom('portforwardings')
          .where(
            'id',
            'in',
            gone.map((g) => g.id),
          )
          .execute();
        for (const fip of new Set(gone.map((g) => g.floatingip_id))) await unbindIfLast(tx, fip);
        routersOfUpdatedPort.set(p.resourceId, [...new Set(gone.map((g) => g.router_id).filter((r): r is string => !!r))]);
      },
      { name: 'port_forwarding' },
    );
    // After the commit: the routers a precommit noted for the port, told once.
    const tellRoutersNoted = (noted: Map<string, string[]>) => (p: EventPayload) => {
      const routers = noted.get(p.resourceId);
      noted.delete(p.resourceId);
      return routers ? routersUpdated(p.context, routers) : undefined;
    };
    ctx.callbacks.subscribe('port', Events.AFTER_UPDATE, tellRoutersNoted(routersOfUpdatedPort), { name: 'port_forwarding' });
    ctx.callbacks.subscribe('port', Events.AFTER_DELETE, tellRoutersNoted(routersOfDeletedPort), { name: 'port_forwarding' });
    return {
      resources: [handler],
      ml2Extensions: [
        {
          // _check_floatingip_request: a floating IP with forwardings takes no port.
          async processUpdateFloatingip(tx: Tx, _c, id: string, body: Rec) {
            if (!body.port_id) return;
            const pf = await tx.selectFrom('portforwardings').select('id').where('floatingip_id', '=', id).limit(1).executeTakeFirst();
            if (pf) throw fipInUseByPortForwarding(id);
          },
          async extendFloatingipDicts(db, dicts) {
            const byFip = await forwardingsOfFips(
              db,
              dicts.map((d) => d.id as string),
            );
            for (const d of dicts) d.port_forwardings = byFip.get(d.id as string) ?? [];
          },
        },
      ],
    };
  },
};

export const conntrackHelperPlugin: PluginDefinition = {
  name: 'conntrack_helper',
  policies: CONNTRACK_HELPER_RULES,
  classPaths: ['neutron.services.conntrack_helper.plugin.Plugin'],
  aliases: (_cfg, loaded) => (loaded.has('router') ? ['l3-conntrack-helper', 'expose-l3-conntrack-helper'] : []),
  create(ctx) {
    const l3 = ctx.exportsOf<L3Exports>('router');
    if (!l3) return {};
    const handler = new ConntrackHelperHandler({
      db: ctx.db,
      routers: l3.routers,
      allowed: allowedHelpers(ctx.cfg.DEFAULT.allowed_conntrack_helpers),
      routersUpdated: (c, ids) => (ids.length ? l3.scheduler.routersUpdated(c, ids) : Promise.resolve()),
    });
    return {
      resources: [handler],
      ml2Extensions: [
        {
          async extendRouterDicts(db, dicts) {
            const byRouter = await helpersOfRouters(
              db,
              dicts.map((d) => d.id as string),
            );
            for (const d of dicts) d.conntrack_helpers = byRouter.get(d.id as string) ?? [];
          },
        },
      ],
    };
  },
};

// What the L2 agents ask the logging plugin (topic logging-plugin): which enabled security group
// logs bind their ports. A log binds a port of its own project that is in its security group
// (resource_id), that is its target (target_id), or any such port when it names neither
// (Neutron's get_logs_bound_port). get_sg_log_info_for_port answers in Neutron's shape, with the
// port's rules; get_sg_log_info_for_ports (neutrino's) answers for many ports in one call,
// without the rules, which the agent already has from security_group_info_for_devices.
import type { RpcHandlers } from '../../rpc/index.js';
import type { Reader } from '../../db/tx.js';
import { i2b } from '../../db/tx.js';
import { SECURITY_GROUP_LOG } from '../../definitions/logging.js';

export interface PortLogBinding {
  /** The log's id. */
  id: string;
  event: string;
  project_id: string;
}

/** Port id → the enabled logs that bind it (ports without any are left out). */
export async function logsBoundToPorts(db: Reader, portIds: readonly string[]): Promise<Map<string, PortLogBinding[]>> {
  const out = new Map<string, PortLogBinding[]>();
  const ids = [...new Set(portIds.filter((x) => typeof x === 'string'))];
  if (!ids.length) return out;
  const ports = await db.selectFrom('ports').select(['id', 'project_id']).where('id', 'in', ids).execute();
  if (!ports.length) return out;
  const projects = [...new Set(ports.map((p) => p.project_id))];
  const logs = (
    await db
      .selectFrom('logs')
      .select(['id', 'project_id', 'resource_id', 'target_id', 'event', 'enabled'])
      .where('resource_type', '=', SECURITY_GROUP_LOG)
      .where('project_id', 'in', projects)
      .orderBy('id')
      .execute()
  ).filter((l) => i2b(l.enabled));
  if (!logs.length) return out;
  const groups = new Map<string, Set<string>>();
  for (const b of await db
    .selectFrom('security_group_port_bindings')
    .select(['port_id', 'security_group_id'])
    .where(
      'port_id',
      'in',
      ports.map((p) => p.id),
    )
    .execute()) {
    (groups.get(b.port_id) ?? groups.set(b.port_id, new Set()).get(b.port_id)!).add(b.security_group_id);
  }
  for (const p of ports) {
    const sgs = groups.get(p.id) ?? new Set<string>();
    const bound = logs.filter(
      (l) =>
        l.project_id === p.project_id &&
        ((l.resource_id !== null && sgs.has(l.resource_id)) || l.target_id === p.id || (!l.resource_id && !l.target_id)),
    );
    if (bound.length)
      out.set(
        p.id,
        bound.map((l) => ({ id: l.id, event: l.event, project_id: l.project_id })),
      );
  }
  return out;
}

/** A port's rules in the shape of Neutron's _create_sg_rule_dict, for get_sg_log_info_for_port. */
async function portRules(db: Reader, groupIds: string[]): Promise<Record<string, unknown>[]> {
  if (!groupIds.length) return [];
  const rows = await db.selectFrom('security_group_rules').selectAll().where('security_group_id', 'in', groupIds).execute();
  return rows.map((r) => {
    const d: Record<string, unknown> = { direction: r.direction, ethertype: r.ethertype };
    for (const k of ['protocol', 'port_range_min', 'port_range_max', 'remote_group_id'] as const) if (r[k] !== null) d[k] = r[k];
    if (r.remote_ip_prefix !== null) d[r.direction === 'ingress' ? 'source_ip_prefix' : 'dest_ip_prefix'] = r.remote_ip_prefix;
    d.security_group_id = r.security_group_id;
    return d;
  });
}

export function loggingRpcHandlers(db: Reader): RpcHandlers {
  return {
    get_sg_log_info_for_ports: async (_ctx, a: { port_ids?: unknown }) => {
      const ids = Array.isArray(a?.port_ids) ? (a.port_ids as unknown[]).filter((x): x is string => typeof x === 'string') : [];
      return Object.fromEntries(await logsBoundToPorts(db, ids));
    },
    get_sg_log_info_for_port: async (_ctx, a: { port_id?: unknown; resource_type?: unknown }) => {
      if (typeof a?.port_id !== 'string' || (a.resource_type ?? SECURITY_GROUP_LOG) !== SECURITY_GROUP_LOG) return [];
      const portId = a.port_id;
      const bound = (await logsBoundToPorts(db, [portId])).get(portId) ?? [];
      const out = [];
      for (const l of bound) {
        const log = await db.selectFrom('logs').select('resource_id').where('id', '=', l.id).executeTakeFirst();
        const sgs = (await db.selectFrom('security_group_port_bindings').select('security_group_id').where('port_id', '=', portId).execute()).map(
          (b) => b.security_group_id,
        );
        const groups = log?.resource_id ? sgs.filter((g) => g === log.resource_id) : sgs;
        out.push({
          id: l.id,
          ports_log: [{ port_id: portId, security_group_rules: await portRules(db, groups) }],
          event: l.event,
          project_id: l.project_id,
        });
      }
      return out;
    },
  };
}

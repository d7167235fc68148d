// Trunk business rules (Neutron's services/trunk/rules.py) as checks inside the caller's
// transaction: which ports may be a trunk's parent or a subport, and whether subports' segmentation
// details are valid. Ports are locked as they are checked, so two requests that would each make
// the same port a parent or a subport run one after the other and the second sees the first.
import type { RequestContext } from '../../core/context.js';
import type { Rec } from '../../core/resource.js';
import type { Db } from '../../db/connection.js';
import type { PortTable } from '../../db/schema.js';
import { forUpdate, type Tx } from '../../db/tx.js';
import { MAX_VLAN_TAG, MIN_VLAN_TAG, SEGMENTATION_TYPE_INHERIT, SEGMENTATION_TYPE_VLAN, type SubPortRequest } from '../../definitions/trunk.js';
import { invalidInput } from '../../core/errors.js';
import { pyStr } from '../../ipam/errors.js';
import { parentPortInUse, portInUse, portNotFound, subPortMtuGreaterThanTrunkPortMtu, trunkPortInUse } from './errors.js';
import { AGENT_TYPE_LINUXBRIDGE, VIF_TYPE_BRIDGE } from '../../core/wire.js';

/** The Linux-bridge trunk driver's segmentation types, with their id checks. */
const SEGMENTATION_TYPES: Readonly<Record<string, (id: number) => boolean>> = {
  [SEGMENTATION_TYPE_VLAN]: (id) => id >= MIN_VLAN_TAG && id <= MAX_VLAN_TAG,
};

export interface SubPort {
  port_id: string;
  segmentation_type: string;
  segmentation_id: number;
}

/** Ports the caller sees: its own, and every port on its networks (the port API's scope). */
function visibleTo(ctx: RequestContext, port: PortTable, networkOwner: string | undefined): boolean {
  return ctx.isAdmin || port.project_id === ctx.projectId || networkOwner === ctx.projectId;
}

export class TrunkRules {
  constructor(private readonly db: Db) {}

  /** The port's row, locked; PortNotFound when it is missing or the caller cannot see it. */
  async lockPort(tx: Tx, ctx: RequestContext, portId: string): Promise<PortTable> {
    const port = await forUpdate(this.db, tx.selectFrom('ports').selectAll().where('id', '=', portId)).executeTakeFirst();
    if (!port) throw portNotFound(portId);
    if (!ctx.isAdmin && port.project_id !== ctx.projectId) {
      const net = await tx.selectFrom('networks').select('project_id').where('id', '=', port.network_id).executeTakeFirst();
      if (!visibleTo(ctx, port, net?.project_id)) throw portNotFound(portId);
    }
    return port;
  }

  /** Not a subport of any trunk (TrunkPortInUse) and not a trunk's parent (ParentPortInUse). */
  async checkNotTrunked(tx: Tx, portId: string): Promise<void> {
    if (await tx.selectFrom('subports').select('port_id').where('port_id', '=', portId).executeTakeFirst()) throw trunkPortInUse(portId);
    if (await tx.selectFrom('trunks').select('id').where('port_id', '=', portId).executeTakeFirst()) throw parentPortInUse(portId);
  }

  /**
   * can_be_trunked_or_untrunked: an unbound port always; a bound one when the Linux-bridge trunk
   * driver serves it (vif_type bridge on a host with a Linux bridge agent), which trunks bound ports.
   */
  async canBeTrunked(tx: Tx, port: PortTable): Promise<boolean> {
    if (!port.binding_host_id) return true;
    if (port.binding_vif_type !== VIF_TYPE_BRIDGE) return false;
    const agent = await tx
      .selectFrom('agents')
      .select('id')
      .where('host', '=', port.binding_host_id)
      .where('agent_type', '=', AGENT_TYPE_LINUXBRIDGE)
      .executeTakeFirst();
    return agent !== undefined;
  }

  /** TrunkPortValidator.validate for a parent: the port, locked, once it qualifies. */
  async validateParent(tx: Tx, ctx: RequestContext, portId: string): Promise<PortTable> {
    await this.checkNotTrunked(tx, portId);
    const port = await this.lockPort(tx, ctx, portId);
    // Checked again under the lock: a concurrent request may have trunked it meanwhile.
    await this.checkNotTrunked(tx, portId);
    if (!(await this.canBeTrunked(tx, port))) throw parentPortInUse(portId);
    return port;
  }

  private async networkOf(tx: Tx, networkId: string) {
    const net = await tx.selectFrom('networks').select(['id', 'mtu']).where('id', '=', networkId).executeTakeFirst();
    const seg = await tx
      .selectFrom('network_segments')
      .select(['network_type', 'segmentation_id'])
      .where('network_id', '=', networkId)
      .orderBy('segment_index')
      .executeTakeFirst();
    return { mtu: net ? Number(net.mtu) : null, networkType: seg?.network_type ?? null, segmentationId: seg?.segmentation_id ?? null };
  }

  /**
   * SubPortsValidator.validate with trunk validation: each subport is not the parent, its network's
   * MTU fits the parent's, its segmentation is given and valid ('inherit' takes its network's),
   * and the port is free (no trunk, no device). Returns the subports to store.
   */
  async validateSubports(tx: Tx, ctx: RequestContext, parent: PortTable, requested: readonly SubPortRequest[]): Promise<SubPort[]> {
    const trunkMtu = (await this.networkOf(tx, parent.network_id)).mtu;
    // Lock in id order, so that requests with overlapping subports cannot deadlock each other.
    const order = [...requested].sort((a, b) => (a.port_id < b.port_id ? -1 : a.port_id > b.port_id ? 1 : 0));
    const ports = new Map<string, PortTable>();
    for (const r of order) {
      if (r.port_id === parent.id) continue;
      const p = await forUpdate(this.db, tx.selectFrom('ports').selectAll().where('id', '=', r.port_id)).executeTakeFirst();
      if (p) ports.set(p.id, p);
    }
    const out: SubPort[] = [];
    for (const r of requested) {
      if (r.port_id === parent.id) throw parentPortInUse(r.port_id);
      const port = ports.get(r.port_id);
      // Like Neutron, only ports the caller sees contribute their network's details.
      const seen = port !== undefined && (await this.visible(tx, ctx, port));
      const net = seen ? await this.networkOf(tx, port.network_id) : null;
      let type = r.segmentation_type;
      let segId = r.segmentation_id;
      if (type === SEGMENTATION_TYPE_INHERIT && net) {
        type = net.networkType;
        segId = net.segmentationId;
      }
      if (trunkMtu !== null && net?.mtu && net.mtu > trunkMtu) {
        throw subPortMtuGreaterThanTrunkPortMtu(r.port_id, net.mtu, parent.id, trunkMtu);
      }
      if (type === undefined || segId === undefined) {
        throw invalidInput(
          `Invalid subport details '${pyStr(r)}': missing segmentation information. Must specify both segmentation_id and segmentation_type`,
        );
      }
      const id = toSegmentationId(segId);
      if (id === null) throw invalidInput(`Invalid subport details: segmentation_id '${pyStr(segId)}' is not an integer`);
      const check = typeof type === 'string' ? SEGMENTATION_TYPES[type] : undefined;
      if (!check) throw invalidInput(`Unknown segmentation_type '${pyStr(type)}'`);
      if (!check(id)) throw invalidInput(`Segmentation ID '${id}' is not in range`);
      await this.checkNotTrunked(tx, r.port_id);
      if (!port || !seen) throw portNotFound(r.port_id);
      if (port.device_id) throw portInUse(port.id, port.network_id, port.device_id);
      out.push({ port_id: r.port_id, segmentation_type: type as string, segmentation_id: id });
    }
    return out;
  }

  private async visible(tx: Tx, ctx: RequestContext, port: PortTable): Promise<boolean> {
    if (ctx.isAdmin || port.project_id === ctx.projectId) return true;
    const net = await tx.selectFrom('networks').select('project_id').where('id', '=', port.network_id).executeTakeFirst();
    return visibleTo(ctx, port, net?.project_id);
  }
}

/** convert_to_int for segmentation ids: integers and integer strings. */
function toSegmentationId(v: unknown): number | null {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && /^\s*[+-]?\d+\s*$/.test(v)) return Number(v);
  return null;
}

/** The sub_ports of an add/remove request body, after validate_subports (InvalidInput). */
export function requestSubports(body: unknown, problem: (v: unknown) => string | null): SubPortRequest[] {
  const list = body && typeof body === 'object' && !Array.isArray(body) ? (body as Rec).sub_ports : undefined;
  if (list === undefined) throw invalidInput("'sub_ports' must be given in the request body");
  const why = problem(list);
  if (why) throw invalidInput(why);
  return list as SubPortRequest[];
}

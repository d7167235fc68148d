// Floating IPs (Neutron's l3_db floating IP half, with fip-port-details): an address on an
// external network held by a network:floatingip port, optionally associated with a fixed IP of a
// project port that a router connects to that external network. The address is allocated through
// the core plugin's IP allocator under the external network's row lock, so concurrent creates
// never share one; uq_floatingips_fixed keeps one floating IP per fixed IP and external network.
import { Events } from '../../core/callbacks.js';
import type { RequestContext } from '../../core/context.js';
import { floatingipDef } from '../../definitions/floatingip.js';
import type { Rec } from '../../core/resource.js';
import { forUpdate, i2b, inTransaction, nowIso, type Reader, type Tx } from '../../db/tx.js';
import type { FloatingIpTable } from '../../db/schema.js';
import { isDuplicateKey } from '../../db/connection.js';
import { canonicalIp } from '../../ipam/index.js';
import { chunks, loadTags } from '../common/list-sql.js';
import { checkRevision, standardFields } from '../common/standard.js';
import { TableResource } from '../common/table-resource.js';
import { ipVersionOfText, networkSubnets, visibleNetwork, visiblePort, type L3Context, type PortInfo } from './common.js';
import {
  badResource,
  externalGatewayForFloatingIpNotFound,
  externalIpAddressExhausted,
  floatingIpNotFound,
  floatingIpPortAlreadyAssociated,
} from './errors.js';
import { createServicePort, deleteServicePort, l3Transaction } from './port-events.js';
import { DEVICE_OWNER_DHCP, DEVICE_OWNER_FLOATINGIP, DEVICE_OWNER_ROUTER_GW, ROUTER_INTERFACE_OWNERS } from '../../core/wire.js';

/** Floating IPs start DOWN, as Neutron's L3 router plugin creates them; an L3 agent sets ACTIVE. */
const INITIAL_STATUS = 'DOWN';

interface Association {
  fixed_port_id: string | null;
  fixed_ip_address: string | null;
  router_id: string | null;
}

/** Non-admins see their own project's floating IPs (the default scope). */
export class FloatingIpHandler extends TableResource<'floatingips'> {
  constructor(private readonly l3: L3Context) {
    super({ def: floatingipDef, db: l3.m.db, notFound: floatingIpNotFound });
  }

  // ---- reads ---------------------------------------------------------------------------------

  protected dictsOf(_ctx: RequestContext, db: Reader, rows: FloatingIpTable[]): Promise<Rec[]> {
    return this.toDicts(db, rows);
  }

  async toDicts(db: Reader, rows: FloatingIpTable[]): Promise<Rec[]> {
    const ids = rows.map((r) => r.id);
    const portIds = [...new Set(rows.map((r) => r.fixed_port_id).filter((p): p is string => !!p))];
    const ports = new Map<string, Rec>();
    if (portIds.length) {
      for (const p of await db
        .selectFrom('ports')
        .select(['id', 'name', 'network_id', 'mac_address', 'admin_state_up', 'status', 'device_id', 'device_owner'])
        .where('id', 'in', portIds)
        .execute()) {
        ports.set(p.id, {
          name: p.name,
          network_id: p.network_id,
          mac_address: p.mac_address,
          admin_state_up: i2b(p.admin_state_up),
          status: p.status,
          device_id: p.device_id,
          device_owner: p.device_owner,
        });
      }
    }
    const tags = await loadTags(db, ids);
    const dicts: Rec[] = rows.map((row) => ({
      id: row.id,
      floating_ip_address: row.floating_ip_address,
      floating_network_id: row.floating_network_id,
      router_id: row.router_id,
      port_id: row.fixed_port_id,
      fixed_ip_address: row.fixed_ip_address,
      status: row.status,
      port_details: row.fixed_port_id ? (ports.get(row.fixed_port_id) ?? null) : null,
      qos_policy_id: null,
      // dns-integration: kept only for an external DNS service, which neutrino has not (as Neutron without one).
      dns_name: '',
      dns_domain: '',
      ...standardFields(row, tags.get(row.id)),
    }));
    for (const e of this.l3.m.extensions ?? []) await e.extendFloatingipDicts?.(db, dicts);
    return dicts;
  }

  // ---- writes --------------------------------------------------------------------------------

  /**
   * `floatingip` after_* events, after commit (Neutron publishes FLOATING_IP AFTER_*): the L3
   * plugin tells the routers' agents. `before`/`after` carry at least id and router_id.
   */
  private async published(ctx: RequestContext, event: string, before: Rec | null, after: Rec | null): Promise<void> {
    const id = ((after ?? before)?.id as string | undefined) ?? '';
    await this.l3.m.callbacks.publish('floatingip', event, { context: ctx, resourceId: id, before, after });
  }

  async create(ctx: RequestContext, bodies: Rec[]): Promise<Rec[]> {
    const out = await this.createAll(ctx, bodies);
    for (const f of out) await this.published(ctx, Events.AFTER_CREATE, null, f);
    return out;
  }

  private async createAll(ctx: RequestContext, bodies: Rec[]): Promise<Rec[]> {
    return l3Transaction(this.l3, async (tx) => {
      const ids: string[] = [];
      for (const body of bodies) {
        ids.push(await this.createOne(tx, ctx, body));
        for (const e of this.l3.m.extensions ?? []) await e.processCreateFloatingip?.(tx, ctx, body);
      }
      const rows = [];
      for (const part of chunks(ids)) rows.push(...(await tx.selectFrom('floatingips').selectAll().where('id', 'in', part).execute()));
      const byId = new Map(rows.map((r) => [r.id, r]));
      return this.toDicts(
        tx,
        ids.map((id) => byId.get(id)!),
      );
    });
  }

  private async createOne(tx: Tx, ctx: RequestContext, body: Rec): Promise<string> {
    const projectId = body.project_id as string;
    await this.l3.m.quota.enforce(tx, projectId, { floatingip: 1 });
    const netId = body.floating_network_id as string;
    const net = await visibleNetwork(tx, ctx, netId);
    if (!net.external) throw badResource('floatingip', `Network ${netId} is not a valid external network`);
    if (!(await networkSubnets(tx, netId)).some((s) => s.ip_version === 4)) {
      throw badResource('floatingip', `Network ${netId} does not contain any IPv4 subnet`);
    }
    const id = body.id as string;
    const fixedIp: Rec = {};
    if (body.subnet_id) fixedIp.subnet_id = body.subnet_id;
    if (body.floating_ip_address) fixedIp.ip_address = body.floating_ip_address;
    // The port is never shown to the project (no owner), only to admins.
    const portBody: Rec = { project_id: '', network_id: netId, admin_state_up: true, device_id: id, device_owner: DEVICE_OWNER_FLOATINGIP, name: '' };
    if (Object.keys(fixedIp).length) portBody.fixed_ips = [fixedIp];
    const port = await createServicePort(this.l3, tx, portBody);
    await tx
      .updateTable('ports')
      .set({ status: 'N/A' })
      .where('id', '=', port.id as string)
      .execute();
    port.status = 'N/A'; // the dict agents are told about
    const v4 = (port.fixed_ips as Array<{ ip_address: string }>).filter((ip) => ipVersionOfText(ip.ip_address) === 4);
    if (!v4.length) throw externalIpAddressExhausted(netId);
    const row: FloatingIpTable = {
      id,
      project_id: projectId,
      floating_ip_address: v4[0]!.ip_address,
      floating_network_id: netId,
      floating_port_id: port.id as string,
      fixed_port_id: null,
      fixed_ip_address: null,
      router_id: null,
      last_known_router_id: null,
      status: INITIAL_STATUS,
      description: body.description as string,
      revision_number: 0,
      created_at: nowIso(),
      updated_at: nowIso(),
    };
    const assoc = await this.association(tx, ctx, body, row);
    Object.assign(row, assoc);
    await this.insertOrConflict(row, () => tx.insertInto('floatingips').values(row).execute());
    return id;
  }

  /** A duplicate-key failure on uq_floatingips_fixed is a concurrent association of that fixed IP. */
  private async insertOrConflict(row: FloatingIpTable, write: () => Promise<unknown>): Promise<void> {
    try {
      await write();
    } catch (err) {
      if (isDuplicateKey(err) && row.fixed_port_id) {
        throw floatingIpPortAlreadyAssociated({
          floatingIpAddress: row.floating_ip_address,
          fipId: row.id,
          portId: row.fixed_port_id,
          fixedIp: row.fixed_ip_address ?? '',
          netId: row.floating_network_id,
        });
      }
      throw err;
    }
  }

  async update(ctx: RequestContext, id: string, body: Rec, expectRevision?: number): Promise<Rec> {
    let before: Rec | null = null;
    const out = await inTransaction(this.db, async (tx) => {
      const row = await forUpdate(this.db, tx.selectFrom('floatingips').selectAll().where('id', '=', id)).executeTakeFirst();
      if (!row) throw this.notFound(id);
      before = { ...row };
      checkRevision(row.revision_number, expectRevision);
      const assoc = await this.association(tx, ctx, body, row);
      const set: Partial<FloatingIpTable> = { ...assoc, last_known_router_id: row.router_id };
      if ('description' in body) set.description = body.description as string;
      const updated = { ...row, ...set };
      for (const e of this.l3.m.extensions ?? []) await e.processUpdateFloatingip?.(tx, ctx, id, body);
      await this.insertOrConflict(updated, () =>
        tx
          .updateTable('floatingips')
          .set({ ...set, revision_number: Number(row.revision_number) + 1, updated_at: nowIso() })
          .where('id', '=', id)
          .execute(),
      );
      return (await this.toDicts(tx, [(await tx.selectFrom('floatingips').selectAll().where('id', '=', id).executeTakeFirst())!]))[0]!;
    });
    await this.published(ctx, Events.AFTER_UPDATE, before, out);
    return out;
  }

  async delete(ctx: RequestContext, id: string, expectRevision?: number): Promise<void> {
    let before: Rec | null = null;
    await l3Transaction(this.l3, async (tx) => {
      const row = await forUpdate(this.db, tx.selectFrom('floatingips').selectAll().where('id', '=', id)).executeTakeFirst();
      if (!row) throw this.notFound(id);
      checkRevision(row.revision_number, expectRevision);
      before = { ...row };
      // Inside the transaction: a subscriber may refuse (port forwarding: a floating IP in use).
      await this.l3.m.callbacks.publish('floatingip', Events.PRECOMMIT_DELETE, { context: ctx, resourceId: id, before, after: null, tx });
      await this.deleteRow(tx, row);
    });
    await this.published(ctx, Events.AFTER_DELETE, before, null);
  }

  private async deleteRow(tx: Tx, row: FloatingIpTable): Promise<void> {
    await tx.deleteFrom('tags').where('resource_id', '=', row.id).execute();
    await tx.deleteFrom('floatingips').where('id', '=', row.id).execute();
    await deleteServicePort(this.l3, tx, row.floating_port_id);
  }

  /** Before a network is deleted: its floating IPs without a port go (Neutron's _process_l3_delete). */
  async deleteDisassociated(networkId: string): Promise<void> {
    // Most networks have none: a plain read spares them a write transaction.
    const any = await this.db.kysely
      .selectFrom('floatingips')
      .select('id')
      .where('floating_network_id', '=', networkId)
      .where('fixed_port_id', 'is', null)
      .limit(1)
      .executeTakeFirst();
    if (!any) return;
    await l3Transaction(this.l3, async (tx) => {
      const rows = await tx
        .selectFrom('floatingips')
        .selectAll()
        .where('floating_network_id', '=', networkId)
        .where('fixed_port_id', 'is', null)
        .execute();
      for (const row of rows) await this.deleteRow(tx, row);
    });
  }

  /** Before a port goes: floating IPs on it lose their association (disassociate_floatingips); returns their routers. */
  async disassociatePort(tx: Tx, portId: string): Promise<string[]> {
    const routers = await tx.selectFrom('floatingips').select('router_id').where('fixed_port_id', '=', portId).execute();
    await tx
      .updateTable('floatingips')
      .set((eb) => ({
        fixed_port_id: null,
        fixed_ip_address: null,
        router_id: null,
        last_known_router_id: eb.ref('router_id'),
        revision_number: eb('revision_number', '+', 1),
        updated_at: nowIso(),
      }))
      .where('fixed_port_id', '=', portId)
      .execute();
    return [...new Set(routers.map((r) => r.router_id).filter((r): r is string => !!r))];
  }

  // ---- association (_check_and_get_fip_assoc) ----------------------------------------------

  private async association(tx: Tx, ctx: RequestContext, fip: Rec, row: FloatingIpTable): Promise<Association> {
    const given = (k: string) => k in fip && fip[k] !== null && fip[k] !== undefined;
    if (given('fixed_ip_address') && !given('port_id')) {
      throw badResource('floatingip', 'fixed_ip_address cannot be specified without a port_id');
    }
    if (given('port_id')) {
      const assoc = await this.assocData(tx, ctx, fip.port_id as string, fip.fixed_ip_address as string | null | undefined, row);
      if (assoc.fixed_port_id === row.fixed_port_id) return assoc;
      const taken = await tx
        .selectFrom('floatingips')
        .select('id')
        .where('fixed_port_id', '=', assoc.fixed_port_id!)
        .where('floating_network_id', '=', row.floating_network_id)
        .where('fixed_ip_address', '=', assoc.fixed_ip_address!)
        .where('id', '!=', row.id)
        .executeTakeFirst();
      if (taken) {
        throw floatingIpPortAlreadyAssociated({
          floatingIpAddress: row.floating_ip_address,
          fipId: row.id,
          portId: assoc.fixed_port_id!,
          fixedIp: assoc.fixed_ip_address!,
          netId: row.floating_network_id,
        });
      }
      return assoc;
    }
    if (Object.keys(fip).length > 0 && !('port_id' in fip) && row.fixed_port_id) {
      // Not changing the association (e.g. a new description): it is worked out again. A blank
      // update ({}) disassociates, as it did when port_id was a floating IP's only attribute.
      return this.assocData(tx, ctx, row.fixed_port_id, undefined, row);
    }
    // Unchanged and without a port: a router it has stays (port forwardings bind it to one).
    return { fixed_port_id: null, fixed_ip_address: null, router_id: 'port_id' in fip ? null : row.router_id };
  }

  /** _get_assoc_data: the port's fixed IP to use and the router that reaches it. */
  private async assocData(
    tx: Tx,
    ctx: RequestContext,
    portId: string,
    fixedIpAddress: string | null | undefined,
    row: FloatingIpTable,
  ): Promise<Association> {
    const port = await visiblePort(tx, ctx, portId);
    if (port.project_id !== row.project_id && !ctx.isAdmin) {
      throw badResource('floatingip', `Cannot process floating IP association with Port ${portId}, since that port is owned by a different tenant`);
    }
    if (port.device_owner === DEVICE_OWNER_DHCP) throw badResource('floatingip', `Port ${portId} is unable to be assigned a floating IP`);
    let ipAddress: string;
    let subnetId: string;
    if (fixedIpAddress) {
      if (ipVersionOfText(fixedIpAddress) !== 4) {
        throw badResource('floatingip', `Cannot process floating IP association with ${fixedIpAddress}, since that is not an IPv4 address`);
      }
      const want = canonicalIp(fixedIpAddress);
      const match = port.fixed_ips.find((ip) => ip.ip_address === want);
      if (!match) throw badResource('floatingip', `Port ${port.id} does not have fixed ip ${fixedIpAddress}`);
      ipAddress = match.ip_address;
      subnetId = match.subnet_id;
    } else {
      const v4 = port.fixed_ips.filter((ip) => ipVersionOfText(ip.ip_address) === 4);
      if (!v4.length) throw badResource('floatingip', `Cannot add floating IP to port ${port.id} that has no fixed IPv4 addresses`);
      if (v4.length > 1) {
        throw badResource(
          'floatingip',
          `Port ${port.id} has multiple fixed IPv4 addresses.  Must provide a specific IPv4 address when assigning a floating IP`,
        );
      }
      ipAddress = v4[0]!.ip_address;
      subnetId = v4[0]!.subnet_id;
    }
    const routerId = await this.routerFor(tx, port, subnetId, row.floating_network_id);
    return { fixed_port_id: port.id, fixed_ip_address: ipAddress, router_id: routerId };
  }

  /**
   * get_router_for_floatingip: routers with an interface on the port's subnet and a gateway on
   * the floating network; the one whose interface holds the subnet's gateway IP wins.
   */
  async routerFor(tx: Tx, port: PortInfo, subnetId: string, externalNetworkId: string): Promise<string> {
    // Usually a router holds the subnet's gateway IP: found by the allocation's key, without
    // reading every address of the subnet (which the general query below does).
    const subnet = await tx.selectFrom('subnets').select('gateway_ip').where('id', '=', subnetId).executeTakeFirst();
    if (subnet?.gateway_ip) {
      const viaGateway = await tx
        .selectFrom('ip_allocations as a')
        .innerJoin('router_ports as rp', 'rp.port_id', 'a.port_id')
        .innerJoin('ports as gw', 'gw.device_id', 'rp.router_id')
        .select('rp.router_id')
        .where('a.subnet_id', '=', subnetId)
        .where('a.ip_address', '=', subnet.gateway_ip)
        .where('rp.port_type', 'in', ROUTER_INTERFACE_OWNERS)
        .where('gw.network_id', '=', externalNetworkId)
        .where('gw.device_owner', '=', DEVICE_OWNER_ROUTER_GW)
        .executeTakeFirst();
      if (viaGateway) return viaGateway.router_id;
    }
    const rows = await tx
      .selectFrom('router_ports as rp')
      .innerJoin('ports as p', 'p.id', 'rp.port_id')
      .innerJoin('ip_allocations as a', 'a.port_id', 'p.id')
      .innerJoin('ports as gw', 'gw.device_id', 'rp.router_id')
      .select('rp.router_id')
      .where('p.network_id', '=', port.network_id)
      .where('rp.port_type', 'in', ROUTER_INTERFACE_OWNERS)
      .where('a.subnet_id', '=', subnetId)
      .where('gw.network_id', '=', externalNetworkId)
      .where('gw.device_owner', '=', DEVICE_OWNER_ROUTER_GW)
      .orderBy('rp.router_id')
      .execute();
    if (!rows.length) throw externalGatewayForFloatingIpNotFound(externalNetworkId, subnetId, port.id);
    // None of them holds the gateway IP (else it was found above): the first one.
    return rows[0]!.router_id;
  }
}

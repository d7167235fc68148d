// port-mac-override (Neutron's ML2 _commit_port_binding and _reset_mac_for_direct_physical): a
// direct-physical port is a whole physical device, whose MAC flows to the port rather than from
// it. Committing such a port's binding gives it binding:profile's device_mac_address (Nova puts
// the device's MAC there), or a fresh MAC when the profile has none, so an unbound port never
// keeps a device's MAC that another port may be bound to next. Unplugging it (device_id and
// device_owner cleared) also gives it a fresh MAC.
import type { Tx } from '../../db/tx.js';
import { parseBaseMac, randomMac } from '../../ipam/index.js';
import { macAddress } from '../../definitions/validators.js';
import { macAddressGenerationFailure, macAddressInUse } from './errors.js';

export const VNIC_DIRECT_PHYSICAL = 'direct-physical';

export interface MacSettings {
  /** [DEFAULT] base_mac. */
  baseMac: string;
  /** [DEFAULT] mac_generation_retries. */
  retries: number;
}

/** Whether a port of the network other than `exceptPortId` has this MAC. */
export async function macInUse(tx: Tx, networkId: string, mac: string, exceptPortId?: string): Promise<boolean> {
  let q = tx.selectFrom('ports').select('id').where('network_id', '=', networkId).where('mac_address', '=', mac);
  if (exceptPortId !== undefined) q = q.where('id', '!=', exceptPortId);
  return (await q.executeTakeFirst()) !== undefined;
}

/** A random MAC under base_mac that no port of the network other than `exceptPortId` has. */
export async function freshMac(tx: Tx, networkId: string, o: MacSettings, exceptPortId?: string): Promise<string> {
  const base = parseBaseMac(o.baseMac);
  for (let i = 0; i < o.retries; i++) {
    const mac = randomMac(base);
    if (!(await macInUse(tx, networkId, mac, exceptPortId))) return mac;
  }
  throw macAddressGenerationFailure(networkId);
}

/**
 * The MAC a direct-physical port takes as its binding commits: its profile's
 * device_mac_address (refused with MacAddressInUse if another port of the network has it), else
 * a fresh one. Null for other vnic types.
 */
export async function macOnBindingCommit(
  tx: Tx,
  port: { id: string; network_id: string; binding_vnic_type: string; binding_profile: string },
  o: MacSettings,
): Promise<string | null> {
  if (port.binding_vnic_type !== VNIC_DIRECT_PHYSICAL) return null;
  let wanted: unknown;
  try {
    wanted = (JSON.parse(port.binding_profile || '{}') as Record<string, unknown> | null)?.device_mac_address;
  } catch {
    wanted = undefined;
  }
  if (wanted === undefined || wanted === null || wanted === '') return freshMac(tx, port.network_id, o, port.id);
  const mac = macAddress(wanted, 'binding:profile') as string;
  if (await macInUse(tx, port.network_id, mac, port.id)) throw macAddressInUse(port.network_id, mac);
  return mac;
}

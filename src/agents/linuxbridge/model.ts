// The Linux-bridge agent's pure core: from the devices the server described and the
// l2population view, the desired links (bridges, VXLAN/VLAN devices, taps in their bridges) and
// the desired VXLAN forwarding and neighbour entries. No I/O here; the agent feeds these to the
// dataplane's reconcile functions.
import { ZERO_MAC, type DesiredLink, type FdbEntry, type Link, type NeighEntry } from '../../dataplane/index.js';

/** What get_device(s)_details tells about a tap (the fields the agent uses). */
export interface DeviceInfo {
  device: string;
  port_id: string;
  network_id: string;
  mac_address: string;
  admin_state_up: boolean;
  network_type: string;
  segmentation_id: number | null;
  physical_network: string | null;
  mtu: number | null;
}

export interface ModelOptions {
  localIp: string | null;
  enableVxlan: boolean;
  /** physnet → physical interface ([linux_bridge] physical_interface_mappings). */
  interfaceMappings: Record<string, string>;
  /** physnet → existing bridge ([linux_bridge] bridge_mappings): used as the network's bridge. */
  bridgeMappings: Record<string, string>;
  /** [vxlan] arp_responder: VXLAN devices answer ARP from the neighbour entries l2pop gives. */
  arpResponder: boolean;
}

export const VXLAN_PORT = 4789;
export const TAP_PREFIX = 'tap';
export const BRIDGE_PREFIX = 'brq';
export const VXLAN_PREFIX = 'vxlan-';
const FLOOD_IP = '0.0.0.0';

export const tapName = (portId: string) => `${TAP_PREFIX}${portId.slice(0, 11)}`;
export const bridgeName = (networkId: string) => `${BRIDGE_PREFIX}${networkId.slice(0, 11)}`;
export const vxlanName = (vni: number) => `${VXLAN_PREFIX}${vni}`;
export const isTap = (name: string) => name.startsWith(TAP_PREFIX) && name.length > TAP_PREFIX.length;

/** The bridge a network's taps go into (a mapped bridge for flat/vlan with bridge_mappings). */
export function networkBridge(d: DeviceInfo, o: ModelOptions): string {
  if (d.network_type === 'flat' && d.physical_network && o.bridgeMappings[d.physical_network]) return o.bridgeMappings[d.physical_network]!;
  return bridgeName(d.network_id);
}

/** Why a device cannot be wired on this host, or null. */
export function unsupportedReason(d: DeviceInfo, o: ModelOptions): string | null {
  switch (d.network_type) {
    case 'local':
      return null;
    case 'vxlan':
      if (!o.enableVxlan || !o.localIp) return 'VXLAN is disabled or has no local_ip';
      if (d.segmentation_id === null) return 'vxlan network without a VNI';
      return null;
    case 'flat':
      return d.physical_network && (o.interfaceMappings[d.physical_network] || o.bridgeMappings[d.physical_network])
        ? null
        : `no mapping for physnet ${d.physical_network}`;
    case 'vlan':
      return d.physical_network && o.interfaceMappings[d.physical_network] && d.segmentation_id !== null
        ? null
        : `no interface mapping for physnet ${d.physical_network}`;
    default:
      return `network type ${d.network_type} not supported`;
  }
}

/** Desired links for the devices (one bridge and one segment device per network, each tap in its bridge). */
export function desiredLinks(devices: Iterable<DeviceInfo>, o: ModelOptions): DesiredLink[] {
  const out = new Map<string, DesiredLink>();
  const add = (l: DesiredLink) => {
    if (!out.has(l.name)) out.set(l.name, l);
  };
  for (const d of devices) {
    if (unsupportedReason(d, o)) continue;
    const br = networkBridge(d, o);
    const mtu = d.mtu ?? undefined;
    const mapped = d.network_type === 'flat' && d.physical_network && o.bridgeMappings[d.physical_network];
    if (mapped) add({ kind: 'external', name: br, up: true });
    else add({ kind: 'bridge', name: br, up: true });
    if (d.network_type === 'vxlan') {
      add({
        kind: 'vxlan',
        name: vxlanName(d.segmentation_id!),
        vni: d.segmentation_id!,
        local: o.localIp!,
        dstport: VXLAN_PORT,
        learning: false,
        proxy: o.arpResponder,
        master: br,
        up: true,
        ...(mtu ? { mtu } : {}),
      });
    } else if (d.network_type === 'flat' && !mapped) {
      add({ kind: 'external', name: o.interfaceMappings[d.physical_network!]!, master: br, up: true });
    } else if (d.network_type === 'vlan') {
      const parent = o.interfaceMappings[d.physical_network!]!;
      add({ kind: 'vlan', name: `${parent.slice(0, 10)}.${d.segmentation_id}`, parent, vlanId: d.segmentation_id!, master: br, up: true });
    }
    add({ kind: 'external', name: d.device, master: br, up: d.admin_state_up, ...(mtu ? { mtu } : {}) });
  }
  return [...out.values()];
}

/**
 * Our links that may go: a brq bridge no tap is plugged into any more, and a vxlan- device whose
 * bridge is going (or that has none). Bridges that still hold a tap stay even when the agent does
 * not (yet) know the tap's port: deleting them would cut a VM's traffic (linuxbridge-cleanup's rule).
 */
export function ownedLinks(actual: readonly Link[]): (l: Link) => boolean {
  const busy = new Set<string>();
  for (const l of actual) if (isTap(l.name) && l.master) busy.add(l.master);
  const goingBridge = (name: string | null) => name === null || (name.startsWith(BRIDGE_PREFIX) && !busy.has(name));
  return (l) => {
    if (l.kind === 'bridge' && l.name.startsWith(BRIDGE_PREFIX)) return !busy.has(l.name);
    if (l.kind === 'vxlan' && l.name.startsWith(VXLAN_PREFIX)) return goingBridge(l.master);
    return false;
  };
}

// ---- l2population view ------------------------------------------------------------------------

export type PortInfo = [mac: string, ip: string];
export interface NetworkFdb {
  segment_id?: number | null;
  network_type?: string;
  ports?: Record<string, PortInfo[]>;
}

type FdbChange = { kind: 'add' | 'remove'; entries: Record<string, NetworkFdb> } | { kind: 'update'; entries: Parameters<FdbView['update']>[0] };

/**
 * network → tunnel IP → set of "mac|ip" (the flooding entry included as "00:00:00:00:00:00|0.0.0.0").
 *
 * A server's answer (get_fdb_entries) is a snapshot taken at some moment while the call was
 * out, and the fanouts heard meanwhile may be older or newer than it (over RabbitMQ they come on
 * another queue than the reply). load() therefore keeps the changes heard during the call and
 * applies them again over the answer: every change is a set operation, so for each entry the
 * last change heard wins, and without one the snapshot does. Taking the answer as it came lost a
 * port that went up during the call (or kept one that went down) until the next resync.
 */
export class FdbView {
  readonly nets = new Map<string, Map<string, Set<string>>>();
  /** Changes heard while a load is out (null: none is). */
  private heard: FdbChange[] | null = null;

  /**
   * Replaces what is known of the networks with the server's answer (`fetch` is the call), and
   * the changes heard meanwhile over it. Changes heard before the call are in the answer.
   */
  async load(networkIds: readonly string[], fetch: () => Promise<Record<string, NetworkFdb>>): Promise<void> {
    const outer = this.heard;
    this.heard = [];
    let answer: Record<string, NetworkFdb>;
    let heard: FdbChange[];
    try {
      answer = await fetch();
    } finally {
      heard = this.heard;
      this.heard = outer;
    }
    for (const n of networkIds) this.nets.delete(n);
    this.addEntries(answer);
    for (const c of heard) {
      if (c.kind === 'add') this.addEntries(c.entries);
      else if (c.kind === 'remove') this.removeEntries(c.entries);
      else this.updateEntries(c.entries);
    }
    outer?.push(...heard);
  }

  private remotes(net: string): Map<string, Set<string>> {
    let m = this.nets.get(net);
    if (!m) this.nets.set(net, (m = new Map()));
    return m;
  }

  add(entries: Record<string, NetworkFdb>): void {
    this.heard?.push({ kind: 'add', entries });
    this.addEntries(entries);
  }

  remove(entries: Record<string, NetworkFdb>): void {
    this.heard?.push({ kind: 'remove', entries });
    this.removeEntries(entries);
  }

  /** Neutron's update_fdb_entries {chg_ip: {net: {ip: {before, after}}}}. */
  update(entries: { chg_ip?: Record<string, Record<string, { before?: PortInfo[]; after?: PortInfo[] }>> }): void {
    this.heard?.push({ kind: 'update', entries });
    this.updateEntries(entries);
  }

  private addEntries(entries: Record<string, NetworkFdb>): void {
    for (const [net, e] of Object.entries(entries ?? {})) {
      const m = this.remotes(net);
      for (const [ip, ports] of Object.entries(e?.ports ?? {})) {
        let s = m.get(ip);
        if (!s) m.set(ip, (s = new Set()));
        for (const [mac, addr] of ports) s.add(`${mac.toLowerCase()}|${addr}`);
      }
    }
  }

  private removeEntries(entries: Record<string, NetworkFdb>): void {
    for (const [net, e] of Object.entries(entries ?? {})) {
      const m = this.nets.get(net);
      if (!m) continue;
      for (const [ip, ports] of Object.entries(e?.ports ?? {})) {
        const s = m.get(ip);
        if (!s) continue;
        for (const [mac, addr] of ports) s.delete(`${mac.toLowerCase()}|${addr}`);
        if (s.size === 0) m.delete(ip);
      }
    }
  }

  private updateEntries(entries: { chg_ip?: Record<string, Record<string, { before?: PortInfo[]; after?: PortInfo[] }>> }): void {
    for (const [net, byIp] of Object.entries(entries?.chg_ip ?? {})) {
      for (const [ip, ch] of Object.entries(byIp)) {
        if (ch.before) this.removeEntries({ [net]: { ports: { [ip]: ch.before } } });
        if (ch.after) this.addEntries({ [net]: { ports: { [ip]: ch.after } } });
      }
    }
  }
}

/** The VXLAN device's forwarding and (with arp_responder) neighbour entries for one network. */
export function desiredFdb(
  view: FdbView,
  networkId: string,
  dev: string,
  localIp: string | null,
  arpResponder: boolean,
): { fdb: FdbEntry[]; neigh: NeighEntry[] } {
  const fdb: FdbEntry[] = [];
  const neigh: NeighEntry[] = [];
  const macAt = new Map<string, string>();
  const ipAt = new Set<string>();
  const remotes = view.nets.get(networkId);
  if (!remotes) return { fdb, neigh };
  for (const ip of [...remotes.keys()].sort()) {
    if (ip === localIp) continue;
    for (const key of [...remotes.get(ip)!].sort()) {
      const [mac, addr] = key.split('|') as [string, string];
      if (mac === ZERO_MAC) {
        fdb.push({ mac: ZERO_MAC, dev, dst: ip });
        continue;
      }
      if (!macAt.has(mac)) {
        macAt.set(mac, ip);
        fdb.push({ mac, dev, dst: ip });
      }
      if (arpResponder && addr && addr !== FLOOD_IP && !ipAt.has(addr)) {
        ipAt.add(addr);
        neigh.push({ ip: addr, mac, dev });
      }
    }
  }
  return { fdb, neigh };
}

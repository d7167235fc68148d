// What the ML2 plugin needs from ml2_conf.ini and neutron.conf, already parsed and validated.
export interface VlanRange {
  physnet: string;
  min?: number;
  max?: number;
}

export interface Ml2Settings {
  typeDrivers: string[];
  tenantNetworkTypes: string[];
  /** Physical networks allowed for flat networks; ['*'] allows any. */
  flatNetworks: string[];
  vlanRanges: VlanRange[];
  vxlanRanges: Array<[number, number]>;
  geneveRanges: Array<[number, number]>;
  globalPhysnetMtu: number;
  pathMtu: number;
  physnetMtus: Record<string, number>;
  geneveMaxHeaderSize: number;
  overlayIpVersion: 4 | 6;
}

export const defaultMl2Settings = (): Ml2Settings => ({
  typeDrivers: ['local', 'flat', 'vlan', 'vxlan', 'geneve'],
  tenantNetworkTypes: ['vxlan'],
  flatNetworks: ['*'],
  vlanRanges: [],
  vxlanRanges: [[1, 1000]],
  geneveRanges: [],
  globalPhysnetMtu: 1500,
  pathMtu: 0,
  physnetMtus: {},
  geneveMaxHeaderSize: 38,
  overlayIpVersion: 4,
});

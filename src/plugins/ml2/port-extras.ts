// Validation of the port extension lists: allowed address pairs and extra DHCP options.
import { invalidAttribute } from '../../core/errors.js';
import { allowedAddressPairExhausted, allowedAddressPairsMissingIp, duplicateAddressPairInRequest } from './errors.js';
import { canonicalIp, tryParseCidr, isValidIp, normalizeMac } from '../../ipam/index.js';
import type { Rec } from '../../core/resource.js';

export interface AddressPair {
  ip_address: string;
  mac_address: string;
}

export interface DhcpOpt {
  opt_name: string;
  opt_value: string | null;
  ip_version: number;
}

export function validateAddressPairs(pairs: Rec[], portMac: string, max: number): AddressPair[] {
  if (pairs.length > max) throw allowedAddressPairExhausted(max);
  const out: AddressPair[] = [];
  const seen = new Set<string>();
  for (const p of pairs) {
    const ip = p.ip_address;
    if (ip === undefined || ip === null) throw allowedAddressPairsMissingIp();
    let ipText: string;
    if (typeof ip === 'string' && isValidIp(ip)) ipText = canonicalIp(ip);
    else if (typeof ip === 'string' && tryParseCidr(ip)) ipText = ip;
    else throw invalidAttribute('allowed_address_pairs', `'${String(ip)}' is not a valid IP address or CIDR`);
    const mac = p.mac_address === undefined || p.mac_address === null ? portMac : normalizeMac(p.mac_address, 'allowed_address_pairs');
    const key = `${mac}/${ipText}`;
    if (seen.has(key)) throw duplicateAddressPairInRequest(mac, ipText);
    seen.add(key);
    out.push({ ip_address: ipText, mac_address: mac });
  }
  return out;
}

/** On update a null opt_value removes the option, as Neutron allows. */
export function validateDhcpOpts(opts: Rec[], allowNullValue: boolean): DhcpOpt[] {
  return opts.map((o) => {
    const name = o.opt_name;
    if (typeof name !== 'string' || name.trim() === '') throw invalidAttribute('extra_dhcp_opts', "each option needs a non-empty 'opt_name'");
    const value = o.opt_value;
    if (value === undefined || (value === null && !allowNullValue)) {
      throw invalidAttribute('extra_dhcp_opts', `option '${name}' needs an 'opt_value'`);
    }
    if (value !== null && typeof value !== 'string' && typeof value !== 'number') {
      throw invalidAttribute('extra_dhcp_opts', `opt_value of '${name}' must be a string`);
    }
    const v = o.ip_version === undefined ? 4 : Number(o.ip_version);
    if (v !== 4 && v !== 6) throw invalidAttribute('extra_dhcp_opts', `ip_version of '${name}' must be 4 or 6`);
    return { opt_name: name, opt_value: value === null ? null : String(value), ip_version: v };
  });
}

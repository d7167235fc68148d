// Validation of the port extension lists: allowed address pairs and extra DHCP options.
import { NeutronError, badRequest } from '../../core/errors.js';
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
  if (pairs.length > max) {
    throw new NeutronError(400, 'AllowedAddressPairExhausted', `The number of allowed address pair exceeds the maximum ${max}.`);
  }
  const out: AddressPair[] = [];
  const seen = new Set<string>();
  for (const p of pairs) {
    const ip = p.ip_address;
    if (ip === undefined || ip === null) throw new NeutronError(400, 'AllowedAddressPairsMissingIP', 'AllowedAddressPair must contain ip_address');
    let ipText: string;
    if (typeof ip === 'string' && isValidIp(ip)) ipText = canonicalIp(ip);
    else if (typeof ip === 'string' && tryParseCidr(ip)) ipText = ip;
    else throw badRequest(`Invalid input for allowed_address_pairs. Reason: '${String(ip)}' is not a valid IP address or CIDR.`);
    const mac = p.mac_address === undefined || p.mac_address === null ? portMac : normalizeMac(p.mac_address, 'allowed_address_pairs');
    const key = `${mac}/${ipText}`;
    if (seen.has(key)) {
      throw new NeutronError(400, 'DuplicateAddressPairInRequest', `Request contains duplicate address pair: mac_address ${mac} ip_address ${ipText}.`);
    }
    seen.add(key);
    out.push({ ip_address: ipText, mac_address: mac });
  }
  return out;
}

/** On update a null opt_value removes the option, as Neutron allows. */
export function validateDhcpOpts(opts: Rec[], allowNullValue: boolean): DhcpOpt[] {
  return opts.map((o) => {
    const name = o.opt_name;
    if (typeof name !== 'string' || name.trim() === '') throw badRequest("Invalid input for extra_dhcp_opts. Reason: each option needs a non-empty 'opt_name'.");
    const value = o.opt_value;
    if (value === undefined || (value === null && !allowNullValue)) {
      throw badRequest(`Invalid input for extra_dhcp_opts. Reason: option '${name}' needs an 'opt_value'.`);
    }
    if (value !== null && typeof value !== 'string' && typeof value !== 'number') {
      throw badRequest(`Invalid input for extra_dhcp_opts. Reason: opt_value of '${name}' must be a string.`);
    }
    const v = o.ip_version === undefined ? 4 : Number(o.ip_version);
    if (v !== 4 && v !== 6) throw badRequest(`Invalid input for extra_dhcp_opts. Reason: ip_version of '${name}' must be 4 or 6.`);
    return { opt_name: name, opt_value: value === null ? null : String(value), ip_version: v };
  });
}

// DNS integration attributes (neutron_lib/api/definitions/dns.py, dns_domain_ports.py) and their
// validators (neutron_lib/api/validators/dns.py): dns_name on ports and floating IPs, dns_domain
// on networks, ports and floating IPs, dns_assignment on ports. Values are lower-cased first
// (convert_string_to_case_insensitive), then checked against RFC 1123 host name rules.
// The check that also needs [DEFAULT] dns_domain (the PQDN plus the domain must fit 255
// characters) lives in the DNS extension driver (plugins/dns).
import type { AttributeDef, Validator } from '../core/definition.js';
import { invalidAttribute, invalidInput } from '../core/errors.js';
import { pyStr } from '../ipam/index.js';

/** neutron_lib db constants FQDN_FIELD_SIZE. */
export const FQDN_MAX_LEN = 255;
const LABEL_RE = /^([a-z0-9-]{1,63}|<project_id>|<project_name>|<user_name>|<user_id>)$/;

/** convert_string_to_case_insensitive. */
function lower(v: unknown): string {
  if (typeof v !== 'string') throw invalidInput(`Input value ${pyStr(v)} must be string type`);
  return v.toLowerCase();
}

/** _validate_dns_format: the reason a (lower-cased) name is not a PQDN/FQDN, or null. */
export function dnsFormatError(data: string, maxLen = FQDN_MAX_LEN): string | null {
  if (!data) return null;
  const trimmed = data.endsWith('.') ? data.slice(0, -1) : data;
  let reason: string | null = null;
  if (trimmed.length > maxLen) {
    reason = `'${trimmed}' exceeds the ${maxLen} character FQDN limit`;
  } else {
    const labels = trimmed.split('.');
    for (const label of labels) {
      if (!label) reason = 'Encountered an empty component';
      else if (label.startsWith('-') || label.endsWith('-')) reason = `Name '${label}' must not start or end with a hyphen`;
      else if (!LABEL_RE.test(label)) reason = `Name '${label}' must be 1-63 characters long, each of which can only be alphanumeric or a hyphen`;
      if (reason) break;
    }
    if (!reason && labels.length > 1 && /^[0-9]+$/.test(labels[labels.length - 1]!)) {
      reason = `TLD '${labels[labels.length - 1]}' must not be all numeric`;
    }
  }
  return reason ? `'${data}' not a valid PQDN or FQDN. Reason: ${reason}` : null;
}

/** type:dns_host_name (ports' dns_name). */
export const dnsHostName: Validator = (v, attr) => {
  const s = lower(v);
  const bad = dnsFormatError(s);
  if (bad) throw invalidAttribute(attr, bad);
  return s;
};

/** type:fip_dns_host_name (floating IPs' dns_name): relative names only. */
export const fipDnsHostName: Validator = (v, attr) => {
  const s = lower(v);
  if (!s) return s;
  if (s.endsWith('.')) throw invalidAttribute(attr, `'${s}' is a FQDN. It should be a relative domain name`);
  const bad = dnsFormatError(s);
  if (bad) throw invalidAttribute(attr, bad);
  if (s.length > FQDN_MAX_LEN - 3) {
    throw invalidAttribute(attr, `'${s}' contains ${s.length} characters. Adding a domain name will cause it to exceed the maximum length of a FQDN of '${FQDN_MAX_LEN}'`);
  }
  return s;
};

/** type:dns_domain_name: a FQDN (trailing dot) with room for one more label. */
export const dnsDomainName: Validator = (v, attr) => {
  const s = lower(v);
  if (!s) return s;
  if (!s.endsWith('.')) throw invalidAttribute(attr, `'${s}' is not a FQDN`);
  const bad = dnsFormatError(s);
  if (bad) throw invalidAttribute(attr, bad);
  if (s.length > FQDN_MAX_LEN - 2) {
    throw invalidAttribute(attr, `'${s}' contains ${s.length} characters. Adding a sub-domain will cause it to exceed the maximum length of a FQDN of '${FQDN_MAX_LEN}'`);
  }
  return s;
};

const ro = { allowPost: false, allowPut: false, visible: true } as const;

export const portDnsAttrs: Record<string, AttributeDef> = {
  dns_name: { allowPost: true, allowPut: true, default: '', validate: dnsHostName, visible: true, extension: 'dns-integration' },
  dns_assignment: { ...ro, extension: 'dns-integration' },
  dns_domain: { allowPost: true, allowPut: true, default: '', validate: dnsDomainName, visible: true, extension: 'dns-domain-ports' },
};

export const networkDnsAttrs: Record<string, AttributeDef> = {
  dns_domain: { allowPost: true, allowPut: true, default: '', validate: dnsDomainName, visible: true, extension: 'dns-integration' },
};

export const floatingipDnsAttrs: Record<string, AttributeDef> = {
  dns_name: { allowPost: true, allowPut: false, default: '', validate: fipDnsHostName, visible: true, extension: 'dns-integration' },
  dns_domain: { allowPost: true, allowPut: false, default: '', validate: dnsDomainName, visible: true, extension: 'dns-integration' },
};

// Pure: what the metadata agent (Neutron's MetadataProxyHandler) makes of a proxied request and
// of Nova's answer. The per-namespace proxy adds X-Neutron-Network-ID or X-Neutron-Router-ID and
// X-Forwarded-For (the instance's address); the agent finds the instance's port by that address
// on the network (or on the router's networks) and asks Nova with the instance id signed by the
// shared secret.
import { createHmac } from 'node:crypto';
import ipaddr from 'ipaddr.js';
import { ROUTER_INTERFACE_OWNERS } from '../../core/wire.js';

/** X-Instance-ID-Signature: HMAC-SHA256 of the instance id with the shared secret, hex (Nova checks it). */
export function signInstanceId(secret: string, instanceId: string): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(Buffer.from(instanceId, 'utf8')).digest('hex');
}

export interface Requester {
  /** The address to look the port up by (IPv4-mapped IPv6 unmapped), or null with a MAC. */
  ip: string;
  /** An IPv6 link-local client is known only by the MAC in its EUI-64 interface id. */
  mac: string | null;
  networkId: string | null;
  routerId: string | null;
}

/** The last hop of X-Forwarded-For: the one the proxy appended (earlier ones are the client's word). */
function lastForwarded(xff: string): string {
  const parts = xff
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  return parts[parts.length - 1] ?? '';
}

/** The MAC of an EUI-64 interface id (fe80::a8bb:ccff:fedd:eeff → aa:bb:cc:dd:ee:ff), or null. */
export function macOfLinkLocal(addr: ipaddr.IPv6): string | null {
  const b = addr.toByteArray();
  if (b[11] !== 0xff || b[12] !== 0xfe) return null;
  const mac = [b[8]! ^ 0x02, b[9]!, b[10]!, b[13]!, b[14]!, b[15]!];
  return mac.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/**
 * Who is asking, from the proxy's headers; null when the request cannot be attributed: both
 * ids given (one could be spoofed, as Neutron reasons), neither, or no valid address.
 */
export function requesterOf(headers: Record<string, string | string[] | undefined>): Requester | null {
  const one = (h: string) => {
    const v = headers[h];
    return (Array.isArray(v) ? v.join(',') : v)?.trim() || null;
  };
  const networkId = one('x-neutron-network-id');
  const routerId = one('x-neutron-router-id');
  if ((networkId && routerId) || (!networkId && !routerId)) return null;
  const raw = lastForwarded(one('x-forwarded-for') ?? '');
  if (!ipaddr.isValid(raw)) return null;
  let addr = ipaddr.parse(raw);
  let mac: string | null = null;
  if (addr.kind() === 'ipv6') {
    const v6 = addr as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) addr = v6.toIPv4Address();
    else if (v6.range() === 'linkLocal') mac = macOfLinkLocal(v6);
  }
  return { ip: addr.toString(), mac, networkId, routerId };
}

/** get_ports filters: a router's interface ports (to learn its networks). */
export function routerPortFilters(routerId: string): Record<string, unknown> {
  return { device_id: [routerId], device_owner: [...ROUTER_INTERFACE_OWNERS] };
}

/** get_ports filters: the port with the requester's address (or MAC) on these networks. */
export function instancePortFilters(r: Requester, networks: readonly string[]): Record<string, unknown> {
  return { network_id: [...networks], ...(r.mac ? { mac_address: [r.mac] } : { fixed_ips: { ip_address: [r.ip] } }) };
}

/** The headers Nova's metadata API trusts, for the port found. */
export function novaHeaders(
  port: { device_id: string; tenant_id?: string; project_id?: string },
  forwardedFor: string,
  secret: string,
): Record<string, string> {
  return {
    'X-Forwarded-For': forwardedFor,
    'X-Instance-ID': port.device_id,
    'X-Tenant-ID': port.tenant_id ?? port.project_id ?? '',
    'X-Instance-ID-Signature': signInstanceId(secret, port.device_id),
  };
}

export interface Page {
  status: number;
  contentType: string;
  body: string;
}

const TITLES: Record<number, [string, string]> = {
  400: ['Bad Request', 'The server could not comply with the request since it is either malformed or otherwise incorrect.'],
  403: ['Forbidden', 'Access was denied to this resource.'],
  404: ['Not Found', 'The resource could not be found.'],
  409: ['Conflict', 'There was a conflict when trying to complete your request.'],
  500: ['Internal Server Error', 'An unknown error has occurred. Please try your request again.'],
};

export const NOVA_500 = 'Remote metadata server experienced an internal server error.';

/**
 * Which of text/html, application/json the Accept header prefers, else null. By hand (20 lines)
 * rather than a negotiation library: what matters is webob's own rules, ties going to the first
 * offer and no header at all meaning plain text.
 */
function negotiate(accept: string | undefined): 'text/html' | 'application/json' | null {
  if (!accept?.trim()) return null; // webob: no Accept header, plain text
  let best: { type: 'text/html' | 'application/json'; q: number } | null = null;
  for (const offer of ['text/html', 'application/json'] as const) {
    let q = -1;
    let specificity = -1;
    for (const part of accept.split(',')) {
      const [range = '', ...params] = part.trim().toLowerCase().split(';');
      const qp = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      const pq = qp ? Number(qp.slice(2)) : 1;
      const [t, st] = range.trim().split('/');
      const [ot, ost] = offer.split('/');
      const spec = t === ot && st === ost ? 2 : t === ot && st === '*' ? 1 : t === '*' && st === '*' ? 0 : -1;
      if (spec > specificity) {
        specificity = spec;
        q = Number.isFinite(pq) ? pq : 0;
      }
    }
    if (q > 0 && (!best || q > best.q)) best = { type: offer, q };
  }
  return best?.type ?? null;
}

/**
 * The error pages of Neutron's agent (webob's HTTP exceptions): HTML for browsers and curl
 * (any Accept, as curl sends), JSON when asked, plain text otherwise (no Accept at all too); `explanation`
 * replaces the standard one.
 */
export function errorPage(status: keyof typeof TITLES | number, accept: string | undefined, explanation?: string): Page {
  const [title, standard] = TITLES[status] ?? TITLES[500]!;
  const code = TITLES[status] ? status : 500;
  const line = `${code} ${title}`;
  const text = explanation ?? standard;
  const type = negotiate(accept);
  if (type === 'text/html') {
    return {
      status: code,
      contentType: 'text/html; charset=UTF-8',
      body: `<html>\n <head>\n  <title>${line}</title>\n </head>\n <body>\n  <h1>${line}</h1>\n  ${text}<br /><br />\n\n\n\n </body>\n</html>`,
    };
  }
  if (type === 'application/json') {
    return { status: code, contentType: 'application/json', body: JSON.stringify({ message: `${text}<br /><br />\n\n\n`, code: line, title }) };
  }
  return { status: code, contentType: 'text/plain; charset=UTF-8', body: `${line}\n\n${text}\n\n   ` };
}

/**
 * What the instance gets for Nova's status: 200 passes through (body and content type), the
 * errors Neutron maps become its pages, anything else is the agent's own 500.
 */
export function pageForNovaStatus(status: number, accept: string | undefined): Page | 'pass' {
  if (status === 200) return 'pass';
  if (status === 400 || status === 403 || status === 404 || status === 409) return errorPage(status, accept);
  if (status === 500) return errorPage(500, accept, NOVA_500);
  return errorPage(500, accept);
}

// oslo.messaging's `[DEFAULT] transport_url`:
//   driver://[user:pass@]host[:port][,[user:pass@]host[:port]...]/[virtual_host][?option=value]
// WHATWG URL cannot read the comma-separated host list, hence this small parser.
import { TransportUrlError } from './errors.js';

export interface BrokerHost {
  hostname: string;
  port: number;
  username: string;
  password: string;
}

export interface TransportUrl {
  /** 'rabbit' for rabbit:// and amqp://, 'memory' for memory:// (and oslo's fake://). */
  driver: 'rabbit' | 'memory';
  /** RabbitMQ nodes, tried in order and in turn after a failure; empty for memory. */
  hosts: BrokerHost[];
  /** '/' when the URL has none, as RabbitMQ's default vhost. */
  virtualHost: string;
  /** memory:// only: which in-process broker ('' is the default one). */
  memoryName: string;
  /** Query options; `ssl` is understood (amqps), others are kept for the caller. */
  options: Record<string, string>;
  tls: boolean;
}

const DRIVERS: Record<string, TransportUrl['driver']> = { rabbit: 'rabbit', amqp: 'rabbit', memory: 'memory', fake: 'memory' };

/** The URL with every password replaced, for logs and error messages. */
export function redactTransportUrl(url: string): string {
  return url.replace(/([/,@]|^)([^:/@,]*):([^@/,]*)@/g, (_m, pre: string, user: string) => `${pre}${user}:***@`);
}

function decode(part: string, what: string, url: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new TransportUrlError(`invalid transport_url '${redactTransportUrl(url)}': bad percent-encoding in the ${what}`);
  }
}

export function parseTransportUrl(url: string): TransportUrl {
  const bad = (why: string) => new TransportUrlError(`invalid transport_url '${redactTransportUrl(url)}': ${why}`);
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)(\/[^?#]*)?(\?[^#]*)?$/i.exec(url.trim());
  if (!m) throw bad('expected driver://[user:pass@]host:port[,...]/[vhost]');
  const scheme = m[1]!.toLowerCase();
  const driver = DRIVERS[scheme.split('+')[0]!];
  if (!driver) throw bad(`unsupported driver '${scheme}' (use rabbit://, amqp:// or memory://)`);
  const netloc = m[2]!;
  const path = m[3] ?? '';
  const options: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(m[4] ?? '')) options[k] = v;
  const tls = ['1', 'true', 'yes', 'on'].includes((options.ssl ?? '').toLowerCase());

  if (driver === 'memory') {
    return { driver, hosts: [], virtualHost: '/', memoryName: decode(netloc, 'name', url), options, tls: false };
  }

  const hosts: BrokerHost[] = [];
  // A host without credentials uses the previous host's, as oslo does for lists like
  // rabbit://u:p@h1,h2/ (and RabbitMQ's guest/guest when none were given at all).
  let user = 'guest';
  let pass = 'guest';
  for (const entry of netloc ? netloc.split(',') : ['']) {
    let hostport = entry;
    const at = entry.lastIndexOf('@');
    if (at >= 0) {
      const creds = entry.slice(0, at);
      hostport = entry.slice(at + 1);
      const colon = creds.indexOf(':');
      user = decode(colon >= 0 ? creds.slice(0, colon) : creds, 'user name', url);
      pass = colon >= 0 ? decode(creds.slice(colon + 1), 'password', url) : '';
    }
    const hm = /^(?:\[([0-9a-f:.]+)\]|([^:[\]]*))(?::(\d*))?$/i.exec(hostport);
    if (!hm) throw bad(`cannot read host '${hostport}'`);
    const hostname = hm[1] ?? (hm[2] || 'localhost');
    const port = hm[3] ? Number(hm[3]) : tls ? 5671 : 5672;
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad(`port '${hm[3]}' of host '${hostname}' is not in 1-65535`);
    hosts.push({ hostname, port, username: user, password: pass });
  }
  const vhostRaw = path.length > 1 ? decode(path.slice(1), 'virtual host', url) : '';
  return { driver, hosts, virtualHost: vhostRaw || '/', memoryName: '', options, tls };
}

// `neutrino vif plug <port-id> --netns NAME` / `neutrino vif unplug <port-id>`: what Nova's
// os-vif does for a Linux-bridge port, for tests and for people without Nova.
//   plug:   reads the port from the API, sets binding:host_id to this host, then creates a veth
//           pair whose host end is tap<port-id[:11]> (the L2 agent picks it up from there) and
//           whose other end goes into the VM namespace as eth0 with the port's MAC and the
//           network's MTU; --static also puts the port's fixed IPs on it.
//   unplug: deletes the tap (its peer goes with it); --unbind clears binding:host_id.
// --host-netns puts the tap into that namespace instead of the current one (simulated hosts).
// Auth: OS_TOKEN / --token as X-Auth-Token; without one, no-auth admin headers.
import { hostname } from 'node:os';
import { ensureNetns, IpBatch, type Target } from '../dataplane/index.js';
import { parseOptions } from '../config/command-line.js';

const USAGE = `usage:
  neutrino vif plug <port-id> --netns NAME [--host HOST] [--host-netns NS] [--ifname eth0] [--static] [--endpoint URL] [--token TOKEN]
  neutrino vif unplug <port-id> [--host-netns NS] [--unbind] [--endpoint URL] [--token TOKEN]
`;

export class VifError extends Error {}

interface VifArgs {
  action: 'plug' | 'unplug';
  portId: string;
  netns?: string;
  host: string;
  hostNetns?: string;
  ifname: string;
  static: boolean;
  unbind: boolean;
  endpoint: string;
  token?: string;
}

function parse(argv: string[]): VifArgs {
  const [action, portId, ...rest] = argv;
  if (action !== 'plug' && action !== 'unplug') throw new VifError(USAGE);
  if (!portId || portId.startsWith('-')) throw new VifError(`a port id is needed\n\n${USAGE}`);
  const out: VifArgs = {
    action,
    portId,
    host: process.env.NEUTRINO_HOST || hostname(),
    ifname: 'eth0',
    static: false,
    unbind: false,
    endpoint: process.env.OS_ENDPOINT || 'http://127.0.0.1:9696',
    ...(process.env.OS_TOKEN ? { token: process.env.OS_TOKEN } : {}),
  };
  const spec = {
    netns: { type: 'string' },
    host: { type: 'string' },
    'host-netns': { type: 'string' },
    ifname: { type: 'string' },
    endpoint: { type: 'string' },
    token: { type: 'string' },
    static: { type: 'boolean' },
    unbind: { type: 'boolean' },
  } as const;
  const { values: v, positionals } = parseOptions(rest, spec, USAGE, (m) => new VifError(m));
  if (positionals.length) throw new VifError(`unexpected argument ${positionals[0]}\n\n${USAGE}`);
  if (v.netns !== undefined) out.netns = v.netns;
  if (v.host !== undefined) out.host = v.host;
  if (v['host-netns'] !== undefined) out.hostNetns = v['host-netns'];
  if (v.ifname !== undefined) out.ifname = v.ifname;
  if (v.endpoint !== undefined) out.endpoint = v.endpoint.replace(/\/+$/, '');
  if (v.token !== undefined) out.token = v.token;
  out.static = v.static ?? false;
  out.unbind = v.unbind ?? false;
  if (action === 'plug' && !out.netns) throw new VifError(`--netns is required for plug\n\n${USAGE}`);
  return out;
}

/** What plugging reads from the API's answers. */
interface ApiPort {
  id: string;
  network_id: string;
  mac_address: string;
  'binding:host_id': string;
  fixed_ips: Array<{ subnet_id: string; ip_address: string }>;
}

/** One API call; T is the shape of the answer the caller reads (unchecked: the server is Neutron's). */
async function api<T = unknown>(a: VifArgs, method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (a.token) headers['x-auth-token'] = a.token;
  else Object.assign(headers, { 'x-project-id': 'admin', 'x-roles': 'admin', 'x-user-id': 'neutrino-vif' });
  const r = await fetch(`${a.endpoint}/v2.0${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  if (!r.ok) throw new VifError(`${method} ${path}: HTTP ${r.status} ${text}`);
  return (text ? JSON.parse(text) : null) as T;
}

export const tapOf = (portId: string) => `tap${portId.slice(0, 11)}`;

export interface PlugResult {
  port_id: string;
  tap: string;
  netns: string;
  ifname: string;
  mac_address: string;
  mtu: number;
  addresses: string[];
  /** When the tap appeared (ms since the epoch): the start of "plug to ACTIVE". */
  plugged_at: number;
}

export async function plug(a: VifArgs): Promise<PlugResult> {
  const port = (await api<{ port: ApiPort }>(a, 'GET', `/ports/${a.portId}`)).port;
  if (port['binding:host_id'] !== a.host) await api(a, 'PUT', `/ports/${a.portId}`, { port: { 'binding:host_id': a.host } });
  const net = (await api<{ network: { mtu?: number } }>(a, 'GET', `/networks/${port.network_id}`)).network;
  const mtu = Number(net.mtu) || 1500;
  const addresses: string[] = [];
  if (a.static) {
    for (const ip of port.fixed_ips) {
      const sn = (await api<{ subnet: { cidr: string } }>(a, 'GET', `/subnets/${ip.subnet_id}`)).subnet;
      addresses.push(`${ip.ip_address}/${String(sn.cidr).split('/')[1]}`);
    }
  }
  await ensureNetns(a.netns!);
  const host: Target = a.hostNetns ? { netns: a.hostNetns } : {};
  const tap = tapOf(port.id);
  // The VM end is configured before the tap appears to the agent... as far as one batch allows:
  // the veth is created with its peer directly in the VM namespace.
  await new IpBatch().addVeth(tap, a.ifname, { mtu, peerNetns: a.netns! }).apply(host);
  const pluggedAt = Date.now();
  const vm = new IpBatch().setAddress(a.ifname, port.mac_address).setMtu(a.ifname, mtu);
  for (const c of addresses) vm.addAddr(a.ifname, c);
  vm.setUp(a.ifname, true);
  await vm.apply({ netns: a.netns! });
  return { port_id: port.id, tap, netns: a.netns!, ifname: a.ifname, mac_address: port.mac_address, mtu, addresses, plugged_at: pluggedAt };
}

export async function unplug(a: VifArgs): Promise<{ port_id: string; tap: string; removed: boolean }> {
  const tap = tapOf(a.portId);
  let removed = true;
  try {
    await new IpBatch().deleteLink(tap).apply(a.hostNetns ? { netns: a.hostNetns } : {});
  } catch {
    removed = false; // already gone
  }
  if (a.unbind) await api(a, 'PUT', `/ports/${a.portId}`, { port: { 'binding:host_id': '' } });
  return { port_id: a.portId, tap, removed };
}

/** The `neutrino vif …` command; prints the result as JSON. */
export async function runVif(argv: string[]): Promise<void> {
  try {
    const a = parse(argv);
    const r = a.action === 'plug' ? await plug(a) : await unplug(a);
    process.stdout.write(`${JSON.stringify(r)}\n`);
  } catch (err) {
    if (err instanceof VifError) {
      process.stderr.write(`neutrino vif: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

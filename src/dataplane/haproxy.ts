// An HTTP proxy inside a namespace that forwards every request to a Unix socket, adding and
// removing request headers on the way: haproxy, one process per instance, with its files in
// STATE_DIR/ID.conf and STATE_DIR/ID.pid. The metadata proxies of the DHCP and L3 agents are such
// instances (they forward to the metadata agent's socket); this module knows nothing of that.
//
// haproxy rather than a Node process per namespace: it is what Neutron runs there (operators
// know its config and logs), it takes a few MB per instance where a Node process takes ~40, and
// it starts in milliseconds. Like dnsmasq, it outlives the agent that started it, and a pass
// with the same configuration writes nothing: the instance is recognised by its pid file and by
// `-f <its config file>` on its command line, and must sit in the right namespace.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { assertNetnsName, countWrite, execOf, type Exec } from './exec.js';
import { instanceProcesses, inNetns, recordedProcess, stopInstance, terminate } from './daemon.js';
import { writeFileAtomic } from './dnsmasq.js';
import { assertIfName } from './values.js';

export interface HttpProxySpec {
  /** Names the instance's files (e.g. a network or router id). */
  id: string;
  stateDir: string;
  /** Namespace to run in; the current one if absent. */
  netns?: string;
  /** Address and TCP port to listen on inside the namespace ('0.0.0.0', '169.254.169.254', …). */
  listenHost: string;
  listenPort: number;
  /** More listeners, each bound to one interface (a link-local address needs one). */
  interfaceBinds?: Array<{ host: string; port: number; iface: string }>;
  /** The Unix socket every request goes to. */
  socketPath: string;
  /** Request headers set to these values (replacing whatever the client sent). */
  setHeaders?: Record<string, string>;
  /** Request headers removed and not set again. */
  deleteHeaders?: string[];
  exec?: Exec;
}

const HEADER = /^[A-Za-z0-9-]{1,64}$/;
const VALUE = /^[A-Za-z0-9._:/-]{0,255}$/;

export function httpProxyPaths(stateDir: string, id: string): { conf: string; pid: string } {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(id) || id === '.' || id === '..') throw new Error(`invalid proxy instance id ${JSON.stringify(id)}`);
  return { conf: join(stateDir, `${id}.conf`), pid: join(stateDir, `${id}.pid`) };
}

/**
 * haproxy's configuration, in the shape of Neutron's metadata proxy: HTTP mode, one connection
 * per request to the socket (http-server-close), X-Forwarded-For set to the client's address.
 * The client's own X-Forwarded-For is removed first, so the address the socket sees is the one
 * haproxy saw (Neutron's config lets a client's header through, ahead of haproxy's).
 */
export function renderHttpProxyConfig(s: HttpProxySpec): string {
  const paths = httpProxyPaths(s.stateDir, s.id);
  if (!/^[0-9a-fA-F.:]+$/.test(s.listenHost)) throw new Error(`invalid listen address ${JSON.stringify(s.listenHost)}`);
  if (!Number.isInteger(s.listenPort) || s.listenPort < 1 || s.listenPort > 65535) throw new Error(`invalid listen port ${s.listenPort}`);
  if (!s.socketPath.startsWith('/') || /\s/.test(s.socketPath)) throw new Error(`invalid socket path ${JSON.stringify(s.socketPath)}`);
  const set = Object.entries(s.setHeaders ?? {});
  const del = [...(s.deleteHeaders ?? []), 'X-Forwarded-For'];
  for (const [h, v] of set) if (!HEADER.test(h) || !VALUE.test(v)) throw new Error(`invalid header ${JSON.stringify(h)}: ${JSON.stringify(v)}`);
  for (const h of del) if (!HEADER.test(h)) throw new Error(`invalid header ${JSON.stringify(h)}`);
  const bracket = (h: string) => (h.includes(':') ? `[${h}]` : h);
  const host = bracket(s.listenHost);
  const more = (s.interfaceBinds ?? []).map((b) => {
    if (!/^[0-9a-fA-F.:]+$/.test(b.host) || !Number.isInteger(b.port) || b.port < 1 || b.port > 65535)
      throw new Error(`invalid listen address ${JSON.stringify(b)}`);
    return `    bind ${bracket(b.host)}:${b.port} interface ${assertIfName(b.iface)}`;
  });
  return [
    'global',
    '    maxconn 1024',
    `    pidfile ${paths.pid}`,
    '    daemon',
    '',
    'defaults',
    '    mode http',
    '    option http-server-close',
    '    option forwardfor',
    '    retries 3',
    '    timeout http-request 30s',
    '    timeout connect 30s',
    '    timeout client 32s',
    '    timeout server 32s',
    '    timeout http-keep-alive 30s',
    '',
    'listen listener',
    `    bind ${host}:${s.listenPort}`,
    ...more,
    `    server upstream ${s.socketPath}`,
    ...del.map((h) => `    http-request del-header ${h}`),
    ...set.map(([h, v]) => `    http-request set-header ${h} ${v}`), // replaces what the client sent
    '',
  ].join('\n');
}

/** Ours: an haproxy started with this instance's config file (pids get reused). */
const ours = (conf: string) => (argv: string[]) => /haproxy$/.test(argv[0] ?? '') && argv.includes(conf);

/** Live processes of the instance: the pid file's, and any stray started with its config file. */
function instancePids(stateDir: string, id: string): Promise<number[]> {
  const { conf, pid } = httpProxyPaths(stateDir, id);
  return instanceProcesses(pid, ours(conf));
}

/** The running instance's pid, or null. */
export async function httpProxyPid(stateDir: string, id: string): Promise<number | null> {
  const { conf, pid } = httpProxyPaths(stateDir, id);
  return (await recordedProcess(pid, ours(conf)))?.pid ?? null;
}

/** Stops the instance and removes its files; returns whether a process was running. */
export async function stopHttpProxy(stateDir: string, id: string): Promise<boolean> {
  const { conf, pid } = httpProxyPaths(stateDir, id);
  return stopInstance(pid, ours(conf), [pid, conf]);
}

export type HttpProxyAction = 'none' | 'started' | 'restarted';

/**
 * One pass: starts the instance if it is not running, restarts it when its configuration or
 * namespace changed, and otherwise writes nothing.
 */
export async function ensureHttpProxy(s: HttpProxySpec): Promise<HttpProxyAction> {
  if (s.netns) assertNetnsName(s.netns);
  const paths = httpProxyPaths(s.stateDir, s.id);
  const config = renderHttpProxyConfig(s);
  if (!existsSync(s.stateDir)) {
    await mkdir(s.stateDir, { recursive: true, mode: 0o755 });
    countWrite();
  }
  const changed = await writeFileAtomic(paths.conf, config);
  const pid = await httpProxyPid(s.stateDir, s.id);
  if (pid !== null && !changed && (await inNetns(pid, s.netns))) return 'none';
  const running = await instancePids(s.stateDir, s.id);
  await terminate(running);
  // `daemon`: haproxy forks once it is listening; the parent exits with the bind error otherwise.
  await execOf({ exec: s.exec })({ argv: ['haproxy', '-f', paths.conf], netns: s.netns, write: true, timeoutMs: 15_000 });
  return running.length ? 'restarted' : 'started';
}

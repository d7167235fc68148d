// Named network namespaces (/run/netns/NAME, as `ip netns` manages them): the DHCP agent puts one
// dnsmasq per network in its own namespace, and the root tests simulate hosts and VMs with them.
import { randomBytes } from 'node:crypto';
import { assertNetnsName, execOf, type Cmd, type CmdResult, type Exec } from './exec.js';

export interface NetnsInfo {
  name: string;
  /** The nsid the current namespace has assigned to it, if any. */
  id?: number;
}

/** Parses `ip -json netns list` (which prints nothing at all on some versions when empty). */
export function parseNetnsList(json: string): NetnsInfo[] {
  if (json.trim() === '') return [];
  const rows = JSON.parse(json) as Array<{ name: string; id?: number }>;
  return rows.map((r) => (r.id === undefined ? { name: r.name } : { name: r.name, id: r.id }));
}

export async function listNetns(exec?: Exec): Promise<NetnsInfo[]> {
  const r = await execOf({ exec })({ argv: ['ip', '-json', 'netns', 'list'] });
  return parseNetnsList(r.stdout);
}

export async function netnsExists(name: string, exec?: Exec): Promise<boolean> {
  return (await listNetns(exec)).some((n) => n.name === name);
}

/**
 * Creates the namespace unless it exists (no write then). Loopback is brought up on creation:
 * dnsmasq and most tools expect a working lo, and a new namespace has it down.
 */
export async function ensureNetns(name: string, exec?: Exec): Promise<boolean> {
  assertNetnsName(name);
  if (await netnsExists(name, exec)) return false;
  const x = execOf({ exec });
  await x({ argv: ['ip', 'netns', 'add', name], write: true });
  await x({ argv: ['ip', '-n', name, 'link', 'set', 'lo', 'up'], write: true });
  return true;
}

/** Deletes the namespace if present; links inside it go with it (veth peers elsewhere too). */
export async function deleteNetns(name: string, exec?: Exec): Promise<boolean> {
  assertNetnsName(name);
  if (!(await netnsExists(name, exec))) return false;
  await execOf({ exec })({ argv: ['ip', 'netns', 'delete', name], write: true });
  return true;
}

/** Runs a command inside the namespace (see Cmd.via for how it is entered). */
export function runInNetns(name: string, cmd: Omit<Cmd, 'netns'>, exec?: Exec): Promise<CmdResult> {
  return execOf({ exec })({ ...cmd, netns: name });
}

/** What one command printed in a namespace read by readInNamespaces: its exit code and stdout. */
export interface NsCommandResult {
  code: number;
  stdout: string;
}

/**
 * Runs the same read-only commands in many namespaces with one process: a shell that enters
 * each namespace (nsenter, network namespace only) and runs them there, their outputs delimited
 * by a token of this call. What a restart of an agent with hundreds of namespaces reads costs one
 * spawn from Node instead of several per namespace. A namespace that could not be entered, or a
 * command that did not report, is missing from the answer: callers read it the ordinary way.
 * stderr is dropped (a command's failure shows as its code).
 */
export async function readInNamespaces(
  namespaces: readonly string[],
  commands: Readonly<Record<string, readonly string[]>>,
  exec?: Exec,
): Promise<Map<string, Map<string, NsCommandResult>>> {
  const out = new Map<string, Map<string, NsCommandResult>>();
  if (!namespaces.length) return out;
  for (const ns of namespaces) assertNetnsName(ns);
  const token = `@@${randomBytes(8).toString('hex')}`;
  const quote = (w: string) => {
    if (/[^A-Za-z0-9_.,:/=@%+-]/.test(w)) throw new Error(`readInNamespaces: unsafe word ${JSON.stringify(w)}`);
    return w;
  };
  const keys = Object.keys(commands);
  for (const k of keys) quote(k);
  const inner = keys.map((k) => `echo '${token} cmd ${k}'; ${commands[k]!.map(quote).join(' ')} 2>/dev/null; echo "${token} rc $?"`).join('; ');
  const script = `inner="$1"; shift; for ns in "$@"; do echo "${token} ns $ns"; nsenter --net="/run/netns/$ns" -- sh -c "$inner"; done; exit 0`;
  const r = await execOf({ exec })({ argv: ['sh', '-c', script, 'sh', inner, ...namespaces], timeoutMs: 30_000 + 200 * namespaces.length });
  let ns: Map<string, NsCommandResult> | null = null;
  let key: string | null = null;
  let lines: string[] = [];
  for (const line of r.stdout.split('\n')) {
    if (!line.startsWith(`${token} `)) {
      if (key !== null) lines.push(line);
      continue;
    }
    const [, what, arg] = line.split(' ');
    if (what === 'ns') {
      ns = new Map();
      out.set(arg!, ns);
      key = null;
    } else if (what === 'cmd') {
      key = arg!;
      lines = [];
    } else if (what === 'rc' && ns && key !== null) {
      ns.set(key, { code: Number(arg), stdout: lines.join('\n') });
      key = null;
    }
  }
  return out;
}

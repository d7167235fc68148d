// Named network namespaces (/run/netns/NAME, as `ip netns` manages them): the DHCP agent puts one
// dnsmasq per network in its own namespace, and the root tests simulate hosts and VMs with them.
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

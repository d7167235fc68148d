// One dnsmasq per network, inside that network's namespace, with its files in
// STATE_DIR/ID/{hosts,opts,leases,pid}. The caller (the DHCP agent) renders the contents of the
// hosts and opts files and the extra arguments (dhcp-range, domain, …); this module owns the
// process: start, stop, SIGHUP, and telling whether the recorded pid is still our dnsmasq.
//
// SIGHUP makes dnsmasq re-read --dhcp-hostsfile and --dhcp-optsfile, so a port change is a file
// rewrite plus a signal, without dropping leases or the listening sockets. Anything else that
// changes (arguments, namespace) needs a restart. ensureDnsmasq picks the least of the three.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { inNetns, instanceProcesses, recordedProcess, strayProcesses, terminate } from './daemon.js';
import { assertNetnsName, countWrite, execOf, type Exec } from './exec.js';
import { assertIfName } from './values.js';

export interface DnsmasqPaths {
  dir: string;
  hosts: string;
  opts: string;
  leases: string;
  pid: string;
}

export interface DnsmasqSpec {
  /** Names the instance's directory under stateDir (e.g. the network id). */
  id: string;
  stateDir: string;
  /** Namespace to run in; the current one if absent. */
  netns?: string;
  /** The interface to serve (inside netns). */
  interface: string;
  /** Contents of the --dhcp-hostsfile (dnsmasq dhcp-host syntax, one per line). */
  hosts: string;
  /** Contents of the --dhcp-optsfile (dhcp-option syntax, one per line). */
  opts: string;
  /** Further arguments, e.g. ['--dhcp-range=set:s1,10.0.0.0,static,255.255.255.0,86400s']. */
  args?: string[];
  exec?: Exec;
  /** dnsmasq binary; default 'dnsmasq' (found in /usr/sbin by exec's PATH). */
  binary?: string;
}

export function dnsmasqPaths(stateDir: string, id: string): DnsmasqPaths {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(id) || id === '.' || id === '..') throw new Error(`invalid dnsmasq instance id ${JSON.stringify(id)}`);
  const dir = join(stateDir, id);
  return { dir, hosts: join(dir, 'hosts'), opts: join(dir, 'opts'), leases: join(dir, 'leases'), pid: join(dir, 'pid') };
}

/**
 * The full command line. Deterministic, because a running instance is compared with it through
 * /proc/PID/cmdline to decide whether its arguments changed.
 */
export function dnsmasqArgv(s: DnsmasqSpec): string[] {
  const p = dnsmasqPaths(s.stateDir, s.id);
  for (const a of s.args ?? []) if (!a.startsWith('--') || a.includes('\n')) throw new Error(`invalid dnsmasq argument ${JSON.stringify(a)}`);
  return [
    s.binary ?? 'dnsmasq',
    '--no-hosts', // answer nothing from the host's /etc/hosts
    '--no-resolv', // nor forward to the host's resolvers
    '--conf-file=/dev/null', // and ignore /etc/dnsmasq.conf: everything is on this line
    `--pid-file=${p.pid}`, // also what identifies the process as ours (see isOurDnsmasq)
    `--dhcp-hostsfile=${p.hosts}`,
    `--dhcp-optsfile=${p.opts}`,
    `--dhcp-leasefile=${p.leases}`,
    `--interface=${assertIfName(s.interface)}`,
    '--except-interface=lo',
    '--bind-dynamic', // bind the interface's addresses even if they appear after start
    ...(s.args ?? []),
  ];
}

/**
 * Writes via a temporary file and rename, so dnsmasq re-reading on SIGHUP never sees half a file.
 * Returns false, having written nothing, when the file already has this content.
 */
export async function writeFileAtomic(path: string, content: string, mode = 0o644): Promise<boolean> {
  try {
    if ((await readFile(path, 'utf8')) === content) return false;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(tmp, content, { mode });
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
  countWrite();
  return true;
}

/** Our dnsmasq: a dnsmasq whose --pid-file is this instance's (pids get reused). */
const ours = (paths: DnsmasqPaths) => (argv: string[]) => basename(argv[0] ?? '') === 'dnsmasq' && argv.includes(`--pid-file=${paths.pid}`);

export interface DnsmasqStatus {
  pid: number;
  /** Its command line, to compare with dnsmasqArgv(). */
  argv: string[];
}

/** The pid recorded in the pid file, if that process is alive and is this instance's dnsmasq. */
export async function dnsmasqStatus(stateDir: string, id: string): Promise<DnsmasqStatus | null> {
  const paths = dnsmasqPaths(stateDir, id);
  return recordedProcess(paths.pid, ours(paths));
}

/** Stops this instance (and any stray copy of it); returns whether anything was running. */
export async function stopDnsmasq(stateDir: string, id: string, timeoutMs = 5000): Promise<boolean> {
  const paths = dnsmasqPaths(stateDir, id);
  const pids = await instanceProcesses(paths.pid, ours(paths));
  await terminate(pids, timeoutMs);
  await unlink(paths.pid).catch(() => {});
  return pids.length > 0;
}

/** SIGHUP: re-read the hosts and opts files. False if the instance is not running. */
export async function reloadDnsmasq(stateDir: string, id: string): Promise<boolean> {
  const st = await dnsmasqStatus(stateDir, id);
  if (!st) return false;
  process.kill(st.pid, 'SIGHUP');
  countWrite();
  return true;
}

/**
 * dnsmasq gives up root (to 'nobody') before it reads the hosts and opts files, at start as on
 * SIGHUP; a directory on the way that others cannot enter makes it serve no host at all while
 * starting fine. Refuse to start in that case, with the fix in the message.
 */
async function checkTraversable(s: DnsmasqSpec, dir: string): Promise<void> {
  if ((s.args ?? []).includes('--user=root')) return;
  for (let d = dir; ; d = dirname(d)) {
    const st = await stat(d);
    if ((st.mode & 0o001) === 0) {
      throw new Error(
        `dnsmasq runs as 'nobody' after start and cannot enter ${d} (mode ${(st.mode & 0o777).toString(8)}) to read ${dir}/hosts: make it world-searchable (chmod o+x) or choose another state directory`,
      );
    }
    if (dirname(d) === d) return;
  }
}

async function start(s: DnsmasqSpec): Promise<void> {
  if (s.netns) assertNetnsName(s.netns);
  await checkTraversable(s, dnsmasqPaths(s.stateDir, s.id).dir);
  // dnsmasq forks, and its first process exits only once the daemon has set up (or failed, with
  // the reason on stderr), so the pid file exists when this returns.
  await execOf({ exec: s.exec })({ argv: dnsmasqArgv(s), netns: s.netns, write: true, timeoutMs: 15_000 });
}

export type DnsmasqAction = 'none' | 'started' | 'reloaded' | 'restarted';

/**
 * One reconcile pass for one instance: write the files that changed, then start it if it is
 * not running, restart it if its arguments or namespace changed, SIGHUP it if only the files
 * changed, or do nothing at all.
 */
export async function ensureDnsmasq(s: DnsmasqSpec): Promise<DnsmasqAction> {
  const paths = dnsmasqPaths(s.stateDir, s.id);
  if (!existsSync(paths.dir)) {
    // 0755: dnsmasq drops root, and must still read hosts/opts when it re-reads them on SIGHUP.
    await mkdir(paths.dir, { recursive: true, mode: 0o755 });
    countWrite();
  }
  const changed = [await writeFileAtomic(paths.hosts, s.hosts), await writeFileAtomic(paths.opts, s.opts)].some(Boolean);
  const st = await dnsmasqStatus(s.stateDir, s.id);
  if (!st) {
    await terminate(await strayProcesses(ours(paths), null));
    await start(s);
    return 'started';
  }
  const want = dnsmasqArgv(s);
  const same = st.argv.length === want.length && st.argv.every((a, i) => (i === 0 ? basename(a) === basename(want[0]!) : a === want[i]));
  if (!same || !(await inNetns(st.pid, s.netns))) {
    await stopDnsmasq(s.stateDir, s.id);
    await start(s);
    return 'restarted';
  }
  if (changed) {
    process.kill(st.pid, 'SIGHUP');
    countWrite();
    return 'reloaded';
  }
  return 'none';
}

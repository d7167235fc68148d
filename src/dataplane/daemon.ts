// The process side of the daemons the agents leave running (dnsmasq, haproxy, radvd, keepalived):
// they outlive the agent that started them, so a pass finds them again through /proc and their
// pid files instead of holding child handles. Pids get reused, so a process counts as an
// instance's only if its command line says so (the caller's `isOurs`).
import { existsSync } from 'node:fs';
import { readFile, readdir, stat, unlink } from 'node:fs/promises';
import { countWrite } from './exec.js';

/** Tells whether a command line is the instance's (e.g. its binary with its config file). */
export type ArgvMatch = (argv: string[]) => boolean;

/** argv of a live process, or null (gone, or a zombie nobody reaped yet). */
export async function procArgv(pid: number): Promise<string[] | null> {
  try {
    const st = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Field 3, after the parenthesised command name (which may itself contain spaces or ')').
    if (st.slice(st.lastIndexOf(')') + 2).startsWith('Z')) return null;
    const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((x, i, a) => i < a.length - 1 || x !== '');
  } catch {
    return null;
  }
}

/** Alive: exists and is not a zombie (PID 1 here reaps orphans lazily, kill(pid, 0) would say yes). */
export async function processAlive(pid: number): Promise<boolean> {
  return (await procArgv(pid)) !== null;
}

/** The pid a pid file holds, or null (no file, or not a pid). */
export async function readPidFile(path: string): Promise<number | null> {
  try {
    const n = Number((await readFile(path, 'utf8')).trim());
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

/** In the network namespace /run/netns/NAME, or the current one if absent (a re-created namespace is a different one). */
export async function inNetns(pid: number, netns: string | undefined): Promise<boolean> {
  try {
    const [p, n] = await Promise.all([stat(`/proc/${pid}/ns/net`), stat(netns ? `/run/netns/${netns}` : '/proc/self/ns/net')]);
    return p.ino === n.ino && p.dev === n.dev;
  } catch {
    return false;
  }
}

/** The process the pid file points at, with its argv, if it is alive and the instance's. */
export async function recordedProcess(pidFile: string, isOurs: ArgvMatch): Promise<{ pid: number; argv: string[] } | null> {
  const pid = await readPidFile(pidFile);
  if (pid === null) return null;
  const argv = await procArgv(pid);
  return argv && isOurs(argv) ? { pid, argv } : null;
}

/** Live processes of the instance that are not `except` (strays: e.g. its pid file was deleted). */
export async function strayProcesses(isOurs: ArgvMatch, except: number | null): Promise<number[]> {
  const out: number[] = [];
  for (const d of await readdir('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === except) continue;
    const argv = await procArgv(Number(d));
    if (argv && isOurs(argv)) out.push(Number(d));
  }
  return out;
}

/** All live processes of the instance: the pid file's first, then any stray. */
export async function instanceProcesses(pidFile: string, isOurs: ArgvMatch): Promise<number[]> {
  const recorded = (await recordedProcess(pidFile, isOurs))?.pid ?? null;
  return [...(recorded !== null ? [recorded] : []), ...(await strayProcesses(isOurs, recorded))];
}

async function waitGone(pid: number, until: number): Promise<boolean> {
  while (Date.now() < until) {
    if (!(await processAlive(pid))) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return !(await processAlive(pid));
}

/** SIGTERM to each, then SIGKILL to whatever still lives after timeoutMs (counted together). */
export async function terminate(pids: number[], timeoutMs = 5000): Promise<void> {
  const signalled = pids.filter((pid) => {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return false; // gone already
    }
    countWrite();
    return true;
  });
  const until = Date.now() + timeoutMs;
  for (const pid of signalled) {
    if (await waitGone(pid, until)) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      continue;
    }
    await waitGone(pid, Date.now() + 2000);
  }
}

/**
 * Stops an instance that is its files (config and pid file) and removes them; true if a process
 * was running. Without its files there is no instance to look for (and no /proc scan on every pass).
 */
export async function stopInstance(pidFile: string, isOurs: ArgvMatch, files: string[]): Promise<boolean> {
  const pids = files.some((f) => existsSync(f)) ? await instanceProcesses(pidFile, isOurs) : [];
  await terminate(pids);
  for (const f of files) if (existsSync(f)) await unlink(f).catch(() => {});
  return pids.length > 0;
}

// radvd (the router advertisement daemon) inside a namespace, one process per instance, with its
// files in STATE_DIR/ID.radvd.conf and STATE_DIR/ID.pid.radvd (Neutron's names). Like haproxy and
// dnsmasq, it outlives the agent that started it: a pass recognises the running instance by its
// pid file, `-C <its config file>` on its command line and its namespace, and writes nothing when
// the configuration is the same. A changed configuration is a SIGHUP (radvd re-reads it, as
// Neutron reloads it): a restart would send a last advertisement with router lifetime 0 and
// instances would drop their default route until the next one.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { assertNetnsName, countWrite, execOf, type Exec } from './exec.js';
import { instanceProcesses, inNetns, recordedProcess, stopInstance, terminate } from './daemon.js';
import { writeFileAtomic } from './dnsmasq.js';

export interface RadvdSpec {
  /** Names the instance's files (a router id). */
  id: string;
  stateDir: string;
  netns?: string;
  /** radvd.conf's text. */
  config: string;
  exec?: Exec;
}

export function radvdPaths(stateDir: string, id: string): { conf: string; pid: string } {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(id) || id === '.' || id === '..') throw new Error(`invalid radvd instance id ${JSON.stringify(id)}`);
  return { conf: join(stateDir, `${id}.radvd.conf`), pid: join(stateDir, `${id}.pid.radvd`) };
}

/** radvd's command line: config, pid file, syslog (Neutron's -m syslog). */
export function radvdArgv(stateDir: string, id: string): string[] {
  const p = radvdPaths(stateDir, id);
  return ['radvd', '-C', p.conf, '-p', p.pid, '-m', 'syslog'];
}

/** Ours: a radvd started with this instance's config file (pids get reused). */
const ours = (conf: string) => (argv: string[]) => basename(argv[0] ?? '') === 'radvd' && argv.includes(conf);

/** The running instance's pid (from its pid file), or null. */
export async function radvdPid(stateDir: string, id: string): Promise<number | null> {
  const { conf, pid } = radvdPaths(stateDir, id);
  return (await recordedProcess(pid, ours(conf)))?.pid ?? null;
}

/** Live processes of the instance: the pid file's and any stray started with its config file. */
function instancePids(stateDir: string, id: string): Promise<number[]> {
  const { conf, pid } = radvdPaths(stateDir, id);
  return instanceProcesses(pid, ours(conf));
}

export type RadvdAction = 'none' | 'started' | 'reloaded' | 'restarted';

/** One pass: start if not running, SIGHUP on a changed configuration, restart if in the wrong namespace. */
export async function ensureRadvd(s: RadvdSpec): Promise<RadvdAction> {
  if (s.netns) assertNetnsName(s.netns);
  const paths = radvdPaths(s.stateDir, s.id);
  if (!existsSync(s.stateDir)) {
    await mkdir(s.stateDir, { recursive: true, mode: 0o755 });
    countWrite();
  }
  const changed = await writeFileAtomic(paths.conf, s.config);
  const pid = await radvdPid(s.stateDir, s.id);
  if (pid !== null && (await inNetns(pid, s.netns))) {
    if (!changed) return 'none';
    process.kill(pid, 'SIGHUP');
    countWrite();
    return 'reloaded';
  }
  const running = await instancePids(s.stateDir, s.id);
  await terminate(running);
  // radvd checks its configuration, then forks and writes its pid file.
  await execOf({ exec: s.exec })({ argv: radvdArgv(s.stateDir, s.id), netns: s.netns, write: true, timeoutMs: 15_000 });
  // The pid file comes from the forked child: wait for it, or the next pass would take this
  // instance for a stray.
  for (const until = Date.now() + 3000; Date.now() < until && (await radvdPid(s.stateDir, s.id)) === null; )
    await new Promise((r) => setTimeout(r, 10));
  return running.length ? 'restarted' : 'started';
}

/** Stops the instance and removes its files; true if a process was running. */
export async function stopRadvd(stateDir: string, id: string): Promise<boolean> {
  const { conf, pid } = radvdPaths(stateDir, id);
  return stopInstance(pid, ours(conf), [pid, conf]);
}

// Kernel events, for agents that repair drift as soon as the kernel says something went:
//   - links and neighbours (VXLAN forwarding entries print as neighbours too): a long-running
//     `ip -o monitor link neigh`, one message a line;
//   - nftables tables: `nft monitor tables` ("add table inet T", "delete table inet T");
//   - named namespaces: inotify on /run/netns (Node's fs.watch); `ip netns monitor` would do the
//     same but buffers its output when it goes to a pipe.
// A watcher whose process exits is started again after a second and says so (onRestart): events
// may have been missed meanwhile, the caller looks at everything again. Parsing is pure.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, watch, type FSWatcher } from 'node:fs';
import { assertNetnsName } from './exec.js';

export type KernelEvent =
  /** A link appeared or changed (deleted: false), or went or left its bridge (deleted: true). */
  | { kind: 'link'; deleted: boolean; name: string }
  /** A neighbour or forwarding entry on `dev`; `dst`: its IP (the remote, for a VXLAN entry). */
  | { kind: 'neigh'; deleted: boolean; dev: string; dst: string | null; lladdr: string | null };

/** One line of `ip -o monitor link neigh`; null for other messages. */
export function parseMonitorLine(line: string): KernelEvent | null {
  const deleted = line.startsWith('Deleted ');
  const rest = deleted ? line.slice('Deleted '.length) : line;
  const link = /^\d+: ([^:@\s]+)[@:]/.exec(rest);
  if (link) return { kind: 'link', deleted, name: link[1]! };
  const neigh = /^(?:(\S+) )?dev (\S+)(?: lladdr (\S+))?/.exec(rest);
  if (neigh && neigh[1] !== 'dev') return { kind: 'neigh', deleted, dev: neigh[2]!, dst: neigh[1] ?? null, lladdr: neigh[3]?.toLowerCase() ?? null };
  return null;
}

/** One line of `nft monitor tables`: the table added or deleted; null for other lines. */
export function parseNftTableEvent(line: string): { deleted: boolean; family: string; table: string } | null {
  const m = /^(add|delete) table (\S+) (\S+)/.exec(line.trim());
  return m ? { deleted: m[1] === 'delete', family: m[2]!, table: m[3]! } : null;
}

export interface Watcher {
  stop(): void;
}

export interface LineWatchOptions {
  onLine(line: string): void;
  /** Called after the process was started again (events may have been missed). */
  onRestart?(): void;
  onError?(message: string): void;
  /** Wait before a start again, ms (default 1000). */
  restartMs?: number;
}

const PATH_ENV = () => ({ ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin`, LC_ALL: 'C' });

/** Runs a command that prints one event a line for as long as it lives, started again when it exits. */
export function watchLines(argv: readonly string[], o: LineWatchOptions): Watcher {
  let child: ChildProcess | null = null;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  const start = (again: boolean) => {
    if (stopped) return;
    const c = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: PATH_ENV() });
    child = c;
    let rest = '';
    c.stdout!.on('data', (b: Buffer) => {
      const lines = (rest + b.toString()).split('\n');
      rest = lines.pop()!;
      for (const l of lines) o.onLine(l);
    });
    c.stderr!.on('data', (b: Buffer) => o.onError?.(`${argv.join(' ')}: ${b.toString().trim()}`));
    c.on('error', (e) => o.onError?.(`${argv.join(' ')} failed to start: ${e.message}`));
    c.on('exit', () => {
      if (child === c) child = null;
      if (stopped) return;
      timer = setTimeout(() => start(true), o.restartMs ?? 1000);
      timer.unref();
    });
    if (again) o.onRestart?.();
  };
  start(false);
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      child?.kill('SIGTERM');
      child = null;
    },
  };
}

/** Link and (unless `neighbours` is false) neighbour events of the namespace (the current one without `netns`). */
export function watchLinksAndNeighbours(
  netns: string | undefined,
  o: Omit<LineWatchOptions, 'onLine'> & { onEvent(e: KernelEvent): void; neighbours?: boolean },
): Watcher {
  if (netns) assertNetnsName(netns);
  return watchLines(['ip', ...(netns ? ['-n', netns] : []), '-o', 'monitor', 'link', ...(o.neighbours === false ? [] : ['neigh'])], {
    ...o,
    onLine: (l) => {
      const e = parseMonitorLine(l);
      if (e) o.onEvent(e);
    },
  });
}

/** nftables tables added and deleted in the namespace. */
export function watchNftTables(
  netns: string | undefined,
  o: Omit<LineWatchOptions, 'onLine'> & { onEvent(e: { deleted: boolean; family: string; table: string }): void },
): Watcher {
  if (netns) assertNetnsName(netns);
  return watchLines([...(netns ? ['nsenter', `--net=/run/netns/${netns}`, '--'] : []), 'nft', 'monitor', 'tables'], {
    ...o,
    onLine: (l) => {
      const e = parseNftTableEvent(l);
      if (e) o.onEvent(e);
    },
  });
}

export const NETNS_DIR = '/run/netns';

/**
 * Named namespaces appearing and going: `onChange(name, exists)` for each one touched. The
 * directory is made by the first `ip netns add`; until it exists, nothing is watched (a caller
 * that creates namespaces calls this after its first one).
 */
export function watchNetns(onChange: (name: string, exists: boolean) => void, onError?: (message: string) => void): Watcher {
  let w: FSWatcher | null = null;
  try {
    w = watch(NETNS_DIR, { persistent: false }, (_event, file) => {
      if (file) onChange(String(file), existsSync(`${NETNS_DIR}/${file}`));
    });
    w.on('error', (e) => onError?.(`watching ${NETNS_DIR}: ${e.message}`));
  } catch (e) {
    onError?.(`cannot watch ${NETNS_DIR}: ${(e as Error).message}`);
  }
  return { stop: () => w?.close() };
}

// Running the kernel's tools (ip, bridge, nft, dnsmasq, …) as child processes.
//
// Every command that changes state is marked `write: true` and counted, so a resync benchmark can
// show that a reconcile pass over unchanged state issued no write at all. Reads are counted too
// (they are the cost of "read actual state"). The Exec type is a plain function so the modules
// above it can be driven by a fake in unit tests and by the real thing in root tests.
import { spawn } from 'node:child_process';

export interface Cmd {
  /** argv[0] is looked up in PATH (plus /usr/sbin and /sbin, see below). */
  argv: readonly string[];
  /** Run inside this named network namespace (/run/netns/NAME). */
  netns?: string;
  /**
   * How to enter `netns`: `nsenter` only switches the network namespace (cheap, enough for nft
   * and dnsmasq); `ip-netns-exec` also remounts /sys and bind-mounts /etc/netns/NAME/* (what a
   * tool that reads /sys/class/net or /etc/resolv.conf inside the namespace needs).
   */
  via?: 'nsenter' | 'ip-netns-exec';
  /** Written to the child's stdin, which is then closed (batches: `ip -batch -`, `nft -f -`). */
  input?: string;
  /** Killed with SIGKILL after this long; default 30 s, so a wedged tool cannot hang an agent. */
  timeoutMs?: number;
  /** Changes kernel state: counted in stats().writes. */
  write?: boolean;
  /** Exit codes that are not errors (default: only 0). */
  okCodes?: readonly number[];
}

export interface CmdResult {
  code: number;
  stdout: string;
  stderr: string;
}

export type Exec = (cmd: Cmd) => Promise<CmdResult>;

/** Where to run things: a named netns (or the current one) and the Exec to run them with. */
export interface Target {
  netns?: string;
  exec?: Exec;
}

/** A failed command: the message names the full command line, exit status and stderr. */
export class CommandError extends Error {
  readonly argv: readonly string[];
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  constructor(
    argv: readonly string[],
    r: { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; timedOut: boolean; input?: string },
  ) {
    const how = r.timedOut ? 'timed out' : r.signal ? `killed by ${r.signal}` : `exited with ${r.code}`;
    const err = r.stderr.trim();
    super(`${formatArgv(argv)} ${how}${err ? `: ${err}` : ''}${r.input !== undefined ? `\n--- stdin ---\n${clip(r.input)}` : ''}`);
    this.name = 'CommandError';
    this.argv = argv;
    this.code = r.code;
    this.signal = r.signal;
    this.stdout = r.stdout;
    this.stderr = r.stderr;
    this.timedOut = r.timedOut;
  }
}

const counters = { reads: 0, writes: 0 };

/** Commands (and other state changes, see countWrite) issued by this process so far. */
export function stats(): { reads: number; writes: number } {
  return { ...counters };
}

export function resetStats(): void {
  counters.reads = 0;
  counters.writes = 0;
}

/**
 * For state changes that are not child processes (a signal to dnsmasq, a rewritten config file):
 * they are writes all the same, and a no-op resync must not make any.
 */
export function countWrite(n = 1): void {
  counters.writes += n;
}

// Debian puts ip, bridge, nft and dnsmasq in /usr/sbin, which a non-login root shell (or a CI
// runner's environment) may lack in PATH.
const PATH = [process.env.PATH ?? '', '/usr/local/sbin', '/usr/sbin', '/sbin'].filter(Boolean).join(':');

/** Shell-like rendering for error messages and traces (not for execution). */
export function formatArgv(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

function clip(s: string): string {
  return s.length > 4000 ? `${s.slice(0, 4000)}\n… (${s.length - 4000} more characters)` : s;
}

/** The argv actually spawned: `cmd.argv`, wrapped to enter `cmd.netns` if set. */
export function wrapArgv(cmd: Cmd): string[] {
  if (!cmd.netns) return [...cmd.argv];
  assertNetnsName(cmd.netns);
  if (cmd.via === 'ip-netns-exec') return ['ip', 'netns', 'exec', cmd.netns, ...cmd.argv];
  return ['nsenter', `--net=/run/netns/${cmd.netns}`, '--', ...cmd.argv];
}

/** Namespace names become paths and argv words: keep them to a safe alphabet. */
export function assertNetnsName(name: string): void {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name) || name === '.' || name === '..') {
    throw new Error(`invalid network namespace name ${JSON.stringify(name)}`);
  }
}

const trace = process.env.NEUTRINO_DATAPLANE_TRACE === '1';

/** The real Exec: spawns the command, no shell involved. */
export const exec: Exec = (cmd) => {
  const argv = wrapArgv(cmd);
  if (cmd.write) counters.writes++;
  else counters.reads++;
  if (trace)
    process.stderr.write(`[dataplane] ${cmd.write ? 'W' : 'R'} ${formatArgv(argv)}${cmd.input ? ` <<${JSON.stringify(clip(cmd.input))}` : ''}\n`);
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, PATH, LC_ALL: 'C' },
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, cmd.timeoutMs ?? 30_000);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    // A child that exits before reading its stdin makes the write fail with EPIPE; the exit
    // status is what tells the story, so that error is ignored here.
    child.stdin.on('error', () => {});
    child.stdin.end(cmd.input ?? '');
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new CommandError(argv, { code: null, signal: null, stdout: '', stderr: e.message, timedOut: false }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const r = { code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), timedOut };
      const ok = code !== null && !timedOut && (cmd.okCodes ?? [0]).includes(code);
      if (ok) resolve({ code, stdout: r.stdout, stderr: r.stderr });
      else reject(new CommandError(argv, { ...r, input: cmd.input }));
    });
  });
};

/** Shorthand used by the other modules: the Target's Exec or the real one. */
export function execOf(t: Target | undefined): Exec {
  return t?.exec ?? exec;
}

/**
 * An Exec that records commands instead of running them and answers reads from `answer`; for
 * unit tests of the modules above (what they would run, and that a no-op issues no write).
 */
export function recordingExec(answer: (cmd: Cmd) => string | CmdResult = () => ''): Exec & { calls: Cmd[] } {
  const calls: Cmd[] = [];
  const fn = (async (cmd: Cmd) => {
    calls.push(cmd);
    const a = answer(cmd);
    return typeof a === 'string' ? { code: 0, stdout: a, stderr: '' } : a;
  }) as Exec & { calls: Cmd[] };
  fn.calls = calls;
  return fn;
}

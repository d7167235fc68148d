// Probes the L3 end-to-end tests share: processes in a namespace in a process group of their own,
// a TCP server that answers each connection with the peer address it sees (so a test can tell
// SNAT from no SNAT), and the client that asks it.
import { spawn, type ChildProcess } from 'node:child_process';
import { runInNetns } from '../../src/dataplane/index.js';

export const WHO_PORT = 7000;

/** A process in the namespace, in a process group of its own (socat's forked children go with it). */
export function inNs(ns: string, argv: string[], stdio: 'ignore' | 'pipe' = 'ignore'): ChildProcess {
  return spawn('ip', ['netns', 'exec', ns, ...argv], { stdio, detached: true });
}

export function killGroup(p: ChildProcess): void {
  try {
    if (p.pid) process.kill(-p.pid, 'SIGKILL');
  } catch {
    // gone already
  }
}

/** A TCP server in the namespace that answers each connection with the peer address it sees. */
export function whoAmIServer(ns: string): ChildProcess {
  return inNs(ns, ['socat', `TCP-LISTEN:${WHO_PORT},fork,reuseaddr`, 'SYSTEM:echo $SOCAT_PEERADDR']);
}

/** Connects from `ns` to ip:WHO_PORT; the source address the server saw, or null if no answer. */
export async function seenAs(ns: string, ip: string, timeoutS = 1): Promise<string | null> {
  // No answer within the time (socat refused, or killed by our own timeout on a loaded machine) is null.
  const r = await runInNetns(ns, {
    argv: ['socat', '-u', `TCP:${ip}:${WHO_PORT},connect-timeout=${timeoutS}`, '-'],
    okCodes: [0, 1],
    timeoutMs: (timeoutS + 2) * 1000,
  }).catch((e: Error) => {
    if (/timed out/.test(e.message)) return null;
    throw e;
  });
  return r && r.code === 0 && r.stdout.trim() ? r.stdout.trim() : null;
}

/** curl from the namespace; the status (0: no answer) and the body. */
export async function curlIn(ns: string, url: string): Promise<{ status: number; body: string }> {
  const r = await runInNetns(ns, { argv: ['curl', '-s', '-m', '5', '-w', '\n%{http_code}', url], timeoutMs: 20_000, okCodes: [0, 7, 28, 52, 56] });
  const lines = r.stdout.split('\n');
  return { status: Number(lines.pop()), body: lines.join('\n') };
}

// What the L3 end-to-end tests probe with, shared: processes in a namespace (in a process group
// of their own, so socat's forked children go with them), TCP servers that answer with the
// peer address they see, TCP and ping probes that say whether (and what) something answered.
import { spawn, type ChildProcess } from 'node:child_process';
import { runInNetns } from '../../src/dataplane/index.js';
import { waitThroughErrors } from '../helpers/wait.js';

/** The port `whoAmIServer` listens on unless told otherwise, and `seenAs` asks. */
export const WHO_PORT = 7000;

/** A process in the namespace, in a process group of its own. */
export function inNs(ns: string, argv: string[], stdio: 'ignore' | 'pipe' = 'ignore'): ChildProcess {
  return spawn('ip', ['netns', 'exec', ns, ...argv], { stdio, detached: true });
}

/** Kills the process and its group (socat's children). */
export function killGroup(p: ChildProcess): void {
  try {
    if (p.pid) process.kill(-p.pid, 'SIGKILL');
  } catch {
    // gone already
  }
}

/** A TCP server in the namespace that answers each connection with the peer address it sees. */
export function whoAmIServer(ns: string, port = WHO_PORT): ChildProcess {
  return inNs(ns, ['socat', `TCP-LISTEN:${port},fork,reuseaddr`, 'SYSTEM:echo $SOCAT_PEERADDR']);
}

/**
 * Connects from `ns` to ip:port and reads to the end: what the server said, or null if nothing
 * answered within the time (refused, or our own timeout on a loaded machine).
 */
export async function tcpAnswer(ns: string, ip: string, port: number, timeoutS = 1): Promise<string | null> {
  const r = await runInNetns(ns, {
    argv: ['socat', '-u', `TCP:${ip}:${port},connect-timeout=${timeoutS}`, '-'],
    okCodes: [0, 1],
    timeoutMs: (timeoutS + 2) * 1000,
  }).catch((e: Error) => {
    if (/timed out/.test(e.message)) return null;
    throw e;
  });
  return r && r.code === 0 && r.stdout.trim() ? r.stdout.trim() : null;
}

/** The source address a `whoAmIServer` on ip:WHO_PORT saw for a connection from `ns`, or null if no answer. */
export function seenAs(ns: string, ip: string, timeoutS = 1): Promise<string | null> {
  return tcpAnswer(ns, ip, WHO_PORT, timeoutS);
}

/** curl from the namespace; the status (0: no answer) and the body. */
export async function curlIn(ns: string, url: string): Promise<{ status: number; body: string }> {
  const r = await runInNetns(ns, { argv: ['curl', '-s', '-m', '5', '-w', '\n%{http_code}', url], timeoutMs: 20_000, okCodes: [0, 7, 28, 52, 56] });
  const lines = r.stdout.split('\n');
  return { status: Number(lines.pop()), body: lines.join('\n') };
}

/** The first 200 answer of the metadata service to curl from `ns` (retried until `timeoutMs`). */
export function metadataAnswer(ns: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return waitThroughErrors(
    'metadata answered',
    async () => {
      const c = await curlIn(ns, 'http://169.254.169.254/openstack/latest/meta_data.json');
      return c.status === 200 ? c : null;
    },
    timeoutMs,
    500,
  );
}

/** Whether one ping from `ns` to `ip` is answered within `waitS`. */
export async function pings(ns: string, ip: string, waitS = 1): Promise<boolean> {
  const r = await runInNetns(ns, {
    argv: ['busybox', 'ping', '-c', '1', '-W', String(waitS), ip],
    okCodes: [0, 1, 2],
    timeoutMs: (waitS + 3) * 1000,
  });
  return r.code === 0;
}

/** A ping every `interval` s from the namespace, in the background; the times its replies came, and their sequence numbers. */
export class Pinger {
  readonly replies: number[] = [];
  readonly seqs: number[] = [];
  private readonly p: ChildProcess;
  constructor(ns: string, ip: string, interval: number) {
    const family = ip.includes(':') ? ['-6'] : [];
    this.p = spawn('ip', ['netns', 'exec', ns, 'busybox', 'ping', ...family, '-i', String(interval), ip], {
      stdio: ['ignore', 'pipe', 'ignore'],
      detached: true,
    });
    let buf = '';
    this.p.stdout!.on('data', (b: Buffer) => {
      buf += b.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) {
        const m = /bytes from.* seq=(\d+)/.exec(l);
        if (!m) continue;
        this.replies.push(Date.now());
        this.seqs.push(Number(m[1]));
      }
    });
  }
  /**
   * Echoes lost since `from`: the sequence numbers missing between the last reply before it and
   * the last reply (the echoes a failover cost, whatever the scheduling of this process).
   */
  lostSince(from: number): number {
    const before = this.replies.filter((x) => x < from).length;
    const seqs = this.seqs.slice(Math.max(before - 1, 0));
    if (seqs.length < 2) return Number.POSITIVE_INFINITY;
    return seqs.at(-1)! - seqs[0]! + 1 - seqs.length;
  }
  /** Gaps over 300 ms since `from`, as "start+length" ms relative to `from`. */
  gaps(from: number): string[] {
    const r = [from, ...this.replies.filter((x) => x >= from), Date.now()];
    const out: string[] = [];
    for (let i = 1; i < r.length; i++) if (r[i]! - r[i - 1]! > 300) out.push(`${r[i - 1]! - from}+${r[i]! - r[i - 1]!}`);
    return out;
  }
  /** The longest time without a reply since `from` (ms). */
  gapSince(from: number): number {
    const r = this.replies.filter((x) => x >= from);
    let gap = 0;
    for (let i = 1; i < r.length; i++) gap = Math.max(gap, r[i]! - r[i - 1]!);
    return gap;
  }
  stop(): void {
    try {
      if (this.p.pid) process.kill(-this.p.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/**
 * The router's `n` ports once all are ACTIVE (bound and reported up by the L2 agent), through an
 * API client of the test's (`api(method, path)` answering `{ body }`).
 */
export function routerPortsActive(
  api: (method: string, path: string) => Promise<{ body: any }>,
  routerId: string,
  n: number,
  timeoutMs = 30_000,
  intervalMs = 100,
): Promise<any[]> {
  return waitThroughErrors(
    'router ports ACTIVE',
    async () => {
      const ps = (await api('GET', `/ports?device_id=${routerId}`)).body.ports as any[];
      return ps.length === n && ps.every((p) => p.status === 'ACTIVE') ? ps : null;
    },
    timeoutMs,
    intervalMs,
  );
}

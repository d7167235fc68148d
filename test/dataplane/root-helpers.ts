// Shared by the root (end-to-end) dataplane tests: who may run them, unique names, cleanup.
//
// Outside CI a machine without root (or without a needed tool) skips them with a loud message;
// with CI set they fail instead, so a CI machine that lost its privileges or packages is noticed.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertNetnsName, deleteNetns, ensureNetns, runInNetns, type CmdResult } from '../../src/dataplane/index.js';

const SBIN = ['/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/local/bin', '/usr/bin', '/bin'];

function hasTool(name: string): boolean {
  return [...(process.env.PATH ?? '').split(':'), ...SBIN].some((d) => d && existsSync(`${d}/${name}`));
}

export interface Gate {
  /** For describe(…, { skip }): a reason outside CI, false when the tests should run. */
  skip: string | false;
  /** Call first thing in before(): throws in CI when the tests cannot really run. */
  check(): void;
}

/**
 * `tools`: programs the tests need besides node (ip, nft, busybox, …). The packages that provide
 * them are installed by test/dataplane/install-deps.sh.
 */
export function rootGate(title: string, tools: string[]): Gate {
  const problems: string[] = [];
  if (process.getuid?.() !== 0) problems.push('not running as root');
  const missing = tools.filter((t) => !hasTool(t));
  if (missing.length) problems.push(`missing ${missing.join(', ')} (run test/dataplane/install-deps.sh)`);
  const problem = problems.length ? `${title}: ${problems.join('; ')}` : null;
  if (problem && !process.env.CI) {
    const bar = '!'.repeat(78);
    process.stderr.write(`\n${bar}\n!! SKIPPING dataplane root tests — ${problem}\n!! (with CI set this is a failure)\n${bar}\n\n`);
  }
  return {
    skip: problem && !process.env.CI ? problem : false,
    check() {
      if (problem) throw new Error(`${problem} (CI is set, so this fails instead of skipping)`);
    },
  };
}

/** 4 hex characters: short enough for 15-character interface names, random enough for parallel runs. */
export function suffix(): string {
  return randomBytes(2).toString('hex');
}

/**
 * Namespaces made by a test file; deleteAll() removes them (and every link inside them, veth
 * peers included). Also registered for process exit, so a crash mid-test leaves nothing behind.
 */
export class Namespaces {
  private readonly names = new Set<string>();
  private readonly onExit = () => {
    for (const n of this.names) spawnSync('ip', ['netns', 'delete', n], { env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` } });
  };

  constructor() {
    process.once('exit', this.onExit);
  }

  async add(name: string): Promise<string> {
    this.names.add(name);
    await ensureNetns(name);
    return name;
  }

  async deleteAll(): Promise<void> {
    const errors: unknown[] = [];
    for (const n of this.names) {
      try {
        await deleteNetns(n);
        this.names.delete(n);
      } catch (e) {
        errors.push(e);
      }
    }
    process.removeListener('exit', this.onExit);
    if (errors.length) throw errors[0];
  }
}

/**
 * busybox ping from inside a namespace (0.2 s apart, at most count + 1 seconds in all); resolves
 * to whether any reply came back. The first echo may wait for ARP, hence more than one.
 */
export async function ping(netns: string, ip: string, count = 3): Promise<boolean> {
  const r: CmdResult = await runInNetns(netns, {
    argv: ['busybox', 'ping', '-c', String(count), '-i', '0.2', '-W', '1', '-w', String(count + 1), ip],
    okCodes: [0, 1],
    timeoutMs: 20_000,
  });
  return r.code === 0;
}

/**
 * One DHCP exchange with busybox udhcpc on `ifname` inside `netns`: the variables udhcpc passed
 * to its script on "bound" (ip, subnet, router, dns, mtu, staticroutes, …). -q: exit once bound;
 * -n: fail without a lease; `tries` DISCOVERs one second apart; -O asks for the options named
 * in `options` too. `request`: ask for this address (-r), as a client that had it would.
 */
export async function udhcpcLease(
  netns: string,
  ifname = 'eth0',
  o: { options?: string[]; tries?: number; request?: string } = {},
): Promise<Record<string, string>> {
  const dir = await mkdtemp(join(tmpdir(), 'neutrino-udhcpc-'));
  try {
    const out = join(dir, 'bound');
    const script = join(dir, 'script.sh');
    await writeFile(script, `#!/bin/sh\n[ "$1" = bound ] && env > ${out}\nexit 0\n`, { mode: 0o755 });
    const opts = (o.options ?? ['mtu', 'staticroutes', 'dns']).flatMap((x) => ['-O', x]);
    const tries = o.tries ?? 6;
    await runInNetns(netns, {
      argv: [
        'busybox',
        'udhcpc',
        '-i',
        ifname,
        '-f',
        '-q',
        '-n',
        '-t',
        String(tries),
        '-T',
        '1',
        ...opts,
        ...(o.request ? ['-r', o.request] : []),
        '-s',
        script,
      ],
      timeoutMs: (tries + 10) * 1000,
    });
    return parseEnv(await readFile(out, 'utf8'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `env` output as a record. */
export function parseEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) env[line.slice(0, i)] = line.slice(i + 1);
  }
  return env;
}

export interface PingCount {
  /** Echo requests answered. */
  received: number;
  /** Sequence numbers missing below the highest one answered: replies that never came. */
  lost: number;
  /** The missing sequence numbers. */
  missing: number[];
  output: string;
}

/**
 * busybox ping from `netns` to `ip` every `intervalMs` until stop(). Losses are counted as gaps
 * in the answered sequence numbers, so the request still in flight when it is stopped is not
 * taken for a lost one.
 */
export function startPinger(netns: string, ip: string, intervalMs = 50): { stop(): Promise<PingCount> } {
  assertNetnsName(netns);
  // nsenter execs busybox in place: the child's pid is ping's, which SIGINT stops with a summary.
  const child = spawn('nsenter', [`--net=/run/netns/${netns}`, '--', 'busybox', 'ping', '-i', String(intervalMs / 1000), '-W', '1', ip], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin`, LC_ALL: 'C' },
  });
  let output = '';
  child.stdout!.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (output += b.toString()));
  const exited = new Promise<void>((r) => child.on('close', () => r()));
  return {
    async stop() {
      child.kill('SIGINT');
      await exited;
      const seqs = new Set([...output.matchAll(/seq=(\d+)/g)].map((m) => Number(m[1])));
      const max = seqs.size ? Math.max(...seqs) : -1;
      const missing: number[] = [];
      for (let i = 0; i <= max; i++) if (!seqs.has(i)) missing.push(i);
      return { received: seqs.size, lost: missing.length, missing, output };
    },
  };
}

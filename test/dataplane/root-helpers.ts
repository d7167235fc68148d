// Shared by the root (end-to-end) dataplane tests: who may run them, unique names, cleanup.
//
// Outside CI a machine without root (or without a needed tool) skips them with a loud message;
// with CI set they fail instead, so a CI machine that lost its privileges or packages is noticed.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { deleteNetns, ensureNetns, runInNetns, type CmdResult } from '../../src/dataplane/index.js';

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
  const r: CmdResult = await runInNetns(netns, { argv: ['busybox', 'ping', '-c', String(count), '-i', '0.2', '-W', '1', '-w', String(count + 1), ip], okCodes: [0, 1], timeoutMs: 20_000 });
  return r.code === 0;
}

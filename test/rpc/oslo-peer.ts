// Drives test/rpc/oslo_peer.py: a real oslo.messaging (Debian's python3-oslo.messaging) RPC peer
// on the same broker as neutrino. Commands go as JSON lines on its stdin; answers come back by
// id, and what its RPC servers receive arrives as events.
import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { waitFor } from '../helpers/wait.js';

// Debian's interpreter: a python3 earlier on PATH (pyenv) does not see dist-packages.
export const DEBIAN_PYTHON = '/usr/bin/python3';
// From dist/test/rpc/ back to the source tree, where the script lives.
const SCRIPT = fileURLToPath(new URL('../../../test/rpc/oslo_peer.py', import.meta.url));

/** Null when Debian's oslo.messaging can be imported, else why not. */
export async function osloMissing(): Promise<string | null> {
  if (!existsSync(SCRIPT)) return `${SCRIPT} not found`;
  try {
    await promisify(execFile)(DEBIAN_PYTHON, ['-c', 'import oslo_messaging, kombu'], { timeout: 30_000 });
    return null;
  } catch (e) {
    return `python3-oslo.messaging is not installed (apt-get install python3-oslo.messaging): ${(e as Error).message.split('\n')[0]}`;
  }
}

export interface PeerEvent {
  event: 'received';
  topic: string;
  server: string;
  method: string;
  args: Record<string, unknown>;
  context: Record<string, unknown>;
}

export interface PeerError {
  type: string;
  message: string;
  exc_type: string | null;
}

type Answer = { ok: true; result: unknown } | { ok: false; error: PeerError };

export interface SendOptions {
  server?: string | null;
  context?: Record<string, unknown>;
  /** Seconds. */
  timeout?: number;
  /** oslo's call_monitor_timeout, seconds. */
  monitor?: number | null;
}

export class OsloPeer {
  readonly events: PeerEvent[] = [];
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly waiting = new Map<number, (a: Answer) => void>();
  private nextId = 1;
  private stderr = '';
  private exited: string | null = null;

  constructor(url: string, opts: { exchange?: string; rabbit?: Record<string, string> } = {}) {
    const args = [SCRIPT, '--url', url, '--exchange', opts.exchange ?? 'neutron'];
    for (const [k, v] of Object.entries(opts.rabbit ?? {})) args.push('--rabbit', `${k}=${v}`);
    this.proc = spawn(DEBIAN_PYTHON, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stderr.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-20_000);
    });
    this.proc.on('exit', (code, signal) => {
      this.exited = `oslo peer exited (${code ?? signal})`;
      for (const w of this.waiting.values())
        w({ ok: false, error: { type: 'PeerExited', message: `${this.exited}: ${this.stderr}`, exc_type: null } });
      this.waiting.clear();
    });
    createInterface({ input: this.proc.stdout }).on('line', (line) => {
      const m = JSON.parse(line) as ({ id: number } & Answer) | PeerEvent;
      if ('event' in m) this.events.push(m);
      else {
        const { id, ...answer } = m;
        this.waiting.get(id)?.(answer as Answer);
      }
    });
  }

  /** The peer's stderr so far (Python logs), for assertion messages. */
  get log(): string {
    return this.stderr;
  }

  private request(cmd: Record<string, unknown>): Promise<Answer> {
    if (this.exited) return Promise.resolve({ ok: false, error: { type: 'PeerExited', message: `${this.exited}: ${this.stderr}`, exc_type: null } });
    const id = this.nextId++;
    return new Promise<Answer>((resolve) => {
      this.waiting.set(id, (a) => {
        this.waiting.delete(id);
        resolve(a);
      });
      this.proc.stdin.write(`${JSON.stringify({ id, ...cmd })}\n`);
    });
  }

  /** Like `request`, but a failure is an exception (for the steps that must work). */
  private async must(cmd: Record<string, unknown>): Promise<unknown> {
    const a = await this.request(cmd);
    if (!a.ok) throw new Error(`oslo peer ${String(cmd.op)} failed: ${a.error.type}: ${a.error.message}\n${this.stderr}`);
    return a.result;
  }

  serve(topic: string, server: string): Promise<unknown> {
    return this.must({ op: 'serve', topic, server });
  }

  stop(topic: string, server: string): Promise<unknown> {
    return this.must({ op: 'stop', topic, server });
  }

  /** RPCClient.call: the answer, successful or not. */
  call(topic: string, method: string, args: Record<string, unknown> = {}, o: SendOptions = {}): Promise<Answer> {
    return this.request({
      op: 'call',
      topic,
      method,
      args,
      server: o.server ?? null,
      context: o.context ?? {},
      timeout: o.timeout ?? 10,
      monitor: o.monitor ?? null,
    });
  }

  cast(topic: string, method: string, args: Record<string, unknown> = {}, o: SendOptions = {}): Promise<unknown> {
    return this.must({ op: 'cast', topic, method, args, server: o.server ?? null, context: o.context ?? {} });
  }

  fanout(topic: string, method: string, args: Record<string, unknown> = {}, o: SendOptions = {}): Promise<unknown> {
    return this.must({ op: 'fanout', topic, method, args, context: o.context ?? {} });
  }

  /** The first event matching, waiting for it. */
  received(what: string, match: (e: PeerEvent) => boolean, timeoutMs = 15_000): Promise<PeerEvent> {
    return waitFor(`the oslo peer to receive ${what}`, () => this.events.find(match), timeoutMs);
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((r) => this.proc.once('exit', () => r()));
    // A peer that does not quit in time is killed.
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 15_000);
    await this.request({ op: 'quit' });
    await done;
    clearTimeout(t);
  }
}

// `neutrino server` (or `aio`) as a child process, for what an in-process server cannot show: a
// kill -9, signals, exit codes and start-up errors. Its configuration is written to a file, as
// an operator would; its output is kept for assertions and failure messages.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { waitThroughErrors } from './wait.js';

export const BIN = resolve('bin/neutrino');

export type Ini = Record<string, Record<string, string>>;

export async function freePort(): Promise<number> {
  return new Promise((res) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
  });
}

export function writeIni(path: string, ini: Ini): string {
  writeFileSync(
    path,
    Object.entries(ini)
      .map(
        ([s, kv]) =>
          `[${s}]\n${Object.entries(kv)
            .map(([k, v]) => `${k} = ${v}\n`)
            .join('')}`,
      )
      .join('\n'),
  );
  return path;
}

export interface ServerProcess {
  url: string;
  proc: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (null when killed by a signal) and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILLs it if still running. */
  kill(): Promise<void>;
}

/**
 * Starts `neutrino <command>` in `dir` (its cwd and state_path) with `ini` as its config file,
 * noauth on a free loopback port, and waits until it answers. One process (api_workers = 1,
 * rpc_workers = 0) and a pool of 10 connections unless `ini` asks otherwise.
 */
export async function spawnServer(dir: string, ini: Ini, command: 'server' | 'aio' = 'server'): Promise<ServerProcess> {
  const port = await freePort();
  const conf = writeIni(join(dir, 'neutron.conf'), {
    ...ini,
    DEFAULT: {
      auth_strategy: 'noauth',
      state_path: dir,
      bind_host: '127.0.0.1',
      bind_port: String(port),
      api_workers: '1',
      rpc_workers: '0',
      ...(ini.DEFAULT ?? {}),
    },
    // At most 10 connections per process (oslo.db's 5 + 50 would let the tests' servers, many at
    // once, pass the test database's max_connections) unless `ini` says otherwise.
    database: { max_pool_size: '10', max_overflow: '0', ...(ini.database ?? {}) },
  });
  const proc = spawn(BIN, [command, '--config-file', conf], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.once('exit', (code, signal) => r({ code, signal })));
  const url = `http://127.0.0.1:${port}`;
  let gone = false;
  void exited.then(() => (gone = true));
  await waitThroughErrors(
    `neutrino ${command} to answer on ${url}`,
    async () => {
      if (gone) throw new Error(`exited early: ${out}`);
      return (await fetch(`${url}/`)).ok;
    },
    60_000,
    100,
  ).catch((e: Error) => {
    proc.kill('SIGKILL');
    throw new Error(`${e.message}\n--- output ---\n${out}`);
  });
  return {
    url,
    proc,
    output: () => out,
    exited,
    async kill() {
      if (!gone) proc.kill('SIGKILL');
      await exited;
    },
  };
}

/** JSON request as an admin of no-auth (the headers neutrino's noauth reads). */
export async function adminReq(
  url: string,
  method: string,
  path: string,
  body?: unknown,
  init: { dispatcher?: unknown; signal?: AbortSignal } = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const r = await fetch(url + path, {
    method,
    headers: { 'content-type': 'application/json', 'x-project-id': 'admin-project', 'x-roles': 'admin,member,reader', 'x-user-id': 'admin' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    ...(init.signal ? { signal: init.signal } : {}),
    ...(init.dispatcher ? ({ dispatcher: init.dispatcher } as object) : {}),
  });
  const text = await r.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {}
  return { status: r.status, body: parsed, headers: r.headers };
}

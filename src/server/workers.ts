// API and RPC workers ([DEFAULT] api_workers, rpc_workers, rpc_state_report_workers), as
// neutron-server forks them: several processes serve one bind_port, others answer the agents on
// the bus, and the state-report workers answer only their heartbeats. node:cluster rather than
// SO_REUSEPORT: Node 20's net.listen has no reusePort (it came in 22.12), and cluster's round
// robin (the primary accepts, hands each connection to the next worker) spreads a client's pool of
// keep-alive connections evenly, where the kernel's accept on a shared socket often does not.
//
// Nothing the workers must agree on lives in one process's memory: every allocation (IPs, MACs,
// segments, quotas) is decided in the database under row locks or unique keys (on SQLite, write
// transactions BEGIN IMMEDIATE, db/connection.ts), agents' liveness is their heartbeat row, and
// each worker notifies the agents of its own commits, once. The primary serves nothing: it
// migrates the database once, forks, restarts a worker that dies, and passes signals on.
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import { ConfigError, type Config } from '../config/index.js';

export type WorkerRole = 'api' | 'rpc' | 'reports';

export interface WorkerPlan {
  /** API processes (1: the one process serves HTTP). */
  api: number;
  /** RPC processes (0: the API process(es) answer the agents themselves). */
  rpc: number;
  /**
   * Processes answering only report_state ([DEFAULT] rpc_state_report_workers), so that a flood of
   * heartbeats does not queue behind the agents' other calls; the RPC workers answer it too.
   */
  reports: number;
}

const ROLE_ENV = 'NEUTRINO_WORKER_ROLE';

/**
 * The processes a `server` or `aio` runs: Neutron's defaults (api_workers the CPU count, rpc_workers
 * half of it) for `server`, one process for `aio`. The in-memory bus cannot span processes: aio on
 * it refuses more than one API worker, and RPC workers need a transport_url.
 */
export function workerPlan(cfg: Config, command: 'server' | 'aio', cpus = availableParallelism()): WorkerPlan {
  const memoryBus = !cfg.DEFAULT.transport_url;
  const api = Math.max(1, cfg.DEFAULT.api_workers ?? (command === 'aio' ? 1 : cpus));
  const rpc = cfg.DEFAULT.rpc_workers ?? (command === 'aio' || memoryBus ? 0 : Math.max(1, Math.floor(cpus / 2)));
  if (memoryBus && command === 'aio' && api > 1)
    throw new ConfigError(
      `[DEFAULT] api_workers = ${api}: aio on the in-memory bus (no [DEFAULT] transport_url) runs its API, RPC and agents in one process; set api_workers = 1, or a transport_url (RabbitMQ) for workers`,
      { section: 'DEFAULT', option: 'api_workers' },
    );
  if (memoryBus && rpc > 0)
    throw new ConfigError(
      `[DEFAULT] rpc_workers = ${rpc}: the in-memory bus (no [DEFAULT] transport_url) does not reach other processes; set rpc_workers = 0, or a transport_url (RabbitMQ)`,
      { section: 'DEFAULT', option: 'rpc_workers' },
    );
  // Neutron forks them beside its RPC workers; with none (aio, one process) nothing is forked.
  const reports = rpc > 0 ? cfg.DEFAULT.rpc_state_report_workers : 0;
  return { api, rpc, reports };
}

/** One process does it all: no workers to fork. */
export const isSingleProcess = (plan: WorkerPlan) => plan.api <= 1 && plan.rpc === 0 && plan.reports === 0;

/** This process's role when it is a worker, else null. */
export function workerRole(): WorkerRole | null {
  if (!cluster.isWorker) return null;
  const role = process.env[ROLE_ENV];
  return role === 'rpc' || role === 'reports' ? role : 'api';
}

/**
 * A worker's node flags: the primary's, but only the API workers keep bin/neutrino's larger young
 * generation (--max-semi-space-size, for the garbage of big lists and bulk creates). The RPC and
 * state-report workers answer agents' calls, whose garbage fits V8's default (16 MiB semi-spaces);
 * theirs growing to 64 MiB cost resident memory in every one of them (bench:scale prints it by role).
 */
export function workerExecArgv(role: WorkerRole, execArgv: readonly string[] = process.execArgv): string[] {
  if (role === 'api') return [...execArgv];
  return execArgv.filter(
    (a, i) => !/^--max[-_]semi[-_]space[-_]size(=|$)/.test(a) && !/^--max[-_]semi[-_]space[-_]size$/.test(execArgv[i - 1] ?? ''),
  );
}

/** Called by a worker once it serves (listens, or consumes its topics). */
export function reportReady(): void {
  process.send?.({ neutrino: 'ready' });
}

export interface Primary {
  /** Resolves once every worker is ready; rejects with the exit code of one that died first. */
  ready: Promise<void>;
  /** SIGTERMs the workers and resolves once all have exited, with whether all exited 0. */
  stop(): Promise<boolean>;
}

export class WorkerStartError extends Error {
  constructor(
    readonly role: WorkerRole,
    readonly code: number | null,
    readonly signal: string | null,
  ) {
    super(`a ${role} worker exited during start-up (code ${code}, signal ${signal}); its error is above`);
  }
}

/** Forks the workers of `plan` (the primary). A worker that dies after start-up is replaced. */
export function forkWorkers(plan: WorkerPlan, log: Logger): Primary {
  const roles = new Map<Worker, WorkerRole>();
  let stopping = false;
  let started = false;
  let failStart: (e: Error) => void = () => {};
  let pendingReady = plan.api + plan.rpc + plan.reports;
  let allReady: () => void = () => {};
  const ready = new Promise<void>((res, rej) => {
    allReady = res;
    failStart = rej;
  });
  const readyWorkers = new WeakSet<Worker>();
  const fork = (role: WorkerRole) => {
    // setupPrimary's settings are those of the next fork.
    cluster.setupPrimary({ execArgv: workerExecArgv(role) });
    const w = cluster.fork({ [ROLE_ENV]: role });
    roles.set(w, role);
    w.on('message', (m: { neutrino?: string }) => {
      if (m?.neutrino === 'ready') readyWorkers.add(w);
      if (m?.neutrino !== 'ready' || started) return;
      if (--pendingReady === 0) {
        started = true;
        allReady();
      }
    });
  };
  cluster.on('exit', (w, code, signal) => {
    const role = roles.get(w) ?? 'api';
    roles.delete(w);
    if (stopping) return;
    if (!started) {
      stopping = true;
      for (const other of roles.keys()) other.process.kill('SIGKILL');
      failStart(new WorkerStartError(role, code, signal));
      return;
    }
    log.warn({ worker: w.process.pid, role, code, signal }, 'neutrino worker died; starting another in 1 s');
    setTimeout(() => stopping || fork(role), 1000); // not a hot loop when workers cannot start
  });
  for (let i = 0; i < plan.api; i++) fork('api');
  for (let i = 0; i < plan.rpc; i++) fork('rpc');
  for (let i = 0; i < plan.reports; i++) fork('reports');
  return {
    ready,
    async stop() {
      stopping = true;
      const exits = [...roles.keys()].map(
        // A worker still starting has no handler yet and dies of the SIGTERM: nothing was in flight there.
        (w) =>
          new Promise<boolean>((res) =>
            w.isDead()
              ? res(w.process.exitCode === 0)
              : w.once('exit', (code, signal) => res(code === 0 || (signal === 'SIGTERM' && !readyWorkers.has(w)))),
          ),
      );
      for (const w of roles.keys()) w.process.kill('SIGTERM');
      return (await Promise.all(exits)).every(Boolean);
    },
  };
}

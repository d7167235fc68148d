// The agents' one work queue (the L2 agent's passes, the DHCP agent's networks, the firewall's
// pending refreshes), after client-go's workqueue:
//   - dedupe by key: a key requested twice while it waits runs once;
//   - single flight per key: a key never runs twice at once; a request that arrives during a
//     run makes exactly one more run after it;
//   - retries: a failed run is run again after an exponential backoff with jitter, capped at
//     maxMs; a request meanwhile runs it at once (the news may have fixed the cause), but the
//     failure count is kept, so a key that keeps failing waits longer each time; a success
//     resets it;
//   - a periodic full resync: every resyncMs the `fullKey` is requested; when it starts, the
//     keys `coveredByFull` still waiting are dropped (the full run does their work too);
//   - stop() clears the timers and waits for the runs in flight.
// Time and chance come from a Clock and a random source, so the scheduling is tested with fakes.

export interface Clock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(timer: unknown): void;
}

/** The process's timers, unref'd: a pending retry or resync never keeps the process alive. */
export const systemClock: Clock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (t) => clearTimeout(t as NodeJS.Timeout),
};

export interface Backoff {
  /** Delay after the first failure, ms. */
  baseMs: number;
  /** No delay is longer than this, ms. */
  maxMs: number;
  /** Growth per failure (default 2). */
  factor?: number;
  /** Fraction of the delay taken off at random (0: none, 1: anything down to 0; default 0.5). */
  jitter?: number;
}

/**
 * The wait before retrying after the `failures`-th consecutive failure (1-based):
 * min(maxMs, baseMs · factor^(failures-1)), less up to `jitter` of it at random, so agents
 * that failed together (the server went away) do not come back in step.
 */
export function backoffDelay(failures: number, b: Backoff, random: () => number = Math.random): number {
  const exp = Math.min(b.maxMs, b.baseMs * (b.factor ?? 2) ** Math.max(0, failures - 1));
  const jitter = Math.min(1, Math.max(0, b.jitter ?? 0.5));
  return Math.round(exp * (1 - jitter * random()));
}

export type RunOutcome = { ok: true } | { ok: false; error: unknown };

export interface ReconcilerOptions<K> {
  /** Does the work of one key; a throw is a failure (retried after a backoff). */
  run(key: K): Promise<void>;
  /** Keys run at once (default 1: the whole queue is single flight). */
  concurrency?: number;
  backoff: Backoff;
  /** The key the periodic resync requests; it starts before other waiting keys. */
  fullKey?: K;
  /** Request fullKey this often, ms (0 or absent: never). */
  resyncMs?: number;
  /** Waiting keys that a run of fullKey does the work of. */
  coveredByFull?(key: K): boolean;
  /** Told about each failure and the wait before its retry (for logs). */
  onFailure?(key: K, error: unknown, failures: number, retryInMs: number): void;
  /** Told about each run: its key, how long it took, whether it succeeded (metrics). */
  observer?(key: K, seconds: number, ok: boolean): void;
  clock?: Clock;
  random?: () => number;
}

type Waiter = (o: RunOutcome) => void;

interface KeyState {
  running: boolean;
  /** Requested (again) and not yet started. */
  wanted: boolean;
  failures: number;
  retry: unknown;
  /** Told the outcome of the next run to start. */
  waiters: Waiter[];
}

const STOPPED: RunOutcome = { ok: false, error: new Error('the work queue was stopped') };

export class Reconciler<K> {
  private readonly keys = new Map<K, KeyState>();
  /** Keys wanted and not running, in the order they were first requested. */
  private readonly ready = new Set<K>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly clock: Clock;
  private readonly random: () => number;
  private resyncTimer: unknown = null;
  private stopped = false;

  constructor(private readonly o: ReconcilerOptions<K>) {
    this.clock = o.clock ?? systemClock;
    this.random = o.random ?? Math.random;
    this.armResync();
  }

  /**
   * Asks for a run of `key`; resolves with the outcome of the run that serves this request
   * (the next one to start), or not ok if the queue stops first.
   */
  enqueue(key: K): Promise<RunOutcome> {
    if (this.stopped) return Promise.resolve(STOPPED);
    const s = this.state(key);
    const outcome = new Promise<RunOutcome>((resolve) => s.waiters.push(resolve));
    s.wanted = true;
    if (!s.running) this.ready.add(key);
    this.pump();
    return outcome;
  }

  /** Resolves with the outcome of the next run of `key` to start, without asking for one. */
  nextRun(key: K): Promise<RunOutcome> {
    if (this.stopped) return Promise.resolve(STOPPED);
    return new Promise((resolve) => this.state(key).waiters.push(resolve));
  }

  /** Keys waiting to start (not those running or waiting out a retry's backoff). */
  get waiting(): number {
    return this.ready.size;
  }

  /** Consecutive failures of the key so far (0 after a success). */
  failures(key: K): number {
    return this.keys.get(key)?.failures ?? 0;
  }

  /** Keys waiting for a retry after a failure. */
  retrying(): K[] {
    return [...this.keys].filter(([, s]) => s.retry !== null).map(([k]) => k);
  }

  /** Resolves once nothing runs and nothing waits to start (retries waiting out a backoff aside). */
  async idle(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  /** No more runs: timers cleared, waiting keys dropped; resolves when the runs in flight end. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.resyncTimer !== null) this.clock.clearTimeout(this.resyncTimer);
    this.resyncTimer = null;
    this.ready.clear();
    for (const s of this.keys.values()) {
      if (s.retry !== null) this.clock.clearTimeout(s.retry);
      s.retry = null;
      s.wanted = false;
      for (const w of s.waiters.splice(0)) w(STOPPED);
    }
    await this.idle();
  }

  private state(key: K): KeyState {
    let s = this.keys.get(key);
    if (!s) this.keys.set(key, (s = { running: false, wanted: false, failures: 0, retry: null, waiters: [] }));
    return s;
  }

  private armResync(): void {
    const every = this.o.resyncMs ?? 0;
    if (this.o.fullKey === undefined || every <= 0 || this.stopped) return;
    const full = this.o.fullKey;
    this.resyncTimer = this.clock.setTimeout(() => {
      this.armResync();
      void this.enqueue(full);
    }, every);
  }

  /** Starts waiting keys while there is room: the full key first, then in request order. */
  private pump(): void {
    const limit = Math.max(1, this.o.concurrency ?? 1);
    while (!this.stopped && this.ready.size && this.runningCount() < limit) {
      const full = this.o.fullKey;
      const key = full !== undefined && this.ready.has(full) ? full : (this.ready.values().next().value as K);
      this.ready.delete(key);
      this.start(key);
    }
  }

  private runningCount(): number {
    let n = 0;
    for (const s of this.keys.values()) if (s.running) n++;
    return n;
  }

  private start(key: K): void {
    const s = this.state(key);
    const waiters = s.waiters.splice(0);
    if (key === this.o.fullKey && this.o.coveredByFull) {
      // Covered keys waiting to start or to retry: this run does their work (if it fails, it
      // is retried itself).
      for (const [k, c] of this.keys) {
        if (k === key || c.running || !this.o.coveredByFull(k)) continue;
        this.ready.delete(k);
        c.wanted = false;
        if (c.retry !== null) this.clock.clearTimeout(c.retry);
        c.retry = null;
        waiters.push(...c.waiters.splice(0));
      }
    }
    s.running = true;
    s.wanted = false;
    if (s.retry !== null) this.clock.clearTimeout(s.retry);
    s.retry = null;
    const p = this.runOnce(key, s, waiters);
    this.inFlight.add(p);
    void p.finally(() => {
      this.inFlight.delete(p);
      this.pump();
    });
  }

  private async runOnce(key: K, s: KeyState, waiters: Waiter[]): Promise<void> {
    let outcome: RunOutcome;
    const started = performance.now();
    try {
      await this.o.run(key);
      s.failures = 0;
      outcome = { ok: true };
    } catch (error) {
      s.failures++;
      outcome = { ok: false, error };
    }
    s.running = false;
    this.o.observer?.(key, (performance.now() - started) / 1000, outcome.ok);
    if (!outcome.ok && !this.stopped) {
      const wait = backoffDelay(s.failures, this.o.backoff, this.random);
      this.o.onFailure?.(key, outcome.error, s.failures, wait);
      // A request that came during the run starts it again at once; otherwise the retry waits.
      if (!s.wanted) {
        s.retry = this.clock.setTimeout(() => {
          s.retry = null;
          void this.enqueue(key);
        }, wait);
      }
    }
    if (s.wanted && !this.stopped) this.ready.add(key);
    if (!s.wanted && s.retry === null && !s.waiters.length && s.failures === 0) this.keys.delete(key);
    for (const w of waiters) w(outcome);
  }
}

/**
 * Keys waiting to be looked at, each once, in the order first named; a consumer takes them
 * all for one pass and puts them back if the pass fails (nothing named is ever lost).
 */
export class PendingKeys<K> {
  private keys = new Set<K>();

  add(key: K): void {
    this.keys.add(key);
  }

  has(key: K): boolean {
    return this.keys.has(key);
  }

  get size(): number {
    return this.keys.size;
  }

  /** All waiting keys; the set is empty afterwards. */
  take(): Set<K> {
    const taken = this.keys;
    this.keys = new Set();
    return taken;
  }

  /** A failed pass's keys go back, to be taken by the next one. */
  putBack(keys: Iterable<K>): void {
    for (const k of keys) this.keys.add(k);
  }
}
